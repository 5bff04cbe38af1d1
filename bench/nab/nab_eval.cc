// augur_nab_eval: scores augur::stats::ScoreSeriesAnomaly on the Numenta Anomaly Benchmark
// (NAB, numenta/NAB ea702d7) with NAB's standard profile, and prints it beside NAB's scoreboard.
//
//   augur_nab_eval [NAB_DIR] [--config window=W,warmup=N,M=N,lambda=X,L=X,k=X,h=X,T=X]...
//                  [--dump DIR]
//
// NAB_DIR holds data/, labels/ and config/ (default: ../shared/data/nab from the repository
// root; also looked for relative to build/ and build/bench/). Each --config adds one parameter
// set (M = novelty_window; "inf" switches a rule off). Without any, a fixed 11-row grid runs and
// is printed whole; the scoreboard then shows the library defaults and the best grid row, the
// latter labelled in-sample. --dump writes per-row CSVs (value, z, severity, window, sweep
// weight, probation) for plots. Takes ~8 s on one core.
//
// Sanity checks printed first: a perfect detector (fires on the first row of every window) must
// score 100, the null detector 0, and uniform random scores ~10 (NAB's random: 11.0).
//
// The scoring is a port of NAB's nab/sweeper.py and nab/optimizer.py (HEAD):
// - windows from labels/combined_windows.json, entered when a row's timestamp equals the window
//   start, left after the row equal to its end;
// - rows before min(floor(0.15 N), 0.15 * 5000) are probationary and not scored;
// - a row inside a window weighs scaledSigmoid(-(right - i + 1) / width) * A_TP /
//   scaledSigmoid(-1); only the best (earliest) detection of a window counts, and a window
//   without one costs -A_FN; a row outside weighs A_FP * scaledSigmoid(|i - previous right| /
//   (previous width - 1)), or -A_FP before the first window; scaledSigmoid(y) = 2 / (1 +
//   e^(5y)) - 1, and -1 for y > 3;
// - a row is a detection when its score >= the threshold; the threshold is chosen over the
//   whole corpus by sweeping every distinct score (NAB's optimizer does exactly this sweep);
// - normalised score = 100 (S - S_null) / (S_perfect - S_null), S_perfect = A_TP x #windows,
//   S_null = the score of a detector that never fires.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "augur/stats/anomaly.h"

namespace {

namespace fs = std::filesystem;
using augur::stats::AnomalyOptions;

struct CostMatrix {
  double tp = 1, fp = 0.11, fn = 1;
};

// One data file with NAB's per-row sweep weights precomputed (they do not depend on the
// detector).
struct DataFile {
  std::string name;  // e.g. "realKnownCause/nyc_taxi.csv"
  std::vector<double> values;
  std::vector<size_t> window_starts;  // row index of each window's first row
  std::vector<int> window_of_row;     // corpus-wide window id, -1 outside any window
  std::vector<double> sweep_score;    // the row's contribution if it is a detection
  size_t probation = 0;               // rows [0, probation) are not scored
};

struct Corpus {
  std::vector<DataFile> files;
  size_t window_count = 0;  // all windows in the label file (S_perfect counts these)
  CostMatrix cost;
};

double ScaledSigmoid(double y) { return y > 3.0 ? -1.0 : 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0; }

// NAB timestamps are "2014-04-10 07:15:00" in data and "2014-04-10 07:15:00.000000" in labels.
std::string Stamp(const std::string& s) { return s.substr(0, 19); }

bool LoadCsv(const fs::path& path, std::vector<std::string>* stamps, std::vector<double>* values) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  std::getline(in, line);  // header timestamp,value
  while (std::getline(in, line)) {
    const size_t comma = line.find(',');
    if (comma == std::string::npos) continue;
    stamps->push_back(Stamp(line.substr(0, comma)));
    values->push_back(std::strtod(line.c_str() + comma + 1, nullptr));
  }
  return true;
}

