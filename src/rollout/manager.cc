// Scheduling, persistence and commands for many state machines; see manager.h.
#include "augur/rollout/manager.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "augur/core/time.h"
#include "augur/rollout/state_machine.h"

namespace augur::rollout {

Result<Command> ParseCommand(const std::string& name) {
  if (name == "pause") return Command::kPause;
  if (name == "resume") return Command::kResume;
  if (name == "promote") return Command::kPromote;
  if (name == "abort") return Command::kAbort;
  if (name == "retry") return Command::kRetry;
  return InvalidArgument("unknown command '" + name +
                         "' (known: pause, resume, promote, abort, retry)");
}

namespace {

// One rollout. `mu` serialises everything that touches the machine and the record: a tick (which
// may take seconds while the analysis fetches), commands and status reads.
struct Entry {
  std::string key;
  mutable std::mutex mu;
  CanarySpec spec;
  RolloutProviders providers;
  std::unique_ptr<Notifier> event_sink;  // records events, then forwards them
  std::unique_ptr<StateMachine> machine;
  RolloutRecord record;
  std::string load_error;  // set when a persisted rollout could not be rebuilt
  std::string last_error;
  // The check of the tick in progress, recorded before the tick persists.
  std::optional<CheckResult> pending_check;
  int64_t pending_check_ms = 0;
  // Scheduling, guarded by the manager's map mutex.
  bool busy = false;
  int64_t next_due_ms = 0;
};

std::string EventLine(const Event& e) {
  std::string line = FormatTimeMs(e.time_ms) + " " + PhaseName(e.state.phase) + " weight " +
                     std::to_string(e.state.canary_weight) + " failedChecks " +
                     std::to_string(e.state.failed_checks);
  if (!e.message.empty()) line += ": " + e.message;
  return line;
}

// The machine's notifier for one entry: keeps the event in the record, then tells the spec's
// notifiers and the manager's listener. Called with the entry's mutex held.
class EventSink final : public Notifier {
 public:
  EventSink(Entry* entry, StateStore* store,
            const std::function<void(const std::string&, const Event&)>* listener)
      : entry_(entry), store_(store), listener_(listener) {}
  void Notify(const Event& e) override {
    auto& events = entry_->record.events;
    events.push_back(EventLine(e));
    if (events.size() > RolloutRecord::kMaxEvents) events.erase(events.begin());
    // The history is part of the status users read after a restart: keep it with the state.
    // Best effort: the state itself was persisted before this event was emitted.
    (void)store_->Save(entry_->key, entry_->record);
    if (entry_->providers.notifier) entry_->providers.notifier->Notify(e);
    if (*listener_) (*listener_)(entry_->key, e);
  }

 private:
  Entry* entry_;
  StateStore* store_;
  const std::function<void(const std::string&, const Event&)>* listener_;
};

}  // namespace

class Manager::Impl {
 public:
  explicit Impl(ManagerOptions o) : opt_(std::move(o)) {}
  ~Impl() { Stop(); }

