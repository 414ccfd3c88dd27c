#pragma once
// The processes one job is shared among. A plain run is rank 0 of 1; under `mpirun -np N` the CLI
// hands its stages the MPI world through their Context, and the stages that split their items
// (embed, import, train, similarity, bootstrap, tcav) give item i to rank i % N, collect every result at
// rank 0 and let rank 0 alone write, so the output is byte-identical to a one-process run. The
// library itself never starts or stops MPI: a host process (a Python session) runs alone.
//   const Ranks& ranks = context.job_ranks();
//   if (ranks.owns(i)) ...;                         // this rank's items
//   std::vector<std::string> parts = ranks.gather(mine);   // rank 0: one per rank, in rank order

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace conceptree {

class Ranks {
 public:
  virtual ~Ranks() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  bool distributed() const { return size() > 1; }
  // Whether item `index` of a job's list is this rank's: round robin, so a list sorted by size
  // still spreads evenly.
  bool owns(std::size_t index) const { return static_cast<int>(index % static_cast<std::size_t>(size())) == rank(); }

  // Every rank returns rank 0's `bytes` (the others' are ignored). Collective.
  virtual std::string broadcast(const std::string& bytes) const = 0;
  // Rank 0 returns every rank's `bytes`, in rank order; the others return nothing. Collective.
  virtual std::vector<std::string> gather(const std::string& bytes) const = 0;
  // Rank 0's `values` become their sum over every rank; integers, so the sum does not depend on
  // the order it is taken in. Collective.
  virtual void sum_at_root(std::span<std::int64_t> values) const = 0;
};

// Rank 0 of 1: what every job runs as unless its context says otherwise.
const Ranks& one_process();

}  // namespace conceptree
