// HAProxy's `option httplog` line (configuration.txt §8.2.3 of HAProxy 2.6):
//   %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc
//   %sq/%bq %hr %hs %{+Q}r
// The header captures %hr/%hs are absent (no braces) when nothing is captured and may contain
// spaces, so fields are read left to right and the braces are skipped as units. HAProxy encodes
// '"' inside the request as #22, so the first '"' after the opening one closes it; anything
// after it (the extra fields of `option httpslog`) is ignored.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "sources/ingress_log/parse_util.h"

namespace augur::sources::ingress_log {
namespace {

constexpr std::string_view kWhere = "httplog";

class Fields {
 public:
  explicit Fields(std::string_view line) : line_(line), rest_(line) {}

  // The next space-delimited token, or an error naming the field that is missing.
  Result<std::string_view> Next(std::string_view field) {
    if (rest_.empty()) {
      return ParseError(kWhere, "line ends before " + std::string(field) + " in", line_);
    }
    const size_t sp = rest_.find(' ');
    const std::string_view token = rest_.substr(0, sp);
    rest_.remove_prefix(sp == std::string_view::npos ? rest_.size() : sp + 1);
    if (token.empty()) return ParseError(kWhere, "empty " + std::string(field) + " in", line_);
    return token;
  }
  std::string_view rest() const { return rest_; }
  void Skip(size_t n) { rest_.remove_prefix(std::min(n, rest_.size())); }

 private:
  std::string_view line_, rest_;
};

// "a/b/c": exactly `n` integers >= -1; a '+' before the last one sets *plus.
bool ParseSlashed(std::string_view token, size_t n, std::vector<int64_t>* out, bool* plus) {
  out->clear();
  *plus = false;
  while (true) {
    const size_t slash = token.find('/');
    std::string_view part = token.substr(0, slash);
    if (out->size() + 1 == n && slash == std::string_view::npos && !part.empty() &&
        part[0] == '+') {
      *plus = true;
      part.remove_prefix(1);
    }
    const auto value = ParseInt(part);
    if (!value || *value < -1) return false;
    out->push_back(*value);
    if (slash == std::string_view::npos) break;
    token.remove_prefix(slash + 1);
  }
  return out->size() == n;
}

// [dd/Mmm/yyyy:hh:mm:ss] or with .mmm; checked only, since it is local time without a zone.
bool IsAcceptDate(std::string_view s) {
  if (s.size() != 22 && s.size() != 26) return false;
  if (s.front() != '[' || s.back() != ']' || s[3] != '/' || s[7] != '/' || s[12] != ':' ||
      s[15] != ':' || s[18] != ':') {
    return false;
  }
  if (MonthIndex(s.substr(4, 3)) < 0) return false;
  for (size_t i : {1, 2, 8, 9, 10, 11, 13, 14, 16, 17, 19, 20}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  if (s.size() == 26) {
    if (s[21] != '.') return false;
    for (size_t i : {22, 23, 24}) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
  }
  return true;
}

double Timer(int64_t v) { return v < 0 ? -1.0 : static_cast<double>(v); }

}  // namespace

Result<AccessLogEntry> ParseHaproxyHttplog(std::string_view message) {
  // "addr - user [date] ..." is NGINX's/Apache's default; say so rather than "bad field 1".
  if (const size_t sp = message.find(' ');
      sp != std::string_view::npos && message.substr(sp + 1, 2) == "- ") {
    const size_t user_end = message.find(' ', sp + 3);
    if (user_end != std::string_view::npos && message.substr(user_end + 1, 1) == "[") {
      return ParseError(kWhere,
                        "looks like the Common/Combined Log Format, which names no backend or "
                        "server; use the Augur format (augur/sources/ingress_log.h):",
                        message);
    }
  }
  AccessLogEntry e;
  e.format = AccessLogFormat::kHaproxyHttplog;
  Fields f(message);

  auto client = f.Next("field 1 (client_ip:client_port)");
  if (!client) return client.error();
  const size_t colon = client->rfind(':');
  const auto port =
      colon == std::string_view::npos ? std::nullopt : ParseInt(client->substr(colon + 1));
  if (colon == 0 || !port || *port < 0) {
    return ParseError(kWhere, "field 1 is not client_ip:client_port:", *client);
  }
  e.client_address = std::string(client->substr(0, colon));
  e.client_port = static_cast<int>(std::min<int64_t>(*port, 1 << 30));

  auto date = f.Next("field 2 ([accept_date])");
  if (!date) return date.error();
  if (!IsAcceptDate(*date)) {
    return ParseError(kWhere, "field 2 is not [dd/Mmm/yyyy:hh:mm:ss.mmm]:", *date);
  }

  auto frontend = f.Next("field 3 (frontend_name)");
  if (!frontend) return frontend.error();
  e.frontend = std::string(*frontend);

  auto route = f.Next("field 4 (backend_name/server_name)");
  if (!route) return route.error();
  const size_t slash = route->find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == route->size()) {
    return ParseError(kWhere, "field 4 is not backend_name/server_name:", *route);
  }
  e.backend = std::string(route->substr(0, slash));
  e.server = std::string(route->substr(slash + 1));
  if (!IsValidName(e.backend) || !IsValidName(e.server)) {
    return ParseError(kWhere, "field 4 has a non-printable or non-ASCII byte:", *route);
  }

