// The replay engine: it judges exactly what a live analysis would judge at the same instants,
// never looks past the simulated now, and ends in the verdict the state machine reaches.
#include "augur/replay/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>

#include "augur/analysis/analysis.h"
#include "augur/contracts/kayenta.h"
#include "augur/replay/report.h"
#include "replay/replay_testutil.h"

namespace augur::replay {
namespace {

using testing::kMinute;
using testing::kT0;
using testing::MakeModel;
using testing::MakeRelease;
using testing::ReleaseSpec;

ReplayOptions Options(judge::Mode mode = judge::Mode::kAugur) {
  ReplayOptions o;
  o.model = MakeModel();
  o.mode = mode;
  return o;
}

// The model as Analyze sees it during replay: the archive is keyed by metric name.
judge::Model DirectModel(judge::Mode mode) {
  judge::Model m = MakeModel();
  m.mode = mode;
  for (auto& x : m.metrics) x.query = x.name;
  return m;
}

void ExpectSameJudgement(const CheckRecord& c, const analysis::Analysis& direct) {
  EXPECT_EQ(c.outcome, direct.judgement.outcome) << "check at " << c.time_ms;
  EXPECT_DOUBLE_EQ(c.score, direct.judgement.score) << "check at " << c.time_ms;
  ASSERT_EQ(c.metrics.size(), direct.judgement.results.size());
  for (size_t i = 0; i < c.metrics.size(); ++i) {
    EXPECT_EQ(c.metrics[i].name, direct.judgement.results[i].name);
    EXPECT_EQ(c.metrics[i].classification, direct.judgement.results[i].classification)
        << c.metrics[i].name << " at " << c.time_ms;
    EXPECT_EQ(c.metrics[i].reason, direct.judgement.results[i].reason);
  }
}

TEST(Replay, DefaultSpecTimelineAndPromotion) {
  auto rel = MakeRelease({.name = "good", .minutes = 30, .seed = 7, .truth = "good"});
  auto r = ReplayRelease(rel, Options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->final_verdict, FinalVerdict::kPromoted) << FormatTimeline(*r, true);
  // Ticks at +0 (init), +1m (progressing), +2m (weight 10); checks at +3m..+7m for 10..50.
  ASSERT_EQ(r->checks.size(), 5u) << FormatTimeline(*r, true);
  for (size_t i = 0; i < r->checks.size(); ++i) {
    EXPECT_EQ(r->checks[i].time_ms, kT0 + static_cast<int64_t>(3 + i) * kMinute);
    EXPECT_EQ(r->checks[i].canary_weight, 10 * static_cast<int>(i + 1));
    EXPECT_EQ(r->checks[i].verdict, rollout::CheckVerdict::kPass);
    EXPECT_EQ(r->checks[i].window_start_ms, kT0);
    EXPECT_EQ(r->checks[i].window_end_ms, r->checks[i].time_ms);
  }
  ASSERT_TRUE(r->decided_ms);
  EXPECT_EQ(*r->decided_ms, kT0 + 7 * kMinute);  // the check at weight 50 starts promotion
  EXPECT_EQ(r->judge_name, "augur-v1");
  // The router saw 0 (takeover), 10..50, then 0 again when traffic went back to the primary.
  std::vector<int> weights;
  for (const auto& w : r->timeline) weights.push_back(w.canary_weight);
  EXPECT_EQ(weights, (std::vector<int>{0, 10, 20, 30, 40, 50, 0}));
}

TEST(Replay, ClearlyBadReleasesRollBack) {
  auto latency = MakeRelease(
      {.name = "slow", .minutes = 30, .seed = 3, .latency_factor = 1.5, .truth = "bad"});
  auto r = ReplayRelease(latency, Options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->final_verdict, FinalVerdict::kRolledBack) << FormatTimeline(*r, true);
  ASSERT_TRUE(r->detected_after_ms);
  EXPECT_EQ(*r->detected_after_ms, *r->decided_ms - kT0);
  // threshold 2: the second failed check rolls back at once.
  EXPECT_EQ(r->checks.back().failed_checks_after, 2);
  EXPECT_EQ(r->checks.back().phase_after, rollout::Phase::kFailed);
  bool latency_high = false;
  for (const auto& m : r->checks.back().metrics) {
    if (m.name == "latency") latency_high = m.classification == judge::Classification::kHigh;
  }
  EXPECT_TRUE(latency_high);

  auto burst = MakeRelease(
      {.name = "errors", .minutes = 30, .seed = 4, .error_factor = 6.0, .truth = "bad"});
  auto b = ReplayRelease(burst, Options());
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->final_verdict, FinalVerdict::kRolledBack) << FormatTimeline(*b, true);
}

TEST(Replay, VerdictsEqualDirectAnalyzeAtTheSameInstants) {
  for (judge::Mode mode : {judge::Mode::kAugur, judge::Mode::kKayenta}) {
    for (double factor : {1.0, 1.12}) {
      auto rel = MakeRelease(
          {.name = "r", .minutes = 40, .seed = 11, .latency_factor = factor, .truth = ""});
      ReplayOptions o = Options(mode);
      o.spec = DefaultSpec(kMinute);
      o.spec->analysis.step_weight = 5;  // more checks
      o.spec->analysis.threshold = 5;
      auto r = ReplayRelease(rel, o);
      ASSERT_TRUE(r) << r.error().message;
      ASSERT_GE(r->checks.size(), 3u);
      auto source = sources::NewArchiveSource(rel);
      for (const auto& c : r->checks) {
        analysis::AnalysisRequest req;
        req.start_ms = kT0;
        req.end_ms = c.time_ms;
        req.step_ms = kMinute;
        auto direct = analysis::Analyze(DirectModel(mode), *source, req);
        ASSERT_TRUE(direct) << direct.error().message;
        ExpectSameJudgement(c, *direct);
      }
    }
  }
}

TEST(Replay, TrailingWindowMatchesDirectAnalyze) {
  auto rel = MakeRelease({.name = "r", .minutes = 40, .seed = 12, .truth = ""});
  ReplayOptions o = Options();
  o.window = WindowKind::kTrailing;
  o.trailing_ms = 5 * kMinute;
  auto r = ReplayRelease(rel, o);
  ASSERT_TRUE(r) << r.error().message;
  auto source = sources::NewArchiveSource(rel);
  for (const auto& c : r->checks) {
    // 5 points, now-4m .. now, clipped to the release's start.
    const int64_t from = std::max(kT0, c.time_ms - 4 * kMinute);
    EXPECT_EQ(c.window_start_ms, from);
    analysis::AnalysisRequest req{"", {}, from, c.time_ms, kMinute};
    auto direct = analysis::Analyze(DirectModel(judge::Mode::kAugur), *source, req);
    ASSERT_TRUE(direct) << direct.error().message;
    ExpectSameJudgement(c, *direct);
  }
}

TEST(Replay, RolloutOffsetLeavesHistoryForTrailingWindowsOnly) {
  auto rel = MakeRelease({.name = "r", .minutes = 40, .seed = 14, .truth = "good"});
  ReplayOptions o = Options();
  o.rollout_offset_ms = 10 * kMinute;
  auto since = ReplayRelease(rel, o);
  ASSERT_TRUE(since) << since.error().message;
  ASSERT_FALSE(since->checks.empty());
  EXPECT_EQ(since->checks.front().time_ms, kT0 + 13 * kMinute);
  EXPECT_EQ(since->checks.front().window_start_ms, kT0 + 10 * kMinute);
  o.window = WindowKind::kTrailing;
  o.trailing_ms = 12 * kMinute;
  auto trailing = ReplayRelease(rel, o);
  ASSERT_TRUE(trailing) << trailing.error().message;
  EXPECT_EQ(trailing->checks.front().window_start_ms, kT0 + 2 * kMinute);
  o.rollout_offset_ms = 41 * kMinute;
  EXPECT_FALSE(ReplayRelease(rel, o));
}

TEST(Replay, SequentialModeCarriesStateLikeALiveLoop) {
  auto rel =
      MakeRelease({.name = "r", .minutes = 40, .seed = 13, .latency_factor = 1.3, .truth = ""});
  ReplayOptions o = Options(judge::Mode::kSequential);
  o.spec = DefaultSpec(2 * kMinute);  // interval of two steps: each check sees two new points
  o.spec->analysis.step_weight = 5;
  o.spec->analysis.threshold = 3;
  auto r = ReplayRelease(rel, o);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_GE(r->checks.size(), 2u);
  auto source = sources::NewArchiveSource(rel);
  judge::SequentialState state;
  int64_t from = kT0;
  for (const auto& c : r->checks) {
    EXPECT_EQ(c.window_start_ms, from);
    analysis::AnalysisRequest req{"", {}, from, c.time_ms, kMinute};
    auto direct =
        analysis::AnalyzeSequential(DirectModel(judge::Mode::kSequential), *source, req, &state);
    ASSERT_TRUE(direct) << direct.error().message;
    ExpectSameJudgement(c, *direct);
    from = c.time_ms + kMinute;
  }
}

// Records every request, to prove that no check asks for a point after its instant.
class SpySource : public sources::MetricSource {
 public:
  explicit SpySource(const sources::MetricSource& inner) : inner_(inner) {}
  std::string name() const override { return "spy"; }
  Result<sources::SeriesPair> Fetch(const sources::MetricRequest& r) const override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
    }
    return inner_.Fetch(r);
  }
  Status Check() const override { return {}; }
  std::vector<sources::MetricRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  const sources::MetricSource& inner_;
  mutable std::mutex mu_;
  mutable std::vector<sources::MetricRequest> requests_;
};

