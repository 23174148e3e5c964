//! Invariant properties of the load mode over generated scenarios.
//!
//! A proptest strategy builds random valid load scenarios as data ([`Scenario`]): one to four
//! tasks, the first one the entry, each triggering later tasks only (`triggerAndWait`,
//! `batchTriggerAndWait`, `trigger`), work of fixed, uniform, normal, lognormal and
//! exponential durations that may fail (retryable or not), waits of at most 5 s, under 60 s
//! and over 60 s, task retries with short (< 30 s, the slot is kept) and long (>= 30 s, the
//! run queues again) delays, named queues with or without a `concurrencyLimit` shared by
//! several tasks, a `concurrencyKey` from an input attribute (a choice of names or a rounded
//! uniform), `priority`, `delay`, `ttl`, and a `load:` block with Poisson or constant
//! arrivals, an optional schedule and bursts (some after the end: ignored), a short duration
//! and a warm-up, an environment limit of 1 to 20, a burst factor in [1, 2], `keepWarm`,
//! `coldStart`, sometimes a small `maxQueueSize` and sometimes the dequeue loop. It writes them as YAML, loads the text
//! and simulates replications with `wfsim::engine::simulate_load`.
//!
//! Checked per replication (the generator knows what it wrote, so the expected caps, ttl and
//! queue names are computed from the scenario, not read from the engine):
//!
//! - conservation, as the engine accounts (src/engine/load.rs): `outcomes` are the workflow
//!   runs that arrived in the window, in arrival order, and the per-task totals cover exactly
//!   those (the entry task has one run per outcome: children trigger later tasks only);
//!   every task run of them ends once with one of the five statuses, and no workflow run is
//!   deadlocked (left unfinished when nothing is left to happen: a parent waiting on a child
//!   gives its slot back, a rejected child throws in its parent: the engine bug at the end of
//!   this file, fixed); the outcomes by status are the entry runs' statuses
//!   plus FAILED for the deadlocked ones; with no warm-up `arrived` = outcomes, `deadlocked`
//!   = the unfinished entry runs and `expired` = the EXPIRED task runs (`arrived`,
//!   `expired`, `deadlocked` and the rejections also count the warm-up's runs, so with one
//!   they are bounds: `arrived` >= outcomes + carried-in runs); only tasks with a ttl expire,
//!   only queues with a size limit reject, and with no warm-up a queue's rejections are
//!   FAILED runs of its tasks; an EXPIRED workflow run lasted exactly the entry's delay + ttl;
//!   the entry runs ended in the window are at least the window's arrivals that ended in it
//!   and at most the arrivals not deadlocked;
//! - every wait for a slot, duration, cost, usage, area and backlog sample finite and >= 0,
//!   a run's makespan at least its duration, per-key waits adding up to the queue's;
//! - utilisation: the environment's busy area at most its cap (limit x burst factor, floored)
//!   times the window, each queue's at most min(its cap x key values, environment cap) times
//!   the window, and the queues' busy areas adding up to the environment's (each slot in use
//!   belongs to one queue);
//! - Little's law on the sample path, exactly up to rounding (the identity and rounding bound
//!   of `tests/load.rs`): it holds on every generated scenario because `outcomes` and
//!   `carried_in` together are every workflow run in the system during the window (warm-up
//!   runs carried in included);
//! - determinism: the same (seed, replication) simulated twice on one thread (the second
//!   reusing the thread's engine state) and `run_load` on 1 and 2 threads give identical
//!   outcomes, bit for bit.
//!
//! The one-queue path (src/engine/load/one_queue.rs) against the general engine: generated
//! scenarios whose entry is made a one-step task in one queue (the rest as generated) give
//! the same replications, bit for bit, through both, and pass the checks above. And on a grid
//! of quarter seconds where events tie (constant arrivals, fixed work and latencies), the
//! one-queue path, the general engine and the fibers all agree.
//!
//! Through the binary, for one case in eight: `wfsim run FILE --format json --replications 3`
//! is byte-identical on 1 and 2 threads, and its JSON holds no null (a NaN or infinity
//! serialises as null) and only finite numbers.
//!
//! Case counts: 256 scenarios by default (32 through the binary; about 3 s in `cargo test
//! --release`); `WFSIM_LOAD_PROP_CASES=N` runs N (N / 8 through the binary), from the fixed
//! generator seed 1 unless `WFSIM_PROPTEST_SEED` sets another (printed with a failing test's
//! output), e.g.
//!
//! ```sh
//! WFSIM_LOAD_PROP_CASES=2000 cargo test --release --test load_properties
//! ```

mod common;
use common::{config, ms, secs};

use assert_cmd::Command;
use proptest::prelude::*;
use std::fmt::Write as _;
use wfsim::engine::{LoadOutcome, Status, TaskAcc, simulate_load, simulate_load_fibers, simulate_load_general};
use wfsim::model::Model;
use wfsim::montecarlo::run_load;
use wfsim::scenario::load_str;

/// Replications simulated per scenario.
const REPS: u64 = 2;

fn cases() -> u32 {
    common::cases("WFSIM_LOAD_PROP_CASES")
}

