// PostJson: one bounded HTTP(S) POST of a JSON body, shared by the chat/webhook notifiers and
// by Flagger-style rollout webhooks (shared/reference/flagger.md §3.4).
//
// What it bounds: each attempt's connect, write and read waits (timeout_ms each) and the whole
// response-body transfer (timeout_ms from the start of the attempt); the response body is kept
// up to kMaxAnswerBytes and the rest is not read. Retries happen only when no answer came back
// (connection refused or reset, timeout) or the answer was 5xx other than 501, with a short
// doubling backoff; 4xx is never retried (the receiver rejected the message; sending it again
// cannot help).
//
// What it does not decide: a non-2xx answer is returned as a PostAnswer, not an error. Flagger
// counts only 200-202 as success for rollout hooks, while chat webhooks accept any 2xx, so the
// caller decides.
//
// Secrets: Slack and Discord webhook URLs carry their token in the path, and query strings may
// carry API keys, so error messages show only scheme://host:port (see RedactUrl).
//
// Thread-safety: PostJson and ParseHttpUrl are free functions without shared state; call them
// from any thread. Each PostJson call uses its own connection (no keep-alive pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "augur/core/result.h"

namespace augur::notifiers {

// The response body beyond this is dropped (answers are only quoted in errors and logs).
inline constexpr size_t kMaxAnswerBytes = size_t{64} << 10;

struct PostRequest {
  std::string url;                             // http:// or https://, see ParseHttpUrl
  std::string body;                            // sent as is with Content-Type: application/json
  std::map<std::string, std::string> headers;  // extra headers; may override Content-Type
  int64_t timeout_ms = 10000;                  // per attempt; must be > 0
  int retries = 0;                             // extra attempts after the first, 0..10
  int64_t backoff_ms = 200;  // delay before the first retry, doubled each time, at most 2 s
  bool verify_tls = true;    // false skips certificate checks (Flagger's disableTLS)
};

struct PostAnswer {
  int status = 0;    // HTTP status of the last attempt
  std::string body;  // at most kMaxAnswerBytes of it
};

// Sends `request`. Returns the answer of the last attempt, whatever its status.
// Errors: kInvalidArgument for a bad URL or option (message names the field, e.g.
// "url: scheme must be http or https (got 'ftp')"); kDeadlineExceeded when the last attempt
// timed out; kUnavailable when it could not connect or the connection broke. Transport error
// messages say how many attempts were made.
Result<PostAnswer> PostJson(const PostRequest& request);

struct ParsedUrl {
  std::string scheme;          // "http" or "https"
  std::string host;            // without IPv6 brackets
  int port = 0;                // explicit, or 80/443 from the scheme
  std::string path_and_query;  // starts with '/'; the fragment is dropped
};

// Parses an absolute http(s) URL. Userinfo ("user:pass@") is rejected: headers carry
// credentials. Errors (kInvalidArgument) do not quote the path, which may hold a secret.
Result<ParsedUrl> ParseHttpUrl(std::string_view url);

// "scheme://host:port/…" for messages, or "<invalid url>" when `url` does not parse.
std::string RedactUrl(std::string_view url);

}  // namespace augur::notifiers
