// The HTML report of report.h: one self-contained file, inline SVG and CSS only (no script, no
// fonts or images from the network), so it opens anywhere, offline, and prints.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "augur/core/time.h"
#include "augur/replay/report.h"
#include "replay/format_util.h"

namespace augur::replay {
namespace {

constexpr size_t kMaxDetailed = 200;  // releases with plots; the rest get a table row only

const char* kPrimaryColour = "#1f77b4";
const char* kCanaryColour = "#ff7f0e";
const char* kPassColour = "#2ca02c";
const char* kFailColour = "#d62728";
const char* kInconclusiveColour = "#e6a700";

std::string Esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string Num(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

// A compact tick label for a metric value.
std::string Tick(double v) {
  char b[64];
  const double a = std::fabs(v);
  if (a != 0 && (a < 0.01 || a >= 100000))
    std::snprintf(b, sizeof b, "%.2g", v);
  else if (a < 1)
    std::snprintf(b, sizeof b, "%.3g", v);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

const char* VerdictColour(rollout::CheckVerdict v) {
  switch (v) {
    case rollout::CheckVerdict::kPass:
      return kPassColour;
    case rollout::CheckVerdict::kFail:
      return kFailColour;
    default:
      return kInconclusiveColour;
  }
}

const char* FinalColour(FinalVerdict v) {
  switch (v) {
    case FinalVerdict::kPromoted:
      return kPassColour;
    case FinalVerdict::kRolledBack:
      return kFailColour;
    default:
      return kInconclusiveColour;
  }
}

// Maps data coordinates into a plot area inside an SVG of width x height.
struct Frame {
  Frame(double w, double h) : width(w), height(h) {}
  double width, height;
  double left = 52, right = 12, top = 22, bottom = 26;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double X(double x) const {
    return left + (x1 == x0 ? 0 : (x - x0) / (x1 - x0)) * (width - left - right);
  }
  double Y(double y) const {
    return height - bottom - (y1 == y0 ? 0.5 : (y - y0) / (y1 - y0)) * (height - top - bottom);
  }
};

std::string SvgOpen(const Frame& f, const std::string& title) {
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << f.width << "' height='" << f.height
    << "' viewBox='0 0 " << f.width << " " << f.height << "' role='img'>";
  o << "<title>" << Esc(title) << "</title>";
  o << "<rect x='" << f.left << "' y='" << f.top << "' width='" << f.width - f.left - f.right
    << "' height='" << f.height - f.top - f.bottom << "' fill='#fafafa' stroke='#ccc'/>";
  o << "<text x='" << f.left << "' y='14' class='pt'>" << Esc(title) << "</text>";
  return o.str();
}

// Y axis with three labels (min, mid, max) and light grid lines.
std::string YAxis(const Frame& f, bool percent = false) {
  std::ostringstream o;
  for (int i = 0; i <= 2; ++i) {
    const double v = f.y0 + (f.y1 - f.y0) * i / 2;
    const double y = f.Y(v);
    o << "<line x1='" << f.left << "' x2='" << f.width - f.right << "' y1='" << Num(y) << "' y2='"
      << Num(y) << "' stroke='#e4e4e4'/>";
    o << "<text x='" << f.left - 4 << "' y='" << Num(y + 4) << "' class='ax' text-anchor='end'>"
      << (percent ? Num(v, 0) + "%" : Tick(v)) << "</text>";
  }
  return o.str();
}

// X axis in whole minutes (or hours) from the release's start, at most about six labels.
std::string XAxis(const Frame& f, int64_t start_ms) {
  std::ostringstream o;
  const double span = f.x1 - static_cast<double>(start_ms);
  const double max_labels = std::max(2.0, (f.width - f.left - f.right) / 70);
  double every = 60000;
  for (double m : {1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440}) {
    every = m * 60000;
    if (span / every <= std::min(6.0, max_labels)) break;
  }
  for (double t = 0; t <= span + 1; t += every) {
    const double x = f.X(static_cast<double>(start_ms) + t);
    const bool last = x > f.width - f.right - 20;
    o << "<text x='" << Num(x) << "' y='" << f.height - 8 << "' class='ax' text-anchor='"
      << (last ? "end" : "middle") << "'>" << RelTime(static_cast<int64_t>(t)) << "</text>";
  }
  return o.str();
}

std::string VLine(const Frame& f, double x, const char* colour, const std::string& label,
                  bool dashed) {
  std::ostringstream o;
  const double px = f.X(x);
  o << "<line x1='" << Num(px) << "' x2='" << Num(px) << "' y1='" << f.top << "' y2='"
    << f.height - f.bottom << "' stroke='" << colour << "' stroke-width='1.5'"
    << (dashed ? " stroke-dasharray='4 3'" : "") << "/>";
  if (!label.empty()) {
    o << "<text x='" << Num(px + 3) << "' y='" << f.top + 11 << "' class='ax' fill='" << colour
      << "'>" << Esc(label) << "</text>";
  }
  return o.str();
}

// A polyline that breaks at NaN.
std::string Series(const Frame& f, int64_t start, int64_t step, const std::vector<double>& v,
                   const char* colour) {
  std::ostringstream o;
  bool open = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      if (open) o << "'/>";
      open = false;
      continue;
    }
    const double x = f.X(static_cast<double>(start + static_cast<int64_t>(i) * step));
    const double y = f.Y(v[i]);
    if (!open) {
      o << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.3' points='";
      open = true;
    }
    o << Num(x) << "," << Num(y) << " ";
  }
  if (open) o << "'/>";
  return o.str();
}

// Markers for the release's regression start and the machine's decision; labels only where
// there is room (the timeline), the legend explains them elsewhere.
std::string Marks(const Frame& f, const ReleaseReplay& r, bool labels) {
  std::string o;
  if (r.label.regression_start_ms)
    o += VLine(f, static_cast<double>(*r.label.regression_start_ms), "#7f7f7f",
               labels ? "regression" : "", true);
  if (r.decided_ms) {
    std::string decided;
    if (labels) decided = r.final_verdict == FinalVerdict::kRolledBack ? "rollback" : "promote";
    // Below the regression label, so the two never overprint when they are close.
    Frame g = f;
    g.top += 12;
    o += VLine(g, static_cast<double>(*r.decided_ms), FinalColour(r.final_verdict), decided, false);
  }
  return o;
}

std::string MetricPlot(const sources::ArchivedMetric& m, const sources::Release& rel,
                       const ReleaseReplay& r) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto* v : {&m.primary, &m.canary}) {
    for (double x : *v) {
      if (!std::isfinite(x)) continue;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi == lo) hi = lo + (lo == 0 ? 1 : std::fabs(lo) * 0.1);
  const double pad = (hi - lo) * 0.05;
  Frame f{330, 150};
  f.x0 = static_cast<double>(rel.start_ms);
  f.x1 = static_cast<double>(std::max(rel.end_ms, rel.start_ms + 1));
  f.y0 = lo - pad;
  f.y1 = hi + pad;
  std::string o = SvgOpen(f, m.name);
  o += YAxis(f);
  o += XAxis(f, rel.start_ms);
  o += Series(f, rel.start_ms, rel.step_ms, m.primary, kPrimaryColour);
  o += Series(f, rel.start_ms, rel.step_ms, m.canary, kCanaryColour);
  o += Marks(f, r, false);
  o += "</svg>";
  return o;
}

// Canary weight over time (from the router's log) with one marker per check.
std::string TimelinePlot(const ReleaseReplay& r) {
  Frame f{1010, 170};
  f.x0 = static_cast<double>(r.start_ms);
  // Zoomed to the rollout (its last event plus a quarter), not the whole recording: a canary
  // decided in minutes would otherwise be a sliver at the left of an hour-long axis.
  int64_t last = r.start_ms + 1;
  for (const auto& w : r.timeline) last = std::max(last, w.time_ms);
  for (const auto& c : r.checks) last = std::max(last, c.time_ms);
  if (r.label.regression_start_ms) last = std::max(last, *r.label.regression_start_ms);
  const int64_t span = last - r.start_ms;
  f.x1 = static_cast<double>(std::min(std::max(r.end_ms, last), last + span / 4 + r.step_ms));
  f.y0 = 0;
  f.y1 = 100;
  std::ostringstream o;
  o << SvgOpen(f, "canary weight and checks (green pass, red fail, amber inconclusive)");
  o << YAxis(f, true) << XAxis(f, r.start_ms);
  if (!r.timeline.empty()) {
    o << "<polyline fill='none' stroke='#555' stroke-width='2' points='";
    int weight = r.timeline.front().canary_weight;
    o << Num(f.X(static_cast<double>(r.timeline.front().time_ms))) << "," << Num(f.Y(weight))
      << " ";
    for (const auto& w : r.timeline) {
      const double x = f.X(static_cast<double>(w.time_ms));
      o << Num(x) << "," << Num(f.Y(weight)) << " " << Num(x) << "," << Num(f.Y(w.canary_weight))
        << " ";
      weight = w.canary_weight;
    }
    o << Num(f.X(f.x1)) << "," << Num(f.Y(weight)) << "'/>";
  }
  for (const auto& c : r.checks) {
    o << "<circle cx='" << Num(f.X(static_cast<double>(c.time_ms))) << "' cy='"
      << Num(f.Y(c.canary_weight)) << "' r='4.5' fill='" << VerdictColour(c.verdict)
      << "' stroke='#fff'><title>" << RelTime(c.time_ms - r.start_ms) << " weight "
      << c.canary_weight << ": " << rollout::CheckVerdictName(c.verdict) << ", score "
      << Num(c.score) << (c.reason.empty() ? "" : " — " + Esc(c.reason)) << "</title></circle>";
  }
  o << Marks(f, r, true) << "</svg>";
  return o.str();
}

std::string ConfusionTable(const Confusion& c) {
  std::ostringstream o;
  o << "<table class='cm'><tr><th></th><th>rolled back</th><th>promoted</th>"
       "<th>inconclusive</th></tr>";
  o << "<tr><th>bad (" << c.bad() << ")</th><td class='ok'>" << c.tp
    << " <small>TP</small></td><td class='bad'>" << c.fn << " <small>FN</small></td><td>"
    << c.inconclusive_bad << "</td></tr>";
  o << "<tr><th>good (" << c.good() << ")</th><td class='bad'>" << c.fp
    << " <small>FP</small></td><td class='ok'>" << c.tn << " <small>TN</small></td><td>"
    << c.inconclusive_good << "</td></tr></table>";
  o << "<p>TP rate <b>" << Percent(c.tpr()) << "</b>, FP rate <b>" << Percent(c.fpr()) << "</b>";
  if (c.mean_ttd_ms) {
    o << ", time to detect: mean <b>" << Dur(static_cast<int64_t>(std::llround(*c.mean_ttd_ms)))
      << "</b>, median <b>" << Dur(static_cast<int64_t>(std::llround(*c.median_ttd_ms))) << "</b>";
  }
  if (c.early) o << " (" << c.early << " TP rolled back before their regression began, not timed)";
  o << ". Unlabelled: " << c.unlabelled << ", not replayed: " << c.errors << ".</p>";
  return o.str();
}

// FP rate (x) against TP rate (y), one numbered point per setting.
std::string SweepPlot(const std::vector<SweepRow>& rows, const Objective& objective,
                      std::optional<size_t> best) {
  Frame f{520, 380};
  f.left = 56;
  f.bottom = 40;
  f.x0 = 0;
  f.x1 = 100;
  f.y0 = 0;
  f.y1 = 100;
  double max_fpr = 0;
  for (const auto& r : rows) max_fpr = std::max(max_fpr, r.confusion.fpr() * 100);
  // Zoom the x axis when every setting has a small FP rate, so points do not pile up.
  f.x1 = 100;
  for (double top : {10.0, 20.0, 40.0, 60.0, 80.0}) {
    if (max_fpr <= top * 0.9) {
      f.x1 = top;
      break;
    }
  }
  std::ostringstream o;
  o << SvgOpen(f, "sweep trade-off: TP rate vs FP rate");
  o << YAxis(f, true);
  for (int i = 0; i <= 4; ++i) {
    const double v = f.x1 * i / 4;
    o << "<text x='" << Num(f.X(v)) << "' y='" << f.height - 24
      << "' class='ax' text-anchor='middle'>" << Num(v, 0) << "%</text>";
  }
  o << "<text x='" << (f.left + f.width - f.right) / 2 << "' y='" << f.height - 6
    << "' class='ax' text-anchor='middle'>FP rate (good releases blocked)</text>";
  o << "<text x='14' y='" << f.height / 2 << "' class='ax' text-anchor='middle' "
    << "transform='rotate(-90 14 " << f.height / 2 << ")'>TP rate (bad releases stopped)</text>";
  if (objective.kind == Objective::Kind::kMaxTprUnderFpr && objective.max_fpr * 100 <= f.x1) {
    o << VLine(f, objective.max_fpr * 100, "#9467bd",
               "FP <= " + Num(objective.max_fpr * 100, 1) + "%", true);
  }
  // Settings with the same rates share one point, labelled with all their row numbers.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> points;
  for (size_t i = 0; i < rows.size(); ++i) {
    points[{Num(f.X(rows[i].confusion.fpr() * 100)), Num(f.Y(rows[i].confusion.tpr() * 100))}]
        .push_back(i);
  }
  for (const auto& [xy, idx] : points) {
    const bool is_best = best && std::find(idx.begin(), idx.end(), *best) != idx.end();
    std::string label, title;
    for (size_t i : idx) {
      if (!label.empty()) label += ',';
      label += std::to_string(i + 1);
      if (!title.empty()) title += "; ";
      title += FormatSetting(rows[i].setting);
    }
    o << "<circle cx='" << xy.first << "' cy='" << xy.second << "' r='" << (is_best ? 7 : 5)
      << "' fill='" << (is_best ? kPassColour : "#4c72b0") << "' fill-opacity='0.8'><title>"
      << Esc(title) << "</title></circle>";
    o << "<text x='" << xy.first << "' dx='8' y='" << xy.second << "' dy='-6' class='ax'>" << label
      << "</text>";
  }
  o << "</svg>";
  return o.str();
}

const sources::ArchivedMetric* FindMetric(const sources::Release& rel, const std::string& name) {
  for (const auto& m : rel.metrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace

std::string HtmlReport(const ReportInput& in) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>" << Esc(in.title)
    << "</title><style>"
       "body{font-family:sans-serif;margin:24px;color:#222;max-width:1060px}"
       "h1{margin-bottom:2px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:34px}"
       "h3{margin:26px 0 4px}.sub{color:#666;margin-top:0}"
       "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;"
       "padding:3px 8px;text-align:left}th{background:#f3f3f3}"
       ".cm td{font-size:18px;text-align:center;min-width:110px}.cm .ok{background:#e3f4e3}"
       ".cm .bad{background:#fbe2e2}.pt{font-size:12px;font-weight:bold;fill:#333}"
       ".ax{font-size:10px;fill:#555}.v-promoted{color:#2ca02c;font-weight:bold}"
       ".v-rolled_back{color:#d62728;font-weight:bold}.v-inconclusive{color:#b58400;"
       "font-weight:bold}.metrics{display:flex;flex-wrap:wrap;gap:6px}"
       ".legend span{display:inline-block;width:14px;height:3px;vertical-align:middle;"
       "margin:0 4px 0 12px}.checks td{font-size:12px}.err{color:#d62728}"
       "</style></head><body>";
  o << "<h1>" << Esc(in.title) << "</h1><p class='sub'>" << Esc(in.subtitle) << "</p>";

  if (in.confusion) {
    o << "<h2>Confusion matrix</h2>" << ConfusionTable(*in.confusion);
  }
  if (!in.sweep.empty()) {
    o << "<h2>Sweep</h2><p>Objective: " << Esc(DescribeObjective(in.objective)) << ". Best: <b>"
      << (in.best ? Esc(FormatSetting(in.sweep[*in.best].setting)) : std::string("none"))
      << "</b>.</p><div class='metrics'>" << SweepPlot(in.sweep, in.objective, in.best)
      << "<table><tr><th>#</th><th>setting</th><th>TP</th><th>FN</th><th>FP</th><th>TN</th>"
         "<th>inc.</th><th>TPR</th><th>FPR</th><th>MTTD</th></tr>";
    for (size_t i = 0; i < in.sweep.size(); ++i) {
      const Confusion& c = in.sweep[i].confusion;
      o << "<tr" << (in.best && *in.best == i ? " style='background:#e3f4e3'" : "") << "><td>"
        << i + 1 << "</td><td>" << Esc(FormatSetting(in.sweep[i].setting)) << "</td><td>" << c.tp
        << "</td><td>" << c.fn << "</td><td>" << c.fp << "</td><td>" << c.tn << "</td><td>"
        << c.inconclusive_bad + c.inconclusive_good << "</td><td>" << Percent(c.tpr())
        << "</td><td>" << Percent(c.fpr()) << "</td><td>"
        << (c.mean_ttd_ms ? Dur(static_cast<int64_t>(std::llround(*c.mean_ttd_ms))) : "-")
        << "</td></tr>";
    }
    o << "</table></div>";
  }

  o << "<h2>Releases</h2>";
  if (!in.errors.empty()) {
    o << "<p class='err'>Not replayed:</p><ul class='err'>";
    for (const auto& e : in.errors) o << "<li>" << Esc(e) << "</li>";
    o << "</ul>";
  }
  o << "<table><tr><th>release</th><th>truth</th><th>regression</th><th>verdict</th>"
       "<th>decided</th><th>detected after</th><th>checks</th></tr>";
  for (size_t i = 0; i < in.replays.size(); ++i) {
    const ReleaseReplay& r = *in.replays[i];
    const std::string v = FinalVerdictName(r.final_verdict);
    o << "<tr><td>"
      << (i < kMaxDetailed ? "<a href='#r" + std::to_string(i) + "'>" + Esc(r.release) + "</a>"
                           : Esc(r.release))
      << "</td><td>" << Esc(r.label.truth) << "</td><td>" << Esc(r.label.regression)
      << (r.label.regression_start_ms
              ? " from " + RelTime(*r.label.regression_start_ms - r.start_ms)
              : "")
      << "</td><td class='v-" << v << "'>" << v << "</td><td>"
      << (r.decided_ms ? RelTime(*r.decided_ms - r.start_ms) : "-") << "</td><td>"
      << (r.detected_after_ms ? Dur(*r.detected_after_ms) : "-") << "</td><td>" << r.checks.size()
      << "</td></tr>";
  }
  o << "</table>";
  if (in.replays.size() > kMaxDetailed) {
    o << "<p>Plots for the first " << kMaxDetailed << " releases only.</p>";
  }

  for (size_t i = 0; i < in.replays.size() && i < kMaxDetailed; ++i) {
    const ReleaseReplay& r = *in.replays[i];
    const sources::Release* rel = i < in.releases.size() ? in.releases[i] : nullptr;
    const std::string v = FinalVerdictName(r.final_verdict);
    o << "<h3 id='r" << i << "'>" << Esc(r.release) << " — <span class='v-" << v << "'>" << v
      << "</span></h3><p class='sub'>" << Esc(r.origin) << " · " << FormatTimeMs(r.start_ms)
      << " · " << judge::ModeName(r.mode) << " (" << Esc(r.judge_name) << ")";
    if (!r.label.truth.empty()) o << " · truth: " << Esc(r.label.truth);
    if (!r.label.regression.empty()) o << " (" << Esc(r.label.regression) << ")";
    o << "<br>" << Esc(r.final_reason) << "</p>";
    o << TimelinePlot(r);
    if (rel) {
      o << "<p class='legend'><span style='background:" << kPrimaryColour
        << "'></span>primary<span style='background:" << kCanaryColour
        << "'></span>canary · dashed grey: regression start · solid: the decision (red "
           "rollback, green promotion)</p><div class='metrics'>";
      std::vector<std::string> names;
      if (!r.checks.empty())
        for (const auto& m : r.checks.front().metrics) names.push_back(m.name);
      if (names.empty())
        for (const auto& m : rel->metrics) names.push_back(m.name);
      for (const auto& n : names) {
        if (const auto* m = FindMetric(*rel, n)) o << MetricPlot(*m, *rel, r);
      }
      o << "</div>";
    }
    o << "<table class='checks'><tr><th>time</th><th>weight</th><th>verdict</th><th>score</th>"
         "<th>failed</th><th>not passing</th></tr>";
    for (const auto& c : r.checks) {
      std::string bad;
      for (const auto& m : c.metrics) {
        if (m.classification == judge::Classification::kPass) continue;
        bad += (bad.empty() ? "" : "; ") + Esc(m.name) + " <b>" +
               judge::ClassificationName(m.classification) + "</b>" +
               (m.reason.empty() ? "" : ": " + Esc(m.reason));
      }
      if (c.metrics.empty()) bad = Esc(c.reason);
      o << "<tr><td>" << RelTime(c.time_ms - r.start_ms) << "</td><td>" << c.canary_weight
        << "</td><td style='color:" << VerdictColour(c.verdict) << "'>"
        << rollout::CheckVerdictName(c.verdict) << "</td><td>" << Num(c.score) << "</td><td>"
        << c.failed_checks_after << "</td><td>" << bad << "</td></tr>";
    }
    o << "</table>";
  }
  o << "<p class='sub'>Generated by augur replay. Each check judged only the data up to its "
       "instant.</p></body></html>\n";
  return o.str();
}

}  // namespace augur::replay
