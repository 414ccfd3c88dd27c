#pragma once
// A step's progress (count, rate, ETA), reported to its context: by default a line on stderr,
// drawn only when stderr is a terminal so pipes and logs stay clean. advance() is safe from many
// threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "conceptree/context.hpp"

namespace conceptree {

class Progress {
 public:
  Progress(const Context& context, std::string label, std::uint64_t total, std::uint64_t already_done = 0);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  void advance(std::uint64_t count = 1);
  void finish();

  // The text of one progress line; exposed so it can be tested without a terminal.
  static std::string format_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double rate_per_second);

 private:
  void report(bool final_update);

  const Context& context_;
  std::string label_;
  std::uint64_t total_;
  std::uint64_t start_count_;
  std::atomic<std::uint64_t> done_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
  std::mutex report_mutex_;
};

}  // namespace conceptree
