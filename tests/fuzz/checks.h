// Invariants of the exposition and query-response parsers, checked on arbitrary input.
//
// Shared by the libFuzzer targets (built with clang, see CMakeLists.txt here) and by
// augur_fuzz_corpus_test, which replays the seed corpus and the regression inputs through the
// same checks in the normal g++ build.
//
// Beyond "no crash" (the sanitizers' job), each check asks what the headers promise:
//   exposition      - errors are kBadData with a printable "line N: ..." message; on success
//                     names are valid, each sample belongs to its family by the suffix rules,
//                     labels are sorted and unique, text is valid UTF-8; and writing the result
//                     back out in the same format and parsing it again gives the same families.
//   query response  - the fast scanner, when it accepts a body, agrees exactly with the
//                     nlohmann DOM path; errors have the documented codes and bounded
//                     messages; results have the promised shape (sorted unique labels, one
//                     point per vector series, strictly ascending matrix timestamps); and
//                     serialising the result as a Prometheus answer and parsing it again
//                     gives the same result.
#pragma once

#include <string>
#include <string_view>

namespace augur::fuzz {

// Each returns "" when every invariant holds, else a description of the first violation.
std::string CheckExposition(std::string_view input);
std::string CheckQueryResponse(std::string_view input);

}  // namespace augur::fuzz
