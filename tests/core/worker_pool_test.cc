#include "augur/core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace augur::core {
namespace {

TEST(ParallelFor, RunsEveryItemOnceAndWaitsForAll) {
  for (size_t n : {0, 1, 2, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    ParallelFor(n, PoolHelpers(), [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " item " << i;
  }
}

TEST(ParallelFor, WithoutHelpersRunsOnTheCaller) {
  std::set<std::thread::id> seen;
  ParallelFor(50, 0, [&](size_t) { seen.insert(std::this_thread::get_id()); });
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(*seen.begin(), std::this_thread::get_id());
}

TEST(ParallelFor, UsesPoolThreadsWhenItemsWait) {
  if (PoolHelpers() == 0) GTEST_SKIP() << "no pool thread";
  // Items that block until two threads are inside at once: this returns only if a pool
  // thread really takes part.
  std::atomic<int> inside{0};
  std::atomic<bool> met{false};
  ParallelFor(2, 1, [&](size_t) {
    inside.fetch_add(1);
    for (int spin = 0; spin < 2000000 && !met; ++spin) {
      if (inside.load() == 2) met = true;
      std::this_thread::yield();
    }
  });
  EXPECT_TRUE(met.load());
}

TEST(ParallelFor, ConcurrentCallersEachGetTheirOwnItems) {
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 50; ++round) {
        std::vector<int> out(64, -1);
        ParallelFor(out.size(), 2, [&](size_t i) { out[i] = static_cast<int>(i) * c; });
        for (size_t i = 0; i < out.size(); ++i)
          if (out[i] != static_cast<int>(i) * c) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParallelFor, RethrowsTheFirstErrorAfterTheOtherItemsRan) {
  std::atomic<int> ran{0};
  EXPECT_THROW(ParallelFor(100, 2,
                           [&](size_t i) {
                             ran.fetch_add(1);
                             if (i == 10) throw std::runtime_error("item 10");
                           }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 100);
}

}  // namespace
}  // namespace augur::core