  Status Start() {
    auto loaded = opt_.store->LoadAll();
    if (!loaded) return loaded.error().WithContext("loading rollouts");
    for (auto& [key, record] : *loaded) {
      auto e = std::make_shared<Entry>();
      e->key = key;
      e->record = std::move(record);
      if (Status st = Build(*e, e->record.state); !st) e->load_error = st.error().message;
      // Resume on the machine's own schedule: a tick that already ran before the crash is not
      // run again early (its router call, if lost, is re-sent by the next tick's reconcile).
      if (e->machine) e->next_due_ms = e->machine->NextTickDueMs();
      std::lock_guard<std::mutex> l(map_mu_);
      entries_[key] = e;
    }
    stop_ = false;
    for (int i = 0; i < std::max(1, opt_.workers); ++i) workers_.emplace_back([this] { Work(); });
    scheduler_ = std::thread([this] { Schedule(); });
    return {};
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> l(map_mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    if (scheduler_.joinable()) scheduler_.join();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  Result<RolloutStatus> Submit(const std::string& text, const std::string& origin, bool* created) {
    if (created) *created = false;
    auto spec = ParseCanary(text, origin);
    if (!spec) return spec.error();
    const std::string key = spec->namespace_ + "/" + spec->name;
    std::shared_ptr<Entry> old;
    {
      std::lock_guard<std::mutex> l(map_mu_);
      if (auto it = entries_.find(key); it != entries_.end()) old = it->second;
    }
    if (old) {
      std::lock_guard<std::mutex> l(old->mu);
      const bool running = old->machine && !IsTerminal(old->record.state.phase);
      if (old->record.spec_text == text && old->load_error.empty()) return StatusOf(*old);
      if (running) {
        return Error{ErrorCode::kConflict, "rollout " + key + " is " +
                                               PhaseName(old->record.state.phase) +
                                               " with another spec; abort it first"};
      }
    }
    auto e = std::make_shared<Entry>();
    e->key = key;
    e->record.spec_text = text;
    e->record.created_ms = opt_.clock->NowMs();
    if (Status st = Build(*e, RolloutState{}); !st) return st.error();
    if (Status st = opt_.store->Save(key, e->record); !st) {
      return st.error().WithContext("persisting rollout " + key);
    }
    {
      std::lock_guard<std::mutex> l(map_mu_);
      if (auto it = entries_.find(key); it != entries_.end() && it->second != old) {
        return Error{ErrorCode::kConflict, "rollout " + key + " was submitted concurrently"};
      }
      if (old && old->busy) {
        return Error{ErrorCode::kConflict, "rollout " + key + " is finishing a tick; retry"};
      }
      entries_[key] = e;
    }
    cv_.notify_all();
    if (created) *created = true;
    std::lock_guard<std::mutex> el(e->mu);  // lock order: entry, then map (StatusOf takes it)
    return StatusOf(*e);
  }

  Status Run(const std::string& key, Command c, const std::string& reason) {
    auto e = Find(key);
    if (!e) return e.error();
    std::lock_guard<std::mutex> l((*e)->mu);
    if (!(*e)->machine) {
      return Error{ErrorCode::kConflict, key + " cannot run: " + (*e)->load_error};
    }
    StateMachine& m = *(*e)->machine;
    Status st;
    switch (c) {
      case Command::kPause:
        st = m.Pause();
        break;
      case Command::kResume:
        st = m.Resume();
        break;
      case Command::kPromote:
        st = m.PromoteNow(reason);
        break;
      case Command::kAbort:
        st = m.Abort(reason);
        break;
      case Command::kRetry:
        st = m.Retry();
        break;
    }
    {
      std::lock_guard<std::mutex> ml(map_mu_);
      (*e)->next_due_ms = 0;  // let the scheduler act on the new phase at once
    }
    cv_.notify_all();
    return st;
  }

  Result<RolloutStatus> Get(const std::string& key) const {
    auto e = Find(key);
    if (!e) return e.error();
    std::lock_guard<std::mutex> l((*e)->mu);
    return StatusOf(**e);
  }

  std::vector<RolloutStatus> List() const {
    std::vector<std::shared_ptr<Entry>> all;
    {
      std::lock_guard<std::mutex> l(map_mu_);
      for (const auto& [k, e] : entries_) all.push_back(e);
    }
    std::vector<RolloutStatus> out;
    for (const auto& e : all) {
      std::lock_guard<std::mutex> l(e->mu);
      out.push_back(StatusOf(*e));
    }
    return out;
  }

  Status Remove(const std::string& key) {
    auto e = Find(key);
    if (!e) return e.error();
    {
      std::lock_guard<std::mutex> l((*e)->mu);
      if ((*e)->machine && !IsTerminal((*e)->record.state.phase)) {
        return Error{ErrorCode::kConflict, key + " is still running; abort it first"};
      }
    }
    if (Status st = opt_.store->Remove(key); !st) return st;
    std::lock_guard<std::mutex> l(map_mu_);
    entries_.erase(key);
    return {};
  }

 private:
  Result<std::shared_ptr<Entry>> Find(const std::string& key) const {
    std::lock_guard<std::mutex> l(map_mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return Error{ErrorCode::kNotFound, "no rollout " + key};
    return it->second;
  }

  // Parses the entry's spec and builds its providers and machine from `state`.
  Status Build(Entry& e, RolloutState state) {
    auto spec = ParseCanary(e.record.spec_text, e.key);
    if (!spec) return spec.error();
    if (opt_.min_interval_ms > 0) {
      // The interval as written, floored at the configured minimum instead of Flagger's 10 s.
      if (auto raw = ParseGoDurationMs(spec->analysis.interval)) {
        spec->analysis.interval_ms = std::max(opt_.min_interval_ms, *raw);
      }
    }
    auto providers = opt_.providers(*spec);
    if (!providers) return providers.error().WithContext("rollout " + e.key);
    e.spec = *spec;
    e.providers = std::move(*providers);
    e.event_sink = std::make_unique<EventSink>(&e, opt_.store, &opt_.on_event);
    Dependencies d;
    d.clock = opt_.clock;
    d.router = e.providers.router.get();
    d.webhooks = e.providers.webhooks.get();
    d.workload = e.providers.workload.get();
    d.notifier = e.event_sink.get();
    Entry* ep = &e;
    StateStore* store = opt_.store;
    // Both callbacks run inside Tick/commands, with the entry's mutex held by the caller.
    d.persist = [ep, store](const RolloutState& s) -> Status {
      RolloutRecord next = ep->record;
      next.state = s;
      if (ep->pending_check) {
        next.last_check = *ep->pending_check;
        next.last_check_ms = ep->pending_check_ms;
      }
      if (Status st = store->Save(ep->key, next); !st) return st;
      ep->record = std::move(next);
      ep->pending_check.reset();
      return {};
    };
    if (e.providers.check) {
      d.check = [ep](const CheckContext& ctx) {
        CheckResult r = ep->providers.check(ctx);
        ep->pending_check = r;
        ep->pending_check_ms = ctx.now_ms;
        return r;
      };
    }
    auto m = StateMachine::Create(*spec, std::move(d), std::move(state));
    if (!m) return m.error().WithContext("rollout " + e.key);
    e.machine = std::move(*m);
    e.record.state = e.machine->state();
    return {};
  }

  RolloutStatus StatusOf(const Entry& e) const {
    RolloutStatus s;
    s.key = e.key;
    s.name = e.spec.name;
    s.namespace_ = e.spec.namespace_;
    if (s.name.empty()) {
      const auto slash = e.key.find('/');
      s.namespace_ = e.key.substr(0, slash);
      s.name = slash == std::string::npos ? e.key : e.key.substr(slash + 1);
    }
    s.strategy = e.spec.strategy;
    s.state = e.record.state;
    s.last_check = e.record.last_check;
    s.last_check_ms = e.record.last_check_ms;
    if (e.machine) {
      std::lock_guard<std::mutex> l(map_mu_);  // order: entry, then map (as everywhere)
      s.next_tick_ms = std::max(e.next_due_ms, e.machine->NextTickDueMs());
    }
    s.max_weight = e.spec.analysis.max_weight;
    s.step_weight = e.spec.analysis.step_weight;
    s.threshold = e.spec.analysis.threshold;
    s.iterations = e.spec.analysis.iterations;
    s.interval_ms = e.spec.analysis.interval_ms;
    s.model = e.spec.augur.model;
    s.events = e.record.events;
    s.last_error = e.load_error.empty() ? e.last_error : e.load_error;
    return s;
  }

  void Schedule() {
    std::unique_lock<std::mutex> l(map_mu_);
    while (!stop_) {
      const int64_t now = opt_.clock->NowMs();
      for (auto& [key, e] : entries_) {
        if (e->busy || !e->load_error.empty() || now < e->next_due_ms) continue;
        e->busy = true;
        queue_.push_back(e);
      }
      if (!queue_.empty()) work_cv_.notify_all();
      cv_.wait_for(l, std::chrono::milliseconds(opt_.poll_ms));
    }
    work_cv_.notify_all();
  }

  void Work() {
    for (;;) {
      std::shared_ptr<Entry> e;
      {
        std::unique_lock<std::mutex> l(map_mu_);
        work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        e = queue_.front();
        queue_.pop_front();
      }
      int64_t next = 0;
      {
        std::lock_guard<std::mutex> el(e->mu);
        if (!e->machine) continue;
        const Status st = e->machine->Tick();
        e->last_error = st ? "" : st.error().message;
        if (e->pending_check) {  // a check whose tick persisted nothing is still shown
          e->record.last_check = *e->pending_check;
          e->record.last_check_ms = e->pending_check_ms;
          e->pending_check.reset();
        }
        const int64_t now = opt_.clock->NowMs();
        // A tick that changed nothing leaves the due time in the past: wait a little rather
        // than spin, and back off after an error (router or store down).
        const int64_t floor_ms = now + (st ? std::min<int64_t>(1000, e->spec.analysis.interval_ms)
                                           : std::min<int64_t>(5000, e->spec.analysis.interval_ms));
        next = std::max(e->machine->NextTickDueMs(), floor_ms);
      }
      std::lock_guard<std::mutex> l(map_mu_);
      e->busy = false;
      e->next_due_ms = next;
    }
  }

  ManagerOptions opt_;
  mutable std::mutex map_mu_;
  std::condition_variable cv_, work_cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::deque<std::shared_ptr<Entry>> queue_;
  bool stop_ = true;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

Result<std::unique_ptr<Manager>> Manager::Create(ManagerOptions options) {
  if (!options.clock) return InvalidArgument("rollout manager: a clock is required");
  if (!options.store) return InvalidArgument("rollout manager: a state store is required");
  if (!options.providers) return InvalidArgument("rollout manager: a provider factory is required");
  if (options.poll_ms <= 0) options.poll_ms = 100;
  return std::unique_ptr<Manager>(new Manager(std::make_unique<Impl>(std::move(options))));
}

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() = default;
Status Manager::Start() { return impl_->Start(); }
void Manager::Stop() { impl_->Stop(); }
Result<RolloutStatus> Manager::Submit(const std::string& spec_text, const std::string& origin,
                                      bool* created) {
  return impl_->Submit(spec_text, origin, created);
}
Status Manager::Run(const std::string& key, Command command, const std::string& reason) {
  return impl_->Run(key, command, reason);
}
Result<RolloutStatus> Manager::Get(const std::string& key) const { return impl_->Get(key); }
std::vector<RolloutStatus> Manager::List() const { return impl_->List(); }
Status Manager::Remove(const std::string& key) { return impl_->Remove(key); }

}  // namespace augur::rollout
