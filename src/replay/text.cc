// Text and JSON renderings of replay results (report.h); the HTML report is in html.cc.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "augur/replay/report.h"
#include "replay/format_util.h"

namespace augur::replay {

std::string ReplayJson(const ReleaseReplay& r) {
  // Insertion order, so a line reads release, label, verdict, ... checks.
  using json = nlohmann::ordered_json;
  json j;
  j["release"] = r.release;
  j["origin"] = r.origin;
  json label = json::object();
  if (!r.label.truth.empty()) label["truth"] = r.label.truth;
  if (r.label.regression_start_ms) label["regression_start_ms"] = *r.label.regression_start_ms;
  if (!r.label.regression.empty()) label["regression"] = r.label.regression;
  j["label"] = label;
  j["model"] = r.model;
  j["mode"] = judge::ModeName(r.mode);
  j["judge"] = r.judge_name;
  j["start_ms"] = r.start_ms;
  j["end_ms"] = r.end_ms;
  j["final_verdict"] = FinalVerdictName(r.final_verdict);
  j["final_reason"] = r.final_reason;
  j["decided_ms"] = r.decided_ms ? json(*r.decided_ms) : json(nullptr);
  j["detected_after_ms"] = r.detected_after_ms ? json(*r.detected_after_ms) : json(nullptr);
  json checks = json::array();
  for (const auto& c : r.checks) {
    json m = json::array();
    for (const auto& x : c.metrics) {
      m.push_back({{"name", x.name},
                   {"classification", judge::ClassificationName(x.classification)},
                   {"reason", x.reason}});
    }
    checks.push_back({{"time_ms", c.time_ms},
                      {"window", {c.window_start_ms, c.window_end_ms}},
                      {"phase", rollout::PhaseName(c.phase)},
                      {"weight", c.canary_weight},
                      {"verdict", rollout::CheckVerdictName(c.verdict)},
                      {"outcome", judge::OutcomeName(c.outcome)},
                      {"score", std::isfinite(c.score) ? json(c.score) : json(nullptr)},
                      {"reason", c.reason},
                      {"failed_checks", c.failed_checks_after},
                      {"weight_after", c.weight_after},
                      {"phase_after", rollout::PhaseName(c.phase_after)},
                      {"metrics", std::move(m)}});
  }
  j["checks"] = std::move(checks);
  // Invalid UTF-8 in a reason (from an archive's metric names) must not abort the output.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FormatTimeline(const ReleaseReplay& r, bool verbose) {
  std::ostringstream o;
  o << r.release;
  if (!r.label.truth.empty()) {
    o << " (" << r.label.truth;
    if (!r.label.regression.empty()) o << ": " << r.label.regression;
    if (r.label.regression_start_ms)
      o << " from " << RelTime(*r.label.regression_start_ms - r.start_ms);
    o << ")";
  }
  o << "  [" << (r.model.empty() ? "model" : r.model) << ", " << judge::ModeName(r.mode) << "]\n";
  for (const auto& c : r.checks) {
    char head[96];
    std::snprintf(head, sizeof head, "  %7s  w=%-3d %-12s %6.1f",
                  RelTime(c.time_ms - r.start_ms).c_str(), c.canary_weight,
                  rollout::CheckVerdictName(c.verdict), c.score);
    o << head;
    std::string bad;
    for (const auto& m : c.metrics) {
      if (m.classification == judge::Classification::kPass) continue;
      bad += "  " + m.name + "=" + judge::ClassificationName(m.classification);
      if (verbose && !m.reason.empty()) bad += " (" + m.reason + ")";
    }
    if (c.metrics.empty() && !c.reason.empty()) bad = "  " + c.reason;
    o << bad;
    if (c.verdict != rollout::CheckVerdict::kPass) {
      o << "  [failed " << c.failed_checks_after << "]";
    }
    o << "\n";
  }
  o << "  => " << FinalVerdictName(r.final_verdict);
  if (r.decided_ms) o << " at " << RelTime(*r.decided_ms - r.start_ms);
  if (r.detected_after_ms) {
    const int64_t d = *r.detected_after_ms;
    o << ", " << Dur(d < 0 ? -d : d) << (d < 0 ? " before" : " after") << " the regression began";
  }
  if (!r.final_reason.empty()) o << ": " << r.final_reason;
  o << "\n";
  return o.str();
}

std::string FormatConfusion(const Confusion& c) {
  std::ostringstream o;
  char line[160];
  o << "                 rolled back   promoted   inconclusive\n";
  std::snprintf(line, sizeof line, "  bad  (%3d)     %6d TP     %6d FN  %8d\n", c.bad(), c.tp, c.fn,
                c.inconclusive_bad);
  o << line;
  std::snprintf(line, sizeof line, "  good (%3d)     %6d FP     %6d TN  %8d\n", c.good(), c.fp,
                c.tn, c.inconclusive_good);
  o << line;
  std::snprintf(line, sizeof line, "  TP rate %s, FP rate %s", Percent(c.tpr()).c_str(),
                Percent(c.fpr()).c_str());
  o << line;
  if (c.mean_ttd_ms) {
    o << ", time to detect mean " << Dur(static_cast<int64_t>(std::llround(*c.mean_ttd_ms)))
      << " median " << Dur(static_cast<int64_t>(std::llround(*c.median_ttd_ms)));
  }
  o << "\n";
  if (c.early) {
    o << "  " << c.early << " of the TP rolled back before their regression began (not timed)\n";
  }
  if (c.unlabelled) o << "  unlabelled: " << c.unlabelled << "\n";
  if (c.errors) o << "  not replayed (errors): " << c.errors << "\n";
  return o.str();
}

std::string FormatSweep(std::span<const SweepRow> rows, const Objective& objective,
                        std::optional<size_t> best) {
  std::ostringstream o;
  size_t w = 7;
  for (const auto& r : rows) w = std::max(w, FormatSetting(r.setting).size());
  char line[256];
  std::snprintf(line, sizeof line, "  %-*s  %4s %4s %4s %4s %5s  %7s %7s  %9s\n",
                static_cast<int>(w), "setting", "TP", "FN", "FP", "TN", "inc", "TPR", "FPR",
                "MTTD");
  o << line;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Confusion& c = rows[i].confusion;
    const std::string mttd =
        c.mean_ttd_ms ? Dur(static_cast<int64_t>(std::llround(*c.mean_ttd_ms))) : "-";
    std::snprintf(line, sizeof line, "%s %-*s  %4d %4d %4d %4d %5d  %7s %7s  %9s\n",
                  best && *best == i ? "*" : " ", static_cast<int>(w),
                  FormatSetting(rows[i].setting).c_str(), c.tp, c.fn, c.fp, c.tn,
                  c.inconclusive_bad + c.inconclusive_good, Percent(c.tpr()).c_str(),
                  Percent(c.fpr()).c_str(), mttd.c_str());
    o << line;
  }
  o << "objective: " << DescribeObjective(objective) << "\n";
  if (best) {
    o << "best: " << FormatSetting(rows[*best].setting) << "\n";
  } else {
    o << "best: none meets the objective's constraint\n";
  }
  return o.str();
}

}  // namespace augur::replay
