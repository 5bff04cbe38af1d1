// AccessLogReceiver: one UDP socket, one thread. poll() waits on the socket and an eventfd, so
// Stop() wakes the thread at once; the poll timeout is only a backstop. Each wake drains the
// socket queue (MSG_DONTWAIT) before polling again, so a burst costs one poll.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "augur/sources/ingress_log.h"

namespace augur::sources {
namespace {

constexpr int kMaxBatch = 4096;  // datagrams per wake before checking for Stop() again

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

struct AccessLogReceiver::Impl {
  std::unique_ptr<AccessLogStore> store;
  int fd = -1;
  int wake_fd = -1;
  int port = 0;
  int poll_timeout_ms = 100;
  size_t max_datagram = 65535;
  std::atomic<bool> stopping{false};
  std::thread thread;
  std::mutex stop_mu;

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Run() {
    // One byte more than the largest datagram accepted, so MSG_TRUNC is seen on any cut.
    std::vector<char> buffer(max_datagram + 1);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t))];
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    while (!stopping.load(std::memory_order_acquire)) {
      const int ready = ::poll(fds, 2, poll_timeout_ms);
      if (ready < 0 && errno != EINTR) return;  // only EFAULT/EINVAL/ENOMEM: nothing to retry
      if (ready <= 0 || (fds[1].revents & POLLIN) != 0) continue;
      for (int n = 0; n < kMaxBatch && !stopping.load(std::memory_order_relaxed); ++n) {
        iovec iov{buffer.data(), buffer.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t got = ::recvmsg(fd, &msg, MSG_DONTWAIT);
        if (got < 0) break;  // EAGAIN: drained (other errors: retry after the next poll)
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
            store->CountSocketDrops(drops);
          }
        }
        if ((msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(got) > max_datagram) {
          store->CountMalformed("datagram longer than " + std::to_string(max_datagram) +
                                " bytes, cut by the receiver");
          continue;
        }
        (void)store->Ingest(std::string_view(buffer.data(), static_cast<size_t>(got)));
      }
    }
  }
};

AccessLogReceiver::AccessLogReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AccessLogReceiver::~AccessLogReceiver() { Stop(); }

Result<std::unique_ptr<AccessLogReceiver>> AccessLogReceiver::Start(
    AccessLogReceiverOptions options) {
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgument("access log receiver: port " + std::to_string(options.port) +
                           " is not in 0..65535");
  }
  if (options.poll_timeout_ms <= 0 || options.receive_buffer_bytes < 0 ||
      options.max_datagram_bytes < 1 || options.max_datagram_bytes > 65535) {
    return InvalidArgument(
        "access log receiver: poll_timeout_ms must be positive, receive_buffer_bytes >= 0 and "
        "max_datagram_bytes in 1..65535");
  }
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, options.bind_address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, options.bind_address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(*v6);
  } else {
    return InvalidArgument("access log receiver: bind_address '" + options.bind_address +
                           "' is not an IPv4 or IPv6 literal");
  }

  auto store = AccessLogStore::Create(std::move(options.store));
  if (!store) return store.error().WithContext("access log receiver");
  auto impl = std::make_unique<Impl>();
  impl->store = std::move(*store);
  impl->poll_timeout_ms = options.poll_timeout_ms;
  impl->max_datagram = static_cast<size_t>(options.max_datagram_bytes);

  impl->fd = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (impl->fd < 0) return Error{ErrorCode::kUnavailable, Errno("access log receiver: socket")};
  if (options.receive_buffer_bytes > 0) {
    const int size = options.receive_buffer_bytes;
    // FORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it, ask within the limit.
    if (::setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
      (void)::setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
  }
  const int one = 1;
  (void)::setsockopt(impl->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (::bind(impl->fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    return Error{ErrorCode::kUnavailable,
                 Errno(("access log receiver: bind " + options.bind_address + ":" +
                        std::to_string(options.port))
                           .c_str())};
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(impl->fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return Error{ErrorCode::kUnavailable, Errno("access log receiver: getsockname")};
  }
  impl->port =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0)
    return Error{ErrorCode::kUnavailable, Errno("access log receiver: eventfd")};

  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<AccessLogReceiver>(new AccessLogReceiver(std::move(impl)));
}

int AccessLogReceiver::port() const { return impl_->port; }

void AccessLogReceiver::Stop() {
  std::lock_guard<std::mutex> lock(impl_->stop_mu);
  if (!impl_->thread.joinable()) return;
  impl_->stopping.store(true, std::memory_order_release);
  const uint64_t one = 1;
  (void)!::write(impl_->wake_fd, &one, sizeof(one));
  impl_->thread.join();
}

const AccessLogStore& AccessLogReceiver::store() const { return *impl_->store; }

}  // namespace augur::sources
