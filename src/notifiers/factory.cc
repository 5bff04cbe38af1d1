#include "augur/notifiers/factory.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "augur/core/spelling.h"
#include "augur/notifiers/http_post.h"
#include "notifiers/http_notifier.h"
#include "notifiers/payloads.h"

namespace augur::notifiers {
namespace {

using internal::ChatOptions;
using internal::HttpTarget;
using Settings = std::map<std::string, std::string>;

const std::set<std::string> kHttpKeys = {"url", "urlFile", "timeout", "retries",
                                         "insecureSkipVerify"};
constexpr char kHeaderPrefix[] = "headers.";

std::set<std::string> KnownKeys(const std::string& kind) {
  if (kind == "log") return {};
  std::set<std::string> keys = kHttpKeys;
  if (kind == "slack") keys.insert({"channel", "username", "iconEmoji", "iconUrl"});
  if (kind == "discord") keys.insert({"username", "avatarUrl"});
  if (kind == "webhook") keys.insert("tokenFile");
  return keys;
}

Error UnknownKey(const std::string& key, const std::set<std::string>& known, bool headers) {
  std::string msg = "unknown setting '" + key + "'";
  // Suggest only close misspellings (two edits).
  if (auto best = ClosestMatch(key, {known.begin(), known.end()}, 2, /*ignore_case=*/true)) {
    msg += "; did you mean '" + *best + "'?";
  }
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  if (headers) list += ", headers.<Name>";
  msg += " (known: " + (list.empty() ? std::string("none") : list) + ")";
  return InvalidArgument(msg);
}

// Go-style duration as Flagger's specs write them: "500ms", "5s", "1.5s", "2m".
Result<int64_t> ParseDurationMs(const std::string& key, const std::string& text) {
  const Error bad =
      InvalidArgument(key + ": want a duration like 5s, 500ms or 1m (got '" + text + "')");
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  const std::string number = text.substr(0, i), unit = text.substr(i);
  if (number.empty() || number == "." || number.size() > 12 ||
      std::count(number.begin(), number.end(), '.') > 1) {
    return bad;
  }
  const double value = std::stod(number);  // cannot throw: at most 12 digits and one dot
  double ms;
  if (unit == "ms") {
    ms = value;
  } else if (unit == "s") {
    ms = value * 1000;
  } else if (unit == "m") {
    ms = value * 60000;
  } else {
    return bad;
  }
  if (ms < 1 || ms > 300000) {
    return InvalidArgument(key + ": must be from 1ms to 5m (got '" + text + "')");
  }
  return static_cast<int64_t>(std::llround(ms));
}

Result<bool> ParseBool(const std::string& key, const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return InvalidArgument(key + ": want true or false (got '" + text + "')");
}

std::string Get(const Settings& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() ? "" : it->second;
}

bool ValidHeaderName(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string::npos;
  });
}

// A URL-valued option such as iconUrl: only its shape is checked.
Status CheckUrlSetting(const Settings& s, const std::string& key) {
  const std::string v = Get(s, key);
  if (v.empty()) return {};
  auto parsed = ParseHttpUrl(v);
  if (!parsed) return InvalidArgument(key + parsed.error().message.substr(3));  // "url: ..."
  return {};
}

