// HistoryStore against real SQLite files in a fresh directory under /tmp (a disk here, not
// tmpfs, so fsync costs what it costs in production), with real processes for the crash and
// permission tests.
#include "augur/store/history_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace augur::store {
namespace {

namespace fs = std::filesystem;

#define ASSERT_OK(expr)                                                 \
  do {                                                                  \
    const auto& _r = (expr);                                            \
    ASSERT_TRUE(_r.has_value()) << #expr << ": " << _r.error().message; \
  } while (0)
#define EXPECT_OK(expr)                                                 \
  do {                                                                  \
    const auto& _r = (expr);                                            \
    EXPECT_TRUE(_r.has_value()) << #expr << ": " << _r.error().message; \
  } while (0)

constexpr int64_t kNow = 1'750'000'000'000;  // a fixed "now" for records (2025-06-15)

// Concatenation without `"literal" + std::string`, which trips g++ 12's -Wrestrict false
// positive (GCC bug 105329) at -O3.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string s;
  ((s += parts), ...);
  return s;
}

JudgementRecord MakeRecord(const std::string& id, int64_t created_ms,
                           const std::string& target = "prod/checkout",
                           const std::string& source = "flagger",
                           const std::string& outcome = "pass") {
  JudgementRecord r;
  r.id = id;
  r.created_ms = created_ms;
  r.source = source;
  r.target = target;
  r.checksum = "sha256:abc";
  r.model = "http-golden-signals";
  r.mode = "augur";
  r.outcome = outcome;
  r.score = 97.5;
  r.judge_version = "augur-judge/0.1.0";
  r.inputs_json = R"({"metrics":5,"points":120})";
  r.request_json = R"({"name":")" + id + R"("})";
  r.result_json = R"({"verdict":")" + outcome + R"("})";
  return r;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Raw SQL on a database file, to fake foreign, future and damaged files.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class HistoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/augur_store_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  HistoryStoreOptions Options(const std::string& name = "history.db") const {
    HistoryStoreOptions o;
    o.path = dir_ + "/" + name;
    o.retention.max_age_ms = 0;  // tests use fixed timestamps; prune only where tested
    return o;
  }

  std::unique_ptr<HistoryStore> OpenOrDie(const HistoryStoreOptions& o) {
    auto store = HistoryStore::Open(o);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return store.has_value() ? std::move(*store) : nullptr;
  }

  std::string dir_;
};

void ExpectSameRecord(const JudgementRecord& a, const JudgementRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.created_ms, b.created_ms);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.checksum, b.checksum);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.outcome, b.outcome);
  if (std::isnan(a.score)) {
    EXPECT_TRUE(std::isnan(b.score));
  } else {
    EXPECT_EQ(a.score, b.score);
  }
  EXPECT_EQ(a.judge_version, b.judge_version);
  EXPECT_EQ(a.inputs_json, b.inputs_json);
  EXPECT_EQ(a.request_json, b.request_json);
  EXPECT_EQ(a.result_json, b.result_json);
}

// --- round trips ---

