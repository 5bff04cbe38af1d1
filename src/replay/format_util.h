// Small formatting helpers shared by the text and HTML renderings.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace augur::replay {

// "+5m", "+1h05m", "+30s", "-2m": a duration relative to a release's start.
inline std::string RelTime(int64_t ms) {
  const char* sign = ms < 0 ? "-" : "+";
  int64_t s = (ms < 0 ? -ms : ms) / 1000;
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%s%lldh%02lldm", sign, static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  } else if (s % 60 == 0) {
    std::snprintf(buf, sizeof buf, "%s%lldm", sign, static_cast<long long>(s / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%s%lldm%02llds", sign, static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%s%llds", sign, static_cast<long long>(s));
  }
  return buf;
}

// A duration without the sign of RelTime ("3m", "1h05m").
inline std::string Dur(int64_t ms) {
  std::string s = RelTime(ms);
  return s[0] == '+' ? s.substr(1) : s;
}

inline std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

}  // namespace augur::replay
