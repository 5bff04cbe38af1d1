// Strict reading of YAML documents (Augur's model files and query templates): every helper
// names the path of what it rejects. Shared by config/ and sources/, which link yaml-cpp
// themselves; header-only so it adds no library. Errors are thrown as ParseError inside a
// parser and turned into a Result at its public edge.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <set>
#include <string>

namespace augur::common::strict_yaml {

struct ParseError {
  std::string message;  // "<path>: <what is wrong>"
};

[[noreturn]] inline void Fail(const std::string& path, const std::string& what) {
  throw ParseError{path + ": " + what};
}

// A mapping whose keys are all in `allowed`; the error lists the allowed keys.
inline void OnlyKeys(const YAML::Node& n, const std::string& path,
                     const std::set<std::string>& allowed) {
  if (!n.IsMap()) Fail(path.empty() ? "document" : path, "must be a mapping");
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!allowed.count(k)) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      Fail(path.empty() ? k : path + "." + k, "unknown key (allowed: " + names + ")");
    }
  }
}

inline std::string Str(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) Fail(path, "must be a string");
  return n.Scalar();
}

inline double Number(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) Fail(path, "must be a number");
  double v;
  try {
    v = n.as<double>();
  } catch (const YAML::Exception&) {
    Fail(path, "must be a number, got '" + n.Scalar() + "'");
  }
  if (!std::isfinite(v)) Fail(path, "must be a finite number");
  return v;
}

inline bool Bool(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar()) Fail(path, "must be true or false");
  try {
    return n.as<bool>();
  } catch (const YAML::Exception&) {
    Fail(path, "must be true or false, got '" + n.Scalar() + "'");
  }
}

}  // namespace augur::common::strict_yaml
