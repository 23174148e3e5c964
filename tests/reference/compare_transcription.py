#!/usr/bin/env python3
"""wfsim's statistics of a transcription scenario against the SimPy reference's.

    compare_transcription.py WFSIM_JSON SIMPY_JSON [--label TEXT]

WFSIM_JSON is `wfsim run FILE --runs N --format json`; SIMPY_JSON is
`benches/reference/transcription_parallel.py --scenario FILE --runs M --json` on the same
file. Both sides sample the same distribution if wfsim is right, so each statistic's
tolerance comes from the SimPy sample (its per-run values), 4 standard errors of the
difference:
  - means (duration, cost, success, task runs and attempts per workflow run):
    4 sd sqrt(1/N + 1/M), with sd the SimPy runs' standard deviation. A count SimPy never
    saw vary (sd 0) gets the sd of one event in M runs, sqrt((1/M)(1 - 1/M)), so a rare
    event on wfsim's side alone is not a disagreement;
  - quantiles: the number of sample values below the true q-quantile is Binomial(M, q), so
    the SimPy sample bounds it between its order statistics M q -/+ 4 sqrt(M q (1 - q));
    the half-width h on the side of the difference is 4 standard errors of the SimPy
    quantile, and wfsim's own error is sqrt(M / N) times that, so the tolerance is
    h sqrt(1 + M / N).
The duration and cost means must be measured closely enough that a 5% error lies beyond the
tolerance (else the run counts are too small: a failure too). Exit 1 on any failure.
"""

import argparse
import json
import math
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wfsim")
    ap.add_argument("simpy")
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    w = json.load(open(a.wfsim))
    s = json.load(open(a.simpy))
    n, m = w["runs"], s["runs"]
    scale = math.sqrt(1.0 / n + 1.0 / m)
    floor = math.sqrt((1.0 / m) * (1.0 - 1.0 / m))
    rows = []  # (name, wfsim, simpy, tolerance, format)
    problems = []

    def mean_row(name, wv, sv, sd, fmt, sharp=False, count=False):
        tol = 4.0 * (max(sd, floor) if count else sd) * scale
        rows.append((name, wv, sv, tol, fmt))
        if sharp and tol >= 0.05 * abs(sv):
            problems.append(f"a 5% error in the {name} would be within its tolerance {tol:.4g}: too few runs")

    def quantile_row(name, wv, sv, lo, hi, fmt):
        h = (hi - sv) if wv >= sv else (sv - lo)
        rows.append((name, wv, sv, h * math.sqrt(1.0 + m / n), fmt))

    wd = w["duration_s"]
    quantile_row("duration p50 (s)", wd["p50"], s["duration_p50"], s["duration_p50_lo4"], s["duration_p50_hi4"], "{:.2f}")
    quantile_row("duration p95 (s)", wd["p95"], s["duration_p95"], s["duration_p95_lo4"], s["duration_p95_hi4"], "{:.2f}")
    mean_row("duration mean (s)", wd["mean"], s["duration_mean"], s["duration_sd"], "{:.2f}", sharp=True)
    mean_row("cost mean (USD)", w["cost_usd"]["mean"], s["cost_mean"], s["cost_sd"], "{:.6f}", sharp=True)
    mean_row("success rate", w["success_rate"], s["success_rate"], s["success_sd"], "{:.5f}", count=True)
    for name, t in s["tasks"].items():
        wt = w["tasks"].get(name)
        if wt is None:
            problems.append(f"task {name} is missing in wfsim's JSON")
            continue
        mean_row(f"{name} runs/workflow", wt["runs"] / n, t["runs_per_workflow"], t["runs_sd"], "{:.4f}", count=True)
        mean_row(f"{name} attempts/workflow", wt["attempts"] / n, t["attempts_per_workflow"], t["attempts_sd"], "{:.4f}", count=True)

    print(f"{a.label or w['scenario']}: wfsim {n} runs, SimPy {m} runs")
    print(f"  {'statistic':34}{'wfsim':>13}{'SimPy':>13}{'difference':>13}{'tolerance':>12}  verdict")
    bad = 0
    for name, wv, sv, tol, fmt in rows:
        ok = abs(wv - sv) <= tol
        bad += not ok
        f = fmt.format
        print(f"  {name:34}{f(wv):>13}{f(sv):>13}{f(wv - sv):>13}{f(tol):>12}  {'ok' if ok else 'DISAGREE'}")
    for p in problems:
        print(f"  FAIL: {p}")
    print("  (tolerance: 4 standard errors of the difference, from the SimPy runs)")
    return 1 if bad or problems else 0


if __name__ == "__main__":
    sys.exit(main())
