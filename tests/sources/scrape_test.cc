// Tests for the embedded scraper (issue #4): ScrapeStore, the range functions, the provider
// presets and the Scraper thread.
//
// Reference values come from three places:
//   - hand computations following Prometheus's documented algorithms (written out next to each
//     expectation);
//   - tests/data/scrape/prometheus_golden.txt: answers of the real Prometheus 2.42 to 44
//     query_range cases over the samples in prometheus_golden_input.om (both made by
//     make_prometheus_golden.py);
//   - sample pages: two real HAProxy 2.6 exporter pages, and ingress-nginx and Envoy pages
//     (make_sample_pages.py) whose deltas were chosen for hand computation.
// Scraper tests use real loopback sockets (httplib::Server on 127.0.0.1, port 0).
#include "augur/sources/scrape.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

// Options are spelled with designated initializers; g++ 12 still reports every member left to
// its default initializer under -Wextra (fixed in GCC 13), which is the point of defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

// Counts heap allocations while g_count_allocs is set, to check that steady-state appends
// allocate nothing.
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<long> g_allocs{0};
}  // namespace

// noinline: once inlined, g++ 12 pairs the free() below with `new` expressions at call sites
// and warns (-Wmismatched-new-delete) about what is a matched replacement pair.
[[gnu::noinline]] void* operator new(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace augur::sources {
namespace {

using ::std::chrono::milliseconds;
using Labels = std::vector<std::pair<std::string, std::string>>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kT = 1700000000000;  // an arbitrary epoch-ms origin

std::string ReadFile(const std::string& name) {
  std::ifstream in(std::string(AUGUR_TEST_DATA_DIR) + "/scrape/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<MetricFamily> Parse(std::string_view text,
                                ExpositionFormat format = ExpositionFormat::kText004) {
  auto r = ParseExposition(text, format);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(r).value() : std::vector<MetricFamily>{};
}

std::unique_ptr<ScrapeStore> MakeStore(ScrapeStoreOptions options = {}) {
  auto s = ScrapeStore::Create(options);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(s).value() : nullptr;
}

ScrapedSeries Raw(Labels labels, std::vector<std::pair<double, double>> points_s) {
  ScrapedSeries s{"x", std::move(labels), {}};
  for (auto [t, v] : points_s) s.points.push_back({kT + static_cast<int64_t>(t * 1000), v});
  return s;
}

EvalGrid At(double t_s) {
  const int64_t t = kT + static_cast<int64_t>(t_s * 1000);
  return EvalGrid{t, t, 1000};
}

Series Grid(Labels labels, std::vector<double> values, int64_t step = 1000) {
  Series s{std::move(labels), {}, std::move(values)};
  for (size_t i = 0; i < s.values.size(); ++i) s.timestamps_ms.push_back(kT + i * step);
  return s;
}

// The single value of a single-series, single-step result (NaN if the series was left out).
double Only(const Result<std::vector<Series>>& r) {
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r || r->empty()) return kNaN;
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().values.size(), 1u);
  return r->front().values.front();
}

// Value of the series labelled `key=value` at the last grid step.
double Last(const Result<std::vector<Series>>& r, const std::string& key,
            const std::string& value) {
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r) return kNaN;
  for (const Series& s : *r) {
    for (const auto& [k, v] : s.labels) {
      if (k == key && v == value) return s.values.back();
    }
  }
  return kNaN;
}

// --- ScrapeStore ----------------------------------------------------------------------------

std::string CounterPage(double a, double b, double c) {
  std::ostringstream o;
  o << "# TYPE req_total counter\nreq_total{code=\"2xx\"} " << a << "\nreq_total{code=\"5xx\"} "
    << b << "\n# TYPE temp gauge\ntemp " << c << "\n";
  return o.str();
}

TEST(ScrapeStoreTest, RingWrapsAroundAndMemoryStaysBounded) {
  // 10 s retention at 1 s: 12 points per series.
  auto store = MakeStore({.retention_ms = 10000, .scrape_interval_ms = 1000});
  ASSERT_TRUE(store);
  size_t bytes_when_full = 0;
  for (int i = 0; i < 100; ++i) {
    auto stats = store->Append(Parse(CounterPage(i, 2 * i, -i)), kT + i * 1000);
    EXPECT_EQ(stats.samples, 3u);
    if (i == 20) bytes_when_full = store->Stats().approx_bytes;
  }
  const ScrapeStoreStats st = store->Stats();
  EXPECT_EQ(st.series, 3u);
  EXPECT_EQ(st.ring_capacity, 12u);
  EXPECT_EQ(st.points, 36u);                    // never more than capacity per series
  EXPECT_EQ(st.approx_bytes, bytes_when_full);  // no growth after the rings filled
  auto sel = store->Select({"req_total", {{"code", MatchOp::kEqual, "5xx"}}}, 0, kT + 1000000);
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->size(), 1u);
  const auto& pts = sel->front().points;
  ASSERT_EQ(pts.size(), 12u);  // the newest 12, oldest first
  for (size_t k = 0; k < pts.size(); ++k) {
    EXPECT_EQ(pts[k].t_ms, kT + (88 + static_cast<int64_t>(k)) * 1000);
    EXPECT_EQ(pts[k].value, 2.0 * (88 + static_cast<double>(k)));
  }
}

TEST(ScrapeStoreTest, SelectRangeIncludesThePointInForceAtStart) {
  auto store = MakeStore();
  for (int i = 0; i < 10; ++i) store->Append(Parse(CounterPage(i, 0, 0)), kT + i * 5000);
  auto sel =
      store->Select({"req_total", {{"code", MatchOp::kEqual, "2xx"}}}, kT + 12000, kT + 25000);
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->size(), 1u);
  std::vector<int64_t> ts;
  for (const auto& p : sel->front().points) ts.push_back(p.t_ms - kT);
  EXPECT_EQ(ts, (std::vector<int64_t>{10000, 15000, 20000, 25000}));
}

TEST(ScrapeStoreTest, MaxSeriesDropsNewSeriesAndCountsThem) {
  auto store = MakeStore({.retention_ms = 5000, .scrape_interval_ms = 1000, .max_series = 5});
  std::string page;
  for (int i = 0; i < 8; ++i) page += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  auto a = store->Append(Parse(page), kT);
  EXPECT_EQ(a.new_series, 5u);
  EXPECT_EQ(a.samples, 5u);
  EXPECT_EQ(a.dropped_max_series, 3u);
  auto b = store->Append(Parse(page), kT + 1000);
  EXPECT_EQ(b.samples, 5u);
  EXPECT_EQ(b.dropped_max_series, 3u);
  EXPECT_EQ(store->Stats().series, 5u);
  EXPECT_EQ(store->Stats().dropped_max_series, 6u);
  // Once the first five have had no point for longer than the retention they free their slots.
  std::string other;
  for (int i = 8; i < 11; ++i) other += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  store->Append({}, kT + 2000);  // all five vanish: stale markers at +2 s
  auto c = store->Append({}, kT + 8000);
  EXPECT_EQ(c.expired_series, 5u);
  EXPECT_EQ(store->Stats().series, 0u);
  store->Append(Parse(other), kT + 8500);
  auto d = store->Append(Parse(page), kT + 9000);
  EXPECT_EQ(d.dropped_max_series, 6u);  // 2 free slots: i=0,1 enter, i=2..7 are dropped
  EXPECT_EQ(d.new_series, 2u);
}

TEST(ScrapeStoreTest, DuplicateAndOutOfOrderSamplesAreDroppedAndCounted) {
  auto store = MakeStore();
  const std::string t5 = std::to_string(kT - 5000), t6 = std::to_string(kT - 4000);
  const std::string t55 = std::to_string(kT - 4500);
  store->Append(Parse("a 1 " + t5 + "\na 2 " + t6 + "\n"), kT);
  auto s = store->Append(Parse("a 3 " + t6 + "\na 4 " + t55 + "\nb 1\nb 2\n"), kT + 1);
  EXPECT_EQ(s.out_of_order, 3u);  // a@6000 again, a@5500, and b twice at the scrape time
  EXPECT_EQ(s.samples, 1u);
  EXPECT_EQ(store->Stats().out_of_order, 3u);
}

