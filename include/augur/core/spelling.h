// "Did you mean ...?" for every place that rejects a name (flags, commands, config keys,
// provider kinds), so a typo gets one kind of help everywhere, as in ninja's spellcheck.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace augur {

// Levenshtein distance (insert, delete, substitute), optionally ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b, bool ignore_case = false);

// The candidate closest to `word` if it is at most `max_distance` edits away (the first of
// equally close ones), else nullopt.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        size_t max_distance, bool ignore_case = false);

}  // namespace augur
