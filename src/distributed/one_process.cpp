#include "conceptree/ranks.hpp"

namespace conceptree {

namespace {

class OneProcess final : public Ranks {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string broadcast(const std::string& bytes) const override { return bytes; }
  std::vector<std::string> gather(const std::string& bytes) const override { return {bytes}; }
  void sum_at_root(std::span<std::int64_t>) const override {}
};

}  // namespace

const Ranks& one_process() {
  static const OneProcess ranks;
  return ranks;
}

}  // namespace conceptree