// sweeper.py calcSweepScore, for one file.
bool PrepareFile(const std::vector<std::string>& stamps,
                 const std::vector<std::pair<std::string, std::string>>& windows,
                 const CostMatrix& cost, int first_window_id, DataFile* f) {
  const size_t n = stamps.size();
  const double max_tp = ScaledSigmoid(-1.0);
  f->probation = static_cast<size_t>(std::min(std::floor(0.15 * static_cast<double>(n)), 750.0));
  f->window_of_row.assign(n, -1);
  f->sweep_score.assign(n, 0);
  size_t next = 0;
  int cur = -1;
  long cur_right = -1, prev_right = -1;
  double cur_width = 0, prev_width = 0;
  auto index_of = [&](const std::string& s) -> long {
    auto it = std::find(stamps.begin(), stamps.end(), s);
    return it == stamps.end() ? -1 : static_cast<long>(it - stamps.begin());
  };
  for (size_t i = 0; i < n; ++i) {
    if (next < windows.size() && stamps[i] == windows[next].first) {
      cur = first_window_id + static_cast<int>(next);
      cur_right = index_of(windows[next].second);
      if (cur_right < 0) {
        std::fprintf(stderr, "%s: window end %s not found\n", f->name.c_str(),
                     windows[next].second.c_str());
        return false;
      }
      cur_width = static_cast<double>(cur_right - static_cast<long>(i) + 1);
      f->window_starts.push_back(i);
      ++next;
    }
    if (cur >= 0) {
      const double pos = -static_cast<double>(cur_right - static_cast<long>(i) + 1) / cur_width;
      f->sweep_score[i] = ScaledSigmoid(pos) * cost.tp / max_tp;
      f->window_of_row[i] = cur;
    } else if (prev_right < 0) {
      f->sweep_score[i] = -1.0 * cost.fp;
    } else {
      const double pos =
          std::fabs(static_cast<double>(prev_right - static_cast<long>(i))) / (prev_width - 1);
      f->sweep_score[i] = ScaledSigmoid(pos) * cost.fp;
    }
    if (cur >= 0 && static_cast<long>(i) == cur_right) {
      prev_right = cur_right;
      prev_width = cur_width;
      cur = -1;
    }
  }
  if (next != windows.size()) {
    std::fprintf(stderr, "%s: only %zu of %zu windows entered\n", f->name.c_str(), next,
                 windows.size());
    return false;
  }
  return true;
}

bool LoadCorpus(const fs::path& dir, Corpus* corpus) {
  std::ifstream wf(dir / "labels" / "combined_windows.json");
  std::ifstream pf(dir / "config" / "profiles.json");
  if (!wf || !pf) return false;
  const nlohmann::json windows = nlohmann::json::parse(wf);
  const nlohmann::json profiles = nlohmann::json::parse(pf);
  const auto& cm = profiles.at("standard").at("CostMatrix");
  corpus->cost = {cm.at("tpWeight").get<double>(), cm.at("fpWeight").get<double>(),
                  cm.at("fnWeight").get<double>()};
  int window_id = 0;
  for (const auto& [name, list] : windows.items()) {  // nlohmann orders keys: deterministic
    DataFile f;
    f.name = name;
    std::vector<std::string> stamps;
    if (!LoadCsv(dir / "data" / name, &stamps, &f.values)) {
      std::fprintf(stderr, "cannot read %s\n", (dir / "data" / name).c_str());
      return false;
    }
    std::vector<std::pair<std::string, std::string>> limits;
    for (const auto& w : list) {
      limits.emplace_back(Stamp(w.at(0).get<std::string>()), Stamp(w.at(1).get<std::string>()));
    }
    if (!PrepareFile(stamps, limits, corpus->cost, window_id, &f)) return false;
    window_id += static_cast<int>(limits.size());
    corpus->files.push_back(std::move(f));
  }
  corpus->window_count = static_cast<size_t>(window_id);
  return true;
}

struct SweepResult {
  double best_score = 0;  // raw NAB score at the best threshold
  double threshold = 0;
  double null_score = 0;  // raw score with no detection
  size_t tp_windows = 0, fp_rows = 0;
};

