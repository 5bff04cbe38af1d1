// See checks.h. The rules below are re-derived from the public headers' documentation, not
// copied from the parsers, so a parser change that breaks a documented promise shows up here.
#include "checks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "augur/core/result.h"
#include "augur/sources/exposition.h"
#include "augur/sources/prometheus_client.h"
#include "sources/prometheus_client_internal.h"

namespace augur::fuzz {
namespace {

using sources::ExpositionFormat;
using sources::MetricFamily;
using sources::MetricType;
using sources::QueryResult;
using sources::Sample;
using sources::Series;
using Labels = std::vector<std::pair<std::string, std::string>>;

// Timestamps written back as decimal seconds come back exact only while the milliseconds fit
// in a double with room to spare (both parsers compute llround(seconds * 1000)).
constexpr int64_t kExactMsLimit = int64_t{1} << 50;

// Error messages end up in logs and HTTP answers; ones built from the input must stay short.
constexpr size_t kMaxMessageBytes = 1024;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsMetricName(std::string_view s) {
  if (s.empty() || !(IsAlpha(s[0]) || s[0] == ':')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlpha(c) || IsDigit(c) || c == ':'; });
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlpha(c) || IsDigit(c); });
}

// Strict UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool IsPrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

bool SameDouble(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out + (s.size() > 60 ? "...\"" : "\"");
}

std::string DoubleText(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string LabelsSortedAndUnique(const Labels& labels) {
  for (size_t i = 1; i < labels.size(); ++i) {
    if (!(labels[i - 1].first < labels[i].first)) {
      return "labels not sorted and unique at " + Quote(labels[i].first);
    }
  }
  return "";
}

// ---- Exposition ----------------------------------------------------------------------------

bool TypeAllowed(MetricType type, bool om) {
  switch (type) {
    case MetricType::kCounter:
    case MetricType::kGauge:
    case MetricType::kHistogram:
    case MetricType::kSummary:
      return true;
    case MetricType::kUntyped:
      return !om;
    case MetricType::kUnknown:
    case MetricType::kGaugeHistogram:
    case MetricType::kInfo:
    case MetricType::kStateSet:
      return om;
  }
  return false;
}

// The suffix rules of exposition.h ("Samples are grouped by name: ...").
bool Owns(MetricType type, std::string_view suffix, bool om) {
  switch (type) {
    case MetricType::kHistogram:
      return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::kSummary:
      return suffix.empty() || suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::kGaugeHistogram:
      return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
    case MetricType::kCounter:
      return om ? suffix == "_total" || suffix == "_created" : suffix.empty();
    case MetricType::kInfo:
      return suffix == "_info";
    default:
      return suffix.empty();
  }
}

std::string CheckFamilies(const std::vector<MetricFamily>& families, bool om) {
  std::set<std::string_view> names;
  for (const MetricFamily& f : families) {
    const std::string where = "family " + Quote(f.name) + ": ";
    if (!IsMetricName(f.name)) return where + "invalid family name";
    if (!names.insert(f.name).second) return where + "family appears twice";
    if (!TypeAllowed(f.type, om)) return where + "type not of this format";
    if (!IsUtf8(f.help)) return where + "help is not UTF-8";
    if (!om && !f.unit.empty()) return where + "unit outside OpenMetrics";
    for (const Sample& s : f.samples) {
      if (!IsMetricName(s.name)) return where + "invalid sample name " + Quote(s.name);
      if (s.name.compare(0, f.name.size(), f.name) != 0 ||
          !Owns(f.type, std::string_view(s.name).substr(f.name.size()), om)) {
        return where + "sample " + Quote(s.name) + " does not belong to a " +
               sources::MetricTypeName(f.type);
      }
      if (std::string e = LabelsSortedAndUnique(s.labels); !e.empty()) return where + e;
      for (const auto& [name, value] : s.labels) {
        if (!IsLabelName(name)) return where + "invalid label name " + Quote(name);
        if (!IsUtf8(value)) return where + "label value is not UTF-8";
      }
    }
  }
  return "";
}

void AppendEscaped(std::string_view text, bool quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (quote && c == '"') {
      *out += "\\\"";
    } else {
      out->push_back(c);
    }
  }
}

