// Child processes (integration tests, `augur demo`): start a program with an argv (fork/execv, no shell),
// capture its stdout/stderr, read its first line, stop it, and never leave a zombie.
//
// A Process owns its child: the destructor stops it (SIGTERM, a grace period, then SIGKILL)
// and reaps it with waitpid, so a failing ASSERT that unwinds a test still cleans up. Output
// is drained by one background thread per process (a child blocked on a full pipe would look
// hung), kept in memory (bounded) and optionally copied to files for post-mortems.
//
// The child gets PR_SET_PDEATHSIG(SIGKILL): if the test binary dies (crash, SIGKILL by ctest's
// timeout) its servers die too instead of holding ports. Linux sends that signal when the
// *thread* that forked exits, so start processes from a thread that outlives them (a test's
// own thread or SetUpTestSuite), or set kill_with_parent = false.
//
// Thread-safety: one Process is used from one thread at a time (the drain thread is internal).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "augur/core/result.h"

namespace augur::common {

struct ProcessOptions {
  // argv[0] is the program: a path with a '/', or a name looked up in PATH, /usr/sbin and /sbin
  // (Debian puts haproxy in /usr/sbin, which a non-root PATH may lack).
  std::vector<std::string> argv;
  std::string stdout_file;                 // if set, captured stdout is also written here
  std::string stderr_file;                 // if set, captured stderr is also written here
  size_t capture_limit = size_t{4} << 20;  // bytes kept in memory per stream; the rest is dropped
  bool kill_with_parent = true;            // PR_SET_PDEATHSIG(SIGKILL), see the file comment
};

// Where `name` would be executed from, or kNotFound.
inline Result<std::string> FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return Error{ErrorCode::kNotFound, name + " is not an executable file"};
  }
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return Error{ErrorCode::kNotFound, name + " not found in PATH, /usr/sbin or /sbin"};
}

// A port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). For programs
// that take a port only in a config file; another process may grab it before the program binds,
// so callers that can should retry on "address in use".
inline Result<int> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{ErrorCode::kUnavailable, std::string("socket: ") + strerror(errno)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string msg = strerror(errno);
    ::close(fd);
    return Error{ErrorCode::kUnavailable, "bind 127.0.0.1:0: " + msg};
  }
  ::close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

// "exit 0", "exit 2", "killed by signal 9" for an exit status as returned by Process.
inline std::string DescribeExit(int status) {
  return status >= 0 ? "exit " + std::to_string(status)
                     : "killed by signal " + std::to_string(-status);
}

