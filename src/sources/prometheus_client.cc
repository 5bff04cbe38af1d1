// Prometheus HTTP API client. See the header for the contract.
//
// Design: the client object holds only validated options; every public call builds its own
// httplib::Client, so const methods are thread-safe without locks and a broken keep-alive
// connection never leaks from one call into another. Chunks of one split range query share
// that call's client. Bodies are collected through a content receiver so the size limit is
// enforced while reading, not after the whole body is in memory.
#include "augur/sources/prometheus_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/http_exchange.h"
#include "sources/prometheus_client_internal.h"

namespace augur::sources {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Timestamps beyond ~31,000 years are certainly bugs; bounding them keeps every later
// addition and multiplication on int64 free of overflow.
constexpr int64_t kMaxAbsTimestampMs = int64_t{1'000'000'000'000'000};
constexpr size_t kBodyExcerptMax = 200;

Error Unavailable(std::string message) {
  return Error{ErrorCode::kUnavailable, std::move(message)};
}
Error DeadlineExceeded(std::string message) {
  return Error{ErrorCode::kDeadlineExceeded, std::move(message)};
}

std::string Excerpt(std::string_view body) {
  if (body.size() <= kBodyExcerptMax) return std::string(body);
  return std::string(body.substr(0, kBodyExcerptMax)) + "...";
}

// Renders `value` for an error message. nlohmann's dump() recurses once per nesting level, so
// an answer of 100,000 nested arrays where a point belongs would overflow the stack; this stops
// descending after a few levels and once the excerpt is long enough.
void AppendJsonExcerpt(const Json& value, int depth, std::string* out) {
  constexpr int kMaxDepth = 4;
  if (!value.is_structured()) {
    out->append(value.dump());
    return;
  }
  const bool array = value.is_array();
  if (depth >= kMaxDepth) {
    out->append(array ? "[...]" : "{...}");
    return;
  }
  out->push_back(array ? '[' : '{');
  bool first = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!first) out->push_back(',');
    first = false;
    if (out->size() > kBodyExcerptMax) {
      out->append("...");
      break;
    }
    if (!array) out->append(Json(it.key()).dump()).push_back(':');
    AppendJsonExcerpt(*it, depth + 1, out);
  }
  out->push_back(array ? ']' : '}');
}

std::string JsonExcerpt(const Json& value) {
  std::string out;
  AppendJsonExcerpt(value, 0, &out);
  return Excerpt(out);
}

// Prometheus values are strings: "1.5", "NaN", "+Inf", "-Inf", "1e+06". from_chars handles
// all of these except a leading '+', which Go's ParseFloat accepts.
std::optional<double> ParseSampleValue(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Parses one [timestamp_seconds, "value"] pair.
Result<std::pair<int64_t, double>> ParsePoint(const Json& point, bool value_is_string_result,
                                              std::string* string_value) {
  if (!point.is_array() || point.size() != 2) {
    return BadData("a point is not a [timestamp, value] pair: " + JsonExcerpt(point));
  }
  const Json& ts = point[0];
  if (!ts.is_number()) return BadData("point timestamp is not a number: " + JsonExcerpt(ts));
  double seconds = ts.get<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) * 1000 > kMaxAbsTimestampMs) {
    return BadData("point timestamp out of range: " + JsonExcerpt(ts));
  }
  int64_t ms = std::llround(seconds * 1000);
  const Json& v = point[1];
  if (value_is_string_result) {
    if (!v.is_string()) return BadData("string result value is not a string: " + JsonExcerpt(v));
    *string_value = v.get<std::string>();
    return std::pair<int64_t, double>{ms, std::numeric_limits<double>::quiet_NaN()};
  }
  // Prometheus always sends strings; accepting plain numbers costs nothing and helps proxies
  // that re-encode the answer.
  if (v.is_number()) return std::pair<int64_t, double>{ms, v.get<double>()};
  if (!v.is_string()) return BadData("point value is not a string: " + JsonExcerpt(v));
  const auto& text = v.get_ref<const std::string&>();
  std::optional<double> value = ParseSampleValue(text);
  if (!value) return BadData("point value is not a number: \"" + Excerpt(text) + "\"");
  return std::pair<int64_t, double>{ms, *value};
}

