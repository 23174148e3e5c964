#!/usr/bin/env python3
"""Independent SimPy reference model of scenarios/transcription-parallel.yaml.

Written from the scenario's parameters and wfsim's README semantics, not from wfsim's code,
so that benches/compare.sh can check wfsim's statistics (and measure its speed) against a
conventional discrete-event model. Each simulated workflow run is one SimPy process in its
own simpy.Environment; task runs, Promise.all items and the fire-and-forget summary are
SimPy processes too, and all time (start latency, work, retry delays, waits on children)
passes on SimPy's clock.

The workflow (one run):

  extract-audio (small-2x, retry 3 x 1000ms..10000ms, maxDuration 10m)
    download        lognormal(median 5s, p95 15s), fails 0.5% (at the end)
    ffmpeg-extract  triangular(20s, 30s, 60s), cpuBound measured on small-2x, runs on
                    small-2x: factor 1; memory uniform[150, 300] MB of 1024 MB: never OOM
    triggerAndWait chunk-audio, then transcribe-audio, then save-transcript
      (a child that does not complete throws in the parent: unwrap)
  chunk-audio (small-2x, retry 3 x 1000..10000, maxDuration 5m)
    ffmpeg-segment  triangular(3s, 5s, 12s), factor 1
    upload-chunks   lognormal(3s, 8s), fails 0.5%
  transcribe-audio (small-1x, retry 3 x 5000..60000, maxDuration 30m)
    Promise.all over 6 items, limit 6, each:
      whisper-api   lognormal(2m, 3m), fails 2% at a uniform point of the call,
                    retry.onThrow 3 tries, delay round(min(30000, r 2000 2^(n-1))) ms,
                    r = 1 + U[0,1); the delay is in-process (billed)
    the first item that exhausts its tries rejects the Promise.all: the attempt fails then
  save-transcript (small-1x, retry 3 x 1000..10000, maxDuration 5m)
    merge-timestamps uniform[200ms, 1s]; save-to-db lognormal(300ms, 1.5s), fails 0.2%
    tier != free (creator 25% + pro 15%): trigger generate-summary (fire-and-forget)
  generate-summary (small-1x, retry 5 x 2000..60000, maxDuration 5m)
    llm-summary lognormal(20s, 60s), fails 3%

Platform semantics (wfsim README):
  - every triggered run waits a start latency uniform[100ms, 300ms] before its first attempt;
  - task-level retry delay round(min(max, r min factor^(n-1))) ms, n = attempts so far,
    r = 1 + U[0,1); under 30 s the run stays warm, otherwise it waits a new start latency;
    delays between attempts are not billed;
  - an attempt is billed (and counts toward maxDuration) while it executes: its work steps
    and retry.onThrow delays; waiting on a child (triggerAndWait) is paused, not billed;
  - an attempt whose compute reaches maxDuration ends TIMED_OUT, not retried;
  - cost = sum of billed attempt seconds x preset USD/s + USD 0.000025 per task run,
    fire-and-forget children included; duration = trigger of the entry run to its end;
  - lognormal sigma = ln(p95 / median) / 1.6448536.

Usage: python3 transcription_parallel.py --runs N --seed S [--json]
"""

import argparse
import json
import math
import random
import sys
import time

import simpy

Z95 = 1.6448536269514722
INVOCATION_USD = 0.000025
USD_PER_S = {"small-1x": 0.0000338, "small-2x": 0.0000675}
WARM_RETRY_S = 30.0


def lognormal(median, p95):
    """(mu, sigma) of a lognormal given by its median and 95th percentile."""
    return math.log(median), math.log(p95 / median) / Z95


class Retry:
    def __init__(self, max_attempts, factor, min_ms, max_ms, randomize=True):
        self.max_attempts = max_attempts
        self.factor = factor
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.randomize = randomize

    def delay_s(self, n, u):
        """Delay before attempt n + 1 (n attempts so far), seconds."""
        r = 1.0 + u if self.randomize else 1.0
        ms = min(self.max_ms, r * self.min_ms * self.factor ** (n - 1))
        return math.floor(ms + 0.5) / 1000.0


class Task:
    def __init__(self, name, machine, retry, max_duration_s, body):
        self.name = name
        self.machine = machine
        self.retry = retry
        self.max_duration_s = max_duration_s
        self.body = body  # generator function (workflow, attempt) -> None, may raise


class Throw(Exception):
    """An error escaped the task function (retryable)."""


class TimedOut(Exception):
    """The attempt's compute reached maxDuration."""


class Attempt:
    """Billed (executing) time of one attempt, against the task's maxDuration."""

    def __init__(self, env, max_s):
        self.env = env
        self.max_s = max_s
        self.usage = 0.0

    def work(self, d):
        """Executes for d seconds (a generator to `yield from`)."""
        left = self.max_s - self.usage
        if d > left:
            yield self.env.timeout(left)
            self.usage = self.max_s
            raise TimedOut()
        yield self.env.timeout(d)
        self.usage += d