TEST(ScrapeStoreTest, SeriesMissingFromAScrapeGetAStaleMarker) {
  auto store = MakeStore();
  store->Append(Parse("g{s=\"a\"} 1\ng{s=\"b\"} 2\n"), kT);
  auto s = store->Append(Parse("g{s=\"a\"} 3\n"), kT + 5000);
  EXPECT_EQ(s.stale_marked, 1u);
  auto again = store->Append(Parse("g{s=\"a\"} 4\n"), kT + 10000);
  EXPECT_EQ(again.stale_marked, 0u);  // one marker per disappearance
  auto sel = store->Select({"g", {{"s", MatchOp::kEqual, "b"}}}, kT, kT + 10000);
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->front().points.size(), 2u);
  EXPECT_TRUE(IsStaleMarker(sel->front().points[1].value));
  EXPECT_FALSE(IsStaleMarker(kNaN));
  // LastValue: b has a value at +4 s, none once it went stale, although the lookback is long.
  auto last = LastValue(*sel, 300000, {kT + 4000, kT + 9000, 5000});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ(last->front().values[0], 2.0);
  EXPECT_TRUE(std::isnan(last->front().values[1]));
  // It comes back with a fresh point.
  store->Append(Parse("g{s=\"a\"} 5\ng{s=\"b\"} 7\n"), kT + 15000);
  sel = store->Select({"g", {{"s", MatchOp::kEqual, "b"}}}, kT, kT + 15000);
  EXPECT_EQ(sel->front().points.back().value, 7.0);
}

TEST(ScrapeStoreTest, TargetBecomesTheInstanceLabelAndScopesStaleness) {
  auto store = MakeStore();
  store->Append(Parse("up 1\nx{instance=\"inner\"} 1\n"), kT, "10.0.0.1:8404");
  store->Append(Parse("up 1\n"), kT, "10.0.0.2:8404");
  auto up = store->Select({"up", {}}, kT, kT);
  ASSERT_TRUE(up);
  ASSERT_EQ(up->size(), 2u);  // same series name and labels, two targets
  EXPECT_EQ(up->front().labels, (Labels{{"instance", "10.0.0.1:8404"}}));
  auto x = store->Select({"x", {}}, kT, kT);
  ASSERT_EQ(x->size(), 1u);
  EXPECT_EQ(x->front().labels,
            (Labels{{"exported_instance", "inner"}, {"instance", "10.0.0.1:8404"}}));
  // A scrape of target 2 does not make target 1's series stale.
  auto s = store->Append(Parse("up 1\n"), kT + 5000, "10.0.0.2:8404");
  EXPECT_EQ(s.stale_marked, 0u);
  s = store->Append(Parse("up 1\n"), kT + 5000, "10.0.0.1:8404");
  EXPECT_EQ(s.stale_marked, 1u);  // x
}

TEST(ScrapeStoreTest, NewCounterSeriesStartFromZeroAtThePreviousScrape) {
  const std::string page1 =
      "# TYPE e_total counter\ne_total{code=\"200\"} 10\n# TYPE g gauge\ng 1\n";
  const std::string page2 =
      "# TYPE e_total counter\ne_total{code=\"200\"} 12\ne_total{code=\"500\"} 3\n"
      "# TYPE g gauge\ng 1\ng{new=\"1\"} 5\n";
  for (bool fill : {true, false}) {
    auto store = MakeStore({.zero_fill_new_counters = fill});
    store->Append(Parse(page1), kT);
    store->Append(Parse(page2), kT + 5000);
    auto e = store->Select({"e_total", {{"code", MatchOp::kEqual, "500"}}}, kT, kT + 5000);
    ASSERT_EQ(e->size(), 1u);
    ASSERT_EQ(e->front().points.size(), fill ? 2u : 1u);
    if (fill) {
      EXPECT_EQ(e->front().points[0].t_ms, kT);
      EXPECT_EQ(e->front().points[0].value, 0.0);
    }
    auto g = store->Select({"g", {{"new", MatchOp::kEqual, "1"}}}, kT, kT + 5000);
    EXPECT_EQ(g->front().points.size(), 1u);  // gauges are never zero-filled
    // The exact count of 500s over the 5 s between the scrapes: 3 with the fill, unknown without.
    auto inc = ExactIncrease(*e, 5000, {kT + 5000, kT + 5000, 5000});
    if (fill) {
      EXPECT_EQ(Only(inc), 3.0);
    } else {
      EXPECT_TRUE(std::isnan(Only(inc)));
    }
  }
}

TEST(ScrapeStoreTest, MatchersFollowPromQL) {
  auto store = MakeStore();
  store->Append(Parse("r{code=\"503\"} 1\nr{code=\"1503\"} 1\nr{code=\"200\",x=\"\"} 1\n"
                      "r{code=\"5xx\"} 1\nr{} 1\n"),
                kT);
  auto names = [&](std::vector<LabelMatcher> m) {
    auto r = store->Select({"r", std::move(m)}, kT, kT);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    std::vector<std::string> codes;
    if (r) {
      for (const auto& s : *r) {
        std::string c = "-";
        for (const auto& [k, v] : s.labels) {
          if (k == "code") c = v;
        }
        codes.push_back(c);
      }
    }
    return codes;
  };
  using V = std::vector<std::string>;
  // Anchored: 5.. matches "503" and "5xx", not "1503".
  EXPECT_EQ(names({{"code", MatchOp::kRegexMatch, "5.."}}), (V{"503", "5xx"}));
  EXPECT_EQ(names({{"code", MatchOp::kRegexNoMatch, "5.*"}}), (V{"-", "1503", "200"}));
  EXPECT_EQ(names({{"code", MatchOp::kNotEqual, "200"}}), (V{"-", "1503", "503", "5xx"}));
  // A missing label matches "".
  EXPECT_EQ(names({{"code", MatchOp::kEqual, ""}}), (V{"-"}));
  EXPECT_EQ(names({{"x", MatchOp::kEqual, ""}}).size(), 5u);
  EXPECT_TRUE(names({{"code", MatchOp::kEqual, "404"}}).empty());

  auto bad = store->Select({"r", {{"code", MatchOp::kRegexMatch, "(5"}}}, kT, kT);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("(5"), std::string::npos);
  EXPECT_FALSE(store->Select({"r", {{"code", MatchOp::kRegexMatch, "(?i)x"}}}, kT, kT));
  EXPECT_FALSE(store->Select({"", {}}, kT, kT));
  EXPECT_FALSE(store->Select({"r", {}}, kT, kT - 1));
  EXPECT_FALSE(store->Select({"r", {{"", MatchOp::kEqual, "x"}}}, kT, kT));
}

TEST(ScrapeStoreTest, InvalidOptionsAreRejectedByName) {
  auto a = ScrapeStore::Create({.retention_ms = 0});
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("retention_ms"), std::string::npos);
  EXPECT_FALSE(ScrapeStore::Create({.scrape_interval_ms = -1}));
  EXPECT_FALSE(ScrapeStore::Create({.max_series = 0}));
  auto huge = ScrapeStore::Create({.retention_ms = int64_t{1} << 40, .scrape_interval_ms = 1});
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("points per series"), std::string::npos);
}

TEST(ScrapeStoreTest, SteadyStateAppendDoesNotAllocate) {
  auto store = MakeStore({.retention_ms = 10000, .scrape_interval_ms = 1000});
  std::string page = "# TYPE h histogram\n";
  for (int s = 0; s < 50; ++s) {
    for (const char* le : {"0.1", "1", "+Inf"}) {
      page += "h_bucket{server=\"s" + std::to_string(s) + "\",le=\"" + le + "\"} 1\n";
    }
  }
  const auto fams = Parse(page);
  for (int i = 0; i < 20; ++i) store->Append(fams, kT + i * 1000, "t1");  // rings full
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 20; i < 40; ++i) store->Append(fams, kT + i * 1000, "t1");
  g_count_allocs = false;
  EXPECT_EQ(g_allocs.load(), 0);
}

// --- Range functions: hand-computed Prometheus semantics --------------------------------------

