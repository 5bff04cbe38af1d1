// The Prometheus queries of a Kayenta canary config (kayenta.md §2), for the daemon's Kayenta
// REST API and `augur record`.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "augur/sources/query_template.h"

namespace augur::sources {
namespace {

using Json = nlohmann::json;

// A string field, absent or null meaning `fallback`; anything else is an error at `path`.
Result<std::string> StringField(const Json& obj, const char* key, const std::string& path,
                                const std::string& fallback = "") {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string()) return InvalidArgument(path + "." + key + ": must be a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> StringList(const Json& obj, const char* key,
                                            const std::string& path) {
  std::vector<std::string> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument(path + "." + key + ": must be an array of strings");
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      return InvalidArgument(path + "." + key + "[" + std::to_string(i) + "]: must be a string");
    }
    out.push_back((*it)[i].get<std::string>());
  }
  return out;
}

}  // namespace

Result<std::vector<KayentaMetricQuery>> KayentaConfigQueries(std::string_view config_json) {
  const Json doc = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("canary config: not a JSON object");
  }
  const auto metrics = doc.find("metrics");
  if (metrics == doc.end() || !metrics->is_array()) {
    return InvalidArgument("metrics: must be an array of metrics");
  }
  const auto templates = doc.find("templates");
  if (templates != doc.end() && !templates->is_null() && !templates->is_object()) {
    return InvalidArgument("templates: must be an object of name -> filter");
  }
  std::vector<KayentaMetricQuery> out;
  for (size_t i = 0; i < metrics->size(); ++i) {
    const Json& m = (*metrics)[i];
    const std::string mp = "metrics[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgument(mp + ": must be an object");
    KayentaMetricQuery q;
    auto name = StringField(m, "name", mp);
    if (!name) return name.error();
    q.metric = *name;
    auto scope = StringField(m, "scopeName", mp, "default");
    if (!scope) return scope.error();
    q.scope_name = *scope;
    const auto query = m.find("query");
    if (query == m.end() || !query->is_object()) {
      return InvalidArgument(mp + ".query: is required (an object)");
    }
    const std::string qp = mp + ".query";
    auto type = StringField(*query, "type", qp, "prometheus");
    if (!type) return type.error();
    if (*type != "prometheus") {
      return InvalidArgument(qp + ".type: '" + *type +
                             "' queries cannot be fetched here (only prometheus)");
    }
    KayentaQueryConfig& c = q.query;
    for (auto [key, field] :
         {std::pair{"metricName", &c.metric_name}, std::pair{"resourceType", &c.resource_type},
          std::pair{"customInlineTemplate", &c.custom_inline_template}}) {
      auto v = StringField(*query, key, qp);
      if (!v) return v.error();
      *field = *v;
    }
    auto bindings = StringList(*query, "labelBindings", qp);
    if (!bindings) return bindings.error();
    c.label_bindings = std::move(*bindings);
    auto group_by = StringList(*query, "groupByFields", qp);
    if (!group_by) return group_by.error();
    c.group_by_fields = std::move(*group_by);
    if (c.custom_inline_template.empty()) {
      auto template_name = StringField(*query, "customFilterTemplate", qp);
      if (!template_name) return template_name.error();
      if (!template_name->empty()) {
        const bool found = templates != doc.end() && templates->is_object() &&
                           templates->contains(*template_name) &&
                           (*templates)[*template_name].is_string();
        if (!found) {
          return InvalidArgument(qp + ".customFilterTemplate: the config has no template named '" +
                                 *template_name + "' in templates");
        }
        c.custom_inline_template = (*templates)[*template_name].get<std::string>();
      } else {
        auto filter = StringField(*query, "customFilter", qp);
        if (!filter) return filter.error();
        c.custom_inline_template = *filter;
      }
    }
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace augur::sources
