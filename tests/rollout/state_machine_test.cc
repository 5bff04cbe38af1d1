#include "augur/rollout/state_machine.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace augur::rollout {

// Readable gtest failure messages.
void PrintTo(Phase p, std::ostream* os) { *os << PhaseName(p); }
void PrintTo(const Weights& w, std::ostream* os) {
  *os << w.primary << "/" << w.canary << (w.mirror ? " mirrored" : "");
}

namespace {

// ---------------------------------------------------------------------------------------------
// Test doubles: a manual clock, a router that records every weight change, webhooks and checks
// answering from scripts, a workload with switchable readiness, and a recording notifier.

class ManualClock : public Clock {
 public:
  int64_t NowMs() const override { return now; }
  int64_t now = 1'800'000'000'000;
};

class RecordingRouter : public Router {
 public:
  std::string name() const override { return "recording"; }
  Status SetWeights(const Weights& w) override {
    ++set_calls;
    if (dead) return Error{ErrorCode::kUnavailable, "router down"};
    current = w;
    history.push_back(w);
    return {};
  }
  Result<Weights> GetWeights() override {
    if (dead) return Error{ErrorCode::kUnavailable, "router down"};
    return current;
  }
  Weights current;  // a fresh load balancer sends everything to the primary
  std::vector<Weights> history;
  int set_calls = 0;
  bool dead = false;
};

enum class Answer { kYes, kNo, kDown };

class ScriptedHooks : public Webhooks {
 public:
  Result<HookAnswer> Call(const HookSpec& hook, const HookPayload& p) override {
    calls.push_back(hook.name + "@" + p.phase);
    payloads.push_back(p);
    Answer a = hook.type == HookType::kRollback ? Answer::kNo : Answer::kYes;
    if (auto d = defaults.find(hook.name); d != defaults.end()) a = d->second;
    if (auto& q = script[hook.name]; !q.empty()) {
      a = q.front();
      q.pop_front();
    }
    if (a == Answer::kDown) return Error{ErrorCode::kUnavailable, "connection refused"};
    return HookAnswer{a == Answer::kYes, a == Answer::kYes ? "" : "gate closed"};
  }
  int Count(const std::string& call) const {
    int n = 0;
    for (const auto& c : calls) n += c == call;
    return n;
  }
  std::map<std::string, std::deque<Answer>> script;
  std::map<std::string, Answer> defaults;
  std::vector<std::string> calls;  // "<hook>@<phase>"
  std::vector<HookPayload> payloads;
};

class FakeWorkload : public Workload {
 public:
  Result<bool> PrimaryReady() override { return primary_ready; }
  Result<bool> CanaryReady() override {
    if (canary_unknown) return Error{ErrorCode::kUnavailable, "API server down"};
    return canary_ready;
  }
  Status Promote() override {
    if (dead) return Error{ErrorCode::kUnavailable, "cluster down"};
    ++promotes;
    return {};
  }
  bool primary_ready = true, canary_ready = true, canary_unknown = false, dead = false;
  int promotes = 0;
};

class RecordingNotifier : public Notifier {
 public:
  void Notify(const Event& e) override { events.push_back(e); }
  std::vector<Event> events;
};

Weights W(int primary, int canary, bool mirror = false) { return Weights{primary, canary, mirror}; }

std::string Show(const std::vector<Weights>& ws) {
  std::string s;
  for (const auto& w : ws)
    s += std::to_string(w.primary) + "/" + std::to_string(w.canary) + (w.mirror ? "m" : "") + " ";
  return s;
}

// A Canary with the given analysis body (indented by 4) and extra spec lines (indented by 2).
std::string CanaryYaml(const std::string& analysis, const std::string& spec_extra = "") {
  return "apiVersion: flagger.app/v1beta1\nkind: Canary\n"
         "metadata: {name: podinfo, namespace: test}\nspec:\n"
         "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n" +
         spec_extra + "  analysis:\n    interval: 1m\n" + analysis;
}

const char* kAllHooks =
    "    webhooks:\n"
    "      - {name: approve, type: confirm-rollout, url: 'http://gate/approve'}\n"
    "      - {name: smoke, type: pre-rollout, url: 'http://tester/smoke'}\n"
    "      - {name: load, type: rollout, url: 'http://tester/load'}\n"
    "      - {name: more, type: confirm-traffic-increase, url: 'http://gate/more'}\n"
    "      - {name: promote, type: confirm-promotion, url: 'http://gate/promote'}\n"
    "      - {name: kill, type: rollback, url: 'http://gate/kill'}\n"
    "      - {name: done, type: post-rollout, url: 'http://tester/done'}\n"
    "      - {name: events, type: event, url: 'http://augur/event'}\n";

// Everything one rollout needs, wired together. Non-copyable: the machine holds pointers in.
class Harness {
 public:
  explicit Harness(const std::string& yaml) {
    auto s = ParseCanary(yaml, "test.yaml");
    if (!s)
      ADD_FAILURE() << s.error().message;
    else
      spec = *s;
  }
  Harness(const Harness&) = delete;

  Dependencies Deps() {
    Dependencies d;
    d.clock = &clock;
    d.router = &router;
    d.persist = [this](const RolloutState& s) -> Status {
      if (persist_fails) return Error{ErrorCode::kUnavailable, "disk full"};
      persisted.push_back(s);
      // Simulates the process dying right after this write: nothing else reaches the outside.
      if (crash_at_version == s.version) router.dead = workload.dead = true;
      return {};
    };
    d.check = [this](const CheckContext& c) {
      checked_weights.push_back(c.state.canary_weight);
      CheckResult r{CheckVerdict::kPass, "all metrics within range"};
      if (!checks.empty()) {
        r.verdict = checks.front();
        r.reason = std::string("scripted ") + CheckVerdictName(r.verdict);
        checks.pop_front();
      }
      return r;
    };
    d.webhooks = &hooks;
    d.workload = &workload;
    d.notifier = &notifier;
    return d;
  }

