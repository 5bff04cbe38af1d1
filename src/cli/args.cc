#include "cli/args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "augur/core/spelling.h"

namespace augur::cli {

std::optional<std::string> DidYouMean(const std::string& word,
                                      const std::vector<std::string>& candidates) {
  // ninja's rule of thumb: allow a few edits, more for longer words.
  return ClosestMatch(word, candidates, word.size() / 2 + 1);
}

Result<Args> Args::Parse(const std::vector<std::string>& tokens,
                         const std::vector<FlagSpec>& specs) {
  Args a;
  std::vector<std::string> names;
  for (const auto& s : specs) {
    names.push_back("--" + s.name);
    if (!s.default_value.empty()) a.defaults_[s.name] = s.default_value;
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "--help" || t == "-h") {
      a.help_ = true;
      continue;
    }
    if (t.rfind("--", 0) != 0 || t == "--") {
      a.positional_.push_back(t);
      continue;
    }
    std::string name = t.substr(2), value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) {
      std::string msg = "unknown flag '--" + name + "'";
      if (auto s = DidYouMean("--" + name, names)) msg += "; did you mean '" + *s + "'?";
      return InvalidArgument(msg);
    }
    if (spec->value_name.empty()) {
      if (has_inline) return InvalidArgument("flag '--" + name + "' takes no value");
      value = "true";
    } else if (!has_inline) {
      if (i + 1 >= tokens.size()) {
        return InvalidArgument("flag '--" + name + "' needs a value (" + spec->value_name + ")");
      }
      value = tokens[++i];
    }
    a.values_[name].push_back(value);
  }
  return a;
}

std::string Args::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second.back();
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  return "";
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<double> Args::GetDouble(const std::string& name) const {
  const std::string text = Get(name);
  std::istringstream in(text);
  double v;
  if (!(in >> v) || !in.eof() || !std::isfinite(v)) {
    return InvalidArgument("flag '--" + name + "' needs a finite number, got '" + text + "'");
  }
  return v;
}

std::string FormatFlags(const std::vector<FlagSpec>& specs) {
  std::ostringstream out;
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    out << left;
    out << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << s.help;
    if (!s.default_value.empty()) out << " (default: " << s.default_value << ")";
    out << "\n";
  }
  out << "  --help                            show this help\n";
  return out.str();
}

}  // namespace augur::cli
