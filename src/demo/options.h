// Flags, runtime configuration and the deterministic error schedule of augur-demo-service.
//
// Kept apart from the HTTP code so the parsing rules read in one place. Header-only because the
// demo service is one executable target; everything here is pure and single-threaded (the
// service guards a Behaviour with its own mutex).
#pragma once

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace augur::demo {

// What "/" does; changeable at runtime through POST /admin/config.
struct Behaviour {
  double error_rate = 0.0;         // fraction of requests answered 500, 0..1
  double latency_ms = 0.0;         // mean added latency
  double latency_jitter_ms = 0.0;  // latency is uniform in [latency - jitter, latency + jitter]
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the kernel picks one; the first stdout line tells which
  std::string name = "demo";
  Behaviour behaviour;
  uint64_t seed = 0;
  int threads = 16;
  bool help = false;
};

// The largest latency accepted: beyond a minute a "latency" is a hang, and HAProxy's default
// server timeouts would turn it into 504s anyway.
inline constexpr double kMaxLatencyMs = 60000;

inline constexpr char kUsage[] =
    "usage: augur-demo-service [--listen HOST:PORT] [--name NAME] [--error-rate R]\n"
    "                          [--latency-ms MS] [--latency-jitter-ms MS] [--seed N] [--threads "
    "N]\n"
    "\n"
    "A small HTTP service with a controllable error rate and latency, for canary labs.\n"
    "The first line on stdout is 'listening HOST:PORT' (the bound port when PORT is 0).\n"
    "\n"
    "  --listen HOST:PORT       address to bind (default 127.0.0.1:0)\n"
    "  --name NAME              reported in bodies, the X-Server header and demo_info\n"
    "  --error-rate R           fraction 0..1 of '/' requests answered 500; deterministic:\n"
    "                           of any first n requests exactly floor(n*R) fail (R to 1e-6)\n"
    "  --latency-ms MS          mean latency added to '/' (0..60000)\n"
    "  --latency-jitter-ms MS   uniform jitter +-MS around the mean (at most --latency-ms)\n"
    "  --seed N                 phase of the error schedule and seed of the jitter\n"
    "  --threads N              worker threads (1..1024, default 16)\n"
    "\n"
    "endpoints: GET /  GET /healthz  GET /metrics  GET|POST /admin/config\n"
    "  POST /admin/config {\"error_rate\":0.1,\"latency_ms\":20,\"latency_jitter_ms\":5}\n"
    "  (any subset) changes '/' at once and restarts the error schedule.\n"
    "exit codes: 0 after SIGTERM/SIGINT, 1 when the address cannot be bound, 2 on bad flags\n";

// Parses a whole string as a finite double; std::from_chars ignores the locale.
inline std::optional<double> ParseDouble(std::string_view s) {
  if (s.empty() || s.front() == '+') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

template <typename Int>
std::optional<Int> ParseInt(std::string_view s) {
  Int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Checks one behaviour field; returns an error message naming `what`, or "".
inline std::string CheckBehaviour(const Behaviour& b, const std::string& rate_name,
                                  const std::string& latency_name, const std::string& jitter_name) {
  if (!(b.error_rate >= 0 && b.error_rate <= 1)) {
    return rate_name + " must be between 0 and 1";
  }
  if (!(b.latency_ms >= 0 && b.latency_ms <= kMaxLatencyMs)) {
    return latency_name + " must be between 0 and 60000";
  }
  if (!(b.latency_jitter_ms >= 0 && b.latency_jitter_ms <= b.latency_ms)) {
    // Jitter beyond the mean would have to be clipped at 0 and would shift the mean.
    return jitter_name + " must be between 0 and " + latency_name;
  }
  return "";
}

// Parses argv. On error returns the message (without a program prefix) in `error`.
inline Options ParseFlags(const std::vector<std::string>& args, std::string& error) {
  Options o;
  error.clear();
  std::map<std::string, std::string> seen;
  const std::vector<std::string> known = {
      "listen", "name", "error-rate", "latency-ms", "latency-jitter-ms", "seed", "threads"};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
    if (a.rfind("--", 0) != 0) {
      error = "unexpected argument '" + a + "'";
      return o;
    }
    std::string key = a.substr(2), value;
    const size_t eq = key.find('=');
    bool has_value = false;
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_value = true;
    }
    bool is_known = false;
    for (const auto& k : known) is_known = is_known || k == key;
    if (!is_known) {
      error = "unknown flag --" + key;
      return o;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        error = "--" + key + " needs a value";
        return o;
      }
      value = args[++i];
    }
    if (seen.count(key)) {
      error = "--" + key + " given twice";
      return o;
    }
    seen[key] = value;
  }
  auto get = [&](const char* k) -> const std::string* {
    auto it = seen.find(k);
    return it == seen.end() ? nullptr : &it->second;
  };
  if (const auto* v = get("listen")) {
    const size_t colon = v->rfind(':');
    const auto port = colon == std::string::npos
                          ? std::nullopt
                          : ParseInt<int>(std::string_view(*v).substr(colon + 1));
    if (colon == std::string::npos || colon == 0 || !port || *port < 0 || *port > 65535) {
      error = "--listen must be HOST:PORT with PORT 0..65535, got '" + *v + "'";
      return o;
    }
    o.host = v->substr(0, colon);
    // [::1]:8080 is how an IPv6 address is written with a port; getaddrinfo wants it bare.
    if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') {
      o.host = o.host.substr(1, o.host.size() - 2);
    }
    o.port = *port;
  }
  if (const auto* v = get("name")) {
    if (v->empty() || v->size() > 64) {
      error = "--name must be 1 to 64 characters";
      return o;
    }
    for (unsigned char c : *v) {
      if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') {
        // The name goes into an HTTP header and a label value: keep it to a safe alphabet.
        error = "--name may hold only letters, digits, '-', '_' and '.', got '" + *v + "'";
        return o;
      }
    }
    o.name = *v;
  }
  struct NumFlag {
    const char* name;
    double* out;
  };
  for (auto [flag, out] : {NumFlag{"error-rate", &o.behaviour.error_rate},
                           NumFlag{"latency-ms", &o.behaviour.latency_ms},
                           NumFlag{"latency-jitter-ms", &o.behaviour.latency_jitter_ms}}) {
    if (const auto* v = get(flag)) {
      const auto d = ParseDouble(*v);
      if (!d) {
        error = std::string("--") + flag + " must be a number, got '" + *v + "'";
        return o;
      }
      *out = *d;
    }
  }
  error = CheckBehaviour(o.behaviour, "--error-rate", "--latency-ms", "--latency-jitter-ms");
  if (!error.empty()) return o;
  if (const auto* v = get("seed")) {
    const auto s = ParseInt<uint64_t>(*v);
    if (!s) {
      error = "--seed must be a non-negative integer, got '" + *v + "'";
      return o;
    }
    o.seed = *s;
  }
  if (const auto* v = get("threads")) {
    const auto t = ParseInt<int>(*v);
    if (!t || *t < 1 || *t > 1024) {
      error = "--threads must be an integer 1..1024, got '" + *v + "'";
      return o;
    }
    o.threads = *t;
  }
  return o;
}