  void Start(RolloutState s = {}) {
    auto m = StateMachine::Create(spec, Deps(), std::move(s));
    ASSERT_TRUE(m.has_value()) << m.error().message;
    machine = std::move(*m);
  }

  // One scheduler period later.
  Status Tick() {
    clock.now += spec.analysis.interval_ms;
    return machine->Tick();
  }
  void TickOk(int n = 1) {
    for (int i = 0; i < n; ++i) {
      Status st = Tick();
      ASSERT_TRUE(st.has_value()) << st.error().message;
    }
  }
  // Drops the machine and builds a new one from the last persisted state, as a restarted
  // process would, through the string-map encoding.
  void Restart() {
    RolloutState last = persisted.empty() ? RolloutState{} : persisted.back();
    machine.reset();
    auto decoded = Decode(Encode(last));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    Start(*decoded);
  }
  const RolloutState& st() const { return machine->state(); }
  Phase phase() const { return machine->state().phase; }

  CanarySpec spec;
  ManualClock clock;
  RecordingRouter router;
  ScriptedHooks hooks;
  FakeWorkload workload;
  RecordingNotifier notifier;
  std::deque<CheckVerdict> checks;
  std::vector<int> checked_weights;
  std::vector<RolloutState> persisted;
  bool persist_fails = false;
  uint64_t crash_at_version = 0;
  std::unique_ptr<StateMachine> machine;
};

// Ticks until the phase is terminal or `max` ticks passed.
void RunToEnd(Harness& h, int max = 60) {
  for (int i = 0; i < max && !IsTerminal(h.phase()); ++i) ASSERT_NO_FATAL_FAILURE(h.TickOk());
}

// ---------------------------------------------------------------------------------------------
// Canary weights

TEST(StateMachine, CanaryHappyPathFollowsFlaggersTicks) {
  Harness h(CanaryYaml("    threshold: 2\n    maxWeight: 50\n    stepWeight: 10\n" +
                       std::string(kAllHooks)));
  h.Start();
  EXPECT_EQ(h.phase(), Phase::kInitializing);

  h.TickOk();  // t0: routing taken over
  EXPECT_EQ(h.phase(), Phase::kInitialized);
  h.TickOk();  // t1: confirm-rollout passes; analysis starts on the next tick
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  EXPECT_EQ(h.st().canary_weight, 0);
  EXPECT_EQ(h.hooks.Count("approve@Initialized"), 1);
  EXPECT_TRUE(h.router.history.empty());  // the load balancer already sends 100% to primary

  h.TickOk();  // t2: pre-rollout hooks only, then the first step
  EXPECT_EQ(h.hooks.Count("smoke@Progressing"), 1);
  EXPECT_EQ(h.hooks.Count("load@Progressing"), 0);
  EXPECT_TRUE(h.checked_weights.empty());
  EXPECT_EQ(h.st().canary_weight, 10);

  h.TickOk(4);  // t3..t6: rollout hook + check, then 20..50
  EXPECT_EQ(h.st().canary_weight, 50);
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  EXPECT_EQ(h.workload.promotes, 0);

  h.TickOk();  // t7: check at 50, confirm-promotion, Promote
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  EXPECT_EQ(h.workload.promotes, 1);
  EXPECT_TRUE(h.st().promoted);
  EXPECT_EQ(h.hooks.Count("promote@Progressing"), 1);

  h.TickOk();  // t8: all traffic back to the primary
  EXPECT_EQ(h.phase(), Phase::kFinalising);
  h.TickOk();  // t9
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.hooks.Count("done@Succeeded"), 1);

  EXPECT_EQ(Show(h.router.history),
            Show({W(90, 10), W(80, 20), W(70, 30), W(60, 40), W(50, 50), W(100, 0)}));
  EXPECT_EQ(h.checked_weights, (std::vector<int>{10, 20, 30, 40, 50}));
  EXPECT_EQ(h.hooks.Count("load@Progressing"), 5);
  EXPECT_EQ(h.hooks.Count("more@Progressing"), 5);  // asked only before real increases
  EXPECT_EQ(h.hooks.Count("kill@Progressing"), 6);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_EQ(h.workload.promotes, 1);

  // More ticks change nothing.
  const size_t persisted = h.persisted.size();
  h.TickOk(3);
  EXPECT_EQ(h.persisted.size(), persisted);
  EXPECT_EQ(h.router.history.size(), 6u);
}

TEST(StateMachine, StepWeightNeverOvershootsMaxWeight) {
  Harness h(CanaryYaml("    threshold: 1\n    maxWeight: 50\n    stepWeight: 20\n"));
  h.Start();
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  // Flagger would go 20, 40, 60; Augur clamps to 50 and promotes from there.
  EXPECT_EQ(Show(h.router.history), Show({W(80, 20), W(60, 40), W(50, 50), W(100, 0)}));
  EXPECT_EQ(h.checked_weights, (std::vector<int>{20, 40, 50}));
}

TEST(StateMachine, StepWeightsLadder) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeights: [1, 2, 10, 80]\n"));
  h.Start();
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(Show(h.router.history), Show({W(99, 1), W(98, 2), W(90, 10), W(20, 80), W(100, 0)}));
  EXPECT_EQ(h.checked_weights, (std::vector<int>{1, 2, 10, 80}));
}

TEST(StateMachine, StepWeightsResumeFromAnOffLadderWeight) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeights: [10, 30, 60]\n"));
  RolloutState s;
  s.phase = Phase::kProgressing;
  s.canary_weight = 20;  // e.g. written under an older ladder
  s.pre_rollout_passed = true;
  h.Start(s);
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 30);  // the next rung, not Flagger's jump to 100
}