TEST_F(HistoryStoreTest, RoundTripsEveryFieldIncludingUnicodeNulAndLargeJson) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  std::vector<JudgementRecord> records;
  JudgementRecord plain = MakeRecord("plain", kNow);
  records.push_back(plain);

  JudgementRecord odd = MakeRecord("ünïcødé-🚀-id", kNow + 1, "платежи/κανάρι", "argo", "fail");
  odd.target += std::string("\0tail", 5);  // embedded NUL inside a filter column
  odd.request_json = std::string("{\"a\":\"x\0y\"}", 12);
  odd.result_json = "{\"reason\":\"日本語 — \\u0000 ok\"}";
  odd.score = std::numeric_limits<double>::quiet_NaN();
  odd.checksum.clear();  // empty strings stay empty, not NULL
  records.push_back(odd);

  JudgementRecord big = MakeRecord("big", kNow + 2, "prod/big", "kayenta", "marginal");
  big.result_json.assign(6 << 20, 'j');  // 6 MiB, spills over many overflow pages
  big.request_json.assign(300000, 'r');
  big.score = -0.0;
  records.push_back(big);

  JudgementRecord inf = MakeRecord("inf", kNow + 3, "t", "cli", "error");
  inf.score = std::numeric_limits<double>::infinity();
  records.push_back(inf);

  for (const auto& r : records) ASSERT_OK(store->Append(r));
  for (const auto& r : records) {
    auto got = store->Get(r.id);
    ASSERT_OK(got);
    ExpectSameRecord(r, *got);
  }
  // The NUL-containing target works as an exact filter, and the prefix before NUL does not
  // match it.
  ListFilter f;
  f.target = odd.target;
  auto page = store->List(f);
  ASSERT_OK(page);
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].id, odd.id);
  f.target = "платежи/κανάρι";
  page = store->List(f);
  ASSERT_OK(page);
  EXPECT_TRUE(page->records.empty());
  EXPECT_EQ(*store->Count(), 4);

  auto missing = store->Get("nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST_F(HistoryStoreTest, DuplicateIdIsConflictAndKeepsTheFirst) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Append(MakeRecord("dup", kNow, "first")));
  auto again = store->Append(MakeRecord("dup", kNow + 5, "second"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("dup"), std::string::npos);
  EXPECT_EQ(store->Get("dup")->target, "first");
  // The conflicting write did not poison the writer.
  ASSERT_OK(store->Append(MakeRecord("next", kNow)));
  EXPECT_EQ(*store->Count(), 2);
}

TEST_F(HistoryStoreTest, RejectsBadRecordsWithReasons) {
  HistoryStoreOptions o = Options();
  o.max_record_bytes = 1000;
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  struct Case {
    const char* name;
    JudgementRecord record;
    const char* expect;
  };
  std::vector<Case> cases;
  cases.push_back({"empty id", MakeRecord("", kNow), "id"});
  cases.push_back({"long id", MakeRecord(std::string(257, 'x'), kNow), "id"});
  cases.push_back({"outcome", MakeRecord("a", kNow, "t", "flagger", "Pass"), "outcome 'Pass'"});
  cases.push_back({"source", MakeRecord("b", kNow, "t", ""), "source"});
  cases.push_back({"time", MakeRecord("d", 0), "created_ms 0"});
  JudgementRecord big = MakeRecord("c", kNow);
  big.result_json.assign(2000, 'x');
  cases.push_back({"size", big, "max_record_bytes"});
  for (const auto& c : cases) {
    auto st = store->Append(c.record);
    ASSERT_FALSE(st.has_value()) << c.name;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_NE(st.error().message.find(c.expect), std::string::npos)
        << c.name << ": " << st.error().message;
    EXPECT_NE(st.error().message.find(o.path), std::string::npos) << c.name;
  }
  EXPECT_EQ(*store->Count(), 0);
}

// --- List ---

TEST_F(HistoryStoreTest, ListFiltersNewestFirstAndPagesWithoutGapsOrRepeats) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  const char* targets[] = {"prod/a", "prod/b", "staging/c"};
  const char* sources[] = {"flagger", "argo"};
  const char* outcomes[] = {"pass", "fail", "marginal", "inconclusive", "error"};
  std::vector<JudgementRecord> all;
  for (int i = 0; i < 240; ++i) {
    // Runs of 4 equal timestamps, so pages split inside a millisecond.
    JudgementRecord r = MakeRecord(Cat("r", std::to_string(i)), kNow + (i / 4) * 1000,
                                   targets[i % 3], sources[i % 2], outcomes[i % 5]);
    ASSERT_OK(store->Append(r));
    all.push_back(r);
  }
  // Expected order: created_ms descending, then insertion order descending.
  std::vector<JudgementRecord> newest_first(all.rbegin(), all.rend());

  auto collect = [&](ListFilter f) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 1000; ++pages) {
      auto page = store->List(f);
      EXPECT_TRUE(page.has_value()) << page.error().message;
      if (!page.has_value()) break;
      EXPECT_LE(page->records.size(), static_cast<size_t>(f.limit));
      for (const auto& r : page->records) ids.push_back(r.id);
      if (page->next_cursor.empty()) break;
      EXPECT_EQ(page->records.size(), static_cast<size_t>(f.limit));
      f.cursor = page->next_cursor;
    }
    return ids;
  };
  auto expected = [&](auto pred) {
    std::vector<std::string> ids;
    for (const auto& r : newest_first) {
      if (pred(r)) ids.push_back(r.id);
    }
    return ids;
  };

  ListFilter f;
  f.limit = 7;
  EXPECT_EQ(collect(f), expected([](const JudgementRecord&) { return true; }));
  f.target = "prod/b";
  EXPECT_EQ(collect(f), expected([](const JudgementRecord& r) { return r.target == "prod/b"; }));
  f.source = "argo";
  f.limit = 3;
  EXPECT_EQ(collect(f), expected([](const JudgementRecord& r) {
              return r.target == "prod/b" && r.source == "argo";
            }));
  f = ListFilter();
  f.outcome = "fail";
  f.since_ms = kNow + 10 * 1000;
  f.until_ms = kNow + 40 * 1000;
  f.limit = 5;
  const auto window = expected([](const JudgementRecord& r) {
    return r.outcome == "fail" && r.created_ms >= kNow + 10000 && r.created_ms < kNow + 40000;
  });
  EXPECT_FALSE(window.empty());
  EXPECT_EQ(collect(f), window);

  // One page holding everything has no cursor; summaries leave the JSON out.
  f = ListFilter();
  f.limit = 1000;
  f.with_json = false;
  auto page = store->List(f);
  ASSERT_OK(page);
  EXPECT_EQ(page->records.size(), 240u);
  EXPECT_TRUE(page->next_cursor.empty());
  EXPECT_TRUE(page->records[0].result_json.empty());
  EXPECT_EQ(page->records[0].outcome, newest_first[0].outcome);

  // A page boundary exactly at the end yields a cursor whose next page is empty.
  f.limit = 240;
  page = store->List(f);
  ASSERT_OK(page);
  EXPECT_TRUE(page->next_cursor.empty());
  f.limit = 120;
  page = store->List(f);
  ASSERT_OK(page);
  f.cursor = page->next_cursor;
  page = store->List(f);
  ASSERT_OK(page);
  EXPECT_EQ(page->records.size(), 120u);
  EXPECT_TRUE(page->next_cursor.empty());

  struct Bad {
    ListFilter filter;
    const char* expect;
  };
  std::vector<Bad> bad(4);
  bad[0].filter.limit = 0;
  bad[0].expect = "limit";
  bad[1].filter.limit = 1001;
  bad[1].expect = "limit";
  bad[2].filter.cursor = "garbage";
  bad[2].expect = "cursor";
  bad[3].filter.outcome = "passed";
  bad[3].expect = "outcome";
  for (const auto& b : bad) {
    auto r = store->List(b.filter);
    ASSERT_FALSE(r.has_value()) << b.expect;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(b.expect), std::string::npos) << r.error().message;
  }
}