# ------------------------------------------------------------------ the scenario's tasks

DOWNLOAD = lognormal(5.0, 15.0)
UPLOAD = lognormal(3.0, 8.0)
WHISPER = lognormal(120.0, 180.0)
SAVE_DB = lognormal(0.3, 1.5)
LLM = lognormal(20.0, 60.0)
WHISPER_RETRY = Retry(3, 2, 2000, 30000)
ITEMS, LIMIT = 6, 6
# cpuBound work measured on small-2x and run on small-2x: Amdahl factor 1.
CPU_FACTOR = 1.0


def extract_audio(wf, a):
    rng = wf.rng
    fail = rng.random() < 0.005
    yield from a.work(rng.lognormvariate(*DOWNLOAD))
    if fail:
        raise Throw()
    # Python's triangular takes (low, high, mode).
    yield from a.work(rng.triangular(20.0, 60.0, 30.0) * CPU_FACTOR)
    for child in (CHUNK_AUDIO, TRANSCRIBE_AUDIO, SAVE_TRANSCRIPT):
        status = yield wf.env.process(wf.task_run(child))
        if status != "COMPLETED":
            raise Throw()


def chunk_audio(wf, a):
    rng = wf.rng
    yield from a.work(rng.triangular(3.0, 12.0, 5.0) * CPU_FACTOR)
    fail = rng.random() < 0.005
    yield from a.work(rng.lognormvariate(*UPLOAD))
    if fail:
        raise Throw()


def whisper_item(wf, rejected):
    """One Promise.all item: the Whisper call under retry.onThrow."""
    env, rng = wf.env, wf.rng
    try:
        tries = 0
        while True:
            d = rng.lognormvariate(*WHISPER)
            if rng.random() < 0.02:
                yield env.timeout(d * rng.random())  # failAt: uniform
                tries += 1
                if tries >= WHISPER_RETRY.max_attempts:
                    if not rejected.triggered:
                        rejected.succeed()
                    return
                yield env.timeout(WHISPER_RETRY.delay_s(tries, rng.random()))
            else:
                yield env.timeout(d)
                return
    except simpy.Interrupt:
        return  # the attempt ended (rejected or timed out): this item is abandoned


def transcribe_audio(wf, a):
    env = wf.env
    start = env.now
    rejected = env.event()
    items = [env.process(whisper_item(wf, rejected)) for _ in range(min(ITEMS, LIMIT))]
    assert ITEMS == LIMIT  # all items start at once; no p-limit queue needed
    deadline = env.timeout(a.max_s - a.usage)
    all_done = env.all_of(items)
    yield all_done | rejected | deadline
    # Some item is executing at every instant of the Promise.all: all of it is billed.
    a.usage += env.now - start
    if all_done.triggered and not rejected.triggered:
        return
    for p in items:
        if p.is_alive:
            p.interrupt()
    if rejected.triggered:
        raise Throw()
    a.usage = a.max_s
    raise TimedOut()


def save_transcript(wf, a):
    rng = wf.rng
    yield from a.work(rng.uniform(0.2, 1.0))
    fail = rng.random() < 0.002
    yield from a.work(rng.lognormvariate(*SAVE_DB))
    if fail:
        raise Throw()
    if wf.tier != "free":
        wf.env.process(wf.task_run(GENERATE_SUMMARY))  # fire-and-forget


def generate_summary(wf, a):
    rng = wf.rng
    fail = rng.random() < 0.03
    yield from a.work(rng.lognormvariate(*LLM))
    if fail:
        raise Throw()


EXTRACT_AUDIO = Task("extract-audio", "small-2x", Retry(3, 2, 1000, 10000), 600.0, extract_audio)
CHUNK_AUDIO = Task("chunk-audio", "small-2x", Retry(3, 2, 1000, 10000), 300.0, chunk_audio)
TRANSCRIBE_AUDIO = Task("transcribe-audio", "small-1x", Retry(3, 2, 5000, 60000), 1800.0, transcribe_audio)
SAVE_TRANSCRIPT = Task("save-transcript", "small-1x", Retry(3, 2, 1000, 10000), 300.0, save_transcript)
GENERATE_SUMMARY = Task("generate-summary", "small-1x", Retry(5, 2, 2000, 60000), 300.0, generate_summary)
TASKS = [EXTRACT_AUDIO, CHUNK_AUDIO, TRANSCRIBE_AUDIO, SAVE_TRANSCRIPT, GENERATE_SUMMARY]


# ------------------------------------------------------------------ one workflow run

