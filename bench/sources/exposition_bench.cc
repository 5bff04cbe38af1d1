// Throughput of ParseExposition on a ~10 MB page shaped like a large HAProxy/ingress scrape:
// many counter and gauge families keyed by proxy/server/code, and latency histograms with 10
// buckets. The page is generated deterministically so runs are comparable.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "augur/sources/exposition.h"

namespace {

using augur::sources::ExpositionFormat;

std::string MakePage(ExpositionFormat format, size_t target_bytes) {
  const bool om = format == ExpositionFormat::kOpenMetrics;
  std::string page;
  page.reserve(target_bytes + (1 << 16));
  uint64_t x = 0x9E3779B97F4A7C15ull;  // fixed seed: deterministic page
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  static const char* kCodes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  static const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1",
                              "0.25",  "0.5",  "1",     "2.5",  "+Inf"};
  char buf[512];
  for (int fam = 0; page.size() < target_bytes; ++fam) {
    if (fam % 3 == 2) {
      // A histogram family.
      std::snprintf(buf, sizeof buf,
                    "# HELP augur_bench_request_duration_seconds_%d Request latency.\n"
                    "# TYPE augur_bench_request_duration_seconds_%d histogram\n",
                    fam, fam);
      page += buf;
      for (int proxy = 0; proxy < 4; ++proxy) {
        for (int server = 0; server < 8; ++server) {
          uint64_t cum = 0;
          for (const char* le : kLe) {
            cum += next() % 1000;
            std::snprintf(buf, sizeof buf,
                          "augur_bench_request_duration_seconds_%d_bucket{proxy=\"be_app_%d\","
                          "server=\"srv-%d\",le=\"%s\"} %llu\n",
                          fam, proxy, server, le, static_cast<unsigned long long>(cum));
            page += buf;
          }
          std::snprintf(buf, sizeof buf,
                        "augur_bench_request_duration_seconds_%d_sum{proxy=\"be_app_%d\","
                        "server=\"srv-%d\"} %.6f\n"
                        "augur_bench_request_duration_seconds_%d_count{proxy=\"be_app_%d\","
                        "server=\"srv-%d\"} %llu\n",
                        fam, proxy, server, static_cast<double>(next() % 100000) / 997.0, fam,
                        proxy, server, static_cast<unsigned long long>(cum));
          page += buf;
        }
      }
    } else if (fam % 3 == 1) {
      // A counter family with a code label, like haproxy_server_http_responses_total.
      std::snprintf(buf, sizeof buf,
                    "# HELP haproxy_server_bench_responses_%d Total number of HTTP responses.\n"
                    "# TYPE haproxy_server_bench_responses_%d counter\n",
                    fam, fam);
      page += buf;
      for (int proxy = 0; proxy < 4; ++proxy) {
        for (int server = 0; server < 8; ++server) {
          for (const char* code : kCodes) {
            std::snprintf(
                buf, sizeof buf,
                "haproxy_server_bench_responses_%d%s{proxy=\"be_app_%d\",server=\"srv-%d\","
                "code=\"%s\"} %llu\n",
                fam, om ? "_total" : "", proxy, server, code,
                static_cast<unsigned long long>(next() % 10000000));
            page += buf;
          }
        }
      }
    } else {
      // A gauge family with scientific values and timestamps.
      std::snprintf(buf, sizeof buf,
                    "# HELP haproxy_server_bench_time_average_seconds_%d Avg. time.\n"
                    "# TYPE haproxy_server_bench_time_average_seconds_%d gauge\n",
                    fam, fam);
      page += buf;
      for (int proxy = 0; proxy < 4; ++proxy) {
        for (int server = 0; server < 8; ++server) {
          double v = static_cast<double>(next() % 1000000) * 1e-9;
          if (om) {
            std::snprintf(buf, sizeof buf,
                          "haproxy_server_bench_time_average_seconds_%d{proxy=\"be_app_%d\","
                          "server=\"srv-%d\"} %.6e 1700000000.%03d\n",
                          fam, proxy, server, v, static_cast<int>(next() % 1000));
          } else {
            std::snprintf(buf, sizeof buf,
                          "haproxy_server_bench_time_average_seconds_%d{proxy=\"be_app_%d\","
                          "server=\"srv-%d\"} %.6e 1700000000%03d\n",
                          fam, proxy, server, v, static_cast<int>(next() % 1000));
          }
          page += buf;
        }
      }
    }
  }
  if (om) page += "# EOF\n";
  return page;
}

void BM_ParseExposition(benchmark::State& state, ExpositionFormat format) {
  const std::string page = MakePage(format, 10u << 20);
  size_t samples = 0;
  for (auto _ : state) {
    auto r = augur::sources::ParseExposition(page, format);
    if (!r.has_value()) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    samples = 0;
    for (const auto& f : *r) samples += f.samples.size();
    benchmark::DoNotOptimize(samples);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(page.size()));
  state.counters["page_MB"] = static_cast<double>(page.size()) / 1e6;
  state.counters["samples"] = static_cast<double>(samples);
}

BENCHMARK_CAPTURE(BM_ParseExposition, text004, ExpositionFormat::kText004)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ParseExposition, openmetrics, ExpositionFormat::kOpenMetrics)
    ->Unit(benchmark::kMillisecond);

}  // namespace
