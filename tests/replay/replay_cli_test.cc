// `augur replay` end to end through the real binary: archives written with WriteArchive (plain
// and gzip), a corrupt and a truncated one beside them, a bare Kayenta list, sweeps and the
// HTML report.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "augur/sources/archive.h"
#include "replay/replay_testutil.h"

namespace augur::replay {
namespace {

namespace fs = std::filesystem;
using testing::MakeRelease;

const char* kModel = R"(apiVersion: augur.dev/v1
kind: AnalysisModel
metadata: {name: replay-test}
spec:
  mode: augur
  defaults: {confLevel: 0.95, minSamples: 3}
  metrics:
    - {name: latency, query: latency, groups: [latency], direction: increase,
       effectFloor: {relative: 0.05}}
    - {name: errors, query: errors, groups: [errors], kind: count, exposure: requests,
       direction: increase, critical: true, effectFloor: {relative: 0.10}}
    - {name: requests, query: requests, groups: [traffic], direction: decrease,
       effectFloor: {relative: 0.5}}
)";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CliRun {
  int code;
  std::string out, err;
};

class ReplayCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/augur_replay_cli_XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ / "set");
    std::ofstream(dir_ / "model.yaml") << kModel;
    // Two bad (latency x1.5 from the start, error burst) and two good releases.
    Write("set/a-slow.json", {.name = "a-slow", .seed = 3, .latency_factor = 1.5, .truth = "bad"},
          false);
    Write("set/b-good.json.gz", {.name = "b-good", .seed = 7, .truth = "good"}, true);
    Write("set/c-errors.json", {.name = "c-errors", .seed = 4, .error_factor = 6.0, .truth = "bad"},
          false);
    Write("set/d-good.json", {.name = "d-good", .seed = 8, .truth = "good"}, false);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const testing::ReleaseSpec& spec, bool gzip) {
    auto st = sources::WriteArchive(MakeRelease(spec), (dir_ / name).string(), gzip);
    ASSERT_TRUE(st) << st.error().message;
  }

  // Arguments are fixed strings of this file and paths under our own temporary folder.
  CliRun Augur(const std::string& args) {
    const std::string cmd = std::string(AUGUR_BINARY) + " replay " + args + " --progress lines > " +
                            (dir_ / "out").string() + " 2> " + (dir_ / "err").string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(dir_ / "out"), Slurp(dir_ / "err")};
  }

  std::vector<std::string> Lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  fs::path dir_;
};

TEST_F(ReplayCli, HumanOutputTimelinesAndConfusionMatrix) {
  auto r = Augur((dir_ / "set").string() + " --model " + (dir_ / "model.yaml").string());
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s :
       {"a-slow (bad", "=> rolled_back", "b-good (good", "=> promoted",
        "confusion matrix (4 labelled releases)", "TP rate 100.0%", "FP rate 0.0%"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in\n" << r.out;
  }
  EXPECT_NE(r.err.find("replay: 4/4 releases"), std::string::npos) << r.err;
}

TEST_F(ReplayCli, ModelNamedInTheArchiveIsFoundAmongBundledModels) {
  // The archives name "replay-test", which is not bundled: a clear error per release.
  auto r = Augur((dir_ / "set" / "d-good.json").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("model 'replay-test' is neither a file nor a bundled model"),
            std::string::npos)
      << r.err;
}