class Workflow:
    def __init__(self, env, rng, per_task):
        self.env = env
        self.rng = rng
        self.cost = 0.0
        self.duration = None
        self.status = None
        self.per_task = per_task
        r = rng.random()
        self.tier = "free" if r < 0.6 else ("creator" if r < 0.85 else "pro")

    def latency(self):
        return self.rng.uniform(0.1, 0.3)

    def task_run(self, task):
        """One task run: start latency, attempts, retries. Returns its final status."""
        env = self.env
        acc = self.per_task[task.name]
        acc["runs"] += 1
        self.cost += INVOCATION_USD
        yield env.timeout(self.latency())
        attempts = 0
        while True:
            attempts += 1
            acc["attempts"] += 1
            a = Attempt(env, task.max_duration_s)
            try:
                yield from task.body(self, a)
                outcome = "ok"
            except Throw:
                outcome = "threw"
            except TimedOut:
                outcome = "timed_out"
            acc["usage_s"] += a.usage
            self.cost += a.usage * USD_PER_S[task.machine]
            if outcome == "ok":
                status = "COMPLETED"
                break
            if outcome == "timed_out":
                status = "TIMED_OUT"
                break
            if attempts >= task.retry.max_attempts:
                status = "FAILED"
                break
            d = task.retry.delay_s(attempts, self.rng.random())
            yield env.timeout(d if d < WARM_RETRY_S else d + self.latency())
        acc[status] = acc.get(status, 0) + 1
        return status

    def root(self):
        self.status = yield from self.task_run(EXTRACT_AUDIO)
        self.duration = self.env.now


def simulate(runs, seed):
    rng = random.Random(seed)
    per_task = {t.name: {"runs": 0, "attempts": 0, "usage_s": 0.0} for t in TASKS}
    durations, costs, ok = [], [], 0
    t0 = time.perf_counter()
    for _ in range(runs):
        env = simpy.Environment()
        wf = Workflow(env, rng, per_task)
        env.process(wf.root())
        env.run()  # until the fire-and-forget summary is done too: its cost counts
        durations.append(wf.duration)
        costs.append(wf.cost)
        ok += wf.status == "COMPLETED"
    seconds = time.perf_counter() - t0
    return durations, costs, ok, per_task, seconds


# ------------------------------------------------------------------ statistics

def quantile_sorted(v, q):
    """Type 7 (linear interpolation), as wfsim and numpy compute it."""
    h = (len(v) - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def order_stat_bounds(v, q, k=4.0):
    """A k-sigma distribution-free interval for the true q-quantile: the number of sample
    values below it is Binomial(n, q), so it lies between these order statistics."""
    n = len(v)
    s = math.sqrt(n * q * (1.0 - q))
    lo = max(0, math.floor(n * q - k * s))
    hi = min(n - 1, math.ceil(n * q + k * s))
    return v[lo], v[hi]


def mean_sd(v):
    n = len(v)
    m = sum(v) / n
    var = sum((x - m) ** 2 for x in v) / (n - 1) if n > 1 else 0.0
    return m, math.sqrt(var)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    if args.runs < 2:
        ap.error("--runs must be at least 2")

    durations, costs, ok, per_task, seconds = simulate(args.runs, args.seed)
    n = args.runs
    d_mean, d_sd = mean_sd(durations)
    c_mean, c_sd = mean_sd(costs)
    durations.sort()
    p50_lo, p50_hi = order_stat_bounds(durations, 0.5)
    p95_lo, p95_hi = order_stat_bounds(durations, 0.95)
    out = {
        "runs": n,
        "seconds": seconds,
        "runs_per_s": n / seconds,
        "duration_p50": quantile_sorted(durations, 0.5),
        "duration_p95": quantile_sorted(durations, 0.95),
        "duration_mean": d_mean,
        "duration_sd": d_sd,
        "cost_mean": c_mean,
        "cost_sd": c_sd,
        # Extras: 4-sigma order-statistic bounds of the true quantiles, for compare.sh.
        "duration_p50_lo4": p50_lo,
        "duration_p50_hi4": p50_hi,
        "duration_p95_lo4": p95_lo,
        "duration_p95_hi4": p95_hi,
        "success_rate": ok / n,
        "simpy_version": simpy.__version__,
        "python_version": sys.version.split()[0],
        "tasks": {
            name: {
                "runs_per_workflow": a["runs"] / n,
                "attempts_per_workflow": a["attempts"] / n,
                "usage_s_per_run": a["usage_s"] / a["runs"] if a["runs"] else 0.0,
                "statuses": {k: v for k, v in a.items() if k.isupper()},
            }
            for name, a in per_task.items()
        },
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"SimPy {simpy.__version__} reference of transcription-parallel: {n} runs, seed {args.seed}")
    print(f"time      {seconds:.2f} s  ({n / seconds:,.0f} runs/s)")
    print(f"duration  p50 {out['duration_p50']:.1f}s  p95 {out['duration_p95']:.1f}s  "
          f"mean {d_mean:.2f}s (sd {d_sd:.2f})")
    print(f"cost/run  mean ${c_mean:.6f} (sd {c_sd:.6f})")
    print(f"success   {100 * ok / n:.3f}%")
    for name, t in out["tasks"].items():
        print(f"  {name:18} runs/wf {t['runs_per_workflow']:.4f}  attempts/wf {t['attempts_per_workflow']:.4f}  "
              f"usage/run {t['usage_s_per_run']:.2f}s  {t['statuses']}")


if __name__ == "__main__":
    main()