class Process {
 public:
  // Exit status encoding used below: the exit code (>= 0), or -N if signal N ended the child.
  static Result<std::unique_ptr<Process>> Start(ProcessOptions options) {
    if (options.argv.empty()) return InvalidArgument("Process::Start: empty argv");
    auto exe = FindExecutable(options.argv[0]);
    if (!exe) return exe.error();
    std::unique_ptr<Process> p(new Process(options));
    if (auto st = p->Spawn(*exe); !st) return st.error();
    return p;
  }

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Stop(); }

  pid_t pid() const { return pid_; }
  // argv joined by spaces, for messages.
  std::string command() const {
    std::string s;
    for (const auto& a : options_.argv) s += (s.empty() ? "" : " ") + a;
    return s;
  }

  // The next complete line of stdout (without the newline). kDeadlineExceeded if none arrives
  // in time, kUnavailable if stdout closed first (the child exited; the message quotes stderr).
  Result<std::string> ReadStdoutLine(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool got = cv_.wait_for(lock, timeout, [&] {
      return out_.data.find('\n', line_cursor_) != std::string::npos || out_.eof;
    });
    const size_t nl = out_.data.find('\n', line_cursor_);
    if (nl == std::string::npos) {
      const std::string tail = Tail(err_.data, 2000);
      if (!got) {
        return Error{ErrorCode::kDeadlineExceeded,
                     "no stdout line from '" + command() + "' within " +
                         std::to_string(timeout.count()) + " ms; stderr: " + tail};
      }
      return Error{ErrorCode::kUnavailable,
                   "'" + command() + "' closed stdout before a full line; stderr: " + tail};
    }
    std::string line = out_.data.substr(line_cursor_, nl - line_cursor_);
    line_cursor_ = nl + 1;
    return line;
  }

  std::string Stdout() const {
    std::lock_guard<std::mutex> lock(mu_);
    return out_.data;
  }
  std::string Stderr() const {
    std::lock_guard<std::mutex> lock(mu_);
    return err_.data;
  }

  // True until the child has exited (reaps it when it has).
  bool Running() { return !Reap(/*block=*/false); }

  // Waits for the child to exit by itself; its exit status, or kDeadlineExceeded.
  Result<int> Wait(std::chrono::milliseconds timeout) {
    if (WaitFor(timeout)) return status_;
    return Error{ErrorCode::kDeadlineExceeded, "'" + command() + "' still running after " +
                                                   std::to_string(timeout.count()) + " ms"};
  }

  // SIGTERM, up to `grace` to exit, then SIGKILL; always reaped. Returns the exit status.
  // Idempotent: later calls return the first status.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    if (!reaped_ && pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!WaitFor(grace)) {
        ::kill(pid_, SIGKILL);
        Reap(/*block=*/true);
      }
    }
    Finish();
    return status_;
  }

  // SIGKILL (a crash, as seen from outside) and reap. Returns the exit status.
  int Kill() {
    if (!reaped_ && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Reap(/*block=*/true);
    }
    Finish();
    return status_;
  }

 private:
  struct Stream {
    int fd = -1;
    int file_fd = -1;
    std::string data;
    bool eof = false;
  };

  explicit Process(ProcessOptions options) : options_(std::move(options)) {}

  static std::string Tail(const std::string& s, size_t n) {
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
  }

  Status Spawn(const std::string& exe) {
    int out_pipe[2], err_pipe[2], exec_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Sys("pipe");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      CloseAll({out_pipe[0], out_pipe[1]});
      return Sys("pipe");
    }
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
      CloseAll({out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]});
      return Sys("pipe");
    }
    for (auto [path, stream] :
         {std::pair{&options_.stdout_file, &out_}, std::pair{&options_.stderr_file, &err_}}) {
      if (path->empty()) continue;
      stream->file_fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (stream->file_fd < 0) {
        CloseAll({out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]});
        return Sys("open " + *path);
      }
    }
    // Everything the child needs is prepared before fork: between fork and exec only
    // async-signal-safe calls are allowed (the test binary has other threads).
    std::vector<char*> argv;
    for (auto& a : options_.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const bool pdeathsig = options_.kill_with_parent;

    pid_ = ::fork();
    if (pid_ < 0) {
      CloseAll({out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]});
      return Sys("fork");
    }
    if (pid_ == 0) {
      if (pdeathsig) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
      }
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::dup2(out_pipe[1], 1);
      ::dup2(err_pipe[1], 2);
      // Descriptors the test binary opened without CLOEXEC (sockets of other clients) must not
      // leak into servers, where they would keep ports and connections alive.
      ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
      ::execv(exe.c_str(), argv.data());
      const int e = errno;
      IgnoreResult(::write(exec_pipe[1], &e, sizeof e));
      ::_exit(127);
    }
    CloseAll({out_pipe[1], err_pipe[1], exec_pipe[1]});
    // exec_pipe closes on a successful exec (CLOEXEC) and carries errno on a failed one.
    int exec_errno = 0;
    ssize_t n;
    do {
      n = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    out_.fd = out_pipe[0];
    err_.fd = err_pipe[0];
    ::fcntl(out_.fd, F_SETFL, O_NONBLOCK);
    ::fcntl(err_.fd, F_SETFL, O_NONBLOCK);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    drain_ = std::thread([this] { Drain(); });
    if (n > 0) {
      Reap(/*block=*/true);
      Finish();
      return Error{ErrorCode::kUnavailable, "cannot execute " + exe + ": " + strerror(exec_errno)};
    }
    return {};
  }

  // A failed write to a log file or wake pipe changes nothing we could act on.
  static void IgnoreResult(ssize_t) {}

  static Status Sys(const std::string& what) {
    return Error{ErrorCode::kUnavailable, what + ": " + strerror(errno)};
  }
  static void CloseAll(std::initializer_list<int> fds) {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Background: moves pipe data into out_/err_ until both pipes hit EOF, or until Finish()
  // signals wake_ (the child is reaped; a grandchild may still hold the pipes open).
  void Drain() {
    char buf[65536];
    bool finishing = false;
    int final_reads = 0;  // a grandchild still writing must not keep Finish() waiting forever
    for (;;) {
      pollfd fds[3];
      int nfds = 0;
      Stream* streams[2];
      for (Stream* s : {&out_, &err_}) {
        if (!s->eof) {
          fds[nfds] = {s->fd, POLLIN, 0};
          streams[nfds++] = s;
        }
      }
      if (nfds == 0) break;
      const int nstreams = nfds;
      if (!finishing && wake_[0] >= 0) fds[nfds++] = {wake_[0], POLLIN, 0};
      const int r = ::poll(fds, nfds, finishing ? 0 : -1);
      if (r < 0 && errno == EINTR) continue;
      if (finishing && (r <= 0 || ++final_reads > 64)) break;  // what was written is read
      if (nfds > nstreams && (fds[nstreams].revents & POLLIN)) finishing = true;
      for (int i = 0; i < nstreams; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        std::lock_guard<std::mutex> lock(mu_);
        Stream* s = streams[i];
        if (got <= 0) {
          s->eof = true;
        } else {
          if (s->file_fd >= 0) IgnoreResult(::write(s->file_fd, buf, got));
          const size_t room =
              options_.capture_limit - std::min(options_.capture_limit, s->data.size());
          s->data.append(buf, std::min<size_t>(room, static_cast<size_t>(got)));
        }
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    out_.eof = err_.eof = true;
    cv_.notify_all();
  }

  // True once the child has exited and been reaped.
  bool Reap(bool block) {
    if (reaped_) return true;
    int st = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    reaped_ = true;
    if (r < 0) {
      status_ = -SIGKILL;  // someone else reaped it; the status is lost
    } else {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    }
    return true;
  }

  // Waits up to `timeout` for exit; a pidfd wakes us exactly at exit (no polling loop), with a
  // 5 ms waitpid poll as the fallback on kernels without pidfd_open.
  bool WaitFor(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!Reap(/*block=*/false)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (pidfd_ >= 0) {
        pollfd p{pidfd_, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
      } else {
        std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(5)));
      }
    }
    return true;
  }

  void Finish() {
    if (drain_.joinable()) {
      if (wake_[1] >= 0) IgnoreResult(::write(wake_[1], "x", 1));
      drain_.join();
    }
    for (int* fd :
         {&out_.fd, &err_.fd, &out_.file_fd, &err_.file_fd, &wake_[0], &wake_[1], &pidfd_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  ProcessOptions options_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int wake_[2] = {-1, -1};
  bool reaped_ = false;
  int status_ = 0;
  mutable std::mutex mu_;  // guards out_.data/eof, err_.data/eof
  std::condition_variable cv_;
  Stream out_, err_;
  size_t line_cursor_ = 0;
  std::thread drain_;
};

}  // namespace augur::common
