// Per-request samples from ingress access logs (issue #4).
//
// HAProxy and NGINX can send one syslog datagram per request over UDP. Augur receives them on
// loopback and keeps, per (backend, server), a bounded ring of {start time, status, latency,
// bytes}. That gives the judge real latency distributions (for Mann-Whitney) and exact p99s,
// which HAProxy 2.6's own metrics cannot give (they only carry rolling averages).
//
// Three layers, each usable alone:
//   ParseSyslogDatagram    framing: RFC 3164 (HAProxy's default, NGINX's syslog:), RFC 5424
//                          (HAProxy `log ... format rfc5424`), HAProxy `format short` / `raw`
//   ParseAccessLogMessage  payload: HAProxy `option httplog`, or the Augur format below
//   AccessLogStore         bounded rings and window queries; AccessLogReceiver adds the UDP
//                          socket and its receive thread
//
// Augur format (version 1): one record per message, the same keys in two encodings.
//   key=value: `augur=1 k=v k=v ...`, single spaces, no value contains a space or '"'. Meant
//              for HAProxy, whose names and numbers never contain spaces.
//   JSON:      one flat object `{"augur":1,"k":v,...}`; values are numbers, strings or null.
//              Meant for NGINX (`escape=json`), whose upstream lists contain ", ".
//   Keys: augur (=1, required), be (backend, required), srv (server, required), st (status,
//   required), ta_ms | ta_s (total active time, client's view), tr_ms | tr_s (server response
//   time), ts (request start, Unix seconds) | te (log time, Unix seconds; start = te - ta),
//   bytes, fe, term, meth. The unit is in the key, so no value is ambiguous. Unknown keys are
//   ignored (later versions may add some); a repeated key is an error. An empty or "-" value
//   means "unknown". A list value ("a, b : c", NGINX after retries) counts by its last entry:
//   the upstream that produced the response. An empty be or srv becomes "-".

// clang-format off
//   haproxy.cfg (2.6; %Ts.%ms is the request's accept date with milliseconds):
//     frontend fe_app
//       log 127.0.0.1:5140 len 2048 local0 info
//       log-format "augur=1 ts=%Ts.%ms fe=%ft be=%b srv=%s st=%ST ta_ms=%Ta tr_ms=%Tr bytes=%B term=%tsc meth=%HM"
//   nginx.conf (1.22; $msec is the log time, so te; one upstream block per role):
//     log_format augur escape=json '{"augur":1,"te":$msec,"be":"$proxy_host",'
//         '"srv":"$upstream_addr","st":$status,"ta_s":$request_time,'
//         '"tr_s":"$upstream_response_time","bytes":$bytes_sent,"meth":"$request_method"}';
//     access_log syslog:server=127.0.0.1:5140,tag=nginx,severity=info augur;
// clang-format on

// HAProxy's httplog gives the same fields except the start time: its accept date is local time
// without a zone, so the start is taken as receive time - Ta (receive time when Ta is -1).
//
// Errors are values: a parser returns kBadData with a reason naming the field and quoting the
// offending text (non-printable bytes as \xNN, cut at 64 bytes). No input crashes a parser.
//
// Thread-safety: the parsers are pure functions. AccessLogStore and AccessLogReceiver are
// thread-safe: any number of threads may query while one ingests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::sources {

// ---- Syslog framing -------------------------------------------------------------------------

enum class SyslogFraming {
  kRaw,      // no <PRI>: the whole datagram is the message (HAProxy `format raw`)
  kShort,    // <PRI> then the message (HAProxy `format short`)
  kRfc3164,  // <PRI>Mmm dd hh:mm:ss [HOSTNAME] [TAG[PID]:] MSG
  kRfc5424,  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]
};

// Views into the datagram passed to ParseSyslogDatagram: valid while it is.
struct SyslogMessage {
  SyslogFraming framing = SyslogFraming::kRaw;
  int facility = -1;          // 0..23, -1 without <PRI>
  int severity = -1;          // 0..7, -1 without <PRI>
  std::string_view hostname;  // empty when absent or "-"
  std::string_view app_name;  // RFC 3164 tag without "[pid]:", RFC 5424 APP-NAME
  std::string_view proc_id;   // the pid, empty when absent
  // RFC 5424 TIMESTAMP as Unix ms (RFC 3164's has no year or zone, so it is only checked).
  std::optional<int64_t> timestamp_ms;
  std::string_view message;  // trailing "\n", "\r\n" and NULs removed; a UTF-8 BOM removed
};

// Splits one datagram into framing and message. kBadData for a broken <PRI> (not 0..191), a
// malformed RFC 3164 timestamp or RFC 5424 header, and an empty message.
Result<SyslogMessage> ParseSyslogDatagram(std::string_view datagram);

// ---- Access log records ---------------------------------------------------------------------

enum class AccessLogFormat { kHaproxyHttplog, kAugurKeyValue, kAugurJson };

