// AsyncFanout: delivery to every target, a caller that never waits on a slow target, bounded
// queues, and destruction that flushes within its deadline. Most targets here are in-process
// fakes (the queueing is what is under test); one test goes through real HTTP notifiers and
// the loopback receiver.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "augur/notifiers/factory.h"
#include "notifiers/receiver.h"

namespace augur::notifiers {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Shared with a fake target so a test can hold it in Send and outlive it if it is detached.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int entered = 0;
  std::vector<std::string> seen;

  void Close() {
    std::lock_guard<std::mutex> l(mu);
    open = false;
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
  bool WaitEntered(int n, int64_t ms) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, milliseconds(ms), [&] { return entered >= n; });
  }
  size_t Seen() {
    std::lock_guard<std::mutex> l(mu);
    return seen.size();
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard<std::mutex> l(mu);
    return seen;
  }
};

class FakeTarget : public Notifier {
 public:
  FakeTarget(std::string name, std::shared_ptr<Gate> gate, bool fail = false)
      : name_(std::move(name)), gate_(std::move(gate)), fail_(fail) {}
  std::string name() const override { return name_; }
  Status Send(const Message& m) override {
    std::unique_lock<std::mutex> l(gate_->mu);
    ++gate_->entered;
    gate_->cv.notify_all();
    gate_->cv.wait(l, [&] { return gate_->open; });
    gate_->seen.push_back(m.text);
    if (fail_) return Error{ErrorCode::kUnavailable, "down"};
    return {};
  }

 private:
  std::string name_;
  std::shared_ptr<Gate> gate_;
  bool fail_;
};

Message Msg(const std::string& text) {
  Message m;
  m.rollout = "ns/app";
  m.phase = "Progressing";
  m.text = text;
  return m;
}

TEST(AsyncFanout, DeliversEveryMessageToEveryTargetInOrder) {
  auto a = std::make_shared<Gate>(), b = std::make_shared<Gate>();
  std::vector<std::unique_ptr<Notifier>> targets;
  targets.push_back(std::make_unique<FakeTarget>("a", a));
  targets.push_back(std::make_unique<FakeTarget>("b", b));
  auto fan = NewAsyncFanout(std::move(targets), 16);
  EXPECT_EQ(fan->name(), "fanout(a,b)");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(fan->Send(Msg(std::to_string(i))).has_value());
  ASSERT_TRUE(fan->Flush(5000));
  const FanoutStats s = fan->stats();
  EXPECT_EQ(s.delivered, 20u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.queued, 0u);
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(a->Snapshot(), want);
  EXPECT_EQ(b->Snapshot(), want);
}

