// Loads an analysis model from a file: Augur's native model (YAML, or the same document as
// JSON; schema in models/README.md) or a Kayenta canary config (JSON, detected by a top-level
// "metrics" array without "apiVersion"). Every mistake is kInvalidArgument naming the file and
// the path in the document, e.g. "golden.yaml: spec.metrics[2].criteria[0]: cannot parse '<=+x%'".
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "augur/core/result.h"
#include "augur/judge/model.h"

namespace augur::config {

Result<judge::Model> ParseModel(std::string_view text, const std::string& origin);
Result<judge::Model> LoadModelFile(const std::string& path);

// Parses a Keptn-style criterion: "<=+10%", "<600", ">=-5%", ">0.99".
Result<judge::Criterion> ParseCriterion(std::string_view text);

}  // namespace augur::config

namespace augur::config {

// Loads every *.yaml, *.yml and *.json model of `dir`, keyed by the model's name (its file
// name without extension when the document has none). Two models with one name, or any file
// that does not parse, is an error naming the file: a daemon must not start with half its
// models.
Result<std::map<std::string, judge::Model>> LoadModelDir(const std::string& dir);

}  // namespace augur::config
