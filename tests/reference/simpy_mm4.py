#!/usr/bin/env python3
"""M/M/4 in SimPy (a `Resource` with 4 slots): the speed yardstick of wfsim's load model.

lambda 3.2/s, mu 1/s, c 4 (rho 0.8): Erlang C gives P(wait) = 0.5964 and Wq = 0.7455 s. The
script simulates R replications of DURATION seconds, measures waits for a slot granted inside
[WARMUP, DURATION] (as wfsim does: src/engine/load.rs), checks P(wait) and Wq against Erlang C
within 4 standard errors of the replication means, and times its simulation loop: customers
(arrivals, warm-up included) per second of wall time and of CPU time, one core.

The same case as a wfsim scenario is tests/reference/mm4.yaml (tests/reference.sh runs both).

    python3 tests/reference/simpy_mm4.py [--reps 8] [--duration 3000] [--warmup 200] [--json]

Exit 1 if P(wait) or Wq disagrees with Erlang C beyond tolerance.
"""

import argparse
import json
import math
import random
import sys
import time

import simpy

LAMBDA = 3.2
MU = 1.0
C = 4


def erlang_c(lam, mu, c):
    """P(wait) and the mean wait Wq of M/M/c."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1.0 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait, p_wait / (c * mu - lam)


def replication(seed, duration, warmup):
    """One replication: (customers arrived, grants in the window, grants that waited, sum of their waits)."""
    rng = random.Random(seed)
    expo = rng.expovariate
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=C)
    st = [0, 0, 0, 0.0]  # arrived, grants, waited, wait sum

    def customer(arrive):
        with server.request() as req:
            yield req
            now = env.now
            if warmup <= now <= duration:
                w = now - arrive
                st[1] += 1
                if w > 1e-12:
                    st[2] += 1
                    st[3] += w
            yield env.timeout(expo(MU))

    def source():
        while True:
            st[0] += 1
            env.process(customer(env.now))
            yield env.timeout(expo(LAMBDA))

    env.process(source())
    env.run(until=duration)
    return st


def mean_se(v):
    n = len(v)
    m = sum(v) / n
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1) / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--duration", type=float, default=3000.0)
    ap.add_argument("--warmup", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = ap.parse_args()

    t0, c0 = time.perf_counter(), time.process_time()
    reps = [replication(a.seed + i, a.duration, a.warmup) for i in range(a.reps)]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    customers = sum(r[0] for r in reps)
    pw = [r[2] / r[1] for r in reps]
    wq = [r[3] / r[1] for r in reps]
    (pm, pse), (wm, wse) = mean_se(pw), mean_se(wq)
    p_th, w_th = erlang_c(LAMBDA, MU, C)
    ok_p = abs(pm - p_th) <= 4 * pse
    ok_w = abs(wm - w_th) <= 4 * wse
    res = {
        "reps": a.reps,
        "duration_s": a.duration,
        "warmup_s": a.warmup,
        "customers": customers,
        "wall_s": wall,
        "customers_per_s": customers / wall,
        "cpu_s": cpu,
        "customers_per_cpu_s": customers / cpu,
        "p_wait": {"mean": pm, "se": pse, "erlang_c": p_th, "ok": ok_p},
        "wq_s": {"mean": wm, "se": wse, "erlang_c": w_th, "ok": ok_w},
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"SimPy M/M/{C} (lambda {LAMBDA}/s, mu {MU}/s): {a.reps} x {a.duration:.0f} s (warm-up {a.warmup:.0f} s)")
        print(f"  P(wait) {pm:.4f} ± {1.96 * pse:.4f}  (Erlang C {p_th:.4f})  {'ok' if ok_p else 'DISAGREE'}")
        print(f"  Wq      {wm:.4f} ± {1.96 * wse:.4f} s (Erlang C {w_th:.4f} s)  {'ok' if ok_w else 'DISAGREE'}")
        print(f"  {customers} customers in {wall:.2f} s wall ({cpu:.2f} s CPU): {customers / wall:,.0f} customers/s "
              f"({customers / cpu:,.0f} per CPU second)")
    return 0 if ok_p and ok_w else 1


if __name__ == "__main__":
    sys.exit(main())