// --- retention ---

TEST_F(HistoryStoreTest, PruneByAgeAndByCount) {
  HistoryStoreOptions o = Options();
  o.retention.max_age_ms = 3600 * 1000;  // one hour
  o.retention.max_count = 50;
  o.prune_interval_ms = 0;  // only explicit Prune here
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  // 40 records older than an hour, 80 within it (equal timestamps at the count boundary).
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(store->Append(MakeRecord(Cat("old", std::to_string(i)), kNow - 7200 * 1000 + i)));
  }
  for (int i = 0; i < 80; ++i) {
    ASSERT_OK(store->Append(MakeRecord(Cat("new", std::to_string(i)), kNow - 1000 + i / 10)));
  }
  auto pruned = store->Prune(kNow);
  ASSERT_OK(pruned);
  EXPECT_EQ(*pruned, 70);  // 40 by age, then 30 more of the new ones by count
  EXPECT_EQ(*store->Count(), 50);
  // The 50 newest survive: new30..new79 (insertion order breaks the timestamp ties).
  for (int i = 0; i < 80; ++i) {
    const bool kept = store->Get(Cat("new", std::to_string(i))).has_value();
    EXPECT_EQ(kept, i >= 30) << i;
  }
  EXPECT_EQ(*store->Prune(kNow), 0);
  EXPECT_EQ(store->Stats().pruned, 70);
}

TEST_F(HistoryStoreTest, PruneDeletesALargeBacklogInStepsWhileAppendsContinue) {
  HistoryStoreOptions o = Options();
  o.retention.max_count = 10;
  o.prune_interval_ms = 0;
  o.sync = SyncMode::kNormal;  // durability is not under test; 8000 fsyncs would be slow
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  // Many records through few transactions: group commit with parallel appenders.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        EXPECT_OK(
            store->Append(MakeRecord(Cat(std::to_string(t), "-", std::to_string(i)), kNow + i)));
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(*store->Count(), 8000);
  const int64_t tx_before = store->Stats().transactions;
  std::thread appender([&] {
    for (int i = 0; i < 50; ++i) {
      EXPECT_OK(store->Append(MakeRecord(Cat("late", std::to_string(i)), kNow + 5000 + i)));
    }
  });
  auto pruned = store->Prune(kNow);
  appender.join();
  ASSERT_OK(pruned);
  // 7990 rows take four 2000-row steps, each its own transaction.
  EXPECT_GE(store->Stats().transactions - tx_before, 4);
  const int64_t count = *store->Count();  // late appends are newer than the first bound
  EXPECT_EQ(*store->Prune(kNow), count - 10);
  EXPECT_EQ(*store->Count(), 10);
  EXPECT_TRUE(store->Get("late49").has_value());
}