TEST(StateMachine, StepWeightPromotionShiftsBackGradually) {
  Harness h(
      CanaryYaml("    threshold: 1\n    maxWeight: 50\n    stepWeight: 25\n"
                 "    stepWeightPromotion: 20\n"));
  h.Start();
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(Show(h.router.history), Show({W(75, 25), W(50, 50), W(70, 30), W(90, 10), W(100, 0)}));
}

TEST(StateMachine, MirrorsOneTickBeforeTheFirstStep) {
  Harness h(
      CanaryYaml("    threshold: 1\n    maxWeight: 20\n    stepWeight: 10\n    mirror: true\n"));
  h.Start();
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(Show(h.router.history), Show({W(100, 0, true), W(90, 10), W(80, 20), W(100, 0)}));
  // The mirrored tick is analysed (it sees mirrored traffic); the pre-rollout tick is not.
  EXPECT_EQ(h.checked_weights, (std::vector<int>{0, 10, 20}));
}

// ---------------------------------------------------------------------------------------------
// Failed checks and the threshold

TEST(StateMachine, FailedChecksAreCumulativeAndRollBackAtThreshold) {
  Harness h(CanaryYaml("    threshold: 3\n    maxWeight: 100\n    stepWeight: 10\n" +
                       std::string(kAllHooks)));
  h.checks = {CheckVerdict::kPass, CheckVerdict::kFail, CheckVerdict::kPass,
              CheckVerdict::kFail, CheckVerdict::kPass, CheckVerdict::kInconclusive};
  h.Start();
  h.TickOk(3);  // Initialized, Progressing, pre-rollout + 10
  EXPECT_EQ(h.st().canary_weight, 10);
  h.TickOk();  // pass -> 20
  h.TickOk();  // fail: held at 20, 1/3
  EXPECT_EQ(h.st().canary_weight, 20);
  EXPECT_EQ(h.st().failed_checks, 1);
  h.TickOk();  // pass -> 30; the count does not go down
  EXPECT_EQ(h.st().failed_checks, 1);
  EXPECT_EQ(h.st().canary_weight, 30);
  h.TickOk(2);  // fail (2/3), pass -> 40
  EXPECT_EQ(h.st().failed_checks, 2);
  EXPECT_EQ(h.st().canary_weight, 40);
  h.TickOk();  // inconclusive counts as failed: 3/3 -> rollback in the same tick
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.st().failed_checks, 3);
  EXPECT_EQ(h.st().canary_weight, 0);
  EXPECT_EQ(h.router.current, W(100, 0));
  EXPECT_NE(h.st().message.find("failed checks threshold reached 3"), std::string::npos)
      << h.st().message;
  EXPECT_NE(h.st().message.find("inconclusive"), std::string::npos) << h.st().message;
  EXPECT_EQ(h.hooks.Count("done@Failed"), 1);
  EXPECT_EQ(h.workload.promotes, 0);
  ASSERT_FALSE(h.notifier.events.empty());
  EXPECT_EQ(h.notifier.events.back().severity, Severity::kError);
  EXPECT_EQ(h.notifier.events.back().previous, Phase::kProgressing);
}

TEST(StateMachine, InconclusiveNeverAdvances) {
  Harness h(CanaryYaml("    threshold: 5\n    stepWeight: 10\n"));
  h.checks = {CheckVerdict::kInconclusive, CheckVerdict::kInconclusive};
  h.Start();
  h.TickOk(3);
  EXPECT_EQ(h.st().canary_weight, 10);
  h.TickOk(2);
  EXPECT_EQ(h.st().canary_weight, 10);
  EXPECT_EQ(h.st().failed_checks, 2);
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 20);
}

TEST(StateMachine, FirstTickRunsPreRolloutOnlyAndItsFailuresCount) {
  Harness h(CanaryYaml("    threshold: 3\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.hooks.script["smoke"] = {Answer::kNo, Answer::kDown};
  h.Start();
  h.TickOk(2);
  h.TickOk();  // pre-rollout refused
  EXPECT_EQ(h.st().failed_checks, 1);
  EXPECT_EQ(h.st().canary_weight, 0);
  h.TickOk();  // pre-rollout unreachable: also a failure
  EXPECT_EQ(h.st().failed_checks, 2);
  h.TickOk();  // passes: first step, still no metrics
  EXPECT_EQ(h.st().canary_weight, 50);
  EXPECT_TRUE(h.checked_weights.empty());
  EXPECT_EQ(h.hooks.Count("smoke@Progressing"), 3);
  EXPECT_EQ(h.hooks.Count("load@Progressing"), 0);
}

TEST(StateMachine, PreRolloutRunsOnceEvenWhenTheFirstIncreaseIsHeld) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.hooks.script["more"] = {Answer::kNo, Answer::kNo};
  h.Start();
  h.TickOk(3);  // pre-rollout passes, traffic increase refused
  EXPECT_EQ(h.st().canary_weight, 0);
  EXPECT_TRUE(h.st().pre_rollout_passed);
  h.TickOk();  // still at 0: neither pre-rollout again nor analysis of no traffic
  EXPECT_EQ(h.st().canary_weight, 0);
  EXPECT_EQ(h.hooks.Count("smoke@Progressing"), 1);
  EXPECT_TRUE(h.checked_weights.empty());
  EXPECT_EQ(h.st().failed_checks, 0);
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 50);
}

TEST(StateMachine, RolloutHookFailureCountsLikeAFailedCheck) {
  Harness h(CanaryYaml("    threshold: 2\n    stepWeight: 20\n" + std::string(kAllHooks)));
  h.hooks.script["load"] = {Answer::kNo, Answer::kDown};
  h.Start();
  h.TickOk(3);
  h.TickOk();  // load test refused: the metrics are not even queried
  EXPECT_EQ(h.st().failed_checks, 1);
  EXPECT_TRUE(h.checked_weights.empty());
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kFailed);
}

