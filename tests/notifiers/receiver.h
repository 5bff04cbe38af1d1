// A loopback HTTP receiver for the notifier tests. Slack, Microsoft Teams and Discord cannot be
// reached from the test machines (and must not be spammed from CI), so this stand-in records
// every POST and the tests check the bodies against the formats those services document.
//
// Thread-safety: all methods may be called from the test thread while handlers run on the
// server's threads.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace augur::notifiers::testing {

struct Received {
  std::string method, path, body;
  httplib::Headers headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class Receiver {
 public:
  // `index` counts the requests received so far, from 0; by default every answer is 200 "ok".
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, size_t index)>;

  explicit Receiver(Handler handler = nullptr) : handler_(std::move(handler)) {
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      size_t index;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = received_.size();
        received_.push_back(Received{req.method, req.path, req.body, req.headers});
        if (!req.params.empty()) {
          received_.back().path = req.target;  // keep the query string as sent
        }
        cv_.notify_all();
      }
      if (handler_) {
        handler_(req, res, index);
      } else {
        res.set_content("ok", "text/plain");
      }
    };
    server_.Post(".*", record);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens, so early clients wait in the backlog; this only
    // avoids calling stop() before the server thread has started.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    Release();
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }
  // Waits until at least `n` requests arrived; false on timeout.
  bool WaitForCount(size_t n, int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return received_.size() >= n; });
  }
  // For handlers playing a slow receiver: blocks until Release() or `max_ms`.
  void HoldUntilReleased(int64_t max_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(max_ms), [&] { return released_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  Handler handler_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Received> received_;
  bool released_ = false;
};

}  // namespace augur::notifiers::testing
