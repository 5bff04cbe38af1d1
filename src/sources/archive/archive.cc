// Release archives on disk (see include/augur/sources/archive.h): the envelope and bare
// Kayenta metricSetPairList parsers, the gzip layer and the writer.
//
// The pairs are parsed here rather than through contracts::ParseMetricSetPairList because an
// archive needs what that parser drops (the scopes that place a bare list in time) and must
// report byte positions and file names, which the contracts parser does not know.
#include "augur/sources/archive.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace augur::sources {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr const char* kApiVersion = "augur.dev/v1";
constexpr const char* kKind = "ReleaseArchive";
// A decompressed archive larger than this is refused: 10 metrics x 2 sides x a day of 15 s
// points is ~20 MB of JSON, so a gigabyte means a wrong file or a gzip bomb.
constexpr size_t kMaxInflated = size_t{1} << 30;

// Thrown inside the parser only and turned into a kBadData Result at its boundary.
struct ParseFailure {
  std::string message;
};
[[noreturn]] void Fail(const std::string& message) { throw ParseFailure{message}; }

std::string Quote(const std::string& s) { return "'" + s + "'"; }

const json* Member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

int64_t Int(const json& v, const std::string& path) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  Fail(path + " must be an integer (unix milliseconds)");
}

std::string Str(const json& v, const std::string& path) {
  if (!v.is_string()) Fail(path + " must be a string");
  return v.get<std::string>();
}

std::map<std::string, std::string> StringMap(const json* v, const std::string& path) {
  std::map<std::string, std::string> out;
  if (v == nullptr) return out;
  if (!v->is_object()) Fail(path + " must be an object of strings");
  for (const auto& [k, x] : v->items()) out[k] = Str(x, path + "." + k);
  return out;
}

// One point: a number, the string "NaN" (Jackson's NaN) or null. Infinity is refused: no
// Prometheus query the models use yields it, and the judge's statistics cannot rank it.
double Point(const json& v, const std::string& metric, const char* side, size_t index) {
  auto where = [&] {
    return "metric " + Quote(metric) + ": " + side + "[" + std::to_string(index) + "]";
  };
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isinf(d)) Fail(where() + " is infinite");
    return d;
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity" || s == "-Infinity" || s == "+Inf" || s == "-Inf" || s == "Inf") {
      Fail(where() + " is infinite (" + s + ")");
    }
    Fail(where() + " must be a number or \"NaN\", got " + Quote(s));
  }
  Fail(where() + " must be a number or \"NaN\"");
}

std::vector<double> Series(const json& values, const char* side, const std::string& metric,
                           const std::string& path) {
  const json* arr = Member(values, side);
  if (arr == nullptr || !arr->is_array()) {
    Fail(path + ".values." + side + " (metric " + Quote(metric) + ") must be an array");
  }
  std::vector<double> out;
  out.reserve(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) out.push_back(Point((*arr)[i], metric, side, i));
  return out;
}

struct Scope {
  std::optional<int64_t> start_ms, step_ms;
};

// Kayenta places a pair in time in scopes.control (startTimeMillis, stepMillis); older lists
// (json-formats.md) carry the same fields on the pair itself.
Scope PairScope(const json& pj, const std::string& path) {
  Scope s;
  const json* src = &pj;
  std::string at = path;
  if (const json* scopes = Member(pj, "scopes"); scopes != nullptr) {
    if (!scopes->is_object()) Fail(path + ".scopes must be an object");
    const json* c = Member(*scopes, "control");
    if (c == nullptr) c = Member(*scopes, "experiment");
    if (c != nullptr) {
      src = c;
      at = path + ".scopes." + (Member(*scopes, "control") ? "control" : "experiment");
    }
  }
  if (!src->is_object()) Fail(at + " must be an object");
  if (const json* v = Member(*src, "startTimeMillis"))
    s.start_ms = Int(*v, at + ".startTimeMillis");
  if (const json* v = Member(*src, "stepMillis")) s.step_ms = Int(*v, at + ".stepMillis");
  return s;
}

struct ParsedPair {
  ArchivedMetric metric;
  Scope scope;
};

