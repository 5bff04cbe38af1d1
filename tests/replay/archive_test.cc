// Release archives: encode/parse round trips, gzip, Kayenta's bare metricSetPairList, every
// refusal (corrupt JSON with its byte position, truncated gzip, misaligned series, Inf), the
// folder reader's isolation of a corrupt file, and the MetricSource windows and steps.
#include "augur/sources/archive.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "augur/contracts/kayenta.h"
#include "testing/process.h"

namespace augur::sources {
namespace {

namespace fs = std::filesystem;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("augur-archive-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// NaN-aware equality of two series.
void ExpectSameSeries(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << "slot " << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << "slot " << i;
    }
  }
}

Release Sample() {
  Release r;
  r.name = "checkout-2026-01-05";
  r.start_ms = 1767600000000;
  r.step_ms = 60000;
  r.end_ms = r.start_ms + 4 * r.step_ms;
  r.model = "http-golden-signals";
  r.label.truth = "bad";
  r.label.regression_start_ms = r.start_ms + 2 * r.step_ms;
  r.label.regression = "latency-shift";
  r.vars = {{"namespace", "shop"}, {"proxy", "be_app"}};
  r.metrics.push_back({"latency-p99",
                       {},
                       {0.1, 0.2, kNaN, 0.123456789012345, 1e-9},
                       {0.11, 0.21, 0.31, kNaN, 5.0}});
  r.metrics.push_back({"errors", {{"code", "5xx"}}, {0, 1, 0, 0, 2}, {3, 0, 0, 1, 0}});
  return r;
}

void ExpectSameRelease(const Release& a, const Release& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.start_ms, b.start_ms);
  EXPECT_EQ(a.end_ms, b.end_ms);
  EXPECT_EQ(a.step_ms, b.step_ms);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.label.truth, b.label.truth);
  EXPECT_EQ(a.label.regression_start_ms, b.label.regression_start_ms);
  EXPECT_EQ(a.label.regression, b.label.regression);
  EXPECT_EQ(a.vars, b.vars);
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    EXPECT_EQ(a.metrics[i].name, b.metrics[i].name);
    EXPECT_EQ(a.metrics[i].tags, b.metrics[i].tags);
    ExpectSameSeries(a.metrics[i].primary, b.metrics[i].primary);
    ExpectSameSeries(a.metrics[i].canary, b.metrics[i].canary);
  }
}

TEST(Archive, EncodeParseRoundTrip) {
  const Release r = Sample();
  const std::string text = EncodeArchive(r);
  EXPECT_NE(text.find("\"NaN\""), std::string::npos);  // Jackson's spelling, not null
  auto back = ParseArchive(text, "mem.json");
  ASSERT_TRUE(back) << back.error().message;
  ExpectSameRelease(r, *back);
  EXPECT_EQ(back->origin, "mem.json");
}

TEST(Archive, UnlabelledReleaseRoundTrips) {
  Release r = Sample();
  r.label = {};
  auto back = ParseArchive(EncodeArchive(r), "x");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->label.truth, "");
  EXPECT_FALSE(back->label.regression_start_ms.has_value());
}

TEST(Archive, PayloadIsKayentasMetricSetPairList) {
  // The contracts parser (Kayenta's remote-judge input) reads the archive's payload as is.
  const auto doc = nlohmann::json::parse(EncodeArchive(Sample()));
  auto pairs = contracts::ParseMetricSetPairList(doc["metricSetPairList"].dump());
  ASSERT_TRUE(pairs) << pairs.error().message;
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[1].name, "errors");
  EXPECT_EQ((*pairs)[1].tags.at("code"), "5xx");
  ExpectSameSeries((*pairs)[0].control, Sample().metrics[0].primary);
  ExpectSameSeries((*pairs)[0].experiment, Sample().metrics[0].canary);
}

TEST(Archive, WriteReadPlainAndGzip) {
  TempDir dir;
  const Release r = Sample();
  for (bool gzip : {false, true}) {
    const std::string path = dir.File(gzip ? "r.json.gz" : "r.json");
    ASSERT_TRUE(WriteArchive(r, path, gzip));
    const std::string bytes = ReadBytes(path);
    ASSERT_GE(bytes.size(), 2u);
    const bool magic = static_cast<unsigned char>(bytes[0]) == 0x1f &&
                       static_cast<unsigned char>(bytes[1]) == 0x8b;
    EXPECT_EQ(magic, gzip);
    auto back = ReadArchive(path);
    ASSERT_TRUE(back) << back.error().message;
    ExpectSameRelease(r, *back);
    EXPECT_EQ(back->origin, path);
  }
  // Gzip is detected by content, not by name.
  const std::string misnamed = dir.File("plain-name.json");
  ASSERT_TRUE(WriteArchive(r, misnamed, /*gzip=*/true));
  auto back = ReadArchive(misnamed);
  ASSERT_TRUE(back) << back.error().message;
  ExpectSameRelease(r, *back);
  // The temporary file was renamed away.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(Archive, WriteIntoMissingFolderFailsCleanly) {
  TempDir dir;
  auto st = WriteArchive(Sample(), dir.File("no/such/dir/r.json"), false);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("no/such/dir/r.json"), std::string::npos);
}