// ------------------------------------------------------------------ the scenario as data

/// A distribution of seconds.
#[derive(Debug, Clone)]
enum Dur {
    Fixed(f64),
    Uniform(f64, f64),
    Normal(f64, f64),
    LogNormal(f64, f64),
    Exponential(f64),
}

impl Dur {
    fn yaml(&self) -> String {
        match *self {
            Dur::Fixed(x) => secs(x),
            Dur::Uniform(a, b) => format!("{{ uniform: [{}, {}] }}", secs(a), secs(b)),
            Dur::Normal(m, sd) => format!("{{ normal: {{ mean: {}, sd: {} }} }}", secs(m), secs(sd)),
            Dur::LogNormal(median, p95) => {
                format!("{{ lognormal: {{ median: {}, p95: {} }} }}", secs(median), secs(p95))
            }
            Dur::Exponential(m) => format!("{{ exponential: {{ mean: {} }} }}", secs(m)),
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// Duration, failure (probability, retryable).
    Work(Dur, Option<(f64, bool)>),
    /// wait.for this many seconds.
    Wait(f64),
    TriggerAndWait(usize),
    Batch(usize, u32),
    Trigger(usize),
}

#[derive(Debug, Clone)]
struct Task {
    /// Index of a named queue.
    queue: Option<usize>,
    keyed: bool,
    priority: Option<f64>,
    delay: Option<f64>,
    ttl: Option<f64>,
    /// maxAttempts, minTimeoutInMs.
    retry: Option<(u32, u32)>,
    /// Progress slice, percent (only the one-queue property sets one).
    progress: Option<(u32, u32)>,
    steps: Vec<Step>,
}

/// The input attribute used as a concurrency key.
#[derive(Debug, Clone)]
enum Tenant {
    /// A choice among this many names.
    Choice(usize),
    /// A rounded uniform on [0, hi].
    Rounded(u32),
}

impl Tenant {
    fn values(&self) -> u32 {
        match *self {
            Tenant::Choice(n) => n as u32,
            Tenant::Rounded(hi) => hi + 1,
        }
    }
}

#[derive(Debug, Clone)]
struct Load {
    poisson: bool,
    per_minute: f64,
    duration: f64,
    warmup: f64,
    env: u32,
    burst_factor: f64,
    schedule: Vec<(f64, f64)>,
    bursts: Vec<(f64, u32)>,
    keep_warm: Option<f64>,
    cold_start: Option<Dur>,
    max_queue_size: Option<u32>,
    /// The dequeue loop: (interval, idle interval), seconds.
    dequeue: Option<(f64, f64)>,
}

#[derive(Clone)]
struct Scenario {
    latency: Option<Dur>,
    tenant: Tenant,
    /// concurrencyLimit of each named queue.
    queues: Vec<Option<u32>>,
    tasks: Vec<Task>,
    load: Load,
}

/// Shown as its YAML text (a failing case prints it so).
impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\n{}", self.yaml())
    }
}

