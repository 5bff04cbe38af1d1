// Durations and instants as users write them in flags, configs and API bodies.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "augur/core/result.h"

namespace augur {

// Milliseconds in a Prometheus-style duration: one or more <integer><unit> terms with units
// ms, s, m, h, d, w, y in decreasing order ("15s", "1m30s", "2h"). Errors name the text.
Result<int64_t> ParseDurationMs(std::string_view text);

// Unix milliseconds from "now", "now-30m", unix seconds ("1795317215.25") or RFC 3339 UTC
// ("2026-11-22T10:00:00Z", fractional seconds allowed).
Result<int64_t> ParseTimeMs(std::string_view text, int64_t now_ms);

// Milliseconds since the Unix epoch on the system clock.
int64_t NowMs();

// RFC 3339 UTC with milliseconds, e.g. "2026-12-02T19:40:00.123Z".
std::string FormatTimeMs(int64_t unix_ms);

}  // namespace augur