// ---------------------------------------------------------------------------------------------
// Gates hold without counting

TEST(StateMachine, ConfirmRolloutHoldsInWaiting) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.hooks.script["approve"] = {Answer::kNo, Answer::kNo, Answer::kDown};
  h.Start();
  h.TickOk(2);
  EXPECT_EQ(h.phase(), Phase::kWaiting);
  h.TickOk(2);
  EXPECT_EQ(h.phase(), Phase::kWaiting);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_EQ(h.hooks.Count("approve@Initialized"), 1);
  EXPECT_EQ(h.hooks.Count("approve@Waiting"), 2);
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  // Holding repeats no event: one for entering Waiting, none for staying.
  int waiting_events = 0;
  for (const auto& e : h.notifier.events) waiting_events += e.state.phase == Phase::kWaiting;
  EXPECT_EQ(waiting_events, 2);  // refused, then unreachable (a different message)
}

TEST(StateMachine, ConfirmTrafficIncreaseHoldsTheWeight) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 25\n    maxWeight: 50\n" +
                       std::string(kAllHooks)));
  h.Start();
  h.TickOk(3);
  EXPECT_EQ(h.st().canary_weight, 25);
  h.hooks.script["more"] = {Answer::kNo, Answer::kNo, Answer::kNo};
  h.TickOk(3);
  EXPECT_EQ(h.st().canary_weight, 25);
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_EQ(h.checked_weights.size(), 3u);  // analysis keeps running while held
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 50);
  h.TickOk();  // at max: only confirm-promotion is asked
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  EXPECT_EQ(h.hooks.Count("more@Progressing"), 5);
}

TEST(StateMachine, ConfirmPromotionHoldsButAnalysisStillCounts) {
  Harness h(CanaryYaml("    threshold: 2\n    stepWeight: 50\n    maxWeight: 50\n" +
                       std::string(kAllHooks)));
  h.hooks.defaults["promote"] = Answer::kNo;
  h.Start();
  h.TickOk(4);  // 50 reached, check passes, promotion refused
  EXPECT_EQ(h.phase(), Phase::kWaitingPromotion);
  EXPECT_EQ(h.st().canary_weight, 50);
  h.TickOk(3);
  EXPECT_EQ(h.phase(), Phase::kWaitingPromotion);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_EQ(h.hooks.Count("promote@WaitingPromotion"), 3);
  EXPECT_EQ(h.workload.promotes, 0);

  h.checks = {CheckVerdict::kFail};
  h.TickOk();
  EXPECT_EQ(h.st().failed_checks, 1);
  EXPECT_EQ(h.phase(), Phase::kWaitingPromotion);
  h.hooks.defaults["promote"] = Answer::kYes;
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  EXPECT_EQ(h.workload.promotes, 1);
}

TEST(StateMachine, FailuresWhileWaitingForPromotionRollBack) {
  Harness h(CanaryYaml("    threshold: 2\n    stepWeight: 50\n    maxWeight: 50\n" +
                       std::string(kAllHooks)));
  h.hooks.defaults["promote"] = Answer::kNo;
  h.Start();
  h.TickOk(4);
  ASSERT_EQ(h.phase(), Phase::kWaitingPromotion);
  h.checks = {CheckVerdict::kFail, CheckVerdict::kFail};
  h.TickOk(2);
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.router.current, W(100, 0));
}

// ---------------------------------------------------------------------------------------------
// Rollback hooks

TEST(StateMachine, RollbackHookForcesRollbackWhileProgressing) {
  Harness h(CanaryYaml("    threshold: 5\n    stepWeight: 20\n" + std::string(kAllHooks)));
  h.Start();
  h.TickOk(4);
  ASSERT_EQ(h.st().canary_weight, 40);
  h.hooks.script["kill"] = {Answer::kDown};  // unreachable: no rollback
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 60);
  h.hooks.script["kill"] = {Answer::kYes};
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.router.current, W(100, 0));
  EXPECT_NE(h.st().message.find("rollback hook kill"), std::string::npos);
  EXPECT_EQ(h.checked_weights.size(), 2u);  // no analysis on the rollback tick
}

TEST(StateMachine, RollbackHookWorksWhileWaitingForPromotion) {
  Harness h(CanaryYaml("    threshold: 5\n    stepWeight: 50\n    maxWeight: 50\n" +
                       std::string(kAllHooks)));
  h.hooks.defaults["promote"] = Answer::kNo;
  h.Start();
  h.TickOk(4);
  ASSERT_EQ(h.phase(), Phase::kWaitingPromotion);
  h.hooks.script["kill"] = {Answer::kYes};
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.hooks.Count("kill@WaitingPromotion"), 1);
}