// Writes families back out in `format`, each family's metadata first and its samples together.
std::string WriteExposition(const std::vector<MetricFamily>& families, bool om) {
  std::string out;
  for (const MetricFamily& f : families) {
    out += "# TYPE " + f.name + " " + sources::MetricTypeName(f.type) + "\n";
    if (!f.unit.empty()) out += "# UNIT " + f.name + " " + f.unit + "\n";
    if (!f.help.empty()) {
      out += "# HELP " + f.name + " ";
      AppendEscaped(f.help, false, &out);
      out += "\n";
    }
    for (const Sample& s : f.samples) {
      out += s.name;
      if (!s.labels.empty()) {
        out += "{";
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (i != 0) out += ",";
          out += s.labels[i].first + "=\"";
          AppendEscaped(s.labels[i].second, true, &out);
          out += "\"";
        }
        out += "}";
      }
      out += ' ';
      out += DoubleText(s.value);
      if (s.timestamp_ms) {
        const int64_t ms = *s.timestamp_ms;
        if (om) {
          const uint64_t mag = ms < 0 ? uint64_t{0} - static_cast<uint64_t>(ms) : ms;
          char buf[48];
          std::snprintf(buf, sizeof buf, " %s%llu.%03llu", ms < 0 ? "-" : "",
                        static_cast<unsigned long long>(mag / 1000),
                        static_cast<unsigned long long>(mag % 1000));
          out += buf;
        } else {
          out += ' ';
          out += std::to_string(ms);
        }
      }
      out += "\n";
    }
  }
  if (om) out += "# EOF\n";
  return out;
}

std::string CompareFamilies(const std::vector<MetricFamily>& a, const std::vector<MetricFamily>& b,
                            bool om) {
  if (a.size() != b.size()) {
    return std::to_string(a.size()) + " families became " + std::to_string(b.size());
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const MetricFamily& x = a[i];
    const MetricFamily& y = b[i];
    const std::string where = "family " + Quote(x.name) + ": ";
    if (x.name != y.name) return where + "became " + Quote(y.name);
    if (x.type != y.type) return where + "type changed";
    if (x.unit != y.unit) return where + "unit changed";
    // 0.0.4 drops one '\r' before the line end, so a HELP text ending in '\r' cannot survive
    // being written back; that is the format, not a parser fault.
    const bool help_comparable = om || x.help.empty() || x.help.back() != '\r';
    if (help_comparable && x.help != y.help) return where + "help " + Quote(y.help);
    if (x.samples.size() != y.samples.size()) return where + "sample count changed";
    for (size_t k = 0; k < x.samples.size(); ++k) {
      const Sample& s = x.samples[k];
      const Sample& t = y.samples[k];
      const std::string at = where + "sample " + std::to_string(k) + " " + Quote(s.name) + ": ";
      if (s.name != t.name) return at + "name became " + Quote(t.name);
      if (s.labels != t.labels) return at + "labels changed";
      if (!SameDouble(s.value, t.value)) {
        return at + "value " + DoubleText(s.value) + " became " + DoubleText(t.value);
      }
      if (s.timestamp_ms.has_value() != t.timestamp_ms.has_value()) {
        return at + "timestamp appeared or vanished";
      }
      if (s.timestamp_ms && *s.timestamp_ms != *t.timestamp_ms &&
          (!om || std::llabs(*s.timestamp_ms) < kExactMsLimit)) {
        return at + "timestamp " + std::to_string(*s.timestamp_ms) + " became " +
               std::to_string(*t.timestamp_ms);
      }
    }
  }
  return "";
}

std::string CheckOneFormat(std::string_view input, ExpositionFormat format) {
  const bool om = format == ExpositionFormat::kOpenMetrics;
  const std::string fmt = om ? "openmetrics: " : "text 0.0.4: ";
  auto parsed = sources::ParseExposition(input, format);
  if (!parsed) {
    const Error& e = parsed.error();
    if (e.code != ErrorCode::kBadData) return fmt + "error code is not kBadData: " + e.message;
    if (e.message.rfind("line ", 0) != 0) return fmt + "message lacks the line: " + e.message;
    if (!IsPrintableAscii(e.message)) return fmt + "message not printable: " + Quote(e.message);
    if (e.message.size() > kMaxMessageBytes) return fmt + "message too long";
    return "";
  }
  if (std::string e = CheckFamilies(*parsed, om); !e.empty()) return fmt + e;
  const std::string written = WriteExposition(*parsed, om);
  auto again = sources::ParseExposition(written, format);
  if (!again) {
    return fmt + "written back, the page no longer parses: " + again.error().message +
           "\n--- written page ---\n" + written.substr(0, 2000);
  }
  if (std::string e = CompareFamilies(*parsed, *again, om); !e.empty()) {
    return fmt + "round trip: " + e + "\n--- written page ---\n" + written.substr(0, 2000);
  }
  return "";
}