TEST(Replay, JudgeSeesOnlyDataUpToNow) {
  // A regression that starts at minute 40, on a slow rollout that is still checking then.
  ReleaseSpec clean{.name = "late", .minutes = 70, .seed = 21, .truth = "good"};
  ReleaseSpec late = clean;
  late.latency_factor = 3.0;
  late.error_factor = 8.0;
  late.from_minute = 40;
  late.truth = "bad";
  ReplayOptions o = Options();
  o.window = WindowKind::kTrailing;
  o.trailing_ms = 10 * kMinute;
  o.spec = DefaultSpec(kMinute);
  o.spec->analysis.step_weight = 2;
  o.spec->analysis.max_weight = 100;
  o.spec->analysis.threshold = 3;

  auto bad_rel = MakeRelease(late);
  auto archive = sources::NewArchiveSource(bad_rel);
  SpySource spy(*archive);
  auto bad = ReplaySource(bad_rel, spy, o);
  ASSERT_TRUE(bad) << bad.error().message;
  auto good = ReplayRelease(MakeRelease(clean), o);
  ASSERT_TRUE(good) << good.error().message;

  EXPECT_EQ(bad->final_verdict, FinalVerdict::kRolledBack) << FormatTimeline(*bad, true);
  ASSERT_TRUE(bad->decided_ms);
  EXPECT_GE(*bad->decided_ms, kT0 + 40 * kMinute) << FormatTimeline(*bad, true);
  EXPECT_GE(*bad->detected_after_ms, 0);
  // Before minute 40 the two releases are the same data, so the same judgements.
  size_t before = 0;
  for (size_t i = 0; i < bad->checks.size() && i < good->checks.size(); ++i) {
    if (bad->checks[i].time_ms >= kT0 + 40 * kMinute) break;
    EXPECT_EQ(bad->checks[i].time_ms, good->checks[i].time_ms);
    EXPECT_EQ(bad->checks[i].outcome, good->checks[i].outcome);
    EXPECT_DOUBLE_EQ(bad->checks[i].score, good->checks[i].score);
    ++before;
  }
  EXPECT_GE(before, 30u);
  // Every fetch ended at the instant of the check that asked for it.
  auto reqs = spy.requests();
  ASSERT_EQ(reqs.size(), bad->checks.size() * 3);  // three metrics per check
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(reqs[i].end_ms, bad->checks[i / 3].time_ms);
    EXPECT_LE(reqs[i].start_ms, reqs[i].end_ms);
  }
}