TEST_F(HistoryStoreTest, WriterPrunesPeriodicallyWithTheInjectedClock) {
  HistoryStoreOptions o = Options();
  o.retention.max_age_ms = 1000;
  o.prune_interval_ms = 20;
  std::atomic<int64_t> clock{kNow};
  o.now_ms = [&clock] { return clock.load(); };
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Append(MakeRecord("a", kNow - 500)));
  ASSERT_OK(store->Append(MakeRecord("b", kNow + 10000)));
  clock = kNow + 2000;  // "a" is now older than max_age; "b" is not
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->Count().value() != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
  }
  EXPECT_EQ(*store->Count(), 1);
  EXPECT_TRUE(store->Get("b").has_value());
  EXPECT_EQ(store->Stats().pruned, 1);
}

// --- persistence ---

TEST_F(HistoryStoreTest, ReopenKeepsRecordsAndState) {
  const HistoryStoreOptions o = Options();
  {
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 100; ++i) ASSERT_OK(store->Append(MakeRecord(std::to_string(i), kNow + i)));
    ASSERT_OK(store->PutState("rollout", "prod/checkout", R"({"phase":"progressing"})", 0));
  }
  EXPECT_FALSE(fs::exists(o.path + "-wal")) << "a clean close checkpoints and removes the WAL";
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->Count(), 100);
  for (int i = 0; i < 100; ++i) {
    auto r = store->Get(std::to_string(i));
    ASSERT_OK(r);
    ExpectSameRecord(MakeRecord(std::to_string(i), kNow + i), *r);
  }
  auto st = store->GetState("rollout", "prod/checkout");
  ASSERT_OK(st);
  EXPECT_EQ(st->json, R"({"phase":"progressing"})");
  EXPECT_EQ(st->version, 1);

  // What Open configured, read back with plain SQLite.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(o.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto pragma = [db](const char* sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    std::string v = sqlite3_step(s) == SQLITE_ROW
                        ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                        : "";
    sqlite3_finalize(s);
    return v;
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA user_version"), std::to_string(HistoryStore::SchemaVersion()));
  EXPECT_EQ(pragma("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN "
                   "('judgements_by_target', 'judgements_by_time')"),
            "2");
  sqlite3_close(db);
}

// --- state table ---

