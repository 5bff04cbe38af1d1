#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "augur/notifiers/factory.h"

namespace augur::notifiers {

// One target with its queue and worker. Shared between the fan-out and the worker so that a
// worker detached while stuck in a send still has a live target and queue to return to.
struct AsyncFanout::Lane {
  std::unique_ptr<Notifier> target;
  std::string name;
  size_t limit = 1;
  std::function<void(const std::string&, const Error&)> on_error;

  std::mutex mu;
  std::condition_variable work_cv;  // a message arrived, or stop
  std::condition_variable idle_cv;  // the queue drained
  std::deque<Message> queue;
  bool busy = false;
  bool stop = false;
  uint64_t delivered = 0, failed = 0, dropped = 0;
  std::string last_error;
  std::chrono::steady_clock::time_point last_error_at;
  std::thread worker;

  static void Run(std::shared_ptr<Lane> lane) {
    std::unique_lock<std::mutex> lock(lane->mu);
    for (;;) {
      lane->work_cv.wait(lock, [&] { return lane->stop || !lane->queue.empty(); });
      if (lane->queue.empty()) return;  // stopping and nothing left
      Message m = std::move(lane->queue.front());
      lane->queue.pop_front();
      lane->busy = true;
      lock.unlock();
      const Status st = lane->target->Send(m);
      if (!st && lane->on_error) lane->on_error(lane->name, st.error());
      lock.lock();
      lane->busy = false;
      if (st) {
        ++lane->delivered;
      } else {
        ++lane->failed;
        lane->last_error = lane->name + ": " + st.error().message;
        lane->last_error_at = std::chrono::steady_clock::now();
      }
      if (lane->queue.empty()) lane->idle_cv.notify_all();
    }
  }
};

AsyncFanout::AsyncFanout(std::vector<std::unique_ptr<Notifier>> targets, FanoutOptions options)
    : flush_timeout_ms_(options.flush_timeout_ms) {
  for (auto& t : targets) {
    if (!t) continue;
    auto lane = std::make_shared<Lane>();
    lane->name = t->name();
    lane->target = std::move(t);
    lane->limit = std::max<size_t>(options.queue_limit, 1);
    lane->on_error = options.on_error;
    lane->worker = std::thread(&Lane::Run, lane);
    lanes_.push_back(std::move(lane));
  }
}

AsyncFanout::~AsyncFanout() {
  Flush(flush_timeout_ms_);
  for (auto& lane : lanes_) {
    bool stuck;
    {
      std::lock_guard<std::mutex> lock(lane->mu);
      lane->stop = true;
      lane->dropped += lane->queue.size();  // not delivered within the deadline: given up
      lane->queue.clear();
      stuck = lane->busy;
      lane->work_cv.notify_all();
    }
    // A worker inside a send can take up to the target's timeout times its attempts; the
    // caller was promised a bounded wait, so that worker finishes on its own.
    if (stuck) {
      lane->worker.detach();
    } else {
      lane->worker.join();
    }
  }
}

std::string AsyncFanout::name() const {
  std::string out = "fanout(";
  for (size_t i = 0; i < lanes_.size(); ++i) out += (i ? "," : "") + lanes_[i]->name;
  return out + ")";
}

Status AsyncFanout::Send(const Message& m) {
  std::string full;
  for (auto& lane : lanes_) {
    std::lock_guard<std::mutex> lock(lane->mu);
    if (lane->queue.size() >= lane->limit) {
      ++lane->dropped;
      full += (full.empty() ? "" : ", ") + lane->name;
      continue;
    }
    lane->queue.push_back(m);
    lane->work_cv.notify_one();
  }
  if (!full.empty()) {
    return Error{ErrorCode::kUnavailable,
                 "notifications: queue full for " + full + "; message dropped there"};
  }
  return {};
}

FanoutStats AsyncFanout::stats() const {
  FanoutStats s;
  std::chrono::steady_clock::time_point latest{};
  for (const auto& lane : lanes_) {
    std::lock_guard<std::mutex> lock(lane->mu);
    s.delivered += lane->delivered;
    s.failed += lane->failed;
    s.dropped += lane->dropped;
    s.queued += lane->queue.size() + (lane->busy ? 1 : 0);
    if (!lane->last_error.empty() && lane->last_error_at >= latest) {
      latest = lane->last_error_at;
      s.last_error = lane->last_error;
    }
  }
  return s;
}

bool AsyncFanout::Flush(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0));
  bool all = true;
  for (auto& lane : lanes_) {
    std::unique_lock<std::mutex> lock(lane->mu);
    all &= lane->idle_cv.wait_until(lock, deadline,
                                    [&] { return lane->queue.empty() && !lane->busy; });
  }
  return all;
}

std::unique_ptr<AsyncFanout> NewAsyncFanout(std::vector<std::unique_ptr<Notifier>> targets,
                                            size_t queue_limit) {
  FanoutOptions options;
  options.queue_limit = queue_limit;
  return NewAsyncFanout(std::move(targets), std::move(options));
}

std::unique_ptr<AsyncFanout> NewAsyncFanout(std::vector<std::unique_ptr<Notifier>> targets,
                                            FanoutOptions options) {
  return std::make_unique<AsyncFanout>(std::move(targets), std::move(options));
}

}  // namespace augur::notifiers
