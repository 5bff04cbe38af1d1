// Reads the samples of `augur stats` from JSON: {"x": [...], "y": [...]}.
// Values are JSON numbers, or the strings Prometheus uses for non-finite values ("NaN",
// "+Inf", "-Inf", "Inf"), or null (a missing value, read as NaN); the caller's
// non-finite policy then decides. Anything else is kInvalidArgument naming the field and
// index, or the byte offset of a syntax error.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::cli {

struct Samples {
  std::vector<double> x, y;
};

// `need_y`: whether "y" is required (false for one-sample commands; "y" is then ignored).
Result<Samples> ReadSamples(std::istream& in, bool need_y);

}  // namespace augur::cli
