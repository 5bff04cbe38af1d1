// The MetricSource over one recorded release: replay fetches from it exactly as the live
// analysis fetches from Prometheus, asking only for the window up to the simulated now.
#include <algorithm>
#include <cmath>
#include <limits>

#include "augur/sources/archive.h"

namespace augur::sources {
namespace {

class ArchiveSource final : public MetricSource {
 public:
  explicit ArchiveSource(Release release) : r_(std::move(release)) {}

  std::string name() const override { return "archive:" + r_.name; }

  Result<SeriesPair> Fetch(const MetricRequest& req) const override {
    const ArchivedMetric* m = nullptr;
    for (const auto& x : r_.metrics) {
      if (x.name != req.query) continue;
      if (m != nullptr) {
        // Several tag sets under one name: picking one would judge an arbitrary series, as a
        // Prometheus query answered by several series would.
        return BadData(Where() + ": metric '" + req.query +
                       "' has several tag sets; one series per side is needed");
      }
      m = &x;
    }
    if (m == nullptr) {
      return Error{ErrorCode::kNotFound, Where() + " has no metric '" + req.query + "'"};
    }
    if (req.end_ms < req.start_ms) {
      return InvalidArgument("archive fetch: end " + std::to_string(req.end_ms) +
                             " is before start " + std::to_string(req.start_ms));
    }
    const int64_t step = r_.step_ms;
    if (req.step_ms < 0 || (req.step_ms != 0 && req.step_ms % step != 0)) {
      return InvalidArgument(Where() + " is recorded at a " + std::to_string(step) +
                             " ms step; a " + std::to_string(req.step_ms) +
                             " ms step is not a multiple of it");
    }
    const int64_t k = req.step_ms == 0 ? 1 : req.step_ms / step;
    // The grid slots inside [start, end]: first slot >= start, last slot <= end.
    // A Release built in memory skipped ParseArchive's grid check: never read past either side.
    const int64_t n = static_cast<int64_t>(std::min(m->primary.size(), m->canary.size()));
    int64_t first = req.start_ms <= r_.start_ms ? 0 : CeilDiv(req.start_ms - r_.start_ms, step);
    int64_t last = req.end_ms < r_.start_ms ? -1 : (req.end_ms - r_.start_ms) / step;
    last = std::min(last, n - 1);
    first = std::max<int64_t>(first, 0);

    SeriesPair out;
    out.primary_query = "archive " + r_.name + ": " + m->name + " (control)";
    out.canary_query = "archive " + r_.name + ": " + m->name + " (experiment)";
    // Runs of k slots from the first one, each stamped with its last slot's time (the value
    // at T covers the step ending at T, as a PromQL range aggregation does). A run not
    // complete by `end` is left out: its remaining slots lie in the simulated future.
    for (int64_t i = first; i + k - 1 <= last; i += k) {
      out.timestamps_ms.push_back(r_.start_ms + (i + k - 1) * step);
      out.primary.push_back(Mean(m->primary, i, k));
      out.canary.push_back(Mean(m->canary, i, k));
    }
    return out;
  }

  bool InMemory() const override { return true; }
  Status Check() const override { return {}; }

 private:
  static int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

  static double Mean(const std::vector<double>& v, int64_t from, int64_t k) {
    if (k == 1) return v[static_cast<size_t>(from)];
    double sum = 0;
    int count = 0;
    for (int64_t i = from; i < from + k; ++i) {
      const double x = v[static_cast<size_t>(i)];
      if (std::isnan(x)) continue;
      sum += x;
      ++count;
    }
    return count == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / count;
  }

  std::string Where() const {
    return "archive '" + r_.name + "'" + (r_.origin.empty() ? "" : " (" + r_.origin + ")");
  }

  const Release r_;
};

}  // namespace

std::unique_ptr<MetricSource> NewArchiveSource(Release release) {
  return std::make_unique<ArchiveSource>(std::move(release));
}

}  // namespace augur::sources