// Times are milliseconds; -1 means "unknown" (HAProxy's -1 timers of aborted requests, NGINX
// "-"). Logged as seconds (NGINX), they are converted exactly from the decimal text.
struct AccessLogEntry {
  AccessLogFormat format = AccessLogFormat::kHaproxyHttplog;
  std::string frontend;             // empty when the format did not carry it
  std::string backend;              // never empty
  std::string server;               // never empty; "<NOSRV>" / "-" when no server was used
  int status = -1;                  // -1 when no response was sent (HAProxy)
  double total_time_ms = -1;        // HAProxy Ta, NGINX $request_time
  double response_time_ms = -1;     // HAProxy Tr, NGINX $upstream_response_time
  double request_time_ms = -1;      // HAProxy TR (httplog only)
  double queue_time_ms = -1;        // HAProxy Tw (httplog only)
  double connect_time_ms = -1;      // HAProxy Tc (httplog only)
  int64_t bytes = -1;               // bytes sent to the client, -1 when unknown
  bool logasap = false;             // HAProxy '+' prefix: Ta and bytes are lower bounds
  std::string termination_state;    // HAProxy %tsc, e.g. "----", "CD--"; empty if absent
  std::string client_address;       // httplog only; IPv6 unbracketed, "unix" for sockets
  int client_port = -1;             // httplog only
  std::string method;               // empty when absent
  std::string request;              // httplog's quoted request line (bytes as sent)
  bool request_truncated = false;   // the closing quote was cut off (HAProxy `len` limit)
  std::optional<int64_t> start_ms;  // request start (Unix ms), from ts or te - ta
};

// Parses a message (the syslog payload): Augur JSON if it starts with '{', Augur key=value if
// it starts with "augur=", else HAProxy httplog (also httpslog: fields after the request are
// ignored). A request line cut by HAProxy's `len` is accepted (request_truncated); a line cut
// before the request is kBadData. `option tcplog` and NGINX "combined" lines are kBadData with
// a reason that says so.
Result<AccessLogEntry> ParseAccessLogMessage(std::string_view message);

// ParseSyslogDatagram then ParseAccessLogMessage.
Result<AccessLogEntry> ParseAccessLogDatagram(std::string_view datagram);

// The R-7 quantile (R's default `quantile(type = 7)`, numpy's "linear") of an ascending sample:
// h = (n - 1) p, result = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]), 0-based.
// kInvalidArgument for an empty sample or p outside [0, 1] (or NaN).
// REQUIRES: `sorted` is ascending and has no NaN.
Result<double> QuantileR7(std::span<const double> sorted, double p);

// ---- Store ----------------------------------------------------------------------------------

// Maps (backend, server) to a role such as "primary" or "canary". server "*" matches every
// server of the backend; an exact (backend, server) mapping wins over "*".
struct AccessLogRoleMapping {
  std::string backend;
  std::string server = "*";
  std::string role;
};

struct AccessLogStoreOptions {
  // Samples kept per (backend, server); when full, the oldest is overwritten and counted as
  // dropped. Memory is bounded by max_series * capacity * sizeof(AccessLogSample).
  int64_t capacity_per_series = 100000;
  // Samples that started more than this before now are pruned and never returned.
  int64_t retention_ms = 3600 * 1000;
  // Distinct (backend, server) pairs kept; samples of further pairs are dropped, so a flood of
  // made-up backend names cannot grow memory.
  int64_t max_series = 256;
  std::vector<AccessLogRoleMapping> roles;
  // Unix ms "now": receive time of a datagram and the retention reference. Defaults to the
  // system clock; tests and replay inject their own.
  std::function<int64_t()> clock;
};

struct AccessLogSample {
  int64_t timestamp_ms = 0;  // request start, Unix ms
  int32_t status = -1;
  double total_time_ms = -1;     // -1 unknown
  double response_time_ms = -1;  // -1 unknown
  int64_t bytes = -1;
};

struct AccessLogCounters {
  uint64_t received = 0;              // datagrams ingested (= parsed + malformed)
  uint64_t parsed = 0;                // datagrams that became a sample
  uint64_t malformed = 0;             // rejected by the parser, or cut by the socket buffer
  uint64_t dropped = 0;               // parsed, then lost to a bound: ring full or series limit
  uint64_t expired = 0;               // pruned by retention
  uint64_t socket_drops = 0;          // dropped by the kernel, receive queue full (receiver only)
  uint64_t series = 0;                // (backend, server) pairs held now
  uint64_t samples = 0;               // samples held now (= parsed - dropped - expired)
  std::string last_malformed_reason;  // empty until the first malformed datagram
};

