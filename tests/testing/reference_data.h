// Loads the R/scipy reference fixtures in tests/data (made by tests/data/stats/make_reference.py).
#pragma once

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace augur::testing {

inline nlohmann::json LoadJson(const std::string& relative_path) {
  std::ifstream in(std::string(AUGUR_TEST_DATA_DIR) + "/" + relative_path);
  if (!in) throw std::runtime_error("cannot open test data " + relative_path);
  return nlohmann::json::parse(in);
}

// Fixture numbers: JSON null stands for an infinite interval end or R's NA.
inline double Num(const nlohmann::json& v,
                  double null_value = std::numeric_limits<double>::quiet_NaN()) {
  return v.is_null() ? null_value : v.get<double>();
}

inline std::vector<double> Doubles(const nlohmann::json& v) { return v.get<std::vector<double>>(); }

// |a - b| <= rel * max(|a|, |b|), with exact equality for infinities and zeros.
inline bool RelClose(double a, double b, double rel) {
  if (a == b) return true;
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return false;
  return std::fabs(a - b) <= rel * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace augur::testing