impl Scenario {
    fn yaml(&self) -> String {
        let mut y = String::from("name: generated-load\n");
        if let Some(l) = &self.latency {
            let _ = writeln!(y, "startLatency: {}", l.yaml());
        }
        y += "limits: { maxEventsPerRun: 100000000 }\n";
        y += "input:\n";
        match self.tenant {
            Tenant::Choice(n) => {
                let w: Vec<String> = (0..n).map(|i| format!("k{i}: {}", i + 1)).collect();
                let _ = writeln!(y, "  tenant: {{ choice: {{ {} }} }}", w.join(", "));
            }
            Tenant::Rounded(hi) => {
                let _ = writeln!(y, "  tenant: {{ uniform: [0, {hi}], round: true }}");
            }
        }
        y += "entry: t0\ntasks:\n";
        for (i, t) in self.tasks.iter().enumerate() {
            let _ = writeln!(y, "  t{i}:");
            if let Some(q) = t.queue {
                match self.queues[q] {
                    Some(lim) => {
                        let _ = writeln!(y, "    queue: {{ name: q{q}, concurrencyLimit: {lim} }}");
                    }
                    None => {
                        let _ = writeln!(y, "    queue: {{ name: q{q} }}");
                    }
                }
            }
            if t.keyed {
                y += "    concurrencyKey: tenant\n";
            }
            for (k, v) in [("priority", t.priority), ("delay", t.delay), ("ttl", t.ttl)] {
                if let Some(v) = v {
                    let _ = writeln!(y, "    {k}: {}", secs(v));
                }
            }
            if let Some((lo, hi)) = t.progress {
                let _ = writeln!(y, "    progress: [{lo}, {hi}]");
            }
            if let Some((a, ms)) = t.retry {
                let _ = writeln!(y, "    retry: {{ maxAttempts: {a}, minTimeoutInMs: {ms}, factor: 1.5 }}");
            }
            y += "    steps:\n";
            for s in &t.steps {
                match s {
                    Step::Work(d, f) => {
                        let fail = match f {
                            None => String::new(),
                            Some((p, true)) => format!(", failure: {p}"),
                            Some((p, false)) => format!(", failure: {{ probability: {p}, retryable: false }}"),
                        };
                        let _ = writeln!(y, "      - work: {{ duration: {}{fail} }}", d.yaml());
                    }
                    Step::Wait(w) => {
                        let _ = writeln!(y, "      - wait: {}", secs(*w));
                    }
                    Step::TriggerAndWait(c) => {
                        let _ = writeln!(y, "      - triggerAndWait: t{c}");
                    }
                    Step::Batch(c, n) => {
                        let _ = writeln!(y, "      - batchTriggerAndWait: {{ task: t{c}, count: {n} }}");
                    }
                    Step::Trigger(c) => {
                        let _ = writeln!(y, "      - trigger: t{c}");
                    }
                }
            }
        }
        let l = &self.load;
        y += "load:\n";
        let kind = if l.poisson { "poisson" } else { "constant" };
        let _ = writeln!(y, "  arrivals: {{ {kind}: {{ perMinute: {} }} }}", l.per_minute);
        let _ = writeln!(y, "  duration: {}", secs(l.duration));
        if l.warmup > 0.0 {
            let _ = writeln!(y, "  warmup: {}", secs(l.warmup));
        }
        let _ = writeln!(y, "  environmentConcurrency: {}", l.env);
        let _ = writeln!(y, "  burstFactor: {}", l.burst_factor);
        if !l.schedule.is_empty() {
            let e: Vec<String> =
                l.schedule.iter().map(|(u, r)| format!("{{ until: {}, perMinute: {r} }}", secs(*u))).collect();
            let _ = writeln!(y, "  schedule: [ {} ]", e.join(", "));
        }
        if !l.bursts.is_empty() {
            let e: Vec<String> = l.bursts.iter().map(|(a, n)| format!("{{ at: {}, runs: {n} }}", secs(*a))).collect();
            let _ = writeln!(y, "  bursts: [ {} ]", e.join(", "));
        }
        if let Some(k) = l.keep_warm {
            let _ = writeln!(y, "  keepWarm: {}", secs(k));
        }
        if let Some(c) = &l.cold_start {
            let _ = writeln!(y, "  coldStart: {}", c.yaml());
        }
        if let Some(m) = l.max_queue_size {
            let _ = writeln!(y, "  maxQueueSize: {m}");
        }
        if let Some((every, idle)) = l.dequeue {
            let _ = writeln!(y, "  dequeueInterval: {}\n  dequeueIdleInterval: {}", secs(every), secs(idle));
        }
        y
    }

    /// Name of task `t`'s queue (its own, named after it, without a `queue:`).
    fn queue_name(&self, t: usize) -> String {
        match self.tasks[t].queue {
            Some(q) => format!("q{q}"),
            None => format!("t{t}"),
        }
    }

    /// Environment cap: limit x burst factor, floored, at least 1.
    fn env_cap(&self) -> u32 {
        ((f64::from(self.load.env) * self.load.burst_factor).floor() as u32).max(1)
    }

    /// The slots of the queue named `name` over all its copies: min(concurrencyLimit,
    /// environment limit) per copy, one copy per key value when a task of it has a key.
    fn queue_cap(&self, name: &str) -> u32 {
        let tasks: Vec<usize> = (0..self.tasks.len()).filter(|&t| self.queue_name(t) == name).collect();
        let limit = match self.tasks[tasks[0]].queue {
            Some(q) => self.queues[q].unwrap_or(u32::MAX),
            None => u32::MAX,
        };
        let copies = if tasks.iter().any(|&t| self.tasks[t].keyed) { self.tenant.values() } else { 1 };
        limit.min(self.load.env) * copies
    }
}

// ------------------------------------------------------------------ strategies

fn dur(hi: f64) -> BoxedStrategy<Dur> {
    prop_oneof![
        2 => (0.0..hi).prop_map(|x| Dur::Fixed(ms(x))),
        2 => (0.0..hi, 0.001..hi).prop_map(|(a, d)| Dur::Uniform(ms(a), ms(a + d))),
        1 => (0.0..hi, 0.001..hi / 2.0).prop_map(|(m, sd)| Dur::Normal(ms(m), ms(sd).max(0.001))),
        2 => (0.01..hi, 1.2f64..6.0).prop_map(|(m, f)| {
            let median = ms(m).max(0.01);
            Dur::LogNormal(median, ms(median * f).max(median + 0.001))
        }),
        2 => (0.01..hi).prop_map(|m| Dur::Exponential(ms(m).max(0.001))),
    ]
    .boxed()
}

fn step(me: usize, n: usize) -> BoxedStrategy<Step> {
    let failure =
        prop::option::weighted(0.4, ((0.0..0.5f64).prop_map(|p| (p * 1000.0).round() / 1000.0), any::<bool>()));
    let mut options: Vec<(u32, BoxedStrategy<Step>)> = vec![
        (5, (dur(30.0), failure).prop_map(|(d, f)| Step::Work(d, f)).boxed()),
        (
            2,
            prop_oneof![
                1 => (0.0..5.0f64).prop_map(ms),
                2 => (5.5..59.0f64).prop_map(ms),
                2 => (61.0..200.0f64).prop_map(ms),
            ]
            .prop_map(Step::Wait)
            .boxed(),
        ),
    ];
    if me + 1 < n {
        options.push((3, (me + 1..n).prop_map(Step::TriggerAndWait).boxed()));
        options.push((2, (me + 1..n, 0u32..=3).prop_map(|(t, c)| Step::Batch(t, c)).boxed()));
        options.push((1, (me + 1..n).prop_map(Step::Trigger).boxed()));
    }
    prop::strategy::Union::new_weighted(options).boxed()
}