std::vector<ParsedPair> Pairs(const json& list, const std::string& root) {
  if (!list.is_array()) Fail(root + " must be an array of metric set pairs");
  std::vector<ParsedPair> out;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = root + "[" + std::to_string(i) + "]";
    const json& pj = list[i];
    if (!pj.is_object()) Fail(path + " must be an object");
    const json* name = Member(pj, "name");
    if (name == nullptr) Fail(path + ".name is required");
    ParsedPair p;
    p.metric.name = Str(*name, path + ".name");
    p.metric.tags = StringMap(Member(pj, "tags"), path + ".tags");
    const json* values = Member(pj, "values");
    if (values == nullptr || !values->is_object()) {
      Fail(path + ".values (metric " + Quote(p.metric.name) + ") must be an object");
    }
    p.metric.primary = Series(*values, "control", p.metric.name, path);
    p.metric.canary = Series(*values, "experiment", p.metric.name, path);
    p.scope = PairScope(pj, path);
    if (!seen.insert({p.metric.name, p.metric.tags}).second) {
      Fail("metric " + Quote(p.metric.name) + " appears twice with the same tags");
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Series lengths against the grid: misaligned data would be judged against the wrong instants.
void CheckGrid(const Release& r) {
  if (r.step_ms <= 0) Fail("release.step must be positive, got " + std::to_string(r.step_ms));
  if (r.end_ms < r.start_ms) Fail("release.end is before release.start");
  if ((r.end_ms - r.start_ms) % r.step_ms != 0) {
    Fail("release.end - release.start (" + std::to_string(r.end_ms - r.start_ms) +
         " ms) is not a multiple of release.step (" + std::to_string(r.step_ms) + " ms)");
  }
  const size_t n = static_cast<size_t>((r.end_ms - r.start_ms) / r.step_ms + 1);
  for (const auto& m : r.metrics) {
    for (const auto* side : {&m.primary, &m.canary}) {
      if (side->size() != n) {
        Fail("metric " + Quote(m.name) + ": " + (side == &m.primary ? "control" : "experiment") +
             " has " + std::to_string(side->size()) + " points, the grid has " + std::to_string(n) +
             " (start " + std::to_string(r.start_ms) + ", end " + std::to_string(r.end_ms) +
             ", step " + std::to_string(r.step_ms) + " ms)");
      }
    }
  }
}

std::string StemOf(const std::string& origin) {
  std::string base = std::filesystem::path(origin).filename().string();
  for (const char* ext : {".gz", ".json"}) {
    const size_t n = std::strlen(ext);
    if (base.size() > n && base.compare(base.size() - n, n, ext) == 0) base.resize(base.size() - n);
  }
  return base.empty() ? origin : base;
}

Release FromBareList(const json& doc, const std::string& origin) {
  std::vector<ParsedPair> pairs = Pairs(doc, "metricSetPairList");
  if (pairs.empty()) Fail("metricSetPairList is empty");
  Release r;
  r.name = StemOf(origin);
  const Scope& first = pairs[0].scope;
  if (!first.start_ms || !first.step_ms) {
    Fail("metricSetPairList[0] (metric " + Quote(pairs[0].metric.name) +
         ") has no scopes.control.startTimeMillis/stepMillis: a bare list needs them to place "
         "its points in time");
  }
  r.start_ms = *first.start_ms;
  r.step_ms = *first.step_ms;
  if (r.step_ms <= 0) Fail("metricSetPairList[0]: stepMillis must be positive");
  const size_t n = std::max(pairs[0].metric.primary.size(), pairs[0].metric.canary.size());
  if (n == 0) Fail("metric " + Quote(pairs[0].metric.name) + " has no points");
  r.end_ms = r.start_ms + static_cast<int64_t>(n - 1) * r.step_ms;
  for (auto& p : pairs) {
    if ((p.scope.start_ms && *p.scope.start_ms != r.start_ms) ||
        (p.scope.step_ms && *p.scope.step_ms != r.step_ms)) {
      Fail("metric " + Quote(p.metric.name) +
           ": its scope (startTimeMillis/stepMillis) differs from the first pair's; one archive "
           "holds one time grid");
    }
    r.metrics.push_back(std::move(p.metric));
  }
  return r;
}

Release FromEnvelope(const json& doc) {
  const json* api = Member(doc, "apiVersion");
  if (api == nullptr || Str(*api, "apiVersion") != kApiVersion) {
    Fail(std::string("apiVersion must be \"") + kApiVersion + "\"" +
         (api != nullptr && api->is_string() ? ", got " + Quote(api->get<std::string>()) : ""));
  }
  const json* kind = Member(doc, "kind");
  if (kind == nullptr || Str(*kind, "kind") != kKind) {
    Fail(std::string("kind must be \"") + kKind + "\"" +
         (kind != nullptr && kind->is_string() ? ", got " + Quote(kind->get<std::string>()) : ""));
  }
  const json* rel = Member(doc, "release");
  if (rel == nullptr || !rel->is_object()) Fail("release is required (an object)");
  Release r;
  auto required = [&](const char* key) -> const json& {
    const json* v = Member(*rel, key);
    if (v == nullptr) Fail(std::string("release.") + key + " is required");
    return *v;
  };
  r.name = Str(required("name"), "release.name");
  r.start_ms = Int(required("start"), "release.start");
  r.end_ms = Int(required("end"), "release.end");
  r.step_ms = Int(required("step"), "release.step");
  if (const json* m = Member(*rel, "model")) r.model = Str(*m, "release.model");
  r.vars = StringMap(Member(*rel, "vars"), "release.vars");
  if (const json* l = Member(*rel, "label")) {
    if (!l->is_object()) Fail("release.label must be an object");
    if (const json* t = Member(*l, "truth")) r.label.truth = Str(*t, "release.label.truth");
    if (r.label.truth != "" && r.label.truth != "good" && r.label.truth != "bad") {
      Fail("release.label.truth must be \"good\" or \"bad\", got " + Quote(r.label.truth));
    }
    if (const json* s = Member(*l, "regressionStart")) {
      r.label.regression_start_ms = Int(*s, "release.label.regressionStart");
    }
    if (const json* k = Member(*l, "regression")) {
      r.label.regression = Str(*k, "release.label.regression");
    }
  }
  const json* list = Member(doc, "metricSetPairList");
  if (list == nullptr) Fail("metricSetPairList is required");
  for (auto& p : Pairs(*list, "metricSetPairList")) r.metrics.push_back(std::move(p.metric));
  return r;
}

ojson SeriesJson(const std::vector<double>& v) {
  ojson a = ojson::array();
  for (double x : v) {
    if (std::isfinite(x)) {
      a.push_back(x);
    } else {
      a.push_back("NaN");  // Jackson's spelling, so Kayenta reads it back
    }
  }
  return a;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorCode::kNotFound, path + ": cannot open: " + std::strerror(errno)};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{ErrorCode::kUnavailable, path + ": read error"};
  return ss.str();
}

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

Result<std::string> Gunzip(std::string_view in, const std::string& origin) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Error{ErrorCode::kInternal, "inflateInit2 failed"};
  std::string out;
  char buf[1 << 16];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > kMaxInflated) {
      inflateEnd(&zs);
      return BadData(origin + ": decompresses to more than 1 GiB; refusing it");
    }
    if (rc == Z_STREAM_END) {
      // gzip allows several members back to back (cat a.gz b.gz).
      if (zs.avail_in > 0 &&
          IsGzip(std::string_view(reinterpret_cast<char*>(zs.next_in), zs.avail_in))) {
        inflateReset(&zs);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      const size_t consumed = in.size();
      inflateEnd(&zs);
      return BadData(origin + ": truncated gzip stream (ends after " + std::to_string(consumed) +
                     " compressed bytes, " + std::to_string(out.size()) + " bytes decompressed)");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      const std::string what = zs.msg != nullptr ? zs.msg : "error " + std::to_string(rc);
      const size_t at = in.size() - zs.avail_in;
      inflateEnd(&zs);
      return BadData(origin + ": corrupt gzip stream at compressed byte " + std::to_string(at) +
                     ": " + what);
    }
  }
  inflateEnd(&zs);
  return out;
}