TEST(Archive, TruncatedGzipNamesFile) {
  TempDir dir;
  const std::string path = dir.File("cut.json.gz");
  ASSERT_TRUE(WriteArchive(Sample(), path, true));
  std::string bytes = ReadBytes(path);
  ASSERT_GT(bytes.size(), 40u);
  for (size_t keep : {bytes.size() - 8, bytes.size() / 2, size_t{5}}) {
    WriteBytes(path, bytes.substr(0, keep));
    auto r = ReadArchive(path);
    ASSERT_FALSE(r) << "kept " << keep;
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("truncated gzip"), std::string::npos) << r.error().message;
  }
}

TEST(Archive, CorruptGzipBodyIsBadData) {
  TempDir dir;
  const std::string path = dir.File("bad.json.gz");
  ASSERT_TRUE(WriteArchive(Sample(), path, true));
  std::string bytes = ReadBytes(path);
  for (size_t i = 12; i < bytes.size() - 8; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  WriteBytes(path, bytes);
  auto r = ReadArchive(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST(Archive, MissingFileIsNotFound) {
  auto r = ReadArchive("/nonexistent/augur/archive.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/augur/archive.json"), std::string::npos);
}

TEST(Archive, CorruptJsonNamesFileAndBytePosition) {
  // The '@' is the first byte the parser cannot take; nlohmann counts bytes read, so the
  // reported position is its 1-based offset.
  const std::string text =
      R"({"apiVersion": "augur.dev/v1", "kind": "ReleaseArchive", "release": @})";
  const size_t at = text.find('@');
  auto r = ParseArchive(text, "releases/r7.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  EXPECT_NE(r.error().message.find("releases/r7.json"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("at byte " + std::to_string(at + 1)), std::string::npos)
      << r.error().message;

  // A document cut short (a half-written file) reports the end.
  const std::string full = EncodeArchive(Sample());
  const std::string cut = full.substr(0, full.size() / 2);
  auto c = ParseArchive(cut, "half.json");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("half.json: invalid JSON at byte "), std::string::npos)
      << c.error().message;
}

nlohmann::json Envelope() { return nlohmann::json::parse(EncodeArchive(Sample())); }

TEST(Archive, MisalignedSeriesNamesMetric) {
  auto doc = Envelope();
  doc["metricSetPairList"][1]["values"]["experiment"].erase(0);
  auto r = ParseArchive(doc.dump(), "m.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  EXPECT_NE(r.error().message.find("m.json: metric 'errors': experiment has 4 points, the grid "
                                   "has 5"),
            std::string::npos)
      << r.error().message;

  // Both sides equally long but the grid says otherwise.
  doc = Envelope();
  doc["release"]["end"] = doc["release"]["end"].get<int64_t>() + 60000;
  r = ParseArchive(doc.dump(), "m.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("metric 'latency-p99'"), std::string::npos) << r.error().message;

  // An end off the step grid.
  doc = Envelope();
  doc["release"]["end"] = doc["release"]["end"].get<int64_t>() + 1;
  r = ParseArchive(doc.dump(), "m.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a multiple of release.step"), std::string::npos)
      << r.error().message;
}

TEST(Archive, InfinityIsRefusedWithMetricAndIndex) {
  for (const nlohmann::json& inf : {nlohmann::json("Infinity"), nlohmann::json("-Infinity")}) {
    auto doc = Envelope();
    doc["metricSetPairList"][0]["values"]["control"][3] = inf;
    auto r = ParseArchive(doc.dump(), "inf.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_NE(r.error().message.find("inf.json: metric 'latency-p99': control[3] is infinite"),
              std::string::npos)
        << r.error().message;
  }
  // A number too large for a double is refused while parsing, naming the number.
  std::string text = Envelope().dump();
  const std::string needle = "\"experiment\":[0.11";
  const size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, needle.size(), "\"experiment\":[1e999");
  auto r = ParseArchive(text, "big.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  EXPECT_NE(r.error().message.find("big.json: invalid JSON"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("1e999"), std::string::npos) << r.error().message;
}

TEST(Archive, NullAndNaNStringAreMissingPoints) {
  auto doc = Envelope();
  doc["metricSetPairList"][1]["values"]["control"][0] = nullptr;
  doc["metricSetPairList"][1]["values"]["control"][1] = "NaN";
  auto r = ParseArchive(doc.dump(), "n.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(std::isnan(r->metrics[1].primary[0]));
  EXPECT_TRUE(std::isnan(r->metrics[1].primary[1]));
  EXPECT_EQ(r->metrics[1].primary[4], 2.0);

  doc["metricSetPairList"][1]["values"]["control"][2] = "12";
  r = ParseArchive(doc.dump(), "n.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("metric 'errors': control[2] must be a number"),
            std::string::npos)
      << r.error().message;
}

TEST(Archive, EnvelopeFieldsAreChecked) {
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {[](auto& d) { d["apiVersion"] = "augur.dev/v2"; }, "apiVersion must be"},
      {[](auto& d) { d["kind"] = "AnalysisModel"; }, "kind must be \"ReleaseArchive\""},
      {[](auto& d) { d["release"].erase("step"); }, "release.step is required"},
      {[](auto& d) { d["release"]["step"] = 0; }, "release.step must be positive"},
      {[](auto& d) { d["release"]["start"] = "yesterday"; }, "release.start must be an integer"},
      {[](auto& d) { d["release"]["label"]["truth"] = "ugly"; }, "release.label.truth"},
      {[](auto& d) { d.erase("metricSetPairList"); }, "metricSetPairList is required"},
      {[](auto& d) {
         d["metricSetPairList"][1]["name"] = "latency-p99";
         d["metricSetPairList"][1]["tags"] = nlohmann::json::object();
       },
       "appears twice"},
      {[](auto& d) { d["metricSetPairList"][0].erase("values"); },
       "metricSetPairList[0].values (metric 'latency-p99')"},
  };
  for (const auto& c : cases) {
    auto doc = Envelope();
    c.edit(doc);
    auto r = ParseArchive(doc.dump(), "e.json");
    ASSERT_FALSE(r) << c.expect;
    EXPECT_EQ(r.error().code, ErrorCode::kBadData);
    EXPECT_NE(r.error().message.find("e.json: "), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  auto r = ParseArchive("42", "scalar.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("scalar.json"), std::string::npos);
}

// Kayenta's stored MetricSetPair shape (spinnaker/kayenta MetricSetPair.java; the scopes as
// deck-kayenta's IMetricSetPair declares them), as GET /metricSetPairList/{id} returns it.
const char* kKayentaList = R"json([
  {"name": "error-rate", "id": "6b0e4c0a-1",
   "tags": {},
   "values": {"control": [0.01, 0.02, "NaN", 0.01], "experiment": [0.03, 0.05, 0.04, "NaN"]},
   "attributes": {"control": {"query": "sum(rate(errors{server=\"primary\"}[1m]))"},
                  "experiment": {"query": "sum(rate(errors{server=\"canary\"}[1m]))"}},
   "scopes": {"control": {"startTimeIso": "2026-01-05T10:00:00Z",
                          "startTimeMillis": 1767607200000, "stepMillis": 60000},
              "experiment": {"startTimeIso": "2026-01-05T10:00:00Z",
                             "startTimeMillis": 1767607200000, "stepMillis": 60000}}},
  {"name": "latency-p99", "id": "6b0e4c0a-2",
   "tags": {"route": "/checkout"},
   "values": {"control": [0.2, 0.21, 0.19, 0.2], "experiment": [0.3, 0.31, 0.29, 0.33]},
   "attributes": {"control": {}, "experiment": {}},
   "scopes": {"control": {"startTimeIso": "2026-01-05T10:00:00Z",
                          "startTimeMillis": 1767607200000, "stepMillis": 60000},
              "experiment": {"startTimeIso": "2026-01-05T10:00:00Z",
                             "startTimeMillis": 1767607200000, "stepMillis": 60000}}}
])json";

TEST(Archive, BareKayentaListIsOneUnlabelledRelease) {
  TempDir dir;
  const std::string path = dir.File("kayenta-run-42.json");
  WriteBytes(path, kKayentaList);
  auto r = ReadArchive(path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "kayenta-run-42");
  EXPECT_EQ(r->start_ms, 1767607200000);
  EXPECT_EQ(r->step_ms, 60000);
  EXPECT_EQ(r->end_ms, 1767607200000 + 3 * 60000);
  EXPECT_EQ(r->label.truth, "");
  ASSERT_EQ(r->metrics.size(), 2u);
  EXPECT_EQ(r->metrics[1].tags.at("route"), "/checkout");
  ExpectSameSeries(r->metrics[0].primary, {0.01, 0.02, kNaN, 0.01});
  ExpectSameSeries(r->metrics[0].canary, {0.03, 0.05, 0.04, kNaN});

  // The same list gzip-compressed reads the same (name without .json.gz).
  Release again = *r;
  const std::string gz = dir.File("kayenta-run-42.json.gz");
  ASSERT_TRUE(WriteArchive(again, gz, true));
  auto g = ReadArchive(gz);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->name, "kayenta-run-42");  // the envelope now carries the name
}

TEST(Archive, BareListWithPairLevelTimesAndErrors) {
  // json-formats.md's older shape: the times on the pair itself.
  auto list = nlohmann::json::parse(kKayentaList);
  for (auto& p : list) {
    p.erase("scopes");
    p["startTimeMillis"] = 1000;
    p["stepMillis"] = 10000;
  }
  auto r = ParseArchive(list.dump(), "old.json");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->start_ms, 1000);
  EXPECT_EQ(r->end_ms, 31000);

  auto noscope = nlohmann::json::parse(kKayentaList);
  for (auto& p : noscope) p.erase("scopes");
  r = ParseArchive(noscope.dump(), "noscope.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("noscope.json: metricSetPairList[0] (metric 'error-rate') has "
                                   "no scopes"),
            std::string::npos)
      << r.error().message;

  auto ragged = nlohmann::json::parse(kKayentaList);
  ragged[1]["values"]["experiment"].push_back(0.5);
  r = ParseArchive(ragged.dump(), "ragged.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("metric 'latency-p99': experiment has 5 points"),
            std::string::npos)
      << r.error().message;

  auto shifted = nlohmann::json::parse(kKayentaList);
  shifted[1]["scopes"]["control"]["stepMillis"] = 30000;
  r = ParseArchive(shifted.dump(), "shifted.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("metric 'latency-p99': its scope"), std::string::npos)
      << r.error().message;

  r = ParseArchive("[]", "empty.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("empty.json: metricSetPairList is empty"), std::string::npos);
}

TEST(Archive, ReadDirKeepsTheGoodFilesWhenOneIsCorrupt) {
  TempDir dir;
  Release a = Sample(), b = Sample();
  a.name = "a";
  b.name = "c";
  ASSERT_TRUE(WriteArchive(a, dir.File("a.json"), false));
  ASSERT_TRUE(WriteArchive(b, dir.File("c.json.gz"), true));
  WriteBytes(dir.File("b.json"), R"({"apiVersion": "augur.dev/v1", "kind": )");
  WriteBytes(dir.File("notes.txt"), "not an archive");
  fs::create_directories(dir.path() / "sub.json");  // a folder is not an archive either

  const auto all = ReadArchiveDir(dir.path().string());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(fs::path(all[0].first).filename(), "a.json");
  EXPECT_EQ(fs::path(all[1].first).filename(), "b.json");
  EXPECT_EQ(fs::path(all[2].first).filename(), "c.json.gz");
  ASSERT_TRUE(all[0].second) << all[0].second.error().message;
  EXPECT_EQ(all[0].second->name, "a");
  ASSERT_FALSE(all[1].second);
  EXPECT_EQ(all[1].second.error().code, ErrorCode::kBadData);
  EXPECT_NE(all[1].second.error().message.find(dir.File("b.json") + ": invalid JSON at byte"),
            std::string::npos)
      << all[1].second.error().message;
  ASSERT_TRUE(all[2].second) << all[2].second.error().message;
  EXPECT_EQ(all[2].second->name, "c");

  const auto missing = ReadArchiveDir(dir.File("nope"));
  ASSERT_EQ(missing.size(), 1u);
  ASSERT_FALSE(missing[0].second);
  EXPECT_EQ(missing[0].second.error().code, ErrorCode::kNotFound);
}

Release Grid() {
  // 10 slots at 60 s from t0; values encode their slot so windows are easy to check.
  Release r;
  r.name = "grid";
  r.start_ms = 600000;
  r.step_ms = 60000;
  r.end_ms = r.start_ms + 9 * r.step_ms;
  ArchivedMetric m{"m", {}, {}, {}};
  for (int i = 0; i < 10; ++i) {
    m.primary.push_back(i);
    m.canary.push_back(100 + i);
  }
  m.canary[5] = kNaN;  // one gap
  m.primary[6] = m.primary[7] = kNaN;
  r.metrics.push_back(m);
  return r;
}

MetricRequest Req(int64_t start, int64_t end, int64_t step, std::string q = "m") {
  MetricRequest r;
  r.query = std::move(q);
  r.start_ms = start;
  r.end_ms = end;
  r.step_ms = step;
  return r;
}

TEST(ArchiveSource, WindowsReturnTheGridSlotsInside) {
  const Release g = Grid();
  auto src = NewArchiveSource(g);
  EXPECT_TRUE(src->Check());
  EXPECT_NE(src->name().find("grid"), std::string::npos);
  const int64_t t0 = g.start_ms, s = g.step_ms;

  auto all = src->Fetch(Req(t0, g.end_ms, s));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->timestamps_ms.size(), 10u);
  ExpectSameSeries(all->primary, g.metrics[0].primary);
  ExpectSameSeries(all->canary, g.metrics[0].canary);

  // Off-grid bounds: first slot >= start, last slot <= end. Step 0 = the release's step.
  auto mid = src->Fetch(Req(t0 + 2 * s + 1, t0 + 5 * s + s - 1, 0));
  ASSERT_TRUE(mid) << mid.error().message;
  ASSERT_EQ(mid->timestamps_ms, (std::vector<int64_t>{t0 + 3 * s, t0 + 4 * s, t0 + 5 * s}));
  ExpectSameSeries(mid->primary, {3, 4, 5});
  ExpectSameSeries(mid->canary, {103, 104, kNaN});

  // "As if live": asking up to a moment never returns a later slot.
  auto upto = src->Fetch(Req(t0, t0 + 3 * s, s));
  ASSERT_TRUE(upto);
  EXPECT_EQ(upto->timestamps_ms.back(), t0 + 3 * s);

  // Windows beyond either end are empty successes (no data, not an error).
  auto before = src->Fetch(Req(0, t0 - 1, s));
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_TRUE(before->timestamps_ms.empty());
  auto after = src->Fetch(Req(g.end_ms + 1, g.end_ms + 10 * s, s));
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->primary.empty());
  // Overlapping the end clips to the grid.
  auto tail = src->Fetch(Req(t0 + 8 * s, g.end_ms + 10 * s, s));
  ASSERT_TRUE(tail);
  ExpectSameSeries(tail->primary, {8, 9});
}

