// A process-wide pool of parked worker threads for short data-parallel loops (judging the
// metrics of one judgement side by side). Starting a std::thread costs ~0.2 ms on the 2-core
// VMs Augur is measured on, a fifth of a whole 20-metric judgement; a parked worker wakes in
// tens of microseconds.
//
// Thread-safety: ParallelFor may be called from any number of threads at once; each call
// waits for its own items only. The workers start on first use and live until exit.
#pragma once

#include <cstddef>
#include <functional>

namespace augur::core {

// Runs fn(i) for every i in [0, n), on the calling thread and on up to `helpers` pool threads,
// and returns when all n calls have returned. Items are handed out one at a time in index
// order, so unequal items balance. An exception thrown by fn is rethrown here (the first one;
// the remaining items still run). With helpers == 0 or n <= 1 it is a plain loop.
void ParallelFor(size_t n, size_t helpers, const std::function<void(size_t)>& fn);

// The number of pool threads (hardware concurrency - 1, at least 1).
size_t PoolHelpers();

}  // namespace augur::core