Result<std::string> Gzip(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error{ErrorCode::kInternal, "deflateInit2 failed"};
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Error{ErrorCode::kInternal, "deflate did not finish"};
  out.resize(zs.total_out);
  return out;
}

}  // namespace

Result<Release> ParseArchive(std::string_view text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's message repeats the position as line/column; the byte offset is what a user
    // can seek to in a one-line (or gzip-decompressed) document.
    std::string what = e.what();
    if (const size_t at = what.find(": syntax error"); at != std::string::npos) {
      what = what.substr(at + 2);
    }
    return BadData(origin + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + what);
  } catch (const json::exception& e) {
    // e.g. a number beyond double's range ("1e999"): nlohmann refuses it while parsing.
    return BadData(origin + ": invalid JSON: " + e.what());
  }
  try {
    Release r;
    if (doc.is_array()) {
      r = FromBareList(doc, origin);
    } else if (doc.is_object()) {
      r = FromEnvelope(doc);
    } else {
      Fail("an archive is a ReleaseArchive object or a metricSetPairList array");
    }
    CheckGrid(r);
    r.origin = origin;
    return r;
  } catch (const ParseFailure& f) {
    return BadData(origin + ": " + f.message);
  } catch (const json::exception& e) {
    return BadData(origin + ": " + e.what());
  }
}

