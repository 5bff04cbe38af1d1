#include "routers/haproxy/runtime_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace augur::routers::haproxy {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxAnswerBytes = size_t{1} << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd; false on timeout. A signal restarts the wait with the time left.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

}  // namespace

Result<RuntimeClient> RuntimeClient::Create(const std::string& address,
                                            const std::string& unix_path, int timeout_ms,
                                            const std::string& field) {
  RuntimeClient c;
  c.timeout_ms_ = timeout_ms;
  if (!unix_path.empty()) {
    if (unix_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return InvalidArgument(field + ".socket: path longer than " +
                             std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes: '" +
                             unix_path + "'");
    }
    c.unix_path_ = unix_path;
    return c;
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return InvalidArgument(field + ".address: expected host:port, got '" + address + "'");
  }
  c.host_ = address.substr(0, colon);
  c.port_ = address.substr(colon + 1);
  if (c.host_.size() > 2 && c.host_.front() == '[' && c.host_.back() == ']') {
    c.host_ = c.host_.substr(1, c.host_.size() - 2);
  }
  char* end = nullptr;
  const long port = std::strtol(c.port_.c_str(), &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    return InvalidArgument(field + ".address: port must be 1..65535, got '" + address + "'");
  }
  return c;
}

std::string RuntimeClient::Where() const {
  return unix_path_.empty() ? host_ + ":" + port_ : "unix:" + unix_path_;
}

Result<std::string> RuntimeClient::Command(const std::string& command) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  const std::string where = "HAProxy runtime API " + Where();
  auto unavailable = [&](const std::string& what) {
    return Error{ErrorCode::kUnavailable, where + ": " + what + ": " + std::strerror(errno)};
  };
  auto too_slow = [&](const std::string& what) {
    return Error{ErrorCode::kDeadlineExceeded,
                 where + ": " + what + " took over " + std::to_string(timeout_ms_) + " ms"};
  };

  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  int family = AF_UNIX;
  if (!unix_path_.empty()) {
    auto* un = reinterpret_cast<sockaddr_un*>(&addr);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, unix_path_.c_str(), unix_path_.size() + 1);
    addr_len = sizeof(sockaddr_un);
  } else {
    // Name resolution is not bounded by the deadline; runtime sockets are normally addressed
    // by IP (an admin socket should listen on loopback only).
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      return Error{ErrorCode::kUnavailable,
                   where + ": cannot resolve '" + host_ + "': " + ::gai_strerror(rc)};
    }
    std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
    addr_len = res->ai_addrlen;
    family = res->ai_family;
    ::freeaddrinfo(res);
  }

  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return unavailable("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return unavailable("connect");
    if (!WaitFor(fd.get(), POLLOUT, deadline)) return too_slow("connect");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      return unavailable("connect");
    }
  }

  const std::string line = command + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd.get(), POLLOUT, deadline)) return too_slow("sending '" + command + "'");
    } else {
      return unavailable("send");
    }
  }

  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) break;  // HAProxy closes after answering one command
    if (n > 0) {
      answer.append(buf, static_cast<size_t>(n));
      if (answer.size() > kMaxAnswerBytes) {
        return BadData(where + ": answer to '" + command + "' exceeds " +
                       std::to_string(kMaxAnswerBytes) + " bytes");
      }
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!WaitFor(fd.get(), POLLIN, deadline)) return too_slow("answer to '" + command + "'");
    } else {
      return unavailable("recv");
    }
  }
  return answer;
}

}  // namespace augur::routers::haproxy
