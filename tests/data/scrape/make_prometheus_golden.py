#!/usr/bin/env python3
"""Builds the Prometheus reference values that tests/sources/scrape_test.cc checks Augur's
range functions against (rate, increase, histogram_quantile, sums and ratios).

1. Writes prometheus_golden_input.om: deterministic OpenMetrics samples with explicit
   timestamps (counters with resets, jitter, gaps, a late-born series; histograms with
   non-monotonic buckets, duplicate bounds, no +Inf bucket, negative bounds; HAProxy-,
   ingress-nginx- and Envoy-shaped families).
2. Backfills it with `promtool tsdb create-blocks-from openmetrics` into a temporary TSDB,
   starts the real Prometheus on 127.0.0.1 (free port) on that TSDB and runs every case below
   through /api/v1/query_range.
3. Writes prometheus_golden.txt:
     case NAME START_MS END_MS STEP_MS PROMQL
     LABELS T_MS VALUE        (LABELS = k=v,k=v sorted, or - for none; VALUE as Prometheus prints)

Needs prometheus and promtool (Debian 12: 2.42.0). Run from anywhere; writes next to itself.
"""
import json, os, random, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1700000000  # seconds
rng = random.Random(20261122)
lines = []


def fmt_ts(ms):
    return f"{ms // 1000}.{ms % 1000:03d}"


def lab(d):
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}" if d else ""


def counter_family(name, series, suffix="_total"):
    """series: list of (labels, [(t_ms, value)]). Exporters whose counters lack the _total
    suffix (ingress-nginx, Envoy) cannot be OpenMetrics counters: those go in as unknown."""
    lines.append(f"# TYPE {name} {'counter' if suffix else 'unknown'}")
    for labels, pts in series:
        for t, v in pts:
            lines.append(f"{name}{suffix}{lab(labels)} {v} {fmt_ts(t)}")


def histogram_family(name, series):
    """series: list of (labels, [(t_ms, [(le_text, count)], sum or None)])"""
    lines.append(f"# TYPE {name} histogram")
    for labels, pts in series:
        for t, buckets, total in pts:
            for le, c in buckets:
                lines.append(f"{name}_bucket{lab({**labels, 'le': le})} {c} {fmt_ts(t)}")
            if total is not None:
                lines.append(f"{name}_sum{lab(labels)} {total} {fmt_ts(t)}")
                lines.append(f"{name}_count{lab(labels)} {buckets[-1][1]} {fmt_ts(t)}")


# --- counters -------------------------------------------------------------------------------
def walk(times, start, lo, hi, resets=()):
    v, out = start, []
    for i, t in enumerate(times):
        if i in resets:
            v = rng.randint(0, 5)
        elif i > 0:
            v += rng.randint(lo, hi)
        out.append((t, v))
    return out

regular = [T0 * 1000 + 5000 * k for k in range(61)]
jitter = [T0 * 1000 + 5000 * k + rng.randint(-1500, 1500) for k in range(1, 61)]
sparse = [T0 * 1000 + 15000 * k for k in range(21) if not (4 <= k <= 8)]
young = [T0 * 1000 + 200000 + 5000 * k for k in range(21)]
counter_family("aug_requests", [
    ({"series": "regular"}, walk(regular, 1000, 0, 20)),
    ({"series": "jitter"}, walk(jitter, 400, 1, 30, resets=(30, 45))),
    ({"series": "sparse"}, walk(sparse, 3, 10, 10)),
    ({"series": "young"}, walk(young, 50, 0, 8)),
])

# --- histograms -------------------------------------------------------------------------------
BOUNDS = ["0.05", "0.1", "0.25", "0.5", "1", "+Inf"]


def hist_walk(times, bounds, weights, with_sum=True, mess=None):
    """Cumulative buckets from per-bucket increments drawn with `weights`."""
    per = [0] * len(bounds)
    total = 0.0
    out = []
    for i, t in enumerate(times):
        if i > 0:
            for _ in range(rng.randint(0, 40)):
                j = rng.choices(range(len(bounds)), weights)[0]
                per[j] += 1
                total += rng.uniform(0.0, 1.5)
        cum, acc = [], 0
        for b, c in zip(bounds, per):
            acc += c
            cum.append([b, acc])
        if mess:
            mess(i, cum)
        out.append((t, cum, round(total, 6) if with_sum else None))
    return out


def nonmono(i, cum):
    # A bucket lower than its predecessor now and then (what a racy exporter produces).
    if i % 7 == 3:
        cum[2][1] = max(0, cum[1][1] - 5)


