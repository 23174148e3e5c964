#!/usr/bin/env python3
"""Independent SimPy reference model of scenarios/transcription-parallel.yaml.

Written from wfsim's README (the scenario language and "How the engine models Trigger.dev")
and ../shared/trigger-dev-facts.md, not from wfsim's code, so that tests/reference.sh (a
statistical comparison in CI) and benches/compare.sh (speed) can check wfsim against a
conventional discrete-event model. Each simulated workflow run is one SimPy process in its
own simpy.Environment; task runs, Promise.all items and fire-and-forget children are SimPy
processes too, and all time (work, retry delays, waits on children) passes on SimPy's clock.

Every parameter comes from the scenario file (--scenario; PyYAML reads it): tasks, their
machine, retry, maxDuration and steps, each step's distributions, failure probability and
failAt, retry.onThrow, cpuBound scaling, the parallel's count and limit, the trigger steps
and their idempotencyKey, the branch condition and the input attributes it reads. The model
covers the part of the language this scenario uses (work, triggerAndWait, trigger, parallel
over work, branch on a choice or bernoulli attribute; fixed, uniform, triangular, lognormal
and exponential durations) and exits 2 naming anything else it meets.

Start latencies. Since runs alone obey the environment (warm and cold starts, a start
latency on every resume after a triggerAndWait or a long wait), wfsim's timing of a run
depends on its warm pool. This reference does not model the pool: it requires
`startLatency: 0` and `coldStart: 0`, where every start, resume and re-queued retry takes no
time and the old and new semantics agree. `--zero-latency-variant OUT` writes such a variant
of the scenario (those two top-level keys set to 0, nothing else changed); tests/reference.sh
and benches/compare.sh simulate that variant on both sides.

Semantics (README):
  - a task's attempt runs its steps in order; an attempt that throws is retried per the
    task's `retry` (no `retry`: one attempt; fields left out: maxAttempts 3, factor 2,
    minTimeoutInMs 1000, maxTimeoutInMs 60000, randomize true), after
    round(min(max, r min factor^(n-1))) ms with r = 1 + U[0,1) (randomize) and n the attempts
    so far; delays between attempts are not billed;
  - an attempt is billed (and counts toward maxDuration) while it executes: work steps and
    retry.onThrow delays; waiting on a child (triggerAndWait) is paused, not billed; an
    attempt whose compute reaches maxDuration ends TIMED_OUT and is not retried;
  - work fails with its probability at the end of the step, or with failAt: uniform at a
    uniform point of it; retry.onThrow retries the step in place (its delays billed);
  - cpuBound work measured on preset M runs on preset P in measured x T(vcpu P) / T(vcpu M),
    T(v) = (1 - f) / min(v, 1) + f / v, f = parallelFraction (default 0);
  - Promise.all (parallel) runs `count` items, at most `limit` at once, and rejects at the
    first item that throws: the attempt fails then; while it runs some item executes, so all
    of its time is billed;
  - triggerAndWait: a child that does not complete throws in the parent (unwrap: true, the
    default). With idempotencyKey: true (scope run), when the parent retries, a child that
    completed in an earlier attempt is reused (no time, no new run, no cost) and one that
    failed runs again; without a key every attempt triggers the child again and pays again;
  - trigger: fire-and-forget (no key here); its cost counts in the workflow run's cost;
  - cost = billed attempt seconds x preset USD/s + USD 0.000025 per task run; duration = from
    the trigger of the entry run to its end; lognormal sigma = ln(p95 / median) / 1.6448536.

Usage:
  transcription_parallel.py [--scenario FILE] --runs N --seed S [--json]
  transcription_parallel.py [--scenario FILE] --zero-latency-variant OUT
"""

import argparse
import json
import math
import random
import re
import sys
import time

import simpy
import yaml