fn task(me: usize, n: usize, queues: usize) -> BoxedStrategy<Task> {
    let retry = prop::option::weighted(
        0.4,
        (1u32..=3, prop_oneof![3 => 50u32..5000, 1 => 30_000u32..45_000]).prop_map(|(a, m)| (a, m)),
    );
    (
        prop::option::weighted(0.6, 0..queues),
        prop::bool::weighted(0.35),
        prop::option::weighted(0.3, (0.0..120.0f64).prop_map(ms)),
        prop::option::weighted(0.2, (0.0..60.0f64).prop_map(ms)),
        prop::option::weighted(0.3, (1.0..300.0f64).prop_map(ms)),
        retry,
        prop::collection::vec(step(me, n), 1..=3),
    )
        .prop_map(|(queue, keyed, priority, delay, ttl, retry, steps)| Task {
            queue,
            keyed,
            priority,
            delay,
            ttl,
            retry,
            progress: None,
            steps,
        })
        .boxed()
}

fn load() -> BoxedStrategy<Load> {
    let minutes = 5u32..=30;
    (
        any::<bool>(),
        (0.0..30.0f64).prop_map(|r| (r * 10.0).round() / 10.0),
        minutes,
        prop::option::weighted(0.5, 0.0..0.4f64),
        1u32..=20,
        prop_oneof![1 => Just(1.0), 1 => Just(2.0), 2 => (1.0..2.0f64).prop_map(|b| (b * 100.0).round() / 100.0)],
        prop::collection::vec((0.0..1.0f64, (0.0..40.0f64).prop_map(|r| r.round())), 0..=2),
        prop::collection::vec((0.0..1.2f64, 1u32..=30), 0..=2),
        prop::option::weighted(0.5, (0.0..600.0f64).prop_map(|k| k.round())),
        prop::option::weighted(0.6, dur(8.0)),
        prop::option::weighted(0.3, 1u32..=20),
        prop::option::weighted(0.3, (50u32..=500, 1u32..=4)),
    )
        .prop_map(
            |(poisson, per_minute, minutes, warmup, env, burst_factor, sched, bursts, keep_warm, cold, mqs, dq)| {
                let duration = f64::from(minutes) * 60.0;
                // Schedule entries in increasing `until` order, whole seconds.
                let mut schedule: Vec<(f64, f64)> = sched.iter().map(|&(f, r)| ((f * duration).round(), r)).collect();
                schedule.sort_by(|a, b| a.0.total_cmp(&b.0));
                schedule.dedup_by(|a, b| a.0 == b.0);
                Load {
                    poisson,
                    per_minute,
                    duration,
                    warmup: warmup.map_or(0.0, |w| (w * duration).round()),
                    env,
                    burst_factor,
                    schedule,
                    bursts: bursts.iter().map(|&(f, n)| ((f * duration).round(), n)).collect(),
                    keep_warm,
                    cold_start: cold,
                    max_queue_size: mqs,
                    dequeue: dq.map(|(ms, f)| (f64::from(ms) / 1000.0, f64::from(ms * f) / 1000.0)),
                }
            },
        )
        .boxed()
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=4, 1usize..=2)
        .prop_flat_map(|(n, nq)| {
            let tasks: Vec<BoxedStrategy<Task>> = (0..n).map(|i| task(i, n, nq)).collect();
            (
                prop::option::weighted(0.7, dur(1.0)),
                prop_oneof![(1usize..=4).prop_map(Tenant::Choice), (0u32..=6).prop_map(Tenant::Rounded)],
                prop::collection::vec(prop::option::weighted(0.8, 1u32..=5), nq),
                tasks,
                load(),
            )
        })
        .prop_map(|(latency, tenant, queues, tasks, load)| Scenario { latency, tenant, queues, tasks, load })
}

// ------------------------------------------------------------------ checks

fn model(s: &Scenario) -> Result<Model, TestCaseError> {
    match load_str(&s.yaml(), "generated.yaml") {
        Ok(l) => Ok(l.model),
        Err(e) => Err(TestCaseError::fail(format!("the generated scenario does not load: {e}"))),
    }
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok { Ok(()) } else { Err(TestCaseError::fail(what())) }
}

fn finite_nonneg(x: f64, what: &str) -> Result<(), TestCaseError> {
    ensure(x.is_finite() && x >= 0.0, || format!("{what} = {x}"))
}

/// Relative slack for sums of many floating-point products.
const REL: f64 = 1e-9;