TEST(StateMachine, RollbackHookWorksWhileWaitingForApproval) {
  // Flagger never asks rollback hooks in Waiting (#1432); Augur does.
  Harness h(CanaryYaml("    threshold: 5\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.hooks.defaults["approve"] = Answer::kNo;
  h.Start();
  h.TickOk(3);
  ASSERT_EQ(h.phase(), Phase::kWaiting);
  h.hooks.script["kill"] = {Answer::kYes};
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.hooks.Count("kill@Waiting"), 2);
  EXPECT_EQ(h.hooks.Count("done@Failed"), 1);
  EXPECT_TRUE(h.router.history.empty());  // traffic never moved
}

// ---------------------------------------------------------------------------------------------
// Progress deadline (readiness)

TEST(StateMachine, ProgressDeadlineRollsBackAStuckCanary) {
  Harness h(
      CanaryYaml("    threshold: 5\n    stepWeight: 20\n", "  progressDeadlineSeconds: 150\n"));
  h.Start();
  h.TickOk(3);
  ASSERT_EQ(h.st().canary_weight, 20);
  h.workload.canary_ready = false;
  h.TickOk();  // stall starts: hold, no check, no count
  EXPECT_EQ(h.st().canary_weight, 20);
  EXPECT_EQ(h.st().stalled_since_ms, h.clock.now);
  h.workload.canary_ready = true;  // recovered within the deadline: the stall resets
  h.TickOk();
  EXPECT_EQ(h.st().stalled_since_ms, 0);
  EXPECT_EQ(h.st().canary_weight, 40);
  h.workload.canary_unknown = true;  // an unknown readiness is not readiness
  h.TickOk(3);                       // 0 s, 60 s, 120 s of stall
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  h.TickOk();  // 180 s >= 150 s
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.router.current, W(100, 0));
  EXPECT_NE(h.st().message.find("progress deadline exceeded"), std::string::npos);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_EQ(h.checked_weights.size(), 1u);
}

TEST(StateMachine, PrimaryStuckDuringPromotionRoutesToTheCanary) {
  Harness h(CanaryYaml(
      "    threshold: 5\n    stepWeight: 50\n    maxWeight: 50\n    stepWeightPromotion: 10\n",
      "  progressDeadlineSeconds: 60\n"));
  h.Start();
  h.TickOk(4);
  ASSERT_EQ(h.phase(), Phase::kPromoting);
  h.workload.primary_ready = false;
  h.TickOk(2);
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.st().canary_weight, 100);
  EXPECT_EQ(h.router.current, W(0, 100));
  EXPECT_NE(h.st().message.find("Promotion failed"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// A/B testing, blue/green, skipAnalysis, suspend

TEST(StateMachine, ABTestingRunsItsIterations) {
  Harness h(
      CanaryYaml("    threshold: 2\n    iterations: 3\n"
                 "    match:\n      - headers: {x-canary: {exact: insider}}\n" +
                 std::string(kAllHooks)));
  ASSERT_EQ(h.spec.strategy, Strategy::kABTesting);
  h.Start();
  h.TickOk(3);  // pre-rollout, matched traffic to the canary, iteration 1
  EXPECT_EQ(h.st().iterations, 1);
  EXPECT_EQ(h.router.current, W(0, 100));
  EXPECT_TRUE(h.checked_weights.empty());
  h.TickOk(2);
  EXPECT_EQ(h.st().iterations, 3);
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  h.TickOk();  // the third check, then confirm-promotion
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.checked_weights.size(), 3u);
  EXPECT_EQ(h.hooks.Count("more@Progressing"), 0);  // no traffic-increase gate for A/B
  EXPECT_EQ(Show(h.router.history), Show({W(0, 100), W(100, 0)}));
}

TEST(StateMachine, BlueGreenSwitchesAfterTheIterations) {
  Harness h(CanaryYaml("    threshold: 2\n    iterations: 2\n    mirror: true\n" +
                       std::string(kAllHooks)));
  ASSERT_EQ(h.spec.strategy, Strategy::kBlueGreen);
  h.Start();
  h.TickOk(3);  // pre-rollout, iteration 1 with mirrored traffic only
  EXPECT_EQ(h.router.current, W(100, 0, true));
  h.TickOk();  // check, iteration 2
  EXPECT_EQ(h.st().iterations, 2);
  h.TickOk();  // check, confirm-promotion, all live traffic to the canary
  EXPECT_EQ(h.router.current, W(0, 100));
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  h.TickOk();  // one more check under full traffic, confirm-promotion, Promote
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.checked_weights, (std::vector<int>{0, 0, 100}));
  EXPECT_EQ(h.hooks.Count("promote@Progressing"), 2);
  EXPECT_EQ(Show(h.router.history), Show({W(100, 0, true), W(0, 100), W(100, 0)}));
}

TEST(StateMachine, SkipAnalysisPromotesWithoutChecks) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 10\n", "  skipAnalysis: true\n"));
  Dependencies d = h.Deps();
  d.check = nullptr;  // allowed: no analysis will run
  auto m = StateMachine::Create(h.spec, d);
  ASSERT_TRUE(m.has_value()) << m.error().message;
  h.machine = std::move(*m);
  h.TickOk(3);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.workload.promotes, 1);
  EXPECT_TRUE(h.st().promoted);
  EXPECT_TRUE(h.router.history.empty());
}

TEST(StateMachine, SuspendedSpecDoesNothing) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 10\n", "  suspend: true\n"));
  h.Start();
  h.TickOk(5);
  EXPECT_EQ(h.phase(), Phase::kInitializing);
  EXPECT_TRUE(h.persisted.empty());
  EXPECT_EQ(h.router.set_calls, 0);
}

// ---------------------------------------------------------------------------------------------
// Operator commands

TEST(StateMachine, PauseAndResume) {
  Harness h(
      CanaryYaml("    threshold: 1\n    stepWeight: 20\n", "  progressDeadlineSeconds: 60\n"));
  h.Start();
  h.TickOk(3);
  ASSERT_TRUE(h.machine->Pause().has_value());
  EXPECT_TRUE(h.st().paused);
  const size_t persisted = h.persisted.size();
  const int sets = h.router.set_calls;
  h.workload.canary_ready = false;  // a pause is not a stall
  h.TickOk(10);
  EXPECT_EQ(h.persisted.size(), persisted);
  EXPECT_EQ(h.router.set_calls, sets);
  EXPECT_EQ(h.st().canary_weight, 20);
  ASSERT_TRUE(h.machine->Resume().has_value());
  h.TickOk();
  EXPECT_EQ(h.phase(), Phase::kProgressing);
  h.workload.canary_ready = true;
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 40);
  EXPECT_TRUE(h.machine->Resume().has_value());  // no-op
}

