// Helpers shared by the ingress-log parsers: strict number scanning and safe quoting of
// untrusted text in error messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "augur/core/result.h"
#include "augur/sources/ingress_log.h"

namespace augur::sources::ingress_log {

// `text` in single quotes, bytes outside printable ASCII as \xNN, cut after 64 input bytes, so
// an error message is always one short printable line whatever the datagram held.
std::string Quote(std::string_view text);

// BadData("<where>: <what> <Quote(text)>").
Error ParseError(std::string_view where, std::string_view what, std::string_view text);

// Strict decimal integer: optional '-', digits only, no overflow. Leading '+' is not accepted
// here (callers that allow HAProxy's logasap '+' strip it first).
std::optional<int64_t> ParseInt(std::string_view text);

// Decimal number "123", "0.056", "-1" (no exponent) times 10^shift (shift 0..3), exact when
// the result is an integer (seconds "0.005" with shift 3 gives exactly 5.0 ms).
std::optional<double> ParseScaledDecimal(std::string_view text, int shift);

// Same for Unix seconds with a fraction, as integer milliseconds (extra digits truncated).
std::optional<int64_t> ParseUnixSecondsToMs(std::string_view text);

// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// A backend or server name: 1..255 bytes of printable ASCII without space, '"' or '\\', so it
// is safe as a key, in a log line and in JSON output.
bool IsValidName(std::string_view name);

// Index (0-11) of an English month abbreviation, -1 if none.
int MonthIndex(std::string_view abbrev);

// The last entry of an NGINX upstream list "a, b : c" (entries split by ", " and " : ").
std::string_view LastListEntry(std::string_view text);

// Records in Augur format as key/value pairs, values already unescaped.
struct AugurField {
  std::string key;
  std::string value;
  bool is_null = false;  // JSON null
};

// Builds an entry from the fields of an Augur record (both encodings), checking the schema in
// the header's "Augur format" section.
Result<AccessLogEntry> BuildAugurEntry(const std::vector<AugurField>& fields,
                                       AccessLogFormat format);

Result<AccessLogEntry> ParseHaproxyHttplog(std::string_view message);
Result<AccessLogEntry> ParseAugurKeyValue(std::string_view message);
Result<AccessLogEntry> ParseAugurJson(std::string_view message);

}  // namespace augur::sources::ingress_log
