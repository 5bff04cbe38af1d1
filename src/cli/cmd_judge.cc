// `augur judge`: judges recorded primary/canary series against an analysis model and prints
// the judgement as JSON (Augur's shape, or Kayenta's CanaryJudgeResult).
#include <cstdio>
#include <fstream>
#include <istream>
#include <ostream>
#include <sstream>

#include "augur/config/model_file.h"
#include "augur/contracts/kayenta.h"
#include "augur/judge/judge.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace augur::cli {
namespace {

const std::vector<FlagSpec> kFlags = {
    {"config", "FILE", "analysis model: Augur YAML/JSON model or a Kayenta canary config", ""},
    {"data", "FILE",
     "series: Kayenta metricSetPairList JSON or Augur {\"metrics\": [...]} JSON "
     "(- for stdin)",
     ""},
    {"mode", "kayenta|augur|sequential",
     "override the model's mode (sequential: a single look unless --state carries the state "
     "across runs)",
     ""},
    {"pass", "SCORE", "pass threshold (0-100), overriding the model", ""},
    {"marginal", "SCORE", "marginal threshold (0-100), overriding the model", ""},
    {"format", "augur|kayenta",
     "output shape: Augur's judgement or Kayenta's CanaryJudgeResult "
     "(default: kayenta in kayenta mode)",
     ""},
    {"kayenta-request", "FILE",
     "judge a Kayenta remote-judge request body {canaryConfig, "
     "scoreThresholds, metricSetPairList}; prints a CanaryJudgeResult",
     ""},
    {"state", "FILE",
     "sequential mode: read the running state from FILE (if it exists) and write "
     "the updated state back, so each run is the next check of the same canary; "
     "--data then holds only the points new since the previous run",
     ""},
    {"exit-code", "", "exit 0 on pass, 3 on fail, 4 on marginal or inconclusive", ""},
};

Result<std::string> ReadFile(const std::string& path, std::istream& in) {
  std::stringstream ss;
  if (path == "-") {
    ss << in.rdbuf();
    return ss.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot open '" + path + "'");
  ss << f.rdbuf();
  return ss.str();
}

int VerdictExit(const judge::Judgement& j) {
  switch (j.outcome) {
    case judge::Outcome::kPass:
      return 0;
    case judge::Outcome::kFail:
      return 3;
    default:
      return 4;
  }
}

}  // namespace

int RunJudge(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  const std::string prefix = "augur judge: ";
  auto a = Args::Parse(args, kFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur judge --config MODEL --data SERIES [flags]\n"
           "       augur judge --kayenta-request REQUEST.json\n\n"
           "Judges primary (baseline) against canary series and prints the judgement as JSON.\n\n"
           "flags:\n"
        << FormatFlags(kFlags);
    return kExitOk;
  }
  judge::Model model;
  std::vector<judge::MetricPair> pairs;
  bool kayenta_format = false;
  if (a->Has("kayenta-request")) {
    auto text = ReadFile(a->Get("kayenta-request"), in);
    if (!text) {
      err << prefix << text.error().message << "\n";
      return kExitBadInput;
    }
    auto req = contracts::ParseRemoteJudgeRequest(*text);
    if (!req) {
      err << prefix << a->Get("kayenta-request") << ": " << req.error().message << "\n";
      return kExitBadInput;
    }
    model = std::move(req->model);
    pairs = std::move(req->pairs);
    kayenta_format = true;
  } else {
    if (!a->Has("config") || !a->Has("data")) {
      err << prefix << "--config and --data are required (or --kayenta-request)\n";
      return kExitBadInput;
    }
    auto m = config::LoadModelFile(a->Get("config"));
    if (!m) {
      err << prefix << m.error().message << "\n";
      return kExitBadInput;
    }
    model = std::move(*m);
    auto text = ReadFile(a->Get("data"), in);
    if (!text) {
      err << prefix << text.error().message << "\n";
      return kExitBadInput;
    }
    auto p = contracts::ParseJudgeData(*text);
    if (!p) {
      err << prefix << a->Get("data") << ": " << p.error().message << "\n";
      return kExitBadInput;
    }
    pairs = std::move(*p);
    kayenta_format = model.mode == judge::Mode::kKayenta;
  }
  if (a->Has("mode")) {
    const std::string mode = a->Get("mode");
    if (mode == "kayenta")
      model.mode = judge::Mode::kKayenta;
    else if (mode == "augur")
      model.mode = judge::Mode::kAugur;
    else if (mode == "sequential")
      model.mode = judge::Mode::kSequential;
    else {
      err << prefix << "unknown mode '" << mode << "' (expected kayenta, augur or sequential)\n";
      return kExitBadInput;
    }
    kayenta_format =
        model.mode == judge::Mode::kKayenta && !a->Has("kayenta-request") ? true : kayenta_format;
  }
  for (const char* t : {"pass", "marginal"}) {
    if (!a->Has(t)) continue;
    auto v = a->GetDouble(t);
    if (!v) {
      err << prefix << v.error().message << "\n";
      return kExitBadInput;
    }
    (std::string(t) == "pass" ? model.thresholds.pass : model.thresholds.marginal) = *v;
  }
  if (a->Has("format")) {
    const std::string f = a->Get("format");
    if (f != "augur" && f != "kayenta") {
      err << prefix << "unknown format '" << f << "'\n";
      return kExitBadInput;
    }
    kayenta_format = f == "kayenta";
  }
  if (a->Has("state") && model.mode != judge::Mode::kSequential) {
    err << prefix << "--state needs sequential mode (--mode sequential or spec.mode: sequential)\n";
    return kExitBadInput;
  }
  Result<judge::Judgement> j = InvalidArgument("not judged");
  if (a->Has("state")) {
    const std::string path = a->Get("state");
    judge::SequentialState state;
    if (std::ifstream probe(path); probe) {
      auto text = ReadFile(path, in);
      if (!text) {
        err << prefix << text.error().message << "\n";
        return kExitBadInput;
      }
      auto parsed = contracts::ParseSequentialState(*text);
      if (!parsed) {
        err << prefix << path << ": " << parsed.error().message << "\n";
        return kExitBadInput;
      }
      state = std::move(*parsed);
    }
    j = judge::JudgeSequential(model, pairs, &state);
    if (j) {
      // Written to a temporary file and renamed, so a crash never leaves half a state.
      const std::string tmp = path + ".tmp";
      {
        std::ofstream outf(tmp, std::ios::binary | std::ios::trunc);
        outf << contracts::SequentialStateJson(state) << "\n";
        if (!outf) {
          err << prefix << "cannot write state file '" << tmp << "'\n";
          return kExitFailure;
        }
      }
      if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        err << prefix << "cannot replace state file '" << path << "'\n";
        return kExitFailure;
      }
    }
  } else {
    j = judge::Judge(model, pairs, judge::JudgeOptions{/*threads=*/0});
  }
  if (!j) {
    err << prefix << j.error().message << "\n";
    return kExitBadInput;
  }
  out << (kayenta_format ? contracts::CanaryJudgeResultJson(*j) : contracts::JudgementJson(*j))
      << "\n";
  return a->Has("exit-code") ? VerdictExit(*j) : kExitOk;
}

}  // namespace augur::cli
