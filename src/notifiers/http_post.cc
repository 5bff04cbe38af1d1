#include "augur/notifiers/http_post.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <thread>

#include "common/http_exchange.h"

namespace augur::notifiers {
namespace {

Error UrlError(std::string what) { return InvalidArgument("url: " + std::move(what)); }

bool AllDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One attempt; an error means no HTTP answer came back.
Result<PostAnswer> Attempt(const ParsedUrl& url, const PostRequest& request,
                           const std::string& where) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.scheme == "https") {
    auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
    ssl->enable_server_certificate_verification(request.verify_tls);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  const auto budget = std::chrono::milliseconds(request.timeout_ms);
  client->set_connection_timeout(budget);
  client->set_read_timeout(budget);
  client->set_write_timeout(budget);
  client->set_keep_alive(false);
  client->set_follow_location(false);  // a redirected webhook is a misconfiguration to surface

  httplib::Request req;
  req.method = "POST";
  req.path = url.path_and_query;
  req.body = request.body;
  req.set_header("Content-Type", "application/json");
  req.set_header("User-Agent", "augur-notifier");
  for (const auto& [k, v] : request.headers) {
    // set_header would add a second Content-Type rather than replace it.
    if (Lower(k) == "content-type") req.headers.erase("Content-Type");
    req.set_header(k, v);
  }

  // A long answer is cut to its prefix (all anyone looks at), not an error.
  httplib::Error transport = httplib::Error::Success;
  auto fetched = common::SendBounded(
      *client, std::move(req),
      {request.timeout_ms, static_cast<int64_t>(kMaxAnswerBytes), nullptr, /*truncate=*/true},
      where, url.host + ":" + std::to_string(url.port), &transport);
  if (!fetched) return fetched.error();
  PostAnswer out;
  out.status = fetched->status;
  out.body = std::move(fetched->body);
  return out;
}

bool Retryable(int status) { return status >= 500 && status != 501; }

}  // namespace

Result<ParsedUrl> ParseHttpUrl(std::string_view url) {
  if (url.empty()) return UrlError("required");
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return UrlError("want an absolute URL like https://host/path");
  }
  ParsedUrl out;
  out.scheme = Lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return UrlError("scheme must be http or https (got '" + out.scheme + "')");
  }
  std::string_view rest = url.substr(sep + 3);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return UrlError("credentials in the URL are not supported; use headers or a token file");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError("unterminated '[' in the IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return UrlError("unexpected text after the IPv6 host");
      port_text = after.substr(1);
      if (port_text.empty()) return UrlError("empty port");
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return UrlError("empty port");
    }
  }
  if (out.host.empty()) return UrlError("missing host");
  for (unsigned char c : out.host) {
    if (std::isspace(c) || std::iscntrl(c)) return UrlError("host contains a space or control");
  }
  if (!port_text.empty()) {
    if (!AllDigits(port_text) || port_text.size() > 5 || std::stoi(std::string(port_text)) < 1 ||
        std::stoi(std::string(port_text)) > 65535) {
      return UrlError("port must be a number from 1 to 65535 (got '" + std::string(port_text) +
                      "')");
    }
    out.port = std::stoi(std::string(port_text));
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  for (unsigned char c : path) {
    if (std::isspace(c) || std::iscntrl(c)) {
      return UrlError("path contains a space or control character (percent-encode it)");
    }
  }
  if (path.empty() || path.front() == '?') out.path_and_query = "/";
  out.path_and_query.append(path);
  return out;
}

std::string RedactUrl(std::string_view url) {
  auto parsed = ParseHttpUrl(url);
  if (!parsed) return "<invalid url>";
  const bool v6 = parsed->host.find(':') != std::string::npos;
  return parsed->scheme + "://" + (v6 ? "[" + parsed->host + "]" : parsed->host) + ":" +
         std::to_string(parsed->port) + "/…";
}

Result<PostAnswer> PostJson(const PostRequest& request) {
  auto url = ParseHttpUrl(request.url);
  if (!url) return url.error();
  if (request.timeout_ms <= 0) {
    return InvalidArgument("timeout: must be positive (got " + std::to_string(request.timeout_ms) +
                           " ms)");
  }
  if (request.retries < 0 || request.retries > 10) {
    return InvalidArgument("retries: must be 0 to 10 (got " + std::to_string(request.retries) +
                           ")");
  }
  if (request.backoff_ms < 0) return InvalidArgument("backoff: must not be negative");
  const std::string where = "POST " + RedactUrl(request.url);
  int64_t backoff = request.backoff_ms;
  for (int attempt = 0;; ++attempt) {
    auto answer = Attempt(*url, request, where);
    const bool last = attempt >= request.retries;
    if (answer.has_value() && !Retryable(answer->status)) return answer;
    if (last) {
      if (answer.has_value()) return answer;
      if (attempt == 0) return answer.error();
      Error e = answer.error();
      e.message += " (gave up after " + std::to_string(attempt + 1) + " attempts)";
      return e;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    backoff = std::min<int64_t>(backoff * 2, 2000);
  }
}

}  // namespace augur::notifiers
