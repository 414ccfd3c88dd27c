#pragma once
// A progress line (count, rate, ETA) for long jobs. Drawn only when stderr is a terminal and the
// verbosity is normal, so pipes and logs stay clean. advance() is safe from many threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace conceptree {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, std::uint64_t already_done = 0);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();

  void advance(std::uint64_t count = 1);
  void finish();

  // The text of one progress line; exposed so it can be tested without a terminal.
  static std::string format_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                 double rate_per_second);

 private:
  void draw(bool final_line);

  std::string label_;
  std::uint64_t total_;
  std::uint64_t start_count_;
  std::atomic<std::uint64_t> done_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex draw_mutex_;
};

}  // namespace conceptree