TEST(ArchiveSource, LargerStepsAverageIgnoringNaN) {
  const Release g = Grid();
  auto src = NewArchiveSource(g);
  const int64_t t0 = g.start_ms, s = g.step_ms;
  auto two = src->Fetch(Req(t0, g.end_ms, 2 * s));
  ASSERT_TRUE(two) << two.error().message;
  // Runs {0,1} {2,3} {4,5} {6,7} {8,9}, stamped with their last slot.
  ASSERT_EQ(two->timestamps_ms,
            (std::vector<int64_t>{t0 + s, t0 + 3 * s, t0 + 5 * s, t0 + 7 * s, t0 + 9 * s}));
  ExpectSameSeries(two->primary, {0.5, 2.5, 4.5, kNaN, 8.5});        // {6,7} both NaN
  ExpectSameSeries(two->canary, {100.5, 102.5, 104, 106.5, 108.5});  // 105 missing

  // 3 slots per step over 10 slots: the incomplete last run is still in the future.
  auto three = src->Fetch(Req(t0, g.end_ms, 3 * s));
  ASSERT_TRUE(three);
  ASSERT_EQ(three->timestamps_ms.size(), 3u);
  ExpectSameSeries(three->primary, {1, 4, 8});  // {0,1,2} {3,4,5} {6,7,8}: 6,7 NaN -> 8
  EXPECT_EQ(three->timestamps_ms[2], t0 + 8 * s);

  auto odd = src->Fetch(Req(t0, g.end_ms, 90000));
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(odd.error().message.find("90000 ms step is not a multiple"), std::string::npos)
      << odd.error().message;
  auto neg = src->Fetch(Req(t0, g.end_ms, -60000));
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().code, ErrorCode::kInvalidArgument);
}