h_times = [T0 * 1000 + 5000 * k for k in range(61)]
histogram_family("aug_latency_seconds", [
    ({"series": "a"}, hist_walk(h_times, BOUNDS, [5, 20, 40, 20, 10, 5])),
    ({"series": "nonmono"}, hist_walk(h_times, BOUNDS, [5, 5, 30, 30, 20, 10], mess=nonmono)),
    ({"series": "dup"}, hist_walk(h_times, ["0.1", "0.5", "1", "1.0", "+Inf"], [10, 30, 30, 20, 10])),
    ({"series": "noinf"}, hist_walk(h_times, ["0.1", "0.5", "1"], [30, 40, 30], with_sum=False)),
    ({"series": "neg"}, hist_walk(h_times, ["-1", "0", "1", "+Inf"], [40, 10, 30, 20], with_sum=False)),
    ({"series": "sparse"}, hist_walk(h_times[::3], BOUNDS, [1, 1, 1, 1, 1, 1], with_sum=False)),
])

# --- HAProxy 2.6-shaped responses: canary at weight 0 (flat) until T0+100 s -------------------
CODES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]
hap = []
for server, err in (("primary", 0.0), ("canary", 0.05)):
    times = [T0 * 1000 + 5000 * k + rng.randint(-200, 200) for k in range(1, 61)]
    counts = {c: 0 for c in CODES}
    series = {c: [] for c in CODES}
    for t in times:
        if server == "primary" or t > (T0 + 100) * 1000:
            for _ in range(rng.randint(20, 60)):
                r = rng.random()
                c = "5xx" if r < err else ("4xx" if r < err + 0.01 else "2xx")
                counts[c] += 1
        for c in CODES:
            series[c].append((t, counts[c]))
    for c in CODES:
        hap.append(({"proxy": "be_app", "server": server, "code": c}, series[c]))
counter_family("haproxy_server_http_responses", hap)

# --- ingress-nginx: the 503 series is born at T0+150 s ---------------------------------------
n_times = [T0 * 1000 + 5000 * k + 250 for k in range(61)]
ok_pts, err_pts = [], []
ok = err = 0
for t in n_times:
    ok += rng.randint(30, 50)
    ok_pts.append((t, ok))
    if t > (T0 + 150) * 1000:
        err += rng.randint(0, 3)
        err_pts.append((t, err))
counter_family("nginx_ingress_controller_requests", [
    ({"ingress": "app", "status": "200"}, ok_pts),
    ({"ingress": "app", "status": "503"}, err_pts),
], suffix="")
N_BOUNDS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
histogram_family("nginx_ingress_controller_request_duration_seconds", [
    ({"ingress": "app", "status": "200"}, hist_walk(n_times, N_BOUNDS, [1, 5, 20, 30, 20, 10, 5, 3, 2, 1, 1, 1])),
    ({"ingress": "app", "status": "503"}, hist_walk(n_times, N_BOUNDS, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1])),
])

# --- Envoy: status classes and rq_time in milliseconds ---------------------------------------
e_times = [T0 * 1000 + 5000 * k + 700 for k in range(61)]
two = five = 0
e2, e5 = [], []
for t in e_times:
    two += rng.randint(10, 30)
    five += rng.randint(0, 2)
    e2.append((t, two))
    e5.append((t, five))
counter_family("envoy_cluster_upstream_rq_xx", [
    ({"envoy_cluster_name": "canary", "envoy_response_code_class": "2"}, e2),
    ({"envoy_cluster_name": "canary", "envoy_response_code_class": "5"}, e5),
], suffix="")
E_BOUNDS = ["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
            "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf"]
histogram_family("envoy_cluster_upstream_rq_time", [
    ({"envoy_cluster_name": "canary"}, hist_walk(e_times, E_BOUNDS, [0, 1, 5, 10, 20, 30, 20, 10, 5, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])),
])
lines.append("# EOF")

# --- cases ------------------------------------------------------------------------------------
GRIDS = {"A": (T0 * 1000 + 10000, T0 * 1000 + 320000, 7000),   # off the sample grid
         "B": (T0 * 1000, T0 * 1000 + 300000, 5000)}          # on it: window edges hit samples
