#include "conceptree/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>


namespace conceptree {

namespace {
std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600) return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}
}  // namespace

Progress::Progress(const Context& context, std::string label, std::uint64_t total, std::uint64_t already_done)
    : context_(context),
      label_(std::move(label)),
      total_(total),
      start_count_(already_done),
      done_(already_done),
      enabled_(!context.quiet && (context.progress || ::isatty(STDERR_FILENO) == 1)),
      start_(std::chrono::steady_clock::now()),
      last_report_(start_) {}

Progress::~Progress() { finish(); }

std::string Progress::format_line(const std::string& label, std::uint64_t done, std::uint64_t total,
                                  double rate_per_second) {
  const std::string rate = fmt::format("{:.1f}/s", rate_per_second);
  if (total == 0) return fmt::format("{}  {}  {}", label, done, rate);
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const double eta = rate_per_second > 0 ? static_cast<double>(total - std::min(done, total)) / rate_per_second : NAN;
  return fmt::format("{}  {}/{} ({:.1f}%)  {}  ETA {}", label, done, total, 100.0 * fraction, rate,
                     format_duration(eta));
}

void Progress::advance(std::uint64_t count) {
  done_.fetch_add(count, std::memory_order_relaxed);
  if (!enabled_) return;
  std::unique_lock lock(report_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ < std::chrono::milliseconds(100)) return;
  last_report_ = now;
  report(false);
}

void Progress::finish() {
  std::lock_guard lock(report_mutex_);
  if (finished_) return;
  finished_ = true;
  if (enabled_) report(true);
}

void Progress::report(bool final_update) {
  const std::uint64_t done = done_.load(std::memory_order_relaxed);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - start_count_) / elapsed : 0.0;
  if (context_.progress) {
    context_.progress({.label = label_, .done = done, .total = total_, .rate_per_second = rate, .finished = final_update});
    return;
  }
  const std::string line = format_line(label_, done, total_, rate);
  std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_update ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace conceptree