TEST(ArchiveSource, UnknownMetricAndBadWindow) {
  auto src = NewArchiveSource(Grid());
  auto r = src->Fetch(Req(0, 1 << 30, 0, "latency-p99"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("'latency-p99'"), std::string::npos);
  auto back = src->Fetch(Req(2000000, 1000000, 0));
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code, ErrorCode::kInvalidArgument);
}

TEST(ArchiveSource, SeveralTagSetsUnderOneNameAreBadData) {
  Release g = Grid();
  ArchivedMetric other = g.metrics[0];
  other.tags = {{"route", "/b"}};
  g.metrics.push_back(other);
  auto r = NewArchiveSource(g)->Fetch(Req(g.start_ms, g.end_ms, 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
}

// ---------------------------------------------------------------------------------------------
// augur record against a real Prometheus (Debian's prometheus, on a free loopback port). It
// scrapes itself twice, as job "primary" and job "canary", so the two sides have real,
// known series (up == 1) without a canary lab; the full HAProxy lab lives in
// tests/integration/lab_test.cc.

// A minimal HTTP/1.0 GET on 127.0.0.1 (this test binary does not link cpp-httplib).
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, n);
    }
  }
  ::close(fd);
  const size_t body = reply.find("\r\n\r\n");
  return body == std::string::npos ? "" : reply.substr(body + 4);
}

