// Shared vocabulary of the two-sample tests: the alternative hypothesis and the policy for
// values that are not finite numbers.
//
// Every test in augur/stats takes samples as std::span<const double> and never modifies or
// keeps them. All functions are pure and thread-safe.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::stats {

// Which departure from "x and y come from the same distribution" the test looks for.
// kGreater: x tends to be larger than y (R's "greater"); kLess: x tends to be smaller.
enum class Alternative { kTwoSided, kLess, kGreater };

// "two-sided" (also R's "two.sided"), "less", "greater"; anything else is kInvalidArgument.
Result<Alternative> ParseAlternative(std::string_view text);
const char* AlternativeName(Alternative alternative);  // "two-sided", "less", "greater"

// What to do with NaN, +Inf and -Inf in a sample.
//   kReject (the default everywhere): kInvalidArgument naming the sample and the index.
//   kDrop: remove them all. (R drops NaN/NA but keeps +-Inf in its rank tests; Augur drops
//          infinities too, since the Hodges-Lehmann differences of infinities are undefined.)
// A sample that is empty after dropping is still an error.
enum class NonFinitePolicy { kReject, kDrop };

Result<NonFinitePolicy> ParseNonFinitePolicy(std::string_view text);  // "reject" | "drop"

// Applies `policy` to `values` and checks the sample is not empty. `name` ("x", "y") is used
// in error messages, e.g. "sample x: value at index 3 is NaN".
Result<std::vector<double>> CleanSample(std::span<const double> values, std::string_view name,
                                        NonFinitePolicy policy);

// True when no value is NaN or infinite. One branch-free pass (vectorised), for the common
// clean sample; callers look for the offending index only when this is false.
bool AllFinite(std::span<const double> values);

// Like CleanSample but returns an empty optional-like success when nothing had to be removed,
// so callers can avoid a copy of large clean inputs. On success, `*storage` holds the cleaned
// copy if one was needed and the returned span points into either `values` or `*storage`.
Result<std::span<const double>> CheckSample(std::span<const double> values, std::string_view name,
                                            NonFinitePolicy policy, std::vector<double>* storage);

// Confidence levels must lie strictly between 0 and 1.
Status CheckConfLevel(double conf_level);

}  // namespace augur::stats
