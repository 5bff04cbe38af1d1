// Release archives: a past release's primary and canary series for every metric of a model,
// recorded once (augur record, or the generator) and replayed offline (augur replay).
//
// On disk an archive is one JSON document, optionally gzip-compressed (detected by its magic
// bytes, not its name):
//   {"apiVersion": "augur.dev/v1", "kind": "ReleaseArchive",
//    "release": {"name", "start", "end", "step", "model", "label": {"truth": "good"|"bad",
//                "regressionStart", "regression"}, "vars": {...}},
//    "metricSetPairList": [ ...Kayenta's MetricSetPair objects, NaN as "NaN"... ]}
// so the payload is Kayenta's own shape and Kayenta archives replay too: a bare
// metricSetPairList file (a JSON array) is read as one unlabelled release whose times come
// from the pairs' scopes (startTimeMillis, stepMillis).
//
// Thread-safety: plain data and pure functions; an ArchiveSource is immutable and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"
#include "augur/sources/source.h"

namespace augur::sources {

// One metric's two series on the release's step grid (slot i is start + i*step).
struct ArchivedMetric {
  std::string name;  // the model metric (Kayenta: MetricSetPair.name)
  std::map<std::string, std::string> tags;
  std::vector<double> primary, canary;  // Kayenta's control / experiment; NaN = no point
};

// What is known about a release, when it is known (labelled data sets, generated releases).
struct ReleaseLabel {
  std::string truth;                           // "good", "bad", or "" (unknown)
  std::optional<int64_t> regression_start_ms;  // bad releases: when the regression began
  std::string regression;  // kind, e.g. "latency-shift", "error-burst" (free text)
};

struct Release {
  std::string name;
  int64_t start_ms = 0, end_ms = 0, step_ms = 0;  // the grid [start, end], end inclusive
  std::string model;                              // model name it was recorded for ("" = any)
  ReleaseLabel label;
  std::map<std::string, std::string> vars;  // the template variables used when recording
  std::vector<ArchivedMetric> metrics;
  std::string origin;  // the file it was read from, for messages (not stored)
};

// Parses an archive document (envelope or bare metricSetPairList; gzip already removed).
// Errors: kBadData "<origin>: <what>" with the byte offset of a JSON error ("at byte 1234"),
// series of unequal length or not matching the grid, missing fields, unknown apiVersion/kind.
Result<Release> ParseArchive(std::string_view text, const std::string& origin);

// Reads a file (gzip or plain). Errors: kNotFound (cannot open), kBadData (truncated gzip,
// or as ParseArchive), each naming the file.
Result<Release> ReadArchive(const std::string& path);

// The envelope JSON of a release (NaN written as "NaN"), and the file writer (gzip when asked;
// written to a temporary name and renamed, so a crash never leaves half an archive).
std::string EncodeArchive(const Release& release);
Status WriteArchive(const Release& release, const std::string& path, bool gzip);

// Every archive in a folder (*.json, *.json.gz), sorted by name; each file read independently,
// so one corrupt file costs only itself. The vector holds one Result per file.
std::vector<std::pair<std::string, Result<Release>>> ReadArchiveDir(const std::string& dir);

// A MetricSource over one release: Fetch(query = metric name) returns the slots of the grid
// inside [start_ms, end_ms] (the request's step must be a multiple of the release's; larger
// steps average their slots, ignoring NaN). Unknown metric: kNotFound. Replay judges "as if
// live" by asking only for the window up to the simulated now.
std::unique_ptr<MetricSource> NewArchiveSource(Release release);

}  // namespace augur::sources