// The value of an instant query's first sample, or NaN.
double InstantValue(int port, const std::string& query_urlencoded) {
  auto doc = nlohmann::json::parse(HttpGet(port, "/api/v1/query?query=" + query_urlencoded),
                                   nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("data")) return kNaN;
  const auto& res = doc["data"]["result"];
  if (!res.is_array() || res.empty()) return kNaN;
  return std::stod(res[0]["value"][1].get<std::string>());
}

// One Prometheus for the whole suite: it needs several seconds to take its first scrapes.
class RecordTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    Start();
  }
  static void TearDownTestSuite() {
    prom_.reset();
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "Prometheus not ready"; }

  // The provider templates and the model the tests record with.
  static void WriteFiles() {
    fs::create_directories(dir_->path() / "queries");
    std::ofstream(dir_->File("queries/selftest.yaml"))
        << "apiVersion: augur.dev/v1\nkind: QueryTemplates\nmetadata: {name: selftest}\n"
           "spec:\n"
           "  variables:\n"
           "    - {name: primary, default: primary}\n"
           "    - {name: canary, default: canary}\n"
           "  queries:\n"
           "    up_value: 'up{job=\"{{side}}\"}'\n"
           "    scraped: 'scrape_samples_scraped{job=\"{{side}}\"}'\n";
    std::ofstream(dir_->File("model.yaml"))
        << "apiVersion: augur.dev/v1\nkind: AnalysisModel\nmetadata: {name: selftest-model}\n"
           "spec:\n"
           "  metrics:\n"
           "    - {name: up, query: up_value, direction: decrease}\n"
           "    - {name: scraped, query: scraped}\n";
  }

  static void Start() {
    WriteFiles();
    auto port = augur::testing::FreeLoopbackPort();
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
    const std::string target = "127.0.0.1:" + std::to_string(port_);
    std::ofstream(dir_->File("prometheus.yml"))
        << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
           "scrape_configs:\n"
           "  - {job_name: primary, static_configs: [{targets: ['"
        << target
        << "']}]}\n"
           "  - {job_name: canary, static_configs: [{targets: ['"
        << target << "']}]}\n";
    augur::testing::ProcessOptions p;
    p.argv = {"prometheus", "--config.file=" + dir_->File("prometheus.yml"),
              "--storage.tsdb.path=" + dir_->File("data"), "--web.listen-address=" + target,
              "--log.level=warn"};
    auto proc = augur::testing::Process::Start(p);
    ASSERT_TRUE(proc) << proc.error().message;
    prom_ = std::move(*proc);
    // Ready once both jobs have at least 6 scraped samples (the first scrape comes a few
    // seconds after start), so a window ending a second ago lies wholly after the first one.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    while (std::chrono::steady_clock::now() < deadline && prom_->Running()) {
      const double n = InstantValue(port_, "min(count_over_time(up%5B1m%5D))");
      const double jobs = InstantValue(port_, "count(up)");
      if (n >= 6 && jobs == 2) {
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling interval
    }
    if (!ready_ && prom_) std::cerr << "Prometheus not ready: " << prom_->Stderr() << "\n";
  }

  // Runs the augur binary; returns its exit status, with stdout/stderr in out/err.
  static int Augur(const std::vector<std::string>& args, std::string* out, std::string* err) {
    augur::testing::ProcessOptions p;
    p.argv = {AUGUR_BINARY};
    p.argv.insert(p.argv.end(), args.begin(), args.end());
    auto proc = augur::testing::Process::Start(p);
    EXPECT_TRUE(proc) << proc.error().message;
    if (!proc) return -1000;
    auto st = (*proc)->Wait(std::chrono::seconds(60));
    EXPECT_TRUE(st) << st.error().message;
    (*proc)->Stop();  // reaped already; joins the reader so stdout/stderr are complete
    *out = (*proc)->Stdout();
    *err = (*proc)->Stderr();
    return st ? *st : -1000;
  }

  // What every recording names (the model's value at index 4), then `extra`.
  static std::vector<std::string> CommonArgs(const std::string& out, int64_t start_s, int64_t end_s,
                                             const std::string& model,
                                             std::vector<std::string> extra) {
    std::vector<std::string> args = {"record",
                                     "--prometheus",
                                     "http://127.0.0.1:" + std::to_string(port_),
                                     "--model",
                                     dir_->File(model),
                                     "--start",
                                     std::to_string(start_s),
                                     "--end",
                                     std::to_string(end_s),
                                     "--step",
                                     "1s",
                                     "--out",
                                     out};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // A recording of a native model through the selftest query templates.
  static std::vector<std::string> BaseArgs(const std::string& out, int64_t start_s, int64_t end_s,
                                           const std::string& model = "model.yaml") {
    return CommonArgs(
        out, start_s, end_s, model,
        {"--provider", "selftest", "--queries", dir_->File("queries"), "--var", "primary=primary"});
  }

  static inline TempDir* dir_ = nullptr;
  static inline int port_ = 0;
  static inline bool ready_ = false;
  static inline std::unique_ptr<augur::testing::Process> prom_;
};