TEST(Replay, DataEndingBeforeADecisionIsInconclusive) {
  auto rel = MakeRelease({.name = "short", .minutes = 5, .seed = 5, .truth = "good"});
  auto r = ReplayRelease(rel, Options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->final_verdict, FinalVerdict::kInconclusive);
  EXPECT_FALSE(r->decided_ms);
  EXPECT_NE(r->final_reason.find("data ended"), std::string::npos) << r->final_reason;
  EXPECT_EQ(r->checks.size(), 3u);  // +3m, +4m, +5m
}

TEST(Replay, MissingMetricIsAClearError) {
  auto rel = MakeRelease({.name = "partial", .seed = 5, .truth = ""});
  rel.metrics.pop_back();  // no "requests"
  auto r = ReplayRelease(rel, Options());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("requests"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("partial.json"), std::string::npos) << r.error().message;
}

TEST(Replay, IntervalShorterThanStepIsRejected) {
  auto rel = MakeRelease({.name = "r", .seed = 5, .truth = ""});
  ReplayOptions o = Options();
  o.interval_ms = 30000;
  auto r = ReplayRelease(rel, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("shorter"), std::string::npos) << r.error().message;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A Kayenta metricSetPairList with scopes, judged with a Kayenta canary config: no envelope.
std::string KayentaList(double latency_factor, uint64_t seed) {
  auto rel = MakeRelease(
      {.name = "k", .minutes = 20, .seed = seed, .latency_factor = latency_factor, .truth = ""});
  auto list = [&](const std::vector<double>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(v[i]);  // not "," + to_string(): GCC 12 -Wrestrict false positive
    }
    return s + "]";
  };
  std::string scope = "{\"startTimeMillis\": " + std::to_string(kT0) + ", \"stepMillis\": 60000}";
  std::string out = "[";
  // Kayenta's model names the metrics error-rate, latency-p99 and cpu.
  const char* names[] = {"error-rate", "latency-p99", "cpu"};
  for (int i = 0; i < 3; ++i) {
    const auto& m = rel.metrics[i == 0 ? 1 : i == 1 ? 0 : 2];
    out += std::string(i ? "," : "") + "{\"name\": \"" + names[i] +
           "\", \"id\": \"x\", \"tags\": {}, \"values\": {\"control\": " + list(m.primary) +
           ", \"experiment\": " + list(m.canary) + "}, \"scopes\": {\"control\": " + scope +
           ", \"experiment\": " + scope + "}, \"attributes\": {}}";
  }
  return out + "]";
}