// sweeper.py calcScoreByThreshold over the concatenated corpus, then the best row as in
// optimizer.py (the first, i.e. highest, threshold among equal best scores).
SweepResult Sweep(const Corpus& corpus, const std::vector<std::vector<double>>& scores) {
  struct Row {
    double score, sweep;
    int window;
  };
  std::vector<Row> rows;
  std::vector<double> best(corpus.window_count, std::nan(""));
  for (size_t f = 0; f < corpus.files.size(); ++f) {
    const DataFile& file = corpus.files[f];
    for (size_t i = file.probation; i < file.values.size(); ++i) {
      rows.push_back({scores[f][i], file.sweep_score[i], file.window_of_row[i]});
      if (file.window_of_row[i] >= 0) best[file.window_of_row[i]] = -corpus.cost.fn;
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.score > b.score; });
  double fp_sum = 0, window_sum = 0;
  for (double b : best) {
    if (!std::isnan(b)) window_sum += b;  // windows entirely in probation are not scored
  }
  SweepResult r;
  r.null_score = window_sum;
  r.best_score = window_sum;
  r.threshold = 1.1;  // NAB's "nothing fires"
  size_t tp = 0, fp = 0;
  std::vector<char> hit(corpus.window_count, 0);
  double cur_threshold = 1.1;
  auto record = [&] {
    const double total = fp_sum + window_sum;
    if (total > r.best_score) {
      r.best_score = total;
      r.threshold = cur_threshold;
      r.tp_windows = tp;
      r.fp_rows = fp;
    }
  };
  for (const Row& row : rows) {
    if (row.score != cur_threshold) {
      record();
      cur_threshold = row.score;
    }
    if (row.window < 0) {
      fp_sum += row.sweep;
      ++fp;
    } else {
      if (!hit[row.window]) {
        hit[row.window] = 1;
        ++tp;
      }
      if (row.sweep > best[row.window]) {
        window_sum += row.sweep - best[row.window];
        best[row.window] = row.sweep;
      }
    }
  }
  record();
  return r;
}

double Normalised(const Corpus& c, const SweepResult& s) {
  const double perfect = c.cost.tp * static_cast<double>(c.window_count);
  return 100.0 * (s.best_score - s.null_score) / (perfect - s.null_score);
}

struct Config {
  AnomalyOptions options;
  std::string label;
};

std::string Describe(const AnomalyOptions& o) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "window=%zu,warmup=%zu,M=%zu,lambda=%g,L=%g,k=%g,h=%g,T=%g",
                o.window, o.warmup, o.novelty_window, o.ewma_lambda, o.ewma_L, o.cusum_k, o.cusum_h,
                o.mad_threshold);
  return buf;
}

bool ParseConfig(const std::string& text, AnomalyOptions* o) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = item.substr(0, eq);
    const double v = std::strtod(item.c_str() + eq + 1, nullptr);  // accepts "inf"
    if (key == "window")
      o->window = static_cast<size_t>(v);
    else if (key == "warmup")
      o->warmup = static_cast<size_t>(v);
    else if (key == "lambda")
      o->ewma_lambda = v;
    else if (key == "L")
      o->ewma_L = v;
    else if (key == "k")
      o->cusum_k = v;
    else if (key == "h")
      o->cusum_h = v;
    else if (key == "T")
      o->mad_threshold = v;
    else if (key == "M")
      o->novelty_window = static_cast<size_t>(v);
    else
      return false;
  }
  return true;
}

struct Evaluated {
  Config config;
  SweepResult sweep;
  double normalised = 0;
  double seconds = 0;
};

// Runs the scorer over the corpus. NAB wants a number per row: missing and not-yet-scored rows
// (none in NAB's data; warmup rows are scored 0 by the library) count as 0. The ranking uses
// `severity` mapped by s / (1 + s), a monotone map into [0, 1): identical thresholds to `score`,
// whose erf saturates to exactly 1.0 beyond s ~ 8.3 and would tie the strongest detections.
bool Evaluate(const Corpus& corpus, const Config& config, Evaluated* out,
              const char* dump_dir = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<double>> scores;
  for (const DataFile& f : corpus.files) {
    auto r = augur::stats::ScoreSeriesAnomaly(f.values, config.options);
    if (!r) {
      std::fprintf(stderr, "%s: %s\n", f.name.c_str(), r.error().message.c_str());
      return false;
    }
    std::vector<double> s(f.values.size(), 0);
    for (size_t i = 0; i < s.size(); ++i) {
      const double sev = r->severity[i];
      s[i] = std::isfinite(sev) ? sev / (1 + sev) : 0;
    }
    if (dump_dir) {
      std::string fname = f.name;
      std::replace(fname.begin(), fname.end(), '/', '_');
      std::ofstream out(fs::path(dump_dir) / fname);
      out << "value,z,severity,window,sweep,probation\n";
      for (size_t i = 0; i < s.size(); ++i) {
        out << f.values[i] << ',' << r->z[i] << ',' << r->severity[i] << ',' << f.window_of_row[i]
            << ',' << f.sweep_score[i] << ',' << (i < f.probation) << '\n';
      }
    }
    scores.push_back(std::move(s));
  }
  out->config = config;
  out->sweep = Sweep(corpus, scores);
  out->normalised = Normalised(corpus, out->sweep);
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return true;
}

