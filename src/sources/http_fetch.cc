#include "sources/http_fetch.h"

#include <chrono>

namespace augur::sources::internal {

Result<FetchedResponse> SendBounded(httplib::Client& client, httplib::Request req,
                                    const FetchLimits& limits, const std::string& where,
                                    const std::string& peer, httplib::Error* transport_error) {
  using Clock = std::chrono::steady_clock;
  *transport_error = httplib::Error::Success;
  FetchedResponse out;
  bool too_big = false, too_slow = false;
  const auto start = Clock::now();
  const auto budget = std::chrono::milliseconds(limits.timeout_ms);
  const uint64_t limit = static_cast<uint64_t>(limits.max_body_bytes);
  req.content_receiver = [&](const char* data, size_t n, uint64_t /*offset*/, uint64_t total) {
    if (limits.abort && limits.abort->load(std::memory_order_relaxed)) return false;
    if (total > limit || out.body.size() + n > limit) {
      too_big = true;
      return false;
    }
    if (Clock::now() - start > budget) {
      too_slow = true;
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
  if (!ok) {
    const std::string detail = httplib::to_string(err);
    // httplib reports a receive timeout as a plain Read error; the clock tells them apart.
    if (err == httplib::Error::ConnectionTimeout ||
        (err == httplib::Error::Read && elapsed >= budget * 9 / 10)) {
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

}  // namespace augur::sources::internal
