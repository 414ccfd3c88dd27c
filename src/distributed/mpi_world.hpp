#pragma once
// The MPI world of a process started by an MPI launcher (mpirun, srun). Only the CLI starts MPI:
// the library sees nothing but the Ranks interface, so a Python session never loads MPI's runtime.

#include "conceptree/ranks.hpp"

namespace conceptree {

class MpiWorld final : public Ranks {
 public:
  // Starts MPI (funnelled: only the main thread talks to MPI; OpenMP threads compute).
  MpiWorld(int& argc, char**& argv);
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;
  ~MpiWorld() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string broadcast(const std::string& bytes) const override;
  std::vector<std::string> gather(const std::string& bytes) const override;
  void sum_at_root(std::span<std::int64_t> values) const override;

  // Ends every rank of the job: one rank's failure must not leave the others waiting in a collective.
  [[noreturn]] void abort_job(int exit_code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Whether an MPI launcher started this process; a plain run never starts MPI.
bool launched_by_mpi();

}  // namespace conceptree