TEST_F(ReplayCli, JsonLinesOnePerRelease) {
  auto r = Augur((dir_ / "set").string() + " --json --model " + (dir_ / "model.yaml").string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  // Sorted by file name, whatever the thread that replayed them.
  EXPECT_EQ(lines[0].rfind("{\"release\":\"a-slow\"", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("\"final_verdict\":\"rolled_back\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"release\":\"b-good\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"final_verdict\":\"promoted\""), std::string::npos);
  for (const auto& l : lines) EXPECT_NE(l.find("\"checks\":[{"), std::string::npos) << l;
}

TEST_F(ReplayCli, CorruptAndTruncatedArchivesAreNamedAndTheRestStillReplay) {
  const std::string good = Slurp(dir_ / "set" / "d-good.json");
  std::ofstream(dir_ / "set" / "e-corrupt.json") << good.substr(0, 200) << "}}garbage";
  const std::string gz = Slurp(dir_ / "set" / "b-good.json.gz");
  std::ofstream(dir_ / "set" / "f-truncated.json.gz", std::ios::binary)
      << gz.substr(0, gz.size() / 2);
  auto r = Augur((dir_ / "set").string() + " --json --model " + (dir_ / "model.yaml").string());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("e-corrupt.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("f-truncated.json.gz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 4u) << r.out;  // the four good archives
}

TEST_F(ReplayCli, BareKayentaListWithKayentaConfig) {
  // The metrics named as models/kayenta-default.json names them; no envelope.
  auto rel = MakeRelease({.name = "k", .seed = 9, .latency_factor = 2.0, .truth = ""});
  rel.metrics[0].name = "latency-p99";
  rel.metrics[1].name = "error-rate";
  rel.metrics[2].name = "cpu";
  const std::string envelope = sources::EncodeArchive(rel);
  // The bare list is the envelope's metricSetPairList array, as Kayenta stores it.
  const auto from = envelope.find("\"metricSetPairList\"");
  ASSERT_NE(from, std::string::npos);
  const auto open = envelope.find('[', from);
  const auto close = envelope.rfind(']');
  std::ofstream(dir_ / "kayenta.json") << envelope.substr(open, close - open + 1);
  auto r = Augur((dir_ / "kayenta.json").string() + " --json --model kayenta-default");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("\"mode\":\"kayenta\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"judge\":\"NetflixACAJudge-v1.0\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"final_verdict\":\"rolled_back\""), std::string::npos) << r.out;
}

TEST_F(ReplayCli, SweepPrintsTheTableAndTheBestSetting) {
  auto r = Augur((dir_ / "set").string() + " --model " + (dir_ / "model.yaml").string() +
                 " --sweep latency.relFloor=0.05,2.0 --sweep threshold=2,3");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* s :
       {"sweep over 4 settings x 4 releases", "latency.relFloor=0.05 threshold=2",
        "latency.relFloor=2.0 threshold=3", "objective: maximise TP rate subject to FP rate <= 5%",
        "best: latency.relFloor=0.05 threshold=2"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in\n" << r.out;
  }
  // A 200% floor hides the latency regression: a-slow is promoted, so TP drops to 1 of 2.
  auto lines = Lines(r.out);
  bool saw = false;
  for (const auto& l : lines) {
    if (l.find("latency.relFloor=2.0 threshold=2") == std::string::npos) continue;
    saw = true;
    EXPECT_NE(l.find("50.0%"), std::string::npos) << l;
  }
  EXPECT_TRUE(saw) << r.out;
}

TEST_F(ReplayCli, BadFlagsAreRejectedBeforeReplaying) {
  auto r = Augur((dir_ / "set").string() + " --sweep bogus=1");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown sweep key 'bogus'"), std::string::npos) << r.err;
  r = Augur((dir_ / "set").string() + " --objective best");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("tpr@fpr<="), std::string::npos) << r.err;
  r = Augur((dir_ / "set").string() + " --mode fast");
  EXPECT_EQ(r.code, 2);
}

TEST_F(ReplayCli, HtmlReportIsOneSelfContainedFile) {
  const fs::path html = dir_ / "report.html";
  auto r = Augur((dir_ / "set").string() + " --model " + (dir_ / "model.yaml").string() +
                 " --report " + html.string() + " --sweep threshold=1,2");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string doc = Slurp(html);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(doc.rfind("<!DOCTYPE html>", 0), 0u);
  // No network: nothing fetched from anywhere (the SVG namespace is an identifier, not a fetch).
  EXPECT_EQ(doc.find("src="), std::string::npos);
  EXPECT_EQ(doc.find("<link"), std::string::npos);
  EXPECT_EQ(doc.find("<script"), std::string::npos);
  for (const char* s : {"Confusion matrix", "sweep trade-off", "a-slow", "rolled_back",
                        "canary weight and checks", "<polyline", "regression"}) {
    EXPECT_NE(doc.find(s), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace augur::replay
