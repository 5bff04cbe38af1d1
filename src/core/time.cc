#include "augur/core/time.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace augur {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<int64_t> ParseDurationMs(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return InvalidArgument("empty duration (use e.g. 30s, 5m, 1h30m)");
  // Units in the only order Prometheus accepts them, largest first.
  static constexpr struct {
    const char* name;
    int64_t ms;
  } kUnits[] = {{"y", 31536000000}, {"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                {"m", 60000},       {"s", 1000},      {"ms", 1}};
  int64_t total = 0;
  size_t next_unit = 0, i = 0;
  while (i < text.size()) {
    size_t j = i;
    int64_t n = 0;
    while (j < text.size() && IsDigit(text[j])) {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return InvalidArgument("duration " + quoted + " is too large");
      }
      n = n * 10 + (text[j] - '0');
      ++j;
    }
    if (j == i) return InvalidArgument("bad duration " + quoted + " (use e.g. 30s, 5m, 1h30m)");
    size_t k = j;
    while (k < text.size() && !IsDigit(text[k])) ++k;
    const std::string_view unit = text.substr(j, k - j);
    size_t u = next_unit;
    while (u < std::size(kUnits) && unit != kUnits[u].name) ++u;
    if (u == std::size(kUnits)) {
      return InvalidArgument("bad duration " + quoted +
                             ": units are y, w, d, h, m, s, ms, largest first");
    }
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].ms - total / kUnits[u].ms) {
      return InvalidArgument("duration " + quoted + " is too large");
    }
    total += n * kUnits[u].ms;
    next_unit = u + 1;
    i = k;
  }
  return total;
}

Result<int64_t> ParseTimeMs(std::string_view text, int64_t now_ms) {
  const std::string s(text);
  if (s == "now") return now_ms;
  if (s.rfind("now-", 0) == 0) {
    auto d = ParseDurationMs(s.substr(4));
    if (!d) return d.error();
    return now_ms - *d;
  }
  const auto bad = [&] {
    return InvalidArgument("cannot read time '" + s +
                           "' (use now, now-30m, unix seconds or 2026-11-22T10:00:00Z)");
  };
  if (!s.empty() && (IsDigit(s[0]) || s[0] == '.') && s.find('-') == std::string::npos) {
    char* end = nullptr;
    const double secs = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(secs) || secs < 0 || secs > 1e11) {
      return bad();
    }
    return static_cast<int64_t>(std::llround(secs * 1000));
  }
  int year, month, day, hour, minute, consumed = 0;
  double second;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return bad();
  }
  if (s.substr(static_cast<size_t>(consumed)) != "Z") {
    return InvalidArgument("time '" + s + "' must be UTC, ending in Z");
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      !(second >= 0 && second < 61)) {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + std::llround(second * 1000);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatTimeMs(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace augur