Result<std::vector<std::pair<std::string, std::string>>> ParseLabels(const Json& item) {
  std::vector<std::pair<std::string, std::string>> labels;
  auto it = item.find("metric");
  if (it == item.end() || it->is_null()) return labels;  // e.g. a bare number expression
  if (!it->is_object()) return BadData("series \"metric\" is not an object");
  // nlohmann::json objects are std::maps, so this comes out sorted by name.
  for (const auto& [name, value] : it->items()) {
    if (!value.is_string()) return BadData("label \"" + name + "\" is not a string");
    labels.emplace_back(name, value.get<std::string>());
  }
  return labels;
}

Result<Series> ParseSeries(const Json& item, bool matrix) {
  if (!item.is_object()) return BadData("a result element is not an object");
  auto labels = ParseLabels(item);
  if (!labels) return labels.error();
  Series series;
  series.labels = std::move(*labels);
  const char* key = matrix ? "values" : "value";
  auto it = item.find(key);
  if (it == item.end()) {
    // Native histograms (Prometheus >= 2.40) come as "histogram(s)"; Augur compares floats.
    if (item.contains(matrix ? "histograms" : "histogram")) {
      return BadData("native histogram samples are not supported; use a float expression");
    }
    return BadData(std::string("series has no \"") + key + "\"");
  }
  auto add = [&series](const Json& point) -> Status {
    auto parsed = ParsePoint(point, false, nullptr);
    if (!parsed) return parsed.error();
    // The header promises ascending timestamps, and Stitch() relies on it; Prometheus sends
    // each timestamp once, in order, so anything else is a corrupt answer.
    if (!series.timestamps_ms.empty() && parsed->first <= series.timestamps_ms.back()) {
      return BadData("series timestamps are not strictly ascending: " + JsonExcerpt(point[0]) +
                     " after " + std::to_string(series.timestamps_ms.back()) + " ms");
    }
    series.timestamps_ms.push_back(parsed->first);
    series.values.push_back(parsed->second);
    return {};
  };
  if (matrix) {
    if (!it->is_array()) return BadData("series \"values\" is not an array");
    series.timestamps_ms.reserve(it->size());
    series.values.reserve(it->size());
    for (const Json& point : *it) {
      if (Status s = add(point); !s) return s.error();
    }
  } else if (Status s = add(*it); !s) {
    return s.error();
  }
  return series;
}

Error ErrorFromEnvelope(const std::string& error_type, const std::string& message) {
  std::string text = "prometheus error " + error_type + ": " + message;
  if (error_type == "timeout" || error_type == "canceled") return DeadlineExceeded(text);
  if (error_type == "unavailable" || error_type == "internal") return Unavailable(text);
  return InvalidArgument(text);
}

// Returns the envelope's (errorType, error) if `doc` is a Prometheus error document.
std::optional<std::pair<std::string, std::string>> ErrorEnvelope(const Json& doc) {
  if (!doc.is_object()) return std::nullopt;
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string() || *status != "error") return std::nullopt;
  std::string type = "unknown", message = "(no message)";
  if (auto t = doc.find("errorType"); t != doc.end() && t->is_string()) type = *t;
  if (auto m = doc.find("error"); m != doc.end() && m->is_string()) message = *m;
  return std::pair{type, message};
}

Result<Json> ParseJson(std::string_view body) {
  try {
    return Json::parse(body.begin(), body.end());
  } catch (const Json::parse_error& e) {
    // what() quotes the offending token whole: an unterminated 100 MB string would otherwise
    // become a 100 MB message in the logs.
    return BadData("invalid JSON at byte " + std::to_string(e.byte) + ": " + Excerpt(e.what()));
  } catch (const Json::exception& e) {
    return BadData(std::string("invalid JSON: ") + Excerpt(e.what()));
  }
}

