#include "cli/json_input.h"

#include <cmath>
#include <istream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace augur::cli {
namespace {

Result<std::vector<double>> ReadArray(const nlohmann::json& doc, const std::string& key) {
  auto it = doc.find(key);
  if (it == doc.end()) return InvalidArgument("input: missing field \"" + key + "\"");
  if (!it->is_array()) return InvalidArgument("input: field \"" + key + "\" must be an array");
  std::vector<double> out;
  out.reserve(it->size());
  size_t i = 0;
  for (const auto& v : *it) {
    if (v.is_number()) {
      out.push_back(v.get<double>());
    } else if (v.is_null()) {
      out.push_back(NAN);
    } else if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "NaN")
        out.push_back(NAN);
      else if (s == "+Inf" || s == "Inf")
        out.push_back(INFINITY);
      else if (s == "-Inf")
        out.push_back(-INFINITY);
      else
        return InvalidArgument("input: " + key + "[" + std::to_string(i) + "] is the string \"" +
                               s.substr(0, 40) + "\", not a number");
    } else {
      return InvalidArgument("input: " + key + "[" + std::to_string(i) + "] is " + v.type_name() +
                             ", not a number");
    }
    ++i;
  }
  return out;
}

}  // namespace

Result<Samples> ReadSamples(std::istream& in, bool need_y) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgument(std::string("input is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    return InvalidArgument(
        std::string("input must be a JSON object like {\"x\":[...],\"y\":[...]}, got ") +
        doc.type_name());
  }
  Samples s;
  auto x = ReadArray(doc, "x");
  if (!x) return x.error();
  s.x = std::move(*x);
  if (need_y) {
    auto y = ReadArray(doc, "y");
    if (!y) return y.error();
    s.y = std::move(*y);
  }
  return s;
}

}  // namespace augur::cli
