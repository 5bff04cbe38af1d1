// Throughput of ParseQueryResponse on the largest answer one query_range request can carry:
// 100 series x 11,000 points (Prometheus's per-request limit), about 31 MB of JSON. The body is
// generated deterministically and shaped like what Prometheus 2.x sends for HAProxy metrics:
// five-label series, whole-second timestamps on a 15 s grid, values as strings ("1234",
// "0.0123456789", "NaN", "+Inf"), counters and rates mixed.
//
// BM_JsonDomOnly parses the same body into an nlohmann::json DOM and discards it: the cost of
// the general-purpose path that ParseQueryResponse falls back to for unusual documents.
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "augur/sources/prometheus_client.h"

namespace {

std::string MakeQueryRangeBody(int series, int points) {
  uint64_t x = 0x2545F4914F6CDD1Dull;  // fixed seed: deterministic body
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  static const char* kCodes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  body.reserve(size_t{340} * series * points);
  char buf[64];
  for (int s = 0; s < series; ++s) {
    if (s != 0) body += ',';
    body += R"({"metric":{"__name__":"haproxy_server_http_responses_total","code":")";
    body += kCodes[s % 6];
    body += R"(","instance":"127.0.0.1:8404","job":"haproxy","proxy":"be_app_)";
    body += std::to_string(s / 24);
    body += R"(","server":"srv-)";
    body += std::to_string(s % 24);
    body += R"("},"values":[)";
    const bool counter = s % 2 == 0;
    double value = static_cast<double>(next() % 100000);
    for (int i = 0; i < points; ++i) {
      if (i != 0) body += ',';
      body += '[';
      body += std::to_string(int64_t{1700000000} + int64_t{15} * i);
      body += ",\"";
      const uint64_t r = next();
      if (r % 1000 == 0) {
        body += "NaN";  // e.g. a rate over a window with a counter reset and no samples
      } else if (r % 5000 == 1) {
        body += "+Inf";
      } else {
        // Counters are integral and grow; rates are fractions printed with full precision,
        // as Go's strconv.FormatFloat(v, 'f', -1, 64) prints them.
        value = counter ? value + static_cast<double>(r % 500)
                        : static_cast<double>(r % 10000000) / 1048576.0;
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
        body.append(buf, end);
      }
      body += "\"]";
    }
    body += "]}";
  }
  body += "]}}";
  return body;
}

const std::string& Body() {
  static const std::string body = MakeQueryRangeBody(100, 11000);
  return body;
}

void BM_ParseQueryRange(benchmark::State& state) {
  const std::string& body = Body();
  size_t points = 0;
  for (auto _ : state) {
    auto r = augur::sources::ParseQueryResponse(body);
    if (!r.has_value()) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    points = 0;
    for (const auto& s : r->series) points += s.values.size();
    benchmark::DoNotOptimize(points);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
  state.counters["body_MB"] = static_cast<double>(body.size()) / 1e6;
  state.counters["points"] = static_cast<double>(points);
}
BENCHMARK(BM_ParseQueryRange)->Unit(benchmark::kMillisecond);

void BM_JsonDomOnly(benchmark::State& state) {
  const std::string& body = Body();
  for (auto _ : state) {
    auto doc = nlohmann::json::parse(body);
    benchmark::DoNotOptimize(doc.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_JsonDomOnly)->Unit(benchmark::kMillisecond);

}  // namespace