TEST_F(HistoryStoreTest, StateCompareAndSwap) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  auto v = store->PutState("rollout", "a", "{\"n\":1}", 0);
  ASSERT_OK(v);
  EXPECT_EQ(*v, 1);
  auto conflict = store->PutState("rollout", "a", "{}", 0);
  ASSERT_FALSE(conflict.has_value());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  EXPECT_NE(conflict.error().message.find("version 1"), std::string::npos)
      << conflict.error().message;
  EXPECT_EQ(*store->PutState("rollout", "a", "{\"n\":2}", 1), 2);
  EXPECT_EQ(store->PutState("rollout", "a", "{}", 5).error().code, ErrorCode::kConflict);
  EXPECT_EQ(*store->PutState("rollout", "a", "{\"n\":3}", HistoryStore::kAnyVersion), 3);
  ASSERT_OK(store->PutState("rollout", "c", "{}", HistoryStore::kAnyVersion));
  ASSERT_OK(store->PutState("rollout", "b", "{}", 0));
  ASSERT_OK(store->PutState("other", "a", "{}", 0));
  auto got = store->GetState("rollout", "a");
  ASSERT_OK(got);
  EXPECT_EQ(got->json, "{\"n\":3}");
  EXPECT_EQ(got->version, 3);
  auto list = store->ListState("rollout");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].key, "a");
  EXPECT_EQ((*list)[1].key, "b");
  EXPECT_EQ((*list)[2].key, "c");
  EXPECT_EQ(store->DeleteState("rollout", "a", 2).error().code, ErrorCode::kConflict);
  ASSERT_OK(store->DeleteState("rollout", "a", 3));
  EXPECT_EQ(store->GetState("rollout", "a").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->DeleteState("rollout", "a", HistoryStore::kAnyVersion).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(store->PutState("", "a", "{}", 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->PutState("k", "a", "{}", -7).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store->DeleteState("k", "a", 0).error().code, ErrorCode::kInvalidArgument);
  // Recreated after delete: versions start again at 1.
  EXPECT_EQ(*store->PutState("rollout", "a", "{}", 0), 1);
}

TEST_F(HistoryStoreTest, StateCasFromEightThreadsLosesNoIncrement) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->PutState("counter", "x", "0", 0));
  constexpr int kThreads = 8, kIncrements = 40;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements;) {
        auto cur = store->GetState("counter", "x");
        if (!cur.has_value()) {
          ADD_FAILURE() << cur.error().message;
          return;
        }
        const int n = std::stoi(cur->json);
        auto put = store->PutState("counter", "x", std::to_string(n + 1), cur->version);
        if (put.has_value()) {
          ++i;
        } else if (put.error().code == ErrorCode::kConflict) {
          ++conflicts;
        } else {
          ADD_FAILURE() << put.error().message;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto final_state = store->GetState("counter", "x");
  ASSERT_OK(final_state);
  EXPECT_EQ(final_state->json, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(final_state->version, kThreads * kIncrements + 1);
  RecordProperty("cas_conflicts", conflicts.load());
}

// --- concurrency ---

TEST_F(HistoryStoreTest, EightAppendersAndConcurrentReaders) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 8, kPerThread = 400;
  std::atomic<bool> writing{true};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      int64_t last_count = 0;
      while (writing.load()) {
        auto count = store->Count();
        ASSERT_OK(count);
        EXPECT_GE(*count, last_count) << "a reader saw the count go backwards";
        last_count = *count;
        ListFilter f;
        f.limit = 50;
        auto page = store->List(f);
        ASSERT_OK(page);
        for (size_t i = 1; i < page->records.size(); ++i) {
          EXPECT_GE(page->records[i - 1].created_ms, page->records[i].created_ms);
        }
        if (!page->records.empty()) {
          EXPECT_OK(store->Get(page->records[0].id));  // visible to every reader
        }
        ++reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = Cat("w", std::to_string(t), "-", std::to_string(i));
        EXPECT_OK(store->Append(MakeRecord(id, kNow + i, Cat("t", std::to_string(t)))));
        // Read-your-write from another connection right after Append returned.
        EXPECT_OK(store->Get(id));
      }
    });
  }
  for (auto& th : writers) th.join();
  writing = false;
  for (auto& th : readers) th.join();
  EXPECT_EQ(*store->Count(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    ListFilter f;
    f.target = Cat("t", std::to_string(t));
    f.limit = 1000;
    EXPECT_EQ(store->List(f)->records.size(), static_cast<size_t>(kPerThread));
  }
  const HistoryStoreStats stats = store->Stats();
  EXPECT_EQ(stats.writes, kThreads * kPerThread);
  EXPECT_EQ(stats.failed_transactions, 0);
  EXPECT_GT(reads.load(), 0);
  RecordProperty("transactions", static_cast<int>(stats.transactions));
}

// --- throughput ---

// Appends per second with 8 threads for ~1.5 s each, with a realistic ~5 KB record.
struct Throughput {
  double per_second;
  double mean_batch;
  int64_t largest_batch;
};

Throughput MeasureAppends(HistoryStore* store, int threads, double seconds, const char* tag) {
  std::atomic<int64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  const HistoryStoreStats before = store->Stats();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      JudgementRecord r = MakeRecord("", kNow);
      r.request_json.assign(1000, 'q');
      r.result_json.assign(4000, 'v');
      for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
        r.id = Cat(tag, "-", std::to_string(t), "-", std::to_string(i));
        r.created_ms = kNow + i;
        if (!store->Append(r).has_value()) {
          ADD_FAILURE() << "append failed";
          return;
        }
        ++done;
      }
    });
  }
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const HistoryStoreStats after = store->Stats();
  const int64_t tx = after.transactions - before.transactions;
  return Throughput{done / elapsed, tx > 0 ? double(after.writes - before.writes) / tx : 0,
                    after.largest_batch};
}

