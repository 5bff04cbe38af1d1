#!/usr/bin/python3.11
"""Generate tests/data/stats/reference_cases.json.

Run from anywhere (needs Debian's numpy/scipy, hence /usr/bin/python3.11):

    /usr/bin/python3.11 tests/data/stats/make_reference.py

Steps:
  1. build every case's x/y deterministically (numpy default_rng with a fixed
     per-case seed, values rounded to 6 decimals unless stated otherwise);
  2. write the cases to a temporary inputs JSON and run
     `Rscript make_reference.R <inputs> <r_out>` (wilcox.test, t.test, ks.test);
  3. decode R's hex-float output (bit exact), check that R saw exactly our x/y,
     add scipy results and the exact Hodges-Lehmann estimate, and write the
     final file with one case per line.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "make_reference.R"
OUT_FILE = HERE / "reference_cases.json"

ALTS = ("two-sided", "less", "greater")


# --------------------------------------------------------------------------
# Case construction
# --------------------------------------------------------------------------

def r6(a) -> list[float]:
    """Round to 6 decimals; +0.0 turns -0.0 into 0.0."""
    a = np.round(np.asarray(a, dtype=np.float64), 6) + 0.0
    return [float(v) for v in a]


def sig6(a) -> list[float]:
    """Round to 6 significant digits (for values far below 1e-6)."""
    return [float(f"{float(v):.6g}") + 0.0 for v in np.asarray(a, dtype=np.float64)]


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def zero_inflated_poisson(g: np.random.Generator, n: int, lam: float, p_zero: float = 0.8):
    counts = g.poisson(lam, n).astype(np.float64)
    counts[g.random(n) < p_zero] = 0.0
    return counts


def build_cases() -> list[dict]:
    cases: list[dict] = []

    def add(cid: str, desc: str, x, y, rounding=r6):
        x = rounding(x)
        y = rounding(y)
        assert len(x) >= 1 and len(y) >= 1
        cases.append({"id": f"c{len(cases) + 1:02d}_{cid}", "description": desc, "x": x, "y": y})

    # --- tiny / degenerate -------------------------------------------------
    add("scipy_doc_5v4",
        "scipy.stats.mannwhitneyu doc example (males vs females), 5 vs 4, no ties",
        [19, 22, 16, 29, 24], [20, 11, 17, 12])
    add("n1_vs_n1", "one observation per side, x > y", [1.5], [0.5])
    add("n1_vs_n1_equal", "one observation per side, equal values (x == y)", [2.0], [2.0])
    add("n1_vs_n2", "1 vs 2, x between the y values", [3.2], [1.1, 4.7])
    g = rng(104)
    add("n1_vs_n10", "1 vs 10: x = 2.5 above all 10 standard-normal y values",
        [2.5], g.normal(0.0, 1.0, 10))
    add("n2_vs_n3", "2 vs 3, mixed signs, no ties", [1.2, 3.4], [0.3, -0.8, 2.0])
    add("tiny_ties_6v5", "6 vs 5 small integers with ties within and across samples",
        [1, 2, 2, 3, 3, 3], [2, 2, 3, 4, 5])
    add("tiny_ties_cross_4v4", "4 vs 4, ties only across samples pattern {1,1,2,2} vs {1,2,2,3}",
        [1, 1, 2, 2], [1, 2, 2, 3])
    g = rng(109)
    z = g.normal(10.0, 2.0, 10)
    add("identical_samples_10v10", "x and y are the same 10 values (every value tied across samples)",
        z, z.copy())
    add("all_tied_same_constant_8v8", "all 16 values equal to 5 (zero variance, single tie group)",
        [5.0] * 8, [5.0] * 8)
    add("each_side_constant_different_6v7",
        "x all 3, y all 1: complete separation but zero within-sample variance",
        [3.0] * 6, [1.0] * 7)
    add("all_tied_but_one_5v5", "9 values equal to 1, one y equal to 2",
        [1.0] * 5, [1.0] * 4 + [2.0])

    # --- separation ----------------------------------------------------------
    g = rng(113)
    add("complete_separation_5v5",
        "every x above every y, 5 vs 5 (smallest possible exact p, 2/choose(10,5))",
        np.arange(6, 11) + g.uniform(0, 0.5, 5), np.arange(1, 6) + g.uniform(0, 0.5, 5))
    g = rng(114)
    add("complete_separation_10v10",
        "every x below every y, 10 vs 10 ('less' gets the minimal exact p)",
        g.uniform(0.0, 1.0, 10), g.uniform(2.0, 3.0, 10))

    # --- exact-path sizes with shifts (p from ~0.9 down to ~1e-13) ----------
    g = rng(115)
    add("exact_3v3_null", "3 vs 3 N(0,1), no shift (large p)", g.normal(0, 1, 3), g.normal(0, 1, 3))
    g = rng(116)
    add("exact_4v7_shift", "4 vs 7, x shifted +1 sigma", g.normal(1, 1, 4), g.normal(0, 1, 7))
    g = rng(117)
    add("exact_10v12_shift", "10 vs 12, x shifted -1.2 sigma", g.normal(-1.2, 1, 10), g.normal(0, 1, 12))
    g = rng(118)
    add("exact_20v25_shift", "20 vs 25, x shifted +1.3 sigma", g.normal(1.3, 1, 20), g.normal(0, 1, 25))
    g = rng(119)
    add("exact_30v45_shift", "30 vs 45, x shifted -1.8 sigma", g.normal(-1.8, 1, 30), g.normal(0, 1, 45))
    g = rng(120)
    add("exact_45v49_shift", "45 vs 49, x shifted +2.3 sigma (exact two-sided p ~ 2e-21)",
        g.normal(2.3, 1, 45), g.normal(0, 1, 49))
    g = rng(121)
    add("conf_unachievable_3v3",
        "3 vs 3 complete separation; exact CI cannot reach 0.95/0.98/0.99",
        g.normal(5, 1, 3), g.normal(0, 1, 3))
    g = rng(122)
    add("conf_unachievable_2v4", "2 vs 4, modest shift; exact CI levels not achievable",
        g.normal(0.5, 1, 2), g.normal(0, 1, 4))
    g = rng(123)
    add("ties_exact_requested_12v10",
        "12 vs 10 integers 0..6 (ties): exact requested but R falls back to normal approx",
        g.integers(0, 7, 12), g.integers(1, 8, 10))

    # --- boundary sizes ------------------------------------------------------
    g = rng(124)
    add("unequal_8v30", "8 vs 30, x shifted +0.8 sigma", g.normal(0.8, 1, 8), g.normal(0, 1, 30))
    g = rng(125)
    add("exact_boundary_49v49", "49 vs 49 (largest R auto-exact size), shift +0.5 sigma",
        g.normal(0.5, 1, 49), g.normal(0, 1, 49))
    g = rng(126)
    add("asymptotic_boundary_50v50", "50 vs 50 (R auto switches to normal approx), shift +0.5 sigma",
        g.normal(0.5, 1, 50), g.normal(0, 1, 50))
    g = rng(127)
    add("mixed_boundary_49v60", "49 vs 60 (one side >= 50, asymptotic), shift -0.4 sigma",
        g.normal(-0.4, 1, 49), g.normal(0, 1, 60))
    g = rng(128)
    add("unequal_3v40", "3 vs 40, x shifted +1.5 sigma", g.normal(1.5, 1, 3), g.normal(0, 1, 40))
    g = rng(129)
    add("unequal_5v500", "5 vs 500, x shifted +1 sigma", g.normal(1.0, 1, 5), g.normal(0, 1, 500))
    g = rng(130)
    add("unequal_20v2000", "20 vs 2000, x shifted -0.7 sigma", g.normal(-0.7, 1, 20), g.normal(0, 1, 2000))

    # --- discrete / ties -----------------------------------------------------
    g = rng(131)
    add("zero_inflated_poisson_30v30",
        "counts: Poisson(3) with 80% structural zeros, x lam=4 vs y lam=3",
        zero_inflated_poisson(g, 30, 4.0), zero_inflated_poisson(g, 30, 3.0))
    g = rng(132)
    add("zero_inflated_poisson_100v100",
        "counts: Poisson with 80% zeros, x lam=3 vs y lam=3 (null)",
        zero_inflated_poisson(g, 100, 3.0), zero_inflated_poisson(g, 100, 3.0))
    g = rng(133)
    add("zero_inflated_poisson_1000v1000",
        "counts: Poisson with 80% zeros, x lam=2.5 p0=0.75 vs y lam=2 p0=0.8",
        zero_inflated_poisson(g, 1000, 2.5, 0.75), zero_inflated_poisson(g, 1000, 2.0, 0.8))
    g = rng(134)
    add("poisson_ties_200v200", "Poisson(5) vs Poisson(5.5) integers, heavy ties",
        g.poisson(5.0, 200), g.poisson(5.5, 200))
    g = rng(135)
    add("rounded_0p1_ties_30v30", "N(0,0.3) vs N(0.1,0.3) rounded to 0.1 (many ties)",
        np.round(g.normal(0.0, 0.3, 30), 1), np.round(g.normal(0.1, 0.3, 30), 1))

    # --- strong separation / tiny p ----------------------------------------
    g = rng(136)
    add("shift_3sigma_200v200", "N(3,1) vs N(0,1), 200 vs 200 (two-sided MWU p ~ 1e-63)",
        g.normal(3, 1, 200), g.normal(0, 1, 200))
    g = rng(137)
    add("extreme_separation_1000v1000",
        "N(0,1) vs N(2,1), 1000 vs 1000: asymptotic p ~ 1e-230 (far below 1e-60, above underflow)",
        g.normal(0, 1, 1000), g.normal(2, 1, 1000))
    g = rng(138)
    add("pvalue_underflow_1000v1000",
        "complete separation 1000 vs 1000 (x in [10,11], y in [0,1]): normal-approx p underflows to 0",
        g.uniform(10, 11, 1000), g.uniform(0, 1, 1000))

    # --- realistic / large ---------------------------------------------------
    g = rng(139)
    add("lognormal_latency_shift3pct_5000v5000",
        "latency-like lognormal(log 50ms, 0.5); x (canary) = 1.03 * draw, y (baseline)",
        1.03 * g.lognormal(math.log(50.0), 0.5, 5000), g.lognormal(math.log(50.0), 0.5, 5000))
    g = rng(140)
    add("lognormal_latency_null_5000v5000",
        "latency-like lognormal(log 50ms, 0.5), same distribution both sides",
        g.lognormal(math.log(50.0), 0.5, 5000), g.lognormal(math.log(50.0), 0.5, 5000))
    g = rng(141)
    add("normal_small_shift_1e4v1e4", "N(0.05,1) vs N(0,1), 10000 per side",
        g.normal(0.05, 1, 10000), g.normal(0, 1, 10000))

    # --- sign / scale / tails ------------------------------------------------
    g = rng(142)
    add("negative_values_20v25", "all values negative: -lognormal, x shifted further negative",
        -g.lognormal(1.0, 0.4, 20) - 0.5, -g.lognormal(1.0, 0.4, 25))
    g = rng(143)
    add("mixed_signs_15v18", "N(0.3,1) vs N(-0.2,1), values straddle zero",
        g.normal(0.3, 1, 15), g.normal(-0.2, 1, 18))
    g = rng(144)
    add("cauchy_heavy_tail_100v100", "standard Cauchy + 0.5 vs standard Cauchy (huge outliers)",
        g.standard_cauchy(100) + 0.5, g.standard_cauchy(100))
    g = rng(145)
    add("large_magnitude_1e9_40v40", "1e9 + N(0.5,1) vs 1e9 + N(0,1) (6-decimal rounding at 1e9)",
        1e9 + g.normal(0.5, 1, 40), 1e9 + g.normal(0, 1, 40))
    g = rng(146)
    add("tiny_magnitude_1e-9_40v40",
        "1e-9 * N(0.5,1) vs 1e-9 * N(0,1), rounded to 6 significant digits (not 6 decimals)",
        1e-9 * g.normal(0.5, 1, 40), 1e-9 * g.normal(0, 1, 40), rounding=sig6)
    g = rng(147)
    add("outliers_50v50", "N(0,1) vs N(0.4,1) with 3 huge outliers (1e6) in x",
        np.concatenate([g.normal(0, 1, 47), [1e6, 2e6, -1e6]]), g.normal(0.4, 1, 50))
    g = rng(148)
    add("heavy_ties_exact_size_20v20", "integers 1..4 uniform, 20 vs 20 (auto-exact size, ties force normal)",
        g.integers(1, 5, 20), g.integers(1, 5, 20))
    g = rng(149)
    add("one_side_constant_10v12", "x all 2.0 (zero variance), y ~ N(1,1): Welch df from y only",
        [2.0] * 10, g.normal(1, 1, 12))

    return cases


# --------------------------------------------------------------------------
# Numerics helpers
# --------------------------------------------------------------------------

def from_hex(s):
    """R hex string -> float or None (non-finite / NA)."""
    if s is None:
        return None
    if s in ("NA", "NaN", "Inf", "-Inf"):
        return None
    return float.fromhex(s)


def fin(v):
    v = float(v)
    return v if math.isfinite(v) else None


def hodges_lehmann(x: list[float], y: list[float]) -> float:
    """Median of all n_x*n_y double differences x_i - y_j.

    Matches R's median(outer(x, y, "-")): the differences are IEEE double
    subtractions; for an even count the two middle values a, b are averaged
    as (a + b) / 2 in double, which is the correctly rounded midpoint (halving
    is exact, so round(a+b)/2 == round((a+b)/2)).
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    d = np.subtract.outer(xa, ya).ravel()
    n = d.size
    if n % 2 == 1:
        k = n // 2
        return float(np.partition(d, k)[k])
    k = n // 2
    p = np.partition(d, [k - 1, k])
    a, b = float(p[k - 1]), float(p[k])
    return (a + b) / 2.0