  auto timers = f.Next("field 5 (TR/Tw/Tc/Tr/Ta)");
  if (!timers) return timers.error();
  std::vector<int64_t> t;
  if (!ParseSlashed(*timers, 5, &t, &e.logasap)) {
    bool plus;
    if (ParseSlashed(*timers, 3, &t, &plus)) {
      return ParseError(kWhere,
                        "3 timers: this is `option tcplog`, which is not supported:", *timers);
    }
    return ParseError(kWhere, "field 5 is not TR/Tw/Tc/Tr/Ta (integers, -1 allowed):", *timers);
  }
  e.request_time_ms = Timer(t[0]);
  e.queue_time_ms = Timer(t[1]);
  e.connect_time_ms = Timer(t[2]);
  e.response_time_ms = Timer(t[3]);
  e.total_time_ms = Timer(t[4]);

  auto status = f.Next("field 6 (status_code)");
  if (!status) return status.error();
  const auto st = ParseInt(*status);
  if (!st || *st < -1 || *st > 999) {
    return ParseError(kWhere, "field 6 is not a status code:", *status);
  }
  e.status = static_cast<int>(*st);

  auto bytes = f.Next("field 7 (bytes_read)");
  if (!bytes) return bytes.error();
  std::string_view b = *bytes;
  if (b[0] == '+') {
    e.logasap = true;
    b.remove_prefix(1);
  }
  const auto nbytes = ParseInt(b);
  if (!nbytes || *nbytes < 0) return ParseError(kWhere, "field 7 is not a byte count:", *bytes);
  e.bytes = *nbytes;

  for (std::string_view field :
       {"field 8 (captured_request_cookie)", "field 9 (captured_response_cookie)"}) {
    auto cookie = f.Next(field);
    if (!cookie) return cookie.error();
  }
  auto term = f.Next("field 10 (termination_state)");
  if (!term) return term.error();
  bool term_ok = term->size() >= 2 && term->size() <= 4;
  for (char c : *term)
    term_ok = term_ok && (std::isalpha(static_cast<unsigned char>(c)) || c == '-');
  if (!term_ok) return ParseError(kWhere, "field 10 is not a termination state:", *term);
  e.termination_state = std::string(*term);

  bool plus;
  auto conns = f.Next("field 11 (actconn/feconn/beconn/srv_conn/retries)");
  if (!conns) return conns.error();
  if (!ParseSlashed(*conns, 5, &t, &plus)) {
    return ParseError(kWhere, "field 11 is not actconn/feconn/beconn/srv_conn/retries:", *conns);
  }
  auto queues = f.Next("field 12 (srv_queue/backend_queue)");
  if (!queues) return queues.error();
  if (!ParseSlashed(*queues, 2, &t, &plus)) {
    return ParseError(kWhere, "field 12 is not srv_queue/backend_queue:", *queues);
  }

  for (int capture = 0; capture < 2 && !f.rest().empty() && f.rest()[0] == '{'; ++capture) {
    const size_t close = f.rest().find('}');
    if (close == std::string_view::npos) {
      return ParseError(kWhere, "line ends inside captured headers in", message);
    }
    f.Skip(close + 1);
    if (!f.rest().empty() && f.rest()[0] == ' ') f.Skip(1);
  }
  std::string_view rest = f.rest();
  if (rest.empty())
    return ParseError(kWhere, "line ends before field 16 (http_request) in", message);
  if (rest[0] != '"') return ParseError(kWhere, "field 16 does not start with '\"':", rest);
  rest.remove_prefix(1);
  const size_t close = rest.find('"');
  if (close == std::string_view::npos) {
    e.request_truncated = true;
  } else {
    rest = rest.substr(0, close);
  }
  e.request = std::string(rest);
  if (!rest.empty() && rest[0] != '<') {
    const std::string_view method = rest.substr(0, rest.find(' '));
    bool ok = method.size() <= 32;
    for (char c : method) ok = ok && (std::isalpha(static_cast<unsigned char>(c)) || c == '-');
    if (ok) e.method = std::string(method);
  }
  return e;
}

}  // namespace augur::sources::ingress_log