HB = "aug_latency_seconds_bucket"
CASES = [
    ("increase30", "increase(aug_requests_total[30s])"),
    ("rate30", "rate(aug_requests_total[30s])"),
    ("increase61", "increase(aug_requests_total[61s])"),
    ("rate120", "rate(aug_requests_total[2m])"),
    ("hq0", f"histogram_quantile(0, rate({HB}[30s]))"),
    ("hq25", f"histogram_quantile(0.25, rate({HB}[30s]))"),
    ("hq50", f"histogram_quantile(0.5, rate({HB}[30s]))"),
    ("hq90", f"histogram_quantile(0.9, rate({HB}[30s]))"),
    ("hq99", f"histogram_quantile(0.99, rate({HB}[30s]))"),
    ("hq100", f"histogram_quantile(1, rate({HB}[30s]))"),
    ("hqneg", f"histogram_quantile(-0.5, rate({HB}[30s]))"),
    ("hqbig", f"histogram_quantile(1.5, rate({HB}[30s]))"),
    ("hqsum", f'histogram_quantile(0.9, sum by (le) (rate({HB}{{series=~"a|nonmono"}}[30s])))'),
    ("mean", "rate(aug_latency_seconds_sum[30s]) / rate(aug_latency_seconds_count[30s])"),
    ("haproxy_error_rate",
     'sum by (server) (rate(haproxy_server_http_responses_total{proxy="be_app",code="5xx"}[20s]))'
     ' / sum by (server) (rate(haproxy_server_http_responses_total{proxy="be_app"}[20s]))'),
    ("haproxy_success_rate",
     'sum by (server) (rate(haproxy_server_http_responses_total{proxy="be_app",code!="5xx"}[20s]))'
     ' / sum by (server) (rate(haproxy_server_http_responses_total{proxy="be_app"}[20s]))'),
    ("haproxy_request_rate",
     'sum by (server) (rate(haproxy_server_http_responses_total{proxy="be_app"}[20s]))'),
    # `or ... * 0`: an absent error series counts 0 (Augur's ScrapeQuery does the same).
    ("nginx_error_rate",
     '(sum(rate(nginx_ingress_controller_requests{ingress="app",status=~"5.."}[30s]))'
     ' or sum(rate(nginx_ingress_controller_requests{ingress="app"}[30s])) * 0)'
     ' / sum(rate(nginx_ingress_controller_requests{ingress="app"}[30s]))'),
    ("nginx_p99",
     'histogram_quantile(0.99, sum by (le) (rate('
     'nginx_ingress_controller_request_duration_seconds_bucket{ingress="app"}[30s])))'),
    ("nginx_mean",
     'sum(rate(nginx_ingress_controller_request_duration_seconds_sum{ingress="app"}[30s]))'
     ' / sum(rate(nginx_ingress_controller_request_duration_seconds_count{ingress="app"}[30s]))'),
    ("envoy_error_rate",
     'sum(rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name="canary",envoy_response_code_class="5"}[30s]))'
     ' / sum(rate(envoy_cluster_upstream_rq_xx{envoy_cluster_name="canary"}[30s]))'),
    ("envoy_p99",
     'histogram_quantile(0.99, sum by (le) (rate('
     'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="canary"}[30s]))) / 1000'),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    om = os.path.join(HERE, "prometheus_golden_input.om")
    with open(om, "w") as f:
        f.write("\n".join(lines) + "\n")
    work = tempfile.mkdtemp(prefix="augur-golden-")
    proc = None
    try:
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", om,
                        os.path.join(work, "data")], check=True)
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        port = free_port()
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={os.path.join(work, 'data')}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1).read()
                break
            except Exception:
                time.sleep(0.05)
        version = json.load(urllib.request.urlopen(base + "/api/v1/status/buildinfo"))["data"]["version"]
        out = [f"# Prometheus {version} query_range answers over prometheus_golden_input.om;"
               " made by make_prometheus_golden.py"]
        for grid_name, (start, end, step) in GRIDS.items():
            for name, expr in CASES:
                q = urllib.parse.urlencode({"query": expr, "start": start / 1000, "end": end / 1000,
                                            "step": step / 1000})
                doc = json.load(urllib.request.urlopen(base + "/api/v1/query_range?" + q))
                assert doc["status"] == "success", doc
                out.append(f"case {name}_{grid_name} {start} {end} {step} {expr}")
                for s in sorted(doc["data"]["result"], key=lambda r: sorted(r["metric"].items())):
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items())) or "-"
                    for t, v in s["values"]:
                        out.append(f"{labels} {round(float(t) * 1000)} {v}")
        with open(os.path.join(HERE, "prometheus_golden.txt"), "w") as f:
            f.write("\n".join(out) + "\n")
        print(f"{len(CASES) * len(GRIDS)} cases, {len(out)} lines, Prometheus {version}")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