TEST_F(RecordTest, RecordsBothSidesOfEveryMetric) {
  // A window that ends now: Prometheus holds >= 3 scrapes of each job, and its 5-minute
  // lookback fills every 1 s step with the latest sample.
  const int64_t end_s = ::time(nullptr) - 1;
  const int64_t start_s = end_s - 2;
  const std::string out_path = dir_->File("rec.json.gz");
  std::vector<std::string> args = BaseArgs(out_path, start_s, end_s);
  for (const char* extra : {"--label", "bad", "--regression-start", "", "--regression",
                            "latency-shift", "--name", "release-42", "--gzip"}) {
    args.push_back(extra);
  }
  args[args.size() - 6] = std::to_string(start_s + 1);  // --regression-start's value
  std::string out, err;
  ASSERT_EQ(Augur(args, &out, &err), 0) << err;
  EXPECT_NE(out.find("recorded 2 metrics x 3 points"), std::string::npos) << out;

  const std::string bytes = ReadBytes(out_path);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);  // --gzip
  auto r = ReadArchive(out_path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "release-42");
  EXPECT_EQ(r->model, "selftest-model");
  EXPECT_EQ(r->start_ms, start_s * 1000);
  EXPECT_EQ(r->end_ms, end_s * 1000);
  EXPECT_EQ(r->step_ms, 1000);
  EXPECT_EQ(r->label.truth, "bad");
  EXPECT_EQ(r->label.regression, "latency-shift");
  EXPECT_EQ(r->label.regression_start_ms, (start_s + 1) * 1000);
  EXPECT_EQ(r->vars.at("primary"), "primary");
  ASSERT_EQ(r->metrics.size(), 2u);
  EXPECT_EQ(r->metrics[0].name, "up");
  ExpectSameSeries(r->metrics[0].primary, {1, 1, 1});
  ExpectSameSeries(r->metrics[0].canary, {1, 1, 1});
  EXPECT_EQ(r->metrics[1].name, "scraped");
  for (const auto* side : {&r->metrics[1].primary, &r->metrics[1].canary}) {
    for (double x : *side) EXPECT_GT(x, 10) << "Prometheus exposes more than 10 samples";
  }

  // The recorded archive replays through the archive source: same values per window.
  auto src = NewArchiveSource(*r);
  MetricRequest req;
  req.query = "up";
  req.start_ms = r->start_ms;
  req.end_ms = r->end_ms;
  auto s = src->Fetch(req);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->timestamps_ms.size(), 3u);

  // One Prometheus start per test process (ctest runs each test alone), so the failing-metric
  // case shares this test: a model whose third metric has no template writes nothing.

  fs::copy_file(dir_->File("model.yaml"), dir_->File("model2.yaml"),
                fs::copy_options::overwrite_existing);
  std::ofstream(dir_->File("model2.yaml"), std::ios::app)
      << "    - {name: missing, query: no_such_query}\n";
  const std::string partial = dir_->File("partial.json");
  // A model of its own: the suite's Prometheus and templates are shared.
  EXPECT_EQ(
      Augur(BaseArgs(partial, ::time(nullptr) - 2, ::time(nullptr), "model2.yaml"), &out, &err), 2);
  EXPECT_NE(err.find("metric 'missing'"), std::string::npos) << err;
  EXPECT_NE(err.find("no_such_query"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(partial));
}

