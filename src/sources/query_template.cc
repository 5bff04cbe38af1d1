#include "augur/sources/query_template.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/strict_yaml.h"

namespace augur::sources {
namespace {

// ---------------------------------------------------------------------------------------------
// Template lexing. The lexer tracks PromQL's string and comment state, because where a
// placeholder sits decides how its value must be escaped.

enum class Context {
  kOutside,      // bare PromQL: only durations may go here
  kString,       // inside "...": string-escape
  kRegexString,  // inside "..." after =~ or !~: regex-escape, then string-escape
};

struct Segment {
  bool is_placeholder = false;
  std::string text;    // literal text, or the variable name
  std::string filter;  // "", "regex" or "duration"
  Context context = Context::kOutside;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// True if the text before position `quote` (a double quote) ends in a regex matcher operator.
bool AfterRegexMatcher(std::string_view t, size_t quote) {
  size_t i = quote;
  while (i > 0 && (IsSpace(t[i - 1]) || t[i - 1] == '\n' || t[i - 1] == '\r')) --i;
  return i >= 2 && t[i - 1] == '~' && (t[i - 2] == '=' || t[i - 2] == '!');
}

// Parses the inside of `{{ ... }}` (or `${...}`): "name" or "name | filter".
Result<Segment> ParsePlaceholder(std::string_view body, std::string_view shown) {
  Segment seg;
  seg.is_placeholder = true;
  std::string_view name = body;
  std::string_view filter;
  if (const size_t bar = body.find('|'); bar != std::string_view::npos) {
    name = body.substr(0, bar);
    filter = Trim(body.substr(bar + 1));
    if (filter.empty())
      return InvalidArgument("placeholder '" + std::string(shown) + "': empty filter");
  }
  name = Trim(name);
  if (name.empty() || !IsIdentStart(name[0])) {
    return InvalidArgument("placeholder '" + std::string(shown) + "' must name a variable");
  }
  for (char c : name) {
    if (!IsIdentChar(c))
      return InvalidArgument("placeholder '" + std::string(shown) + "' must name a variable");
  }
  if (!filter.empty() && filter != "regex" && filter != "duration") {
    return InvalidArgument("placeholder '" + std::string(shown) + "': unknown filter '" +
                           std::string(filter) + "' (known: regex, duration)");
  }
  seg.text = std::string(name);
  seg.filter = std::string(filter);
  return seg;
}

bool IsDurationPlaceholder(const Segment& s) {
  return s.filter == "duration" || (s.filter.empty() && s.text == "interval");
}

// Splits a template into literal text and placeholders. `dollar` selects Kayenta's `${name}`
// syntax instead of `{{name}}`. Checks placement: only durations outside strings, nothing
// inside single-quoted or backquoted strings or comments.
Result<std::vector<Segment>> Lex(std::string_view t, bool dollar) {
  std::vector<Segment> out;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out.push_back(Segment{false, std::move(literal), "", Context::kOutside});
    literal.clear();
  };
  enum class State { kCode, kDouble, kSingle, kBack, kComment } state = State::kCode;
  bool regex_string = false;
  for (size_t i = 0; i < t.size();) {
    const bool opens = dollar ? (t.compare(i, 2, "${") == 0) : (t.compare(i, 2, "{{") == 0);
    if (opens) {
      const size_t close = dollar ? t.find('}', i + 2) : t.find("}}", i + 2);
      if (close == std::string_view::npos) {
        return InvalidArgument("unterminated placeholder at offset " + std::to_string(i));
      }
      const size_t end = close + (dollar ? 1 : 2);
      const std::string_view shown = t.substr(i, end - i);
      auto seg = ParsePlaceholder(t.substr(i + 2, close - i - 2), shown);
      if (!seg) return seg.error();
      switch (state) {
        case State::kCode:
          if (!IsDurationPlaceholder(*seg)) {
            return InvalidArgument(
                "placeholder '" + std::string(shown) +
                "' must be inside a double-quoted string (only durations may be bare)");
          }
          seg->context = Context::kOutside;
          break;
        case State::kDouble:
          seg->context = regex_string ? Context::kRegexString : Context::kString;
          break;
        case State::kSingle:
        case State::kBack:
          return InvalidArgument(
              "placeholder '" + std::string(shown) +
              "' must be in a double-quoted string, not a single- or back-quoted one");
        case State::kComment:
          return InvalidArgument("placeholder '" + std::string(shown) + "' is inside a comment");
      }
      flush();
      out.push_back(std::move(*seg));
      i = end;
      continue;
    }
    const char c = t[i];
    literal += c;
    ++i;
    switch (state) {
      case State::kCode:
        if (c == '"') {
          state = State::kDouble;
          regex_string = AfterRegexMatcher(t, i - 1);
        } else if (c == '\'') {
          state = State::kSingle;
        } else if (c == '`') {
          state = State::kBack;
        } else if (c == '#') {
          state = State::kComment;
        }
        break;
      case State::kDouble:
      case State::kSingle:
        if (c == '\\' && i < t.size()) {
          literal += t[i++];  // an escaped character never ends the string
        } else if ((state == State::kDouble && c == '"') ||
                   (state == State::kSingle && c == '\'')) {
          state = State::kCode;
        }
        break;
      case State::kBack:
        if (c == '`') state = State::kCode;
        break;
      case State::kComment:
        if (c == '\n') state = State::kCode;
        break;
    }
  }
  if (state == State::kDouble || state == State::kSingle || state == State::kBack) {
    return InvalidArgument("unterminated string literal");
  }
  flush();
  return out;
}

// Rejects what can never be a label value: control characters (newline aside) and bad UTF-8.
Status CheckValue(const std::string& name, std::string_view v) {
  for (size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c == 0) return InvalidArgument("variable '" + name + "' contains a NUL character");
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      return InvalidArgument("variable '" + name + "' contains control character 0x" +
                             "0123456789abcdef"[c >> 4] + "0123456789abcdef"[c & 15]);
    }
    int extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      return InvalidArgument("variable '" + name + "' is not valid UTF-8");
    }
    if (i + extra >= v.size()) return InvalidArgument("variable '" + name + "' is not valid UTF-8");
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(v[i + k]) & 0xc0) != 0x80) {
        return InvalidArgument("variable '" + name + "' is not valid UTF-8");
      }
    }
    i += extra + 1;
  }
  return {};
}

