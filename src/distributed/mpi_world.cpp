#include "distributed/mpi_world.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace conceptree {

namespace {

// MPI counts are ints: messages go in pieces of at most this many elements.
constexpr std::size_t kMaxPiece = std::size_t{1} << 30;

void check(int status, const char* what) {
  if (status != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

}  // namespace

bool launched_by_mpi() {
  // OpenMPI's mpirun, then PMIx and PMI launchers (Slurm's srun, MPICH's hydra).
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(variable) != nullptr) return true;
  return false;
}

MpiWorld::MpiWorld(int& argc, char**& argv) {
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() { MPI_Finalize(); }

std::string MpiWorld::broadcast(const std::string& bytes) const {
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcast");
  std::string received = is_root() ? bytes : std::string(size, '\0');
  for (std::size_t at = 0; at < size; at += kMaxPiece) {
    const auto piece = static_cast<int>(std::min<std::size_t>(kMaxPiece, size - at));
    check(MPI_Bcast(received.data() + at, piece, MPI_BYTE, 0, MPI_COMM_WORLD), "broadcast");
  }
  return received;
}

std::vector<std::string> MpiWorld::gather(const std::string& bytes) const {
  std::uint64_t size = bytes.size();
  std::vector<std::uint64_t> sizes(is_root() ? size_ : 0);
  check(MPI_Gather(&size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "gather");
  if (!is_root()) {
    for (std::size_t at = 0; at < size; at += kMaxPiece) {
      const auto piece = static_cast<int>(std::min<std::size_t>(kMaxPiece, size - at));
      check(MPI_Send(bytes.data() + at, piece, MPI_BYTE, 0, 0, MPI_COMM_WORLD), "send");
    }
    return {};
  }
  std::vector<std::string> parts(size_);
  parts[0] = bytes;
  for (int from = 1; from < size_; ++from) {
    parts[from].resize(sizes[from]);
    for (std::size_t at = 0; at < sizes[from]; at += kMaxPiece) {
      const auto piece = static_cast<int>(std::min<std::size_t>(kMaxPiece, sizes[from] - at));
      check(MPI_Recv(parts[from].data() + at, piece, MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "receive");
    }
  }
  return parts;
}

void MpiWorld::sum_at_root(std::span<std::int64_t> values) const {
  for (std::size_t at = 0; at < values.size(); at += kMaxPiece / sizeof(std::int64_t)) {
    const auto piece = static_cast<int>(std::min(kMaxPiece / sizeof(std::int64_t), values.size() - at));
    void* send = is_root() ? MPI_IN_PLACE : values.data() + at;
    check(MPI_Reduce(send, values.data() + at, piece, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD), "sum");
  }
}

void MpiWorld::abort_job(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace conceptree
