// `augur replay`: replays archived releases through the rollout state machine as if live,
// prints each release's verdict timeline and the confusion matrix against the labels, sweeps
// model/rollout parameters and writes an HTML report.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>

#include "augur/config/model_file.h"
#include "augur/core/time.h"
#include "augur/replay/replay.h"
#include "augur/replay/report.h"
#include "augur/replay/score.h"
#include "augur/rollout/canary_spec.h"
#include "augur/sources/archive.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace augur::cli {
namespace {

namespace fs = std::filesystem;

const std::vector<FlagSpec> kFlags = {
    {"model", "M",
     "analysis model: a name in the bundled models/ or a file (Augur model or Kayenta canary "
     "config JSON); default: the model named in each archive",
     ""},
    {"mode", "kayenta|augur|sequential", "override the model's mode", ""},
    {"interval", "DURATION", "time between ticks (and checks) of the default rollout", "1m"},
    {"spec", "FILE",
     "a Flagger Canary (YAML/JSON) to simulate instead of the default rollout (stepWeight 10, "
     "maxWeight 50, threshold 2); --interval, when given, overrides its interval",
     ""},
    {"window", "since-start|DURATION",
     "what each check judges: everything since the release's start, or a trailing window "
     "(e.g. 10m); sequential mode always judges the points new since the previous check",
     "since-start"},
    {"no-data", "fail|inconclusive|pass", "override every metric's no-data policy", ""},
    {"json", "", "one JSON object per release per line (with --sweep: one per setting)", ""},
    {"verbose", "", "print every failing metric's reason in the timelines", ""},
    {"sweep", "KEY=V1,V2,...",
     "repeatable; replays the set for every combination: tolerance, confLevel, absFloor, "
     "relFloor, minSamples, noData (all metrics, or <metric>.<key>), mode, threshold, "
     "stepWeight, maxWeight, interval, passScore, marginalScore",
     ""},
    {"objective", "tpr@fpr<=R|youden|accuracy", "how --sweep picks the best setting",
     "tpr@fpr<=0.05"},
    {"report", "FILE", "write a self-contained HTML report", ""},
    {"threads", "N", "releases replayed in parallel (0: all cores)", "0"},
    {"progress", "auto|bar|lines|none",
     "progress on stderr: a bar on a terminal, plain lines otherwise (auto)", "auto"},
};

// The bundled models/: beside an installed binary, or in the source tree of a build.
std::string BundledModels() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "augur" / "models");
  candidates.push_back(fs::path(AUGUR_INSTALL_DATADIR) / "models");
  candidates.push_back(fs::path(AUGUR_SOURCE_DIR) / "models");
  for (const auto& c : candidates) {
    if (fs::is_directory(c, ec)) return c.string();
  }
  return candidates.back().string();
}

// Resolves model names lazily: a file path first, then a name among the bundled models.
class ModelResolver {
 public:
  Result<judge::Model> Get(const std::string& name_or_path) {
    if (auto it = cache_.find(name_or_path); it != cache_.end()) return it->second;
    std::error_code ec;
    if (fs::is_regular_file(name_or_path, ec)) {
      auto m = config::LoadModelFile(name_or_path);
      if (!m) return m.error();
      cache_.emplace(name_or_path, *m);
      return m;
    }
    if (!bundled_) {
      const std::string dir = BundledModels();
      auto all = config::LoadModelDir(dir);
      if (!all) return all.error();
      bundled_ = std::move(*all);
    }
    auto it = bundled_->find(name_or_path);
    if (it == bundled_->end()) {
      std::string known;
      for (const auto& [k, v] : *bundled_) known += (known.empty() ? "" : ", ") + k;
      return Error{
          ErrorCode::kNotFound,
          "model '" + name_or_path + "' is neither a file nor a bundled model (" + known + ")"};
    }
    cache_.emplace(name_or_path, it->second);
    return it->second;
  }

 private:
  std::map<std::string, judge::Model> cache_;
  std::optional<std::map<std::string, judge::Model>> bundled_;
};