fn check_rep(s: &Scenario, o: &LoadOutcome, tasks: &[TaskAcc]) -> Result<(), TestCaseError> {
    let l = &s.load;
    let (w0, w1) = o.window;
    ensure(o.window == (l.warmup, l.duration), || format!("window {:?}", o.window))?;
    let t_len = w1 - w0;

    // ---- conservation
    // A workflow run left unfinished when nothing is left to happen is deadlocked: its entry
    // run never ended, and the outcome says FAILED. None can be: a parent waiting on a child
    // gives its slot back, every other hold of a slot ends, and a child rejected by a full
    // queue throws in its parent.
    ensure(o.deadlocked == 0, || format!("{} deadlocked runs, none possible here", o.deadlocked))?;
    // The per-task totals cover the workflow runs that arrived in the window (the outcomes).
    let n = o.outcomes.len() as u64;
    ensure(tasks[0].runs == n, || format!("entry runs {} vs {n} outcomes", tasks[0].runs))?;
    let stuck = tasks[0].runs - tasks[0].statuses.iter().sum::<u64>().min(tasks[0].runs);
    ensure(stuck <= o.deadlocked, || format!("{stuck} entry runs never ended, {} deadlocked", o.deadlocked))?;
    for (t, acc) in tasks.iter().enumerate() {
        let ended: u64 = acc.statuses.iter().sum();
        // Every task run ends, fire-and-forget children included.
        ensure(ended == acc.runs, || {
            format!("t{t}: {} runs, {ended} ended ({:?}), {} deadlocked", acc.runs, acc.statuses, o.deadlocked)
        })?;
        if s.tasks[t].ttl.is_none() {
            ensure(acc.statuses[Status::Expired as usize] == 0, || format!("t{t} has no ttl but expired"))?;
        }
    }
    ensure(o.outcomes.len() == o.arrivals.len(), || "outcomes and arrivals differ in length".into())?;
    ensure(o.arrivals.windows(2).all(|w| w[0] <= w[1]), || "arrivals out of order".into())?;
    ensure(o.arrivals.iter().all(|&a| a >= w0 && a <= w1), || "an arrival outside the window".into())?;
    let mut by_status = [0u64; 5];
    for x in &o.outcomes {
        by_status[x.status as usize] += 1;
    }
    // Outcomes by status: the entry runs' statuses, and FAILED for the deadlocked ones.
    let mut want = tasks[0].statuses;
    want[Status::Failed as usize] += stuck;
    ensure(by_status == want, || {
        format!("outcome statuses {by_status:?} vs entry runs {:?} + {stuck} deadlocked", tasks[0].statuses)
    })?;
    // `expired`, `arrived` and the queues' rejections count the warm-up's runs too.
    let expired: u64 = tasks.iter().map(|a| a.statuses[Status::Expired as usize]).sum();
    if l.warmup == 0.0 {
        ensure(o.arrived == n, || format!("arrived {} vs {n} outcomes, no warm-up", o.arrived))?;
        ensure(o.deadlocked == stuck, || format!("{} deadlocked, {stuck} unfinished entry runs", o.deadlocked))?;
        ensure(o.expired == expired, || format!("expired {} vs EXPIRED task runs {expired}", o.expired))?;
    } else {
        ensure(o.arrived >= n + o.carried_in.len() as u64, || {
            format!("arrived {} < {n} in the window + {} carried in", o.arrived, o.carried_in.len())
        })?;
        ensure(o.expired >= expired, || format!("expired {} < EXPIRED task runs {expired}", o.expired))?;
    }
    for q in &o.queues {
        if l.max_queue_size.is_none() {
            ensure(q.rejected == 0, || format!("queue {} rejects with no size limit", q.name))?;
        }
        if l.warmup == 0.0 {
            let failed: u64 = (0..s.tasks.len())
                .filter(|&t| s.queue_name(t) == q.name)
                .map(|t| tasks[t].statuses[Status::Failed as usize])
                .sum();
            ensure(q.rejected <= failed, || format!("queue {}: {} rejected, {failed} FAILED", q.name, q.rejected))?;
        }
    }
    let entry = &s.tasks[0];
    for (x, a) in o.outcomes.iter().zip(&o.arrivals) {
        if x.status == Status::Expired {
            let want = entry.delay.unwrap_or(0.0) + entry.ttl.unwrap_or(f64::NAN);
            ensure((x.duration_s - want).abs() <= 1e-9 * (a + want).max(1.0), || {
                format!("EXPIRED run arrived at {a} lasted {}, delay + ttl {want}", x.duration_s)
            })?;
        }
    }
    let ended_inside =
        o.outcomes.iter().zip(&o.arrivals).filter(|(x, a)| *a + x.duration_s < w1 * (1.0 - 1e-12) - 1e-9).count();
    ensure(o.completed_in_window >= ended_inside as u64 && o.completed_in_window + o.deadlocked <= o.arrived, || {
        format!("completed_in_window {} vs {ended_inside} ended inside, {} arrived", o.completed_in_window, o.arrived)
    })?;
    ensure(o.warm_starts <= o.starts, || "more warm starts than starts".into())?;
    let grants: usize = o.queues.iter().map(|q| q.waits.len()).sum();
    ensure(grants as u64 <= o.starts, || format!("{grants} grants in the window, {} in all", o.starts))?;

    // ---- finite and >= 0
    for x in &o.outcomes {
        for (name, v) in common::quantities(x) {
            finite_nonneg(v, name)?;
        }
        // (A deadlocked run's duration runs to the last event, past its task runs' ends.)
        if o.deadlocked == 0 {
            ensure(x.makespan_s >= x.duration_s, || format!("makespan {} < duration {}", x.makespan_s, x.duration_s))?;
        }
    }
    for q in &o.queues {
        for &w in &q.waits {
            finite_nonneg(w, &format!("a wait in {}", q.name))?;
        }
        finite_nonneg(q.busy_area, "busy_area")?;
        if !q.by_key.is_empty() {
            let k: usize = q.by_key.iter().map(Vec::len).sum();
            ensure(k == q.waits.len(), || format!("queue {}: {k} waits by key, {} in all", q.name, q.waits.len()))?;
        }
    }
    for &(a, d) in &o.carried_in {
        finite_nonneg(a, "carried-in arrival")?;
        finite_nonneg(d, "carried-in duration")?;
    }
    for &(t, b) in &o.backlog {
        finite_nonneg(t, "backlog time")?;
        finite_nonneg(b, "backlog")?;
    }
    finite_nonneg(o.env_busy_area, "env_busy_area")?;
    finite_nonneg(o.in_system_area, "in_system_area")?;

    // ---- utilisation
    let env_cap = s.env_cap();
    ensure(o.env_cap == env_cap && o.env_base == l.env, || format!("env cap {} base {}", o.env_cap, o.env_base))?;
    let cap_area = f64::from(env_cap) * t_len;
    ensure(o.env_busy_area <= cap_area * (1.0 + REL), || {
        format!("environment busy {} > cap {env_cap} x {t_len}", o.env_busy_area)
    })?;
    let mut sum = 0.0;
    for q in &o.queues {
        let cap = s.queue_cap(&q.name);
        ensure(q.cap == cap, || format!("queue {}: cap {} expected {cap}", q.name, q.cap))?;
        let bound = f64::from(cap.min(env_cap)) * t_len;
        ensure(q.busy_area <= bound * (1.0 + REL), || format!("queue {} busy {} > {bound}", q.name, q.busy_area))?;
        sum += q.busy_area;
    }
    ensure((sum - o.env_busy_area).abs() <= REL * o.env_busy_area.max(1.0), || {
        format!("queues busy {sum} vs environment {}", o.env_busy_area)
    })?;

    // ---- Little's law on the sample path (tests/load.rs's identity and rounding bound)
    let u = f64::EPSILON / 2.0;
    let overlap = |a: f64, d: f64| ((a + d).min(w1) - a.max(w0)).max(0.0);
    let (mut total, mut rebuild, mut runs) = (0.0, 0.0, 0u64);
    let all = o.arrivals.iter().zip(&o.outcomes).map(|(&a, x)| (a, x.duration_s)).chain(o.carried_in.iter().copied());
    for (a, d) in all {
        total += overlap(a, d);
        rebuild += a + 2.0 * d;
        runs += 1;
    }
    let area = o.in_system_area;
    let tol = u * ((o.in_system_terms as f64 + 1.0) * area + rebuild + (runs as f64 + 1.0) * total);
    ensure((area - total).abs() <= tol, || {
        format!("in-system area {area} vs sum of overlaps {total}: {} > {tol}", (area - total).abs())
    })?;
    Ok(())
}

