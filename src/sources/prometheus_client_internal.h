// The two halves of ParseQueryResponse, exposed so the fuzzer can check that they agree
// (tests/fuzz/). Not for other callers: use ParseQueryResponse.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "augur/sources/prometheus_client.h"

namespace augur::sources::internal {

// The general path: an nlohmann::json DOM. Accepts every valid answer, explains every error.
Result<QueryResult> ParseQueryResponseDom(std::string_view body);

// The fast path: a single-pass scanner for the shape Prometheus emits for matrix and vector
// answers (strings of printable ASCII without escapes, no duplicate keys among those it reads).
// Returns nullopt for anything outside that subset, including every malformed body; when it
// returns a value, that value equals what ParseQueryResponseDom returns.
std::optional<QueryResult> ScanQueryResponse(std::string_view body);

}  // namespace augur::sources::internal
