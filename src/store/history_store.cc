#include "augur/store/history_store.h"

#include <sqlite3.h>

#include <charconv>
#include <chrono>
#include <limits>
#include <utility>

#include "store/database.h"
#include "store/reader_pool.h"
#include "store/schema.h"
#include "store/sqlite_util.h"
#include "store/writer.h"

namespace augur::store {
namespace {

constexpr size_t kMaxIdBytes = 256;
constexpr int kMaxListLimit = 1000;
constexpr const char* kOutcomes[] = {"pass", "marginal", "fail", "inconclusive", "error"};

bool IsOutcome(std::string_view s) {
  for (const char* o : kOutcomes) {
    if (s == o) return true;
  }
  return false;
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error Invalid(const std::string& path, const std::string& what) {
  return InvalidArgument("history store " + path + ": " + what);
}

Status ValidateOptions(const HistoryStoreOptions& o) {
  if (o.path.empty() || o.path == ":memory:" || o.path.back() == '/') {
    return Invalid("'" + o.path + "'", "path must name a database file");
  }
  if (o.retention.max_age_ms < 0 || o.retention.max_count < 0) {
    return Invalid(o.path, "retention limits must be >= 0");
  }
  if (o.max_batch < 1) return Invalid(o.path, "max_batch must be >= 1");
  if (o.max_batch_delay_us < 0) return Invalid(o.path, "max_batch_delay_us must be >= 0");
  if (o.busy_timeout_ms < 0) return Invalid(o.path, "busy_timeout_ms must be >= 0");
  if (o.prune_interval_ms < 0) return Invalid(o.path, "prune_interval_ms must be >= 0");
  if (o.max_record_bytes < 1) return Invalid(o.path, "max_record_bytes must be >= 1");
  if (o.max_idle_readers < 0) return Invalid(o.path, "max_idle_readers must be >= 0");
  return {};
}

Status ValidateRecord(const std::string& path, const JudgementRecord& r, int64_t max_bytes) {
  if (r.id.empty() || r.id.size() > kMaxIdBytes) {
    return Invalid(path, "judgement id must be 1.." + std::to_string(kMaxIdBytes) + " bytes, got " +
                             std::to_string(r.id.size()));
  }
  if (!IsOutcome(r.outcome)) {
    return Invalid(path, "judgement " + r.id + ": outcome '" + r.outcome +
                             "' is not pass|marginal|fail|inconclusive|error");
  }
  if (r.source.empty()) return Invalid(path, "judgement " + r.id + ": source is empty");
  if (r.created_ms <= 0) {
    return Invalid(path, "judgement " + r.id + ": created_ms " + std::to_string(r.created_ms) +
                             " is not a Unix time in ms");
  }
  const size_t bytes = r.id.size() + r.source.size() + r.target.size() + r.checksum.size() +
                       r.model.size() + r.mode.size() + r.outcome.size() + r.judge_version.size() +
                       r.inputs_json.size() + r.request_json.size() + r.result_json.size();
  if (bytes > static_cast<uint64_t>(max_bytes)) {
    return Invalid(path, "judgement " + r.id + ": " + std::to_string(bytes) +
                             " bytes exceed max_record_bytes " + std::to_string(max_bytes));
  }
  return {};
}

// Cursor "<created_ms>:<seq>" of the last record of a page; opaque to callers.
std::string MakeCursor(int64_t created_ms, int64_t seq) {
  return std::to_string(created_ms) + ":" + std::to_string(seq);
}

bool ParseCursor(std::string_view s, int64_t* created_ms, int64_t* seq) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  auto parse = [](std::string_view part, int64_t* out) {
    const auto r = std::from_chars(part.data(), part.data() + part.size(), *out);
    return !part.empty() && r.ec == std::errc() && r.ptr == part.data() + part.size();
  };
  return parse(s.substr(0, colon), created_ms) && parse(s.substr(colon + 1), seq) && *seq > 0;
}

constexpr const char* kJudgementColumns =
    "id, created_ms, source, target, checksum, model, mode, outcome, score, judge_version, "
    "inputs_json, request_json, result_json, seq";
constexpr const char* kSummaryColumns =
    "id, created_ms, source, target, checksum, model, mode, outcome, score, judge_version, "
    "'', '', '', seq";

JudgementRecord ReadJudgement(sqlite3_stmt* s, int64_t* seq) {
  JudgementRecord r;
  r.id = ColumnText(s, 0);
  r.created_ms = sqlite3_column_int64(s, 1);
  r.source = ColumnText(s, 2);
  r.target = ColumnText(s, 3);
  r.checksum = ColumnText(s, 4);
  r.model = ColumnText(s, 5);
  r.mode = ColumnText(s, 6);
  r.outcome = ColumnText(s, 7);
  r.score = sqlite3_column_type(s, 8) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                     : sqlite3_column_double(s, 8);
  r.judge_version = ColumnText(s, 9);
  r.inputs_json = ColumnText(s, 10);
  r.request_json = ColumnText(s, 11);
  r.result_json = ColumnText(s, 12);
  *seq = sqlite3_column_int64(s, 13);
  return r;
}

StateEntry ReadState(sqlite3_stmt* s) {
  StateEntry e;
  e.kind = ColumnText(s, 0);
  e.key = ColumnText(s, 1);
  e.version = sqlite3_column_int64(s, 2);
  e.updated_ms = sqlite3_column_int64(s, 3);
  e.json = ColumnText(s, 4);
  return e;
}

}  // namespace

class HistoryStore::Impl {
 public:
  Impl(const HistoryStoreOptions& o, std::unique_ptr<Writer> w)
      : opts(o), writer(std::move(w)), readers(o.path, o.busy_timeout_ms, o.max_idle_readers) {}