// A Kayenta canary config is recorded with its own queries: a metric whose filter is a named
// template (customFilterTemplate) and one with inline PromQL, each rendered once for the
// control scope and once for the experiment scope. The two jobs the suite's Prometheus scrapes
// are the two scopes.
TEST_F(RecordTest, RecordsAKayentaCanaryConfigPerScope) {
  std::ofstream(dir_->File("kayenta.json")) << R"json({
    "name": "kayenta-selftest",
    "templates": {"by-job": "job='${scope}'"},
    "metrics": [
      {"name": "up", "query": {"type": "prometheus", "metricName": "up",
                               "customFilterTemplate": "by-job"},
       "groups": ["g"], "analysisConfigurations": {"canary": {"direction": "decrease"}}},
      {"name": "scraped", "query": {"type": "prometheus",
         "customInlineTemplate": "PromQL:sum(scrape_samples_scraped{job=\"${scope}\"})"},
       "groups": ["g"]}],
    "classifier": {"groupWeights": {"g": 100}}})json";
  const int64_t end_s = ::time(nullptr) - 1;
  const int64_t start_s = end_s - 2;
  const std::string out_path = dir_->File("kayenta-rec.json");
  std::vector<std::string> args =
      CommonArgs(out_path, start_s, end_s, "kayenta.json",
                 {"--control-scope", "primary", "--experiment-scope", "canary"});
  std::string out, err;
  ASSERT_EQ(Augur(args, &out, &err), 0) << err;
  EXPECT_NE(out.find("recorded 2 metrics x 3 points"), std::string::npos) << out;
  EXPECT_EQ(err.find("warning"), std::string::npos) << "both scopes have data: " << err;
  auto r = ReadArchive(out_path);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "kayenta-selftest");
  EXPECT_EQ(r->vars.at("controlScope"), "primary");
  EXPECT_EQ(r->vars.at("experimentScope"), "canary");
  ASSERT_EQ(r->metrics.size(), 2u);
  EXPECT_EQ(r->metrics[0].name, "up");
  ExpectSameSeries(r->metrics[0].primary, {1, 1, 1});
  ExpectSameSeries(r->metrics[0].canary, {1, 1, 1});
  for (const auto* side : {&r->metrics[1].primary, &r->metrics[1].canary}) {
    ASSERT_EQ(side->size(), 3u);
    for (double x : *side) EXPECT_GT(x, 10) << "Prometheus exposes more than 10 samples";
  }

  // Without scopes the config's queries are not template names: the error says what to do.
  std::vector<std::string> no_scopes = BaseArgs(dir_->File("k2.json"), start_s, end_s);
  no_scopes[4] = dir_->File("kayenta.json");  // --model's value
  EXPECT_EQ(Augur(no_scopes, &out, &err), 2);
  EXPECT_NE(err.find("--control-scope and --experiment-scope"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_->File("k2.json")));
  // One scope alone, or a template name the config lacks, is refused before any fetch.
  const std::vector<std::string> one_scope =
      CommonArgs(out_path, start_s, end_s, "kayenta.json", {"--control-scope", "primary"});
  EXPECT_EQ(Augur(one_scope, &out, &err), 2);
  EXPECT_NE(err.find("go together"), std::string::npos) << err;
  std::ofstream(dir_->File("kayenta-bad.json"))
      << R"({"name":"bad","metrics":[{"name":"up","query":{"type":"prometheus",)"
         R"("metricName":"up","customFilterTemplate":"nope"}}]})";
  std::vector<std::string> bad = args;
  bad[4] = dir_->File("kayenta-bad.json");
  EXPECT_EQ(Augur(bad, &out, &err), 2);
  EXPECT_NE(err.find("customFilterTemplate"), std::string::npos) << err;
}