// ---- Query response ------------------------------------------------------------------------

std::string CompareResults(const QueryResult& a, const QueryResult& b) {
  if (a.result_type != b.result_type) return "resultType " + a.result_type + " vs " + b.result_type;
  if (a.warnings != b.warnings) return "warnings differ";
  if (a.series.size() != b.series.size()) {
    return std::to_string(a.series.size()) + " series vs " + std::to_string(b.series.size());
  }
  for (size_t i = 0; i < a.series.size(); ++i) {
    const Series& x = a.series[i];
    const Series& y = b.series[i];
    const std::string at = "series " + std::to_string(i) + ": ";
    if (x.labels != y.labels) return at + "labels differ";
    if (x.timestamps_ms != y.timestamps_ms) return at + "timestamps differ";
    if (x.values.size() != y.values.size()) return at + "value counts differ";
    for (size_t k = 0; k < x.values.size(); ++k) {
      if (!SameDouble(x.values[k], y.values[k])) {
        return at + "value " + std::to_string(k) + ": " + DoubleText(x.values[k]) + " vs " +
               DoubleText(y.values[k]);
      }
    }
  }
  return "";
}

std::string CheckShape(const QueryResult& r) {
  const std::string& type = r.result_type;
  if (type != "matrix" && type != "vector" && type != "scalar" && type != "string") {
    return "unknown resultType " + Quote(type);
  }
  if ((type == "scalar" || type == "string") && r.series.size() != 1) {
    return type + " with " + std::to_string(r.series.size()) + " series";
  }
  for (const Series& s : r.series) {
    if (s.timestamps_ms.size() != s.values.size()) return "timestamps and values differ in count";
    if (std::string e = LabelsSortedAndUnique(s.labels); !e.empty()) return e;
    for (const auto& [name, value] : s.labels) {
      if (!IsUtf8(name) || !IsUtf8(value)) return "label is not UTF-8";
    }
    for (int64_t ms : s.timestamps_ms) {
      if (std::llabs(ms) > int64_t{1'000'000'000'000'000}) return "timestamp beyond the bound";
    }
    if (type != "matrix" && s.values.size() != 1) return type + " series without exactly 1 point";
    if (type == "matrix") {
      for (size_t i = 1; i < s.timestamps_ms.size(); ++i) {
        if (s.timestamps_ms[i] <= s.timestamps_ms[i - 1]) return "matrix timestamps not ascending";
      }
    }
    if (type == "scalar" && !s.labels.empty()) return "scalar with labels";
    if (type == "string" &&
        (s.labels.size() != 1 || s.labels[0].first != "__string__" || !std::isnan(s.values[0]))) {
      return "string result not in its documented form";
    }
  }
  return "";
}

std::string PointJson(int64_t ms, const std::string& value_json) {
  const uint64_t mag = ms < 0 ? uint64_t{0} - static_cast<uint64_t>(ms) : ms;
  char buf[48];
  std::snprintf(buf, sizeof buf, "[%s%llu.%03llu,", ms < 0 ? "-" : "",
                static_cast<unsigned long long>(mag / 1000),
                static_cast<unsigned long long>(mag % 1000));
  return buf + value_json + "]";
}

// Prometheus's own spelling of sample values.
std::string ValueJson(double v) {
  if (std::isnan(v)) return "\"NaN\"";
  if (std::isinf(v)) return v > 0 ? "\"+Inf\"" : "\"-Inf\"";
  // Appended piecewise: g++ 12 raises a false -Wrestrict on `"x" + std::string&&`.
  std::string out = "\"";
  out += DoubleText(v);
  out += '"';
  return out;
}

// A JSON string literal. The parsers hand out valid UTF-8 (the DOM path validates it, the
// scanner takes ASCII only), so only quotes, backslashes and control characters need escapes.
std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// A Prometheus answer carrying `r`, or nullopt if some timestamp would not come back exact.
std::optional<std::string> WriteAnswer(const QueryResult& r) {
  for (const Series& s : r.series) {
    for (int64_t ms : s.timestamps_ms) {
      if (std::llabs(ms) >= kExactMsLimit) return std::nullopt;
    }
  }
  std::string out = R"({"status":"success",)";
  if (!r.warnings.empty()) {
    out += R"("warnings":[)";
    for (size_t i = 0; i < r.warnings.size(); ++i) {
      if (i != 0) out += ",";
      out += JsonString(r.warnings[i]);
    }
    out += "],";
  }
  out += R"("data":{"resultType":)" + JsonString(r.result_type) + R"(,"result":)";
  if (r.result_type == "scalar" || r.result_type == "string") {
    const Series& s = r.series.at(0);
    out += PointJson(s.timestamps_ms.at(0), r.result_type == "string"
                                                ? JsonString(s.labels.at(0).second)
                                                : ValueJson(s.values.at(0)));
  } else {
    const bool matrix = r.result_type == "matrix";
    out += "[";
    for (size_t i = 0; i < r.series.size(); ++i) {
      const Series& s = r.series[i];
      if (i != 0) out += ",";
      out += R"({"metric":{)";
      for (size_t k = 0; k < s.labels.size(); ++k) {
        if (k != 0) out += ",";
        out += JsonString(s.labels[k].first) + ":" + JsonString(s.labels[k].second);
      }
      out += matrix ? R"(},"values":[)" : R"(},"value":)";
      for (size_t k = 0; k < s.values.size(); ++k) {
        if (k != 0) out += ",";
        out += PointJson(s.timestamps_ms[k], ValueJson(s.values[k]));
      }
      out += matrix ? "]}" : "}";
    }
    out += "]";
  }
  out += "}}";
  return out;
}

}  // namespace

std::string CheckExposition(std::string_view input) {
  for (ExpositionFormat format : {ExpositionFormat::kText004, ExpositionFormat::kOpenMetrics}) {
    if (std::string e = CheckOneFormat(input, format); !e.empty()) return e;
  }
  return "";
}

std::string CheckQueryResponse(std::string_view input) {
  auto dom = sources::internal::ParseQueryResponseDom(input);
  std::optional<QueryResult> fast = sources::internal::ScanQueryResponse(input);
  auto full = sources::ParseQueryResponse(input);
  if (fast) {
    if (!dom) return "the scanner accepted what the DOM path rejects: " + dom.error().message;
    if (std::string e = CompareResults(*fast, *dom); !e.empty()) {
      return "the scanner and the DOM path differ: " + e;
    }
  }
  if (full.has_value() != dom.has_value()) return "ParseQueryResponse and the DOM path disagree";
  if (!full) {
    const Error& e = full.error();
    if (e.code != dom.error().code || e.message != dom.error().message) {
      return "ParseQueryResponse's error differs from the DOM path's";
    }
    if (e.message.empty()) return "empty error message";
    switch (e.code) {
      case ErrorCode::kBadData:
        if (e.message.size() > kMaxMessageBytes) {
          return "kBadData message of " + std::to_string(e.message.size()) + " bytes";
        }
        return "";
      case ErrorCode::kInvalidArgument:
      case ErrorCode::kDeadlineExceeded:
      case ErrorCode::kUnavailable:
        // Only a Prometheus error envelope yields these; its message is the server's.
        if (e.message.rfind("prometheus error ", 0) != 0) return "unexpected: " + e.message;
        return "";
      default:
        return std::string("undocumented error code ") + ErrorCodeName(e.code);
    }
  }
  if (std::string e = CheckShape(*full); !e.empty()) return e;
  if (std::optional<std::string> written = WriteAnswer(*full)) {
    auto again = sources::ParseQueryResponse(*written);
    if (!again) {
      return "written back, the answer no longer parses: " + again.error().message +
             "\n--- written answer ---\n" + written->substr(0, 2000);
    }
    if (std::string e = CompareResults(*full, *again); !e.empty()) return "round trip: " + e;
  }
  return "";
}

}  // namespace augur::fuzz