Z95 = 1.6448536269514722
INVOCATION_USD = 0.000025
WARM_RETRY_S = 30.0
# Presets from ../shared/trigger-dev-facts.md: vCPU, RAM (MB), USD per second.
PRESETS = {
    "micro": (0.25, 256, 0.0000169),
    "small-1x": (0.5, 512, 0.0000338),
    "small-2x": (1.0, 1024, 0.0000675),
    "medium-1x": (1.0, 2048, 0.0000850),
    "medium-2x": (2.0, 4096, 0.0001700),
    "large-1x": (4.0, 8192, 0.0003400),
    "large-2x": (8.0, 16384, 0.0006800),
}


class Unsupported(Exception):
    """The scenario uses something this reference does not model."""


# ------------------------------------------------------------------ reading the scenario

UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(v, where):
    """A duration: a number (seconds) or text such as 500ms, 2s, 10m, 1m30s."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        t = v.replace(" ", "")
        try:
            return float(t)
        except ValueError:
            pass
        parts = re.findall(r"([0-9]*\.?[0-9]+)([a-z]+)", t)
        if parts and "".join(a + b for a, b in parts) == t and all(b in UNITS for _, b in parts):
            return sum(float(a) * UNITS[b] for a, b in parts)
    raise Unsupported(f"{where}: {v!r} is not a duration this reference reads")


class Dist:
    """A distribution of the scenario language (the forms this scenario uses)."""

    def __init__(self, spec, where, value=lambda v, w: seconds(v, w)):
        self.where = where
        if not isinstance(spec, dict):
            self.kind, self.args = "fixed", (value(spec, where),)
            return
        extra = set(spec) - {"fixed", "uniform", "triangular", "lognormal", "exponential"}
        if len(spec) != 1 or extra:
            raise Unsupported(f"{where}: distribution {spec!r} (min, max, round and other forms are not modelled)")
        (kind, a), = spec.items()
        if kind == "fixed":
            self.args = (value(a, where),)
        elif kind == "uniform":
            self.args = tuple(value(x, where) for x in a)
        elif kind == "triangular":
            lo, mode, hi = (value(x, where) for x in a)
            self.args = (lo, hi, mode)  # Python's triangular takes (low, high, mode)
        elif kind == "lognormal":
            if "median" in a:
                median, p95 = value(a["median"], where), value(a["p95"], where)
                self.args = (math.log(median), math.log(p95 / median) / Z95)
            else:
                self.args = (float(a["mu"]), float(a["sigma"]))
        elif kind == "exponential":
            self.args = (1.0 / value(a["mean"], where),)
        self.kind = kind

    def sample(self, rng):
        k, a = self.kind, self.args
        if k == "fixed":
            return a[0]
        if k == "uniform":
            return rng.uniform(*a)
        if k == "triangular":
            return rng.triangular(*a)
        if k == "lognormal":
            return rng.lognormvariate(*a)
        return rng.expovariate(*a)

    def upper(self):
        """The largest value the distribution can take (inf when unbounded)."""
        if self.kind in ("fixed", "uniform"):
            return max(self.args)
        if self.kind == "triangular":
            return self.args[1]
        return math.inf


class Retry:
    """A retry policy; fields left out take the SDK defaults."""

    def __init__(self, spec, where):
        if spec is None:
            self.max_attempts, self.factor, self.min_ms, self.max_ms, self.randomize = 1, 2.0, 1000.0, 60000.0, True
            return
        known = {"maxAttempts", "factor", "minTimeoutInMs", "maxTimeoutInMs", "randomize"}
        if set(spec) - known:
            raise Unsupported(f"{where}: retry keys {sorted(set(spec) - known)}")
        self.max_attempts = int(spec.get("maxAttempts", 3))
        self.factor = float(spec.get("factor", 2))
        self.min_ms = float(spec.get("minTimeoutInMs", 1000))
        self.max_ms = float(spec.get("maxTimeoutInMs", 60000))
        self.randomize = bool(spec.get("randomize", True))

    def delay_s(self, n, u):
        """Delay before attempt n + 1 (n attempts so far), seconds."""
        r = 1.0 + u if self.randomize else 1.0
        ms = min(self.max_ms, r * self.min_ms * self.factor ** (n - 1))
        return math.floor(ms + 0.5) / 1000.0


def amdahl(v, f):
    return (1.0 - f) / min(v, 1.0) + f / v


class Work:
    KEYS = {"name", "duration", "failure", "failAt", "cpuBound", "measuredOn", "parallelFraction", "memoryMb", "retry"}

    def __init__(self, w, task, where):
        if set(w) - self.KEYS:
            raise Unsupported(f"{where}: work keys {sorted(set(w) - self.KEYS)}")
        self.duration = Dist(w["duration"], where + ".duration")
        failure = w.get("failure", 0.0)
        if isinstance(failure, dict):
            if failure.get("retryable", True) is not True or set(failure) - {"probability", "retryable"}:
                raise Unsupported(f"{where}.failure: {failure!r}")
            failure = failure["probability"]
        self.failure = float(failure)
        self.fail_uniform = {"end": False, "uniform": True}[w.get("failAt", "end")]
        self.on_throw = Retry(w["retry"], where + ".retry") if "retry" in w else None
        self.scale = 1.0
        if w.get("cpuBound", False):
            f = float(w.get("parallelFraction", 0.0))
            measured = PRESETS[w.get("measuredOn", "small-1x")][0]
            self.scale = amdahl(PRESETS[task.machine][0], f) / amdahl(measured, f)
        if "memoryMb" in w:
            mem = Dist(w["memoryMb"], where + ".memoryMb", value=lambda v, _: float(v))
            task.peak_memory = max(task.peak_memory, mem.upper())


class Condition:
    """`when: attr != value` / `attr == value` on a choice, or `attr` / `!attr` on a bernoulli."""

    def __init__(self, text, inputs, where):
        m = re.fullmatch(r"\s*(\w+)\s*(==|!=)\s*([\w-]+)\s*", text)
        if m:
            self.attr, self.op, self.value = m.groups()
        else:
            m = re.fullmatch(r"\s*(!?)(\w+)\s*", text)
            if not m:
                raise Unsupported(f"{where}: condition {text!r}")
            self.attr, self.op, self.value = m.group(2), ("!=" if m.group(1) else "=="), 1.0
        if self.attr not in inputs:
            raise Unsupported(f"{where}: no input attribute {self.attr!r}")

    def holds(self, values):
        eq = values[self.attr] == self.value
        return eq if self.op == "==" else not eq


class Task:
    KEYS = {"machine", "retry", "maxDuration", "progress", "steps"}

    def __init__(self, name, t, defaults, inputs):
        where = f"tasks.{name}"
        if set(t) - self.KEYS:
            raise Unsupported(f"{where}: keys {sorted(set(t) - self.KEYS)} (queue options and memory rules are not modelled)")
        self.name = name
        self.machine = t.get("machine", defaults.get("machine", "small-1x"))
        self.retry = Retry(t.get("retry", defaults.get("retry")), where + ".retry")
        md = t.get("maxDuration", defaults.get("maxDuration"))
        self.max_duration_s = seconds(md, where + ".maxDuration") if md is not None else math.inf
        self.peak_memory = 0.0
        self.steps = [self.step(s, f"{where}.steps[{i}]", inputs) for i, s in enumerate(t["steps"])]
        if self.peak_memory > PRESETS[self.machine][1]:
            raise Unsupported(f"{where}: memory up to {self.peak_memory} MB on {self.machine} (out of memory is not modelled)")

    def step(self, s, where, inputs):
        (kind, v), = s.items()
        if kind == "work":
            return ("work", Work(v, self, where + ".work"))
        if kind in ("triggerAndWait", "trigger"):
            spec = v if isinstance(v, dict) else {"task": v}
            if set(spec) - {"task", "idempotencyKey"}:
                raise Unsupported(f"{where}.{kind}: keys {sorted(set(spec) - {'task', 'idempotencyKey'})}")
            if kind == "trigger" and spec.get("idempotencyKey"):
                raise Unsupported(f"{where}: a keyed fire-and-forget trigger")
            return (kind, spec["task"], bool(spec.get("idempotencyKey", False)))
        if kind == "parallel":
            if set(v) - {"count", "limit", "steps"} or len(v["steps"]) != 1 or "work" not in v["steps"][0]:
                raise Unsupported(f"{where}.parallel: only a fixed count of items of one work step is modelled")
            count = int(v["count"])
            return ("parallel", count, int(v.get("limit", count)), Work(v["steps"][0]["work"], self, where + ".parallel.steps[0].work"))
        if kind == "branch":
            arms = []
            for i, arm in enumerate(v):
                if "otherwise" in arm:
                    arms.append((None, [self.step(x, f"{where}.branch[{i}].otherwise", inputs) for x in arm["otherwise"]]))
                else:
                    cond = Condition(arm["when"], inputs, f"{where}.branch[{i}].when")
                    arms.append((cond, [self.step(x, f"{where}.branch[{i}].then", inputs) for x in arm["then"]]))
            return ("branch", arms)
        raise Unsupported(f"{where}: step kind {kind!r}")


class Input:
    def __init__(self, name, spec):
        if isinstance(spec, dict) and set(spec) == {"choice"}:
            names, weights = zip(*spec["choice"].items())
            total = sum(weights)
            self.values, self.cum = names, [sum(weights[: i + 1]) / total for i in range(len(weights))]
        elif isinstance(spec, dict) and set(spec) == {"bernoulli"}:
            self.values, self.cum = (1.0, 0.0), [float(spec["bernoulli"]), 1.0]
        else:
            raise Unsupported(f"input.{name}: {spec!r} (only choice and bernoulli attributes are modelled)")

    def draw(self, rng):
        u = rng.random()
        return next(v for v, c in zip(self.values, self.cum) if u < c)


class Scenario:
    KEYS = {"name", "description", "platform", "startLatency", "coldStart", "input", "entry", "tasks", "defaults"}

    def __init__(self, path):
        doc = yaml.safe_load(open(path))
        if set(doc) - self.KEYS:
            raise Unsupported(f"top-level keys {sorted(set(doc) - self.KEYS)}")
        for k in ("startLatency", "coldStart"):
            if k not in doc or seconds(doc[k], k) != 0.0:
                raise Unsupported(
                    f"{k} must be 0 (this reference has no warm pool; --zero-latency-variant writes such a variant)"
                )
        self.name = doc.get("name", path)
        self.inputs = {k: Input(k, v) for k, v in (doc.get("input") or {}).items()}
        defaults = doc.get("defaults") or {}
        self.tasks = {n: Task(n, t, defaults, self.inputs) for n, t in doc["tasks"].items()}
        self.entry = self.tasks[doc["entry"]]
        for t in self.tasks.values():
            for s in walk(t.steps):
                if s[0] in ("triggerAndWait", "trigger") and s[1] not in self.tasks:
                    raise Unsupported(f"tasks.{t.name}: no task {s[1]!r}")


def walk(steps):
    for s in steps:
        yield s
        if s[0] == "branch":
            for _, arm in s[1]:
                yield from walk(arm)


def zero_latency_variant(text):
    """The scenario text with top-level `startLatency: 0` and `coldStart: 0` and nothing else
    changed (earlier top-level values of those keys removed, with their nested lines)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        top = line[:1] not in (" ", "\t", "#", "\n", "")
        if top:
            skipping = re.match(r"(startLatency|coldStart)\s*:", line) is not None
        if not skipping:
            out.append(line)
    return "startLatency: 0\ncoldStart: 0\n" + "".join(out)


