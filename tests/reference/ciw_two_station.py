#!/usr/bin/env python3
"""Independent reference for wfsim's load model: a two-station network with a shared queue, in Ciw.

The scenario is tests/reference/two-station.yaml: workflow runs of task `a` arrive as a Poisson
stream (LAMBDA per second); `a` works for an exponential time (mean MEAN_A s) and its last step
triggers `b` fire-and-forget; `b` works for an exponential time (mean MEAN_B s). Both tasks are
in the named queue `shared` with C slots; no start latency, no cold start, burst factor 1, the
environment's limit above C.

Where `b` joins the queue follows from the platform facts (../shared/trigger-dev-facts.md),
not from wfsim's engine. A queue is served in order of queued time (a `priority` of p is
"dequeued as if it had been queued p seconds earlier"), and a run without `delay` is queued
when it is triggered. `a` triggers `b` in its last step, while it still executes, so `b` is
queued at the instant `a` ends, after every run already waiting (Poisson arrivals: no ties).
Whether `a`'s slot comes back just before or just after `b` is queued, it then goes to the
earliest queued run: the head of the queue if anyone waits, else `b`. So `b` joins the tail
of the FIFO queue, behind every run already waiting.

The Ciw model: one node with C servers (FIFO) and two customer classes. Class `a` arrives
(Poisson, LAMBDA); at the end of its service it changes to class `b` (class change matrix) and
is routed back to the same node (process-based route [1]); class `b` leaves after its service.
On a service end Ciw's `Node.release` starts the head of the queue on the freed server, then
accepts the rerouted customer at the tail: `b` joins the tail, as the facts say. (With nobody
waiting, `b` starts at once on either order.)

Statistics, the same way on both sides (wfsim: src/engine/load.rs and src/report/load.rs):
  - the measured window is [WARMUP, DURATION]; arrivals stop at DURATION (the system then drains);
  - queue wait: the wait of every slot grant (service start) inside the window, `a` and `b`
    together (wfsim reports them together under load.queues.shared); also per class (Ciw only);
  - utilisation: slot-seconds in use inside the window over C x window;
  - per class over the whole replication (every run triggered, warm-up and drain included):
    mean wait of `a` and of `b`; wfsim reports it as tasks.{a,b}.queued_duration_s_mean (start
    latency = the queue wait here), so it is compared on that basis; and their difference b - a
    within each replication, which cancels most of the common noise and so tests sharply where
    `b` joins the queue (at the head it would wait far less than `a`, at the tail about as long).

With --wfsim PATH the script also runs wfsim on the scenario (R replications in one run, and R
single-replication runs with seeds 1..R for per-replication values), prints both side by side,
and exits 1 if any statistic differs by more than 4 standard errors of the difference, each
side's standard error from its replication means (sd / sqrt(R)); the pooled run of R
replications takes the standard error of the R single runs (the same sampling distribution).
Exit 2 on a setup error.

    python3 tests/reference/ciw_two_station.py [--reps 20] [--wfsim target/release/wfsim] [--json]
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import ciw

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "two-station.yaml")

# Must match two-station.yaml (checked against its text and wfsim's JSON below).
PER_MINUTE = 64.0
LAMBDA = PER_MINUTE / 60.0
MEAN_A = 2.0
MEAN_B = 1.0
C = 4
ENV = 10
DURATION = 10000.0
WARMUP = 500.0
RHO = LAMBDA * (MEAN_A + MEAN_B) / C

TOL_SIGMAS = 4.0


def check_scenario_text():
    """The constants above against the scenario file (no YAML parser needed for these few)."""
    src = open(SCENARIO).read()
    want = [
        (r"poisson:\s*\{\s*perMinute:\s*([0-9.]+)", PER_MINUTE),
        (r"exponential:\s*\{\s*mean:\s*([0-9.]+)s\s*\}\s*\}\s*\}\s*\n\s*- trigger: b", MEAN_A),
        (r"b:\s*\n\s*queue:.*\n\s*steps:\s*\n\s*- work:\s*\{\s*duration:\s*\{\s*exponential:\s*\{\s*mean:\s*([0-9.]+)s", MEAN_B),
        (r"duration:\s*([0-9.]+)s", DURATION),
        (r"warmup:\s*([0-9.]+)s", WARMUP),
        (r"environmentConcurrency:\s*([0-9]+)", ENV),
    ]
    bad = []
    for pat, val in want:
        m = re.search(pat, src)
        if not m or abs(float(m.group(1)) - val) > 1e-9:
            bad.append(f"{pat!r}: expected {val}, found {m.group(1) if m else 'nothing'}")
    limits = re.findall(r"\{\s*name:\s*shared,\s*concurrencyLimit:\s*([0-9]+)\s*\}", src)
    if limits != [str(C), str(C)]:
        bad.append(f"queue shared: expected concurrencyLimit {C} on both tasks, found {limits}")
    for k in ("startLatency: 0", "coldStart: 0", "burstFactor: 1"):
        if k not in src:
            bad.append(f"missing `{k}`")
    if bad:
        sys.exit("two-station.yaml does not match ciw_two_station.py:\n  " + "\n  ".join(bad))


class PoissonUntil(ciw.dists.Distribution):
    """Exponential gaps; no arrival after `until` (wfsim stops its arrivals at `duration`)."""

    def __init__(self, rate, until):
        self.rate = rate
        self.until = until

    def sample(self, t=None, ind=None):
        gap = ciw.random.expovariate(self.rate)
        return gap if t + gap <= self.until else float("inf")


def ciw_replication(seed):
    """One replication; returns the statistics of the module docstring."""
    net = ciw.create_network(
        arrival_distributions={"a": [PoissonUntil(LAMBDA, DURATION)], "b": [None]},
        service_distributions={"a": [ciw.dists.Exponential(1.0 / MEAN_A)], "b": [ciw.dists.Exponential(1.0 / MEAN_B)]},
        number_of_servers=[C],
        class_change_matrices=[{"a": {"a": 0.0, "b": 1.0}, "b": {"a": 0.0, "b": 1.0}}],
        routing={"a": ciw.routing.ProcessBased(lambda ind, sim: [1]), "b": ciw.routing.ProcessBased(lambda ind, sim: [])},
    )
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    # Arrivals stop at DURATION; by then + 2000 s the queue has long drained (rho < 1).
    sim.simulate_until_max_time(DURATION + 2000.0)
    recs = [r for r in sim.get_all_records() if r.record_type == "service"]
    in_system = sum(len(q) for q in sim.transitive_nodes[0].individuals)
    if in_system:
        raise RuntimeError(f"seed {seed}: {in_system} customers still in the system at the end")
    w0, w1 = WARMUP, DURATION
    win = [r for r in recs if w0 <= r.service_start_date <= w1]
    waits = [r.waiting_time for r in win]
    busy = sum(max(0.0, min(r.service_end_date, w1) - max(r.service_start_date, w0)) for r in recs)

    def mean(v):
        return sum(v) / len(v) if v else float("nan")

    return {
        "wait_mean": mean(waits),
        "wait_mean_a": mean([r.waiting_time for r in win if r.customer_class == "a"]),
        "wait_mean_b": mean([r.waiting_time for r in win if r.customer_class == "b"]),
        "share_waiting": sum(1 for x in waits if x > 1e-9) / len(waits),
        "grants": len(waits),
        "utilisation": busy / (C * (w1 - w0)),
        "run_wait_a": mean([r.waiting_time for r in recs if r.customer_class == "a"]),
        "run_wait_b": mean([r.waiting_time for r in recs if r.customer_class == "b"]),
        "services": len(recs),
    }


def mean_se(v):
    n = len(v)
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n > 1 else float("nan")
    return m, sd / math.sqrt(n)


def run_wfsim(wfsim, args):
    cmd = [wfsim, "run", SCENARIO, "--format", "json", *args]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        print(f"error: {' '.join(cmd)} exited {p.returncode}", file=sys.stderr)
        sys.exit(2)
    return json.loads(p.stdout)


def wfsim_replication(d):
    l = d["load"]
    q = l["queues"]["shared"]
    if (l["duration_s"], l["warmup_s"], q["cap"], l["environment_concurrency"], l["burst_factor"]) != (
        DURATION,
        WARMUP,
        C,
        ENV,
        1.0,
    ):
        sys.exit(f"wfsim's load does not match the reference: {l['duration_s']} {l['warmup_s']} {q['cap']} {l['environment_concurrency']}")
    return {
        "wait_mean": q["queue_wait_s"]["mean"],
        "share_waiting": q["queue_wait_s"]["share_waiting"],
        "grants": q["queue_wait_s"]["grants"],
        "utilisation": q["utilisation"],
        "env_utilisation": l["utilisation"]["environment"],
        "run_wait_a": d["tasks"]["a"]["queued_duration_s_mean"],
        "run_wait_b": d["tasks"]["b"]["queued_duration_s_mean"],
        "deadlocked": l["deadlocked"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20, help="replications of each side (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="first seed (Ciw seeds and wfsim seeds are seed..seed+R-1)")
    ap.add_argument("--wfsim", help="path of the wfsim binary: compare against it")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    a = ap.parse_args()
    check_scenario_text()
    R = a.reps

    t0 = time.perf_counter()
    ciw_reps = [ciw_replication(a.seed + i) for i in range(R)]
    ciw_s = time.perf_counter() - t0
    out = {"rho": RHO, "reps": R, "ciw": ciw_reps, "ciw_seconds": ciw_s}

    if not a.wfsim:
        if a.json:
            print(json.dumps(out, indent=1))
        else:
            for k in ciw_reps[0]:
                m, se = mean_se([r[k] for r in ciw_reps])
                print(f"ciw {k:14} {m:10.4f} ± {1.96 * se:.4f}")
        return 0

    t0 = time.perf_counter()
    wf_reps = [wfsim_replication(run_wfsim(a.wfsim, ["--replications", "1", "--seed", str(a.seed + i)])) for i in range(R)]
    pooled = run_wfsim(a.wfsim, ["--replications", str(R), "--seed", str(a.seed)])
    wf_s = time.perf_counter() - t0
    pl = pooled["load"]["queues"]["shared"]
    out["wfsim"] = wf_reps
    out["wfsim_pooled"] = {"mean": pl["queue_wait_s"]["mean"], "mean_ci95": pl["queue_wait_s"]["mean_ci95"], "utilisation": pl["utilisation"]}

    rows = []  # (label, wfsim mean, wfsim se, ciw mean, ciw se)

    def row(label, wkey, ckey):
        wm, wse = mean_se([r[wkey] for r in wf_reps])
        cm, cse = mean_se([r[ckey] for r in ciw_reps])
        rows.append((label, wm, wse, cm, cse))

    row("wait for a slot, mean (s)", "wait_mean", "wait_mean")
    cm, cse = mean_se([r["wait_mean"] for r in ciw_reps])
    # The pooled run's R replications vary as the R single runs do: their standard error.
    wse = mean_se([r["wait_mean"] for r in wf_reps])[1]
    rows.append((f"  same, --replications {R} (s)", pl["queue_wait_s"]["mean"], wse, cm, cse))
    row("share of grants waiting", "share_waiting", "share_waiting")
    row("utilisation of `shared`", "utilisation", "utilisation")
    row("a: wait, whole run (s)", "run_wait_a", "run_wait_a")
    row("b: wait, whole run (s)", "run_wait_b", "run_wait_b")
    for reps in (wf_reps, ciw_reps):
        for r in reps:
            r["run_wait_b_minus_a"] = r["run_wait_b"] - r["run_wait_a"]
    # Paired within each replication, so much tighter: the test of where `b` joins the queue.
    row("b - a: wait, whole run (s)", "run_wait_b_minus_a", "run_wait_b_minus_a")

    failed = 0
    print(f"two-station shared queue: lambda {LAMBDA:.3f}/s, a ~ Exp(mean {MEAN_A} s) -> b ~ Exp(mean {MEAN_B} s), "
          f"{C} slots, rho {RHO:.3f}; window [{WARMUP:.0f}, {DURATION:.0f}] s; {R} replications each")
    print(f"  {'statistic':32} {'wfsim':>18} {'Ciw':>18} {'diff':>9} {'4 se':>8}  verdict")
    for label, wm, wse, cm, cse in rows:
        se = math.hypot(wse, cse)
        d = wm - cm
        ok = abs(d) <= TOL_SIGMAS * se
        failed += 0 if ok else 1
        print(f"  {label:32} {wm:9.4f} ± {1.96 * wse:6.4f} {cm:9.4f} ± {1.96 * cse:6.4f} {d:+9.4f} {TOL_SIGMAS * se:8.4f}  {'ok' if ok else 'DISAGREE'}")
    for k in ("wait_mean_a", "wait_mean_b"):
        m, se = mean_se([r[k] for r in ciw_reps])
        print(f"  (Ciw only) {k[-1]}: wait in the window   {m:.4f} ± {1.96 * se:.4f} s")
    # Sanity: the environment (ENV slots) carries the same busy slot-seconds as the queue.
    envu = mean_se([r["env_utilisation"] * ENV / C for r in wf_reps])[0]
    wu = mean_se([r["utilisation"] for r in wf_reps])[0]
    if abs(envu - wu) > 1e-9:
        print(f"  DISAGREE: wfsim environment utilisation x {ENV}/{C} = {envu:.6f} != queue utilisation {wu:.6f}")
        failed += 1
    dl = sum(r["deadlocked"] for r in wf_reps)
    if dl:
        print(f"  DISAGREE: wfsim reports {dl} deadlocked runs")
        failed += 1
    print(f"  (intervals are 95%: 1.96 se; the tolerance is 4 se of the difference; offered load rho = {RHO:.3f})")
    print(f"  time: Ciw {ciw_s:.1f} s, wfsim {wf_s:.1f} s ({R + 1} processes)")
    out["failed"] = failed
    if a.json:
        print(json.dumps(out, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
