// How replay results are shown: a compact text timeline per release, the confusion matrix and
// the sweep table for people; one JSON object per release for machines; and a self-contained
// HTML report (inline SVG, no script, no network) with primary vs canary per metric, the
// verdict timeline, the confusion matrix and the sweep trade-off plot.
//
// Thread-safety: pure functions of their inputs.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "augur/replay/replay.h"
#include "augur/replay/score.h"
#include "augur/sources/archive.h"

namespace augur::replay {

// One JSON object (no newline): release, origin, label, final_verdict, decided_ms,
// detected_after_ms, mode, judge, checks [{time_ms, window, phase, weight, verdict, outcome,
// score, reason, failed_checks, metrics: [{name, classification, reason}]}].
std::string ReplayJson(const ReleaseReplay& replay);

// A few lines: one per check ("+5m w=20 pass 100 | latency-p99 High ...") and the final line.
// `verbose` adds every metric's reason to failing checks.
std::string FormatTimeline(const ReleaseReplay& replay, bool verbose = false);

std::string FormatConfusion(const Confusion& c);
std::string FormatSweep(std::span<const SweepRow> rows, const Objective& objective,
                        std::optional<size_t> best);

struct ReportInput {
  std::string title = "Augur replay";
  std::string subtitle;  // e.g. model, mode, spec
  // Parallel vectors; a release may be null when only its replay is known.
  std::vector<const sources::Release*> releases;
  std::vector<const ReleaseReplay*> replays;
  std::vector<std::string> errors;  // releases that failed, one message each
  std::optional<Confusion> confusion;
  std::vector<SweepRow> sweep;
  Objective objective;
  std::optional<size_t> best;
};

// The whole HTML document.
std::string HtmlReport(const ReportInput& input);

}  // namespace augur::replay