# ------------------------------------------------------------------ one workflow run


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

    def compute(self, d):
        """Executes for d seconds (a generator to `yield from`)."""
        left = self.max_s - self.usage
        if d >= left:
            yield self.env.timeout(left)
            self.usage = self.max_s
            raise TimedOut()
        yield self.env.timeout(d)
        self.usage += d


class Workflow:
    def __init__(self, env, rng, sc, per_task):
        self.env, self.rng, self.sc = env, rng, sc
        self.cost = 0.0
        self.duration = None
        self.status = None
        self.per_task = per_task  # task -> [runs, attempts] in this workflow run
        self.values = {k: a.draw(rng) for k, a in sc.inputs.items()}

    def work_once(self, w):
        """One try of a work step's duration: (seconds, threw)."""
        d = w.duration.sample(self.rng) * w.scale
        if self.rng.random() < w.failure:
            return (d * self.rng.random() if w.fail_uniform else d), True
        return d, False

    def work(self, w, a):
        """A work step in an attempt, with its retry.onThrow (delays billed)."""
        tries = 0
        while True:
            d, threw = self.work_once(w)
            yield from a.compute(d)
            if not threw:
                return
            tries += 1
            if w.on_throw is None or tries >= w.on_throw.max_attempts:
                raise Throw()
            yield from a.compute(w.on_throw.delay_s(tries, self.rng.random()))

    def item(self, w, queue, rejected):
        """A p-limit worker of a Promise.all: takes items until none is left."""
        try:
            while queue[0] > 0 and not rejected.triggered:
                queue[0] -= 1
                tries = 0
                while True:
                    d, threw = self.work_once(w)
                    yield self.env.timeout(d)
                    if not threw:
                        break
                    tries += 1
                    if w.on_throw is None or tries >= w.on_throw.max_attempts:
                        if not rejected.triggered:
                            rejected.succeed()
                        return
                    yield self.env.timeout(w.on_throw.delay_s(tries, self.rng.random()))
        except simpy.Interrupt:
            return  # the attempt ended (rejected or timed out): this item is abandoned

    def parallel(self, count, limit, w, a):
        env = self.env
        start = env.now
        rejected = env.event()
        queue = [count]
        workers = [env.process(self.item(w, queue, rejected)) for _ in range(min(count, limit))]
        deadline = env.timeout(a.max_s - a.usage)
        all_done = env.all_of(workers)
        yield all_done | rejected | deadline
        # Some item executes at every instant of the Promise.all: all of it is billed.
        a.usage += env.now - start
        if all_done.triggered and not rejected.triggered:
            return
        for p in workers:
            if p.is_alive:
                p.interrupt()
        if rejected.triggered:
            raise Throw()
        a.usage = a.max_s
        raise TimedOut()

    def steps(self, steps, a, done):
        """An attempt's steps; `done`: the keyed children that completed in earlier attempts."""
        for i, s in enumerate(steps):
            kind = s[0]
            if kind == "work":
                yield from self.work(s[1], a)
            elif kind == "parallel":
                yield from self.parallel(s[1], s[2], s[3], a)
            elif kind == "triggerAndWait":
                _, child, keyed = s
                if keyed and id(s) in done:
                    continue  # reused: the completed child's result
                status = yield self.env.process(self.task_run(self.sc.tasks[child]))
                if status != "COMPLETED":
                    raise Throw()
                if keyed:
                    done.add(id(s))
            elif kind == "trigger":
                self.env.process(self.task_run(self.sc.tasks[s[1]]))  # fire-and-forget
            elif kind == "branch":
                for cond, arm in s[1]:
                    if cond is None or cond.holds(self.values):
                        yield from self.steps(arm, a, done)
                        break

    def task_run(self, task):
        """One task run: attempts and retries. Returns its final status."""
        env = self.env
        acc = self.per_task[task.name]
        acc[0] += 1
        self.cost += INVOCATION_USD
        done = set()
        attempts = 0
        while True:
            attempts += 1
            acc[1] += 1
            a = Attempt(env, task.max_duration_s)
            try:
                yield from self.steps(task.steps, a, done)
                outcome = "ok"
            except Throw:
                outcome = "threw"
            except TimedOut:
                outcome = "timed_out"
            self.cost += a.usage * PRESETS[task.machine][2]
            if outcome == "ok":
                return "COMPLETED"
            if outcome == "timed_out":
                return "TIMED_OUT"
            if attempts >= task.retry.max_attempts:
                return "FAILED"
            # Zero start latency: a retry that re-queues (30 s or more) starts at once too.
            yield env.timeout(task.retry.delay_s(attempts, self.rng.random()))

    def root(self):
        self.status = yield from self.task_run(self.sc.entry)
        self.duration = self.env.now


