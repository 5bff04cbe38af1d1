// A small, strict command-line flag parser for augur's subcommands: every flag is declared
// with its help text, unknown flags are errors (with a "did you mean" suggestion), and the
// declarations generate `--help`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::cli {

struct FlagSpec {
  std::string name;        // without the leading "--"
  std::string value_name;  // empty for a boolean switch
  std::string help;
  std::string default_value;  // shown in --help; empty for none
};

class Args {
 public:
  // Parses argv-style tokens against `specs`. Accepts "--flag value", "--flag=value" and
  // boolean "--flag". Positional arguments are collected in order.
  static Result<Args> Parse(const std::vector<std::string>& tokens,
                            const std::vector<FlagSpec>& specs);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The flag's value, or the spec's default when absent.
  std::string Get(const std::string& name) const;
  // Every value given for a repeatable flag, in order (e.g. --var a=1 --var b=2).
  std::vector<std::string> GetAll(const std::string& name) const;
  Result<double> GetDouble(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, std::string> defaults_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// Renders the flag table for --help.
std::string FormatFlags(const std::vector<FlagSpec>& specs);

// The candidate closest to `word` by edit distance, if it is plausibly a typo of it.
std::optional<std::string> DidYouMean(const std::string& word,
                                      const std::vector<std::string>& candidates);

}  // namespace augur::cli