fn check_scenario(s: &Scenario, seed: u64) -> Result<(), TestCaseError> {
    let m = model(s)?;
    let mut reps = Vec::new();
    for r in 0..REPS {
        let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
        let o = simulate_load(&m, seed, r, &mut tasks).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        check_rep(s, &o, &tasks).map_err(|e| TestCaseError::fail(format!("replication {r}: {e}")))?;
        // Determinism: again on this thread (its engine state reused), bit for bit.
        let mut again = vec![TaskAcc::default(); m.tasks.len()];
        let o2 = simulate_load(&m, seed, r, &mut again).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        ensure(format!("{o:?}") == format!("{o2:?}") && tasks == again, || {
            format!("replication {r} differs when simulated again")
        })?;
        reps.push(format!("{o:?}"));
    }
    // And through run_load on 1 and 2 threads: the same replications.
    for threads in [1, 2] {
        let r = run_load(&m, seed, REPS, Some(threads)).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let got: Vec<String> = r.reps.iter().map(|o| format!("{o:?}")).collect();
        ensure(got == reps, || format!("run_load on {threads} thread(s) differs from simulate_load"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn load_invariants_hold_on_generated_scenarios(s in scenario(), seed in any::<u64>()) {
        check_scenario(&s, seed)?;
    }
}

/// The generated scenario with its entry task made a one-step task that always completes
/// (half of them with a progress slice), in its own or a named queue without a concurrencyKey,
/// without delay or ttl, and without the dequeue loop: a load the one-queue path takes (`src/engine/load/one_queue.rs`). The other
/// tasks stay as generated (never triggered; their queues still appear in the statistics).
fn one_queue_scenario() -> impl Strategy<Value = Scenario> {
    let slice = prop::option::weighted(0.5, (0u32..=100, 0u32..=100).prop_map(|(a, b)| (a.min(b), a.max(b))));
    (scenario(), dur(30.0), slice).prop_map(|(mut s, d, progress)| {
        let t = &mut s.tasks[0];
        t.keyed = false;
        t.delay = None;
        t.ttl = None;
        t.progress = progress;
        t.steps = vec![Step::Work(d, None)];
        s.load.dequeue = None;
        s
    })
}

proptest! {
    #![proptest_config(config(cases()))]

    /// The one-queue path gives what the general engine gives, bit for bit: every field of
    /// every replication (outcomes, waits, areas, backlog, counts) and the task totals. The
    /// generator covers rate schedules, bursts (tying with arrivals and samples), full queues,
    /// random start and cold-start latencies, keepWarm, warm-ups and priorities; ties between
    /// work ends and arrivals need the quarter-second grid of `one_step_loads_agree_on_ties`.
    #[test]
    fn the_one_queue_path_matches_the_general_engine(s in one_queue_scenario(), seed in any::<u64>()) {
        paths_agree(&s, seed, &[("the one-queue path", simulate_load), ("the general engine", simulate_load_general)])?;
    }
}

/// A way of simulating a load replication (`simulate_load` and its reference modes).
type Sim = fn(&Model, u64, u64, &mut [TaskAcc]) -> Result<LoadOutcome, wfsim::engine::SimError>;

/// The scenario's load takes the one-queue path, and every replication comes out the same
/// along each of `paths`, bit for bit (Debug prints each f64 exactly, shortest round trip, so
/// equal text is equal bits), with the same task totals, and passes `check_rep`.
fn paths_agree(s: &Scenario, seed: u64, paths: &[(&str, Sim)]) -> Result<(), TestCaseError> {
    let m = model(s)?;
    ensure(wfsim::engine::load_takes_one_queue(&m), || "the one-queue path does not apply".to_owned())?;
    for r in 0..REPS {
        let mut first: Option<(&str, String, Vec<TaskAcc>, LoadOutcome)> = None;
        for &(name, sim) in paths {
            let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
            let o = sim(&m, seed, r, &mut tasks).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let text = format!("{o:?}");
            match &first {
                None => first = Some((name, text, tasks, o)),
                Some((f, t, ft, _)) => {
                    ensure(*t == text, || format!("replication {r}: {name} differs from {f}"))?;
                    ensure(*ft == tasks, || format!("replication {r}: {name}'s task totals differ from {f}'s"))?;
                }
            }
        }
        if let Some((_, _, tasks, o)) = &first {
            check_rep(s, o, tasks).map_err(|e| TestCaseError::fail(format!("replication {r}: {e}")))?;
        }
    }
    Ok(())
}

/// A one-step load on a grid of quarter seconds, where events tie: constant arrivals every
/// 0.25, 0.5, 1 or 2 s (a schedule's rates from the same set), fixed work, start and
/// cold-start latencies and keepWarm all multiples of 0.25 s (0 included), bursts on whole
/// seconds (also at the warm-up's start and at the end), 1 to 4 slots. Random times almost never tie
/// (a tie needs latency + duration to be a multiple of the gap exactly); these tie all the time.
fn tie_grid_scenario() -> impl Strategy<Value = Scenario> {
    let quarter = |hi: u32| (0..=hi).prop_map(|k| f64::from(k) * 0.25);
    let rate = prop_oneof![Just(240.0), Just(120.0), Just(60.0), Just(30.0)];
    (one_queue_scenario(), quarter(12), quarter(4), quarter(8), quarter(12), rate.clone(), rate, 1u32..=4).prop_map(
        |(mut s, work, latency, cold, keep, per_minute, other, env)| {
            s.tasks[0].steps = vec![Step::Work(Dur::Fixed(work), None)];
            s.latency = Some(Dur::Fixed(latency));
            let l = &mut s.load;
            l.poisson = false;
            l.per_minute = per_minute;
            for e in &mut l.schedule {
                e.1 = other;
            }
            l.cold_start = Some(Dur::Fixed(cold));
            l.keep_warm = Some(keep);
            l.env = env;
            l.warmup = l.warmup.round();
            s
        },
    )
}

proptest! {
    #![proptest_config(config(cases()))]

    /// On ties, the three ways of simulating a one-step load agree bit for bit: the one-queue
    /// path, the general engine (whose one-step shortcut skips the fibers) and the fibers. A
    /// review found the shortcut's in-line start at zero latency ordering a work end before a
    /// next arrival at the same instant, where the fibers order it after.
    #[test]
    fn one_step_loads_agree_on_ties(s in tie_grid_scenario(), seed in any::<u64>()) {
        paths_agree(
            &s,
            seed,
            &[
                ("the one-queue path", simulate_load),
                ("the general engine", simulate_load_general),
                ("the fibers", simulate_load_fibers),
            ],
        )?;
    }
}

// ------------------------------------------------------------------ through the binary

/// Exit code, stdout and stderr of `wfsim run FILE --format json --replications 3`.
fn run_json(file: &std::path::Path, seed: u64, threads: &str) -> Result<(Option<i32>, Vec<u8>, String), TestCaseError> {
    let out = Command::cargo_bin("wfsim")
        .expect("binary built")
        .arg("run")
        .arg(file)
        .args(["--format", "json", "--replications", "3", "--seed", &seed.to_string(), "--threads", threads])
        .output()
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    Ok((out.status.code(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned()))
}

/// Every number finite; no null (a NaN or infinity serialises as null).
fn check_json(v: &serde_json::Value) -> Result<(), TestCaseError> {
    common::json_numbers(v, "", &f64::is_finite).map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(config((cases() / 8).max(1)))]

    #[test]
    fn the_binary_is_deterministic_and_finite_on_generated_loads(s in scenario(), seed in any::<u64>()) {
        let dir = std::env::temp_dir().join(format!("wfsim-loadprop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let file = dir.join(format!("{seed}.yaml"));
        std::fs::write(&file, s.yaml()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let one = run_json(&file, seed, "1");
        let two = run_json(&file, seed, "2");
        let _ = std::fs::remove_file(&file);
        let ((code, one, err), (code2, two, _)) = (one?, two?);
        ensure(code == code2 && one == two, || "the output differs on 1 and 2 threads".into())?;
        // A load with no arrival in the window (a rate of 0 and no burst in it, say) is a
        // located error, exit code 2: only if the replications really have no outcome.
        if code == Some(2) && err.contains("no workflow run arrived in the measured window") {
            let r = run_load(&model(&s)?, seed, 3, None).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let n: usize = r.reps.iter().map(|o| o.outcomes.len()).sum();
            ensure(n == 0, || format!("exit 2 (no arrival) but {n} outcomes"))?;
            return Ok(());
        }
        ensure(code == Some(0), || format!("exit {code:?}: {err}"))?;
        let v: serde_json::Value = serde_json::from_slice(&one).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        ensure(v.get("load").is_some(), || "no load object".into())?;
        check_json(&v)?;
    }
}

// ------------------------------------------------------------------ an engine bug found here

/// An engine bug this file found (fixed): a `triggerAndWait` whose child was rejected by a
/// full queue (`load.maxQueueSize`) never woke its parent. The child ended FAILED inside
/// `trigger_run`, before `Op::TriggerAndWait` pointed the child's waiter at the parent's wake
/// generation, so the report was dropped; the parent (its slot already given back) waited for
/// ever and the workflow run was counted as deadlocked (and when the parent was itself a
/// fire-and-forget child, its task run never ended and nothing counted it). Now the rejected
/// trigger throws in the parent, as the SDK's failing trigger call does.
///
/// Minimal case: one slot, two runs at t = 0, a queue size of 1. P1 starts and triggers C1
/// (queued: P1 holds the slot), then gives its slot to P2 (queued before C1); P2 triggers
/// C2 into the full queue of `c`: rejected, so P2 fails there (no retry policy).
const REJECTED_CHILD: &str = "startLatency: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - triggerAndWait: c\n  c:\n    steps:\n      - work: { duration: 10s }\nload:\n  arrivals: { constant: { perMinute: 0 } }\n  bursts: [ { at: 0, runs: 2 } ]\n  duration: 1h\n  environmentConcurrency: 1\n  burstFactor: 1\n  coldStart: 0\n  maxQueueSize: 1\n";

#[test]
fn a_child_rejected_by_a_full_queue_fails_its_parent_instead_of_deadlocking() {
    let m = match load_str(REJECTED_CHILD, "rejected-child.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    };
    let r = run_load(&m, 1, 1, None).expect("simulates");
    let o = &r.reps[0];
    assert_eq!(o.queues.iter().map(|q| q.rejected).sum::<u64>(), 1);
    let failed = o.outcomes.iter().find(|x| x.status == Status::Failed).expect("P2 FAILED");
    assert_eq!(o.deadlocked, 0, "P2 deadlocked, lasting {} s", failed.duration_s);
    // P2 fails when its child is rejected, at t = 0.
    assert_eq!(failed.duration_s, 0.0);
}

proptest! {
    #![proptest_config(config(cases()))]

    /// The generated scenarios with a queue size limit: no deadlock and every task run ended
    /// there too (the bug above).
    #[test]
    fn no_run_deadlocks_with_a_queue_size_limit(
        s in scenario().prop_map(|mut s| {
            s.load.max_queue_size = Some(s.load.max_queue_size.unwrap_or(3));
            s
        }),
        seed in any::<u64>(),
    ) {
        let m = model(&s)?;
        for r in 0..REPS {
            let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
            let o = simulate_load(&m, seed, r, &mut tasks).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            ensure(o.deadlocked == 0, || format!("replication {r}: {} deadlocked runs", o.deadlocked))?;
            for (t, acc) in tasks.iter().enumerate() {
                let ended: u64 = acc.statuses.iter().sum();
                ensure(ended == acc.runs, || format!("replication {r}: t{t}: {} runs, {ended} ended", acc.runs))?;
            }
        }
    }
}