def hodges_lehmann_rational(x: list[float], y: list[float]) -> float:
    """Median of the mathematically exact differences, rounded once (check only)."""
    d = sorted(Fraction(a) - Fraction(b) for a in x for b in y)
    n = len(d)
    m = d[n // 2] if n % 2 else (d[n // 2 - 1] + d[n // 2]) / 2
    return float(m)  # Fraction -> float is correctly rounded


def ks_perm_exact(x: list[float], y: list[float]) -> list[dict]:
    """Exact permutation p-values of the two-sample KS statistics, conditional
    on the observed ties, by lattice-path counting with Python integers.

    Independent check for R's psmirnov(exact = TRUE) and scipy's exact mode.
    D is evaluated only at the ends of tie groups (as R does).  Statistics are
    the exact rationals rounded once to double:
      greater: max(F_x - F_y), less: max(F_y - F_x), two-sided: max |F_x - F_y|.
    """
    nx, ny = len(x), len(y)
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    vals = [v for v, _ in pooled]
    n = nx + ny
    # checkpoint k (number of observations placed) is a tie-group end
    check = [False] * (n + 1)
    for k in range(1, n + 1):
        check[k] = k == n or vals[k] != vals[k - 1]
    # observed scaled statistic s = i*ny - j*nx = nx*ny*(F_x - F_y)
    i = j = 0
    smax, smin = 0, 0
    for k, (_, t) in enumerate(pooled, start=1):
        if t == 0:
            i += 1
        else:
            j += 1
        if check[k]:
            s = i * ny - j * nx
            smax, smin = max(smax, s), min(smin, s)
    obs = {"greater": smax, "less": -smin, "two-sided": max(smax, -smin)}

    def count_inside(ok) -> int:
        # number of paths whose scaled statistic is strictly "inside" at every checkpoint
        row = [0] * (ny + 1)  # row[j] = paths to (i, j)
        for ii in range(nx + 1):
            new = [0] * (ny + 1)
            for jj in range(ny + 1):
                if ii == 0 and jj == 0:
                    c = 1
                else:
                    c = (row[jj] if ii > 0 else 0) + (new[jj - 1] if jj > 0 else 0)
                k = ii + jj
                if k > 0 and check[k] and not ok(ii * ny - jj * nx):
                    c = 0
                new[jj] = c
            row = new
        return row[ny]

    total = math.comb(n, nx)
    out = []
    for alt in ALTS:
        o = obs[alt]
        if alt == "greater":
            inside = count_inside(lambda s: s < o)
        elif alt == "less":
            inside = count_inside(lambda s: -s < o)
        else:
            inside = count_inside(lambda s: abs(s) < o)
        out.append({"alternative": alt,
                    "statistic": float(Fraction(o, nx * ny)),
                    "p_value": float(Fraction(total - inside, total))})
    return out


def scipy_results(x: list[float], y: list[float]) -> dict:
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    nx, ny = xa.size, ya.size
    no_ties = np.unique(np.concatenate([xa, ya])).size == nx + ny

    def call(fn, **kw):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                res = fn(xa, ya, **kw)
                out = {"statistic": fin(res.statistic), "p_value": fin(res.pvalue)}
            except Exception as e:  # noqa: BLE001 - record whatever scipy raises
                out = {"error": f"{type(e).__name__}: {e}"}
        msgs = []
        for m in w:
            s = f"{m.category.__name__}: {m.message}"
            if s not in msgs:
                msgs.append(s)
        out["warnings"] = msgs
        return out

    mwu = []
    for alt in ALTS:
        for cont in (True, False):
            mwu.append({"alternative": alt, "method": "asymptotic", "use_continuity": cont,
                        **call(stats.mannwhitneyu, alternative=alt, method="asymptotic",
                               use_continuity=cont)})
        if nx <= 50 and ny <= 50 and no_ties:
            mwu.append({"alternative": alt, "method": "exact", "use_continuity": False,
                        **call(stats.mannwhitneyu, alternative=alt, method="exact")})
    ks = []
    for alt in ALTS:
        ks.append({"alternative": alt, "method": "asymp",
                   **call(stats.ks_2samp, alternative=alt, method="asymp")})
        if max(nx, ny) <= 10000:
            ks.append({"alternative": alt, "method": "exact",
                       **call(stats.ks_2samp, alternative=alt, method="exact")})
    tt = []
    for alt in ALTS:
        tt.append({"alternative": alt,
                   **call(stats.ttest_ind, equal_var=False, alternative=alt)})
    return {"mannwhitneyu": mwu, "ks_2samp": ks, "ttest_welch": tt}


# --------------------------------------------------------------------------
# R output conversion
# --------------------------------------------------------------------------

NUMERIC_KEYS = ("conf_level", "statistic", "df", "p_value", "achieved_conf_level", "estimate")


def convert_r_entry(e: dict, order: tuple[str, ...], nonfinite: list, where: str) -> dict:
    out = {}
    for k in order:
        if k not in e:
            continue
        v = e[k]
        if k in NUMERIC_KEYS:
            if v in ("NA", "NaN", "Inf", "-Inf"):
                nonfinite.append(f"{where} {k}={v}")
            out[k] = from_hex(v)
        elif k == "conf_int":
            out[k] = [from_hex(s) for s in v]
        elif k == "warnings":
            out[k] = list(v) if v is not None else []
        elif k == "no_conf_int":
            out[k] = convert_r_entry(v, ("statistic", "p_value", "method", "error", "warnings"),
                                     nonfinite, where + " no_conf_int")
        else:
            out[k] = v
    extra = set(e) - set(order) - {"r_method"}
    assert not extra, (where, extra)
    return out


WILCOX_ORDER = ("alternative", "exact", "correct", "conf_level", "statistic", "p_value", "method",
                "conf_int", "achieved_conf_level", "estimate", "error", "warnings", "no_conf_int")
T_ORDER = ("alternative", "conf_level", "statistic", "df", "p_value", "conf_int", "estimate",
           "error", "warnings")
KS_ORDER = ("alternative", "exact", "statistic", "p_value", "method", "error", "warnings")


def consistency_notes(fc: dict, notes: list[str]) -> None:
    """Cross-checks between the stored results; anything odd goes to `notes`."""
    cid = fc["id"]
    for w in fc["wilcox"]:
        if "error" in w:
            continue
        if w["method"] == "exact" and w["estimate"] != fc["hl_exact"]:
            notes.append(f"{cid}: R exact-path estimate {w['estimate']!r} != hl_exact {fc['hl_exact']!r}")
    w_by = {(w["alternative"], w["exact"], w["correct"]): w
            for w in fc["wilcox"] if w["conf_level"] == 0.95}
    for m in fc["scipy"]["mannwhitneyu"]:
        if m["method"] != "asymptotic" or "error" in m:
            continue
        r = w_by[(m["alternative"], False, m["use_continuity"])]
        rr = r.get("no_conf_int", r)
        if rr.get("statistic") != m["statistic"]:
            notes.append(f"{cid}: scipy U {m['statistic']} != R W {rr.get('statistic')}")
        a, b = m["p_value"], rr.get("p_value")
        if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-12 * max(abs(a), abs(b))):
            notes.append(f"{cid}: MWU {m['alternative']} cont={m['use_continuity']}: "
                         f"scipy p={a!r} vs R p={b!r}")
    for kp in fc.get("ks_perm_exact", []):
        for k in fc["ks"]:
            if k["alternative"] != kp["alternative"] or k.get("method") != "exact":
                continue
            a, b = k["p_value"], kp["p_value"]
            if abs(a - b) > 1e-8 * max(a, b):
                notes.append(f"{cid}: R ks exact {k['alternative']} (exact={k['exact']}) "
                             f"p={a!r} vs lattice-count p={b!r}")
        for k in fc["scipy"]["ks_2samp"]:
            if k["alternative"] != kp["alternative"] or k["method"] != "exact" or "error" in k:
                continue
            a, b = k["p_value"], kp["p_value"]
            if a is None or abs(a - b) > 1e-8 * max(a, b):
                notes.append(f"{cid}: scipy ks_2samp exact {k['alternative']} "
                             f"p={a!r} vs lattice-count p={b!r} {k['warnings']}")


