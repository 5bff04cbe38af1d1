// The rollout manager: scheduling on a manual clock, persistence through a StateStore, resume
// after a "crash" (a new manager over the same store), operator commands, many rollouts.
#include "augur/rollout/manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace augur::rollout {
namespace {

class ManualClock : public Clock {
 public:
  int64_t NowMs() const override { return now.load(); }
  std::atomic<int64_t> now{1'800'000'000'000};
};

// Keeps records in memory; a copy of what was last saved survives a manager's destruction,
// like rows in SQLite survive a SIGKILL.
class MemoryStore : public StateStore {
 public:
  Result<std::vector<std::pair<std::string, RolloutRecord>>> LoadAll() override {
    std::lock_guard<std::mutex> l(mu);
    return std::vector<std::pair<std::string, RolloutRecord>>(rows.begin(), rows.end());
  }
  Status Save(const std::string& key, const RolloutRecord& r) override {
    std::lock_guard<std::mutex> l(mu);
    if (fail) return Error{ErrorCode::kUnavailable, "disk gone"};
    rows[key] = r;
    ++saves;
    return {};
  }
  Status Remove(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu);
    rows.erase(key);
    return {};
  }
  std::mutex mu;
  std::map<std::string, RolloutRecord> rows;
  int saves = 0;
  bool fail = false;
};

// Weights live outside the router objects, as in a real HAProxy that outlives the daemon.
struct Backend {
  std::mutex mu;
  std::map<std::string, Weights> weights;
  std::vector<std::pair<std::string, int>> history;
};

class SharedRouter : public Router {
 public:
  SharedRouter(Backend* b, std::string key) : b_(b), key_(std::move(key)) {}
  std::string name() const override { return "shared"; }
  Status SetWeights(const Weights& w) override {
    std::lock_guard<std::mutex> l(b_->mu);
    b_->weights[key_] = w;
    b_->history.emplace_back(key_, w.canary);
    return {};
  }
  Result<Weights> GetWeights() override {
    std::lock_guard<std::mutex> l(b_->mu);
    return b_->weights[key_];
  }

 private:
  Backend* b_;
  std::string key_;
};

std::string Spec(const std::string& name, int threshold = 2) {
  return "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: " + name +
         "\n  namespace: shop\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n"
         "    name: " +
         name + "\n  analysis:\n    interval: 10s\n    threshold: " + std::to_string(threshold) +
         "\n    maxWeight: 30\n    stepWeight: 10\n    metrics:\n"
         "      - name: request-success-rate\n        thresholdRange: {min: 99}\n"
         "        interval: 1m\n";
}

struct Harness {
  ManualClock clock;
  MemoryStore store;
  Backend backend;
  std::atomic<int> verdict{static_cast<int>(CheckVerdict::kPass)};
  std::atomic<int> checks{0};

  std::unique_ptr<Manager> Make() {
    ManagerOptions o;
    o.clock = &clock;
    o.store = &store;
    o.poll_ms = 5;
    o.providers = [this](const CanarySpec& spec) -> Result<RolloutProviders> {
      RolloutProviders p;
      p.router = std::make_unique<SharedRouter>(&backend, spec.namespace_ + "/" + spec.name);
      p.check = [this](const CheckContext&) {
        ++checks;
        CheckResult r;
        r.verdict = static_cast<CheckVerdict>(verdict.load());
        r.reason = CheckVerdictName(r.verdict);
        r.metrics.push_back({"request-success-rate", r.reason, "99.5 >= 99"});
        return r;
      };
      return p;
    };
    auto m = Manager::Create(std::move(o));
    EXPECT_TRUE(m) << (m ? "" : m.error().message);
    return m ? std::move(*m) : nullptr;
  }

  // Advances the clock one interval at a time until `done` holds (or 200 intervals passed),
  // giving the scheduler real time to act at each step.
  template <typename F>
  bool AdvanceUntil(Manager& m, const std::string& key, F done) {
    for (int i = 0; i < 200; ++i) {
      auto s = m.Get(key);
      if (s && done(*s)) return true;
      WaitIdle(m, key);
      s = m.Get(key);
      if (s && done(*s)) return true;
      clock.now += 10'000;
    }
    return false;
  }