Result<Release> ReadArchive(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes) return bytes.error();
  if (IsGzip(*bytes)) {
    auto text = Gunzip(*bytes, path);
    if (!text) return text.error();
    return ParseArchive(*text, path);
  }
  return ParseArchive(*bytes, path);
}

std::string EncodeArchive(const Release& r) {
  ojson label = ojson::object();
  label["truth"] = r.label.truth;
  label["regressionStart"] =
      r.label.regression_start_ms ? ojson(*r.label.regression_start_ms) : ojson(nullptr);
  label["regression"] = r.label.regression;
  ojson vars = ojson::object();
  for (const auto& [k, v] : r.vars) vars[k] = v;
  ojson release = {{"name", r.name},    {"start", r.start_ms}, {"end", r.end_ms},
                   {"step", r.step_ms}, {"model", r.model},    {"label", label},
                   {"vars", vars}};
  ojson pairs = ojson::array();
  for (const auto& m : r.metrics) {
    ojson tags = ojson::object();
    for (const auto& [k, v] : m.tags) tags[k] = v;
    // Kayenta's own scope fields, so Kayenta (and a bare-list reader) can place the series.
    ojson scope = {{"startTimeMillis", r.start_ms}, {"stepMillis", r.step_ms}};
    pairs.push_back(
        {{"name", m.name},
         {"id", m.name},
         {"tags", tags},
         {"values", {{"control", SeriesJson(m.primary)}, {"experiment", SeriesJson(m.canary)}}},
         {"scopes", {{"control", scope}, {"experiment", scope}}}});
  }
  ojson doc = {{"apiVersion", kApiVersion},
               {"kind", kKind},
               {"release", release},
               {"metricSetPairList", pairs}};
  return doc.dump() + "\n";
}

Status WriteArchive(const Release& release, const std::string& path, bool gzip) {
  std::string bytes = EncodeArchive(release);
  if (gzip) {
    auto z = Gzip(bytes);
    if (!z) return z.error();
    bytes = std::move(*z);
  }
  // Same folder as the target, so the rename cannot cross file systems.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return Error{ErrorCode::kUnavailable,
                   path + ": cannot create " + tmp + ": " + std::strerror(errno)};
    }
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Error{ErrorCode::kUnavailable, path + ": write failed: " + std::strerror(errno)};
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return Error{ErrorCode::kUnavailable, path + ": cannot rename " + tmp + ": " + why};
  }
  return {};
}

std::vector<std::pair<std::string, Result<Release>>> ReadArchiveDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, Result<Release>>> out;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    auto ends = [&](const std::string& suffix) {
      return name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (!ends(".json") && !ends(".json.gz")) continue;
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    files.push_back(it->path().string());
  }
  if (ec) {
    out.emplace_back(dir, Error{ErrorCode::kNotFound, dir + ": cannot list: " + ec.message()});
    return out;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out.emplace_back(f, ReadArchive(f));
  return out;
}

}  // namespace augur::sources