Result<HttpTarget> HttpSettings(const NotifierConfig& c) {
  const Settings& s = c.settings;
  HttpTarget t;
  t.kind = c.kind;
  const bool has_url = s.count("url") > 0, has_file = s.count("urlFile") > 0;
  if (has_url && has_file) return InvalidArgument("url: set url or urlFile, not both");
  if (!has_url && !has_file) return InvalidArgument("url: required (or urlFile)");
  if (has_url) {
    t.url = Get(s, "url");
    auto parsed = ParseHttpUrl(t.url);
    if (!parsed) return parsed.error();
  } else {
    t.url_file = Get(s, "urlFile");
    if (t.url_file.empty()) return InvalidArgument("urlFile: empty path");
    // Checked now so a typo fails at startup; the file is read again at each send.
    auto url = internal::ReadSecretFile("urlFile", t.url_file);
    if (!url) return url.error();
    auto parsed = ParseHttpUrl(*url);
    if (!parsed) {
      return InvalidArgument("urlFile: '" + t.url_file + "' holds no usable URL (" +
                             parsed.error().message + ")");
    }
  }
  if (s.count("timeout")) {
    auto ms = ParseDurationMs("timeout", Get(s, "timeout"));
    if (!ms) return ms.error();
    t.timeout_ms = *ms;
  }
  if (s.count("retries")) {
    const std::string v = Get(s, "retries");
    if (v.empty() || v.size() > 2 ||
        !std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isdigit(ch); }) ||
        std::stoi(v) > 10) {
      return InvalidArgument("retries: want a whole number from 0 to 10 (got '" + v + "')");
    }
    t.retries = std::stoi(v);
  }
  if (s.count("insecureSkipVerify")) {
    auto skip = ParseBool("insecureSkipVerify", Get(s, "insecureSkipVerify"));
    if (!skip) return skip.error();
    t.verify_tls = !*skip;
  }
  for (const auto& [key, value] : s) {
    if (key.rfind(kHeaderPrefix, 0) != 0) continue;
    const std::string name = key.substr(sizeof(kHeaderPrefix) - 1);
    if (!ValidHeaderName(name)) return InvalidArgument(key + ": not a valid header name");
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "host" || lower == "content-length" || lower == "transfer-encoding") {
      return InvalidArgument(key + ": this header is set by the HTTP client");
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument(key + ": value contains a line break");
    }
    t.headers[name] = value;
  }
  if (s.count("tokenFile")) {
    t.token_file = Get(s, "tokenFile");
    if (t.token_file.empty()) return InvalidArgument("tokenFile: empty path");
    auto token = internal::ReadSecretFile("tokenFile", t.token_file);
    if (!token) return token.error();
    if (token->find_first_of("\r\n") != std::string::npos) {
      return InvalidArgument("tokenFile: '" + t.token_file + "' holds more than one line");
    }
  }
  return t;
}

Result<std::unique_ptr<Notifier>> Build(const NotifierConfig& c) {
  const std::set<std::string> known = KnownKeys(c.kind);
  const bool headers_allowed = c.kind == "webhook";
  for (const auto& [key, value] : c.settings) {
    if (known.count(key)) continue;
    if (headers_allowed && key.rfind(kHeaderPrefix, 0) == 0) continue;
    return UnknownKey(key, known, headers_allowed);
  }
  if (c.kind == "log") return NewLogNotifier(c.min_severity, nullptr);

  auto target = HttpSettings(c);
  if (!target) return target.error();
  ChatOptions o;
  o.channel = Get(c.settings, "channel");
  o.username = Get(c.settings, "username");
  o.icon_emoji = Get(c.settings, "iconEmoji");
  o.icon_url = Get(c.settings, "iconUrl");
  o.avatar_url = Get(c.settings, "avatarUrl");
  for (const char* key : {"iconUrl", "avatarUrl"}) {
    if (auto st = CheckUrlSetting(c.settings, key); !st) return st.error();
  }
  if (c.kind == "slack") {
    target->render = [o](const Message& m) { return internal::SlackPayload(m, o); };
  } else if (c.kind == "msteams") {
    target->render = [](const Message& m) { return internal::TeamsPayload(m); };
  } else if (c.kind == "discord") {
    target->render = [o](const Message& m) { return internal::DiscordPayload(m, o); };
  } else {
    target->render = [](const Message& m) { return internal::WebhookPayload(m); };
  }
  return internal::WithMinSeverity(internal::NewHttpNotifier(std::move(*target)), c.min_severity);
}

}  // namespace

Result<Severity> ParseSeverity(std::string_view text) {
  if (text == "info") return Severity::kInfo;
  if (text == "warn") return Severity::kWarn;
  if (text == "error") return Severity::kError;
  return InvalidArgument("severity: want info, warn or error (got '" + std::string(text) + "')");
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarn:
      return "warn";
    case Severity::kError:
      return "error";
  }
  return "info";
}

std::vector<std::string> NotifierKinds() {
  return {"discord", "log", "msteams", "slack", "webhook"};
}

Result<std::unique_ptr<Notifier>> NewNotifier(const NotifierConfig& config) {
  const auto kinds = NotifierKinds();
  if (std::find(kinds.begin(), kinds.end(), config.kind) == kinds.end()) {
    std::string list;
    for (const auto& k : kinds) list += (list.empty() ? "" : ", ") + k;
    std::string hint;
    if (auto k = ClosestMatch(config.kind, kinds, 2, /*ignore_case=*/true)) {
      hint = "; did you mean '" + *k + "'?";
    }
    return InvalidArgument("kind: unknown notifier '" + config.kind + "'" + hint +
                           " (known: " + list + ")");
  }
  auto built = Build(config);
  if (!built) return built.error().WithContext(config.kind);
  return built;
}

}  // namespace augur::notifiers