TEST(StateMachine, PromoteNowSkipsAnalysisAndGates) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 20\n    stepWeightPromotion: 15\n" +
                       std::string(kAllHooks)));
  h.hooks.defaults["promote"] = Answer::kNo;
  h.Start();
  h.TickOk(4);
  ASSERT_EQ(h.st().canary_weight, 40);
  ASSERT_TRUE(h.machine->PromoteNow("hotfix").has_value());
  EXPECT_EQ(h.phase(), Phase::kPromoting);
  EXPECT_EQ(h.workload.promotes, 1);
  EXPECT_NE(h.st().message.find("hotfix"), std::string::npos);
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(Show(h.router.history), Show({W(80, 20), W(60, 40), W(75, 25), W(90, 10), W(100, 0)}));
  EXPECT_EQ(h.machine->PromoteNow("").error().code, ErrorCode::kConflict);
}

TEST(StateMachine, PromoteNowFromInitializedFinishesAtWeightZero) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 20\n    stepWeightPromotion: 10\n"));
  h.Start();
  h.TickOk();
  ASSERT_TRUE(h.machine->PromoteNow("").has_value());
  h.TickOk(2);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.workload.promotes, 1);
}

TEST(StateMachine, AbortRollsBackButNotAfterPromotionBegan) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.Start();
  h.TickOk(3);
  ASSERT_EQ(h.st().canary_weight, 50);
  ASSERT_TRUE(h.machine->Abort("bad dashboards").has_value());
  EXPECT_EQ(h.phase(), Phase::kFailed);
  EXPECT_EQ(h.router.current, W(100, 0));
  EXPECT_EQ(h.hooks.Count("done@Failed"), 1);
  EXPECT_EQ(h.machine->Abort("").error().code, ErrorCode::kConflict);

  Harness p(CanaryYaml(
      "    threshold: 1\n    stepWeight: 50\n    maxWeight: 50\n    stepWeightPromotion: 10\n"));
  p.Start();
  p.TickOk(4);
  ASSERT_EQ(p.phase(), Phase::kPromoting);
  EXPECT_EQ(p.machine->Abort("").error().code, ErrorCode::kConflict);
  EXPECT_EQ(p.machine->Pause().has_value(), true);
}

TEST(StateMachine, RetryStartsAFreshRun) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 50\n" + std::string(kAllHooks)));
  h.checks = {CheckVerdict::kFail};
  h.Start();
  EXPECT_EQ(h.machine->Retry().error().code, ErrorCode::kConflict);
  RunToEnd(h);
  ASSERT_EQ(h.phase(), Phase::kFailed);
  const std::string first_checksum = h.machine->Checksum();
  ASSERT_TRUE(h.machine->Retry().has_value());
  EXPECT_EQ(h.phase(), Phase::kInitialized);
  EXPECT_EQ(h.st().run, 2);
  EXPECT_EQ(h.st().failed_checks, 0);
  EXPECT_NE(h.machine->Checksum(), first_checksum);
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.hooks.payloads.back().checksum, h.machine->Checksum());
  EXPECT_EQ(h.workload.promotes, 1);
}

// ---------------------------------------------------------------------------------------------
// Payloads and events

TEST(StateMachine, WebhooksGetFlaggersPayloadAndEvents) {
  Harness h(
      CanaryYaml("    threshold: 1\n    stepWeight: 100\n"
                 "    webhooks:\n"
                 "      - {name: load, url: 'http://t/', metadata: {cmd: hey}}\n"
                 "      - {name: events, type: event, url: 'http://augur/event'}\n"));
  h.Start();
  RunToEnd(h);
  ASSERT_EQ(h.phase(), Phase::kSucceeded);
  bool saw_load = false;
  int events = 0;
  for (const auto& p : h.hooks.payloads) {
    EXPECT_EQ(p.name, "podinfo");
    EXPECT_EQ(p.namespace_, "test");
    EXPECT_EQ(p.checksum, h.spec.checksum + "-1");
    if (p.metadata.count("cmd")) {
      saw_load = true;
      EXPECT_EQ(p.metadata.at("cmd"), "hey");
      EXPECT_EQ(p.phase, "Progressing");
    } else {
      ++events;
      EXPECT_FALSE(p.event_message.empty());
      EXPECT_EQ(p.event_type, "Normal");
    }
  }
  EXPECT_TRUE(saw_load);
  EXPECT_EQ(static_cast<size_t>(events), h.notifier.events.size());
  // Every phase transition produced an event, in order.
  std::vector<Phase> seen;
  for (const auto& e : h.notifier.events)
    if (e.previous != e.state.phase) seen.push_back(e.state.phase);
  EXPECT_EQ(seen, (std::vector<Phase>{Phase::kInitialized, Phase::kProgressing, Phase::kPromoting,
                                      Phase::kFinalising, Phase::kSucceeded}));
}

// ---------------------------------------------------------------------------------------------
// Durability

TEST(StateMachine, PersistFailureChangesNothing) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 50\n"));
  h.Start();
  h.TickOk(2);
  const RolloutState before = h.st();
  h.persist_fails = true;
  Status st = h.Tick();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("persist"), std::string::npos);
  EXPECT_EQ(h.st(), before);
  EXPECT_TRUE(h.router.history.empty());
  h.persist_fails = false;
  h.TickOk();
  EXPECT_EQ(h.st().canary_weight, 50);
}