TEST_F(HistoryStoreTest, GroupCommitThroughputWithEightAppenders) {
  struct Row {
    const char* name;
    SyncMode sync;
    int threads;
  } const rows[] = {
      {"full-1thread", SyncMode::kFull, 1},
      {"full-8threads", SyncMode::kFull, 8},
      {"normal-8threads", SyncMode::kNormal, 8},
  };
  std::map<std::string, Throughput> results;
  for (const Row& row : rows) {
    HistoryStoreOptions o = Options(std::string(row.name) + ".db");
    o.sync = row.sync;
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    const Throughput t = MeasureAppends(store.get(), row.threads, 1.5, row.name);
    results[row.name] = t;
    std::printf("[ history  ] %-16s %8.0f appends/s, mean batch %.1f, largest %lld (%s)\n",
                row.name, t.per_second, t.mean_batch, static_cast<long long>(t.largest_batch),
                o.path.c_str());
    RecordProperty(std::string(row.name) + "_appends_per_s", static_cast<int>(t.per_second));
  }
  // Group commit must group: with 8 appenders blocked on one fsync, transactions carry several
  // of them. (Rates are printed, not asserted: the 2 cores and the disk here are shared.)
  EXPECT_GE(results["full-8threads"].mean_batch, 1.5);
  EXPECT_GE(results["full-8threads"].largest_batch, 4);
}

// --- crash durability ---