TEST(RangeFunctionTest, IncreaseAndRateWithCounterResetAndExtrapolation) {
  // Points every 10 s from 5 s to 55 s; a reset after 30 (to 5). Window [0 s, 60 s].
  // delta = 25 - 10 + 30 (value before the reset) = 45. Gaps to the edges: 5 s each, below
  // 1.1 x 10 s, so extrapolate fully: (50 + 5 + 5) / 50 = 1.2. Zero point: 50 * 10/45 = 11.1 s
  // before the first point, further than the 5 s gap, so it does not limit. increase = 54,
  // rate = 54 / 60 = 0.9.
  std::vector<ScrapedSeries> in{
      Raw({{"s", "a"}}, {{5, 10}, {15, 20}, {25, 30}, {35, 5}, {45, 15}, {55, 25}})};
  EXPECT_DOUBLE_EQ(Only(Increase(in, 60000, At(60))), 54.0);
  EXPECT_DOUBLE_EQ(Only(Rate(in, 60000, At(60))), 0.9);
  // The exact increase has no extrapolation: 10 + 10 + 5 (the reset counts from 0) + 10 + 10.
  EXPECT_DOUBLE_EQ(Only(ExactIncrease(in, 60000, At(60))), 45.0);
}

TEST(RangeFunctionTest, ExtrapolationStopsAtHalfAnIntervalOrAtZero) {
  // Points at 20, 30, 40 s in window [0, 60]: gaps of 20 s exceed 1.1 x 10 s, so each side
  // adds only half an interval (5 s): (20 + 5 + 5) / 20 = 1.5 -> 20 * 1.5 = 30.
  std::vector<ScrapedSeries> far{Raw({}, {{20, 100}, {30, 110}, {40, 120}})};
  EXPECT_DOUBLE_EQ(Only(Increase(far, 60000, At(60))), 30.0);
  // Starting at value 1 with delta 20: the counter was 0 only 20 * 1/20 = 1 s before the first
  // point, so the start extends by 1 s (not 5): (20 + 1 + 5) / 20 = 1.3 -> 26.
  std::vector<ScrapedSeries> young{Raw({}, {{20, 1}, {30, 11}, {40, 21}})};
  EXPECT_DOUBLE_EQ(Only(Increase(young, 60000, At(60))), 26.0);
  // One point is not enough for any value.
  std::vector<ScrapedSeries> one{Raw({}, {{30, 7}})};
  auto r = Increase(one, 60000, At(60));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());  // no value anywhere: the series is left out
}

TEST(RangeFunctionTest, WindowEdgesAreInclusiveAsInPrometheus2) {
  // Points exactly at t - window and t both count: increase over [0, 10] with points at 0 and
  // 10 is 10 - 0 plus no extrapolation (gaps of 0).
  std::vector<ScrapedSeries> in{Raw({}, {{0, 100}, {10, 110}})};
  EXPECT_DOUBLE_EQ(Only(Increase(in, 10000, At(10))), 10.0);
  EXPECT_DOUBLE_EQ(Only(Rate(in, 10000, At(10))), 1.0);
}

TEST(RangeFunctionTest, ExactIncreaseTilesTheTimeAxis) {
  // Counter sampled every 5 s with a reset and a stale gap; 10 s steps.
  ScrapedSeries s = Raw({}, {{0, 100}, {5, 104}, {10, 110}, {15, 3}, {20, 9}, {25, 12}});
  const double stale = std::bit_cast<double>(uint64_t{0x7ff0000000000002});
  s.points.push_back({kT + 30000, stale});
  s.points.push_back({kT + 40000, 20});
  s.points.push_back({kT + 45000, 26});
  auto r = ExactIncrease({s}, 10000, {kT + 10000, kT + 50000, 10000});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  const auto& v = r->front().values;
  // (0,10]: 104-100 + 110-104 = 10. (10,20]: reset 3 + 6 = 9. (20,30]: 3, the marker is skipped.
  // (30,40]: starts after a stale marker, one point: unknown. (40,50]: 26 - 20 = 6.
  EXPECT_EQ(v[0], 10.0);
  EXPECT_EQ(v[1], 9.0);
  EXPECT_EQ(v[2], 3.0);
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_EQ(v[4], 6.0);
  // Steps with no new point have no value rather than a fake 0.
  auto sparse = ExactIncrease({Raw({}, {{0, 1}, {20, 5}})}, 5000, {kT + 5000, kT + 20000, 5000});
  ASSERT_TRUE(sparse);
  EXPECT_TRUE(std::isnan(sparse->front().values[0]));
  EXPECT_EQ(sparse->front().values[3], 4.0);
}

TEST(RangeFunctionTest, InvalidGridsAndWindowsAreErrors) {
  std::vector<ScrapedSeries> in{Raw({}, {{0, 1}, {1, 2}})};
  EXPECT_FALSE(Rate(in, 0, At(1)));
  EXPECT_FALSE(Rate(in, 1000, {kT, kT, 0}));
  EXPECT_FALSE(Rate(in, 1000, {kT, kT - 1, 1000}));
  auto big = Rate(in, 1000, {0, kMaxEvalPoints * 1000, 1000});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(LastValue(in, -1, At(1)));
  EXPECT_FALSE(ExactIncrease(in, 0, At(1)));
  EXPECT_FALSE(Rate(in, 1000,
                    {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 1}));
}

// Buckets with cumulative counts (0.1: 10, 0.5: 30, 1: 40, +Inf: 40), as rates at one step.
std::vector<Series> Buckets(std::vector<std::pair<std::string, double>> le_counts,
                            Labels extra = {}) {
  std::vector<Series> out;
  for (auto& [le, c] : le_counts) {
    Labels l = extra;
    l.emplace_back("le", le);
    std::sort(l.begin(), l.end());
    out.push_back(Grid(l, {c}));
  }
  return out;
}

TEST(RangeFunctionTest, HistogramQuantileInterpolatesAsPrometheus) {
  const auto b = Buckets({{"0.1", 10}, {"0.5", 30}, {"1", 40}, {"+Inf", 40}});
  // q=0.5: rank 20 lies in (0.1, 0.5] holding 20, 10 into it: 0.1 + 0.4 * 10/20 = 0.3.
  EXPECT_DOUBLE_EQ(Only(HistogramQuantile(0.5, b)), 0.3);
  // q=0.99: rank 39.6 in (0.5, 1] holding 10, 9.6 into it: 0.5 + 0.5 * 0.96 = 0.98.
  EXPECT_DOUBLE_EQ(Only(HistogramQuantile(0.99, b)), 0.98);
  EXPECT_DOUBLE_EQ(Only(HistogramQuantile(1, b)), 1.0);
  // q=0.05: rank 2 in the first bucket, which starts at 0: 0.1 * 2/10.
  EXPECT_DOUBLE_EQ(Only(HistogramQuantile(0.05, b)), 0.02);
  // Bucket order in the input does not matter.
  const auto shuffled = Buckets({{"+Inf", 40}, {"0.5", 30}, {"1", 40}, {"0.1", 10}});
  EXPECT_DOUBLE_EQ(Only(HistogramQuantile(0.5, shuffled)), 0.3);
}