TEST(StateMachine, RouterFailureIsRetriedBeforeTheNextStep) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 30\n"));
  h.Start();
  h.TickOk(2);
  h.router.dead = true;
  Status st = h.Tick();  // the step is persisted, the router call fails
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(h.st().canary_weight, 30);
  const size_t persisted = h.persisted.size();
  EXPECT_FALSE(h.Tick().has_value());  // still down: hold, no further step
  EXPECT_EQ(h.persisted.size(), persisted);
  h.router.dead = false;
  h.TickOk();  // re-applies 70/30, then steps to 60
  EXPECT_EQ(Show(h.router.history), Show({W(70, 30), W(40, 60)}));
}

struct Scenario {
  const char* name;
  std::string yaml;
  std::deque<CheckVerdict> checks;
  std::map<std::string, std::deque<Answer>> hooks;
};

std::vector<Scenario> Scenarios() {
  using V = CheckVerdict;
  return {
      {"canary_with_gates_and_failures",
       CanaryYaml("    threshold: 4\n    maxWeight: 50\n    stepWeight: 20\n"
                  "    stepWeightPromotion: 20\n" +
                  std::string(kAllHooks)),
       {V::kPass, V::kFail, V::kPass, V::kInconclusive, V::kPass, V::kPass, V::kPass},
       {{"approve", {Answer::kNo}},
        {"more", {Answer::kYes, Answer::kNo}},
        {"promote", {Answer::kNo, Answer::kDown}}}},
      {"canary_rolled_back",
       CanaryYaml("    threshold: 2\n    stepWeights: [5, 25, 50]\n" + std::string(kAllHooks)),
       {V::kPass, V::kFail, V::kPass, V::kFail},
       {}},
      {"canary_mirror",
       CanaryYaml("    threshold: 1\n    maxWeight: 30\n    stepWeight: 15\n    mirror: true\n"),
       {},
       {}},
      {"ab_testing",
       CanaryYaml("    threshold: 3\n    iterations: 4\n    stepWeightPromotion: 40\n"
                  "    match:\n      - headers: {cookie: {regex: 'canary=always'}}\n" +
                  std::string(kAllHooks)),
       {V::kPass, V::kFail, V::kPass},
       {{"promote", {Answer::kNo}}}},
      {"blue_green_mirror",
       CanaryYaml("    threshold: 2\n    iterations: 3\n    mirror: true\n" +
                  std::string(kAllHooks)),
       {V::kPass, V::kInconclusive},
       {{"promote", {Answer::kYes, Answer::kNo}}}},
  };
}

struct Outcome {
  std::vector<Weights> history;
  std::vector<RolloutState> persisted;
  RolloutState final_state;
  int promotes = 0;
  std::vector<std::string> hook_calls;
  std::vector<int> checked_weights;
};

// Runs a scenario to its end. crash_each_tick: after every tick the machine is dropped and
// rebuilt from the encoded persisted state. crash_at_version: the process "dies" right after
// persisting that version (router and workload unreachable until the restart).
Outcome RunScenario(const Scenario& sc, bool crash_each_tick, uint64_t crash_at_version = 0) {
  Harness h(sc.yaml);
  h.checks = sc.checks;
  h.hooks.script = sc.hooks;
  h.crash_at_version = crash_at_version;
  h.Start();
  for (int i = 0; i < 80 && !IsTerminal(h.phase()); ++i) {
    Status st = h.Tick();
    if (h.router.dead) {
      // The crash: whatever the tick said, the process is gone. Restart from the store.
      h.router.dead = h.workload.dead = false;
      h.crash_at_version = 0;
      h.Restart();
      continue;
    }
    EXPECT_TRUE(st.has_value()) << sc.name << ": " << st.error().message;
    EXPECT_EQ(h.st(), h.persisted.back()) << sc.name << ": memory and store diverged";
    if (crash_each_tick) h.Restart();
  }
  EXPECT_TRUE(IsTerminal(h.phase())) << sc.name;
  // A restarted terminal machine reconciles once more; that must not change the outside world.
  h.Restart();
  h.TickOk(2);
  return Outcome{h.router.history,    h.persisted,   h.st(),
                 h.workload.promotes, h.hooks.calls, h.checked_weights};
}

class Durability : public ::testing::TestWithParam<size_t> {};

TEST_P(Durability, CrashAfterEveryTickChangesNothing) {
  const Scenario sc = Scenarios()[GetParam()];
  const Outcome ref = RunScenario(sc, false);
  const Outcome crashed = RunScenario(sc, true);
  EXPECT_EQ(Show(crashed.history), Show(ref.history));
  EXPECT_EQ(crashed.persisted, ref.persisted);
  EXPECT_EQ(crashed.final_state, ref.final_state);
  EXPECT_EQ(crashed.hook_calls, ref.hook_calls);
  EXPECT_EQ(crashed.checked_weights, ref.checked_weights);
  EXPECT_EQ(crashed.promotes, ref.promotes);
  EXPECT_EQ(ref.promotes, ref.final_state.phase == Phase::kSucceeded ? 1 : 0);
  EXPECT_GE(ref.history.size(), 2u);
}

TEST_P(Durability, CrashBetweenPersistAndRouterAtEveryVersion) {
  const Scenario sc = Scenarios()[GetParam()];
  const Outcome ref = RunScenario(sc, false);
  ASSERT_GT(ref.final_state.version, 3u);
  for (uint64_t v = 1; v <= ref.final_state.version; ++v) {
    const Outcome crashed = RunScenario(sc, false, v);
    // The router ends up with exactly the uncrashed sequence of weights: the step persisted
    // before the crash is applied after the restart, not skipped and not taken twice.
    EXPECT_EQ(Show(crashed.history), Show(ref.history)) << sc.name << " crash at v" << v;
    EXPECT_EQ(crashed.promotes, ref.promotes) << sc.name << " crash at v" << v;
    EXPECT_EQ(crashed.final_state.phase, ref.final_state.phase) << " crash at v" << v;
    EXPECT_EQ(crashed.final_state.canary_weight, ref.final_state.canary_weight);
    EXPECT_EQ(crashed.checked_weights, ref.checked_weights) << sc.name << " crash at v" << v;
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Durability, ::testing::Range<size_t>(0, 5),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return std::string(Scenarios()[i.param].name);
                         });

