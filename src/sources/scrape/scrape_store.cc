// ScrapeStore (bounded per-series rings), series selection, and the PromQL-like range functions
// over selected series. Semantics follow Prometheus 2.42 (the version Debian 12 ships and the lab
// runs), checked against it by tests/data/scrape/prometheus_golden.json.
#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <shared_mutex>  // std::shared_lock
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "augur/sources/scrape.h"

namespace augur::sources {
namespace {

using Labels = ScrapedSeries::Labels;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Prometheus's value.StaleNaN: a NaN payload ordinary arithmetic never produces.
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
constexpr size_t kMaxRingCapacity = 1000000;

// Transparent hashing, so the append path can look a series up by a reused key buffer
// without building a std::string per sample.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Fixed-capacity ring of points in time order. Grows geometrically up to the capacity (a
// series seen once costs little), then overwrites the oldest point without allocating.
class Ring {
 public:
  explicit Ring(size_t capacity) : capacity_(capacity) {}

  void Push(ScrapePoint p) {
    if (buf_.size() < capacity_) {
      if (buf_.size() == buf_.capacity()) {
        buf_.reserve(std::min(capacity_, std::max<size_t>(4, buf_.size() * 2)));
      }
      buf_.push_back(p);
      return;
    }
    buf_[head_] = p;
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
  }
  size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  // i-th oldest point. REQUIRES: i < size().
  const ScrapePoint& at(size_t i) const {
    size_t j = head_ + i;
    if (j >= buf_.size()) j -= buf_.size();
    return buf_[j];
  }
  const ScrapePoint& back() const { return at(buf_.size() - 1); }
  // Index of the first point with t_ms >= t (size() if none).
  size_t LowerBound(int64_t t) const {
    size_t lo = 0, hi = buf_.size();
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (at(mid).t_ms < t) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  size_t allocated_bytes() const { return buf_.capacity() * sizeof(ScrapePoint); }

 private:
  std::vector<ScrapePoint> buf_;
  size_t head_ = 0;  // oldest point once full
  size_t capacity_;
};

// Name and labels live only in `key` (see BuildKey) and are decoded when a series is selected:
// at tens of thousands of series, separate label strings would cost more than the rings.
struct SeriesRec {
  explicit SeriesRec(size_t capacity) : ring(capacity) {}
  std::string key;  // the index holds a view of it
  size_t name_len = 0;
  size_t name_pos = 0;  // position in Impl::by_name_[name], for O(1) removal
  bool counter_like = false;
  Ring ring;
  std::string_view name() const { return std::string_view(key).substr(0, name_len); }
};

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();

// The per-series state every append touches, kept in one contiguous array so the sweep over
// all series (staleness, expiry) reads sequential memory instead of chasing pointers.
struct Slot {
  SeriesRec* rec = nullptr;  // null: free
  uint64_t key_hash = 0;
  int64_t last_seen_scrape = std::numeric_limits<int64_t>::min();
  int64_t newest_t = std::numeric_limits<int64_t>::min();  // newest point, marker included
  uint32_t target = 0;
  bool stale = false;
  bool explicit_ts = false;  // the page gives timestamps: Prometheus never marks those stale
};

struct TargetRec {
  std::string name;
  std::optional<int64_t> last_scrape_ms;
  // Slot of the i-th sample of the previous scrape. Exporters print their series in the same
  // order every time, so a sample usually finds its series here without a hash-map probe
  // (Prometheus's scrape cache plays the same role).
  std::vector<uint32_t> order;
};

// Whether a sample of a family of `type` is a monotonic counter (gets zero-filled when new).
bool CounterLike(MetricType type, std::string_view family, std::string_view sample) {
  auto suffix = [&](std::string_view s) {
    return sample.size() == family.size() + s.size() && sample.substr(family.size()) == s;
  };
  switch (type) {
    case MetricType::kCounter:
      return !suffix("_created");
    case MetricType::kHistogram:
      return suffix("_bucket") || suffix("_sum") || suffix("_count");
    case MetricType::kSummary:
      return suffix("_sum") || suffix("_count");
    default:
      return false;
  }
}

// Calls fn(name, value) for the series' labels in sorted order, with instance="<target>"
// merged in and empty values left out (Prometheus drops them at ingestion: a label with an
// empty value is the same as no label). REQUIRES: `labels` sorted, without "instance" when a
// target is given (see Append).
template <typename Fn>
void ForEachLabel(const Labels& labels, std::string_view target, Fn&& fn) {
  bool done = target.empty();
  for (const auto& [name, value] : labels) {
    if (value.empty()) continue;
    if (!done && name > "instance") {
      fn(std::string_view("instance"), target);
      done = true;
    }
    fn(std::string_view(name), std::string_view(value));
  }
  if (!done) fn(std::string_view("instance"), target);
}

bool HasLabel(const Labels& labels, std::string_view name) {
  for (const auto& l : labels) {
    if (l.first == name) return true;
  }
  return false;
}

// Label values are valid UTF-8 (the parser checks), in which bytes 0xFE and 0xFF never occur,
// so they separate the parts of a key unambiguously.
void BuildKey(std::string& key, std::string_view name, const Labels& labels,
              std::string_view target) {
  key.clear();
  key.append(name);
  key.push_back('\xff');
  ForEachLabel(labels, target, [&key](std::string_view n, std::string_view v) {
    key.append(n);
    key.push_back('\xfe');
    key.append(v);
    key.push_back('\xff');
  });
}

std::string_view LabelValue(const Labels& labels, std::string_view name) {
  for (const auto& [n, v] : labels) {
    if (n == name) return v;
  }
  return {};
}

// Calls fn(name, value) for each label encoded in a key built by BuildKey.
template <typename Fn>
void ForEachKeyLabel(std::string_view key, Fn&& fn) {
  size_t pos = key.find('\xff') + 1;
  while (pos < key.size()) {
    const size_t sep = key.find('\xfe', pos);
    const size_t end = key.find('\xff', sep);
    fn(key.substr(pos, sep - pos), key.substr(sep + 1, end - sep - 1));
    pos = end + 1;
  }
}

std::string_view KeyLabelValue(std::string_view key, std::string_view name) {
  size_t pos = key.find('\xff') + 1;
  while (pos < key.size()) {
    const size_t sep = key.find('\xfe', pos);
    const size_t end = key.find('\xff', sep);
    const std::string_view n = key.substr(pos, sep - pos);
    if (n == name) return key.substr(sep + 1, end - sep - 1);
    if (n > name) break;  // labels are sorted
    pos = end + 1;
  }
  return {};
}

// A shared mutex that lets a waiting writer in before new readers. glibc's rwlock (behind
// std::shared_mutex) prefers readers, so a busy dashboard could starve the scraper.
class WriterPriorityMutex {
 public:
  void lock() {
    std::unique_lock l(m_);
    ++waiting_writers_;
    writers_cv_.wait(l, [this] { return !writer_ && readers_ == 0; });
    --waiting_writers_;
    writer_ = true;
  }
  void unlock() {
    std::lock_guard l(m_);
    writer_ = false;
    if (waiting_writers_ > 0) {
      writers_cv_.notify_one();
    } else {
      readers_cv_.notify_all();
    }
  }
  void lock_shared() {
    std::unique_lock l(m_);
    readers_cv_.wait(l, [this] { return !writer_ && waiting_writers_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    std::lock_guard l(m_);
    if (--readers_ == 0 && waiting_writers_ > 0) writers_cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable readers_cv_, writers_cv_;
  int readers_ = 0;
  int waiting_writers_ = 0;
  bool writer_ = false;
};

}  // namespace

bool IsStaleMarker(double value) { return std::bit_cast<uint64_t>(value) == kStaleNaNBits; }

// --- Selection --------------------------------------------------------------------------------

namespace {

struct CompiledMatcher {
  std::string name;
  MatchOp op;
  std::string value;
  std::optional<std::regex> re;
};

Result<std::vector<CompiledMatcher>> CompileMatchers(const std::vector<LabelMatcher>& matchers) {
  std::vector<CompiledMatcher> out;
  out.reserve(matchers.size());
  for (const auto& m : matchers) {
    if (m.name.empty()) return InvalidArgument("label matcher with an empty label name");
    CompiledMatcher c{m.name, m.op, m.value, std::nullopt};
    if (m.op == MatchOp::kRegexMatch || m.op == MatchOp::kRegexNoMatch) {
      try {
        c.re.emplace(m.value, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return InvalidArgument("label matcher " + m.name + "=~\"" + m.value +
                               "\": invalid regular expression (" + e.what() + ")");
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool MatchesAll(std::string_view key, const std::vector<CompiledMatcher>& matchers) {
  for (const auto& m : matchers) {
    std::string_view v = KeyLabelValue(key, m.name);
    bool ok = true;
    switch (m.op) {
      case MatchOp::kEqual:
        ok = v == m.value;
        break;
      case MatchOp::kNotEqual:
        ok = v != m.value;
        break;
      case MatchOp::kRegexMatch:
      case MatchOp::kRegexNoMatch:
        // regex_match matches the whole value: PromQL anchors its regexes at both ends.
        ok = std::regex_match(v.begin(), v.end(), *m.re) == (m.op == MatchOp::kRegexMatch);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// --- ScrapeStore ------------------------------------------------------------------------------

class ScrapeStore::Impl {
 public:
  Impl(ScrapeStoreOptions options, size_t capacity) : options_(options), capacity_(capacity) {}

  AppendStats Append(const std::vector<MetricFamily>& families, int64_t scrape_time_ms,
                     std::string_view target);
  Result<std::vector<ScrapedSeries>> Select(const SeriesSelector& selector, int64_t start_ms,
                                            int64_t end_ms) const;
  ScrapeStoreStats Stats() const;
  const ScrapeStoreOptions& options() const { return options_; }

 private:
  uint32_t TargetId(std::string_view target);
  // A series for key_buf_. REQUIRES: not in the index, fewer than max_series live.
  uint32_t Create(std::string_view name, uint32_t target_id, uint64_t key_hash);
  void Remove(uint32_t slot);
  void Push(Slot& slot, ScrapePoint p) {
    slot.rec->ring.Push(p);
    slot.newest_t = p.t_ms;
  }

  const ScrapeStoreOptions options_;
  const size_t capacity_;
  mutable WriterPriorityMutex mu_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<SeriesRec>> recs_;  // owner, by slot
  std::vector<uint32_t> free_slots_;
  size_t live_ = 0;
  std::unordered_map<std::string_view, uint32_t, StringHash, std::equal_to<>> index_;
  std::unordered_map<std::string, std::vector<SeriesRec*>, StringHash, std::equal_to<>> by_name_;
  std::vector<TargetRec> targets_;
  // Writer scratch, reused so steady-state appends do not allocate.
  std::string key_buf_;
  Labels label_buf_;
  uint64_t dropped_max_series_ = 0;
  uint64_t out_of_order_ = 0;
  int64_t newest_scrape_ms_ = 0;
};

uint32_t ScrapeStore::Impl::TargetId(std::string_view target) {
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (targets_[i].name == target) return static_cast<uint32_t>(i);
  }
  targets_.push_back(TargetRec{std::string(target), std::nullopt, {}});
  return static_cast<uint32_t>(targets_.size() - 1);
}

uint32_t ScrapeStore::Impl::Create(std::string_view name, uint32_t target_id, uint64_t key_hash) {
  auto rec = std::make_unique<SeriesRec>(capacity_);
  rec->key = key_buf_;
  rec->name_len = name.size();
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    recs_.emplace_back();
  }
  auto it = by_name_.find(name);
  if (it == by_name_.end())
    it = by_name_.emplace(std::string(name), std::vector<SeriesRec*>{}).first;
  auto& by_name = it->second;
  rec->name_pos = by_name.size();
  by_name.push_back(rec.get());
  index_.emplace(std::string_view(rec->key), slot);
  slots_[slot] = Slot{rec.get(), key_hash};
  slots_[slot].target = target_id;
  recs_[slot] = std::move(rec);
  ++live_;
  return slot;
}

void ScrapeStore::Impl::Remove(uint32_t slot) {
  SeriesRec* rec = slots_[slot].rec;
  auto it = by_name_.find(rec->name());
  auto& vec = it->second;
  vec[rec->name_pos] = vec.back();
  vec[rec->name_pos]->name_pos = rec->name_pos;
  vec.pop_back();
  if (vec.empty()) by_name_.erase(it);
  index_.erase(std::string_view(rec->key));
  recs_[slot].reset();
  slots_[slot] = Slot{};
  free_slots_.push_back(slot);
  --live_;
}

AppendStats ScrapeStore::Impl::Append(const std::vector<MetricFamily>& families,
                                      int64_t scrape_time_ms, std::string_view target) {
  AppendStats stats;
  std::unique_lock lock(mu_);
  const uint32_t target_id = TargetId(target);
  TargetRec& tgt = targets_[target_id];
  const std::optional<int64_t> previous_scrape = tgt.last_scrape_ms;
  size_t position = 0;  // index of the sample within this scrape
  for (const MetricFamily& family : families) {
    for (const Sample& s : family.samples) {
      // A page's own instance label would clash with the target's: rename it, as Prometheus
      // does with honor_labels: false (rare, so this path may allocate).
      const Labels* labels = &s.labels;
      if (!target.empty() && HasLabel(s.labels, "instance")) {
        label_buf_ = s.labels;
        for (auto& [n, v] : label_buf_) {
          if (n != "instance") continue;
          n = "exported_instance";
          while (HasLabel(s.labels, n)) n = "exported_" + n;
        }
        std::sort(label_buf_.begin(), label_buf_.end());
        labels = &label_buf_;
      }
      BuildKey(key_buf_, s.name, *labels, target);
      const uint64_t hash = StringHash{}(key_buf_);
      uint32_t slot = kNoSlot;
      if (position < tgt.order.size()) {
        const uint32_t c = tgt.order[position];
        if (c < slots_.size() && slots_[c].rec != nullptr && slots_[c].key_hash == hash &&
            slots_[c].rec->key == key_buf_) {
          slot = c;
        }
      }
      if (slot == kNoSlot) {
        if (auto it = index_.find(std::string_view(key_buf_)); it != index_.end()) {
          slot = it->second;
        } else if (live_ >= options_.max_series) {
          ++stats.dropped_max_series;
        } else {
          slot = Create(s.name, target_id, hash);
          slots_[slot].rec->counter_like = CounterLike(family.type, family.name, s.name);
          ++stats.new_series;
          if (options_.zero_fill_new_counters && slots_[slot].rec->counter_like &&
              previous_scrape && !s.timestamp_ms &&
              *previous_scrape < s.timestamp_ms.value_or(scrape_time_ms)) {
            Push(slots_[slot], {*previous_scrape, 0.0});
          }
        }
      }
      if (position < tgt.order.size()) {
        tgt.order[position] = slot;
      } else {
        tgt.order.push_back(slot);
      }
      ++position;
      if (slot == kNoSlot) continue;
      Slot& sl = slots_[slot];
      const int64_t t = s.timestamp_ms.value_or(scrape_time_ms);
      sl.last_seen_scrape = scrape_time_ms;
      sl.explicit_ts = s.timestamp_ms.has_value();
      if (t <= sl.newest_t) {
        ++stats.out_of_order;
        continue;
      }
      Push(sl, {t, s.value});
      sl.stale = false;
      ++stats.samples;
    }
  }
  tgt.order.resize(position);
  // One pass over all series: stale-mark this target's missing ones, expire the old ones.
  const int64_t cutoff = scrape_time_ms - options_.retention_ms;
  const double stale = std::bit_cast<double>(kStaleNaNBits);
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    Slot& sl = slots_[i];
    if (sl.rec == nullptr) continue;
    if (sl.target == target_id && sl.last_seen_scrape != scrape_time_ms && !sl.stale &&
        !sl.explicit_ts) {
      if (sl.newest_t < scrape_time_ms) {
        Push(sl, {scrape_time_ms, stale});
        ++stats.stale_marked;
      }
      sl.stale = true;
    }
    if (sl.newest_t < cutoff) {
      Remove(i);
      ++stats.expired_series;
    }
  }
  tgt.last_scrape_ms = scrape_time_ms;
  newest_scrape_ms_ = std::max(newest_scrape_ms_, scrape_time_ms);
  dropped_max_series_ += stats.dropped_max_series;
  out_of_order_ += stats.out_of_order;
  return stats;
}

Result<std::vector<ScrapedSeries>> ScrapeStore::Impl::Select(const SeriesSelector& selector,
                                                             int64_t start_ms,
                                                             int64_t end_ms) const {
  if (selector.metric.empty()) return InvalidArgument("series selector without a metric name");
  if (end_ms < start_ms) {
    return InvalidArgument("select range ends (" + std::to_string(end_ms) + ") before it starts (" +
                           std::to_string(start_ms) + ")");
  }
  auto matchers = CompileMatchers(selector.matchers);
  if (!matchers) return matchers.error();
  std::vector<ScrapedSeries> out;
  {
    std::shared_lock lock(mu_);
    auto it = by_name_.find(std::string_view(selector.metric));
    if (it == by_name_.end()) return out;
    for (const SeriesRec* rec : it->second) {
      if (!MatchesAll(rec->key, *matchers)) continue;
      const Ring& ring = rec->ring;
      size_t first = ring.LowerBound(start_ms);
      if (first > 0) --first;  // the value in force at start_ms
      ScrapedSeries s{std::string(rec->name()), {}, {}};
      ForEachKeyLabel(rec->key, [&s](std::string_view n, std::string_view v) {
        s.labels.emplace_back(std::string(n), std::string(v));
      });
      for (size_t i = first; i < ring.size() && ring.at(i).t_ms <= end_ms; ++i) {
        s.points.push_back(ring.at(i));
      }
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const ScrapedSeries& a, const ScrapedSeries& b) { return a.labels < b.labels; });
  return out;
}

ScrapeStoreStats ScrapeStore::Impl::Stats() const {
  std::shared_lock lock(mu_);
  ScrapeStoreStats s;
  s.series = live_;
  s.ring_capacity = capacity_;
  s.dropped_max_series = dropped_max_series_;
  s.out_of_order = out_of_order_;
  s.newest_scrape_ms = newest_scrape_ms_;
  size_t bytes = slots_.capacity() * (sizeof(Slot) + sizeof(recs_[0]));
  for (const auto& rec : recs_) {
    if (!rec) continue;
    s.points += rec->ring.size();
    bytes += sizeof(SeriesRec) + rec->ring.allocated_bytes() + rec->key.capacity() + 1;
  }
  // Hash nodes and buckets of the two indexes, and the by-name vectors, roughly.
  s.approx_bytes = bytes + live_ * 64;
  return s;
}

Result<std::unique_ptr<ScrapeStore>> ScrapeStore::Create(ScrapeStoreOptions options) {
  if (options.retention_ms <= 0) {
    return InvalidArgument("ScrapeStoreOptions.retention_ms must be > 0, got " +
                           std::to_string(options.retention_ms));
  }
  if (options.scrape_interval_ms <= 0) {
    return InvalidArgument("ScrapeStoreOptions.scrape_interval_ms must be > 0, got " +
                           std::to_string(options.scrape_interval_ms));
  }
  if (options.max_series == 0) return InvalidArgument("ScrapeStoreOptions.max_series must be > 0");
  const int64_t capacity = options.retention_ms / options.scrape_interval_ms + 2;
  if (capacity > static_cast<int64_t>(kMaxRingCapacity)) {
    return InvalidArgument(
        "ScrapeStoreOptions: retention_ms / scrape_interval_ms = " + std::to_string(capacity - 2) +
        " points per series, more than " + std::to_string(kMaxRingCapacity - 2));
  }
  return std::unique_ptr<ScrapeStore>(
      new ScrapeStore(std::make_unique<Impl>(options, static_cast<size_t>(capacity))));
}

ScrapeStore::ScrapeStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ScrapeStore::~ScrapeStore() = default;

AppendStats ScrapeStore::Append(const std::vector<MetricFamily>& families, int64_t scrape_time_ms,
                                std::string_view target) {
  return impl_->Append(families, scrape_time_ms, target);
}
Result<std::vector<ScrapedSeries>> ScrapeStore::Select(const SeriesSelector& selector,
                                                       int64_t start_ms, int64_t end_ms) const {
  return impl_->Select(selector, start_ms, end_ms);
}
ScrapeStoreStats ScrapeStore::Stats() const { return impl_->Stats(); }
const ScrapeStoreOptions& ScrapeStore::options() const { return impl_->options(); }

// --- Range functions --------------------------------------------------------------------------

namespace {

Result<std::vector<int64_t>> GridTimes(const EvalGrid& g) {
  if (g.step_ms <= 0) {
    return InvalidArgument("evaluation step must be > 0 ms, got " + std::to_string(g.step_ms));
  }
  if (g.end_ms < g.start_ms) {
    return InvalidArgument("evaluation range ends (" + std::to_string(g.end_ms) +
                           ") before it starts (" + std::to_string(g.start_ms) + ")");
  }
  const uint64_t span = static_cast<uint64_t>(g.end_ms) - static_cast<uint64_t>(g.start_ms);
  const uint64_t steps = span / static_cast<uint64_t>(g.step_ms);
  const uint64_t n = steps + 1;
  if (steps >= static_cast<uint64_t>(kMaxEvalPoints)) {
    return InvalidArgument("evaluation grid of " + std::to_string(steps) + "+1 points exceeds " +
                           std::to_string(kMaxEvalPoints) + "; use a larger step");
  }
  std::vector<int64_t> times(n);
  for (uint64_t i = 0; i < n; ++i) times[i] = g.start_ms + static_cast<int64_t>(i) * g.step_ms;
  return times;
}

Status CheckWindow(int64_t window_ms, const char* what) {
  if (window_ms <= 0) {
    return InvalidArgument(std::string(what) + " must be > 0 ms, got " + std::to_string(window_ms));
  }
  return {};
}

bool AllNaN(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

// Prometheus 2.42 promql/functions.go extrapolatedRate for float counters, on the n >= 2
// points p[0..n) inside [range_start, range_end]. Times are converted to seconds the way
// Prometheus does (float64(ms difference) / 1000) so results agree to the last bits.
double ExtrapolatedRate(const ScrapePoint* p, size_t n, int64_t range_start, int64_t range_end,
                        bool is_rate) {
  double result = p[n - 1].value - p[0].value;
  double prev = p[0].value;
  for (size_t i = 1; i < n; ++i) {
    if (p[i].value < prev) result += prev;  // counter reset
    prev = p[i].value;
  }
  double to_start = static_cast<double>(p[0].t_ms - range_start) / 1000;
  const double to_end = static_cast<double>(range_end - p[n - 1].t_ms) / 1000;
  const double sampled = static_cast<double>(p[n - 1].t_ms - p[0].t_ms) / 1000;
  const double average = sampled / static_cast<double>(n - 1);
  if (result > 0 && p[0].value >= 0) {
    // A counter is never negative: do not extrapolate back beyond its zero point.
    const double to_zero = sampled * (p[0].value / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  const double threshold = average * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : average / 2;
  interval += to_end < threshold ? to_end : average / 2;
  double factor = interval / sampled;
  if (is_rate) factor /= static_cast<double>(range_end - range_start) / 1000;
  return result * factor;
}

std::vector<ScrapePoint> WithoutStaleMarkers(const std::vector<ScrapePoint>& points) {
  std::vector<ScrapePoint> out;
  out.reserve(points.size());
  for (const auto& p : points) {
    if (!IsStaleMarker(p.value)) out.push_back(p);
  }
  return out;
}

Result<std::vector<Series>> RateOrIncrease(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                           const EvalGrid& grid, bool is_rate) {
  if (auto ok = CheckWindow(window_ms, "rate window"); !ok) return ok.error();
  auto times = GridTimes(grid);
  if (!times) return times.error();
  std::vector<Series> out;
  for (const ScrapedSeries& s : in) {
    const std::vector<ScrapePoint> pts = WithoutStaleMarkers(s.points);
    Series r{s.labels, *times, std::vector<double>(times->size(), kNaN)};
    size_t lo = 0, hi = 0;  // window is pts[lo, hi)
    for (size_t k = 0; k < times->size(); ++k) {
      const int64_t t = (*times)[k], range_start = t - window_ms;
      while (hi < pts.size() && pts[hi].t_ms <= t) ++hi;
      while (lo < hi && pts[lo].t_ms < range_start) ++lo;
      if (hi - lo >= 2) r.values[k] = ExtrapolatedRate(&pts[lo], hi - lo, range_start, t, is_rate);
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

Status CheckSameGrid(const std::vector<Series>& a, const std::vector<Series>& b = {}) {
  const Series* first = !a.empty() ? &a.front() : (!b.empty() ? &b.front() : nullptr);
  if (first == nullptr) return {};
  for (const auto* v : {&a, &b}) {
    for (const Series& s : *v) {
      if (s.timestamps_ms != first->timestamps_ms || s.values.size() != s.timestamps_ms.size()) {
        return InvalidArgument("series are not on one evaluation grid");
      }
    }
  }
  return {};
}

Labels GroupLabels(const Labels& labels, const std::vector<std::string>& by) {
  Labels out;
  for (const std::string& name : by) {
    std::string_view v = LabelValue(labels, name);
    // PromQL drops empty labels: a series lacking a `by` label groups under no such label.
    if (!v.empty()) out.emplace_back(name, std::string(v));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<Series>> Aggregate(const std::vector<Series>& in,
                                      const std::vector<std::string>& by, bool average) {
  if (auto ok = CheckSameGrid(in); !ok) return ok.error();
  std::map<Labels, std::pair<std::vector<double>, std::vector<int>>> groups;
  for (const Series& s : in) {
    auto& [sum, count] = groups[GroupLabels(s.labels, by)];
    if (sum.empty()) {
      sum.assign(s.values.size(), 0.0);
      count.assign(s.values.size(), 0);
    }
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (std::isnan(s.values[i])) continue;
      sum[i] += s.values[i];
      ++count[i];
    }
  }
  std::vector<Series> out;
  for (auto& [labels, acc] : groups) {
    auto& [sum, count] = acc;
    Series r{labels, in.front().timestamps_ms, std::move(sum)};
    for (size_t i = 0; i < r.values.size(); ++i) {
      if (count[i] == 0) {
        r.values[i] = kNaN;
      } else if (average) {
        r.values[i] /= count[i];
      }
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

// Go's strconv.ParseFloat as far as bucket bounds need it: decimal/scientific, a leading sign,
// and Inf/Infinity in any case. NaN bounds are refused (they cannot be ordered).
std::optional<double> ParseBound(std::string_view s) {
  bool negative = false;
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == y;
           });
  };
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (body.empty() || body.front() == '+' || body.front() == '-') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || end != body.data() + body.size() || std::isnan(v)) return std::nullopt;
  return negative ? -v : v;
}

struct Bucket {
  double upper;
  double count;
};

// Prometheus 2.42 promql/quantile.go bucketQuantile. `b` is scratch and gets reordered.
double BucketQuantile(double q, std::vector<Bucket>& b) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  if (b.empty()) return kNaN;
  std::sort(b.begin(), b.end(), [](const Bucket& x, const Bucket& y) { return x.upper < y.upper; });
  if (!std::isinf(b.back().upper) || b.back().upper < 0) return kNaN;
  // coalesceBuckets: equal bounds (le="1" and le="1.0") add up.
  size_t n = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (n > 0 && b[n - 1].upper == b[i].upper) {
      b[n - 1].count += b[i].count;
    } else {
      b[n++] = b[i];
    }
  }
  b.resize(n);
  // ensureMonotonic: a decreasing count (rate noise, a partial scrape) is raised to the max.
  double max = -std::numeric_limits<double>::infinity();
  for (Bucket& x : b) {
    if (x.count > max) {
      max = x.count;
    } else if (x.count < max) {
      x.count = max;
    }
  }
  if (b.size() < 2) return kNaN;
  const double observations = b.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  // sort.Search over all but the +Inf bucket: first bucket whose count reaches the rank.
  size_t i = 0;
  while (i < b.size() - 1 && !(b[i].count >= rank)) ++i;
  if (i == b.size() - 1) return b[b.size() - 2].upper;
  if (i == 0 && b[0].upper <= 0) return b[0].upper;
  double start = 0;
  double end = b[i].upper;
  double count = b[i].count;
  if (i > 0) {
    start = b[i - 1].upper;
    count -= b[i - 1].count;
    rank -= b[i - 1].count;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace

Result<std::vector<Series>> Increase(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                     const EvalGrid& grid) {
  return RateOrIncrease(in, window_ms, grid, /*is_rate=*/false);
}

Result<std::vector<Series>> Rate(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                 const EvalGrid& grid) {
  return RateOrIncrease(in, window_ms, grid, /*is_rate=*/true);
}

Result<std::vector<Series>> ExactIncrease(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                          const EvalGrid& grid) {
  if (auto ok = CheckWindow(window_ms, "increase window"); !ok) return ok.error();
  auto times = GridTimes(grid);
  if (!times) return times.error();
  std::vector<Series> out;
  for (const ScrapedSeries& s : in) {
    const auto& pts = s.points;
    Series r{s.labels, *times, std::vector<double>(times->size(), kNaN)};
    size_t base = 0;  // pts[0, base) are at or before the window start
    size_t hi = 0;    // pts[0, hi) are at or before t
    for (size_t k = 0; k < times->size(); ++k) {
      const int64_t t = (*times)[k], window_start = t - window_ms;
      while (hi < pts.size() && pts[hi].t_ms <= t) ++hi;
      while (base < pts.size() && pts[base].t_ms <= window_start) ++base;
      const bool had_base = base > 0 && !IsStaleMarker(pts[base - 1].value);
      bool have_prev = had_base;
      double prev = had_base ? pts[base - 1].value : 0;
      double sum = 0;
      size_t in_window = 0;
      for (size_t i = base; i < hi; ++i) {
        const double v = pts[i].value;
        if (IsStaleMarker(v)) continue;
        ++in_window;
        if (have_prev) sum += v >= prev ? v - prev : v;  // a drop is a reset from 0
        prev = v;
        have_prev = true;
      }
      if (in_window >= (had_base ? 1u : 2u)) r.values[k] = sum;
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Series>> LastValue(const std::vector<ScrapedSeries>& in, int64_t lookback_ms,
                                      const EvalGrid& grid) {
  if (auto ok = CheckWindow(lookback_ms, "lookback"); !ok) return ok.error();
  auto times = GridTimes(grid);
  if (!times) return times.error();
  std::vector<Series> out;
  for (const ScrapedSeries& s : in) {
    Series r{s.labels, *times, std::vector<double>(times->size(), kNaN)};
    size_t hi = 0;
    for (size_t k = 0; k < times->size(); ++k) {
      const int64_t t = (*times)[k];
      while (hi < s.points.size() && s.points[hi].t_ms <= t) ++hi;
      if (hi == 0) continue;
      const ScrapePoint& p = s.points[hi - 1];
      if (p.t_ms >= t - lookback_ms && !IsStaleMarker(p.value)) r.values[k] = p.value;
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Series>> SumBy(const std::vector<Series>& in,
                                  const std::vector<std::string>& by) {
  return Aggregate(in, by, /*average=*/false);
}

Result<std::vector<Series>> AvgBy(const std::vector<Series>& in,
                                  const std::vector<std::string>& by) {
  return Aggregate(in, by, /*average=*/true);
}

Result<std::vector<Series>> Ratio(const std::vector<Series>& num, const std::vector<Series>& den,
                                  bool missing_num_is_zero) {
  if (auto ok = CheckSameGrid(num, den); !ok) return ok.error();
  auto index = [](const std::vector<Series>& v,
                  const char* side) -> Result<std::map<Labels, const Series*>> {
    std::map<Labels, const Series*> m;
    for (const Series& s : v) {
      if (!m.emplace(s.labels, &s).second) {
        return InvalidArgument(std::string("ratio: two ") + side +
                               " series with the same labels; aggregate them first");
      }
    }
    return m;
  };
  auto nums = index(num, "numerator");
  if (!nums) return nums.error();
  auto dens = index(den, "denominator");
  if (!dens) return dens.error();
  std::vector<Series> out;
  for (const auto& [labels, d] : *dens) {
    auto it = nums->find(labels);
    const Series* n = it == nums->end() ? nullptr : it->second;
    if (n == nullptr && !missing_num_is_zero) continue;
    Series r{labels, d->timestamps_ms, std::vector<double>(d->values.size(), kNaN)};
    for (size_t i = 0; i < r.values.size(); ++i) {
      const double dv = d->values[i];
      double nv = n == nullptr ? kNaN : n->values[i];
      if (std::isnan(nv) && missing_num_is_zero && !std::isnan(dv)) nv = 0;
      if (std::isnan(nv) || std::isnan(dv) || dv == 0) continue;  // x / 0 has no value here
      r.values[i] = nv / dv;
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<Series>> HistogramQuantile(double q, const std::vector<Series>& buckets) {
  if (auto ok = CheckSameGrid(buckets); !ok) return ok.error();
  std::map<Labels, std::vector<std::pair<double, const Series*>>> groups;
  for (const Series& s : buckets) {
    auto bound = ParseBound(LabelValue(s.labels, "le"));
    if (!bound) continue;  // no or malformed le: Prometheus skips the series too
    Labels group;
    for (const auto& l : s.labels) {
      if (l.first != "le") group.push_back(l);
    }
    groups[std::move(group)].emplace_back(*bound, &s);
  }
  std::vector<Series> out;
  std::vector<Bucket> scratch;
  for (const auto& [labels, members] : groups) {
    const auto& times = members.front().second->timestamps_ms;
    Series r{labels, times, std::vector<double>(times.size(), kNaN)};
    for (size_t i = 0; i < times.size(); ++i) {
      scratch.clear();
      for (const auto& [upper, s] : members) {
        if (!std::isnan(s->values[i])) scratch.push_back({upper, s->values[i]});
      }
      // Only the buckets with a value at this step take part, as in a PromQL instant vector.
      r.values[i] = scratch.empty() ? kNaN : BucketQuantile(q, scratch);
    }
    if (!AllNaN(r.values)) out.push_back(std::move(r));
  }
  return out;
}

std::vector<Series> Scale(std::vector<Series> in, double factor) {
  for (Series& s : in) {
    for (double& v : s.values) v *= factor;
  }
  return in;
}

}  // namespace augur::sources
