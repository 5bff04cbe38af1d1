// One bounded HTTP exchange for the sources that fetch over HTTP (the Prometheus client and
// the scraper). httplib's timeouts bound each socket wait; this also bounds the whole transfer
// and the body size, so a server trickling bytes or sending gigabytes cannot hold or exhaust
// the caller, and it tells a receive timeout from a broken connection.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "augur/core/result.h"

namespace augur::sources::internal {

struct FetchLimits {
  int64_t timeout_ms = 10000;                   // the whole exchange
  int64_t max_body_bytes = int64_t{256} << 20;  // after decompression
  const std::atomic<bool>* abort = nullptr;     // set to interrupt a transfer in progress
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
Result<FetchedResponse> SendBounded(httplib::Client& client, httplib::Request req,
                                    const FetchLimits& limits, const std::string& where,
                                    const std::string& peer, httplib::Error* transport_error);

}  // namespace augur::sources::internal
