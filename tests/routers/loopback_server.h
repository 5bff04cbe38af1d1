// An httplib server on a free 127.0.0.1 port, serving from its own thread, stopped and joined
// on destruction (also when an ASSERT unwinds a test). bind_to_any_port leaves the socket
// listening, so clients may connect as soon as Start returns.
#pragma once

#include <httplib.h>

#include <thread>

namespace augur::routers::testing {

class LoopbackServer {
 public:
  ~LoopbackServer() { Stop(); }

  // Routes are added to server() before Start. Returns the port (0 on failure).
  int Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ > 0) thread_ = std::thread([this] { server_.listen_after_bind(); });
    return port_;
  }
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Server& server() { return server_; }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace augur::routers::testing