  // Waits until the rollout is due in the future (its tick for this instant has run).
  void WaitIdle(Manager& m, const std::string& key) {
    for (int i = 0; i < 400; ++i) {
      auto s = m.Get(key);
      if (s && s->next_tick_ms > clock.now.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  int Weight(const std::string& key) {
    std::lock_guard<std::mutex> l(backend.mu);
    return backend.weights[key].canary;
  }
};

TEST(RolloutManager, HealthyCanaryStepsUpAndIsPromoted) {
  Harness h;
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  auto s = m->Submit(Spec("web"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->key, "shop/web");
  ASSERT_TRUE(h.AdvanceUntil(*m, "shop/web",
                             [](const RolloutStatus& st) { return IsTerminal(st.state.phase); }));
  auto done = m->Get("shop/web");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state.phase, Phase::kSucceeded) << done->state.message;
  EXPECT_EQ(h.Weight("shop/web"), 0);  // all traffic back on the promoted primary
  // The canary went 10, 20, 30 and never beyond maxWeight (the router already held 0 at the
  // start, so no call was needed for it).
  std::vector<int> steps;
  for (const auto& [key, w] : h.backend.history) {
    if (steps.empty() || steps.back() != w) steps.push_back(w);
  }
  EXPECT_EQ(steps, (std::vector<int>{10, 20, 30, 0}));
  EXPECT_EQ(done->last_check.verdict, CheckVerdict::kPass);
  ASSERT_EQ(done->last_check.metrics.size(), 1u);
  EXPECT_FALSE(done->events.empty());
  // Every committed change reached the store.
  EXPECT_EQ(h.store.rows.at("shop/web").state.phase, Phase::kSucceeded);
}

TEST(RolloutManager, FailingChecksRollBackAtThreshold) {
  Harness h;
  h.verdict = static_cast<int>(CheckVerdict::kFail);
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  ASSERT_TRUE(m->Submit(Spec("api", 2)));
  ASSERT_TRUE(h.AdvanceUntil(*m, "shop/api",
                             [](const RolloutStatus& st) { return IsTerminal(st.state.phase); }));
  auto s = m->Get("shop/api");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state.phase, Phase::kFailed);
  EXPECT_EQ(s->state.failed_checks, 2);
  EXPECT_EQ(h.Weight("shop/api"), 0);
  EXPECT_EQ(h.checks.load(), 2);
}

TEST(RolloutManager, ResumesAfterACrashAtTheSameWeight) {
  Harness h;
  {
    auto m = h.Make();
    ASSERT_TRUE(m->Start());
    ASSERT_TRUE(m->Submit(Spec("cart")));
    ASSERT_TRUE(h.AdvanceUntil(
        *m, "shop/cart", [](const RolloutStatus& st) { return st.state.canary_weight == 20; }));
    m->Stop();  // the process dies here; only the store and the router keep anything
  }
  EXPECT_EQ(h.store.rows.at("shop/cart").state.canary_weight, 20);
  const size_t changes_before = h.backend.history.size();
  auto m2 = h.Make();
  ASSERT_TRUE(m2->Start());
  auto s = m2->Get("shop/cart");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state.phase, Phase::kProgressing);
  EXPECT_EQ(s->state.canary_weight, 20);
  ASSERT_TRUE(h.AdvanceUntil(*m2, "shop/cart",
                             [](const RolloutStatus& st) { return IsTerminal(st.state.phase); }));
  EXPECT_EQ(m2->Get("shop/cart")->state.phase, Phase::kSucceeded);
  // After the restart the weights continued at 30: no step repeated or skipped.
  std::vector<int> after;
  for (size_t i = changes_before; i < h.backend.history.size(); ++i) {
    if (after.empty() || after.back() != h.backend.history[i].second) {
      after.push_back(h.backend.history[i].second);
    }
  }
  EXPECT_EQ(after, (std::vector<int>{30, 0}));
}

TEST(RolloutManager, CommandsPauseAbortAndRetry) {
  Harness h;
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  ASSERT_TRUE(m->Submit(Spec("pay")));
  ASSERT_TRUE(h.AdvanceUntil(*m, "shop/pay",
                             [](const RolloutStatus& st) { return st.state.canary_weight == 10; }));
  ASSERT_TRUE(m->Run("shop/pay", Command::kPause));
  for (int i = 0; i < 5; ++i) {
    h.clock.now += 10'000;
    h.WaitIdle(*m, "shop/pay");
  }
  EXPECT_EQ(m->Get("shop/pay")->state.canary_weight, 10);  // paused: nothing moves
  ASSERT_TRUE(m->Run("shop/pay", Command::kResume));
  ASSERT_TRUE(m->Run("shop/pay", Command::kAbort, "operator said so"));
  auto s = m->Get("shop/pay");
  EXPECT_EQ(s->state.phase, Phase::kFailed);
  EXPECT_NE(s->state.message.find("operator said so"), std::string::npos) << s->state.message;
  EXPECT_EQ(h.Weight("shop/pay"), 0);
  // A finished rollout may be retried; a command the phase forbids is a conflict.
  EXPECT_FALSE(m->Run("shop/pay", Command::kPause));
  ASSERT_TRUE(m->Run("shop/pay", Command::kRetry));
  EXPECT_EQ(m->Get("shop/pay")->state.run, 2);
  auto unknown = m->Run("shop/none", Command::kPause);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ParseCommand("promte"));
}