// Reference detectors built from the labels: sanity checks of the scorer itself.
double ScoreSynthetic(const Corpus& corpus,
                      const std::function<double(const DataFile&, size_t)>& fn,
                      SweepResult* sweep_out = nullptr) {
  std::vector<std::vector<double>> scores;
  for (const DataFile& f : corpus.files) {
    std::vector<double> s(f.values.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = fn(f, i);
    scores.push_back(std::move(s));
  }
  SweepResult sweep = Sweep(corpus, scores);
  if (sweep_out) *sweep_out = sweep;
  return Normalised(corpus, sweep);
}

fs::path FindNab(const char* arg) {
  if (arg) return arg;
  for (const char* c :
       {"../shared/data/nab", "../../shared/data/nab", "../../../shared/data/nab"}) {
    if (fs::exists(fs::path(c) / "labels" / "combined_windows.json")) return c;
  }
  return "../shared/data/nab";
}

std::vector<Config> DefaultGrid() {
  // Small on purpose, and printed whole: the trailing window (how fast "normal" adapts) x the
  // novelty memory, with the library's rule settings, plus two ablations of the defaults.
  std::vector<Config> grid;
  const AnomalyOptions defaults;
  grid.push_back({defaults, "library defaults"});
  AnomalyOptions no_novelty = defaults;
  no_novelty.novelty_window = 0;
  grid.push_back({no_novelty, "defaults, no novelty discount"});
  AnomalyOptions point_only = defaults;
  point_only.ewma_L = std::numeric_limits<double>::infinity();
  point_only.cusum_h = std::numeric_limits<double>::infinity();
  grid.push_back({point_only, "defaults, MAD z rule only"});
  for (size_t window : {250, 1000, 4000}) {
    for (size_t novelty : {500, 1000, 2000}) {
      if (window == defaults.window && novelty == defaults.novelty_window) continue;
      AnomalyOptions o = defaults;
      o.window = window;
      o.novelty_window = novelty;
      grid.push_back({o, "grid"});
    }
  }
  return grid;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_start = std::chrono::steady_clock::now();
  const char* dir_arg = nullptr;
  const char* dump_dir = nullptr;  // --dump DIR: per-row CSVs of the scorer, for plots
  std::vector<Config> configs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      Config c;
      if (!ParseConfig(argv[++i], &c.options)) {
        std::fprintf(stderr, "bad --config %s\n", argv[i]);
        return 2;
      }
      c.label = "--config";
      configs.push_back(c);
    } else if (a == "--dump" && i + 1 < argc) {
      dump_dir = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: %s [NAB_DIR] [--config window=W,warmup=N,M=N,lambda=X,L=X,k=X,h=X,T=X]... "
          "[--dump DIR]\n",
          argv[0]);
      return 0;
    } else {
      dir_arg = argv[i];
    }
  }
  const fs::path dir = FindNab(dir_arg);
  Corpus corpus;
  if (!LoadCorpus(dir, &corpus)) {
    std::fprintf(stderr, "cannot load NAB from %s (want data/, labels/, config/)\n", dir.c_str());
    return 1;
  }
  size_t rows = 0;
  for (const auto& f : corpus.files) rows += f.values.size();
  std::printf(
      "NAB corpus %s: %zu files, %zu rows, %zu windows; standard profile A_TP=%g "
      "A_FN=%g A_FP=%g\n\n",
      dir.c_str(), corpus.files.size(), rows, corpus.window_count, corpus.cost.tp, corpus.cost.fn,
      corpus.cost.fp);

  // Sanity checks of the scorer: a perfect detector fires on the first row of every window.
  SweepResult perfect_sweep, null_sweep;
  const double perfect = ScoreSynthetic(
      corpus,
      [](const DataFile& f, size_t i) {
        return std::find(f.window_starts.begin(), f.window_starts.end(), i) != f.window_starts.end()
                   ? 1.0
                   : 0.0;
      },
      &perfect_sweep);
  const double null = ScoreSynthetic(
      corpus, [](const DataFile&, size_t) { return 0.0; }, &null_sweep);
  double random_sum = 0;
  const int kRandomSeeds = 5;
  for (int seed = 0; seed < kRandomSeeds; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    random_sum += ScoreSynthetic(corpus, [&](const DataFile&, size_t) { return u(rng); });
  }
  std::printf(
      "Scorer sanity: perfect = %.2f (raw %.3f, %zu windows hit, S_null = %.3f), "
      "null = %.2f, random (uniform, mean of %d seeds) = %.2f\n\n",
      perfect, perfect_sweep.best_score, perfect_sweep.tp_windows, perfect_sweep.null_score, null,
      kRandomSeeds, random_sum / kRandomSeeds);

  const bool user_configs = !configs.empty();
  if (!user_configs) configs = DefaultGrid();
  std::vector<Evaluated> results;
  std::printf(
      "| Augur parameters | rules | threshold (severity) | windows hit | FP rows | "
      "NAB standard | seconds |\n|---|---|---|---|---|---|---|\n");
  for (const Config& c : configs) {
    Evaluated e;
    if (!Evaluate(corpus, c, &e, dump_dir)) return 1;
    const double th = e.sweep.threshold;
    const double sev = th >= 1.0 ? std::numeric_limits<double>::infinity() : th / (1 - th);
    std::printf("| %s | %s | %.3f | %zu | %zu | %.1f | %.2f |\n", Describe(c.options).c_str(),
                c.label.c_str(), sev, e.sweep.tp_windows, e.sweep.fp_rows, e.normalised, e.seconds);
    results.push_back(e);
  }
  const Evaluated& best = *std::max_element(
      results.begin(), results.end(),
      [](const Evaluated& a, const Evaluated& b) { return a.normalised < b.normalised; });

  std::vector<std::pair<std::string, double>> board = {{"Perfect", 100.0},
                                                       {"ARTime", 74.9},
                                                       {"Numenta HTM", 70.5},
                                                       {"CAD OSE", 69.9},
                                                       {"earthgecko Skyline", 58.2},
                                                       {"KNN CAD", 58.0},
                                                       {"Relative Entropy", 54.6},
                                                       {"Random Cut Forest", 51.7},
                                                       {"Twitter ADVec", 47.1},
                                                       {"Windowed Gaussian", 39.6},
                                                       {"Etsy Skyline", 35.7},
                                                       {"Bayesian Changepoint", 17.7},
                                                       {"EXPoSE", 16.4},
                                                       {"Random", 11.0},
                                                       {"Null", 0.0}};
  auto augur_row = [](const Evaluated& e, const char* what) {
    const double th = e.sweep.threshold;
    char buf[256];
    std::snprintf(buf, sizeof buf, "**Augur ScoreSeriesAnomaly, %s** (%s; severity >= %.2f)", what,
                  Describe(e.config.options).c_str(), th / (1 - th));
    return std::make_pair(std::string(buf), e.normalised);
  };
  if (user_configs) {
    board.push_back(augur_row(best, "best --config"));
  } else {
    board.push_back(augur_row(results.front(), "library defaults"));
    if (&best != &results.front()) {
      board.push_back(augur_row(best, "best of the grid above, in-sample"));
    }
  }
  std::stable_sort(board.begin(), board.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::printf("\n| Detector | NAB standard profile |\n|---|---|\n");
  for (const auto& [name, score] : board) std::printf("| %s | %.1f |\n", name.c_str(), score);
  std::printf(
      "\nOther rows: NAB README v1.0 scoreboard (shared/reference/stats.md 3.1). Each Augur "
      "row uses its own corpus-optimised threshold, as NAB's optimiser does. Total %.1f s.\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  return 0;
}
