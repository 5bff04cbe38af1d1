// One bounded HTTP exchange for every HTTP client in Augur (the Prometheus client, the
// scraper, the Kubernetes routers, notifications and webhooks). httplib's timeouts bound each
// socket wait; this also bounds the whole transfer and the body size, so a server trickling bytes
// or sending gigabytes cannot hold or exhaust the caller, and it tells a receive timeout from a
// broken connection.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "augur/core/result.h"

namespace augur::common {

struct FetchLimits {
  int64_t timeout_ms = 10000;                   // the whole exchange
  int64_t max_body_bytes = int64_t{256} << 20;  // after decompression
  const std::atomic<bool>* abort = nullptr;     // set to interrupt a transfer in progress
  // Over max_body_bytes: false fails with kBadData; true keeps the first max_body_bytes, stops
  // reading and succeeds (callers that only show a prefix, e.g. a webhook's answer).
  bool truncate = false;
};

struct FetchedResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};

// Sends `req` (its content_receiver is replaced). Errors name `where`: kBadData for an
// oversized body, kDeadlineExceeded for a transfer over the limit or a receive timeout,
// kUnavailable ("cannot reach <peer>") for other transport failures, whose httplib error is
// left in *transport_error (httplib::Error::Success otherwise) so callers can decide on retries.
// `HttpClient` is httplib::Client or httplib::ClientImpl (httplib::SSLClient).
template <typename HttpClient>
Result<FetchedResponse> SendBounded(HttpClient& client, httplib::Request req,
                                    const FetchLimits& limits, const std::string& where,
                                    const std::string& peer, httplib::Error* transport_error) {
  using Clock = std::chrono::steady_clock;
  *transport_error = httplib::Error::Success;
  FetchedResponse out;
  bool too_big = false, too_slow = false, truncated = false;
  const auto start = Clock::now();
  const auto budget = std::chrono::milliseconds(limits.timeout_ms);
  const uint64_t limit = static_cast<uint64_t>(limits.max_body_bytes);
  req.content_receiver = [&](const char* data, size_t n, uint64_t /*offset*/, uint64_t total) {
    if (limits.abort && limits.abort->load(std::memory_order_relaxed)) return false;
    if (!limits.truncate && (total > limit || out.body.size() + n > limit)) {
      too_big = true;
      return false;
    }
    if (Clock::now() - start > budget) {
      too_slow = true;
      return false;
    }
    if (limits.truncate) {
      const size_t room = static_cast<size_t>(limit) - out.body.size();
      out.body.append(data, std::min(n, room));
      if (n < room) return true;
      truncated = true;  // full: stop reading, the prefix is all the caller looks at
      return false;
    }
    out.body.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = client.send(req, res, err);
  const auto elapsed = Clock::now() - start;
  if (too_big) {
    return BadData(where + ": response body exceeds " + std::to_string(limit) + " bytes");
  }
  if (too_slow) {
    return Error{ErrorCode::kDeadlineExceeded, where + ": no complete answer within " +
                                                   std::to_string(limits.timeout_ms) + " ms"};
  }
  if (!ok && !(truncated && res.status > 0)) {
    const std::string detail = httplib::to_string(err);
    // httplib reports a socket timeout as a plain Read/Write error; the clock tells them apart.
    if (err == httplib::Error::ConnectionTimeout ||
        ((err == httplib::Error::Read || err == httplib::Error::Write) &&
         elapsed >= budget * 9 / 10)) {
      return Error{ErrorCode::kDeadlineExceeded, where + ": no answer within " +
                                                     std::to_string(limits.timeout_ms) + " ms (" +
                                                     detail + ")"};
    }
    *transport_error = err;
    return Error{ErrorCode::kUnavailable, where + ": cannot reach " + peer + " (" + detail + ")"};
  }
  out.status = res.status;
  out.content_type = res.get_header_value("Content-Type");
  return out;
}

}  // namespace augur::common