// Child: 4 threads append forever; after each Append returns, the id goes to the pipe. Never
// returns (the parent SIGKILLs it).
[[noreturn]] void CrashChild(const std::string& path, int fd, int round) {
  HistoryStoreOptions o;
  o.path = path;
  o.retention.max_age_ms = 0;
  auto store = HistoryStore::Open(o);
  if (!store.has_value()) {
    const std::string msg = "ERR open " + store.error().message + "\n";
    (void)!write(fd, msg.data(), msg.size());
    _exit(2);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      JudgementRecord r = MakeRecord("", kNow);
      r.result_json.assign(2000 + 500 * t, 'x');
      for (int i = 0;; ++i) {
        r.id = Cat("c", std::to_string(round), "-", std::to_string(t), "-", std::to_string(i));
        auto st = (*store)->Append(r);
        const std::string line = st.has_value() ? r.id + "\n" : "ERR " + st.error().message + "\n";
        // One write per line: atomic for pipes below PIPE_BUF, so lines never interleave.
        if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
        if (!st.has_value()) _exit(3);
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

TEST_F(HistoryStoreTest, EveryAnsweredAppendSurvivesSigkill) {
  const int kill_after[] = {1, 25, 300, 1200};
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE(Cat("kill after ", std::to_string(kill_after[round]), " answered appends"));
    const std::string path = Cat(dir_, "/crash", std::to_string(round), ".db");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      CrashChild(path, fds[1], round);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    ASSERT_NE(in, nullptr);
    std::vector<std::string> answered;
    std::vector<std::string> errors;
    char* line = nullptr;
    size_t cap = 0;
    bool killed = false;
    ssize_t n;
    // Keep reading after the kill: lines already in the pipe were answered before death.
    while ((n = getline(&line, &cap, in)) > 0) {
      std::string s(line, static_cast<size_t>(n - 1));
      if (s.rfind("ERR", 0) == 0) {
        errors.push_back(s);
      } else {
        answered.push_back(s);
      }
      if (!killed && static_cast<int>(answered.size()) >= kill_after[round]) {
        kill(pid, SIGKILL);
        killed = true;
      }
    }
    free(line);
    fclose(in);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(errors.empty()) << errors[0];
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
    EXPECT_TRUE(fs::exists(path + "-wal")) << "killed mid-run, the WAL is still there";

    HistoryStoreOptions o;
    o.path = path;
    o.retention.max_age_ms = 0;
    o.verify_on_open = true;
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    int missing = 0;
    for (const auto& id : answered) {
      if (!store->Get(id).has_value()) ++missing;
    }
    EXPECT_EQ(missing, 0) << "of " << answered.size() << " answered appends";
    EXPECT_GE(*store->Count(), static_cast<int64_t>(answered.size()));
  }
}

// --- errors ---

TEST_F(HistoryStoreTest, MissingDirectoryIsAClearError) {
  HistoryStoreOptions o = Options("no/such/dir/history.db");
  auto store = HistoryStore::Open(o);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(store.error().message.find(o.path), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find("does not exist"), std::string::npos)
      << store.error().message;
  EXPECT_FALSE(fs::exists(dir_ + "/no"));
}

TEST_F(HistoryStoreTest, PathThatIsADirectoryOrBadOptionsAreRejected) {
  fs::create_directory(dir_ + "/adir");
  auto store = HistoryStore::Open(Options("adir"));
  ASSERT_FALSE(store.has_value());
  EXPECT_NE(store.error().message.find("regular file"), std::string::npos);

  std::vector<HistoryStoreOptions> bad(6, Options());
  bad[0].path = "";
  bad[1].path = ":memory:";
  bad[2].max_batch = 0;
  bad[3].retention.max_count = -1;
  bad[4].max_batch_delay_us = -5;
  bad[5].busy_timeout_ms = -1;
  for (const auto& o : bad) {
    auto r = HistoryStore::Open(o);
    ASSERT_FALSE(r.has_value()) << o.path;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(HistoryStoreTest, FileThatIsNotADatabaseIsReportedAndLeftUntouched) {
  for (const std::string& content :
       {std::string("hello, I am a text file\n"), std::string(20000, 'z'),
        std::string("SQLite format 3") + std::string(5000, '\xff')}) {
    const std::string path = dir_ + "/notadb.db";
    WriteFile(path, content);
    HistoryStoreOptions o = Options("notadb.db");
    auto store = HistoryStore::Open(o);
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code, ErrorCode::kBadData) << store.error().message;
    EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error().message;
    EXPECT_NE(store.error().message.find("not an SQLite database"), std::string::npos)
        << store.error().message;
    EXPECT_EQ(ReadFile(path), content) << "the file was modified";
    EXPECT_FALSE(fs::exists(path + "-wal"));
  }
}

TEST_F(HistoryStoreTest, ForeignDatabaseIsRefused) {
  const std::string path = dir_ + "/foreign.db";
  RawExec(path,
          "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
          "INSERT INTO customers (name) VALUES ('alice');");
  const std::string before = ReadFile(path);
  auto store = HistoryStore::Open(Options("foreign.db"));
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadData);
  EXPECT_NE(store.error().message.find("not an Augur history database"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(ReadFile(path), before);
}

TEST_F(HistoryStoreTest, SchemaFromTheFutureIsRefused) {
  const HistoryStoreOptions o = Options();
  {
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Append(MakeRecord("keep", kNow)));
  }
  RawExec(o.path, "PRAGMA user_version = 99");
  const std::string before = ReadFile(o.path);
  auto store = HistoryStore::Open(o);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadData);
  EXPECT_NE(store.error().message.find("schema version 99"), std::string::npos)
      << store.error().message;
  EXPECT_NE(store.error().message.find(o.path), std::string::npos);
  EXPECT_EQ(ReadFile(o.path), before);
}

TEST_F(HistoryStoreTest, EmptyFileIsAdoptedAndMigratedToTheCurrentSchema) {
  // A zero-byte file (made by a config tool, say) is an SQLite database at version 0: the
  // migrations run from there, as they would from any older version.
  const HistoryStoreOptions o = Options();
  WriteFile(o.path, "");
  {
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Append(MakeRecord("x", kNow)));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), HistoryStore::SchemaVersion());
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(HistoryStoreTest, CorruptDatabaseIsReportedNeverRecreated) {
  HistoryStoreOptions o = Options();
  o.sync = SyncMode::kNormal;  // only to fill the file quickly
  {
    auto store = OpenOrDie(o);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 2000; ++i) {
      ASSERT_OK(store->Append(MakeRecord(Cat("id", std::to_string(i)), kNow + i)));
    }
  }
  std::string bytes = ReadFile(o.path);
  ASSERT_GT(bytes.size(), 40u * 4096);
  // Pages 3..40 (b-tree pages of the table and its indexes) become garbage; page 1, the
  // header and schema, stays valid.
  for (size_t i = 2 * 4096; i < 40 * 4096; ++i) bytes[i] = static_cast<char>(0xa5 ^ (i * 7));
  WriteFile(o.path, bytes);

  HistoryStoreOptions verify = o;
  verify.verify_on_open = true;
  auto store = HistoryStore::Open(verify);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadData);
  EXPECT_NE(store.error().message.find("corrupt"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(o.path), std::string::npos);
  EXPECT_EQ(ReadFile(o.path), bytes) << "a corrupt database must not be rewritten";

  // Without the check, Open succeeds on the valid header and reads meet the damage: kBadData,
  // never a crash or a silently short answer passed off as complete.
  auto lazy = HistoryStore::Open(o);
  ASSERT_OK(lazy);
  bool saw_corruption = false;
  for (int i = 0; i < 2000 && !saw_corruption; ++i) {
    auto r = (*lazy)->Get(Cat("id", std::to_string(i)));
    if (!r.has_value() && r.error().code == ErrorCode::kBadData) {
      saw_corruption = true;
      EXPECT_NE(r.error().message.find("corrupt"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_TRUE(saw_corruption);
}

// Runs fn in a child process as an unprivileged user (root ignores permission bits) and
// returns the line it writes.
std::string RunAsNobody(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(5);
    const std::string out = fn();
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) return "child failed";
  return out;
}

std::string DescribeOpen(const HistoryStoreOptions& o) {
  auto store = HistoryStore::Open(o);
  if (store.has_value()) return "opened";
  return std::string(ErrorCodeName(store.error().code)) + " " + store.error().message;
}

TEST_F(HistoryStoreTest, ReadOnlyDirectoryAndFileAreClearErrors) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  const std::string ro_dir = dir_ + "/readonly";
  ASSERT_TRUE(fs::create_directory(ro_dir));
  // An existing database the unprivileged user may read but not write.
  HistoryStoreOptions existing = Options("readonly/existing.db");
  {
    auto store = OpenOrDie(existing);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Append(MakeRecord("x", kNow)));
  }
  ASSERT_EQ(chmod(ro_dir.c_str(), 0555), 0);
  ASSERT_EQ(chmod(existing.path.c_str(), 0644), 0);

  HistoryStoreOptions fresh = Options("readonly/new.db");
  const std::string fresh_result = RunAsNobody([&] { return DescribeOpen(fresh); });
  EXPECT_EQ(fresh_result.rfind("unavailable ", 0), 0u) << fresh_result;
  EXPECT_NE(fresh_result.find(fresh.path), std::string::npos) << fresh_result;
  EXPECT_NE(fresh_result.find("writable"), std::string::npos) << fresh_result;

  const std::string existing_result = RunAsNobody([&] { return DescribeOpen(existing); });
  EXPECT_EQ(existing_result.rfind("unavailable ", 0), 0u) << existing_result;
  EXPECT_NE(existing_result.find(existing.path), std::string::npos) << existing_result;
  EXPECT_NE(existing_result.find("read-only"), std::string::npos) << existing_result;
  ASSERT_EQ(chmod(ro_dir.c_str(), 0755), 0);  // so TearDown can delete it
}

// A file size limit makes the WAL write fail the way a full disk does: the Append gets an
// error naming the path, later writes are refused (sticky), and everything answered before
// survives intact.
TEST_F(HistoryStoreTest, WriteFailureIsReportedStickyAndLosesNothingAnswered) {
  const std::string path = dir_ + "/limited.db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto say = [&](const std::string& s) {
      const std::string line = s + "\n";
      (void)!write(fds[1], line.data(), line.size());
    };
    HistoryStoreOptions o;
    o.path = path;
    o.retention.max_age_ms = 0;
    auto store = HistoryStore::Open(o);
    if (!store.has_value()) {
      say("ERR open " + store.error().message);
      _exit(2);
    }
    signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of being killed
    struct rlimit lim = {1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &lim);
    JudgementRecord r = MakeRecord("", kNow);
    r.result_json.assign(20000, 'x');
    for (int i = 0; i < 1000; ++i) {
      r.id = Cat("f", std::to_string(i));
      auto st = (*store)->Append(r);
      if (!st.has_value()) {
        say(std::string("FAIL ") + ErrorCodeName(st.error().code) + " " + st.error().message);
        auto again = (*store)->Append(MakeRecord("after", kNow));
        say(std::string("AGAIN ") + (again.has_value() ? "ok" : again.error().message));
        _exit(0);
      }
      say(r.id);
    }
    say("NEVER FAILED");
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << out;

  std::vector<std::string> answered;
  std::string fail, again;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("FAIL ", 0) == 0) {
      fail = line;
    } else if (line.rfind("AGAIN ", 0) == 0) {
      again = line;
    } else {
      answered.push_back(line);
    }
  }
  ASSERT_FALSE(fail.empty()) << out.substr(out.size() > 500 ? out.size() - 500 : 0);
  EXPECT_EQ(fail.rfind("FAIL unavailable ", 0), 0u) << fail;
  EXPECT_NE(fail.find(path), std::string::npos) << fail;
  EXPECT_NE(fail.find("write to the database or its WAL failed"), std::string::npos) << fail;
  EXPECT_NE(again.find("refused"), std::string::npos) << again;
  EXPECT_GT(answered.size(), 5u);

  HistoryStoreOptions o;
  o.path = path;
  o.retention.max_age_ms = 0;
  o.verify_on_open = true;
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  for (const auto& id : answered) EXPECT_OK(store->Get(id));
  EXPECT_FALSE(store->Get("after").has_value());
}

}  // namespace
}  // namespace augur::store