// Renders lexed segments; all missing variables are named at once.
Result<std::string> RenderSegments(const std::vector<Segment>& segs,
                                   const std::map<std::string, std::string>& vars) {
  std::set<std::string> missing;
  for (const auto& s : segs) {
    if (s.is_placeholder && !vars.count(s.text)) missing.insert(s.text);
  }
  if (!missing.empty()) {
    std::string names;
    for (const auto& n : missing) names += (names.empty() ? "" : ", ") + n;
    return InvalidArgument((missing.size() == 1 ? "missing variable: " : "missing variables: ") +
                           names);
  }
  std::string out;
  for (const auto& s : segs) {
    if (!s.is_placeholder) {
      out += s.text;
      continue;
    }
    const std::string& v = vars.at(s.text);
    if (Status ok = CheckValue(s.text, v); !ok) return ok.error();
    if (s.context == Context::kOutside || IsDurationPlaceholder(s)) {
      if (Status ok = ValidatePromDuration(v); !ok)
        return ok.error().WithContext("variable '" + s.text + "'");
      if (s.context == Context::kOutside) {
        out += v;  // validated: digits and unit letters only
        continue;
      }
    }
    const bool regex = s.filter == "regex" || s.context == Context::kRegexString;
    out += EscapePromQLString(regex ? EscapeRegex(v) : v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// YAML parsing. Errors are thrown inside this file only and turned into a Result at the edge.

using common::strict_yaml::Bool;
using common::strict_yaml::Fail;
using common::strict_yaml::OnlyKeys;
using common::strict_yaml::ParseError;
using common::strict_yaml::Str;

QueryTemplates ParseDoc(const YAML::Node& doc) {
  OnlyKeys(doc, "", {"apiVersion", "kind", "metadata", "spec"});
  for (const char* key : {"apiVersion", "kind", "metadata", "spec"}) {
    if (!doc[key]) Fail(key, "required");
  }
  if (const std::string v = Str(doc["apiVersion"], "apiVersion"); v != "augur.dev/v1") {
    Fail("apiVersion", "'" + v + "' is not augur.dev/v1");
  }
  if (const std::string k = Str(doc["kind"], "kind"); k != "QueryTemplates") {
    Fail("kind", "'" + k + "' is not QueryTemplates");
  }
  QueryTemplates t;
  const YAML::Node meta = doc["metadata"];
  OnlyKeys(meta, "metadata", {"name", "description"});
  if (!meta["name"]) Fail("metadata.name", "required");
  t.provider = Str(meta["name"], "metadata.name");
  if (t.provider.empty()) Fail("metadata.name", "must not be empty");
  if (meta["description"]) Str(meta["description"], "metadata.description");

  const YAML::Node spec = doc["spec"];
  OnlyKeys(spec, "spec", {"description", "variables", "queries", "approximations"});
  if (spec["description"]) Str(spec["description"], "spec.description");
  std::set<std::string> declared = {kSideVariable};
  if (const YAML::Node vars = spec["variables"]) {
    if (!vars.IsSequence()) Fail("spec.variables", "must be a list");
    for (size_t i = 0; i < vars.size(); ++i) {
      const std::string p = "spec.variables[" + std::to_string(i) + "]";
      const YAML::Node v = vars[i];
      OnlyKeys(v, p, {"name", "required", "default", "description"});
      if (!v["name"]) Fail(p + ".name", "required");
      Variable var;
      var.name = Str(v["name"], p + ".name");
      if (var.name.empty() || !IsIdentStart(var.name[0]))
        Fail(p + ".name", "'" + var.name + "' is not an identifier");
      for (char c : var.name) {
        if (!IsIdentChar(c)) Fail(p + ".name", "'" + var.name + "' is not an identifier");
      }
      if (var.name == kSideVariable)
        Fail(p + ".name", "'side' is set by the renderer and cannot be declared");
      if (!declared.insert(var.name).second)
        Fail(p + ".name", "duplicate variable '" + var.name + "'");
      if (v["required"]) var.required = Bool(v["required"], p + ".required");
      if (v["default"]) {
        var.has_default = true;
        var.default_value = Str(v["default"], p + ".default");
        if (Status ok = CheckValue(var.name, var.default_value); !ok)
          Fail(p + ".default", ok.error().message);
        // A bad default duration fails at load, not in the middle of an analysis.
        if (var.name == "interval") {
          if (Status ok = ValidatePromDuration(var.default_value); !ok)
            Fail(p + ".default", ok.error().message);
        }
      }
      if (v["description"]) var.description = Str(v["description"], p + ".description");
      if (var.required && var.has_default) Fail(p, "a required variable cannot have a default");
      t.variables.push_back(std::move(var));
    }
  }
  const YAML::Node queries = spec["queries"];
  if (!queries) Fail("spec.queries", "required");
  if (!queries.IsMap()) Fail("spec.queries", "must be a mapping");
  if (queries.size() == 0) Fail("spec.queries", "must not be empty");
  for (const auto& kv : queries) {
    const std::string name = kv.first.Scalar();
    const std::string p = "spec.queries." + name;
    const std::string q = Str(kv.second, p);
    if (Trim(q).empty()) Fail(p, "must not be empty");
    auto segs = Lex(q, /*dollar=*/false);
    if (!segs) Fail(p, segs.error().message);
    for (const auto& s : *segs) {
      if (s.is_placeholder && !declared.count(s.text)) Fail(p, "unknown variable '" + s.text + "'");
    }
    t.queries[name] = q;
  }
  if (const YAML::Node approx = spec["approximations"]) {
    if (!approx.IsMap()) Fail("spec.approximations", "must be a mapping");
    for (const auto& kv : approx) {
      const std::string name = kv.first.Scalar();
      const std::string p = "spec.approximations." + name;
      if (!t.queries.count(name)) Fail(p, "no query named '" + name + "'");
      t.approximations[name] = Str(kv.second, p);
    }
  }
  return t;
}

// Splits "a='x', b=~\"y\"" at commas outside quotes.
std::vector<std::string> SplitFilter(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      cur += c;
      if (c == '\\' && i + 1 < s.size()) {
        cur += s[++i];
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      cur += c;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Re-emits one Kayenta filter token "label<op>value" with the value expanded and escaped.
Result<std::string> RenderMatcher(std::string_view token,
                                  const std::map<std::string, std::string>& scope) {
  const std::string shown(Trim(token));
  std::string_view t = Trim(token);
  size_t i = 0;
  while (i < t.size() && IsIdentChar(t[i])) ++i;
  const std::string label(t.substr(0, i));
  if (label.empty() || !IsIdentStart(label[0]))
    return InvalidArgument("'" + shown + "' does not start with a label name");
  t.remove_prefix(i);
  t = Trim(t);
  std::string op;
  for (const char* candidate : {"=~", "!~", "!=", "="}) {
    if (t.substr(0, std::string_view(candidate).size()) == candidate) {
      op = candidate;
      break;
    }
  }
  if (op.empty()) return InvalidArgument("'" + shown + "' has no matcher operator (=, !=, =~, !~)");
  t.remove_prefix(op.size());
  t = Trim(t);
  std::string raw;
  if (!t.empty() && (t.front() == '\'' || t.front() == '"')) {
    const char q = t.front();
    size_t j = 1;
    for (; j < t.size() && t[j] != q; ++j) {
      if (t[j] == '\\' && j + 1 < t.size()) ++j;
      raw += t[j];
    }
    if (j + 1 != t.size()) return InvalidArgument("'" + shown + "' has a badly quoted value");
  } else {
    raw = std::string(t);
  }
  const bool regex = op == "=~" || op == "!~";
  std::string value;
  for (size_t k = 0; k < raw.size();) {
    if (raw.compare(k, 2, "${") == 0) {
      const size_t close = raw.find('}', k + 2);
      if (close == std::string::npos)
        return InvalidArgument("'" + shown + "' has an unterminated ${");
      const std::string name = raw.substr(k + 2, close - k - 2);
      const auto it = scope.find(name);
      if (it == scope.end()) return InvalidArgument("missing variable: " + name);
      if (Status ok = CheckValue(name, it->second); !ok) return ok.error();
      value += regex ? EscapeRegex(it->second) : it->second;
      k = close + 1;
    } else {
      value += raw[k++];
    }
  }
  return label + op + "\"" + EscapePromQLString(value) + "\"";
}

}  // namespace

std::string EscapePromQLString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += "0123456789abcdef"[c >> 4];
      out += "0123456789abcdef"[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string EscapeRegex(std::string_view s) {
  static constexpr std::string_view kMeta = "\\.+*?()|[]{}^$";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (kMeta.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

Status ValidatePromDuration(std::string_view s) {
  const std::string shown =
      "'" + std::string(s) + "' is not a Prometheus duration (e.g. 30s, 1m, 1h30m)";
  if (s.empty()) return InvalidArgument(shown);
  // Units from largest to smallest; Prometheus accepts each once, in this order.
  static constexpr std::string_view kUnits[] = {"y", "w", "d", "h", "m", "s", "ms"};
  int last_unit = -1;
  bool nonzero = false;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 9)
      return InvalidArgument(shown);  // 9 digits keep it far from overflow
    for (size_t k = start; k < i; ++k) nonzero |= s[k] != '0';
    int unit = -1;
    // "ms" must be tried before "m" so 500ms is not read as 500m + "s".
    if (s.substr(i, 2) == "ms") {
      unit = 6;
    } else if (i < s.size()) {
      for (int u = 0; u < 6; ++u) {
        if (s.substr(i, 1) == kUnits[u]) unit = u;
      }
    }
    if (unit < 0 || unit <= last_unit) return InvalidArgument(shown);
    i += kUnits[unit].size();
    last_unit = unit;
  }
  if (!nonzero) return InvalidArgument(shown + ": must be greater than zero");
  return {};
}

Result<QueryTemplates> ParseQueryTemplates(std::string_view yaml, const std::string& origin) {
  try {
    const YAML::Node doc = YAML::Load(std::string(yaml));
    if (!doc.IsMap()) return InvalidArgument(origin + ": must be a QueryTemplates mapping");
    return ParseDoc(doc);
  } catch (const ParseError& e) {
    return InvalidArgument(origin + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(origin + ": invalid YAML: " + e.what());
  }
}

Result<QueryTemplates> LoadQueryTemplates(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, path + ": cannot open"};
  std::ostringstream text;
  text << in.rdbuf();
  return ParseQueryTemplates(text.str(), path);
}

Result<std::string> RenderQuery(std::string_view tmpl,
                                const std::map<std::string, std::string>& vars) {
  auto segs = Lex(tmpl, /*dollar=*/false);
  if (!segs) return segs.error();
  return RenderSegments(*segs, vars);
}

Result<std::string> RenderNamedQuery(const QueryTemplates& templates, const std::string& query,
                                     const std::map<std::string, std::string>& vars) {
  const auto q = templates.queries.find(query);
  if (q == templates.queries.end()) {
    return Error{ErrorCode::kNotFound, templates.provider + ": no query named '" + query + "'"};
  }
  std::map<std::string, std::string> full;
  std::set<std::string> declared = {kSideVariable};
  for (const auto& v : templates.variables) {
    declared.insert(v.name);
    if (v.has_default) full[v.name] = v.default_value;
  }
  std::string unknown;
  for (const auto& [name, value] : vars) {
    if (!declared.count(name)) unknown += (unknown.empty() ? "" : ", ") + name;
    full[name] = value;
  }
  if (!unknown.empty())
    return InvalidArgument(templates.provider + ": unknown variables: " + unknown);
  std::string missing;
  for (const auto& v : templates.variables) {
    if (v.required && !full.count(v.name)) missing += (missing.empty() ? "" : ", ") + v.name;
  }
  if (!missing.empty())
    return InvalidArgument(templates.provider + ": missing required variables: " + missing);
  auto r = RenderQuery(q->second, full);
  if (!r) return r.error().WithContext(templates.provider + ": " + query);
  return r;
}

Result<SideQueries> RenderBothSides(const QueryTemplates& templates, const std::string& query,
                                    const std::map<std::string, std::string>& vars) {
  SideQueries out;
  for (const char* side : {"primary", "canary"}) {
    std::string value;
    if (const auto it = vars.find(side); it != vars.end()) {
      value = it->second;
    } else {
      bool found = false;
      for (const auto& v : templates.variables) {
        if (v.name == side && v.has_default) {
          value = v.default_value;
          found = true;
        }
      }
      if (!found)
        return InvalidArgument(templates.provider + ": missing required variables: " + side);
    }
    std::map<std::string, std::string> with_side = vars;
    with_side[kSideVariable] = value;
    auto r = RenderNamedQuery(templates, query, with_side);
    if (!r) return r.error();
    (std::string_view(side) == "primary" ? out.primary : out.canary) = std::move(*r);
  }
  return out;
}

Result<std::string> RenderKayentaQuery(const KayentaQueryConfig& config,
                                       const std::map<std::string, std::string>& scope) {
  static constexpr std::string_view kPromQL = "PromQL:";
  const std::string_view inline_tmpl = config.custom_inline_template;
  if (inline_tmpl.substr(0, kPromQL.size()) == kPromQL) {
    // Verbatim, as in Kayenta; ${name} gets the same placement and escaping rules as {{name}}.
    auto segs = Lex(inline_tmpl.substr(kPromQL.size()), /*dollar=*/true);
    if (!segs) return segs.error().WithContext("customInlineTemplate");
    auto r = RenderSegments(*segs, scope);
    if (!r) return r.error().WithContext("customInlineTemplate");
    return r;
  }
  if (config.metric_name.empty())
    return InvalidArgument("metricName: required unless customInlineTemplate starts with PromQL:");
  for (char c : config.metric_name) {
    if (!IsIdentChar(c) && c != ':')
      return InvalidArgument("metricName: '" + config.metric_name + "' is not a metric name");
  }
  if (!IsIdentStart(config.metric_name[0]) && config.metric_name[0] != ':') {
    return InvalidArgument("metricName: '" + config.metric_name + "' is not a metric name");
  }
  std::vector<std::string> matchers;
  if (!Trim(inline_tmpl).empty()) {
    for (const auto& token : SplitFilter(inline_tmpl)) {
      if (Trim(token).empty()) continue;
      auto m = RenderMatcher(token, scope);
      if (!m) return m.error().WithContext("customInlineTemplate");
      matchers.push_back(std::move(*m));
    }
  }
  for (size_t i = 0; i < config.label_bindings.size(); ++i) {
    auto m = RenderMatcher(config.label_bindings[i], scope);
    if (!m) return m.error().WithContext("labelBindings[" + std::to_string(i) + "]");
    matchers.push_back(std::move(*m));
  }
  if (Trim(inline_tmpl).empty()) {
    auto var = [&](const char* name) {
      const auto it = scope.find(name);
      return it == scope.end() ? std::string() : it->second;
    };
    if (config.resource_type == "gce_instance") {
      matchers.push_back("instance=~\"" + EscapePromQLString(EscapeRegex(var("scope")) + "-.{4}") +
                         "\"");
      matchers.push_back("zone=~\"" +
                         EscapePromQLString(".+/projects/" + EscapeRegex(var("project")) +
                                            "/zones/" + EscapeRegex(var("location")) + "-.{1}") +
                         "\"");
    } else if (config.resource_type == "aws_ec2_instance") {
      matchers.push_back("asg_groupName=\"" + EscapePromQLString(var("scope")) + "\"");
      matchers.push_back("zone=~\"" + EscapePromQLString(EscapeRegex(var("location")) + ".{1}") +
                         "\"");
    } else if (std::none_of(
                   config.label_bindings.begin(), config.label_bindings.end(),
                   [](const std::string& b) { return b.find("${scope}") != std::string::npos; })) {
      return InvalidArgument(
          "metric '" + config.metric_name +
          "' has no filter (customInlineTemplate, customFilterTemplate or customFilter) and " +
          (config.resource_type.empty() ? std::string("no resourceType")
                                        : "resourceType '" + config.resource_type + "'") +
          ": the query would read the same series for the control and the experiment scope "
          "(give a filter such as \"scope='${scope}'\", a labelBinding with ${scope}, or "
          "resourceType gce_instance or aws_ec2_instance)");
    }
  }
  std::string q = "avg(" + config.metric_name + "{";
  for (size_t i = 0; i < matchers.size(); ++i) q += (i ? "," : "") + matchers[i];
  q += "})";
  if (!config.group_by_fields.empty()) {
    q += " by (";
    for (size_t i = 0; i < config.group_by_fields.size(); ++i) {
      const std::string& f = config.group_by_fields[i];
      if (f.empty() || !IsIdentStart(f[0]))
        return InvalidArgument("groupByFields[" + std::to_string(i) + "]: '" + f +
                               "' is not a label name");
      for (char c : f) {
        if (!IsIdentChar(c))
          return InvalidArgument("groupByFields[" + std::to_string(i) + "]: '" + f +
                                 "' is not a label name");
      }
      q += (i ? ", " : "") + f;
    }
    q += ")";
  }
  return q;
}

}  // namespace augur::sources