// Applies a flat JSON object of numbers, e.g. {"error_rate": 0.1, "latency_ms": 20}, to `b`.
// Only the three Behaviour fields are accepted; anything else (nesting, strings, escapes,
// unknown keys) is an error, since the demo must not depend on a JSON library (see the layering
// table) and this is the whole grammar /admin/config needs.
inline std::string ApplyConfigJson(std::string_view s, Behaviour& b) {
  Behaviour next = b;
  size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto at = [&] { return "at byte " + std::to_string(i); };
  ws();
  if (i >= s.size() || s[i] != '{') return "expected a JSON object " + at();
  ++i;
  ws();
  bool first = true;
  while (i < s.size() && s[i] != '}') {
    if (!first) {
      if (s[i] != ',') return "expected ',' or '}' " + at();
      ++i;
      ws();
    }
    first = false;
    if (i >= s.size() || s[i] != '"') return "expected a quoted key " + at();
    const size_t key_start = ++i;
    while (i < s.size() && s[i] != '"' && s[i] != '\\') ++i;
    if (i >= s.size() || s[i] != '"') return "unterminated or escaped key " + at();
    const std::string key(s.substr(key_start, i - key_start));
    ++i;
    ws();
    if (i >= s.size() || s[i] != ':') return "expected ':' " + at();
    ++i;
    ws();
    const size_t num_start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '-' ||
                            s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
      ++i;
    }
    const auto v = ParseDouble(s.substr(num_start, i - num_start));
    if (!v) return key + " must be a number " + at();
    if (key == "error_rate") {
      next.error_rate = *v;
    } else if (key == "latency_ms") {
      next.latency_ms = *v;
    } else if (key == "latency_jitter_ms") {
      next.latency_jitter_ms = *v;
    } else {
      return "unknown key '" + key + "' (known: error_rate, latency_ms, latency_jitter_ms)";
    }
    ws();
  }
  if (i >= s.size()) return "unterminated object";
  ++i;
  ws();
  if (i != s.size()) return "trailing data " + at();
  std::string err = CheckBehaviour(next, "error_rate", "latency_ms", "latency_jitter_ms");
  if (!err.empty()) return err;
  b = next;
  return "";
}

// Shortest text that reads back as the same double.
inline std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}

// Bresenham-style error schedule: request k (counted from the phase) fails iff
// floor(k*ppm/1e6) > floor((k-1)*ppm/1e6). Failures are spread evenly (one every 1/rate
// requests), so any rate() window sees the configured rate instead of bursts, and any first n
// requests after a (re)start hold exactly floor(n*rate) failures when the phase is 0.
class ErrorSchedule {
 public:
  static constexpr uint64_t kScale = 1000000;

  ErrorSchedule() = default;
  ErrorSchedule(double rate, uint64_t phase)
      : ppm_(static_cast<uint64_t>(std::llround(rate * kScale))), k_(phase % kScale) {}

  // Advances to the next request; true if it must fail.
  bool Next() {
    ++k_;
    // k_ < 2^64 / 1e6 for ~585,000 years at a million requests per second.
    return (k_ * ppm_) / kScale != ((k_ - 1) * ppm_) / kScale;
  }

 private:
  uint64_t ppm_ = 0;
  uint64_t k_ = 0;
};

}  // namespace augur::demo