// "1795317215.250": Prometheus takes unix seconds with decimals; three keep milliseconds exact.
std::string FormatSeconds(int64_t ms) {
  uint64_t magnitude = ms < 0 ? uint64_t{0} - static_cast<uint64_t>(ms) : ms;
  std::string frac = std::to_string(magnitude % 1000);
  frac.insert(0, 3 - frac.size(), '0');
  // Built by appending: g++ 12 raises a false -Wrestrict on `"-" + std::string&&`.
  std::string out;
  if (ms < 0) out.push_back('-');
  out.append(std::to_string(magnitude / 1000));
  out.push_back('.');
  out.append(frac);
  return out;
}

// Step as plain seconds ("15") when whole, so server logs read naturally; else "0.250".
std::string FormatStep(int64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) : FormatSeconds(ms);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

std::string EncodeForm(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += PercentEncode(name) + "=" + PercentEncode(value);
  }
  return out;
}

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// One attempt. A transport failure comes back as an Error; `retryable` says whether another
// attempt could help (a refused or reset connection may be a restarting Prometheus; a timeout
// would most likely recur and multiply the caller's wait, and an oversized body will not
// shrink).
Result<HttpAnswer> SendOnce(httplib::Client& http, const PrometheusOptions& options,
                            const std::string& url_for_errors, const std::string& path,
                            const Params& params, bool* retryable) {
  *retryable = false;
  httplib::Request req;
  std::string form = EncodeForm(params);
  if (options.use_post) {
    req.method = "POST";
    req.path = path;
    req.body = std::move(form);
    req.headers.emplace("Content-Type", "application/x-www-form-urlencoded");
  } else {
    req.method = "GET";
    req.path = path + "?" + form;
  }
  req.headers.emplace("Accept", "application/json");
  req.headers.emplace("User-Agent", "augur");
  for (const auto& [name, value] : options.headers) req.headers.emplace(name, value);

  const std::string where = req.method + " " + url_for_errors + path;
  httplib::Error transport = httplib::Error::Success;
  auto fetched = common::SendBounded(http, std::move(req),
                                     {options.timeout_ms, options.max_body_bytes, nullptr}, where,
                                     "Prometheus", &transport);
  if (!fetched) {
    // A refused or reset connection may be a restarting Prometheus: worth another attempt.
    *retryable = transport == httplib::Error::Connection || transport == httplib::Error::Read ||
                 transport == httplib::Error::Write || transport == httplib::Error::Unknown;
    return fetched.error();
  }
  HttpAnswer answer{fetched->status, std::move(fetched->body)};
  if (answer.status >= 500) *retryable = true;
  return answer;
}