  const HistoryStoreOptions opts;
  // Declared before the readers so it closes last: the last connection to close checkpoints
  // the WAL into the database and removes it.
  std::unique_ptr<Writer> writer;
  ReaderPool readers;
};

HistoryStore::HistoryStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HistoryStore::~HistoryStore() = default;

int HistoryStore::SchemaVersion() { return kSchemaVersion; }
const std::string& HistoryStore::path() const { return impl_->opts.path; }
HistoryStoreStats HistoryStore::Stats() const { return impl_->writer->Stats(); }

Result<std::unique_ptr<HistoryStore>> HistoryStore::Open(const HistoryStoreOptions& options) {
  if (Status st = ValidateOptions(options); !st) return st.error();
  HistoryStoreOptions o = options;
  if (!o.now_ms) o.now_ms = SystemNowMs;
  auto db = OpenDatabase(o);
  if (!db) return db.error();
  auto writer = Writer::Start(std::move(*db), o);
  if (!writer) return writer.error();
  auto impl = std::make_unique<Impl>(o, std::move(*writer));
  // One reader now, so a problem with reader connections shows at Open.
  if (Status st = impl->readers.Check(); !st) return st.error();
  return std::unique_ptr<HistoryStore>(new HistoryStore(std::move(impl)));
}

Status HistoryStore::Append(JudgementRecord record) {
  if (Status st = ValidateRecord(impl_->opts.path, record, impl_->opts.max_record_bytes); !st) {
    return st;
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kAppend;
  op.record = std::move(record);
  return impl_->writer->Submit(&op);
}

Result<JudgementRecord> HistoryStore::Get(std::string_view id) const {
  const std::string sql =
      std::string("SELECT ") + kJudgementColumns + " FROM judgements WHERE id = ?1";
  return impl_->readers.WithStatement(sql, [&](sqlite3_stmt* s) -> Result<JudgementRecord> {
    BindText(s, 1, id);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      int64_t seq = 0;
      return ReadJudgement(s, &seq);
    }
    if (rc == SQLITE_DONE) {
      return Error{ErrorCode::kNotFound, "history store " + impl_->opts.path + ": judgement " +
                                             std::string(id) + " not found"};
    }
    return SqliteError(impl_->opts.path, "cannot read judgement " + std::string(id),
                       sqlite3_db_handle(s), rc);
  });
}

Result<JudgementPage> HistoryStore::List(const ListFilter& f) const {
  const std::string& path = impl_->opts.path;
  if (f.limit < 1 || f.limit > kMaxListLimit) {
    return Invalid(path, "list limit must be 1.." + std::to_string(kMaxListLimit) + ", got " +
                             std::to_string(f.limit));
  }
  if (!f.outcome.empty() && !IsOutcome(f.outcome)) {
    return Invalid(
        path, "outcome filter '" + f.outcome + "' is not pass|marginal|fail|inconclusive|error");
  }
  int64_t cursor_ms = 0, cursor_seq = 0;
  const bool has_cursor = !f.cursor.empty();
  if (has_cursor && !ParseCursor(f.cursor, &cursor_ms, &cursor_seq)) {
    return Invalid(path, "malformed list cursor '" + f.cursor + "'");
  }
  // The SQL depends only on which filters are set, so each shape is prepared once per reader.
  std::string sql = std::string("SELECT ") + (f.with_json ? kJudgementColumns : kSummaryColumns) +
                    " FROM judgements WHERE 1";
  if (!f.target.empty()) sql += " AND target = :target";
  if (!f.source.empty()) sql += " AND source = :source";
  if (!f.outcome.empty()) sql += " AND outcome = :outcome";
  if (f.since_ms != 0) sql += " AND created_ms >= :since";
  if (f.until_ms != 0) sql += " AND created_ms < :until";
  if (has_cursor) sql += " AND created_ms <= :cms AND (created_ms < :cms OR seq < :cseq)";
  sql += " ORDER BY created_ms DESC, seq DESC LIMIT :limit";
  return impl_->readers.WithStatement(sql, [&](sqlite3_stmt* s) -> Result<JudgementPage> {
    auto bind_text = [s](const char* name, const std::string& v) {
      if (int i = sqlite3_bind_parameter_index(s, name); i > 0) BindText(s, i, v);
    };
    auto bind_int = [s](const char* name, int64_t v) {
      if (int i = sqlite3_bind_parameter_index(s, name); i > 0) sqlite3_bind_int64(s, i, v);
    };
    bind_text(":target", f.target);
    bind_text(":source", f.source);
    bind_text(":outcome", f.outcome);
    bind_int(":since", f.since_ms);
    bind_int(":until", f.until_ms);
    bind_int(":cms", cursor_ms);
    bind_int(":cseq", cursor_seq);
    bind_int(":limit", f.limit + 1);  // one extra row tells whether another page exists
    JudgementPage page;
    int64_t last_seq = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (static_cast<int>(page.records.size()) == f.limit) {
        page.next_cursor = MakeCursor(page.records.back().created_ms, last_seq);
        rc = SQLITE_DONE;
        break;
      }
      page.records.push_back(ReadJudgement(s, &last_seq));
    }
    if (rc != SQLITE_DONE) {
      return SqliteError(impl_->opts.path, "cannot list judgements", sqlite3_db_handle(s), rc);
    }
    return page;
  });
}