def main() -> int:
    t_start = time.time()
    cases = build_cases()
    ids = [c["id"] for c in cases]
    assert len(set(ids)) == len(ids)

    with tempfile.TemporaryDirectory(prefix="augur_stats_ref_") as td:
        inp = Path(td) / "inputs.json"
        rout = Path(td) / "r_out.json"
        inp.write_text(json.dumps({"cases": cases}, allow_nan=False))
        t0 = time.time()
        subprocess.run(["Rscript", str(R_SCRIPT), str(inp), str(rout)], check=True)
        t_r = time.time() - t0
        r = json.loads(rout.read_text())

    assert len(r["cases"]) == len(cases)
    nonfinite: list[str] = []
    notes: list[str] = []
    final_cases = []
    t_py = 0.0
    for c, rc in zip(cases, r["cases"]):
        assert rc["id"] == c["id"]
        # R must have seen exactly our doubles (bit-for-bit).
        rx = [float.fromhex(s) for s in rc["x_hex"]]
        ry = [float.fromhex(s) for s in rc["y_hex"]]
        assert rx == c["x"] and ry == c["y"], c["id"]
        assert all(math.copysign(1, v) > 0 or v != 0 for v in rx + ry)

        t1 = time.time()
        hl = hodges_lehmann(c["x"], c["y"])
        if rc["hl_r"] is not None:
            hl_r = float.fromhex(rc["hl_r"])
            if hl_r != hl:
                notes.append(f"{c['id']}: R median(outer) {hl_r!r} != numpy HL {hl!r}")
        if len(c["x"]) * len(c["y"]) <= 200_000:
            hq = hodges_lehmann_rational(c["x"], c["y"])
            if hq != hl:
                notes.append(f"{c['id']}: HL of exact rational diffs {hq!r} != HL of double diffs {hl!r}")
        sp = scipy_results(c["x"], c["y"])
        ksp = ks_perm_exact(c["x"], c["y"]) if len(c["x"]) * len(c["y"]) < 10000 else None
        t_py += time.time() - t1

        fc = {
            "id": c["id"],
            "description": c["description"],
            "x": c["x"],
            "y": c["y"],
            "hl_exact": hl,
            "wilcox": [convert_r_entry(e, WILCOX_ORDER, nonfinite, f"{c['id']} wilcox[{i}]")
                       for i, e in enumerate(rc["wilcox"])],
            "t_test": [convert_r_entry(e, T_ORDER, nonfinite, f"{c['id']} t_test[{i}]")
                       for i, e in enumerate(rc["t_test"])],
            "ks": [convert_r_entry(e, KS_ORDER, nonfinite, f"{c['id']} ks[{i}]")
                   for i, e in enumerate(rc["ks"])],
            "scipy": sp,
        }
        if ksp is not None:
            fc["ks_perm_exact"] = ksp
        final_cases.append(fc)
        consistency_notes(fc, notes)

    header = {
        "generator": "tests/data/stats/make_reference.py + make_reference.R "
                     f"(numpy {np.__version__}, jsonlite {r['jsonlite_version']})",
        "r_version": r["r_version"],
        "scipy_version": scipy.__version__,
    }
    head = json.dumps(header, separators=(",", ":"), allow_nan=False)
    assert head.endswith("}")
    lines = [head[:-1] + ',"cases":[']
    for i, fc in enumerate(final_cases):
        s = json.dumps(fc, separators=(",", ":"), allow_nan=False)
        lines.append(s + ("," if i + 1 < len(final_cases) else ""))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    OUT_FILE.write_text(text)

    # Read back and check every number survived bit-exactly.
    back = json.loads(OUT_FILE.read_text())
    assert back["cases"] == final_cases

    total = time.time() - t_start
    print(f"wrote {OUT_FILE} : {len(final_cases)} cases, {len(text)} bytes", file=sys.stderr)
    print(f"time: total {total:.1f}s, R {t_r:.1f}s, numpy/scipy {t_py:.1f}s", file=sys.stderr)
    for n in notes:
        print("note:", n, file=sys.stderr)
    for n in nonfinite:
        print("non-finite R value (written as null):", n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
