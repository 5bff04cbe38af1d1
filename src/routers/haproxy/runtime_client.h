// One command over HAProxy's runtime API (the "stats socket"): connect, send one line, read the
// answer until HAProxy closes the connection (non-interactive mode answers one line and closes).
// Every step is bounded by one deadline, so a hung or unreachable HAProxy costs at most
// `timeout_ms`; the answer is capped (a runaway `show` cannot exhaust memory).
//
// Thread-safety: RuntimeClient is immutable after Create; Command may run on several threads.
#pragma once

#include <string>

#include "augur/core/result.h"

namespace augur::routers::haproxy {

class RuntimeClient {
 public:
  // Exactly one of `address` ("host:port", "[v6]:port") and `unix_path` is non-empty.
  // kInvalidArgument (message starting with `field`) for a malformed address.
  static Result<RuntimeClient> Create(const std::string& address, const std::string& unix_path,
                                      int timeout_ms, const std::string& field);

  // Sends `command` and returns HAProxy's raw answer ("\n" after a successful `set weight`).
  // kUnavailable: cannot connect / connection broken; kDeadlineExceeded: no full answer in time.
  Result<std::string> Command(const std::string& command) const;

  // "127.0.0.1:9999" or "unix:/run/haproxy.sock", for messages.
  std::string Where() const;

 private:
  std::string host_, port_, unix_path_;
  int timeout_ms_ = 2000;
};

}  // namespace augur::routers::haproxy
