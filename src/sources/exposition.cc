// Prometheus text 0.0.4 / OpenMetrics 1.0 parser. See the header for the accepted grammar.
//
// Design: one pass over the body, one line at a time, with a cursor over string_view. Names are
// always verbatim slices of the body (they cannot be escaped), so the family index is keyed by
// string_views into `body` and never copies. The family of the previous sample is checked
// first, because exporters emit families contiguously; the hash map is consulted only when the
// family changes.
#include "augur/sources/exposition.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>

namespace augur::sources {
namespace {

constexpr size_t kNoFamily = std::numeric_limits<size_t>::max();
constexpr size_t kExcerptMax = 40;

// Character classes in one table so the hot loops do one load per byte.
constexpr uint8_t kNameStart = 1;   // [a-zA-Z_:]
constexpr uint8_t kNameChar = 2;    // [a-zA-Z0-9_:]
constexpr uint8_t kLabelStart = 4;  // [a-zA-Z_]
constexpr uint8_t kLabelChar = 8;   // [a-zA-Z0-9_]

constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    uint8_t v = 0;
    if (alpha || c == ':') v |= kNameStart | kNameChar;
    if (digit) v |= kNameChar | kLabelChar;
    if (alpha) v |= kLabelStart | kLabelChar;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClassTable();

inline bool IsBlankOrSpace(char c) { return c == ' ' || c == '\t'; }

inline bool Is(char c, uint8_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }

// Validates UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as Go's utf8.ValidString.
bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* e = p + s.size();
  while (p < e) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else
      return false;
    if (e - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

// Go's ParseFloat accepts a leading '+', from_chars does not; everything else matches closely
// enough (NaN/Inf spellings, exponents). Out-of-range values are errors, as in Prometheus.
bool ParseDouble(std::string_view tok, double* out) {
  const char* b = tok.data();
  const char* e = b + tok.size();
  if (b == e) return false;
  if (*b == '+') {
    ++b;
    if (b == e || *b == '-' || *b == '+') return false;
  }
  auto [ptr, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && ptr == e;
}

bool ParseInt64(std::string_view tok, int64_t* out) {
  const char* b = tok.data();
  const char* e = b + tok.size();
  if (b == e) return false;
  if (*b == '+') {
    ++b;
    if (b == e || *b == '-') return false;
  }
  auto [ptr, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && ptr == e;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Per-family bookkeeping that is not part of the public struct.
struct FamilyState {
  bool has_type = false;
  bool has_help = false;
  bool has_unit = false;
};

class Parser {
 public:
  Parser(std::string_view body, ExpositionFormat format)
      : body_(body), om_(format == ExpositionFormat::kOpenMetrics) {}

  Result<std::vector<MetricFamily>> Run() {
    const char* p = body_.data();
    const char* end = p + body_.size();
    while (p < end) {
      ++line_no_;
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      const char* le = nl != nullptr ? nl : end;
      line_ = std::string_view(p, le - p);
      if (eof_seen_) {
        Fail("text after # EOF");
        return BadData(std::move(error_));
      }
      if (!om_ && !line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
      if (!ParseLine()) return BadData(std::move(error_));
      p = nl != nullptr ? nl + 1 : end;
    }
    if (om_ && !eof_seen_) {
      // Point at the line where "# EOF" was due.
      bool ends_with_newline = !body_.empty() && body_.back() == '\n';
      line_no_ += ends_with_newline || body_.empty() ? 1 : 0;
      line_ = std::string_view();
      Fail("missing # EOF at the end of an OpenMetrics body");
      return BadData(std::move(error_));
    }
    return std::move(families_);
  }

 private:
  // Records "line N: <what> in '<excerpt>'" and returns false so callers can `return Fail(..)`.
  bool Fail(std::string_view what) {
    error_.clear();
    error_.append("line ").append(std::to_string(line_no_)).append(": ").append(what);
    error_.append(" in '");
    size_t n = std::min(line_.size(), kExcerptMax);
    for (size_t i = 0; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(line_[i]);
      // Excerpts end up in logs and HTTP answers: keep them printable ASCII.
      error_.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
    }
    if (line_.size() > kExcerptMax) error_.append("...");
    error_.push_back('\'');
    return false;
  }

  static bool IsBlank(char c) { return c == ' ' || c == '\t'; }

  // 0.0.4 allows runs of spaces/tabs between tokens; OpenMetrics allows none (callers check
  // single spaces explicitly).
  void SkipBlanks(const char*& p, const char* e) const {
    if (om_) return;
    while (p < e && IsBlank(*p)) ++p;
  }

  bool ParseLine() {
    const char* p = line_.data();
    const char* e = p + line_.size();
    if (om_) {
      if (p == e) return Fail("empty line");
    } else {
      while (p < e && IsBlank(*p)) ++p;
      if (p == e) return true;  // blank lines are allowed in 0.0.4
    }
    if (*p == '#') return ParseComment(p, e);
    return ParseSample(p, e);
  }

  // ---- Metadata lines -------------------------------------------------------------------------

  bool ParseComment(const char* p, const char* e) {
    ++p;  // '#'
    std::string_view keyword;
    if (om_) {
      std::string_view rest(p, e - p);
      if (rest == " EOF") {
        eof_seen_ = true;
        return true;
      }
      constexpr std::string_view kNoComments =
          "comments other than # HELP, # TYPE, # UNIT, # EOF are not allowed in OpenMetrics";
      if (rest.size() >= 5 && rest[0] == ' ') keyword = rest.substr(1, 4);
      if (keyword != "HELP" && keyword != "TYPE" && keyword != "UNIT") return Fail(kNoComments);
      if (rest.size() == 5) return Fail("metadata line without a metric name");
      if (rest[5] != ' ') return Fail(kNoComments);
      p += 6;
    } else {
      // Prometheus treats "#" + blanks + HELP/TYPE + blank as metadata and all else as comment.
      const char* q = p;
      while (q < e && IsBlank(*q)) ++q;
      if (q == p) return true;
      const char* k = q;
      while (q < e && !IsBlank(*q)) ++q;
      keyword = std::string_view(k, q - k);
      if (keyword != "HELP" && keyword != "TYPE") return true;  // plain comment
      p = q;
      SkipBlanks(p, e);
    }

    const char* name_begin = p;
    if (p == e || !Is(*p, kNameStart)) {
      return Fail(p == e ? "metadata line without a metric name" : "invalid metric name");
    }
    while (p < e && Is(*p, kNameChar)) ++p;
    std::string_view name(name_begin, p - name_begin);
    std::string_view text;
    if (p < e) {
      if (!IsBlank(*p) || (om_ && *p != ' ')) return Fail("invalid metric name");
      ++p;
      SkipBlanks(p, e);
      text = std::string_view(p, e - p);
    }
    if (!om_ && keyword == "TYPE") {
      while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
    }

    size_t idx = FamilyForMetadata(name);
    MetricFamily& fam = families_[idx];
    FamilyState& st = states_[idx];
    if (keyword == "HELP") {
      if (st.has_help) return Fail("second HELP line for the same metric");
      st.has_help = true;
      return UnescapeHelp(text, &fam.help);
    }
    if (keyword == "TYPE") {
      if (st.has_type) return Fail("second TYPE line for the same metric");
      if (!fam.samples.empty()) return Fail("TYPE line after samples of the metric");
      if (!ParseType(text, &fam.type)) return Fail("invalid metric type");
      st.has_type = true;
      return true;
    }
    // UNIT (OpenMetrics only).
    if (st.has_unit) return Fail("second UNIT line for the same metric");
    if (!fam.samples.empty()) return Fail("UNIT line after samples of the metric");
    for (char c : text) {
      if (!Is(c, kNameChar)) return Fail("invalid unit");
    }
    if (!text.empty() && !(name.size() > text.size() + 1 && EndsWith(name, text) &&
                           name[name.size() - text.size() - 1] == '_')) {
      return Fail("metric name does not end with its unit");
    }
    st.has_unit = true;
    fam.unit.assign(text);
    return true;
  }

  bool ParseType(std::string_view t, MetricType* out) const {
    if (t == "counter")
      *out = MetricType::kCounter;
    else if (t == "gauge")
      *out = MetricType::kGauge;
    else if (t == "histogram")
      *out = MetricType::kHistogram;
    else if (t == "summary")
      *out = MetricType::kSummary;
    else if (!om_ && t == "untyped")
      *out = MetricType::kUntyped;
    else if (om_ && t == "unknown")
      *out = MetricType::kUnknown;
    else if (om_ && t == "gaugehistogram")
      *out = MetricType::kGaugeHistogram;
    else if (om_ && t == "info")
      *out = MetricType::kInfo;
    else if (om_ && t == "stateset")
      *out = MetricType::kStateSet;
    else
      return false;
    return true;
  }

  // 0.0.4 HELP escapes \\ and \n; OpenMetrics also \". Other pairs stay verbatim.
  bool UnescapeHelp(std::string_view text, std::string* out) {
    if (!ValidUtf8(text)) return Fail("HELP text is not valid UTF-8");
    out->clear();
    out->reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        char n = text[i + 1];
        if (n == '\\' || n == 'n' || (om_ && n == '"')) {
          out->push_back(n == 'n' ? '\n' : n);
          ++i;
          continue;
        }
      }
      out->push_back(c);
    }
    return true;
  }

  size_t NewFamily(std::string_view name, MetricType type) {
    size_t idx = families_.size();
    MetricFamily& fam = families_.emplace_back();
    fam.name.assign(name);
    fam.type = type;
    states_.emplace_back();
    index_.emplace(name, idx);
    return idx;
  }

  size_t FamilyForMetadata(std::string_view name) {
    auto it = index_.find(name);
    size_t idx = it != index_.end() ? it->second : NewFamily(name, DefaultType());
    current_ = idx;
    return idx;
  }

  MetricType DefaultType() const { return om_ ? MetricType::kUnknown : MetricType::kUntyped; }

  // Whether a family of `type` owns the series "<family name><suffix>".
  bool Owns(MetricType type, std::string_view suffix) const {
    switch (type) {
      case MetricType::kCounter:
        return om_ ? (suffix == "_total" || suffix == "_created") : suffix.empty();
      case MetricType::kHistogram:
        return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" ||
               suffix == "_created";
      case MetricType::kSummary:
        return suffix.empty() || suffix == "_sum" || suffix == "_count" || suffix == "_created";
      case MetricType::kGaugeHistogram:
        return suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum";
      case MetricType::kInfo:
        return suffix == "_info";
      case MetricType::kGauge:
      case MetricType::kUnknown:
      case MetricType::kUntyped:
      case MetricType::kStateSet:
        return suffix.empty();
    }
    return false;
  }

  bool Fits(size_t idx, std::string_view name) const {
    const std::string& fn = families_[idx].name;
    if (name.size() < fn.size() || name.compare(0, fn.size(), fn) != 0) return false;
    return Owns(families_[idx].type, name.substr(fn.size()));
  }

  // Finds or creates the family of a sample name; kNoFamily after Fail().
  size_t FamilyForSample(std::string_view name) {
    if (current_ != kNoFamily && Fits(current_, name)) return current_;
    auto exact = index_.find(name);
    if (exact != index_.end() && Owns(families_[exact->second].type, {})) {
      return current_ = exact->second;
    }
    static constexpr std::string_view kSuffixes[] = {"_bucket",  "_count",  "_sum",  "_total",
                                                     "_created", "_gcount", "_gsum", "_info"};
    for (std::string_view suffix : kSuffixes) {
      if (!EndsWith(name, suffix)) continue;
      auto base = index_.find(name.substr(0, name.size() - suffix.size()));
      if (base != index_.end() && Owns(families_[base->second].type, suffix)) {
        return current_ = base->second;
      }
    }
    if (exact != index_.end()) {
      std::string msg = "sample does not belong to the ";
      msg += MetricTypeName(families_[exact->second].type);
      msg += " family of the same name";
      Fail(msg);
      return kNoFamily;
    }
    return current_ = NewFamily(name, DefaultType());
  }

  // ---- Sample lines ---------------------------------------------------------------------------

  bool ParseSample(const char* p, const char* e) {
    const char* name_begin = p;
    if (!Is(*p, kNameStart)) return Fail("invalid metric name");
    ++p;
    while (p < e && Is(*p, kNameChar)) ++p;
    std::string_view name(name_begin, p - name_begin);

    labels_.clear();
    // 0.0.4 tolerates blanks between the name and '{'; they also separate name and value.
    const char* brace = p;
    SkipBlanks(brace, e);
    if (brace < e && *brace == '{') {
      p = brace;
      if (!ParseLabels(p, e, &labels_)) return false;
      if (!SortAndCheck(&labels_)) return Fail("duplicate label name");
    }

    // Separator before the value.
    if (p == e) return Fail("missing value");
    if (om_) {
      if (*p != ' ') return Fail("expected a single space before the value");
      ++p;
    } else {
      if (!IsBlank(*p)) return Fail("invalid character after metric name");
      SkipBlanks(p, e);
    }
    if (p == e) return Fail("missing value");

    const char* v = p;
    while (p < e && !IsBlank(*p)) ++p;
    double value;
    if (!ParseDouble(std::string_view(v, p - v), &value)) return Fail("invalid value");

    std::optional<int64_t> ts;
    if (!ParseTail(p, e, &ts)) return false;

    size_t idx = FamilyForSample(name);
    if (idx == kNoFamily) return false;
    Sample& s = families_[idx].samples.emplace_back();
    s.name.assign(name);
    s.labels = std::move(labels_);
    labels_ = {};
    labels_.reserve(s.labels.size());  // the next sample likely has as many labels
    s.value = value;
    s.timestamp_ms = ts;
    return true;
  }

  // Parses what follows the value: [timestamp] and, in OpenMetrics, [exemplar].
  bool ParseTail(const char*& p, const char* e, std::optional<int64_t>* ts) {
    if (!om_) {
      SkipBlanks(p, e);
      if (p == e) return true;
      const char* t = p;
      while (p < e && !IsBlank(*p)) ++p;
      int64_t ms;
      if (!ParseInt64(std::string_view(t, p - t), &ms)) {
        return Fail(*t == '#' ? "exemplars are not allowed in text format 0.0.4"
                              : "invalid timestamp");
      }
      *ts = ms;
      SkipBlanks(p, e);
      if (p != e) return Fail("unexpected text after timestamp");
      return true;
    }
    if (p == e) return true;
    ++p;  // the single ' ' (the value token stopped at a blank; a tab is caught below)
    if (p[-1] != ' ') return Fail("expected a single space after the value");
    if (p < e && *p != '#') {
      const char* t = p;
      while (p < e && *p != ' ') ++p;
      double sec;
      if (!ParseDouble(std::string_view(t, p - t), &sec) || !std::isfinite(sec)) {
        return Fail("invalid timestamp");
      }
      double ms = sec * 1000.0;
      // Keep llround defined: |ms| must fit int64.
      if (!(ms > -9.2e18 && ms < 9.2e18)) return Fail("timestamp out of range");
      *ts = std::llround(ms);
      if (p == e) return true;
      ++p;  // ' '
    }
    if (p == e || *p != '#') return Fail("unexpected text after value");
    return ParseExemplar(p, e);
  }

  // Exemplar: "# {labels} value [timestamp]". Checked for syntax only and then dropped.
  bool ParseExemplar(const char* p, const char* e) {
    ++p;  // '#'
    if (p == e || *p != ' ') return Fail("invalid exemplar");
    ++p;
    if (p == e || *p != '{') return Fail("exemplar without a label set");
    exemplar_labels_.clear();
    if (!ParseLabels(p, e, &exemplar_labels_)) return false;
    if (p == e || *p != ' ') return Fail("exemplar without a value");
    ++p;
    const char* v = p;
    while (p < e && *p != ' ') ++p;
    double value;
    if (!ParseDouble(std::string_view(v, p - v), &value)) return Fail("invalid exemplar value");
    if (p == e) return true;
    ++p;
    const char* t = p;
    while (p < e && *p != ' ') ++p;
    double sec;
    if (!ParseDouble(std::string_view(t, p - t), &sec) || !std::isfinite(sec)) {
      return Fail("invalid exemplar timestamp");
    }
    if (p != e) return Fail("unexpected text after exemplar");
    return true;
  }

  // Parses "{name="value",...}" starting at '{'; leaves p after '}'.
  bool ParseLabels(const char*& p, const char* e,
                   std::vector<std::pair<std::string, std::string>>* out) {
    ++p;  // '{'
    bool after_comma = false;
    for (;;) {
      SkipBlanks(p, e);
      if (p == e) return Fail("unterminated label set");
      if (*p == '}') {
        if (om_ && after_comma) return Fail("trailing comma in label set");
        ++p;
        return true;
      }
      const char* n = p;
      if (!Is(*p, kLabelStart)) return Fail("invalid label name");
      ++p;
      while (p < e && Is(*p, kLabelChar)) ++p;
      std::string_view label(n, p - n);
      SkipBlanks(p, e);
      if (p == e || *p != '=')
        return Fail(p == e ? "unterminated label set" : "expected '=' after label name");
      ++p;
      SkipBlanks(p, e);
      if (p == e || *p != '"')
        return Fail(p == e ? "unterminated label set" : "expected '\"' to open label value");
      ++p;
      auto& kv = out->emplace_back();
      kv.first.assign(label);
      if (!ParseLabelValue(p, e, &kv.second)) return false;
      SkipBlanks(p, e);
      if (p == e) return Fail("unterminated label set");
      if (*p == ',') {
        ++p;
        after_comma = true;
        continue;
      }
      if (*p != '}') return Fail("expected ',' or '}' after label value");
      ++p;
      return true;
    }
  }

  // Parses after the opening quote up to and including the closing quote.
  bool ParseLabelValue(const char*& p, const char* e, std::string* out) {
    const char* b = p;
    unsigned char high = 0;
    const char* q = p;
    while (q < e && *q != '"' && *q != '\\') high |= static_cast<unsigned char>(*q++);
    if (q == e) return Fail("unterminated label value");
    if (*q == '"') {  // fast path: no escapes
      if ((high & 0x80) != 0 && !ValidUtf8(std::string_view(b, q - b))) {
        return Fail("label value is not valid UTF-8");
      }
      out->assign(b, q - b);
      p = q + 1;
      return true;
    }
    out->assign(b, q - b);
    while (q < e) {
      char c = *q;
      if (c == '"') break;
      if (c == '\\') {
        if (q + 1 == e) break;
        char n = q[1];
        if (n == '\\' || n == '"')
          out->push_back(n);
        else if (n == 'n')
          out->push_back('\n');
        else {
          out->push_back('\\');
          out->push_back(n);
        }  // kept verbatim, as Prometheus
        high |= static_cast<unsigned char>(n);
        q += 2;
        continue;
      }
      high |= static_cast<unsigned char>(c);
      out->push_back(c);
      ++q;
    }
    if (q >= e || *q != '"') return Fail("unterminated label value");
    if ((high & 0x80) != 0 && !ValidUtf8(*out)) return Fail("label value is not valid UTF-8");
    p = q + 1;
    return true;
  }

  // Sorts by name (insertion sort: label sets are small and often already sorted) and reports
  // duplicates; std::sort bounds the cost of hostile lines with thousands of labels.
  static bool SortAndCheck(std::vector<std::pair<std::string, std::string>>* labels) {
    auto& v = *labels;
    auto by_name = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (v.size() <= 16) {
      for (size_t i = 1; i < v.size(); ++i) {
        if (!(v[i].first < v[i - 1].first)) continue;
        auto tmp = std::move(v[i]);
        size_t j = i;
        for (; j > 0 && tmp.first < v[j - 1].first; --j) v[j] = std::move(v[j - 1]);
        v[j] = std::move(tmp);
      }
    } else {
      std::sort(v.begin(), v.end(), by_name);
    }
    for (size_t i = 1; i < v.size(); ++i) {
      if (v[i].first == v[i - 1].first) return false;
    }
    return true;
  }

  std::string_view body_;
  bool om_;
  size_t line_no_ = 0;
  std::string_view line_;
  std::string error_;
  bool eof_seen_ = false;
  std::vector<MetricFamily> families_;
  std::vector<FamilyState> states_;                     // parallel to families_
  std::unordered_map<std::string_view, size_t> index_;  // family name (a slice of body_) -> index
  size_t current_ = kNoFamily;
  std::vector<std::pair<std::string, std::string>> labels_;
  std::vector<std::pair<std::string, std::string>> exemplar_labels_;  // reused scratch
};

}  // namespace

Result<std::vector<MetricFamily>> ParseExposition(std::string_view body, ExpositionFormat format) {
  return Parser(body, format).Run();
}

ExpositionFormat FormatFromContentType(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && IsBlankOrSpace(media.front())) media.remove_prefix(1);
  while (!media.empty() && IsBlankOrSpace(media.back())) media.remove_suffix(1);
  constexpr std::string_view kOm = "application/openmetrics-text";
  if (media.size() != kOm.size()) return ExpositionFormat::kText004;
  for (size_t i = 0; i < kOm.size(); ++i) {
    char c = media[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kOm[i]) return ExpositionFormat::kText004;
  }
  return ExpositionFormat::kOpenMetrics;
}

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kUnknown:
      return "unknown";
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
    case MetricType::kGaugeHistogram:
      return "gaugehistogram";
    case MetricType::kInfo:
      return "info";
    case MetricType::kStateSet:
      return "stateset";
  }
  return "unknown";
}

}  // namespace augur::sources
