#include "routers/settings.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "augur/core/spelling.h"

namespace augur::routers::internal {
std::optional<std::string> DidYouMean(const std::string& word,
                                      const std::vector<std::string>& candidates) {
  // Like ninja's spellcheck: a third of the word's length, at least 1 and at most 3 edits.
  return ClosestMatch(word, candidates, std::clamp<size_t>(word.size() / 3, 1, 3),
                      /*ignore_case=*/true);
}

bool Settings::Has(const std::string& key) const {
  auto it = config_.settings.find(key);
  return it != config_.settings.end() && !it->second.empty();
}

std::string Settings::String(const std::string& key, const std::string& fallback) {
  known_.insert(key);
  auto it = config_.settings.find(key);
  return it == config_.settings.end() || it->second.empty() ? fallback : it->second;
}

Result<std::string> Settings::Required(const std::string& key) {
  known_.insert(key);
  if (!Has(key)) return Invalid(key, "required");
  return config_.settings.at(key);
}

Result<int> Settings::Int(const std::string& key, int fallback, int min, int max) {
  known_.insert(key);
  if (!Has(key)) return fallback;
  const std::string& v = config_.settings.at(key);
  errno = 0;
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0' || n < min || n > max) {
    return Invalid(key, "must be an integer in [" + std::to_string(min) + ", " +
                            std::to_string(max) + "], got '" + v + "'");
  }
  return static_cast<int>(n);
}

Result<bool> Settings::Bool(const std::string& key, bool fallback) {
  known_.insert(key);
  if (!Has(key)) return fallback;
  std::string v = config_.settings.at(key);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true") return true;
  if (v == "false") return false;
  return Invalid(key, "must be true or false, got '" + config_.settings.at(key) + "'");
}

Status Settings::RejectUnknown() const {
  for (const auto& [key, value] : config_.settings) {
    if (known_.count(key)) continue;
    std::string msg = "unknown setting (value '" + value + "')";
    if (auto s = DidYouMean(key, {known_.begin(), known_.end()})) {
      msg += "; did you mean '" + *s + "'?";
    }
    std::string keys;
    for (const auto& k : known_) keys += (keys.empty() ? "" : ", ") + k;
    return Invalid(key, msg + " (known: " + keys + ")");
  }
  return {};
}

Status ValidateWeights(const Weights& w, const std::string& kind) {
  if (w.primary < 0 || w.primary > 100 || w.canary < 0 || w.canary > 100 ||
      w.primary + w.canary != 100) {
    return InvalidArgument(kind + " router: weights must be percentages adding up to 100, got " +
                           Describe(w));
  }
  return {};
}

Result<Weights> WeightsFromShares(long primary, long canary, const std::string& where) {
  // The bound keeps the arithmetic below far from overflow; no real weight comes near it.
  constexpr long kMax = 1'000'000'000;
  if (primary > kMax || canary > kMax) {
    return BadData(where + ": weights primary " + std::to_string(primary) + " / canary " +
                   std::to_string(canary) + " are out of range");
  }
  if (primary < 0 || canary < 0 || primary + canary == 0) {
    return BadData(where + ": weights primary " + std::to_string(primary) + " / canary " +
                   std::to_string(canary) + " send traffic nowhere");
  }
  const long sum = primary + canary;
  Weights w;
  w.canary = static_cast<int>((200 * canary + sum) / (2 * sum));  // round half up
  w.primary = 100 - w.canary;
  return w;
}

std::string Describe(const Weights& w) {
  return "primary " + std::to_string(w.primary) + " / canary " + std::to_string(w.canary) +
         (w.mirror ? " / mirror" : "");
}

}  // namespace augur::routers::internal