// Progress on stderr: a redrawn bar on a terminal, a line per tenth otherwise.
class Progress {
 public:
  Progress(std::ostream& err, const std::string& mode, const std::string& what)
      : err_(err), what_(what) {
    const bool tty = &err == &std::cerr && isatty(STDERR_FILENO);
    bar_ = mode == "bar" || (mode == "auto" && tty);
    off_ = mode == "none";
  }
  void operator()(size_t done, size_t total) {
    if (off_) return;
    if (bar_) {
      const int width = 30;
      const int filled = static_cast<int>(width * done / std::max<size_t>(total, 1));
      err_ << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done
           << "/" << total << " " << what_ << (done == total ? "\n" : "") << std::flush;
      return;
    }
    const size_t tenth = std::max<size_t>(total / 10, 1);
    if (done % tenth == 0 || done == total) {
      err_ << "replay: " << done << "/" << total << " " << what_ << "\n" << std::flush;
    }
  }

 private:
  std::ostream& err_;
  std::string what_;
  bool bar_ = false, off_ = false;
};

int ExitFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kBadData:
      return kExitBadInput;
    default:
      return kExitFailure;
  }
}

struct Input {
  sources::Release release;
  replay::ReplayOptions options;  // with its model resolved
};

}  // namespace

int RunReplay(const std::vector<std::string>& args, std::istream&, std::ostream& out,
              std::ostream& err) {
  const std::string prefix = "augur replay: ";
  auto a = Args::Parse(args, kFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur replay ARCHIVE_OR_DIR... [flags]\n\n"
           "Replays archived releases (augur record / augur generate archives, or Kayenta\n"
           "metricSetPairList files) through the rollout state machine as if live: at every\n"
           "tick the judge sees only the data up to that instant. Prints each release's\n"
           "checks and final verdict (promoted, rolled_back, inconclusive) and, for labelled\n"
           "releases, the confusion matrix and time to detect.\n\nflags:\n"
        << FormatFlags(kFlags);
    return kExitOk;
  }
  if (a->positional().empty()) {
    err << prefix << "no archives given (files or folders of *.json / *.json.gz)\n";
    return kExitBadInput;
  }

  // Everything that can be wrong with the flags is reported before any archive is read.
  replay::ReplayOptions base;
  std::optional<judge::Mode> mode;
  if (a->Has("mode")) {
    const std::string m = a->Get("mode");
    if (m == "kayenta")
      mode = judge::Mode::kKayenta;
    else if (m == "augur")
      mode = judge::Mode::kAugur;
    else if (m == "sequential")
      mode = judge::Mode::kSequential;
    else {
      err << prefix << "--mode: '" << m << "' is not kayenta, augur or sequential\n";
      return kExitBadInput;
    }
  }
  auto interval = ParseDurationMs(a->Get("interval"));
  if (!interval || *interval <= 0) {
    err << prefix << "--interval: '" << a->Get("interval") << "' is not a positive duration\n";
    return kExitBadInput;
  }
  base.interval_ms = *interval;
  if (a->Has("spec")) {
    auto spec = rollout::LoadCanaryFile(a->Get("spec"));
    if (!spec) {
      err << prefix << spec.error().message << "\n";
      return kExitBadInput;
    }
    if (a->Has("interval")) {
      spec->analysis.interval_ms = *interval;
      spec->analysis.interval = a->Get("interval");
    }
    base.spec = std::move(*spec);
  }
  if (const std::string w = a->Get("window"); w != "since-start") {
    auto len = ParseDurationMs(w);
    if (!len || *len <= 0) {
      err << prefix << "--window: '" << w << "' is neither since-start nor a duration\n";
      return kExitBadInput;
    }
    base.window = replay::WindowKind::kTrailing;
    base.trailing_ms = *len;
  }
  if (a->Has("no-data")) {
    const std::string p = a->Get("no-data");
    if (p == "fail")
      base.no_data = judge::NoDataPolicy::kFail;
    else if (p == "inconclusive")
      base.no_data = judge::NoDataPolicy::kInconclusive;
    else if (p == "pass")
      base.no_data = judge::NoDataPolicy::kPass;
    else {
      err << prefix << "--no-data: '" << p << "' is not fail, inconclusive or pass\n";
      return kExitBadInput;
    }
  }
  std::vector<replay::SweepParam> sweeps;
  for (const auto& s : a->GetAll("sweep")) {
    auto p = replay::ParseSweep(s);
    if (!p) {
      err << prefix << p.error().message << "\n";
      return kExitBadInput;
    }
    sweeps.push_back(std::move(*p));
  }
  auto objective = replay::ParseObjective(a->Get("objective"));
  if (!objective) {
    err << prefix << "--objective: " << objective.error().message << "\n";
    return kExitBadInput;
  }
  const std::string progress_mode = a->Get("progress");
  if (progress_mode != "auto" && progress_mode != "bar" && progress_mode != "lines" &&
      progress_mode != "none") {
    err << prefix << "--progress: '" << progress_mode << "' is not auto, bar, lines or none\n";
    return kExitBadInput;
  }
  auto threads = a->GetDouble("threads");
  if (!threads || *threads < 0 || *threads > 1024) {
    err << prefix << "--threads: '" << a->Get("threads") << "' is not a count in 0..1024\n";
    return kExitBadInput;
  }
  const bool json = a->Has("json");

  // Read every archive; a bad one is reported and skipped, the others still replay.
  int exit_code = kExitOk;
  std::vector<std::string> errors;
  auto fail = [&](const Error& e) {
    err << prefix << e.message << "\n";
    errors.push_back(e.message);
    if (exit_code == kExitOk) exit_code = ExitFor(e);
  };
  std::vector<sources::Release> releases;
  for (const auto& path : a->positional()) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      auto all = sources::ReadArchiveDir(path);
      if (all.empty()) fail(Error{ErrorCode::kNotFound, path + ": no *.json or *.json.gz files"});
      for (auto& [file, r] : all) {
        if (r)
          releases.push_back(std::move(*r));
        else
          fail(r.error());
      }
    } else {
      auto r = sources::ReadArchive(path);
      if (r)
        releases.push_back(std::move(*r));
      else
        fail(r.error());
    }
  }

  // Each release is judged with --model, or with the model its archive names.
  ModelResolver models;
  std::vector<Input> inputs;
  for (auto& rel : releases) {
    const std::string name = a->Has("model") ? a->Get("model") : rel.model;
    if (name.empty()) {
      fail(InvalidArgument(rel.origin + ": the archive names no model; pass --model"));
      continue;
    }
    auto m = models.Get(name);
    if (!m) {
      fail(m.error().WithContext(rel.origin));
      if (a->Has("model")) break;  // the same error for every release
      continue;
    }
    Input in;
    in.options = base;
    in.options.model = std::move(*m);
    if (mode) in.options.mode = mode;
    in.release = std::move(rel);
    inputs.push_back(std::move(in));
  }

  const int pre_errors = static_cast<int>(errors.size());  // unreadable or without a model

  // The settings to run: one (the flags as given) without --sweep.
  const std::vector<replay::Setting> settings = replay::Combinations(sweeps);
  // Validate every setting against every distinct model before replaying anything.
  std::vector<std::vector<replay::ReplayOptions>> per_setting(settings.size());
  for (size_t s = 0; s < settings.size(); ++s) {
    for (const auto& in : inputs) {
      replay::ReplayOptions o = in.options;
      if (auto st = replay::Apply(settings[s], &o); !st) {
        err << prefix << "--sweep " << replay::FormatSetting(settings[s]) << ": "
            << st.error().message << "\n";
        return kExitBadInput;
      }
      per_setting[s].push_back(std::move(o));
    }
  }

  const size_t n = inputs.size();
  const size_t total = n * settings.size();
  std::vector<Result<replay::ReleaseReplay>> results(total,
                                                     Error{ErrorCode::kInternal, "not replayed"});
  Progress progress(err, progress_mode, settings.size() > 1 ? "replays" : "releases");
  replay::ParallelFor(
      total, static_cast<int>(*threads),
      [&](size_t i) {
        const size_t s = i / std::max<size_t>(n, 1), r = i % std::max<size_t>(n, 1);
        results[i] = replay::ReplayRelease(inputs[r].release, per_setting[s][r]);
      },
      [&](size_t done, size_t all) { progress(done, all); });

  // Scores per setting; replay errors are reported once (every setting repeats them).
  std::vector<replay::SweepRow> rows;
  std::vector<std::vector<replay::ReleaseReplay>> replays(settings.size());
  for (size_t s = 0; s < settings.size(); ++s) {
    int errs = 0;
    for (size_t r = 0; r < n; ++r) {
      auto& res = results[s * n + r];
      if (res) {
        replays[s].push_back(std::move(*res));
      } else {
        ++errs;
        if (s == 0) fail(res.error());
      }
    }
    rows.push_back({settings[s], replay::Score(replays[s], pre_errors + errs)});
  }

  std::optional<size_t> best;
  if (settings.size() > 1) best = replay::Best(rows, *objective);
  const size_t shown = best.value_or(0);

  if (settings.size() == 1) {
    for (const auto& r : replays[0]) {
      if (json)
        out << replay::ReplayJson(r) << "\n";
      else
        out << replay::FormatTimeline(r, a->Has("verbose")) << "\n";
    }
    if (!json) {
      const auto& c = rows[0].confusion;
      if (c.bad() + c.good() > 0) {
        out << "confusion matrix (" << c.bad() + c.good() << " labelled releases):\n"
            << replay::FormatConfusion(c);
      } else {
        out << "no labelled releases: no confusion matrix\n";
      }
    }
  } else if (json) {
    for (size_t s = 0; s < rows.size(); ++s) {
      const auto& c = rows[s].confusion;
      std::string setting = "{";
      for (size_t k = 0; k < rows[s].setting.size(); ++k) {
        setting += std::string(k ? "," : "") + "\"" + rows[s].setting[k].first + "\":\"" +
                   rows[s].setting[k].second + "\"";
      }
      setting += "}";
      out << "{\"setting\":" << setting << ",\"tp\":" << c.tp << ",\"fn\":" << c.fn
          << ",\"fp\":" << c.fp << ",\"tn\":" << c.tn
          << ",\"inconclusive_bad\":" << c.inconclusive_bad
          << ",\"inconclusive_good\":" << c.inconclusive_good << ",\"tpr\":" << c.tpr()
          << ",\"fpr\":" << c.fpr() << ",\"mean_ttd_ms\":"
          << (c.mean_ttd_ms ? std::to_string(static_cast<int64_t>(*c.mean_ttd_ms)) : "null")
          << ",\"best\":" << (best && *best == s ? "true" : "false") << "}\n";
    }
  } else {
    out << "sweep over " << rows.size() << " settings x " << n << " releases:\n"
        << replay::FormatSweep(rows, *objective, best);
    out << "confusion matrix of " << replay::FormatSetting(rows[shown].setting) << ":\n"
        << replay::FormatConfusion(rows[shown].confusion);
  }

  if (a->Has("report")) {
    replay::ReportInput report;
    report.subtitle = std::to_string(n) + " releases";
    if (!inputs.empty()) {
      const auto& o = per_setting[shown][0];
      report.subtitle += ", model " + o.model.name + ", mode " +
                         judge::ModeName(o.mode.value_or(o.model.mode)) + ", " +
                         replay::FormatSetting(rows[shown].setting);
    }
    std::map<std::string, const sources::Release*> by_origin;
    for (const auto& in : inputs) by_origin[in.release.origin] = &in.release;
    for (const auto& r : replays[shown]) {
      auto it = by_origin.find(r.origin);
      report.releases.push_back(it == by_origin.end() ? nullptr : it->second);
      report.replays.push_back(&r);
    }
    report.errors = errors;
    report.confusion = rows[shown].confusion;
    if (settings.size() > 1) {
      report.sweep = rows;
      report.objective = *objective;
      report.best = best;
    }
    const std::string path = a->Get("report");
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << replay::HtmlReport(report);
      if (!f) {
        err << prefix << "cannot write report '" << tmp << "'\n";
        return kExitFailure;
      }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      err << prefix << "cannot write report '" << path << "'\n";
      return kExitFailure;
    }
    if (!json) out << "report: " << path << "\n";
  }
  return exit_code;
}

}  // namespace augur::cli
