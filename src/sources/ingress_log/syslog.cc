// Syslog framing as HAProxy 2.6 and NGINX 1.22 send it over UDP (shapes recorded from both in
// tests/data/ingress_log/). Lenient where senders differ (hostname and tag optional in RFC
// 3164, "Dec  2" or "Dec 02"), strict where a mistake would shift fields.
#include <cctype>

#include "augur/sources/ingress_log.h"
#include "sources/ingress_log/parse_util.h"

namespace augur::sources {
namespace {

using ingress_log::ParseError;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int TwoDigits(std::string_view s, size_t at) {
  if (at + 2 > s.size() || !IsDigit(s[at]) || !IsDigit(s[at + 1])) return -1;
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// "Mmm dd hh:mm:ss" (dd space- or zero-padded). Only checked: it has no year and no zone.
bool IsRfc3164Timestamp(std::string_view s) {
  if (s.size() != 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') return false;
  const int day = s[4] == ' ' ? (IsDigit(s[5]) ? s[5] - '0' : -1) : TwoDigits(s, 4);
  const int h = TwoDigits(s, 7), m = TwoDigits(s, 10), sec = TwoDigits(s, 13);
  return day >= 1 && day <= 31 && h >= 0 && h <= 23 && m >= 0 && m <= 59 && sec >= 0 && sec <= 60;
}

// "name:" or "name[pid]:"; fills app and pid.
bool SplitTag(std::string_view token, std::string_view* app, std::string_view* pid) {
  if (token.size() < 2 || token.back() != ':') return false;
  token.remove_suffix(1);
  std::string_view name = token, id;
  if (token.back() == ']') {
    const size_t open = token.find('[');
    if (open == std::string_view::npos || open + 2 > token.size() - 1) return false;
    name = token.substr(0, open);
    id = token.substr(open + 1, token.size() - open - 2);
    for (char c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c))) return false;
    }
  }
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != '/') {
      return false;
    }
  }
  *app = name;
  *pid = id;
  return true;
}

std::string_view NextToken(std::string_view* rest) {
  const size_t sp = rest->find(' ');
  std::string_view token = rest->substr(0, sp);
  rest->remove_prefix(sp == std::string_view::npos ? rest->size() : sp + 1);
  return token;
}

Status ParseRfc3164(std::string_view rest, SyslogMessage* out) {
  out->framing = SyslogFraming::kRfc3164;
  if (!IsRfc3164Timestamp(rest.substr(0, 15)) || rest.size() < 16 || rest[15] != ' ') {
    return ParseError("syslog RFC 3164", "malformed timestamp", rest.substr(0, 16));
  }
  rest.remove_prefix(16);
  std::string_view after_first = rest;
  const std::string_view first = NextToken(&after_first);
  if (SplitTag(first, &out->app_name, &out->proc_id)) {
    rest = after_first;
  } else {
    std::string_view after_second = after_first;
    const std::string_view second = NextToken(&after_second);
    if (SplitTag(second, &out->app_name, &out->proc_id)) {
      out->hostname = first;
      rest = after_second;
    }  // else: neither hostname nor tag (HAProxy `format timed`); the message starts here.
  }
  out->message = rest;
  return {};
}