Result<int64_t> HistoryStore::Count() const {
  return impl_->readers.WithStatement(
      "SELECT count(*) FROM judgements", [&](sqlite3_stmt* s) -> Result<int64_t> {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) return sqlite3_column_int64(s, 0);
        return SqliteError(impl_->opts.path, "cannot count judgements", sqlite3_db_handle(s), rc);
      });
}

Result<int64_t> HistoryStore::Prune(int64_t now_ms) {
  const Retention& r = impl_->opts.retention;
  if (r.max_age_ms == 0 && r.max_count == 0) return int64_t{0};
  WriteOp op;
  op.kind = WriteOp::Kind::kPrune;
  op.now_ms = now_ms;
  if (Status st = impl_->writer->Submit(&op); !st) return st.error();
  return op.result;
}

Result<int64_t> HistoryStore::PutState(std::string_view kind, std::string_view key,
                                       std::string json, int64_t expected_version) {
  if (kind.empty() || key.empty())
    return Invalid(impl_->opts.path, "state kind and key must be set");
  if (expected_version < kAnyVersion) {
    return Invalid(impl_->opts.path, "expected_version must be >= 0 or kAnyVersion, got " +
                                         std::to_string(expected_version));
  }
  if (static_cast<int64_t>(json.size()) > impl_->opts.max_record_bytes) {
    return Invalid(impl_->opts.path, "state " + std::string(kind) + "/" + std::string(key) + ": " +
                                         std::to_string(json.size()) +
                                         " bytes exceed max_record_bytes");
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kPutState;
  op.state_kind = kind;
  op.key = key;
  op.json = std::move(json);
  op.expected_version = expected_version;
  op.now_ms = impl_->opts.now_ms();
  if (Status st = impl_->writer->Submit(&op); !st) return st.error();
  return op.result;
}

Status HistoryStore::DeleteState(std::string_view kind, std::string_view key,
                                 int64_t expected_version) {
  if (kind.empty() || key.empty())
    return Invalid(impl_->opts.path, "state kind and key must be set");
  if (expected_version == 0 || expected_version < kAnyVersion) {
    return Invalid(impl_->opts.path, "DeleteState expected_version must be > 0 or kAnyVersion");
  }
  WriteOp op;
  op.kind = WriteOp::Kind::kDeleteState;
  op.state_kind = kind;
  op.key = key;
  op.expected_version = expected_version;
  return impl_->writer->Submit(&op);
}

Result<StateEntry> HistoryStore::GetState(std::string_view kind, std::string_view key) const {
  return impl_->readers.WithStatement(
      "SELECT kind, key, version, updated_ms, json FROM state WHERE kind = ?1 AND key = ?2",
      [&](sqlite3_stmt* s) -> Result<StateEntry> {
        BindText(s, 1, kind);
        BindText(s, 2, key);
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) return ReadState(s);
        const std::string name = std::string(kind) + "/" + std::string(key);
        if (rc == SQLITE_DONE) {
          return Error{ErrorCode::kNotFound,
                       "history store " + impl_->opts.path + ": state " + name + " not found"};
        }
        return SqliteError(impl_->opts.path, "cannot read state " + name, sqlite3_db_handle(s), rc);
      });
}

Result<std::vector<StateEntry>> HistoryStore::ListState(std::string_view kind) const {
  return impl_->readers.WithStatement(
      "SELECT kind, key, version, updated_ms, json FROM state WHERE kind = ?1 ORDER BY key",
      [&](sqlite3_stmt* s) -> Result<std::vector<StateEntry>> {
        BindText(s, 1, kind);
        std::vector<StateEntry> out;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(ReadState(s));
        if (rc != SQLITE_DONE) {
          return SqliteError(impl_->opts.path, "cannot list state", sqlite3_db_handle(s), rc);
        }
        return out;
      });
}

}  // namespace augur::store