TEST(RangeFunctionTest, HistogramQuantileEdgeRules) {
  // Rank in the +Inf bucket: the largest finite bound. 0.9 * 40 = 36 > 30.
  EXPECT_EQ(Only(HistogramQuantile(0.9, Buckets({{"0.1", 10}, {"0.5", 30}, {"+Inf", 40}}))), 0.5);
  // Out-of-range q.
  const auto b = Buckets({{"0.1", 10}, {"+Inf", 10}});
  EXPECT_EQ(Only(HistogramQuantile(-0.1, b)), -kInf);
  EXPECT_EQ(Only(HistogramQuantile(1.1, b)), kInf);
  EXPECT_TRUE(std::isnan(Only(HistogramQuantile(kNaN, b))));
  // Empty histogram (no observations in the window), no +Inf bucket, a lone +Inf bucket.
  EXPECT_TRUE(std::isnan(Only(HistogramQuantile(0.5, Buckets({{"0.1", 0}, {"+Inf", 0}})))));
  EXPECT_TRUE(std::isnan(Only(HistogramQuantile(0.5, Buckets({{"0.1", 3}, {"1", 5}})))));
  EXPECT_TRUE(std::isnan(Only(HistogramQuantile(0.5, Buckets({{"+Inf", 5}})))));
  // Non-monotonic counts are raised to the running maximum: (0.1: 10, 0.5: 8 -> 10, 1: 20);
  // q=0.5: rank 10 is reached in the first bucket: 0.1 * 10/10 = 0.1.
  EXPECT_DOUBLE_EQ(
      Only(HistogramQuantile(0.5, Buckets({{"0.1", 10}, {"0.5", 8}, {"1", 20}, {"+Inf", 20}}))),
      0.1);
  // A first bound <= 0 is returned as is.
  EXPECT_EQ(Only(HistogramQuantile(0.2, Buckets({{"-1", 5}, {"0", 5}, {"1", 10}, {"+Inf", 10}}))),
            -1.0);
  // Duplicate bounds ("1" and "1.0", as two series) add up as Prometheus's coalesceBuckets
  // does: 0.5: 4, 1: 6 + 6 = 12, +Inf: 12. q=0.5: rank 6 in (0.5, 1] holding 8, 2 into it:
  // 0.5 + 0.5 * 2/8 = 0.625.
  EXPECT_DOUBLE_EQ(
      Only(HistogramQuantile(0.5, Buckets({{"0.5", 4}, {"1", 6}, {"1.0", 6}, {"+Inf", 12}}))),
      0.625);
  // A malformed le is skipped, as are series without one; groups keep their other labels.
  auto groups = HistogramQuantile(0.5, [] {
    auto a = Buckets({{"0.1", 10}, {"0.5", 30}, {"bogus", 99}, {"+Inf", 40}}, {{"s", "a"}});
    auto c = Buckets({{"1", 2}, {"+Inf", 2}}, {{"s", "c"}});
    a.insert(a.end(), c.begin(), c.end());
    a.push_back(Grid({{"s", "a"}}, {1000}));
    return a;
  }());
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ(groups->at(0).labels, (Labels{{"s", "a"}}));
  EXPECT_DOUBLE_EQ(groups->at(0).values[0], 0.3);
  EXPECT_DOUBLE_EQ(groups->at(1).values[0], 0.5);  // 1 * 1/2
}

TEST(RangeFunctionTest, RatioZeroDenominatorIsMissingNeverZeroOrOne) {
  const std::vector<Series> num{Grid({{"s", "a"}}, {0, 1, kNaN, 5}),
                                Grid({{"s", "x"}}, {1, 1, 1, 1})};
  const std::vector<Series> den{Grid({{"s", "a"}}, {0, 0, 4, 10}),
                                Grid({{"s", "b"}}, {2, 0, kNaN, 4})};
  auto r = Ratio(num, den);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);  // s=b has no numerator, s=x no denominator
  const auto& v = r->front().values;
  EXPECT_TRUE(std::isnan(v[0]));  // 0/0
  EXPECT_TRUE(std::isnan(v[1]));  // 1/0: missing, not +Inf
  EXPECT_TRUE(std::isnan(v[2]));  // no numerator value
  EXPECT_EQ(v[3], 0.5);
  auto z = Ratio(num, den, /*missing_num_is_zero=*/true);
  ASSERT_TRUE(z);
  ASSERT_EQ(z->size(), 2u);
  EXPECT_EQ(z->at(0).values[2], 0.0);  // a: numerator NaN, denominator 4 -> 0
  EXPECT_EQ(z->at(1).labels, (Labels{{"s", "b"}}));
  EXPECT_EQ(z->at(1).values[0], 0.0);
  EXPECT_TRUE(std::isnan(z->at(1).values[1]));  // still x/0
  // Mismatched grids and duplicate label sets are errors.
  EXPECT_FALSE(Ratio(num, {Grid({{"s", "a"}}, {1, 1})}));
  EXPECT_FALSE(Ratio(num, {den[0], den[0]}));
}

TEST(RangeFunctionTest, SumByAndAvgBySkipMissingValues) {
  const std::vector<Series> in{Grid({{"code", "2xx"}, {"server", "a"}}, {1, kNaN, kNaN}),
                               Grid({{"code", "5xx"}, {"server", "a"}}, {2, 3, kNaN}),
                               Grid({{"code", "2xx"}, {"server", "b"}}, {10, 20, kNaN})};
  auto by_server = SumBy(in, {"server"});
  ASSERT_TRUE(by_server);
  ASSERT_EQ(by_server->size(), 2u);
  EXPECT_EQ(by_server->at(0).labels, (Labels{{"server", "a"}}));
  EXPECT_EQ(by_server->at(0).values[0], 3.0);
  EXPECT_EQ(by_server->at(0).values[1], 3.0);
  EXPECT_TRUE(std::isnan(by_server->at(0).values[2]));
  auto all = SumBy(in, {});
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(all->front().labels.empty());
  EXPECT_EQ(all->front().values[0], 13.0);
  auto avg = AvgBy(in, {"nosuchlabel"});
  ASSERT_EQ(avg->size(), 1u);
  EXPECT_TRUE(avg->front().labels.empty());  // empty label values are dropped, as in PromQL
  EXPECT_DOUBLE_EQ(avg->front().values[1], 11.5);
  EXPECT_FALSE(SumBy({in[0], Grid({}, {1, 2})}, {}));  // different grids
}

// --- Against the real Prometheus 2.42 --------------------------------------------------------

struct GoldenCase {
  std::string name;
  EvalGrid grid;
  std::string promql;
  std::map<std::string, std::map<int64_t, double>> values;  // labels -> t -> value
};

double ParseValue(const std::string& s) {
  if (s == "NaN") return kNaN;
  if (s == "+Inf") return kInf;
  if (s == "-Inf") return -kInf;
  return std::stod(s);
}

std::vector<GoldenCase> LoadGolden() {
  std::istringstream in(ReadFile("prometheus_golden.txt"));
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    if (line.rfind("case ", 0) == 0) {
      GoldenCase c;
      std::string word;
      f >> word >> c.name >> c.grid.start_ms >> c.grid.end_ms >> c.grid.step_ms;
      std::getline(f, c.promql);
      cases.push_back(std::move(c));
    } else {
      std::string labels, value;
      int64_t t = 0;
      f >> labels >> t >> value;
      cases.back().values[labels][t] = ParseValue(value);
    }
  }
  return cases;
}

std::string LabelKey(const Labels& labels) {
  std::string k;
  for (const auto& [n, v] : labels) k += (k.empty() ? "" : ",") + n + "=" + v;
  return k.empty() ? "-" : k;
}

class PrometheusGoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = MakeStore({.retention_ms = 3600000, .scrape_interval_ms = 5000}).release();
    auto fams = Parse(ReadFile("prometheus_golden_input.om"), ExpositionFormat::kOpenMetrics);
    auto stats = store_->Append(fams, kT + 1000000);
    ASSERT_GT(stats.samples, 5000u);
    ASSERT_EQ(stats.out_of_order, 0u);
  }
  static void TearDownTestSuite() { delete store_; }

  static Result<std::vector<Series>> Compute(const std::string& name, const EvalGrid& g);
  static Result<std::vector<ScrapedSeries>> Sel(const std::string& metric, const EvalGrid& g,
                                                std::vector<LabelMatcher> m = {}) {
    return store_->Select({metric, std::move(m)}, g.start_ms - 120000, g.end_ms);
  }
  static ScrapeStore* store_;
};
ScrapeStore* PrometheusGoldenTest::store_ = nullptr;