def simulate(sc, runs, seed):
    """Per workflow run: duration, cost, completed, and per task [runs, attempts]."""
    rng = random.Random(seed)
    names = list(sc.tasks)
    out = []
    t0 = time.perf_counter()
    for _ in range(runs):
        env = simpy.Environment()
        wf = Workflow(env, rng, sc, {n: [0, 0] for n in names})
        env.process(wf.root())
        env.run()  # until the fire-and-forget children are done too: their cost counts
        out.append((wf.duration, wf.cost, wf.status == "COMPLETED", wf.per_task))
    return out, time.perf_counter() - t0


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
    ap.add_argument("--scenario", default="scenarios/transcription-parallel.yaml")
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--zero-latency-variant", metavar="OUT", help="write the zero-latency variant of --scenario and exit")
    args = ap.parse_args()
    if args.zero_latency_variant:
        with open(args.zero_latency_variant, "w") as f:
            f.write(zero_latency_variant(open(args.scenario).read()))
        return 0
    if args.runs < 2:
        ap.error("--runs must be at least 2")
    try:
        sc = Scenario(args.scenario)
    except (Unsupported, KeyError, TypeError, ValueError) as e:
        print(f"{args.scenario}: not modelled by this reference: {e}", file=sys.stderr)
        return 2

    runs, seconds_ = simulate(sc, args.runs, args.seed)
    n = args.runs
    durations = [r[0] for r in runs]
    d_mean, d_sd = mean_sd(durations)
    c_mean, c_sd = mean_sd([r[1] for r in runs])
    ok_mean, ok_sd = mean_sd([float(r[2]) for r in runs])
    durations.sort()
    p50_lo, p50_hi = order_stat_bounds(durations, 0.5)
    p95_lo, p95_hi = order_stat_bounds(durations, 0.95)
    tasks = {}
    for name in sc.tasks:
        rm, rsd = mean_sd([float(r[3][name][0]) for r in runs])
        am, asd = mean_sd([float(r[3][name][1]) for r in runs])
        tasks[name] = {"runs_per_workflow": rm, "runs_sd": rsd, "attempts_per_workflow": am, "attempts_sd": asd}
    out = {
        "scenario": sc.name,
        "runs": n,
        "seconds": seconds_,
        "runs_per_s": n / seconds_,
        "duration_p50": quantile_sorted(durations, 0.5),
        "duration_p95": quantile_sorted(durations, 0.95),
        "duration_mean": d_mean,
        "duration_sd": d_sd,
        "cost_mean": c_mean,
        "cost_sd": c_sd,
        # 4-sigma order-statistic bounds of the true quantiles.
        "duration_p50_lo4": p50_lo,
        "duration_p50_hi4": p50_hi,
        "duration_p95_lo4": p95_lo,
        "duration_p95_hi4": p95_hi,
        "success_rate": ok_mean,
        "success_sd": ok_sd,
        "simpy_version": simpy.__version__,
        "python_version": sys.version.split()[0],
        "tasks": tasks,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"SimPy {simpy.__version__} reference of {sc.name}: {n} runs, seed {args.seed}")
    print(f"time      {seconds_:.2f} s  ({n / seconds_:,.0f} runs/s)")
    print(f"duration  p50 {out['duration_p50']:.1f}s  p95 {out['duration_p95']:.1f}s  mean {d_mean:.2f}s (sd {d_sd:.2f})")
    print(f"cost/run  mean ${c_mean:.6f} (sd {c_sd:.6f})")
    print(f"success   {100 * ok_mean:.3f}%")
    for name, t in tasks.items():
        print(f"  {name:18} runs/wf {t['runs_per_workflow']:.4f}  attempts/wf {t['attempts_per_workflow']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
