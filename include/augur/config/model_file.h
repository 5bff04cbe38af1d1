// Loads an analysis model from a file: Augur's native model (YAML, or the same document as
// JSON; schema in models/README.md) or a Kayenta canary config (JSON, detected by a top-level
// "metrics" array without "apiVersion"). Every mistake is kInvalidArgument naming the file and
// the path in the document, e.g. "golden.yaml: spec.metrics[2].criteria[0]: cannot parse '<=+x%'".
#pragma once

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
