#include "augur/core/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace augur::core {
namespace {

struct Job {
  const std::function<void(size_t)>* fn = nullptr;
  size_t n = 0;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mu;  // guards error and the wake-up of the caller
  std::condition_variable finished;
  std::exception_ptr error;

  // Takes items until none is left. Returns after the item that completes the job too.
  void Work() {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
      }
      if (done.fetch_add(1) + 1 == n) {
        std::lock_guard<std::mutex> lock(mu);
        finished.notify_all();
      }
    }
  }
};

class Pool {
 public:
  Pool() {
    const unsigned hc = std::thread::hardware_concurrency();
    const size_t workers = std::clamp<size_t>(hc > 1 ? hc - 1 : 1, 1, 63);
    for (size_t t = 0; t < workers; ++t) std::thread([this] { Loop(); }).detach();
    size_ = workers;
  }

  size_t size() const { return size_; }

  // A worker that takes a ticket helps with that job; a job that finished before its ticket
  // was taken costs the worker one look at an exhausted counter (the shared_ptr keeps the job
  // alive for it).
  void Post(const std::shared_ptr<Job>& job, size_t tickets) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t t = 0; t < tickets; ++t) queue_.push_back(job);
    }
    if (tickets == 1) {
      wake_.notify_one();
    } else {
      wake_.notify_all();
    }
  }

 private:
  [[noreturn]] void Loop() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job->Work();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  size_t size_ = 0;
};

// Never destroyed: detached workers may still be parked on it at exit.
Pool& SharedPool() {
  static Pool* pool = new Pool();
  return *pool;
}

}  // namespace

size_t PoolHelpers() { return SharedPool().size(); }

void ParallelFor(size_t n, size_t helpers, const std::function<void(size_t)>& fn) {
  if (helpers == 0 || n <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  Pool& pool = SharedPool();
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  pool.Post(job, std::min({helpers, pool.size(), n - 1}));
  job->Work();
  std::unique_lock<std::mutex> lock(job->mu);
  job->finished.wait(lock, [&] { return job->done.load() == n; });
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace augur::core
