#!/usr/bin/env python3
"""A token bucket under Poisson arrivals and a burst, simulated independently of wfsim.

The case of `a_poisson_load_at_half_the_limit_is_refused_only_in_bursts` in tests/services.rs:
a service limited to 60 calls a minute (a bucket of 60 calls, refilled at 1 call a second, full
at time 0); workflow runs arrive by a Poisson process at 30 a minute for an hour, plus a burst
of 100 runs at 30 minutes; each run makes one call the instant it arrives (no start latency,
no queueing), and a refused call is not retried. Counted: calls refused (429) among the runs
arriving in the measured window [10 min, 60 min], per replication.

The bucket here is written from its definition (level += elapsed * rate, capped; a call takes
one token if one is there), with numpy's generator for the arrivals: nothing is shared with
wfsim but the parameters. Prints the mean 429s per replication and its standard error, with
and without the burst, and checks that without the burst no call is refused: at half the limit
the bucket holds about 59.5 tokens on average, and emptying it takes 60 calls within a minute
more than the refill brings.

    python3 tests/reference/service_bucket.py [--reps 4000] [--seed 1]
"""

import argparse

import numpy as np

BUCKET = 60.0
RATE = 1.0  # calls per second
LAMBDA = 0.5  # arrivals per second
DURATION = 3600.0
WARMUP = 600.0
BURST_AT = 1800.0
BURST = 100


def replication(rng, burst):
    n = rng.poisson(LAMBDA * DURATION)
    times = np.sort(rng.uniform(0.0, DURATION, n))
    if burst:
        times = np.sort(np.concatenate([times, np.full(BURST, BURST_AT)]))
    level, last, refused = BUCKET, 0.0, 0
    for t in times:
        level = min(BUCKET, level + (t - last) * RATE)
        last = t
        if level >= 1.0:
            level -= 1.0
        elif WARMUP <= t <= DURATION:
            refused += 1
    return refused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    for burst in (False, True):
        v = np.array([replication(rng, burst) for _ in range(a.reps)], dtype=float)
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
        print(f"burst={burst}: 429s per replication mean {v.mean():.4f} se {se:.4f} max {v.max():.0f}")
        if not burst and v.max() > 0:
            raise SystemExit("429s without a burst")


if __name__ == "__main__":
    main()