// [start_ms, end_ms), Unix ms, on sample start times.
struct AccessLogWindow {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

// Either a role (all series mapped to it) or a backend with one server (empty = all servers).
struct AccessLogSelector {
  std::string role;
  std::string backend;
  std::string server;
  static AccessLogSelector Role(std::string role) { return {std::move(role), "", ""}; }
  static AccessLogSelector Server(std::string backend, std::string server = "") {
    return {"", std::move(backend), std::move(server)};
  }
};

enum class ErrorClass { k5xx, k4xx5xx };
enum class LatencyKind { kTotal, kResponse };  // Ta / $request_time, or Tr / upstream time

struct AccessLogQueryOptions {
  ErrorClass error_class = ErrorClass::k5xx;  // which statuses are errors
  LatencyKind latency = LatencyKind::kTotal;
};

// A request with an unknown latency (-1) counts as a request but gives no latency sample. A
// request with no status (-1) counts as a request and never as an error.
struct AccessLogSummary {
  int64_t requests = 0;
  int64_t errors = 0;
  double success_rate = 0;  // (requests - errors) / requests; NaN without requests
  int64_t latency_count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0;  // ms, exact R-7; NaN without latency samples
};

struct AccessLogBucket : AccessLogSummary {
  int64_t start_ms = 0;  // [start_ms, end_ms); the last bucket is cut at the window's end
  int64_t end_ms = 0;
};

struct AccessLogSeriesInfo {
  std::string backend, server, role;  // role empty when unmapped
  int64_t samples = 0;
};

class AccessLogStore {
 public:
  // kInvalidArgument for a non-positive bound, an empty backend or role in a mapping, or two
  // mappings of one (backend, server) to different roles.
  static Result<std::unique_ptr<AccessLogStore>> Create(AccessLogStoreOptions options);
  ~AccessLogStore();
  AccessLogStore(const AccessLogStore&) = delete;
  AccessLogStore& operator=(const AccessLogStore&) = delete;

  // Parses one datagram and keeps its sample, stamped with the clock's now. Returns the parse
  // error (also counted as malformed); OK when kept or dropped by a bound.
  Status Ingest(std::string_view datagram);
  // Keeps an already parsed entry received at `receive_time_ms` (counts it as received).
  void Add(const AccessLogEntry& entry, int64_t receive_time_ms);
  // Counts a datagram that never reached the parser (cut by the socket buffer).
  void CountMalformed(std::string reason);
  void CountSocketDrops(uint64_t total_so_far);  // kernel's running total (SO_RXQ_OVFL)

  // Queries. kInvalidArgument for a selector with both or neither of role and backend, an
  // empty or inverted window, step_ms <= 0, or more than 100000 buckets; kNotFound for a role
  // that no mapping names. A selector that matches no data yet is a success with no requests.
  // Latency samples come in start-time order.
  Result<std::vector<double>> LatencySamples(const AccessLogSelector& selector,
                                             AccessLogWindow window,
                                             LatencyKind kind = LatencyKind::kTotal) const;
  Result<std::vector<AccessLogSample>> Samples(const AccessLogSelector& selector,
                                               AccessLogWindow window) const;
  Result<AccessLogSummary> Summarize(const AccessLogSelector& selector, AccessLogWindow window,
                                     const AccessLogQueryOptions& options = {}) const;
  Result<std::vector<AccessLogBucket>> Series(const AccessLogSelector& selector,
                                              AccessLogWindow window, int64_t step_ms,
                                              const AccessLogQueryOptions& options = {}) const;

  std::vector<AccessLogSeriesInfo> ListSeries() const;  // sorted by (backend, server)
  AccessLogCounters counters() const;
  // Blocks until `received` reaches n (true) or the timeout passes (false).
  bool WaitForReceived(uint64_t n, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  explicit AccessLogStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- UDP receiver ---------------------------------------------------------------------------

struct AccessLogReceiverOptions {
  // An IPv4 or IPv6 literal. Syslog over UDP has no authentication: anyone who can reach the
  // port can inject samples, hence loopback by default.
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 = any free port; see AccessLogReceiver::port()
  // SO_RCVBUF to ask for (SO_RCVBUFFORCE when permitted, so past net.core.rmem_max as root);
  // 0 keeps the system default. A larger queue absorbs bursts while the thread is busy.
  int receive_buffer_bytes = 4 << 20;
  // Longer datagrams are counted as malformed (1..65535; UDP carries at most 65507 over IPv4).
  int max_datagram_bytes = 65535;
  // Backstop for Stop(), which normally wakes the thread at once through an eventfd.
  int poll_timeout_ms = 100;
  AccessLogStoreOptions store;
};

// Binds a UDP socket and runs one receive thread that feeds an AccessLogStore. The kernel's own
// drops (receive queue full) are read from SO_RXQ_OVFL and reported as socket_drops; they show
// up with the next datagram that does arrive.
class AccessLogReceiver {
 public:
  // kInvalidArgument for a bad address, port or store option; kUnavailable when the socket
  // cannot be bound (port in use, address not local).
  static Result<std::unique_ptr<AccessLogReceiver>> Start(AccessLogReceiverOptions options);
  ~AccessLogReceiver();  // Stop()
  AccessLogReceiver(const AccessLogReceiver&) = delete;
  AccessLogReceiver& operator=(const AccessLogReceiver&) = delete;

  int port() const;  // the bound port
  // Stops and joins the thread (at most one batch of 4096 datagrams is finished first).
  // Idempotent. The store stays readable afterwards.
  void Stop();
  const AccessLogStore& store() const;

 private:
  struct Impl;
  explicit AccessLogReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace augur::sources
