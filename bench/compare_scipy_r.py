#!/usr/bin/python3.11
"""Times Augur, scipy 1.10 and R 4.2 on the same data in one run and prints the ratios.

    deploy/install-deps.sh --reference        # R, scipy (once)
    cmake --build build --target augur_stats_bench
    /usr/bin/python3.11 bench/compare_scipy_r.py [--sizes 1000,100000,1000000] [--r-ci-max 1000000]

For each n (values per side) it writes lognormal latency-like samples to a float64 file,
then times on that file:
  - scipy.stats.mannwhitneyu(x, y, method="asymptotic")       (p-value)
  - R wilcox.test(x, y, conf.int = TRUE)                        (p-value + HL estimate + CI)
  - Augur: augur_stats_bench reading the same file (BM_MannWhitneyPValue and
    BM_MannWhitneyWithHodgesLehmannCi)
Wall-clock minimum over repeats; R's conf.int at 1e6 takes minutes, so it runs once.
Debian's scipy is visible to /usr/bin/python3.11, not to a pyenv python3.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make(n, prefix):
    rng = np.random.default_rng(20261122 + n)
    x = np.round(rng.lognormal(3.02, 0.4, n), 6)
    y = np.round(rng.lognormal(3.00, 0.4, n), 6)
    np.concatenate([x, y]).astype("<f8").tofile(f"{prefix}.{n}.f64")
    return x, y


def time_scipy(x, y, repeats):
    best, res = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        res = stats.mannwhitneyu(x, y, method="asymptotic")
        best = min(best, time.perf_counter() - t)
    return best, float(res.pvalue)


def time_r(prefix, n, repeats):
    script = f"""
    v <- readBin("{prefix}.{n}.f64", "double", n = {2 * n}, size = 8, endian = "little")
    x <- v[1:{n}]; y <- v[{n + 1}:{2 * n}]
    best <- Inf
    for (i in seq_len({repeats})) {{
      t <- system.time(w <- wilcox.test(x, y, conf.int = TRUE))[["elapsed"]]
      best <- min(best, t)
    }}
    cat(sprintf("%.6f %.17g %.17g %.17g %.17g\\n", best, w$p.value, w$estimate, w$conf.int[1], w$conf.int[2]))
    """
    out = subprocess.run(["Rscript", "-e", script], check=True, capture_output=True, text=True).stdout
    t, p, est, lo, hi = map(float, out.split())
    return t, p, est, lo, hi


def time_augur(bench, prefix, sizes):
    env = dict(os.environ, AUGUR_BENCH_DATA=prefix)
    filt = "BM_MannWhitney(PValue|WithHodgesLehmannCi)/(" + "|".join(map(str, sizes)) + ")$"
    out = subprocess.run([bench, f"--benchmark_filter={filt}", "--benchmark_format=json",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         env=env, check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, n = b["run_name"].split("/")
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        res[(name, int(n))] = b["real_time"] * unit
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--r-ci-max", type=int, default=1000000, help="largest n for R's conf.int (slow)")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench", "augur_stats_bench"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.mkdtemp(prefix="augur_bench_")
    prefix = os.path.join(tmp, "data")
    data = {n: make(n, prefix) for n in sizes}
    augur = time_augur(args.bench, prefix, sizes)
    print(f"{'n/side':>9} | {'scipy MWU p':>12} {'Augur MWU p':>12} {'ratio':>7} | "
          f"{'R conf.int':>11} {'Augur HL+CI':>12} {'ratio':>8} | p scipy vs R")
    for n in sizes:
        x, y = data[n]
        ts, ps = time_scipy(x, y, 3 if n < 1000000 else 2)
        ta = augur[("BM_MannWhitneyPValue", n)]
        tci = augur[("BM_MannWhitneyWithHodgesLehmannCi", n)]
        if n <= args.r_ci_max:
            tr, pr, *_ = time_r(prefix, n, 3 if n <= 1000 else 1)
            r_cols = f"{tr:>10.3f}s {tci:>11.4f}s {tr / tci:>7.0f}x"
            agree = f"{abs(ps - pr) / max(pr, 1e-300):.1e}"
        else:
            r_cols, agree = f"{'skipped':>11} {tci:>11.4f}s {'':>8}", "-"
        print(f"{n:>9} | {ts:>11.4f}s {ta:>11.4f}s {ts / ta:>6.0f}x | {r_cols} | {agree}", flush=True)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
