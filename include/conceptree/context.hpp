#pragma once
// What a running job reports and how it is asked to stop. Every stage takes one instead of
// reading process-wide settings, so the library behaves inside a host process (a Python session,
// another program): the CLI's context writes to stderr, a binding routes messages and progress to
// its own callbacks, and nothing a stage does outlives the call.
//   Context context;                          // stderr, a progress line when stderr is a terminal
//   context.quiet = true;                     // warnings only
//   context.messages = [](MessageLevel, std::string_view text) { ... };
//   context.progress = [](const ProgressUpdate& update) { ... };
//   context.request_stop();                   // from any thread: the job ends with Cancelled

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "conceptree/error.hpp"
#include "conceptree/ranks.hpp"

namespace conceptree {

enum class MessageLevel { Info, Warning };

struct ProgressUpdate {
  std::string_view label;               // the job's step, e.g. "train"
  std::uint64_t done = 0;
  std::uint64_t total = 0;              // 0 when unknown
  double rate_per_second = 0;           // items done by this run per second so far
  bool finished = false;                // the step's last update
};

// Thrown by a stage that saw its context's stop request; its output is not written.
class Cancelled : public FatalError {
 public:
  Cancelled() : FatalError("cancelled") {}
};

class Context {
 public:
  using MessageSink = std::function<void(MessageLevel, std::string_view)>;
  using ProgressObserver = std::function<void(const ProgressUpdate&)>;

  // Info messages and progress are dropped; warnings still reach `messages`.
  bool quiet = false;
  // Receives every message, possibly from worker threads (one at a time). Empty: stderr, each
  // line prefixed "conceptree: " ("conceptree: warning: " for warnings).
  MessageSink messages;
  // Receives a step's progress at most ten times a second and once when it finishes, possibly
  // from worker threads (one at a time). Empty: a line redrawn on stderr when it is a terminal.
  ProgressObserver progress;
  // The processes the job is shared among (conceptree/ranks.hpp); empty: this process alone.
  std::shared_ptr<const Ranks> ranks;

  const Ranks& job_ranks() const { return ranks ? *ranks : one_process(); }

  void info(std::string_view text) const;
  void warning(std::string_view text) const;

  // Asks the running job to stop at its next item boundary. Copies of a context share the request.
  void request_stop() const { stop_->store(true, std::memory_order_relaxed); }
  bool stop_requested() const { return stop_->load(std::memory_order_relaxed); }
  void throw_if_stopped() const {
    if (stop_requested()) throw Cancelled();
  }

 private:
  std::shared_ptr<std::atomic<bool>> stop_ = std::make_shared<std::atomic<bool>>(false);
};

// The context of callers that pass none: stderr, not quiet. Never modified.
const Context& default_context();

}  // namespace conceptree
