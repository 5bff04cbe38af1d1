// Bounded per-(backend, server) rings of request samples and the judge's window queries.
//
// One mutex guards everything: an ingest is a push onto a deque (tens of ns), and a query copies
// the matching samples out under the lock and does its sorting and quantiles after releasing
// it, so a slow query never stalls the receive thread for longer than the copy.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "augur/sources/ingress_log.h"

namespace augur::sources {
namespace {

constexpr int64_t kMaxBuckets = 100000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsError(int status, ErrorClass error_class) {
  return status >= (error_class == ErrorClass::k5xx ? 500 : 400) && status <= 599;
}

double LatencyOf(const AccessLogSample& s, LatencyKind kind) {
  return kind == LatencyKind::kTotal ? s.total_time_ms : s.response_time_ms;
}

// `latencies` is scratch space, reused across buckets.
AccessLogSummary Summarize(std::span<const AccessLogSample> samples,
                           const AccessLogQueryOptions& options, std::vector<double>* latencies) {
  AccessLogSummary out;
  latencies->clear();
  double sum = 0;
  for (const AccessLogSample& s : samples) {
    ++out.requests;
    if (IsError(s.status, options.error_class)) ++out.errors;
    const double latency = LatencyOf(s, options.latency);
    if (latency >= 0) {
      latencies->push_back(latency);
      sum += latency;
    }
  }
  out.success_rate = out.requests == 0 ? kNaN
                                       : static_cast<double>(out.requests - out.errors) /
                                             static_cast<double>(out.requests);
  out.latency_count = static_cast<int64_t>(latencies->size());
  if (latencies->empty()) {
    out.mean = out.p50 = out.p90 = out.p99 = kNaN;
    return out;
  }
  std::sort(latencies->begin(), latencies->end());
  out.mean = sum / static_cast<double>(latencies->size());
  out.p50 = *QuantileR7(*latencies, 0.50);
  out.p90 = *QuantileR7(*latencies, 0.90);
  out.p99 = *QuantileR7(*latencies, 0.99);
  return out;
}

}  // namespace

Result<double> QuantileR7(std::span<const double> sorted, double p) {
  if (sorted.empty()) return InvalidArgument("QuantileR7: empty sample");
  if (!(p >= 0.0 && p <= 1.0)) {
    return InvalidArgument("QuantileR7: p must be in [0, 1], got " + std::to_string(p));
  }
  const double h = static_cast<double>(sorted.size() - 1) * p;
  const auto lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

struct AccessLogStore::Impl {
  struct Series {
    std::string role;
    std::deque<AccessLogSample> ring;
  };
  using Key = std::pair<std::string, std::string>;

  AccessLogStoreOptions options;
  std::map<Key, std::string> exact_roles;
  std::map<std::string, std::string> backend_roles;  // server "*"
  std::set<std::string> role_names;

  mutable std::mutex mu;
  mutable std::condition_variable received_cv;
  std::map<Key, Series> series;  // guarded by mu
  AccessLogCounters counters;    // guarded by mu

  std::string RoleFor(const Key& key) const {
    if (auto it = exact_roles.find(key); it != exact_roles.end()) return it->second;
    if (auto it = backend_roles.find(key.first); it != backend_roles.end()) return it->second;
    return "";
  }

  // Drops samples that started before now - retention, and series left empty (so the
  // max_series slots of traffic that stopped are freed). REQUIRES: mu held.
  void PruneLocked(int64_t now_ms) {
    const int64_t cutoff = now_ms - options.retention_ms;
    for (auto it = series.begin(); it != series.end();) {
      auto& ring = it->second.ring;
      while (!ring.empty() && ring.front().timestamp_ms < cutoff) {
        ring.pop_front();
        ++counters.expired;
        --counters.samples;
      }
      it = ring.empty() ? series.erase(it) : std::next(it);
    }
    counters.series = series.size();
  }

  Status Validate(const AccessLogSelector& selector, AccessLogWindow window) const {
    if (selector.role.empty() == selector.backend.empty()) {
      return InvalidArgument("access log query: give either a role or a backend");
    }
    if (!selector.role.empty() && !selector.server.empty()) {
      return InvalidArgument("access log query: a server needs a backend, not a role");
    }
    if (!selector.role.empty() && role_names.count(selector.role) == 0) {
      std::string known;
      for (const auto& r : role_names) known += (known.empty() ? "" : ", ") + r;
      return Error{ErrorCode::kNotFound, "access log query: unknown role '" + selector.role +
                                             "' (configured: " + (known.empty() ? "none" : known) +
                                             ")"};
    }
    if (window.end_ms <= window.start_ms) {
      return InvalidArgument("access log query: empty window [" + std::to_string(window.start_ms) +
                             ", " + std::to_string(window.end_ms) + ")");
    }
    return {};
  }

  // Copies the samples the selector and window match, in start-time order.
  Result<std::vector<AccessLogSample>> Collect(const AccessLogSelector& selector,
                                               AccessLogWindow window) {
    if (auto s = Validate(selector, window); !s) return s.error();
    const int64_t now = options.clock();
    std::vector<AccessLogSample> out;
    {
      std::lock_guard<std::mutex> lock(mu);
      PruneLocked(now);
      const int64_t start = std::max(window.start_ms, now - options.retention_ms);
      for (const auto& [key, s] : series) {
        const bool match = selector.role.empty()
                               ? key.first == selector.backend &&
                                     (selector.server.empty() || key.second == selector.server)
                               : s.role == selector.role;
        if (!match) continue;
        for (const AccessLogSample& sample : s.ring) {
          if (sample.timestamp_ms >= start && sample.timestamp_ms < window.end_ms) {
            out.push_back(sample);
          }
        }
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
    return out;
  }
};

AccessLogStore::AccessLogStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccessLogStore::~AccessLogStore() = default;

Result<std::unique_ptr<AccessLogStore>> AccessLogStore::Create(AccessLogStoreOptions options) {
  if (options.capacity_per_series <= 0 || options.retention_ms <= 0 || options.max_series <= 0) {
    return InvalidArgument(
        "access log store: capacity_per_series, retention_ms and max_series must be positive");
  }
  auto impl = std::make_unique<Impl>();
  for (const AccessLogRoleMapping& m : options.roles) {
    if (m.backend.empty() || m.role.empty() || m.server.empty()) {
      return InvalidArgument("access log store: a role mapping needs backend, server and role (" +
                             m.backend + "/" + m.server + " -> '" + m.role + "')");
    }
    const std::string& existing =
        m.server == "*"
            ? impl->backend_roles.emplace(m.backend, m.role).first->second
            : impl->exact_roles.emplace(Impl::Key{m.backend, m.server}, m.role).first->second;
    if (existing != m.role) {
      return InvalidArgument("access log store: " + m.backend + "/" + m.server +
                             " is mapped to both '" + existing + "' and '" + m.role + "'");
    }
    impl->role_names.insert(m.role);
  }
  if (!options.clock) options.clock = SystemNowMs;
  impl->options = std::move(options);
  return std::unique_ptr<AccessLogStore>(new AccessLogStore(std::move(impl)));
}

Status AccessLogStore::Ingest(std::string_view datagram) {
  const int64_t now = impl_->options.clock();
  auto entry = ParseAccessLogDatagram(datagram);
  if (!entry) {
    CountMalformed(entry.error().message);
    return entry.error();
  }
  Add(*entry, now);
  return {};
}

void AccessLogStore::Add(const AccessLogEntry& entry, int64_t receive_time_ms) {
  AccessLogSample sample;
  // httplog carries no usable start time (local time, no zone): the request started Ta before
  // HAProxy logged it, and on loopback the log arrives within microseconds of being sent.
  sample.timestamp_ms =
      entry.start_ms
          ? *entry.start_ms
          : receive_time_ms - (entry.total_time_ms > 0
                                   ? static_cast<int64_t>(std::llround(entry.total_time_ms))
                                   : 0);
  sample.status = entry.status;
  sample.total_time_ms = entry.total_time_ms;
  sample.response_time_ms = entry.response_time_ms;
  sample.bytes = entry.bytes;

  Impl& im = *impl_;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    ++im.counters.received;
    ++im.counters.parsed;
    const int64_t cutoff = receive_time_ms - im.options.retention_ms;
    Impl::Key key{entry.backend, entry.server};
    auto it = im.series.find(key);
    if (sample.timestamp_ms < cutoff) {
      ++im.counters.expired;
    } else if (it == im.series.end() &&
               static_cast<int64_t>(im.series.size()) >= im.options.max_series) {
      ++im.counters.dropped;
    } else {
      if (it == im.series.end()) {
        it = im.series.emplace(key, Impl::Series{im.RoleFor(key), {}}).first;
        im.counters.series = im.series.size();
      }
      auto& ring = it->second.ring;
      ring.push_back(sample);
      ++im.counters.samples;
      if (static_cast<int64_t>(ring.size()) > im.options.capacity_per_series) {
        ring.pop_front();
        ++im.counters.dropped;
        --im.counters.samples;
      }
      while (!ring.empty() && ring.front().timestamp_ms < cutoff) {
        ring.pop_front();
        ++im.counters.expired;
        --im.counters.samples;
      }
    }
  }
  im.received_cv.notify_all();
}

void AccessLogStore::CountMalformed(std::string reason) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    ++impl_->counters.received;
    ++impl_->counters.malformed;
    impl_->counters.last_malformed_reason = std::move(reason);
  }
  impl_->received_cv.notify_all();
}

void AccessLogStore::CountSocketDrops(uint64_t total_so_far) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->counters.socket_drops = std::max(impl_->counters.socket_drops, total_so_far);
}

