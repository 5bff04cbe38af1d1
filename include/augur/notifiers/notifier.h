// Notifier: where Augur tells people about rollouts (Slack, Microsoft Teams, Discord incoming
// webhooks, a generic JSON webhook, the log). Takes a plain message; knows nothing of rollouts.
//
// Thread-safety: Send may be called from several threads at once.
// Ownership: NewNotifier returns a unique_ptr the caller owns.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::notifiers {

enum class Severity { kInfo, kWarn, kError };

struct Message {
  int64_t time_ms = 0;
  Severity severity = Severity::kInfo;
  std::string rollout;  // "namespace/name"
  std::string phase;    // the phase after the change, e.g. "Progressing"
  std::string text;     // one human sentence: what happened and why
  // Ordered facts shown as fields (weight, failed checks, verdict per metric, ...).
  std::vector<std::pair<std::string, std::string>> fields;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual std::string name() const = 0;
  // Delivers one message. Errors: kUnavailable / kDeadlineExceeded (receiver down or slow),
  // kBadData (the receiver answered non-2xx; the message quotes status and body).
  virtual Status Send(const Message& m) = 0;
};

struct NotifierConfig {
  std::string kind;                             // "slack", "msteams", "discord", "webhook", "log"
  Severity min_severity = Severity::kInfo;      // messages below are not sent
  std::map<std::string, std::string> settings;  // url, channel, username, headers.*, timeout
};

}  // namespace augur::notifiers