Result<std::vector<Series>> PrometheusGoldenTest::Compute(const std::string& name,
                                                          const EvalGrid& g) {
  const std::string base = name.substr(0, name.rfind('_'));
  auto counter = [&](int64_t w, bool rate) -> Result<std::vector<Series>> {
    auto s = Sel("aug_requests_total", g);
    if (!s) return s.error();
    return rate ? Rate(*s, w, g) : Increase(*s, w, g);
  };
  if (base == "increase30") return counter(30000, false);
  if (base == "rate30") return counter(30000, true);
  if (base == "increase61") return counter(61000, false);
  if (base == "rate120") return counter(120000, true);
  const std::map<std::string, double> quantiles = {{"hq0", 0},      {"hq25", 0.25}, {"hq50", 0.5},
                                                   {"hq90", 0.9},   {"hq99", 0.99}, {"hq100", 1},
                                                   {"hqneg", -0.5}, {"hqbig", 1.5}};
  if (auto q = quantiles.find(base); q != quantiles.end()) {
    auto rates = Rate(*Sel("aug_latency_seconds_bucket", g), 30000, g);
    if (!rates) return rates.error();
    return HistogramQuantile(q->second, *rates);
  }
  if (base == "hqsum") {
    auto rates =
        Rate(*Sel("aug_latency_seconds_bucket", g, {{"series", MatchOp::kRegexMatch, "a|nonmono"}}),
             30000, g);
    auto summed = SumBy(*rates, {"le"});
    if (!summed) return summed.error();
    return HistogramQuantile(0.9, *summed);
  }
  if (base == "mean") {
    auto sum = Rate(*Sel("aug_latency_seconds_sum", g), 30000, g);
    auto count = Rate(*Sel("aug_latency_seconds_count", g), 30000, g);
    return Ratio(*sum, *count);
  }
  ScrapeQuery q;
  if (base.rfind("haproxy_", 0) == 0) {
    q = {.provider = IngressProvider::kHaproxyServer,
         .selector = {{"proxy", MatchOp::kEqual, "be_app"}},
         .by = {"server"},
         .window_ms = 20000};
  } else if (base.rfind("nginx_", 0) == 0) {
    q = {.provider = IngressProvider::kNginxIngress,
         .selector = {{"ingress", MatchOp::kEqual, "app"}},
         .window_ms = 30000};
  } else if (base.rfind("envoy_", 0) == 0) {
    q = {.provider = IngressProvider::kEnvoy,
         .selector = {{"envoy_cluster_name", MatchOp::kEqual, "canary"}},
         .window_ms = 30000};
  } else {
    return InvalidArgument("no computation for golden case " + name);
  }
  const std::string kind = base.substr(base.find('_') + 1);
  if (kind == "error_rate") q.kind = ScrapeQueryKind::kErrorRate;
  if (kind == "success_rate") q.kind = ScrapeQueryKind::kSuccessRate;
  if (kind == "request_rate") q.kind = ScrapeQueryKind::kRequestRate;
  if (kind == "p99") q.kind = ScrapeQueryKind::kLatencyQuantile;
  if (kind == "mean") q.kind = ScrapeQueryKind::kLatencyMean;
  q.quantile = 0.99;
  return EvaluateScrapeQuery(*store_, q, g);
}

TEST_F(PrometheusGoldenTest, EveryCaseMatchesPrometheus) {
  const auto cases = LoadGolden();
  ASSERT_EQ(cases.size(), 44u);
  size_t compared = 0, with_value = 0;
  for (const GoldenCase& c : cases) {
    SCOPED_TRACE(c.name + ":" + c.promql);
    auto got = Compute(c.name, c.grid);
    ASSERT_TRUE(got) << got.error().message;
    std::map<std::string, const Series*> ours;
    for (const Series& s : *got) ours[LabelKey(s.labels)] = &s;
    for (const auto& [labels, s] : ours) {
      EXPECT_TRUE(c.values.count(labels)) << "series only Augur has: " << labels;
    }
    for (const auto& [labels, points] : c.values) {
      auto it = ours.find(labels);
      bool all_nan = true;
      for (const auto& [t, v] : points) all_nan = all_nan && std::isnan(v);
      if (it == ours.end()) {
        EXPECT_TRUE(all_nan) << "series missing in Augur: " << labels;
        continue;
      }
      const Series& s = *it->second;
      for (size_t i = 0; i < s.timestamps_ms.size(); ++i) {
        const int64_t t = s.timestamps_ms[i];
        auto p = points.find(t);
        const double want = p == points.end() ? kNaN : p->second;
        const double have = s.values[i];
        ++compared;
        if (std::isnan(want)) {
          // Prometheus has no point (or NaN): Augur has no value either.
          EXPECT_TRUE(std::isnan(have)) << labels << " @" << t << " = " << have;
        } else if (std::isinf(want)) {
          EXPECT_EQ(have, want) << labels << " @" << t;
        } else {
          ++with_value;
          EXPECT_NEAR(have, want, 1e-9 * std::max(1.0, std::abs(want))) << labels << " @" << t;
        }
      }
    }
  }
  std::cout << "[ golden   ] " << compared << " grid points compared, " << with_value
            << " with a value\n";
  EXPECT_GT(with_value, 5000u);
}

// --- Presets on sample pages ------------------------------------------------------------------

// Appends two scrapes of a provider, 10 s apart, into a fresh store.
std::unique_ptr<ScrapeStore> TwoScrapes(const std::string& prefix,
                                        ExpositionFormat f = ExpositionFormat::kText004) {
  auto store = MakeStore({.scrape_interval_ms = 10000});
  store->Append(Parse(ReadFile(prefix + "1.txt"), f), kT, "ingress-0:8404");
  store->Append(Parse(ReadFile(prefix + "2.txt"), f), kT + 10000, "ingress-0:8404");
  return store;
}

// One evaluation at the second scrape with a 10 s window: both scrapes sit on the window
// edges, so Prometheus's extrapolation factor is exactly 1 and rate = delta / 10 s.
Result<std::vector<Series>> Eval(const ScrapeStore& store, ScrapeQuery q) {
  q.window_ms = 10000;
  return EvaluateScrapeQuery(store, q, {kT + 10000, kT + 10000, 10000});
}

TEST(PresetTest, HaproxyServerFromRealExporterPages) {
  auto store = TwoScrapes("haproxy_2.6_scrape");
  ASSERT_GT(store->Stats().series, 180u);
  ScrapeQuery q{.provider = IngressProvider::kHaproxyServer,
                .selector = {{"proxy", MatchOp::kEqual, "be_app"}},
                .by = {"server"}};
  // primary 20 -> 50 responses, all 2xx; canary 18+2 -> 45+5: 30 responses, 3 of them 5xx.
  q.kind = ScrapeQueryKind::kRequestRate;
  auto r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "server", "primary"), 3.0, 1e-12);
  EXPECT_NEAR(Last(r, "server", "canary"), 3.0, 1e-12);
  q.kind = ScrapeQueryKind::kErrorRate;
  r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "server", "canary"), 0.1, 1e-12);
  EXPECT_EQ(Last(r, "server", "primary"), 0.0);
  q.kind = ScrapeQueryKind::kSuccessRate;
  r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "server", "canary"), 0.9, 1e-12);
  EXPECT_EQ(Last(r, "server", "primary"), 1.0);
  q.kind = ScrapeQueryKind::kErrorCount;
  r = Eval(*store, q);
  EXPECT_EQ(Last(r, "server", "canary"), 3.0);
  EXPECT_EQ(Last(r, "server", "primary"), 0.0);
  q.kind = ScrapeQueryKind::kRequestCount;
  EXPECT_EQ(Last(Eval(*store, q), "server", "canary"), 30.0);
  // Latency: the exporter's rolling mean (1 ms on loopback); no histogram for quantiles.
  q.kind = ScrapeQueryKind::kLatencyMean;
  r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "server", "canary"), 0.001, 1e-12);
  q.kind = ScrapeQueryKind::kLatencyQuantile;
  r = Eval(*store, q);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // Selecting one server without grouping gives one unlabelled series.
  ScrapeQuery canary{
      .provider = IngressProvider::kHaproxyServer,
      .kind = ScrapeQueryKind::kErrorRate,
      .selector = {{"proxy", MatchOp::kEqual, "be_app"}, {"server", MatchOp::kEqual, "canary"}}};
  r = Eval(*store, canary);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE(r->front().labels.empty());
  EXPECT_NEAR(r->front().values[0], 0.1, 1e-12);
  // The backend view: 40 -> 100 responses, 2 -> 5 errors.
  ScrapeQuery backend{.provider = IngressProvider::kHaproxyBackend,
                      .kind = ScrapeQueryKind::kErrorRate,
                      .selector = {{"proxy", MatchOp::kEqual, "be_app"}}};
  EXPECT_NEAR(Only(Eval(*store, backend)), 0.05, 1e-12);
  backend.kind = ScrapeQueryKind::kRequestRate;
  EXPECT_NEAR(Only(Eval(*store, backend)), 6.0, 1e-12);
}

