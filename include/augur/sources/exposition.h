// Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text, used by
// Augur's embedded scraper (issue #4).
//
// The parser turns one scraped page into metric families. It is a hand-written single-pass
// scanner: work is linear in the page size (a line with k labels costs O(k log k)), it never
// reads outside `body`, and every malformed input yields ErrorCode::kBadData with a message of
// the form "line 17: unterminated label value in 'haproxy_server_...'".
//
// Strictness choices (follow what Prometheus 2.42's own scrape parsers accept, so a page that
// Prometheus scrapes also scrapes here, and a page Prometheus rejects is rejected here):
//   Both formats
//   - Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*. The newer
//     quoted UTF-8 names ({"my.metric"}) are rejected.
//   - Label values: \\, \" and \n are unescaped; any other backslash pair is kept verbatim (as
//     Prometheus's lexer does). Label values and HELP text must be valid UTF-8.
//   - Duplicate label names within one sample are an error. Labels are returned sorted by name.
//   - Values go through std::from_chars: decimal and scientific notation, NaN, +Inf, -Inf
//     (case-insensitive, like Go's ParseFloat), and a leading '+'. Hex floats and values that
//     overflow double ("1e999") are rejected.
//   - # TYPE names a type of the format (lower case only). A second # TYPE/# HELP/# UNIT for
//     one family, or # TYPE/# UNIT after the family's samples, is an error (as in Go's expfmt).
//   - Samples are grouped by name: a histogram "x" owns x_bucket, x_sum, x_count, x_created; a
//     summary owns x, x_sum, x_count, x_created; a gaugehistogram x_bucket, x_gcount, x_gsum;
//     an OpenMetrics counter x_total and x_created; an info x_info. A sample that fits no
//     declared family starts a family of its own (kUntyped in 0.0.4, kUnknown in OpenMetrics).
//     Non-contiguous samples of one family are merged (lenient: Prometheus does not check).
//     A sample whose exact name is a declared family that does not own it (e.g. a bare "x"
//     under "# TYPE x histogram", or "x" under an OpenMetrics counter "x") is an error.
//   - Not checked (left to consumers, Prometheus's parsers do not check either): bucket order,
//     presence of le="+Inf", canonical le/quantile rendering, duplicate series.
//   Text 0.0.4 (lenient, like Prometheus's promparse)
//   - CRLF line ends, blank lines, leading whitespace, runs of spaces/tabs between tokens and
//     inside {}, a trailing comma in the label set, a missing final newline, and comments
//     other than # HELP/# TYPE (including # UNIT and # EOF, which are plain comments here).
//   - Timestamps are integer milliseconds. " # " exemplars are not part of 0.0.4: an error.
//   - HELP text unescapes \\ and \n only.
//   OpenMetrics 1.0 (strict, as the spec's ABNF)
//   - Single spaces between tokens, no whitespace inside {}, no trailing comma, no blank lines,
//     no CR, no comments other than # HELP/# TYPE/# UNIT/# EOF.
//   - The body must end with "# EOF" (optionally followed by one "\n"); anything after it, or
//     its absence, is an error.
//   - Timestamps are float seconds, converted to milliseconds (rounded to nearest).
//   - Exemplars (" # {labels} value [timestamp]") are syntax-checked and discarded.
//   - # UNIT u requires the family name to end in "_u".
//
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "augur/core/result.h"

namespace augur::sources {

struct Sample {
  std::string name;                                         // full series name, e.g. "x_bucket"
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, names unique
  double value = 0.0;
  std::optional<int64_t> timestamp_ms;  // as exposed; absent means "scrape time"
};

enum class MetricType {
  kUnknown,  // OpenMetrics "unknown", also a family without # TYPE in OpenMetrics
  kCounter,
  kGauge,
  kHistogram,
  kSummary,
  kUntyped,  // 0.0.4 "untyped", also a family without # TYPE in 0.0.4
  kGaugeHistogram,
  kInfo,
  kStateSet,
};

struct MetricFamily {
  std::string name;  // family name, without _bucket/_sum/_count/_total/... suffixes
  MetricType type = MetricType::kUntyped;
  std::string help;             // unescaped
  std::string unit;             // OpenMetrics # UNIT, empty otherwise
  std::vector<Sample> samples;  // in page order
};

enum class ExpositionFormat { kText004, kOpenMetrics };

// Parses a whole scraped page. Families are returned in order of first appearance (of their
// metadata or first sample). Errors: kBadData naming the line number and an excerpt.
Result<std::vector<MetricFamily>> ParseExposition(std::string_view body, ExpositionFormat format);

// Maps a Content-Type header to a format: "application/openmetrics-text" (any parameters,
// case-insensitive) is OpenMetrics; anything else, including an empty or unknown type, is
// 0.0.4 text, the fallback Prometheus itself uses.
ExpositionFormat FormatFromContentType(std::string_view content_type);

// The exposition keyword of a type ("counter", "gaugehistogram", ...), for messages and tests.
const char* MetricTypeName(MetricType type);

}  // namespace augur::sources
