// Reading a provider's flattened settings (RouterConfig::settings) with errors that name the
// field and the value ("router.haproxy.timeout: must be an integer in [1, 600000], got 'abc'"),
// and rejecting keys no provider reads (a typo would otherwise silently fall back to a default).
//
// Thread-safety: a Settings is used by one factory call on one thread.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/routers/router.h"

namespace augur::routers::internal {

// The closest of `candidates` to `word` within a small edit distance, for "did you mean".
std::optional<std::string> DidYouMean(const std::string& word,
                                      const std::vector<std::string>& candidates);

class Settings {
 public:
  explicit Settings(const RouterConfig& config) : config_(config) {}

  // "router.<kind>.<key>", the prefix of every message about that key.
  std::string Field(const std::string& key) const { return "router." + config_.kind + "." + key; }
  Error Invalid(const std::string& key, const std::string& problem) const {
    return InvalidArgument(Field(key) + ": " + problem);
  }

  // The value, or `fallback` when the key is absent. An empty value counts as absent.
  std::string String(const std::string& key, const std::string& fallback);
  // kInvalidArgument "router.<kind>.<key>: required" when absent or empty.
  Result<std::string> Required(const std::string& key);
  // A base-10 integer in [min, max].
  Result<int> Int(const std::string& key, int fallback, int min, int max);
  // "true" or "false" (case-insensitive).
  Result<bool> Bool(const std::string& key, bool fallback);
  bool Has(const std::string& key) const;

  // kInvalidArgument naming the first key that no getter asked for, with a suggestion among
  // the keys that were asked for.
  Status RejectUnknown() const;

  const RouterConfig& config() const { return config_; }

 private:
  const RouterConfig& config_;
  std::set<std::string> known_;
};

// kInvalidArgument unless 0 <= primary, canary <= 100 and primary + canary == 100.
Status ValidateWeights(const Weights& w, const std::string& kind);

// Percentages from two relative shares (weights of any scale), the canary's rounded to the
// nearest percent. kBadData naming `where` when both are 0 (no backend gets traffic).
Result<Weights> WeightsFromShares(long primary, long canary, const std::string& where);

// "primary 90 / canary 10" (+ " / mirror"), for messages.
std::string Describe(const Weights& w);

}  // namespace augur::routers::internal