TEST(PresetTest, HaproxyLatencyMeanIsMissingWithoutTraffic) {
  // A rolling average that froze because the server got no requests is not a measurement.
  const std::string page =
      "# TYPE haproxy_server_http_responses_total counter\n"
      "haproxy_server_http_responses_total{proxy=\"be\",server=\"canary\",code=\"2xx\"} 7\n"
      "# TYPE haproxy_server_response_time_average_seconds gauge\n"
      "haproxy_server_response_time_average_seconds{proxy=\"be\",server=\"canary\"} 0.25\n";
  auto store = MakeStore();
  store->Append(Parse(page), kT);
  store->Append(Parse(page), kT + 10000);
  auto r = Eval(
      *store, {.provider = IngressProvider::kHaproxyServer, .kind = ScrapeQueryKind::kLatencyMean});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST(PresetTest, NginxIngress) {
  auto store = TwoScrapes("nginx_ingress_scrape");
  ScrapeQuery q{.provider = IngressProvider::kNginxIngress, .by = {"ingress"}};
  // app: 1000+20+5 -> 1190+30+5 = 200 requests, no 5xx. app-canary: 100 -> 118 plus a "500"
  // series born in the second scrape with value 2 (counted from 0): 20 requests, 2 errors.
  q.kind = ScrapeQueryKind::kRequestRate;
  auto r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "ingress", "app"), 20.0, 1e-12);
  EXPECT_NEAR(Last(r, "ingress", "app-canary"), 2.0, 1e-12);
  q.kind = ScrapeQueryKind::kErrorRate;
  r = Eval(*store, q);
  EXPECT_EQ(Last(r, "ingress", "app"), 0.0);
  EXPECT_NEAR(Last(r, "ingress", "app-canary"), 0.1, 1e-12);
  q.kind = ScrapeQueryKind::kErrorCount;
  EXPECT_EQ(Last(Eval(*store, q), "ingress", "app-canary"), 2.0);
  // Canary latency deltas, cumulative: 0.025: 2, 0.05: 6, 0.1: 12, 0.25: 16, 0.5: 18, 1: 20,
  // +Inf: 20. p99: rank 19.8 in (0.5, 1] holding 2, 1.8 into it: 0.5 + 0.5 * 0.9 = 0.95.
  // p50: rank 10 in (0.05, 0.1] holding 6, 4 into it: 0.05 + 0.05 * 4/6.
  q.kind = ScrapeQueryKind::kLatencyQuantile;
  q.quantile = 0.99;
  r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "ingress", "app-canary"), 0.95, 1e-12);
  // app: 0.1: 196, 0.25: 200 of 200 -> rank 198: 0.1 + 0.15 * 2/4 = 0.175.
  EXPECT_NEAR(Last(r, "ingress", "app"), 0.175, 1e-12);
  q.quantile = 0.5;
  EXPECT_NEAR(Last(Eval(*store, q), "ingress", "app-canary"), 0.05 + 0.05 * 4 / 6, 1e-12);
  // Mean: (2.0 + 1.6) s over 20 requests; app 9 s over 200.
  q.kind = ScrapeQueryKind::kLatencyMean;
  r = Eval(*store, q);
  EXPECT_NEAR(Last(r, "ingress", "app-canary"), 0.18, 1e-12);
  EXPECT_NEAR(Last(r, "ingress", "app"), 0.045, 1e-12);
  // Flagger's canary selector (canary!="") picks the canary traffic only.
  ScrapeQuery flagger{.provider = IngressProvider::kNginxIngress,
                      .kind = ScrapeQueryKind::kSuccessRate,
                      .selector = {{"canary", MatchOp::kNotEqual, ""}}};
  EXPECT_NEAR(Only(Eval(*store, flagger)), 0.9, 1e-12);
  // Without the zero fill the canary's first two errors are invisible (Prometheus 2.42).
  auto plain = MakeStore({.scrape_interval_ms = 10000, .zero_fill_new_counters = false});
  plain->Append(Parse(ReadFile("nginx_ingress_scrape1.txt")), kT);
  plain->Append(Parse(ReadFile("nginx_ingress_scrape2.txt")), kT + 10000);
  EXPECT_EQ(Only(Eval(*plain, flagger)), 1.0);
}

void CheckEnvoy(const ScrapeStore& store) {
  ScrapeQuery q{.provider = IngressProvider::kEnvoy, .by = {"envoy_cluster_name"}};
  // canary: 503 -> 533 requests, 3 -> 6 class-5 responses; primary 5060 -> 5370, none 5xx.
  q.kind = ScrapeQueryKind::kErrorRate;
  auto r = Eval(store, q);
  EXPECT_NEAR(Last(r, "envoy_cluster_name", "canary"), 0.1, 1e-12);
  EXPECT_EQ(Last(r, "envoy_cluster_name", "primary"), 0.0);
  q.kind = ScrapeQueryKind::kRequestRate;
  EXPECT_NEAR(Last(Eval(store, q), "envoy_cluster_name", "primary"), 31.0, 1e-12);
  // rq_time in ms, canary deltas 5: 3, 10: 9, 25: 18, 50: 24, 100: 27, 250: 29, 500: 30.
  // p99: rank 29.7 in (250, 500] holding 1: 250 + 250 * 0.7 = 425 ms = 0.425 s.
  // p50: rank 15 in (10, 25] holding 9, 6 into it: 10 + 15 * 6/9 = 20 ms.
  // primary p99: rank 356.4 in (25, 50] holding 20, 16.4 into it: 45.5 ms.
  q.kind = ScrapeQueryKind::kLatencyQuantile;
  q.quantile = 0.99;
  r = Eval(store, q);
  EXPECT_NEAR(Last(r, "envoy_cluster_name", "canary"), 0.425, 1e-12);
  EXPECT_NEAR(Last(r, "envoy_cluster_name", "primary"), 0.0455, 1e-12);
  q.quantile = 0.5;
  EXPECT_NEAR(Last(Eval(store, q), "envoy_cluster_name", "canary"), 0.020, 1e-12);
  // Mean: 1500 ms over 30 requests.
  q.kind = ScrapeQueryKind::kLatencyMean;
  EXPECT_NEAR(Last(Eval(store, q), "envoy_cluster_name", "canary"), 0.05, 1e-12);
}

TEST(PresetTest, Envoy) { CheckEnvoy(*TwoScrapes("envoy_scrape")); }

TEST(PresetTest, EnvoyServedAsOpenMetricsWithTotalSuffixes) {
  CheckEnvoy(*TwoScrapes("envoy_openmetrics_scrape", ExpositionFormat::kOpenMetrics));
}

TEST(PresetTest, NamesAndBadQueries) {
  EXPECT_EQ(*ParseIngressProvider("haproxy"), IngressProvider::kHaproxyServer);
  EXPECT_EQ(*ParseIngressProvider("envoy"), IngressProvider::kEnvoy);
  EXPECT_EQ(*ParseScrapeQueryKind("latency-quantile"), ScrapeQueryKind::kLatencyQuantile);
  auto bad = ParseIngressProvider("traefik");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("haproxy-backend"), std::string::npos);
  EXPECT_FALSE(ParseScrapeQueryKind("p99"));

  auto store = MakeStore();
  EXPECT_FALSE(EvaluateScrapeQuery(*store, {}, {kT, kT, 0}));
  ScrapeQuery q{.provider = IngressProvider::kNginxIngress,
                .kind = ScrapeQueryKind::kLatencyQuantile,
                .quantile = 1.5};
  EXPECT_FALSE(EvaluateScrapeQuery(*store, q, {kT, kT, 1000}));
  q.quantile = 0.5;
  q.selector = {{"ingress", MatchOp::kRegexMatch, "["}};
  EXPECT_FALSE(EvaluateScrapeQuery(*store, q, {kT, kT, 1000}));
  // No data is not an error: an empty answer.
  q.selector.clear();
  auto empty = EvaluateScrapeQuery(*store, q, {kT, kT, 1000});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

// --- Scraper against loopback servers ---------------------------------------------------------