TEST(AsyncFanout, SlowTargetBlocksNeitherCallerNorOtherTargets) {
  auto slow = std::make_shared<Gate>(), fast = std::make_shared<Gate>();
  slow->Close();
  std::vector<std::unique_ptr<Notifier>> targets;
  targets.push_back(std::make_unique<FakeTarget>("slow", slow));
  targets.push_back(std::make_unique<FakeTarget>("fast", fast));
  auto fan = NewAsyncFanout(std::move(targets), 8);
  const auto start = Clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(fan->Send(Msg("m")).has_value());
  EXPECT_LT(Clock::now() - start, milliseconds(200));
  // The fast lane drains while the slow one is stuck in its first send.
  const auto deadline = Clock::now() + milliseconds(5000);
  while (fast->Seen() < 5 && Clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(fast->Seen(), 5u);
  EXPECT_EQ(slow->Seen(), 0u);
  EXPECT_EQ(fan->stats().queued, 5u);  // 1 in progress + 4 waiting, all in the slow lane
  EXPECT_FALSE(fan->Flush(50));
  slow->Open();
  EXPECT_TRUE(fan->Flush(5000));
  EXPECT_EQ(slow->Seen(), 5u);
}

TEST(AsyncFanout, FullQueueDropsAndCounts) {
  auto slow = std::make_shared<Gate>(), fast = std::make_shared<Gate>();
  slow->Close();
  std::vector<std::unique_ptr<Notifier>> targets;
  targets.push_back(std::make_unique<FakeTarget>("slow", slow));
  targets.push_back(std::make_unique<FakeTarget>("fast", fast));
  auto fan = NewAsyncFanout(std::move(targets), 2);
  ASSERT_TRUE(fan->Send(Msg("0")).has_value());
  ASSERT_TRUE(slow->WaitEntered(1, 5000));  // "0" is in progress, the queue is empty again
  // Waiting for the fast lane to take each message keeps its queue short, so only slow fills.
  ASSERT_TRUE(fast->WaitEntered(1, 5000));
  ASSERT_TRUE(fan->Send(Msg("1")).has_value());
  ASSERT_TRUE(fast->WaitEntered(2, 5000));
  ASSERT_TRUE(fan->Send(Msg("2")).has_value());
  ASSERT_TRUE(fast->WaitEntered(3, 5000));
  const Status st = fan->Send(Msg("3"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(st.error().message, "notifications: queue full for slow; message dropped there");
  EXPECT_EQ(fan->stats().dropped, 1u);
  slow->Open();
  ASSERT_TRUE(fan->Flush(5000));
  EXPECT_EQ(slow->Snapshot(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(fast->Snapshot(), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ(fan->stats().delivered, 7u);
}

TEST(AsyncFanout, FailuresReachOnErrorAndStats) {
  auto g = std::make_shared<Gate>();
  std::mutex mu;
  std::vector<std::string> errors;
  FanoutOptions o;
  o.on_error = [&](const std::string& target, const Error& e) {
    std::lock_guard<std::mutex> l(mu);
    errors.push_back(target + "|" + e.message);
  };
  std::vector<std::unique_ptr<Notifier>> targets;
  targets.push_back(std::make_unique<FakeTarget>("broken", g, /*fail=*/true));
  auto fan = NewAsyncFanout(std::move(targets), std::move(o));
  ASSERT_TRUE(fan->Send(Msg("x")).has_value());  // enqueueing succeeds; delivery fails later
  ASSERT_TRUE(fan->Flush(5000));
  const FanoutStats s = fan->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_EQ(s.last_error, "broken: down");
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(errors, (std::vector<std::string>{"broken|down"}));
}

TEST(AsyncFanout, DestructionFlushesQueuedMessages) {
  testing::Receiver rx;
  std::vector<std::unique_ptr<Notifier>> targets;
  for (const char* kind : {"slack", "webhook"}) {
    auto n = NewNotifier({kind, Severity::kInfo, {{"url", rx.url(std::string("/") + kind)}}});
    ASSERT_TRUE(n.has_value()) << n.error().message;
    targets.push_back(std::move(*n));
  }
  {
    auto fan = NewAsyncFanout(std::move(targets), 16);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(fan->Send(Msg(std::to_string(i))).has_value());
  }  // no Flush: the destructor must deliver what is queued
  EXPECT_EQ(rx.count(), 8u);
  size_t slack = 0;
  for (const auto& r : rx.received()) slack += r.path == "/slack";
  EXPECT_EQ(slack, 4u);
}

TEST(AsyncFanout, DestructionGivesUpAfterItsDeadline) {
  auto stuck = std::make_shared<Gate>();
  stuck->Close();
  FanoutOptions o;
  o.queue_limit = 8;
  o.flush_timeout_ms = 200;
  std::vector<std::unique_ptr<Notifier>> targets;
  targets.push_back(std::make_unique<FakeTarget>("stuck", stuck));
  auto fan = NewAsyncFanout(std::move(targets), std::move(o));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(fan->Send(Msg(std::to_string(i))).has_value());
  ASSERT_TRUE(stuck->WaitEntered(1, 5000));
  const auto start = Clock::now();
  fan.reset();
  const auto took = Clock::now() - start;
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(2000));
  // The detached worker still owns its target; letting it finish must be safe, and the two
  // queued messages were abandoned rather than sent.
  stuck->Open();
  const auto deadline = Clock::now() + milliseconds(5000);
  while (stuck->Seen() < 1 && Clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(stuck->Seen(), 1u);
}

}  // namespace
}  // namespace augur::notifiers