// Turns a non-2xx answer into an Error.
Error ErrorFromStatus(const HttpAnswer& answer, const std::string& where) {
  std::string prefix = where + ": HTTP " + std::to_string(answer.status);
  std::optional<std::pair<std::string, std::string>> envelope;
  try {
    envelope = ErrorEnvelope(Json::parse(answer.body));
  } catch (const Json::exception&) {
    // Not JSON (a proxy's HTML page, say): report an excerpt of the body instead.
  }
  std::string detail =
      envelope ? envelope->first + ": " + envelope->second : "\"" + Excerpt(answer.body) + "\"";
  if (answer.status >= 400 && answer.status < 500) return InvalidArgument(prefix + " " + detail);
  if (answer.status >= 500) {
    if (envelope && (envelope->first == "timeout" || envelope->first == "canceled")) {
      return DeadlineExceeded(prefix + " " + detail);
    }
    return Unavailable(prefix + " " + detail);
  }
  return BadData(prefix + " (unexpected status) " + detail);
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// Appends `part` (one chunk's answer) to `total`, matching series by label set and dropping
// points at or before the last timestamp already held, so chunk borders never duplicate.
// `index` maps a label set to its position in total.series (keys are copies, so growing
// total.series cannot invalidate them).
void Stitch(QueryResult& total, QueryResult&& part, std::map<Labels, size_t>& index) {
  for (std::string& w : part.warnings) {
    if (std::find(total.warnings.begin(), total.warnings.end(), w) == total.warnings.end()) {
      total.warnings.push_back(std::move(w));
    }
  }
  for (Series& s : part.series) {
    auto it = index.find(s.labels);
    if (it == index.end()) {
      index.emplace(s.labels, total.series.size());
      total.series.push_back(std::move(s));
      continue;
    }
    Series& into = total.series[it->second];
    for (size_t i = 0; i < s.timestamps_ms.size(); ++i) {
      if (!into.timestamps_ms.empty() && s.timestamps_ms[i] <= into.timestamps_ms.back()) {
        continue;
      }
      into.timestamps_ms.push_back(s.timestamps_ms[i]);
      into.values.push_back(s.values[i]);
    }
  }
}

// Splits "scheme://host[:port][/prefix]". httplib::Client takes "scheme://host:port" only,
// so the prefix is kept apart and put in front of every request path.
Status SplitUrl(const std::string& url, std::string* scheme_host_port, std::string* prefix) {
  auto bad = [&url](const std::string& why) {
    return InvalidArgument("PrometheusOptions.url \"" + url + "\": " + why);
  };
  size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("expected http://host:port or https://host:port");
  std::string scheme = url.substr(0, sep);
  if (scheme != "http" && scheme != "https") return bad("scheme must be http or https");
  std::string rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string::npos) {
    return bad("query strings and fragments are not allowed");
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  *prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  if (authority.empty()) return bad("missing host");
  if (authority.find('@') != std::string::npos) {
    return bad("put credentials in basic_user/basic_password, not in the URL");
  }
  // Host is "[v6addr]" or a name/v4 address; an optional ":port" follows.
  size_t host_end = authority.front() == '[' ? authority.find(']') : authority.find(':');
  if (authority.front() == '[') {
    if (host_end == std::string::npos) return bad("unterminated [IPv6] host");
    ++host_end;
  }
  if (host_end == std::string::npos) host_end = authority.size();
  if (host_end == 0 || (authority.front() == '[' && host_end <= 2)) return bad("missing host");
  std::string port_text;
  if (host_end < authority.size()) {
    if (authority[host_end] != ':') return bad("unexpected text after host");
    port_text = authority.substr(host_end + 1);
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 1 || port > 65535) {
      return bad("invalid port \"" + port_text + "\"");
    }
  }
  *scheme_host_port = scheme + "://" + authority;
  return {};
}

