// The notifier classes behind the factory: one HTTP notifier parameterised by its payload
// format, the log notifier, and the severity filter that wraps either.
//
// Thread-safety: all three are safe for concurrent Send (no mutable state besides the log's
// output lock). Ownership: the filter owns what it wraps.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "augur/core/result.h"
#include "augur/notifiers/notifier.h"

namespace augur::notifiers::internal {

struct HttpTarget {
  std::string kind;      // names the notifier and prefixes its errors
  std::string url;       // used when url_file is empty
  std::string url_file;  // re-read at each send (a mounted Secret may rotate)
  std::map<std::string, std::string> headers;
  std::string token_file;  // if set, "Authorization: Bearer <content>", re-read at each send
  int64_t timeout_ms = 5000;
  int retries = 2;
  bool verify_tls = true;
  std::function<std::string(const Message&)> render;  // the wire format
};

std::unique_ptr<Notifier> NewHttpNotifier(HttpTarget target);

// Drops (returns OK for) messages below `min`; passes the rest to `inner`.
std::unique_ptr<Notifier> WithMinSeverity(std::unique_ptr<Notifier> inner, Severity min);

// The content of a secret file without surrounding whitespace. Errors (kInvalidArgument, for an
// unreadable or empty file) start with "<key>: " and never quote the content.
Result<std::string> ReadSecretFile(const std::string& key, const std::string& path);

}  // namespace augur::notifiers::internal
