#include "notifiers/http_notifier.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "augur/notifiers/factory.h"
#include "augur/notifiers/http_post.h"
#include "notifiers/payloads.h"

namespace augur::notifiers::internal {
namespace {

// How much of a refusing receiver's body goes into the error: enough for Slack's
// "invalid_payload" or a Discord JSON error, short enough for an event log line.
constexpr size_t kQuotedBody = 300;

std::string QuoteBody(const std::string& body) {
  std::string out = TruncateUtf8(body, kQuotedBody);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return out.empty() ? "(empty body)" : "'" + out + "'";
}

class HttpNotifier : public Notifier {
 public:
  explicit HttpNotifier(HttpTarget t) : t_(std::move(t)) {}
  std::string name() const override { return t_.kind; }

  Status Send(const Message& m) override {
    PostRequest req;
    req.url = t_.url;
    if (!t_.url_file.empty()) {
      auto url = ReadSecretFile("urlFile", t_.url_file);
      if (!url) return url.error().WithContext(t_.kind);
      req.url = std::move(*url);
    }
    req.headers = t_.headers;
    if (!t_.token_file.empty()) {
      auto token = ReadSecretFile("tokenFile", t_.token_file);
      if (!token) return token.error().WithContext(t_.kind);
      req.headers["Authorization"] = "Bearer " + *token;
    }
    req.timeout_ms = t_.timeout_ms;
    req.retries = t_.retries;
    req.verify_tls = t_.verify_tls;
    req.body = t_.render(m);
    auto answer = PostJson(req);
    if (!answer) return answer.error().WithContext(t_.kind);
    if (answer->status < 200 || answer->status > 299) {
      return BadData(t_.kind + ": " + RedactUrl(req.url) + " answered HTTP " +
                     std::to_string(answer->status) + ": " + QuoteBody(answer->body));
    }
    return {};
  }

 private:
  const HttpTarget t_;
};

class MinSeverity : public Notifier {
 public:
  MinSeverity(std::unique_ptr<Notifier> inner, Severity min)
      : inner_(std::move(inner)), min_(min) {}
  std::string name() const override { return inner_->name(); }
  Status Send(const Message& m) override {
    if (static_cast<int>(m.severity) < static_cast<int>(min_)) return {};
    return inner_->Send(m);
  }

 private:
  std::unique_ptr<Notifier> inner_;
  const Severity min_;
};

class LogNotifier : public Notifier {
 public:
  explicit LogNotifier(std::function<void(const std::string&)> sink) : sink_(std::move(sink)) {}
  std::string name() const override { return "log"; }
  Status Send(const Message& m) override {
    const std::string line = LogLine(m);
    if (sink_) {
      sink_(line);
      return {};
    }
    // One write per line so concurrent senders (and other writers of stderr) do not interleave
    // inside a line.
    const std::string out = line + "\n";
    std::lock_guard<std::mutex> lock(mu_);
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(STDERR_FILENO, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return Error{ErrorCode::kUnavailable,
                     std::string("log: cannot write to stderr: ") + std::strerror(errno)};
      done += static_cast<size_t>(n);
    }
    return {};
  }

 private:
  std::function<void(const std::string&)> sink_;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<Notifier> NewHttpNotifier(HttpTarget target) {
  return std::make_unique<HttpNotifier>(std::move(target));
}

std::unique_ptr<Notifier> WithMinSeverity(std::unique_ptr<Notifier> inner, Severity min) {
  return std::make_unique<MinSeverity>(std::move(inner), min);
}

Result<std::string> ReadSecretFile(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument(key + ": cannot read '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  const char* ws = " \t\r\n";
  const size_t first = s.find_first_not_of(ws);
  if (first == std::string::npos) return InvalidArgument(key + ": '" + path + "' is empty");
  s = s.substr(first, s.find_last_not_of(ws) - first + 1);
  return s;
}

}  // namespace augur::notifiers::internal

namespace augur::notifiers {

std::unique_ptr<Notifier> NewLogNotifier(Severity min_severity,
                                         std::function<void(const std::string& line)> sink) {
  return internal::WithMinSeverity(std::make_unique<internal::LogNotifier>(std::move(sink)),
                                   min_severity);
}

}  // namespace augur::notifiers
