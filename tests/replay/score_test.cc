// Scoring against labels, sweep parsing/application and the choice of the best setting.
#include "augur/replay/score.h"

#include <gtest/gtest.h>

#include "augur/replay/report.h"
#include "replay/replay_testutil.h"

namespace augur::replay {
namespace {

using testing::kMinute;
using testing::MakeModel;
using testing::MakeRelease;

ReleaseReplay Outcome(const std::string& truth, FinalVerdict v,
                      std::optional<int64_t> delay = std::nullopt) {
  ReleaseReplay r;
  r.label.truth = truth;
  r.final_verdict = v;
  r.detected_after_ms = delay;
  return r;
}

TEST(Score, ConfusionMatrixArithmetic) {
  std::vector<ReleaseReplay> rs = {
      Outcome("bad", FinalVerdict::kRolledBack, 2 * kMinute),
      Outcome("bad", FinalVerdict::kRolledBack, 8 * kMinute),
      Outcome("bad", FinalVerdict::kRolledBack, 3 * kMinute),
      Outcome("bad", FinalVerdict::kRolledBack, 5 * kMinute),
      Outcome("bad", FinalVerdict::kRolledBack, -4 * kMinute),  // before the regression
      Outcome("bad", FinalVerdict::kPromoted),
      Outcome("bad", FinalVerdict::kInconclusive),
      Outcome("good", FinalVerdict::kPromoted),
      Outcome("good", FinalVerdict::kPromoted),
      Outcome("good", FinalVerdict::kPromoted),
      Outcome("good", FinalVerdict::kRolledBack),
      Outcome("good", FinalVerdict::kInconclusive),
      Outcome("", FinalVerdict::kRolledBack),
      Outcome("unknown", FinalVerdict::kPromoted),
  };
  Confusion c = Score(rs, /*errors=*/2);
  EXPECT_EQ(c.tp, 5);
  EXPECT_EQ(c.early, 1);
  EXPECT_EQ(c.fn, 1);
  EXPECT_EQ(c.inconclusive_bad, 1);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.tn, 3);
  EXPECT_EQ(c.inconclusive_good, 1);
  EXPECT_EQ(c.unlabelled, 2);
  EXPECT_EQ(c.errors, 2);
  EXPECT_EQ(c.bad(), 7);
  EXPECT_EQ(c.good(), 5);
  EXPECT_DOUBLE_EQ(c.tpr(), 5.0 / 7);  // inconclusive bad releases count against detection
  EXPECT_DOUBLE_EQ(c.fpr(), 1.0 / 5);
  ASSERT_TRUE(c.mean_ttd_ms && c.median_ttd_ms);
  EXPECT_DOUBLE_EQ(*c.mean_ttd_ms, 4.5 * kMinute);    // (2 + 8 + 3 + 5) / 4
  EXPECT_DOUBLE_EQ(*c.median_ttd_ms, 4.0 * kMinute);  // (3 + 5) / 2
  const std::string text = FormatConfusion(c);
  EXPECT_NE(text.find("5 TP"), std::string::npos) << text;
  EXPECT_NE(text.find("TP rate 71.4%, FP rate 20.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("1 of the TP rolled back before"), std::string::npos) << text;
  EXPECT_NE(text.find("mean 4m30s median 4m"), std::string::npos) << text;
}

TEST(Score, EmptyClassesGiveZeroRatesNotNaN) {
  Confusion c = Score({});
  EXPECT_EQ(c.tpr(), 0.0);
  EXPECT_EQ(c.fpr(), 0.0);
  EXPECT_FALSE(c.mean_ttd_ms);
}

TEST(Sweep, ParsesAndRejects) {
  auto p = ParseSweep("tolerance=0.1, 0.25,0.5");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->key, "tolerance");
  EXPECT_EQ(p->values, (std::vector<std::string>{"0.1", "0.25", "0.5"}));
  EXPECT_TRUE(ParseSweep("latency.absFloor=0.01,0.02"));
  EXPECT_TRUE(ParseSweep("mode=kayenta,augur,sequential"));
  EXPECT_TRUE(ParseSweep("interval=1m,2m"));
  for (const char* bad :
       {"tolerance", "=1", "tolerance=", "tolerance=0.1,,0.2", "tolerance=abc", "confLevel=1.5",
        "threshold=0", "mode=fast", "bogus=1", "latency.bogus=1", "stepWeight=101"}) {
    auto r = ParseSweep(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("--sweep"), std::string::npos) << bad;
    }
  }
}

TEST(Sweep, CombinationsAreTheCartesianProduct) {
  std::vector<SweepParam> ps = {{"tolerance", {"0.1", "0.2"}}, {"threshold", {"1", "2", "3"}}};
  auto all = Combinations(ps);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(FormatSetting(all[0]), "tolerance=0.1 threshold=1");
  EXPECT_EQ(FormatSetting(all[2]), "tolerance=0.1 threshold=3");
  EXPECT_EQ(FormatSetting(all[5]), "tolerance=0.2 threshold=3");
  ASSERT_EQ(Combinations({}).size(), 1u);
  EXPECT_EQ(FormatSetting(Combinations({})[0]), "baseline");
}

TEST(Sweep, ApplyChangesModelAndSpec) {
  ReplayOptions o;
  o.model = MakeModel();
  ASSERT_TRUE(Apply({{"tolerance", "0.4"},
                     {"latency.absFloor", "0.02"},
                     {"threshold", "5"},
                     {"mode", "kayenta"},
                     {"interval", "2m"},
                     {"minSamples", "7"}},
                    &o));
  for (const auto& m : o.model.metrics) {
    EXPECT_DOUBLE_EQ(m.tolerance, 0.4);
    EXPECT_EQ(m.min_samples, 7u);
    EXPECT_DOUBLE_EQ(m.abs_floor, m.name == "latency" ? 0.02 : 0.0) << m.name;
  }
  ASSERT_TRUE(o.spec);
  EXPECT_EQ(o.spec->analysis.threshold, 5);
  EXPECT_EQ(o.spec->analysis.interval_ms, 2 * kMinute);
  EXPECT_EQ(o.mode, judge::Mode::kKayenta);
  auto missing = Apply("p99.absFloor", "1", &o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no metric 'p99'"), std::string::npos);
}

TEST(Sweep, DifferentToleranceGivesDifferentOutcomes) {
  // Kayenta mode fails a metric only when the CI's lower end exceeds tolerance x |estimate|:
  // a clear 30% latency shift clears a 0.1 band, never a band of the whole estimate.
  auto rel = MakeRelease(
      {.name = "shift", .minutes = 30, .seed = 41, .latency_factor = 1.3, .truth = "bad"});
  ReplayOptions base;
  base.model = MakeModel();
  base.mode = judge::Mode::kKayenta;
  std::vector<SweepRow> rows;
  for (const auto& setting : Combinations(std::vector<SweepParam>{{"tolerance", {"0.1", "1.0"}}})) {
    ReplayOptions o = base;
    ASSERT_TRUE(Apply(setting, &o));
    auto r = ReplayRelease(rel, o);
    ASSERT_TRUE(r) << r.error().message;
    rows.push_back({setting, Score(std::vector<ReleaseReplay>{*r})});
  }
  EXPECT_EQ(rows[0].confusion.tp, 1) << "tolerance 0.1 should stop the release";
  EXPECT_EQ(rows[1].confusion.fn, 1) << "tolerance 1.0 should let it through";
  EXPECT_EQ(Best(rows, Objective{}), std::optional<size_t>(0));
}

TEST(Sweep, BestHonoursTheConstraintAndBreaksTiesByDetectionTime) {
  auto row = [](int tp, int fn, int fp, int tn, std::optional<double> mttd) {
    SweepRow r;
    r.confusion.tp = tp;
    r.confusion.fn = fn;
    r.confusion.fp = fp;
    r.confusion.tn = tn;
    r.confusion.mean_ttd_ms = mttd;
    return r;
  };
  std::vector<SweepRow> rows = {
      row(10, 0, 3, 17, 60000),  // TPR 100%, FPR 15%: violates 5%
      row(8, 2, 1, 19, 300000),  // TPR 80%, FPR 5%
      row(8, 2, 0, 20, 120000),  // TPR 80%, FPR 0%, faster: best
      row(6, 4, 0, 20, 60000),
  };
  EXPECT_EQ(Best(rows, Objective{}), std::optional<size_t>(2));
  auto youden = ParseObjective("youden");
  ASSERT_TRUE(youden);
  // Youden: 1 - 0.15 = 0.85 beats 0.8.
  EXPECT_EQ(Best(rows, *youden), std::optional<size_t>(0));
  auto strict = ParseObjective("tpr@fpr<=0%");
  ASSERT_TRUE(strict);
  EXPECT_DOUBLE_EQ(strict->max_fpr, 0.0);
  EXPECT_EQ(Best(rows, *strict), std::optional<size_t>(2));
  std::vector<SweepRow> none = {row(10, 0, 5, 15, 1000)};
  EXPECT_FALSE(Best(none, Objective{}));
  EXPECT_NE(FormatSweep(none, Objective{}, std::nullopt).find("none meets"), std::string::npos);
  EXPECT_FALSE(ParseObjective("tpr@fpr<=2"));
  EXPECT_FALSE(ParseObjective("best"));
  EXPECT_EQ(DescribeObjective(Objective{}),
            "maximise TP rate subject to FP rate <= 5%, ties by lower mean time to detect, then "
            "fewer inconclusive");
}

}  // namespace
}  // namespace augur::replay