TEST(StateMachine, CrashBeforePromoteIsAcknowledgedPromotesOnce) {
  Harness h(CanaryYaml(
      "    threshold: 1\n    stepWeight: 50\n    maxWeight: 50\n    stepWeightPromotion: 25\n"));
  h.Start();
  h.TickOk(3);
  ASSERT_EQ(h.st().canary_weight, 50);
  h.crash_at_version = h.st().version + 1;  // the write that enters Promoting
  (void)h.Tick();
  ASSERT_TRUE(h.workload.dead);
  EXPECT_EQ(h.workload.promotes, 0);
  EXPECT_EQ(h.persisted.back().phase, Phase::kPromoting);
  EXPECT_FALSE(h.persisted.back().promoted);
  h.router.dead = h.workload.dead = false;
  h.Restart();
  h.TickOk();  // Promote re-sent first, then the first promotion step
  EXPECT_EQ(h.workload.promotes, 1);
  EXPECT_EQ(h.st().canary_weight, 25);
  RunToEnd(h);
  EXPECT_EQ(h.phase(), Phase::kSucceeded);
  EXPECT_EQ(h.workload.promotes, 1);
}

TEST(StateMachine, RestartReappliesWeightsTheRouterMissed) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 30\n"));
  h.Start();
  h.TickOk(2);
  h.crash_at_version = h.st().version + 1;
  (void)h.Tick();  // persisted weight 30, router never told
  ASSERT_EQ(h.persisted.back().canary_weight, 30);
  EXPECT_EQ(h.router.current, W(100, 0));
  h.router.dead = h.workload.dead = false;
  h.Restart();
  EXPECT_EQ(h.st().canary_weight, 30);
  h.TickOk();
  EXPECT_EQ(Show(h.router.history), Show({W(70, 30), W(40, 60)}));
}

// ---------------------------------------------------------------------------------------------
// Encoding and construction

TEST(RolloutState, EncodeDecodeRoundTrip) {
  RolloutState s;
  s.phase = Phase::kWaitingPromotion;
  s.canary_weight = 35;
  s.mirror = true;
  s.iterations = 2;
  s.failed_checks = 4;
  s.pre_rollout_passed = true;
  s.promoted = false;
  s.paused = true;
  s.run = 3;
  s.run_started_ms = 1'800'000'000'123;
  s.last_transition_ms = 1'800'000'100'000;
  s.last_tick_ms = 1'800'000'160'000;
  s.last_check_ms = 1'800'000'160'000;
  s.stalled_since_ms = 1'800'000'150'000;
  s.version = 42;
  s.message = "Halt advancement: waiting for approval to promote: gate=closed; \"x\"\n";
  const auto enc = Encode(s);
  EXPECT_EQ(enc.at("phase"), "WaitingPromotion");
  EXPECT_EQ(enc.at("canaryWeight"), "35");
  auto back = Decode(enc);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, s);
  auto fresh = Decode(Encode(RolloutState{}));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(*fresh, RolloutState{});
}

TEST(RolloutState, DecodeRejectsDamage) {
  const auto good = Encode(RolloutState{});
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"canaryWeight", "101", "canaryWeight: 101 is out of range"},
      {"canaryWeight", "ten", "canaryWeight: not an integer"},
      {"canaryWeight", "", "canaryWeight: not an integer"},
      {"phase", "Done", "unknown phase 'Done'"},
      {"mirror", "yes", "mirror: must be true or false"},
      {"encoding", "2", "encoding"},
      {"failedChecks", "-1", "failedChecks: -1 is out of range"},
      {"run", "0", "run: 0 is out of range"},
      {"colour", "blue", "unknown key 'colour'"},
  };
  for (const auto& [key, value, expected] : cases) {
    auto f = good;
    f[key] = value;
    auto r = Decode(f);
    ASSERT_FALSE(r.has_value()) << key;
    EXPECT_NE(r.error().message.find(expected), std::string::npos) << r.error().message;
  }
  auto f = good;
  f.erase("version");
  auto r = Decode(f);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("version: missing"), std::string::npos);
}

TEST(StateMachine, CreateChecksItsDependencies) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 10\n" + std::string(kAllHooks)));
  Dependencies d = h.Deps();
  d.router = nullptr;
  EXPECT_FALSE(StateMachine::Create(h.spec, d).has_value());
  d = h.Deps();
  d.persist = nullptr;
  EXPECT_FALSE(StateMachine::Create(h.spec, d).has_value());
  d = h.Deps();
  d.check = nullptr;
  EXPECT_FALSE(StateMachine::Create(h.spec, d).has_value());
  d = h.Deps();
  d.webhooks = nullptr;
  auto m = StateMachine::Create(h.spec, d);
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("webhook"), std::string::npos);
  d = h.Deps();
  d.workload = nullptr;  // optional
  d.notifier = nullptr;
  EXPECT_TRUE(StateMachine::Create(h.spec, d).has_value());
  RolloutState bad;
  bad.iterations = 2;
  EXPECT_FALSE(StateMachine::Create(h.spec, h.Deps(), bad).has_value());
}

TEST(StateMachine, SchedulesTicksByTheInterval) {
  Harness h(CanaryYaml("    threshold: 1\n    stepWeight: 10\n"));
  h.Start();
  EXPECT_EQ(h.machine->NextTickDueMs(), 0);  // the first tick is immediate, as in Flagger
  h.TickOk();
  EXPECT_EQ(h.machine->NextTickDueMs(), h.clock.now + 60000);
}

}  // namespace
}  // namespace augur::rollout