Result<std::vector<AccessLogSample>> AccessLogStore::Samples(const AccessLogSelector& selector,
                                                             AccessLogWindow window) const {
  return impl_->Collect(selector, window);
}

Result<std::vector<double>> AccessLogStore::LatencySamples(const AccessLogSelector& selector,
                                                           AccessLogWindow window,
                                                           LatencyKind kind) const {
  auto samples = impl_->Collect(selector, window);
  if (!samples) return samples.error();
  std::vector<double> out;
  out.reserve(samples->size());
  for (const AccessLogSample& s : *samples) {
    if (const double latency = LatencyOf(s, kind); latency >= 0) out.push_back(latency);
  }
  return out;
}

Result<AccessLogSummary> AccessLogStore::Summarize(const AccessLogSelector& selector,
                                                   AccessLogWindow window,
                                                   const AccessLogQueryOptions& options) const {
  auto samples = impl_->Collect(selector, window);
  if (!samples) return samples.error();
  std::vector<double> scratch;
  return sources::Summarize(*samples, options, &scratch);
}

Result<std::vector<AccessLogBucket>> AccessLogStore::Series(
    const AccessLogSelector& selector, AccessLogWindow window, int64_t step_ms,
    const AccessLogQueryOptions& options) const {
  if (step_ms <= 0) {
    return InvalidArgument("access log query: step must be positive, got " +
                           std::to_string(step_ms) + " ms");
  }
  if (window.end_ms > window.start_ms &&
      (window.end_ms - window.start_ms - 1) / step_ms + 1 > kMaxBuckets) {
    return InvalidArgument("access log query: more than 100000 buckets; use a larger step");
  }
  auto samples = impl_->Collect(selector, window);
  if (!samples) return samples.error();
  std::vector<AccessLogBucket> out;
  std::vector<double> scratch;
  size_t i = 0;
  for (int64_t start = window.start_ms; start < window.end_ms; start += step_ms) {
    const int64_t end = std::min(start + step_ms, window.end_ms);
    const size_t from = i;
    while (i < samples->size() && (*samples)[i].timestamp_ms < end) ++i;
    AccessLogBucket bucket;
    static_cast<AccessLogSummary&>(bucket) = sources::Summarize(
        std::span<const AccessLogSample>(samples->data() + from, i - from), options, &scratch);
    bucket.start_ms = start;
    bucket.end_ms = end;
    out.push_back(bucket);
  }
  return out;
}

std::vector<AccessLogSeriesInfo> AccessLogStore::ListSeries() const {
  const int64_t now = impl_->options.clock();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->PruneLocked(now);
  std::vector<AccessLogSeriesInfo> out;
  for (const auto& [key, s] : impl_->series) {
    out.push_back({key.first, key.second, s.role, static_cast<int64_t>(s.ring.size())});
  }
  return out;
}

AccessLogCounters AccessLogStore::counters() const {
  const int64_t now = impl_->options.clock();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->PruneLocked(now);
  return impl_->counters;
}

bool AccessLogStore::WaitForReceived(uint64_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->received_cv.wait_for(lock, timeout, [&] { return impl_->counters.received >= n; });
}

}  // namespace augur::sources