bool HasLineBreak(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

// Runs `path` with retries. Backoff doubles: backoff_ms, 2*backoff_ms, 4*backoff_ms, ...
Result<QueryResult> Execute(httplib::Client& http, const PrometheusOptions& options,
                            const std::string& base_url, const std::string& path,
                            const Params& params) {
  const std::string where = base_url + path;
  for (int attempt = 0;; ++attempt) {
    bool retryable = false;
    auto answer = SendOnce(http, options, base_url, path, params, &retryable);
    std::optional<Error> error;
    if (!answer) {
      error = answer.error();
    } else if (answer->status >= 200 && answer->status < 300) {
      auto parsed = ParseQueryResponse(answer->body);
      if (!parsed) return parsed.error().WithContext(where);
      return parsed;
    } else {
      error = ErrorFromStatus(*answer, where);
    }
    if (!retryable || attempt >= options.retries) {
      if (attempt > 0)
        return error->WithContext("after " + std::to_string(attempt + 1) + " attempts");
      return *error;
    }
    int64_t delay = static_cast<int64_t>(options.backoff_ms) << std::min(attempt, 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

std::unique_ptr<httplib::Client> MakeHttpClient(const std::string& scheme_host_port,
                                                const PrometheusOptions& options) {
  auto http = std::make_unique<httplib::Client>(scheme_host_port);
  const auto timeout = std::chrono::milliseconds(options.timeout_ms);
  http->set_connection_timeout(timeout);
  http->set_read_timeout(timeout);
  http->set_write_timeout(timeout);
  http->set_follow_location(false);  // a redirect to elsewhere would leak the credentials
  if (!options.bearer_token.empty()) http->set_bearer_token_auth(options.bearer_token);
  if (!options.basic_user.empty()) {
    http->set_basic_auth(options.basic_user, options.basic_password);
  }
  return http;
}

// Reads a whole answer straight into Series. A 100 x 11,000 query_range answer is ~30 MB;
// building the nlohmann DOM for it first costs ~1 s (30 MB/s) and one heap node per number and
// string. The scanner accepts a strict subset of JSON and gives up (returns false) on anything
// else, including every error, so the DOM path alone decides errors and unusual documents.
class QueryScanner {
 public:
  explicit QueryScanner(std::string_view body) : p_(body.data()), end_(p_ + body.size()) {}

  std::optional<QueryResult> Run() {
    QueryResult result;
    if (!Top(&result)) return std::nullopt;
    SkipWs();
    if (p_ != end_) return std::nullopt;
    return result;
  }

 private:
  // Depth of unknown members the scanner will skip over before giving up; Prometheus's own
  // answers have none.
  static constexpr int kMaxSkipDepth = 32;

  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  void SkipWs() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Eat(char c) {
    SkipWs();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  bool Peek(char c) {
    SkipWs();
    return p_ != end_ && *p_ == c;
  }

  bool Literal(std::string_view word) {
    SkipWs();
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // A string of printable ASCII without escapes: then its text is the slice of the body.
  bool String(std::string_view* out) {
    if (!Eat('"')) return false;
    const char* begin = p_;
    for (; p_ < end_; ++p_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(begin, p_ - begin);
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
    }
    return false;
  }

  // A number by JSON's grammar (from_chars alone would accept "01", "1.", "inf").
  bool Number(double* out) {
    SkipWs();
    const char* q = p_;
    if (q < end_ && *q == '-') ++q;
    if (q == end_ || !IsDigit(*q)) return false;
    if (*q == '0') {
      ++q;
    } else {
      while (q < end_ && IsDigit(*q)) ++q;
    }
    if (q < end_ && *q == '.') {
      const char* digits = ++q;
      while (q < end_ && IsDigit(*q)) ++q;
      if (q == digits) return false;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
      ++q;
      if (q < end_ && (*q == '+' || *q == '-')) ++q;
      const char* digits = q;
      while (q < end_ && IsDigit(*q)) ++q;
      if (q == digits) return false;
    }
    // Overflow and underflow both fail here; the DOM path then decides.
    auto [ptr, ec] = std::from_chars(p_, q, *out);
    if (ec != std::errc() || ptr != q) return false;
    p_ = q;
    return true;
  }

  // Calls member(key) for each member of an object; member consumes the value.
  template <typename F>
  bool Object(F&& member) {
    if (!Eat('{')) return false;
    if (Eat('}')) return true;
    do {
      std::string_view key;
      if (!String(&key) || !Eat(':') || !member(key)) return false;
    } while (Eat(','));
    return Eat('}');
  }

  template <typename F>
  bool Array(F&& element) {
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    do {
      if (!element()) return false;
    } while (Eat(','));
    return Eat(']');
  }

  bool SkipValue(int depth) {
    if (depth > kMaxSkipDepth) return false;
    SkipWs();
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': {
        std::string_view ignored;
        return String(&ignored);
      }
      case '{':
        return Object([&](std::string_view) { return SkipValue(depth + 1); });
      case '[':
        return Array([&] { return SkipValue(depth + 1); });
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default: {
        double ignored;
        return Number(&ignored);
      }
    }
  }

  // Each member the scanner reads may appear once: with duplicates nlohmann keeps the last,
  // and matching that is not worth the code.
  static bool First(bool* seen) {
    if (*seen) return false;
    *seen = true;
    return true;
  }

  bool Top(QueryResult* result) {
    bool status = false, data = false, warnings = false;
    bool ok = Object([&](std::string_view key) {
      if (key == "status") {
        std::string_view value;
        return First(&status) && String(&value) && value == "success";
      }
      if (key == "data") return First(&data) && Data(result);
      if (key == "warnings") return First(&warnings) && Warnings(&result->warnings);
      return SkipValue(1);
    });
    return ok && status && data;
  }

  // As the DOM path: non-string warnings, or a non-array "warnings", are ignored.
  bool Warnings(std::vector<std::string>* out) {
    if (!Peek('[')) return SkipValue(1);
    return Array([&] {
      std::string_view text;
      if (!Peek('"')) return SkipValue(2);
      if (!String(&text)) return false;
      out->emplace_back(text);
      return true;
    });
  }

  bool Data(QueryResult* result) {
    bool type = false, items = false;
    bool ok = Object([&](std::string_view key) {
      if (key == "resultType") {
        std::string_view value;
        if (!First(&type) || !String(&value)) return false;
        if (value != "matrix" && value != "vector") return false;  // tiny answers: DOM path
        result->result_type.assign(value);
        return true;
      }
      if (key == "result") {
        // Prometheus writes resultType first; the other order is left to the DOM path.
        if (!type || !First(&items)) return false;
        const bool matrix = result->result_type == "matrix";
        return Array([&] { return OneSeries(matrix, &result->series.emplace_back()); });
      }
      return SkipValue(2);
    });
    return ok && type && items;
  }

  bool OneSeries(bool matrix, Series* series) {
    bool metric = false, points = false;
    const std::string_view points_key = matrix ? "values" : "value";
    bool ok = Object([&](std::string_view key) {
      if (key == "metric") return First(&metric) && Labels(&series->labels);
      if (key == points_key) {
        if (!First(&points)) return false;
        return matrix ? Array([&] { return Point(series); }) : Point(series);
      }
      if (key == "histogram" || key == "histograms") return false;
      return SkipValue(3);
    });
    return ok && points;
  }

  bool Labels(std::vector<std::pair<std::string, std::string>>* labels) {
    if (Peek('n')) return Literal("null");
    bool ok = Object([&](std::string_view name) {
      std::string_view value;
      if (!String(&value)) return false;
      labels->emplace_back(name, value);
      return true;
    });
    if (!ok) return false;
    // The DOM path reads labels out of a std::map, sorted by name. Prometheus sorts them too.
    auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (!std::is_sorted(labels->begin(), labels->end(), by_name)) {
      std::sort(labels->begin(), labels->end(), by_name);
    }
    for (size_t i = 1; i < labels->size(); ++i) {
      if ((*labels)[i].first == (*labels)[i - 1].first) return false;
    }
    return true;
  }

  // [seconds, "value"], checked exactly as ParsePoint and ParseSeries check it.
  bool Point(Series* series) {
    double seconds;
    std::string_view text;
    if (!Eat('[') || !Number(&seconds) || !Eat(',') || !String(&text) || !Eat(']')) return false;
    if (!std::isfinite(seconds) || std::fabs(seconds) * 1000 > kMaxAbsTimestampMs) return false;
    std::optional<double> value = ParseSampleValue(text);
    if (!value) return false;
    const int64_t ms = std::llround(seconds * 1000);
    if (!series->timestamps_ms.empty() && ms <= series->timestamps_ms.back()) return false;
    series->timestamps_ms.push_back(ms);
    series->values.push_back(*value);
    return true;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

namespace internal {

std::optional<QueryResult> ScanQueryResponse(std::string_view body) {
  return QueryScanner(body).Run();
}

Result<QueryResult> ParseQueryResponseDom(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return doc.error();
  if (!doc->is_object()) return BadData("response is not a JSON object");
  if (auto envelope = ErrorEnvelope(*doc)) {
    return ErrorFromEnvelope(envelope->first, envelope->second);
  }
  auto status = doc->find("status");
  if (status == doc->end() || *status != "success") {
    return BadData("response has no \"status\":\"success\"");
  }
  QueryResult result;
  if (auto w = doc->find("warnings"); w != doc->end() && w->is_array()) {
    for (const Json& warning : *w) {
      if (warning.is_string()) result.warnings.push_back(warning.get<std::string>());
    }
  }
  auto data = doc->find("data");
  if (data == doc->end() || !data->is_object()) return BadData("response has no \"data\" object");
  auto type = data->find("resultType");
  if (type == data->end() || !type->is_string()) return BadData("data has no \"resultType\"");
  result.result_type = type->get<std::string>();
  auto items = data->find("result");
  if (items == data->end()) return BadData("data has no \"result\"");

  if (result.result_type == "matrix" || result.result_type == "vector") {
    if (!items->is_array()) return BadData("\"result\" is not an array");
    result.series.reserve(items->size());
    for (const Json& item : *items) {
      auto series = ParseSeries(item, result.result_type == "matrix");
      if (!series) return series.error();
      result.series.push_back(std::move(*series));
    }
  } else if (result.result_type == "scalar" || result.result_type == "string") {
    std::string text;
    bool is_string = result.result_type == "string";
    auto point = ParsePoint(*items, is_string, &text);
    if (!point) return point.error();
    Series series;
    if (is_string) series.labels.emplace_back("__string__", std::move(text));
    series.timestamps_ms.push_back(point->first);
    series.values.push_back(point->second);
    result.series.push_back(std::move(series));
  } else {
    return BadData("unknown resultType \"" + Excerpt(result.result_type) + "\"");
  }
  return result;
}

}  // namespace internal

Result<QueryResult> ParseQueryResponse(std::string_view body) {
  if (std::optional<QueryResult> fast = internal::ScanQueryResponse(body)) return std::move(*fast);
  return internal::ParseQueryResponseDom(body);
}

Result<PrometheusClient> PrometheusClient::Create(PrometheusOptions options) {
  std::string scheme_host_port, prefix;
  if (Status s = SplitUrl(options.url, &scheme_host_port, &prefix); !s) return s.error();
  if (!options.bearer_token.empty() && !options.basic_user.empty()) {
    return InvalidArgument("PrometheusOptions: set bearer_token or basic_user, not both");
  }
  if (options.basic_user.empty() && !options.basic_password.empty()) {
    return InvalidArgument("PrometheusOptions: basic_password without basic_user");
  }
  // A line break in a header would let a config value inject headers or split the request.
  if (HasLineBreak(options.bearer_token) || HasLineBreak(options.basic_user) ||
      HasLineBreak(options.basic_password)) {
    return InvalidArgument("PrometheusOptions: credentials contain a line break");
  }
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      return InvalidArgument("PrometheusOptions.headers: invalid header \"" + name + "\"");
    }
  }
  if (options.timeout_ms <= 0) return InvalidArgument("PrometheusOptions.timeout_ms must be > 0");
  if (options.retries < 0 || options.retries > 10) {
    return InvalidArgument("PrometheusOptions.retries must be in [0, 10]");
  }
  if (options.backoff_ms < 0 || options.backoff_ms > 60'000) {
    return InvalidArgument("PrometheusOptions.backoff_ms must be in [0, 60000]");
  }
  if (options.max_body_bytes <= 0) {
    return InvalidArgument("PrometheusOptions.max_body_bytes must be > 0");
  }
  return PrometheusClient(std::move(options), std::move(scheme_host_port), std::move(prefix));
}

Result<QueryResult> PrometheusClient::QueryRange(std::string_view promql, int64_t start_ms,
                                                 int64_t end_ms, int64_t step_ms) const {
  if (promql.empty()) return InvalidArgument("QueryRange: empty query");
  if (std::llabs(start_ms) > kMaxAbsTimestampMs || std::llabs(end_ms) > kMaxAbsTimestampMs) {
    return InvalidArgument("QueryRange: timestamp out of range");
  }
  if (end_ms < start_ms) return InvalidArgument("QueryRange: end is before start");
  if (step_ms <= 0) return InvalidArgument("QueryRange: step must be > 0");
  const int64_t steps = (end_ms - start_ms) / step_ms;
  const int64_t requests = steps / (kMaxStepsPerRequest + 1) + 1;
  if (requests > kMaxRangeRequests) {
    return InvalidArgument("QueryRange: " + std::to_string(steps) + " steps would need " +
                           std::to_string(requests) + " requests (limit " +
                           std::to_string(kMaxRangeRequests) + "); use a larger step");
  }
  auto http = MakeHttpClient(scheme_host_port_, options_);
  const std::string path = path_prefix_ + "/api/v1/query_range";
  QueryResult total;
  std::map<Labels, size_t> index;
  // Chunk k covers grid points [k*11001, k*11001 + 11000], i.e. 11,000 steps: the most one
  // request may span. Chunks never share a grid point, and all lie on the caller's grid.
  for (int64_t chunk_start = start_ms; chunk_start <= end_ms;
       chunk_start += (kMaxStepsPerRequest + 1) * step_ms) {
    int64_t chunk_end = std::min(end_ms, chunk_start + kMaxStepsPerRequest * step_ms);
    Params params = {{"query", std::string(promql)},
                     {"start", FormatSeconds(chunk_start)},
                     {"end", FormatSeconds(chunk_end)},
                     {"step", FormatStep(step_ms)}};
    auto part = Execute(*http, options_, scheme_host_port_, path, params);
    if (!part) return part.error();
    if (part->result_type != "matrix") {
      return BadData(scheme_host_port_ + path + ": range query answered resultType \"" +
                     part->result_type + "\", expected \"matrix\"");
    }
    if (total.result_type.empty()) total.result_type = part->result_type;
    Stitch(total, std::move(*part), index);
  }
  return total;
}

Result<QueryResult> PrometheusClient::Query(std::string_view promql, int64_t time_ms) const {
  if (promql.empty()) return InvalidArgument("Query: empty query");
  if (std::llabs(time_ms) > kMaxAbsTimestampMs) {
    return InvalidArgument("Query: timestamp out of range");
  }
  auto http = MakeHttpClient(scheme_host_port_, options_);
  Params params = {{"query", std::string(promql)}, {"time", FormatSeconds(time_ms)}};
  return Execute(*http, options_, scheme_host_port_, path_prefix_ + "/api/v1/query", params);
}

AlignedPair AlignSeries(const Series& primary, const Series& canary, int64_t start_ms,
                        int64_t end_ms, int64_t step_ms) {
  AlignedPair out;
  if (step_ms <= 0 || end_ms < start_ms) return out;
  const size_t slots = static_cast<size_t>((end_ms - start_ms) / step_ms) + 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.timestamps_ms.resize(slots);
  for (size_t i = 0; i < slots; ++i)
    out.timestamps_ms[i] = start_ms + static_cast<int64_t>(i) * step_ms;

  auto place = [&](const Series& series, std::vector<double>& values) {
    values.assign(slots, nan);
    // Distance of the point now in each slot; max() marks an empty slot.
    std::vector<int64_t> distance(slots, std::numeric_limits<int64_t>::max());
    const size_t n = std::min(series.timestamps_ms.size(), series.values.size());
    for (size_t i = 0; i < n; ++i) {
      const int64_t t = series.timestamps_ms[i];
      // Accept points up to half a step outside the range: they round onto the end slots.
      if (t < start_ms - step_ms / 2 || t > end_ms + step_ms / 2) continue;
      const int64_t offset = t - start_ms;
      int64_t slot = (offset + step_ms / 2) / step_ms;
      if (offset + step_ms / 2 < 0) slot = 0;  // C++ division truncates towards zero
      if (slot < 0 || static_cast<size_t>(slot) >= slots) continue;
      const int64_t d = std::llabs(t - out.timestamps_ms[slot]);
      if (d * 2 > step_ms) continue;
      if (d < distance[slot]) {
        distance[slot] = d;
        values[slot] = series.values[i];
      }
    }
    return static_cast<size_t>(
        std::count(distance.begin(), distance.end(), std::numeric_limits<int64_t>::max()));
  };
  out.missing_primary = place(primary, out.primary);
  out.missing_canary = place(canary, out.canary);
  return out;
}

}  // namespace augur::sources
