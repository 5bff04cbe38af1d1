// The Augur access-log format (both encodings) and the format dispatcher. The schema is
// documented in augur/sources/ingress_log.h; the JSON reader is a small flat-object scanner
// because a record is one level deep and this part links no JSON library.
#include <cmath>
#include <string>
#include <vector>

#include "augur/sources/ingress_log.h"
#include "sources/ingress_log/parse_util.h"

namespace augur::sources {
namespace ingress_log {
namespace {

constexpr size_t kMaxFields = 64;

bool IsUnknown(const AugurField& f) { return f.is_null || f.value.empty() || f.value == "-"; }

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  Result<std::vector<AugurField>> ReadObject() {
    std::vector<AugurField> fields;
    fields.reserve(16);
    SkipSpace();
    if (!Eat('{')) return Fail("expected '{' at");
    SkipSpace();
    if (Eat('}')) return Finish(std::move(fields));
    while (true) {
      if (fields.size() == kMaxFields) return Fail("more than 64 keys at");
      AugurField field;
      SkipSpace();
      auto key = ReadString();
      if (!key) return key.error();
      field.key = std::move(*key);
      SkipSpace();
      if (!Eat(':')) return Fail("expected ':' at");
      SkipSpace();
      if (i_ >= s_.size()) return Fail("object ends early at");
      const char c = s_[i_];
      if (c == '"') {
        auto value = ReadString();
        if (!value) return value.error();
        field.value = std::move(*value);
      } else if (c == '{' || c == '[') {
        return Fail("nested value (only a flat object is accepted) at");
      } else if (s_.compare(i_, 4, "null") == 0) {
        i_ += 4;
        field.is_null = true;
      } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 5, "false") == 0) {
        field.value = c == 't' ? "true" : "false";
        i_ += field.value.size();
      } else {
        auto number = ReadNumber();
        if (!number) return number.error();
        field.value = std::string(*number);
      }
      fields.push_back(std::move(field));
      SkipSpace();
      if (Eat(',')) continue;
      if (Eat('}')) return Finish(std::move(fields));
      return Fail("expected ',' or '}' at");
    }
  }

 private:
  Result<std::vector<AugurField>> Finish(std::vector<AugurField> fields) {
    SkipSpace();
    if (i_ != s_.size()) return Fail("text after the object:");
    return fields;
  }
  Error Fail(std::string_view what) const { return ParseError("augur json", what, s_.substr(i_)); }
  void SkipSpace() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  Result<std::string_view> ReadNumber() {
    const size_t start = i_;
    auto digits = [&] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    Eat('-');
    const size_t int_start = i_;
    const size_t n = digits();
    if (n == 0 || (n > 1 && s_[int_start] == '0')) return Fail("malformed number at");
    if (Eat('.') && digits() == 0) return Fail("malformed number at");
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (digits() == 0) return Fail("malformed number at");
    }
    return s_.substr(start, i_ - start);
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool ReadHex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    *out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      *out <<= 4;
      if (c >= '0' && c <= '9') {
        *out |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        *out |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        *out |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    return true;
  }