// A loopback HTTP server on an ephemeral port, serving `handler` on /metrics while in scope.
class FakeExporter {
 public:
  explicit FakeExporter(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.Get("/metrics", [this, handler](const httplib::Request& req, httplib::Response& res) {
      ++hits_;
      handler(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~FakeExporter() { Stop(); }
  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metrics"; }
  int port() const { return port_; }
  int hits() const { return hits_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<int> hits_{0};
};

std::unique_ptr<Scraper> MakeScraper(const std::string& url, ScrapeStore& store,
                                     int64_t interval_ms = 1000, int64_t timeout_ms = 1000) {
  auto s =
      Scraper::Create({.url = url, .interval_ms = interval_ms, .timeout_ms = timeout_ms}, store);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  return s ? std::move(s).value() : nullptr;
}

// Polls `done` for up to `limit` (a readiness check, not a fixed sleep).
bool WaitFor(const std::function<bool()>& done, milliseconds limit = milliseconds(10000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return done();
}

TEST(ScraperTest, ScrapesChangingCountersOnItsOwnThread) {
  std::atomic<int> n{0};
  FakeExporter exporter([&](const httplib::Request& req, httplib::Response& res) {
    EXPECT_NE(req.get_header_value("Accept").find("openmetrics"), std::string::npos);
    const int k = ++n;
    res.set_content(CounterPage(100 * k, k, 20), "text/plain; version=0.0.4");
  });
  auto store = MakeStore({.scrape_interval_ms = 100});
  auto scraper = MakeScraper(exporter.url(), *store, /*interval_ms=*/100, /*timeout_ms=*/100);
  ASSERT_TRUE(scraper);
  ASSERT_TRUE(scraper->Start());
  EXPECT_EQ(scraper->Start().error().code, ErrorCode::kConflict);
  ASSERT_TRUE(WaitFor([&] { return scraper->status().scrapes >= 5; }));
  const ScrapeStatus running = scraper->status();
  EXPECT_EQ(running.failures, 0u);
  EXPECT_FALSE(running.last_error.has_value());
  EXPECT_EQ(running.last_sample_count, 3u);
  EXPECT_GT(running.last_success_ms, 0);
  EXPECT_GT(running.last_duration_seconds, 0.0);
  scraper->Stop();
  scraper->Stop();  // idempotent
  // Stop may have cut one request short; that one stored nothing.
  const ScrapeStatus st = scraper->status();
  ASSERT_LE(st.failures, 1u);
  const int served = static_cast<int>(st.scrapes - st.failures);
  auto sel = store->Select({"req_total", {{"code", MatchOp::kEqual, "2xx"}}}, 0,
                           std::numeric_limits<int64_t>::max() / 2);
  ASSERT_TRUE(sel);
  ASSERT_EQ(sel->size(), 1u);
  EXPECT_EQ(
      sel->front().labels,
      (Labels{{"code", "2xx"}, {"instance", "127.0.0.1:" + std::to_string(exporter.port())}}));
  const auto& pts = sel->front().points;
  ASSERT_EQ(static_cast<int>(pts.size()), served);
  for (size_t i = 1; i < pts.size(); ++i) {
    EXPECT_EQ(pts[i].value, pts[i - 1].value + 100);  // every scrape stored, in order
    EXPECT_GT(pts[i].t_ms, pts[i - 1].t_ms);
  }
  // The store answers rate() over what was scraped: 100 per scrape every ~20 ms.
  const int64_t end = pts.back().t_ms;
  auto rate = Rate(*sel, end - pts.front().t_ms, {end, end, 1000});
  ASSERT_TRUE(rate);
  EXPECT_GT(Only(rate), 0.0);
}

TEST(ScraperTest, OpenMetricsByContentType) {
  const std::string page = ReadFile("envoy_openmetrics_scrape1.txt");
  FakeExporter exporter([&](const httplib::Request&, httplib::Response& res) {
    res.set_content(page, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  auto store = MakeStore();
  auto scraper = MakeScraper(exporter.url(), *store);
  auto r = scraper->ScrapeOnce();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->samples, 50u);
  // The OpenMetrics parser read it: the counters carry their _total samples.
  auto sel = store->Select({"envoy_cluster_upstream_rq_xx_total", {}}, 0, INT64_MAX / 2);
  EXPECT_EQ(sel->size(), 6u);
}

struct FailureCase {
  const char* name;
  std::function<void(const httplib::Request&, httplib::Response&)> handler;
  ErrorCode code;
  const char* message_part;
};

TEST(ScraperTest, FailedScrapesStoreNothingAndKeepTheError) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  const std::vector<FailureCase> cases = {
      {"http 500",
       [](const httplib::Request&, httplib::Response& res) {
         res.status = 500;
         res.set_content("backend down", "text/plain");
       },
       ErrorCode::kUnavailable, "HTTP 500"},
      {"http 404",
       [](const httplib::Request&, httplib::Response& res) {
         res.status = 404;
         res.set_content("no such page", "text/plain");
       },
       ErrorCode::kInvalidArgument, "HTTP 404"},
      {"garbage",
       [](const httplib::Request&, httplib::Response& res) {
         res.set_content("<html><body>It works!</body></html>\n", "text/html");
       },
       ErrorCode::kBadData, "line 1"},
      {"valid lines then a broken one",
       [](const httplib::Request&, httplib::Response& res) {
         res.set_content(CounterPage(1, 2, 3) + "broken{le=\"1 5\n", "text/plain");
       },
       ErrorCode::kBadData, "line 6"},
      {"oversized",
       [](const httplib::Request&, httplib::Response& res) {
         res.set_content(std::string(300000, '#') + "\n", "text/plain");
       },
       ErrorCode::kBadData, "exceeds"},
      {"hangs",
       [&](const httplib::Request&, httplib::Response& res) {
         std::unique_lock lock(mu);
         cv.wait_for(lock, std::chrono::seconds(5), [&] { return release; });
         res.set_content(CounterPage(1, 2, 3), "text/plain");
       },
       ErrorCode::kDeadlineExceeded, "300 ms"},
  };
  for (const FailureCase& c : cases) {
    SCOPED_TRACE(c.name);
    {
      std::lock_guard lock(mu);
      release = false;
    }
    FakeExporter exporter(c.handler);
    auto store = MakeStore();
    auto s = Scraper::Create(
        {.url = exporter.url(), .interval_ms = 1000, .timeout_ms = 300, .max_body_bytes = 200000},
        *store);
    ASSERT_TRUE(s);
    const auto start = std::chrono::steady_clock::now();
    auto r = (*s)->ScrapeOnce();
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_NE(r.error().message.find(c.message_part), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(exporter.url()), std::string::npos) << r.error().message;
    EXPECT_LT(took, milliseconds(2000));
    EXPECT_EQ(store->Stats().series, 0u);  // never partial data
    const ScrapeStatus st = (*s)->status();
    EXPECT_EQ(st.failures, 1u);
    ASSERT_TRUE(st.last_error.has_value());
    EXPECT_EQ(st.last_error->code, c.code);
    EXPECT_EQ(st.last_success_ms, 0);
    {
      std::lock_guard lock(mu);
      release = true;
    }
    cv.notify_all();
  }
}

TEST(ScraperTest, ClosedPortIsUnavailable) {
  std::string url;
  {
    FakeExporter gone([](const httplib::Request&, httplib::Response&) {});
    url = gone.url();
  }  // the port is closed now
  auto store = MakeStore();
  auto scraper = MakeScraper(url, *store);
  auto r = scraper->ScrapeOnce();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store->Stats().series, 0u);
  EXPECT_EQ(scraper->status().last_error->code, ErrorCode::kUnavailable);
}

TEST(ScraperTest, ErrorThenRecoveryClearsTheError) {
  std::atomic<bool> healthy{false};
  FakeExporter exporter([&](const httplib::Request&, httplib::Response& res) {
    if (!healthy) {
      res.status = 503;
      return;
    }
    res.set_content(CounterPage(1, 2, 3), "text/plain");
  });
  auto store = MakeStore();
  auto scraper = MakeScraper(exporter.url(), *store);
  EXPECT_FALSE(scraper->ScrapeOnce());
  healthy = true;
  ASSERT_TRUE(scraper->ScrapeOnce());
  const ScrapeStatus st = scraper->status();
  EXPECT_EQ(st.scrapes, 2u);
  EXPECT_EQ(st.failures, 1u);
  EXPECT_FALSE(st.last_error.has_value());
  EXPECT_EQ(store->Stats().series, 3u);
}

TEST(ScraperTest, StopIsPromptWhileWaitingAndDuringAHangingRequest) {
  // Idle between scrapes (10 s interval): Stop wakes the wait at once.
  FakeExporter fine([](const httplib::Request&, httplib::Response& res) {
    res.set_content(CounterPage(1, 2, 3), "text/plain");
  });
  auto store = MakeStore();
  auto idle = MakeScraper(fine.url(), *store, 10000, 5000);
  ASSERT_TRUE(idle->Start());
  ASSERT_TRUE(WaitFor([&] { return idle->status().scrapes >= 1; }));
  auto t0 = std::chrono::steady_clock::now();
  idle->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(500));

  // In flight (the exporter holds the request up to 5 s; timeout 5 s): Stop aborts it.
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  FakeExporter hang([&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return release; });
    res.set_content("x 1\n", "text/plain");
  });
  auto busy = MakeScraper(hang.url(), *store, 10000, 5000);
  ASSERT_TRUE(busy->Start());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return entered; }));
  }
  t0 = std::chrono::steady_clock::now();
  busy->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
  const ScrapeStatus st = busy->status();
  EXPECT_EQ(st.failures, 1u);
  ASSERT_TRUE(st.last_error.has_value());
  EXPECT_EQ(st.last_error->code, ErrorCode::kUnavailable);
  EXPECT_NE(st.last_error->message.find("stopping"), std::string::npos);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  // After Stop the scraper still works one-shot.
  FakeExporter again([](const httplib::Request&, httplib::Response& res) {
    res.set_content("y 1\n", "text/plain");
  });
  auto one = MakeScraper(again.url(), *store);
  EXPECT_TRUE(one->ScrapeOnce());
}