TEST(Replay, KayentaArchiveReplaysWithAKayentaConfig) {
  auto model = contracts::ParseKayentaCanaryConfig(
      ReadText(std::string(AUGUR_SOURCE_DIR) + "/models/kayenta-default.json"));
  ASSERT_TRUE(model) << model.error().message;
  ReplayOptions o;
  o.model = *model;
  for (auto [factor, want] :
       {std::pair{1.0, FinalVerdict::kPromoted}, std::pair{2.0, FinalVerdict::kRolledBack}}) {
    auto rel = sources::ParseArchive(KayentaList(factor, 31), "kayenta-list.json");
    ASSERT_TRUE(rel) << rel.error().message;
    EXPECT_EQ(rel->start_ms, kT0);
    auto r = ReplayRelease(*rel, o);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->mode, judge::Mode::kKayenta);
    EXPECT_EQ(r->judge_name, "NetflixACAJudge-v1.0");
    EXPECT_EQ(r->final_verdict, want) << FormatTimeline(*r, true);
  }
}

TEST(Replay, ParallelEqualsSequential) {
  std::vector<sources::Release> rels;
  for (int i = 0; i < 8; ++i) {
    rels.push_back(MakeRelease({.name = "r" + std::to_string(i),
                                .minutes = 20,
                                .seed = static_cast<uint64_t>(100 + i),
                                .latency_factor = i % 3 == 0 ? 1.4 : 1.0,
                                .truth = i % 3 == 0 ? "bad" : "good"}));
  }
  ReplayOptions o = Options();
  std::vector<size_t> seen;
  auto one = ReplayAll(rels, o, 1);
  auto two = ReplayAll(rels, o, 4, [&](size_t done, size_t total) {
    EXPECT_EQ(total, rels.size());
    seen.push_back(done);
  });
  ASSERT_EQ(one.size(), rels.size());
  ASSERT_EQ(two.size(), rels.size());
  for (size_t i = 0; i < rels.size(); ++i) {
    ASSERT_TRUE(one[i]) << one[i].error().message;
    ASSERT_TRUE(two[i]) << two[i].error().message;
    EXPECT_EQ(one[i]->release, rels[i].name);
    EXPECT_EQ(ReplayJson(*one[i]), ReplayJson(*two[i]));
  }
  // Progress is reported once per release, counting up.
  ASSERT_EQ(seen.size(), rels.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
}

TEST(Replay, JsonLineCarriesTheRequiredFields) {
  auto rel =
      MakeRelease({.name = "j", .minutes = 30, .seed = 3, .latency_factor = 1.5, .truth = "bad"});
  auto r = ReplayRelease(rel, Options());
  ASSERT_TRUE(r) << r.error().message;
  const std::string j = ReplayJson(*r);
  EXPECT_EQ(j.find('\n'), std::string::npos);
  for (const char* key : {"\"release\":\"j\"", "\"final_verdict\":\"rolled_back\"", "\"checks\":[",
                          "\"detected_after_ms\":", "\"truth\":\"bad\"", "\"classification\":"}) {
    EXPECT_NE(j.find(key), std::string::npos) << key << " in " << j;
  }
}

}  // namespace
}  // namespace augur::replay