  // Bytes >= 0x80 pass through unchanged: NGINX's escape=json does not validate UTF-8.
  Result<std::string> ReadString() {
    if (!Eat('"')) return Fail("expected '\"' at");
    std::string out;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) return Fail("control character in a string at");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++i_;
        continue;
      }
      if (++i_ >= s_.size()) break;
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!ReadHex4(&cp)) return Fail("malformed \\u escape at");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low;
            if (!Eat('\\') || !Eat('u') || !ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Fail("unpaired UTF-16 surrogate at");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired UTF-16 surrogate at");
          }
          AppendUtf8(cp, &out);
          break;
        }
        default:
          --i_;
          return Fail("unknown escape at");
      }
    }
    return Fail("string not closed at");
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<AccessLogEntry> BuildAugurEntry(const std::vector<AugurField>& fields,
                                       AccessLogFormat format) {
  const std::string where =
      format == AccessLogFormat::kAugurJson ? "augur json" : "augur key=value";
  if (fields.size() > kMaxFields) return BadData(where + ": more than 64 keys");
  auto find = [&](std::string_view key) -> const AugurField* {
    for (const AugurField& f : fields) {
      if (f.key == key) return &f;
    }
    return nullptr;
  };
  for (size_t i = 0; i < fields.size(); ++i) {  // at most 64 keys: quadratic is cheapest
    for (size_t j = 0; j < i; ++j) {
      if (fields[i].key == fields[j].key) return ParseError(where, "repeated key", fields[i].key);
    }
  }
  // Unknown keys are allowed (later versions may add some), repeated ones never: which of two
  // values would be meant is exactly the ambiguity this format exists to avoid.

  const AugurField* version = find("augur");
  if (version == nullptr) return BadData(where + ": no 'augur' version key");
  if (version->value != "1") {
    return ParseError(where, "unsupported format version (this reader knows 1):", version->value);
  }

  AccessLogEntry e;
  e.format = format;
  for (auto [key, target] : {std::pair{"be", &e.backend}, std::pair{"srv", &e.server}}) {
    const AugurField* f = find(key);
    if (f == nullptr) return BadData(where + ": missing required key '" + key + "'");
    *target = IsUnknown(*f) ? "-" : std::string(LastListEntry(f->value));
    if (!IsValidName(*target)) {
      return ParseError(where,
                        std::string("'") + key + "' is not a printable ASCII name:", f->value);
    }
  }

  const AugurField* st = find("st");
  if (st == nullptr) return BadData(where + ": missing required key 'st'");
  const auto status = st->is_null ? std::nullopt : ParseInt(st->value);
  if (!status || *status < -1 || *status > 999) {
    return ParseError(where, "'st' is not a status code:", st->value);
  }
  e.status = static_cast<int>(*status);

  // One time in either unit; lists (NGINX retries) count by their last entry.
  auto time = [&](const char* ms_key, const char* s_key, double* out) -> Status {
    const AugurField* ms = find(ms_key);
    const AugurField* s = find(s_key);
    if (ms != nullptr && s != nullptr) {
      return BadData(where + ": both '" + ms_key + "' and '" + s_key + "'");
    }
    const AugurField* f = ms != nullptr ? ms : s;
    if (f == nullptr || IsUnknown(*f)) return {};
    std::string_view v = LastListEntry(f->value);
    if (v == "-") return {};
    if (!v.empty() && v[0] == '+') {
      e.logasap = true;
      v.remove_prefix(1);
    }
    const auto value = ParseScaledDecimal(v, f == ms ? 0 : 3);
    if (!value || (*value < 0 && *value != -1)) {
      return ParseError(where, "'" + f->key + "' is not a duration:", f->value);
    }
    *out = *value;
    return {};
  };
  if (auto s = time("ta_ms", "ta_s", &e.total_time_ms); !s) return s.error();
  if (auto s = time("tr_ms", "tr_s", &e.response_time_ms); !s) return s.error();

  if (const AugurField* f = find("bytes"); f != nullptr && !IsUnknown(*f)) {
    std::string_view v = f->value;
    if (v[0] == '+') {
      e.logasap = true;
      v.remove_prefix(1);
    }
    const auto bytes = ParseInt(v);
    if (!bytes || *bytes < 0) return ParseError(where, "'bytes' is not a byte count:", f->value);
    e.bytes = *bytes;
  }

  const AugurField* ts = find("ts");
  const AugurField* te = find("te");
  if (ts != nullptr && te != nullptr) return BadData(where + ": both 'ts' and 'te'");
  if (const AugurField* f = ts != nullptr ? ts : te; f != nullptr && !IsUnknown(*f)) {
    const auto ms = ParseUnixSecondsToMs(f->value);
    if (!ms) return ParseError(where, "'" + f->key + "' is not Unix seconds:", f->value);
    e.start_ms = *ms;
    if (f == te && e.total_time_ms > 0) *e.start_ms -= std::llround(e.total_time_ms);
  }

  for (auto [key, target] : {std::pair{"fe", &e.frontend}, std::pair{"term", &e.termination_state},
                             std::pair{"meth", &e.method}}) {
    const AugurField* f = find(key);
    if (f == nullptr || IsUnknown(*f)) continue;
    if (!IsValidName(f->value)) {
      return ParseError(where,
                        std::string("'") + key + "' is not a printable ASCII name:", f->value);
    }
    *target = f->value;
  }
  return e;
}

Result<AccessLogEntry> ParseAugurKeyValue(std::string_view message) {
  std::vector<AugurField> fields;
  fields.reserve(16);
  while (!message.empty()) {
    const size_t sp = message.find(' ');
    const std::string_view token = message.substr(0, sp);
    message.remove_prefix(sp == std::string_view::npos ? message.size() : sp + 1);
    if (token.empty()) continue;
    const size_t eq = token.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return ParseError(
          "augur key=value",
          "token is not key=value (a value with a space needs the JSON encoding):", token);
    }
    if (fields.size() == kMaxFields) return BadData("augur key=value: more than 64 keys");
    fields.push_back({std::string(token.substr(0, eq)), std::string(token.substr(eq + 1))});
  }
  return BuildAugurEntry(fields, AccessLogFormat::kAugurKeyValue);
}

Result<AccessLogEntry> ParseAugurJson(std::string_view message) {
  auto fields = JsonReader(message).ReadObject();
  if (!fields) return fields.error();
  return BuildAugurEntry(*fields, AccessLogFormat::kAugurJson);
}

}  // namespace ingress_log

Result<AccessLogEntry> ParseAccessLogMessage(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  if (message.empty()) return BadData("access log: empty message");
  if (message[0] == '{') return ingress_log::ParseAugurJson(message);
  if (message.substr(0, 6) == "augur=") return ingress_log::ParseAugurKeyValue(message);
  return ingress_log::ParseHaproxyHttplog(message);
}

Result<AccessLogEntry> ParseAccessLogDatagram(std::string_view datagram) {
  auto syslog = ParseSyslogDatagram(datagram);
  if (!syslog) return syslog.error();
  return ParseAccessLogMessage(syslog->message);
}

}  // namespace augur::sources