TEST(ScraperTest, InvalidOptionsAreRejected) {
  auto store = MakeStore();
  struct Bad {
    ScraperOptions o;
    const char* part;
  };
  const std::vector<Bad> bad = {
      {{.url = "127.0.0.1:9100/metrics"}, "http://"},
      {{.url = "ftp://h/metrics"}, "scheme"},
      {{.url = "http:///metrics"}, "missing host"},
      {{.url = "http://h:0/metrics"}, "invalid port"},
      {{.url = "http://h:99999/metrics"}, "invalid port"},
      {{.url = "http://user:pw@h/metrics"}, "credentials"},
      {{.url = "http://h/metrics", .interval_ms = 0}, "interval_ms"},
      {{.url = "http://h/metrics", .interval_ms = 1000, .timeout_ms = 2000}, "timeout_ms"},
      {{.url = "http://h/metrics", .max_body_bytes = 0}, "max_body_bytes"},
  };
  for (const Bad& b : bad) {
    auto s = Scraper::Create(b.o, *store);
    ASSERT_FALSE(s) << b.o.url;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find(b.part), std::string::npos) << s.error().message;
  }
  // A URL without a path scrapes /metrics; the target defaults to host:port.
  auto ok = Scraper::Create({.url = "http://127.0.0.1:9"}, *store);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->options().target, "127.0.0.1:9");
}

TEST(ScraperTest, ConcurrentReadersDuringScraping) {
  // ~2,000 series changing every scrape, scraped every 5 ms, while three readers query.
  std::atomic<int> n{0};
  FakeExporter exporter([&](const httplib::Request&, httplib::Response& res) {
    const int k = ++n;
    std::string page = "# TYPE haproxy_server_http_responses_total counter\n";
    for (int s = 0; s < 330; ++s) {
      for (const char* code : {"1xx", "2xx", "3xx", "4xx", "5xx", "other"}) {
        const int v = std::string(code) == "2xx" ? 9 * k : (std::string(code) == "5xx" ? k : 0);
        page += "haproxy_server_http_responses_total{proxy=\"be\",server=\"s" + std::to_string(s) +
                "\",code=\"" + code + "\"} " + std::to_string(v) + "\n";
      }
    }
    res.set_content(page, "text/plain");
  });
  auto store = MakeStore({.retention_ms = 2000, .scrape_interval_ms = 20});
  auto scraper = MakeScraper(exporter.url(), *store, 20, 20);
  ASSERT_TRUE(scraper->Start());
  std::atomic<bool> stop{false};
  std::atomic<int> evaluations{0}, bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop) {
        const int64_t now = store->Stats().newest_scrape_ms;
        ScrapeQuery q{.provider = IngressProvider::kHaproxyServer,
                      .kind = ScrapeQueryKind::kErrorRate,
                      .selector = {{"server", MatchOp::kRegexMatch, "s1.*"}},
                      .window_ms = 200};
        auto r = EvaluateScrapeQuery(*store, q, {now - 100, now, 50});
        if (!r) {
          ++bad;
          continue;
        }
        for (const Series& s : *r) {
          for (double v : s.values) {
            // Every server answers 10 % errors; anything else would be a torn read.
            if (!std::isnan(v) && std::abs(v - 0.1) > 1e-9) ++bad;
          }
        }
        ++evaluations;
      }
    });
  }
  ASSERT_TRUE(WaitFor([&] { return scraper->status().scrapes >= 30 && evaluations >= 30; }));
  stop = true;
  for (auto& t : readers) t.join();
  scraper->Stop();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store->Stats().series, 1980u);
  std::cout << "[ readers  ] " << scraper->status().scrapes << " scrapes, " << evaluations.load()
            << " evaluations, last scrape " << scraper->status().last_duration_seconds * 1000
            << " ms\n";
}

// --- Scale: tens of thousands of series -------------------------------------------------------

TEST(ScrapeStoreTest, FiftyThousandSeriesCostsAndTiming) {
  std::string page = "# TYPE nginx_ingress_controller_requests counter\n";
  for (int i = 0; i < 50000; ++i) {
    page += "nginx_ingress_controller_requests{ingress=\"ing" + std::to_string(i % 500) +
            "\",path=\"/p" + std::to_string(i) + "\",status=\"200\"} " + std::to_string(i) + "\n";
  }
  auto t0 = std::chrono::steady_clock::now();
  const auto fams = Parse(page);
  const double parse_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // 1 minute at 5 s: 14 points per series (kept short so the test stays fast under ASan).
  auto store = MakeStore({.retention_ms = 60000, .scrape_interval_ms = 5000});
  t0 = std::chrono::steady_clock::now();
  store->Append(fams, kT, "ingress-0");
  const double first_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (int i = 1; i < 20; ++i) store->Append(fams, kT + i * 5000, "ingress-0");
  g_allocs = 0;
  g_count_allocs = true;
  t0 = std::chrono::steady_clock::now();
  const int rounds = 10;
  for (int i = 20; i < 20 + rounds; ++i) store->Append(fams, kT + i * 5000, "ingress-0");
  const double steady_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
      rounds;
  g_count_allocs = false;
  EXPECT_EQ(g_allocs.load(), 0);
  const ScrapeStoreStats st = store->Stats();
  EXPECT_EQ(st.series, 50000u);
  EXPECT_EQ(st.points, 50000u * 14);
  // Query one ingress (100 series) over the last minute.
  t0 = std::chrono::steady_clock::now();
  auto r = EvaluateScrapeQuery(*store,
                               {.provider = IngressProvider::kNginxIngress,
                                .kind = ScrapeQueryKind::kRequestRate,
                                .selector = {{"ingress", MatchOp::kEqual, "ing7"}}},
                               {kT + 100000, kT + 145000, 5000});
  const double query_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().values.back(), 0.0);  // the page never changes
  std::cout << "[ 50k      ] parse " << parse_ms << " ms, first append " << first_ms
            << " ms, steady append " << steady_ms << " ms (" << steady_ms * 1e6 / 50000
            << " ns/sample), memory " << st.approx_bytes / (1 << 20) << " MiB for " << st.points
            << " points, query " << query_ms << " ms\n";
}

}  // namespace
}  // namespace augur::sources
