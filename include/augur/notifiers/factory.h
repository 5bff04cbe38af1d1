// Building notifiers from configuration, and the asynchronous fan-out the rollout controller
// uses so that a slow or dead chat service never holds up a rollout.
//
// Kinds and their settings (NotifierConfig::settings; unknown keys are rejected):
//   slack     url | urlFile, channel, username, iconEmoji, iconUrl      (incoming webhook)
//   msteams   url | urlFile                                            (Office 365 MessageCard)
//   discord   url | urlFile, username, avatarUrl                       (webhook, embeds)
//   webhook   url | urlFile, headers.<Name>, tokenFile                 (generic JSON, see below)
//   log       (none)                                                   (one JSON line on stderr)
// Every HTTP kind also takes timeout (duration: "5s", "500ms", "1m"; default 5s per attempt),
// retries (0..10, default 2) and insecureSkipVerify ("true"/"false", default false).
// urlFile and tokenFile name files (e.g. a mounted Kubernetes Secret) read at each send, so
// the secret stays out of the rollout spec and rotation needs no restart.
//
// Generic webhook body (POST, Content-Type: application/json):
//   {"rollout":"ns/name","namespace":"ns","name":"name","phase":"Progressing",
//    "severity":"info|warn|error","text":"...","time":"2026-07-21T10:00:00.123Z",
//    "fields":{"weight":"20", ...}}
// With tokenFile, the request carries "Authorization: Bearer <file content, trimmed>".
//
// Delivery semantics (all kinds): a message below min_severity is dropped and Send returns OK;
// a 2xx answer is success; any other answer is kBadData quoting the status and the start of
// the body; transport failures are kUnavailable / kDeadlineExceeded (see http_post.h).
//
// Thread-safety: every Notifier built here may be used from several threads at once.
// Ownership: factories return unique_ptrs the caller owns; the fan-out owns its targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"
#include "augur/notifiers/notifier.h"

namespace augur::notifiers {

// "info", "warn" or "error" (exact, lower case, as in Flagger's AlertProvider severity).
// Errors: kInvalidArgument naming the value and the accepted ones.
Result<Severity> ParseSeverity(std::string_view text);
const char* SeverityName(Severity severity);

// The accepted NotifierConfig::kind values, sorted.
std::vector<std::string> NotifierKinds();

// Validates config.settings and builds the notifier. Errors (kInvalidArgument) start with the
// kind and name the key: "slack: url: required", "webhook: url: scheme must be http or https
// (got 'ftp')", "discord: unknown setting 'chanel' (known: ...)".
Result<std::unique_ptr<Notifier>> NewNotifier(const NotifierConfig& config);

// The "log" kind with its output sent to `sink` (one JSON line, no trailing newline) instead
// of stderr. `sink` may be called from several threads at once.
std::unique_ptr<Notifier> NewLogNotifier(Severity min_severity,
                                         std::function<void(const std::string& line)> sink);

struct FanoutOptions {
  size_t queue_limit = 256;         // per target; a message arriving when full is dropped
  int64_t flush_timeout_ms = 5000;  // how long destruction waits for queued messages
  // Called on a worker thread for each failed delivery (after the target's own retries);
  // must be thread-safe. Failures are counted in FanoutStats either way.
  std::function<void(const std::string& target, const Error& error)> on_error;
};

struct FanoutStats {
  uint64_t delivered = 0;  // (message, target) pairs that returned OK
  uint64_t failed = 0;     // ... that returned an error
  uint64_t dropped = 0;    // ... not attempted because the target's queue was full
  size_t queued = 0;       // waiting or in progress right now
  std::string last_error;  // "<target>: <message>" of the latest failure
};

// Sends every message to several notifiers without making the caller wait for them. Each
// target has its own bounded queue and worker thread, so a slow Slack does not delay Teams.
// Send only enqueues: it returns OK, or kUnavailable naming the targets whose queue was full
// (the message still went to the others). Delivery errors go to on_error and stats().
// Destruction waits up to flush_timeout_ms for the queues to drain; a worker still blocked in
// a send after that is detached and ends when that send times out (it keeps its target alive).
class AsyncFanout : public Notifier {
 public:
  AsyncFanout(std::vector<std::unique_ptr<Notifier>> targets, FanoutOptions options);
  ~AsyncFanout() override;
  AsyncFanout(const AsyncFanout&) = delete;
  AsyncFanout& operator=(const AsyncFanout&) = delete;

  std::string name() const override;  // "fanout(slack,webhook)"
  Status Send(const Message& m) override;

  FanoutStats stats() const;
  // Waits until every queue is empty and no send is in progress, or `timeout_ms` passes.
  // Returns true if everything was handed over.
  bool Flush(int64_t timeout_ms);

 private:
  struct Lane;
  std::vector<std::shared_ptr<Lane>> lanes_;
  int64_t flush_timeout_ms_;
};

std::unique_ptr<AsyncFanout> NewAsyncFanout(std::vector<std::unique_ptr<Notifier>> targets,
                                            size_t queue_limit);
std::unique_ptr<AsyncFanout> NewAsyncFanout(std::vector<std::unique_ptr<Notifier>> targets,
                                            FanoutOptions options);

}  // namespace augur::notifiers