TEST(RolloutManager, SubmitIsIdempotentAndConflictsWhileRunning) {
  Harness h;
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  ASSERT_TRUE(m->Submit(Spec("web")));
  ASSERT_TRUE(m->Submit(Spec("web")));  // same spec: the same rollout
  auto other = m->Submit(Spec("web", 5));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kConflict);
  auto bad = m->Submit(
      "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: x}\n"
      "spec: {analysis: {stepWieght: 5}}\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(m->List().size(), 1u);
}

TEST(RolloutManager, ManyRolloutsProgressIndependently) {
  Harness h;
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(m->Submit(Spec("svc" + std::to_string(i))));
  bool all = false;
  for (int step = 0; step < 200 && !all; ++step) {
    for (int i = 0; i < 12; ++i) h.WaitIdle(*m, "shop/svc" + std::to_string(i));
    all = true;
    for (const auto& s : m->List()) all = all && s.state.phase == Phase::kSucceeded;
    h.clock.now += 10'000;
  }
  EXPECT_TRUE(all);
}

TEST(RolloutManager, AStoreThatFailsStopsTheStepAndTheRouterKeepsItsWeight) {
  Harness h;
  auto m = h.Make();
  ASSERT_TRUE(m->Start());
  ASSERT_TRUE(m->Submit(Spec("inv")));
  ASSERT_TRUE(h.AdvanceUntil(*m, "shop/inv",
                             [](const RolloutStatus& st) { return st.state.canary_weight == 10; }));
  h.store.fail = true;
  for (int i = 0; i < 4; ++i) {
    h.clock.now += 10'000;
    h.WaitIdle(*m, "shop/inv");
  }
  auto s = m->Get("shop/inv");
  EXPECT_EQ(s->state.canary_weight, 10);
  EXPECT_EQ(h.Weight("shop/inv"), 10);  // write-ahead: nothing applied that was not persisted
  EXPECT_NE(s->last_error.find("disk gone"), std::string::npos) << s->last_error;
  h.store.fail = false;
  ASSERT_TRUE(h.AdvanceUntil(*m, "shop/inv",
                             [](const RolloutStatus& st) { return IsTerminal(st.state.phase); }));
  EXPECT_EQ(m->Get("shop/inv")->state.phase, Phase::kSucceeded);
}

}  // namespace
}  // namespace augur::rollout