// Refusals that need no running Prometheus: the same files, a port nothing listens on.
class RecordCliTest : public RecordTest {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    WriteFiles();
    auto port = augur::testing::FreeLoopbackPort();
    port_ = port ? *port : 1;
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    ready_ = false;
  }
};

TEST_F(RecordCliTest, PrometheusDownWritesNothing) {
  auto free_port = augur::testing::FreeLoopbackPort();
  ASSERT_TRUE(free_port);
  const std::string out_path = dir_->File("down.json");
  std::vector<std::string> args = BaseArgs(out_path, ::time(nullptr) - 60, ::time(nullptr));
  args[2] = "http://127.0.0.1:" + std::to_string(*free_port);  // nothing listens there
  std::string out, err;
  EXPECT_EQ(Augur(args, &out, &err), 1);
  EXPECT_NE(err.find("Prometheus at http://127.0.0.1:" + std::to_string(*free_port)),
            std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(out_path));
  for (const auto& e : fs::directory_iterator(dir_->path())) {
    EXPECT_EQ(e.path().filename().string().find("down.json"), std::string::npos) << e.path();
  }
}

TEST_F(RecordCliTest, BadFlagsAreRefusedBeforeFetching) {
  const std::string out_path = dir_->File("flags.json");
  std::string out, err;
  auto args = BaseArgs(out_path, ::time(nullptr) - 60, ::time(nullptr));
  args.push_back("--label");
  args.push_back("maybe");
  EXPECT_EQ(Augur(args, &out, &err), 2);
  EXPECT_NE(err.find("--label must be good or bad"), std::string::npos) << err;
  args = BaseArgs(out_path, ::time(nullptr), ::time(nullptr) - 60);
  EXPECT_EQ(Augur(args, &out, &err), 2);
  EXPECT_NE(err.find("--end must be after --start"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out_path));
}

}  // namespace
}  // namespace augur::sources