// RFC 3339 as RFC 5424 restricts it: YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm).
std::optional<int64_t> ParseRfc5424Time(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const int y1 = TwoDigits(s, 0), y2 = TwoDigits(s, 2), mo = TwoDigits(s, 5), d = TwoDigits(s, 8);
  const int h = TwoDigits(s, 11), mi = TwoDigits(s, 14), sec = TwoDigits(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
      mi > 59 || sec < 0 || sec > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  int64_t ms = 0;
  if (at < s.size() && s[at] == '.') {
    const size_t start = ++at;
    while (at < s.size() && IsDigit(s[at])) ++at;
    const size_t n = at - start;
    if (n == 0 || n > 6) return std::nullopt;
    for (size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < n ? s[start + i] - '0' : 0);
  }
  int64_t offset_min = 0;
  std::string_view zone = s.substr(at);
  if (zone == "Z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const int zh = TwoDigits(zone, 1), zm = TwoDigits(zone, 4);
    if (zh < 0 || zh > 23 || zm < 0 || zm > 59) return std::nullopt;
    offset_min = (zh * 60 + zm) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  const int64_t days = ingress_log::DaysFromCivil(y1 * 100 + y2, mo, d);
  const int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return seconds * 1000 + ms;
}

// SD-ELEMENTs: "[id param=\"v\" ...]..." where \" \\ \] escape inside values.
bool SkipStructuredData(std::string_view* rest) {
  if (!rest->empty() && (*rest)[0] == '-') {
    rest->remove_prefix(1);
    return true;
  }
  size_t i = 0;
  const std::string_view s = *rest;
  if (s.empty() || s[0] != '[') return false;
  while (i < s.size() && s[i] == '[') {
    bool quoted = false;
    ++i;
    for (; i < s.size(); ++i) {
      if (quoted && s[i] == '\\') {
        ++i;
      } else if (s[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && s[i] == ']') {
        break;
      }
    }
    if (i >= s.size()) return false;
    ++i;  // past ']'
  }
  rest->remove_prefix(i);
  return true;
}

Status ParseRfc5424(std::string_view rest, SyslogMessage* out) {
  out->framing = SyslogFraming::kRfc5424;
  rest.remove_prefix(2);  // "1 "
  const std::string_view header = rest;
  const std::string_view time = NextToken(&rest);
  if (time != "-") {
    out->timestamp_ms = ParseRfc5424Time(time);
    if (!out->timestamp_ms) return ParseError("syslog RFC 5424", "malformed TIMESTAMP", time);
  }
  const std::string_view host = NextToken(&rest);
  const std::string_view app = NextToken(&rest);
  const std::string_view procid = NextToken(&rest);
  const std::string_view msgid = NextToken(&rest);
  if (host.empty() || app.empty() || procid.empty() || msgid.empty() || rest.empty()) {
    return ParseError("syslog RFC 5424", "header cut short or double space in", header);
  }
  if (host != "-") out->hostname = host;
  if (app != "-") out->app_name = app;
  if (procid != "-") out->proc_id = procid;
  if (!SkipStructuredData(&rest)) {
    return ParseError("syslog RFC 5424", "malformed STRUCTURED-DATA", rest);
  }
  if (!rest.empty()) {
    if (rest[0] != ' ') return ParseError("syslog RFC 5424", "no space before MSG", rest);
    rest.remove_prefix(1);
  }
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  out->message = rest;
  return {};
}

}  // namespace

Result<SyslogMessage> ParseSyslogDatagram(std::string_view datagram) {
  while (!datagram.empty() &&
         (datagram.back() == '\n' || datagram.back() == '\r' || datagram.back() == '\0')) {
    datagram.remove_suffix(1);
  }
  SyslogMessage out;
  std::string_view rest = datagram;
  if (!rest.empty() && rest[0] == '<') {
    const size_t close = rest.find('>');
    const std::string_view pri = rest.substr(1, close == std::string_view::npos ? 0 : close - 1);
    const auto value = ingress_log::ParseInt(pri);
    if (close == std::string_view::npos || pri.empty() || pri.size() > 3 || !value || *value < 0 ||
        *value > 191 || (pri.size() > 1 && pri[0] == '0')) {
      return ParseError("syslog", "malformed <PRI>", datagram.substr(0, 8));
    }
    out.facility = static_cast<int>(*value / 8);
    out.severity = static_cast<int>(*value % 8);
    rest.remove_prefix(close + 1);
    Status status;
    if (rest.substr(0, 2) == "1 ") {
      status = ParseRfc5424(rest, &out);
    } else if (rest.size() >= 4 && ingress_log::MonthIndex(rest.substr(0, 3)) >= 0 &&
               rest[3] == ' ') {
      status = ParseRfc3164(rest, &out);
    } else {
      out.framing = SyslogFraming::kShort;
      out.message = rest;
    }
    if (!status) return status.error();
  } else {
    out.message = rest;
  }
  if (out.message.empty()) return BadData("syslog: empty message");
  return out;
}

}  // namespace augur::sources
