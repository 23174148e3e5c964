//! Invariant properties over generated scenarios.
//!
//! A proptest strategy builds random but valid scenarios as data ([`Scenario`]: several tasks,
//! the first one the entry, steps chosen among work of fixed, uniform, triangular, normal,
//! lognormal and exponential durations, `perUnit` work, failures at the end or at a uniform
//! point, retryable or not, `retry.onThrow`, memory with out-of-memory retries, CPU-bound work
//! with `measuredOn` and `parallelFraction`, `parallel` with count and limit, `wait`, `poll`,
//! `branch` on input attributes, `triggerAndWait`, `batchTriggerAndWait`, `trigger` and
//! `batchTrigger` of later tasks only (so the task graph has no cycle), progress slices,
//! `maxDuration`, task retries with short and long delays), renders them as YAML text, loads
//! the text with `wfsim::scenario::load_str` and simulates it. The generator knows what it
//! wrote, so it can compute bounds independently of the engine (a lower bound of the entry
//! run's duration, the largest progress slice, each task's attempt limit).
//!
//! Checked per workflow run (with an [`Observer`] recording every attempt and task run) and
//! per scenario (Monte Carlo totals and the `run` JSON, in process):
//!
//! - times, costs and usage finite and >= 0; cost = compute + invocation = the sum over
//!   attempts of billed seconds x the preset's price, plus one invocation per task run;
//! - a COMPLETED run lasts at least the entry task's sum of minimum step durations (see
//!   [`Scenario::lower_bound`]); every run at least the minimum start latency;
//! - progress: the levels reached are a prefix, in time order, within [start, duration];
//!   a COMPLETED run reaches 100% by its end; levels above every progress slice are reached
//!   only by the engine's final 100% on success, i.e. exactly at the end of a COMPLETED run
//!   and never in any other run; a task's slice reached from its first attempt's start
//!   (`from`) and its completion (`to`) while the workflow run goes on;
//! - attempts of each task run: numbered 1, 2, ..., at most the task's `maxAttempts`
//!   (an out-of-memory retry counts as one, as on Trigger.dev), on the task's machine until
//!   an out-of-memory death and on `outOfMemory.machine` after it, every attempt but the last
//!   one a retried failure, the last one matching the run's status; billed time within the
//!   attempt's wall time and within `maxDuration`, a TIMED_OUT attempt billed exactly
//!   `maxDuration`;
//! - every triggered task run ends once; the observer changes nothing (the Monte Carlo
//!   outcome of run i equals the observed one); the per-task totals add up to the outcomes;
//! - the JSON of `run`: success rate in [0, 1], no null (a NaN or infinity serialises as
//!   null), no negative or non-finite number;
//! - through the binary, for fewer cases: the same seed gives byte-identical JSON on 1, 2 and 4
//!   threads and on a second run, and it parses with the same properties.
//!
//! Case counts: 256 generated scenarios by default and 32 through the binary, which is well
//! under a minute in `cargo test --release`; `WFSIM_PROP_CASES=N` runs N scenarios (and N / 8
//! through the binary), e.g.
//!
//! ```sh
//! WFSIM_PROP_CASES=5000 cargo test --release --test properties
//! ```
//!
//! The generator's seed is fixed (1; `WFSIM_PROPTEST_SEED` sets another, for campaigns that
//! explore new cases) and printed with a failing test's output. A failing case is printed in
//! full (its YAML text) after shrinking.

mod common;
use common::{config, ms, secs};

use assert_cmd::Command;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::fmt::Write as _;
use wfsim::engine::{self, AttemptEnd, AttemptRecord, LEVEL_STEP, LEVELS, Observer, RunOutcome, Scratch, Status};
use wfsim::model::{Model, TaskId};
use wfsim::montecarlo::{self, Config};
use wfsim::report::{Render, json::Json};
use wfsim::rng::run_key;
use wfsim::scenario::load_str;

// ------------------------------------------------------------------ platform facts
//
// From ../shared/trigger-dev-facts.md, written out here so that the checks do not read the
// engine's own tables.

const MACHINES: [&str; 7] = ["micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"];
const VCPU: [f64; 7] = [0.25, 0.5, 1.0, 1.0, 2.0, 4.0, 8.0];
const USD_PER_S: [f64; 7] = [0.0000169, 0.0000338, 0.0000675, 0.0000850, 0.0001700, 0.00034, 0.00068];
const INVOCATION_USD: f64 = 0.000025;

/// Largest number of task runs one workflow run of a generated scenario can make (fan-out
/// times retries): keeps every case fast.
const MAX_TASK_RUNS: f64 = 150.0;
/// Workflow runs simulated with the recording observer, per scenario.
const OBSERVED_RUNS: u64 = 60;
/// Workflow runs of the Monte Carlo, per scenario (two chunks of 1,024 would be slower; the
/// binary check covers chunk merging).
const MC_RUNS: u64 = 200;

fn cases() -> u32 {
    common::cases("WFSIM_PROP_CASES")
}

// ------------------------------------------------------------------ the scenario as data

/// A distribution of seconds.
#[derive(Debug, Clone)]
enum Dur {
    Fixed(f64),
    Uniform(f64, f64),
    Triangular(f64, f64, f64),
    Normal(f64, f64),
    LogNormal { median: f64, p95: f64, min: Option<f64> },
    Exponential(f64),
}

impl Dur {
    /// The smallest value a draw can take.
    fn min(&self) -> f64 {
        match *self {
            Dur::Fixed(x) => x,
            Dur::Uniform(lo, _) | Dur::Triangular(lo, _, _) => lo,
            Dur::LogNormal { min, .. } => min.unwrap_or(0.0),
            Dur::Normal(..) | Dur::Exponential(_) => 0.0,
        }
    }

    fn yaml(&self) -> String {
        match *self {
            Dur::Fixed(x) => secs(x),
            Dur::Uniform(a, b) => format!("{{ uniform: [{}, {}] }}", secs(a), secs(b)),
            Dur::Triangular(a, m, b) => format!("{{ triangular: [{}, {}, {}] }}", secs(a), secs(m), secs(b)),
            Dur::Normal(mean, sd) => format!("{{ normal: {{ mean: {}, sd: {} }} }}", secs(mean), secs(sd)),
            Dur::LogNormal { median, p95, min } => {
                let min = min.map(|m| format!(", min: {}", secs(m))).unwrap_or_default();
                format!("{{ lognormal: {{ median: {}, p95: {} }}{min} }}", secs(median), secs(p95))
            }
            Dur::Exponential(mean) => format!("{{ exponential: {{ mean: {} }} }}", secs(mean)),
        }
    }
}

/// How many items, children or units.
#[derive(Debug, Clone)]
enum Count {
    Fixed(u32),
    /// The input attribute `items`.
    Items,
    Uniform(u32, u32),
}

impl Count {
    fn range(&self, s: &Scenario) -> (u32, u32) {
        match *self {
            Count::Fixed(n) => (n, n),
            Count::Items => s.items,
            Count::Uniform(a, b) => (a, b),
        }
    }

    fn yaml(&self) -> String {
        match *self {
            Count::Fixed(n) => n.to_string(),
            Count::Items => "items".into(),
            Count::Uniform(a, b) => format!("{{ uniform: [{a}, {b}] }}"),
        }
    }
}

#[derive(Debug, Clone)]
enum WorkDur {
    Dist(Dur),
    PerUnit(Count, Dur),
}

#[derive(Debug, Clone)]
struct Work {
    dur: WorkDur,
    /// Probability, retryable.
    failure: Option<(f64, bool)>,
    fail_uniform: bool,
    /// memoryMb: uniform [lo, hi].
    memory: Option<(u32, u32)>,
    /// cpuBound: measuredOn, parallelFraction.
    cpu: Option<(usize, Option<f64>)>,
    /// retry.onThrow: maxAttempts, minTimeoutInMs.
    retry: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
enum Step {
    Work(Work),
    Wait(Dur),
    Parallel { count: Count, limit: Option<u32>, steps: Vec<Step> },
    TriggerAndWait { task: usize, idempotent: bool, unwrap: bool },
    Batch { task: usize, count: Count, idempotent: bool, unwrap: bool },
    Trigger { task: usize, batch: Option<Count>, idempotent: bool },
    Poll { every: Dur, success: f64, max_checks: u32, check: Option<Dur> },
    Branch { arms: Vec<(&'static str, Vec<Step>)>, otherwise: Option<Vec<Step>> },
}

#[derive(Debug, Clone)]
struct Retry {
    max_attempts: u32,
    min_timeout_ms: u32,
    factor: f64,
    oom: Option<usize>,
}

#[derive(Debug, Clone)]
struct Task {
    machine: usize,
    retry: Option<Retry>,
    max_duration: Option<f64>,
    progress: Option<(u32, u32)>,
    base_memory: Option<u32>,
    steps: Vec<Step>,
}

impl Task {
    fn max_attempts(&self) -> u32 {
        self.retry.as_ref().map_or(1, |r| r.max_attempts)
    }
    fn oom_machine(&self) -> Option<usize> {
        self.retry.as_ref().and_then(|r| r.oom)
    }
}

#[derive(Clone)]
struct Scenario {
    /// The warm start latency (`startLatency`) and the cold one (`coldStart`).
    latency: Dur,
    cold: Dur,
    /// The input attribute `items`: uniform whole numbers in this range.
    items: (u32, u32),
    flag: f64,
    tasks: Vec<Task>,
}

/// Shown as its YAML text (a failing case prints it so).
impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\n{}", self.yaml())
    }
}

const CONDITIONS: &[&str] = &["flag", "!flag", "tier == pro", "tier != free", "size > 50", "size <= 30"];

impl Scenario {
    fn yaml(&self) -> String {
        let mut y = String::from("name: generated\n");
        let _ = writeln!(y, "startLatency: {}", self.latency.yaml());
        let _ = writeln!(y, "coldStart: {}", self.cold.yaml());
        y += "limits: { maxEventsPerRun: 1000000 }\n";
        y += "input:\n";
        let _ = writeln!(y, "  items: {{ uniform: [{}, {}], round: true }}", self.items.0, self.items.1);
        let _ = writeln!(y, "  flag: {{ bernoulli: {} }}", self.flag);
        y += "  tier: { choice: { free: 0.7, pro: 0.3 } }\n";
        y += "  size: { uniform: [0, 100] }\n";
        y += "entry: t0\ntasks:\n";
        for (i, t) in self.tasks.iter().enumerate() {
            let _ = writeln!(y, "  t{i}:");
            let _ = writeln!(y, "    machine: {}", MACHINES[t.machine]);
            if let Some(r) = &t.retry {
                let oom = r.oom.map(|m| format!(", outOfMemory: {{ machine: {} }}", MACHINES[m])).unwrap_or_default();
                let _ = writeln!(
                    y,
                    "    retry: {{ maxAttempts: {}, factor: {}, minTimeoutInMs: {}{oom} }}",
                    r.max_attempts, r.factor, r.min_timeout_ms
                );
            }
            if let Some(d) = t.max_duration {
                let _ = writeln!(y, "    maxDuration: {}", secs(d));
            }
            if let Some((a, b)) = t.progress {
                let _ = writeln!(y, "    progress: [{a}, {b}]");
            }
            if let Some(m) = t.base_memory {
                let _ = writeln!(y, "    baseMemoryMb: {m}");
            }
            y += "    steps:\n";
            steps_yaml(&mut y, &t.steps, 6);
        }
        y
    }

    /// Most task runs one workflow run can make, starting from a run of task `t`.
    fn max_runs(&self, t: usize) -> f64 {
        let task = &self.tasks[t];
        1.0 + f64::from(task.max_attempts()) * self.children(&task.steps)
    }

    fn children(&self, steps: &[Step]) -> f64 {
        steps
            .iter()
            .map(|s| match s {
                Step::Work(_) | Step::Wait(_) | Step::Poll { .. } => 0.0,
                Step::Parallel { count, steps, .. } => f64::from(count.range(self).1) * self.children(steps),
                Step::TriggerAndWait { task, .. } | Step::Trigger { task, batch: None, .. } => self.max_runs(*task),
                Step::Batch { task, count, .. } | Step::Trigger { task, batch: Some(count), .. } => {
                    f64::from(count.range(self).1) * self.max_runs(*task)
                }
                Step::Branch { arms, otherwise } => {
                    arms.iter().map(|(_, s)| self.children(s)).sum::<f64>()
                        + otherwise.as_ref().map_or(0.0, |s| self.children(s))
                }
            })
            .sum()
    }

    /// A lower bound of the time from the trigger of a run of task `t` to its end, when it
    /// ends COMPLETED: the start latency, then every step of its last attempt in order. A
    /// retried attempt only adds time; a child reused through an idempotency key completed
    /// during an earlier attempt, after the steps before it, so it adds at least as much.
    fn lower_bound(&self, t: usize) -> f64 {
        self.latency_min() + self.steps_bound(t, &self.tasks[t].steps)
    }

    /// The shortest start latency, warm or cold.
    fn latency_min(&self) -> f64 {
        self.latency.min().min(self.cold.min())
    }

    fn steps_bound(&self, t: usize, steps: &[Step]) -> f64 {
        steps.iter().map(|s| self.step_bound(t, s)).sum()
    }

    fn step_bound(&self, t: usize, s: &Step) -> f64 {
        match s {
            Step::Work(w) => {
                let scale = self.cpu_scale_min(t, w);
                match &w.dur {
                    WorkDur::Dist(d) => d.min() * scale,
                    WorkDur::PerUnit(c, d) => f64::from(c.range(self).0) * d.min() * scale,
                }
            }
            Step::Wait(d) => d.min(),
            Step::Parallel { count, limit, steps } => {
                // At most `limit` items at once, each at least the body's bound: some lane
                // runs ceil(n / limit) items one after the other.
                let n = count.range(self).0;
                let lanes = limit.unwrap_or(u32::MAX).max(1);
                f64::from(n.div_ceil(lanes)) * self.steps_bound(t, steps)
            }
            Step::TriggerAndWait { task, unwrap, .. } => {
                // A child that fails (when not unwrapped) still took its start latency.
                if *unwrap { self.lower_bound(*task) } else { self.latency_min() }
            }
            Step::Batch { task, count, unwrap, .. } => match (count.range(self).0, unwrap) {
                (0, _) => 0.0,
                (_, true) => self.lower_bound(*task),
                (_, false) => self.latency_min(),
            },
            Step::Trigger { .. } => 0.0,
            Step::Poll { every, check, .. } => every.min() + check.as_ref().map_or(0.0, Dur::min),
            Step::Branch { arms, otherwise } => {
                let other = otherwise.as_ref().map_or(0.0, |s| self.steps_bound(t, s));
                arms.iter().map(|(_, s)| self.steps_bound(t, s)).fold(other, f64::min)
            }
        }
    }

    /// Smallest duration multiplier of work `w` of task `t` on the presets it can run on (its
    /// machine, or its out-of-memory machine after an upgrade): Amdahl's law with the serial
    /// part capped at one core, `T(v) = (1 - f) / min(v, 1) + f / v`, over `T(measuredOn)`.
    fn cpu_scale_min(&self, t: usize, w: &Work) -> f64 {
        let Some((measured, f)) = w.cpu else { return 1.0 };
        let f = f.unwrap_or(0.0);
        let time = |v: f64| (1.0 - f) / v.min(1.0) + f / v;
        let task = &self.tasks[t];
        std::iter::once(task.machine)
            .chain(task.oom_machine())
            .map(|m| time(VCPU[m]) / time(VCPU[measured]))
            .fold(f64::INFINITY, f64::min)
    }

    /// The highest `to` of any progress slice (0 without slices): the bar goes no higher
    /// before the engine sets 100% at the end of a COMPLETED run.
    fn progress_cap(&self) -> f64 {
        self.tasks.iter().filter_map(|t| t.progress).map(|(_, b)| f64::from(b)).fold(0.0, f64::max)
    }

    fn has_memory(&self, t: usize) -> bool {
        fn any(steps: &[Step]) -> bool {
            steps.iter().any(|s| match s {
                Step::Work(w) => w.memory.is_some(),
                Step::Parallel { steps, .. } => any(steps),
                Step::Branch { arms, otherwise } => {
                    arms.iter().any(|(_, s)| any(s)) || otherwise.as_ref().is_some_and(|s| any(s))
                }
                _ => false,
            })
        }
        any(&self.tasks[t].steps)
    }
}

fn steps_yaml(y: &mut String, steps: &[Step], indent: usize) {
    let pad = " ".repeat(indent);
    for s in steps {
        match s {
            Step::Work(w) => {
                let mut f = match &w.dur {
                    WorkDur::Dist(d) => format!("duration: {}", d.yaml()),
                    WorkDur::PerUnit(c, d) => format!("duration: {{ perUnit: {}, each: {} }}", c.yaml(), d.yaml()),
                };
                match w.failure {
                    Some((p, true)) => f += &format!(", failure: {p}"),
                    Some((p, false)) => f += &format!(", failure: {{ probability: {p}, retryable: false }}"),
                    None => {}
                }
                if w.fail_uniform {
                    f += ", failAt: uniform";
                }
                if let Some((lo, hi)) = w.memory {
                    f += &format!(", memoryMb: {{ uniform: [{lo}, {hi}] }}");
                }
                if let Some((m, pf)) = w.cpu {
                    f += &format!(", cpuBound: true, measuredOn: {}", MACHINES[m]);
                    if let Some(pf) = pf {
                        f += &format!(", parallelFraction: {pf}");
                    }
                }
                if let Some((k, ms)) = w.retry {
                    f += &format!(", retry: {{ maxAttempts: {k}, minTimeoutInMs: {ms} }}");
                }
                let _ = writeln!(y, "{pad}- work: {{ {f} }}");
            }
            Step::Wait(d) => {
                let _ = writeln!(y, "{pad}- wait: {}", d.yaml());
            }
            Step::Parallel { count, limit, steps } => {
                let _ = writeln!(y, "{pad}- parallel:");
                let _ = writeln!(y, "{pad}    count: {}", count.yaml());
                if let Some(l) = limit {
                    let _ = writeln!(y, "{pad}    limit: {l}");
                }
                let _ = writeln!(y, "{pad}    steps:");
                steps_yaml(y, steps, indent + 6);
            }
            Step::TriggerAndWait { task, idempotent, unwrap } => {
                if !idempotent && *unwrap {
                    let _ = writeln!(y, "{pad}- triggerAndWait: t{task}");
                } else {
                    let _ = writeln!(
                        y,
                        "{pad}- triggerAndWait: {{ task: t{task}, idempotencyKey: {idempotent}, unwrap: {unwrap} }}"
                    );
                }
            }
            Step::Batch { task, count, idempotent, unwrap } => {
                let _ = writeln!(
                    y,
                    "{pad}- batchTriggerAndWait: {{ task: t{task}, count: {}, idempotencyKey: {idempotent}, unwrap: {unwrap} }}",
                    count.yaml()
                );
            }
            Step::Trigger { task, batch: None, idempotent: false } => {
                let _ = writeln!(y, "{pad}- trigger: t{task}");
            }
            Step::Trigger { task, batch: None, idempotent: true } => {
                let _ = writeln!(y, "{pad}- trigger: {{ task: t{task}, idempotencyKey: true }}");
            }
            Step::Trigger { task, batch: Some(c), idempotent } => {
                let _ = writeln!(
                    y,
                    "{pad}- batchTrigger: {{ task: t{task}, count: {}, idempotencyKey: {idempotent} }}",
                    c.yaml()
                );
            }
            Step::Poll { every, success, max_checks, check } => {
                let check = check.as_ref().map(|c| format!(", check: {}", c.yaml())).unwrap_or_default();
                let _ = writeln!(
                    y,
                    "{pad}- poll: {{ every: {}, success: {success}, maxChecks: {max_checks}{check} }}",
                    every.yaml()
                );
            }
            Step::Branch { arms, otherwise } => {
                let _ = writeln!(y, "{pad}- branch:");
                for (cond, steps) in arms {
                    let _ = writeln!(y, "{pad}    - when: '{cond}'");
                    let _ = writeln!(y, "{pad}      then:");
                    steps_yaml(y, steps, indent + 8);
                }
                if let Some(steps) = otherwise {
                    let _ = writeln!(y, "{pad}    - otherwise:");
                    steps_yaml(y, steps, indent + 8);
                }
            }
        }
    }
}

// ------------------------------------------------------------------ strategies

/// A distribution of seconds, most draws under `hi`.
fn dur(hi: f64) -> BoxedStrategy<Dur> {
    prop_oneof![
        2 => (0.0..hi).prop_map(|x| Dur::Fixed(ms(x))),
        2 => (0.0..hi, 0.001..hi).prop_map(|(a, d)| Dur::Uniform(ms(a), ms(a + d))),
        1 => (0.0..hi, 0.0..1.0, 0.001..hi).prop_map(|(a, m, d)| {
            let (lo, hi) = (ms(a), ms(a + d));
            Dur::Triangular(lo, ms(lo + (hi - lo) * m).clamp(lo, hi), hi)
        }),
        1 => (0.0..hi, 0.001..hi / 2.0).prop_map(|(m, sd)| Dur::Normal(ms(m), ms(sd).max(0.001))),
        2 => (0.01..hi, 1.2f64..6.0, prop::option::of(0.0..hi / 2.0)).prop_map(|(m, f, min)| {
            let median = ms(m).max(0.01);
            Dur::LogNormal { median, p95: ms(median * f).max(median + 0.001), min: min.map(ms) }
        }),
        1 => (0.01..hi).prop_map(|m| Dur::Exponential(ms(m).max(0.001))),
    ]
    .boxed()
}

fn count() -> BoxedStrategy<Count> {
    prop_oneof![
        3 => (0u32..=3).prop_map(Count::Fixed),
        2 => Just(Count::Items),
        1 => (0u32..=2, 1u32..=2).prop_map(|(a, d)| Count::Uniform(a, a + d)),
    ]
    .boxed()
}

fn probability(hi: f64) -> impl Strategy<Value = f64> {
    (0.0..hi).prop_map(|p: f64| (p * 1000.0).round() / 1000.0)
}

fn work() -> BoxedStrategy<Step> {
    work_with(true)
}

/// A work step; without `rich`, one a Promise.all item of the direct path can hold (a
/// distribution of time, no memory).
fn work_with(rich: bool) -> BoxedStrategy<Step> {
    let dist = dur(40.0).prop_map(WorkDur::Dist);
    let dur = if rich {
        prop_oneof![
            4 => dist,
            1 => (prop_oneof![(1u32..=3).prop_map(Count::Fixed), Just(Count::Items)], dur(5.0))
                .prop_map(|(c, d)| WorkDur::PerUnit(c, d)),
        ]
        .boxed()
    } else {
        dist.boxed()
    };
    let failure = prop::option::weighted(0.5, (probability(0.4), prop::bool::weighted(0.8)));
    let memory = (50u32..600, 0u32..800).prop_map(|(lo, d)| (lo, lo + d + 1));
    let memory = if rich { prop::option::weighted(0.3, memory).boxed() } else { Just(None).boxed() };
    let cpu =
        prop::option::weighted(0.25, (0usize..7, prop::option::of((0u32..=10).prop_map(|k| f64::from(k) / 10.0))));
    let retry = prop::option::weighted(0.25, (2u32..=3, 10u32..2000));
    (dur, failure, any::<bool>(), memory, cpu, retry)
        .prop_map(|(dur, failure, fail_uniform, memory, cpu, retry)| {
            Step::Work(Work { dur, failure, fail_uniform, memory, cpu, retry })
        })
        .boxed()
}

/// A step of task `me` of `n` tasks; `depth` more levels of `parallel` / `branch` allowed.
/// `plain`: only what the direct path evaluates (src/engine/direct.rs): no
/// batchTriggerAndWait, Promise.all items of plain work.
fn step(me: usize, n: usize, depth: u32, plain: bool) -> BoxedStrategy<Step> {
    let mut leaves: Vec<(u32, BoxedStrategy<Step>)> = vec![(5, work()), (2, dur(120.0).prop_map(Step::Wait).boxed())];
    {
        leaves.push((
            1,
            (dur(90.0), probability(1.0).prop_map(|p| p.max(0.2)), 1u32..=5, prop::option::of(dur(3.0)))
                .prop_map(|(every, success, max_checks, check)| Step::Poll { every, success, max_checks, check })
                .boxed(),
        ));
    }
    let leaf = prop::strategy::Union::new_weighted(leaves).boxed();
    let mut options: Vec<(u32, BoxedStrategy<Step>)> = vec![(8, leaf)];
    if me + 1 < n {
        let later = me + 1..n;
        options.push((
            3,
            (later.clone(), prop::bool::weighted(0.3), prop::bool::weighted(0.8))
                .prop_map(|(task, idempotent, unwrap)| Step::TriggerAndWait { task, idempotent, unwrap })
                .boxed(),
        ));
        if !plain {
            options.push((
                2,
                (later.clone(), count(), prop::bool::weighted(0.3), prop::bool::weighted(0.8))
                    .prop_map(|(task, count, idempotent, unwrap)| Step::Batch { task, count, idempotent, unwrap })
                    .boxed(),
            ));
        }
        options.push((
            1,
            (later, prop::option::of(count()), prop::bool::weighted(0.3))
                .prop_map(|(task, batch, idempotent)| Step::Trigger { task, batch, idempotent })
                .boxed(),
        ));
    }
    if depth > 0 {
        let body = prop::collection::vec(step(me, n, depth - 1, plain), 1..=2);
        let items = if plain { prop::collection::vec(work_with(false), 1..=2).boxed() } else { body.clone().boxed() };
        options.push((
            2,
            (count(), prop::option::of(1u32..=3), items)
                .prop_map(|(count, limit, steps)| Step::Parallel { count, limit, steps })
                .boxed(),
        ));
        let arm = (prop::sample::select(CONDITIONS), body.clone());
        options.push((
            2,
            (prop::collection::vec(arm, 1..=2), prop::option::of(body))
                .prop_map(|(arms, otherwise)| Step::Branch { arms, otherwise })
                .boxed(),
        ));
    }
    prop::strategy::Union::new_weighted(options).boxed()
}

fn task(me: usize, n: usize, plain: bool) -> BoxedStrategy<Task> {
    let retry = prop::option::weighted(
        0.6,
        (
            1u32..=4,
            prop_oneof![4 => 10u32..3000, 1 => 20_000u32..40_000],
            prop::sample::select(&[1.0, 1.5, 2.0, 3.0][..]),
            prop::option::weighted(0.4, 0usize..7),
        )
            .prop_map(|(max_attempts, min_timeout_ms, factor, oom)| Retry {
                max_attempts,
                min_timeout_ms,
                factor,
                oom,
            }),
    );
    let progress = prop::option::weighted(
        0.6,
        prop_oneof![
            3 => (0u32..=100, 0u32..=100).prop_map(|(a, b)| (a.min(b), a.max(b))),
            1 => (0u32..=100).prop_map(|a| (a, 100)),
        ],
    );
    (
        0usize..7,
        retry,
        prop::option::weighted(0.35, (5.0f64..120.0).prop_map(ms)),
        progress,
        prop::option::weighted(0.2, 0u32..300),
        prop::collection::vec(step(me, n, 2, plain), 1..=4),
    )
        .prop_map(|(machine, retry, max_duration, progress, base_memory, steps)| Task {
            machine,
            retry,
            max_duration,
            progress,
            base_memory,
            steps,
        })
        .boxed()
}

fn scenario() -> impl Strategy<Value = Scenario> {
    scenario_with(false)
}

fn scenario_with(plain: bool) -> impl Strategy<Value = Scenario> {
    (1usize..=5)
        .prop_flat_map(move |n| {
            let tasks: Vec<BoxedStrategy<Task>> = (0..n).map(|i| task(i, n, plain)).collect();
            let latency = prop_oneof![
                2 => Just(Dur::Uniform(0.1, 0.3)),
                1 => dur(2.0),
                1 => Just(Dur::Fixed(0.0)),
            ];
            let cold = prop_oneof![
                2 => Just(Dur::Uniform(1.0, 3.0)),
                1 => dur(2.0),
                1 => Just(Dur::Fixed(0.0)),
            ];
            (tasks, latency, cold, (0u32..=2, 1u32..=2), probability(1.0)).prop_map(
                |(tasks, latency, cold, (lo, d), flag)| Scenario { latency, cold, items: (lo, lo + d), flag, tasks },
            )
        })
        .prop_filter("too many task runs per workflow run", |s| s.max_runs(0) <= MAX_TASK_RUNS)
}

// ------------------------------------------------------------------ the checks

/// Everything an observer sees of one workflow run.
#[derive(Default)]
struct Recorder {
    attempts: Vec<AttemptRecord>,
    /// (run, task, parent, at)
    triggered: Vec<(u32, TaskId, u32, f64)>,
    /// (run, status, at)
    ended: Vec<(u32, Status, f64)>,
}

impl Observer for Recorder {
    fn attempt(&mut self, a: &AttemptRecord) {
        self.attempts.push(*a);
    }
    fn triggered(&mut self, run: u32, task: TaskId, parent: u32, at: f64) {
        self.triggered.push((run, task, parent, at));
    }
    fn run_end(&mut self, run: u32, status: Status, at: f64) {
        self.ended.push((run, status, at));
    }
}

/// `a` equals `b` up to rounding.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-12
}

/// `a >= b` up to rounding.
fn at_least(a: f64, b: f64) -> bool {
    a >= b - 1e-9 * b.abs() - 1e-9
}

/// Which of the scenario's tasks a task id of the model is.
fn index_of(model: &Model, task: TaskId) -> usize {
    model.tasks[task as usize].name[1..].parse().expect("tasks are named t0, t1, ...")
}

fn check_scenario(s: &Scenario, seed: u64) -> Result<(), TestCaseError> {
    let yaml = s.yaml();
    let loaded = load_str(&yaml, "generated.yaml")
        .map_err(|e| TestCaseError::fail(format!("a generated scenario does not load:\n{e}\n{yaml}")))?;
    let model = &loaded.model;
    for (m, price) in USD_PER_S.iter().enumerate() {
        prop_assert!(close(model.usd_per_s[m], *price), "price of {}: {}", MACHINES[m], model.usd_per_s[m]);
    }
    prop_assert!(close(model.invocation_usd, INVOCATION_USD));
    let bound = s.lower_bound(0);

    // Run by run, observed.
    let mut scratch = Scratch::new();
    let mut tasks = vec![engine::TaskAcc::default(); model.tasks.len()];
    let mut observed = Vec::new();
    for i in 0..OBSERVED_RUNS {
        let mut rec = Recorder::default();
        let o = engine::simulate(model, run_key(seed, i), &mut scratch, &mut tasks, &mut rec)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        check_run(s, model, &o, &rec, bound).map_err(|e| TestCaseError::fail(format!("run {i}: {e}\n{yaml}")))?;
        observed.push(o);
    }

    // The Monte Carlo: same outcomes, totals that add up, a JSON summary without NaN.
    let mc = montecarlo::run(model, Config { runs: MC_RUNS, seed, threads: Some(1) })
        .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    prop_assert_eq!(mc.outcomes.len() as u64, MC_RUNS);
    for (i, (a, b)) in observed.iter().zip(&mc.outcomes).enumerate() {
        prop_assert!(a == b, "run {}: the observer changed the outcome:\n{:?}\n{:?}\n{}", i, a, b, yaml);
    }
    for (i, o) in mc.outcomes.iter().enumerate() {
        check_outcome(s, o, bound).map_err(|e| TestCaseError::fail(format!("run {i}: {e}\n{yaml}")))?;
    }
    let runs: u64 = mc.tasks.iter().map(|t| t.runs).sum();
    let attempts: u64 = mc.tasks.iter().map(|t| t.attempts).sum();
    let ended: u64 = mc.tasks.iter().flat_map(|t| t.statuses).sum();
    prop_assert_eq!(runs, mc.outcomes.iter().map(|o| u64::from(o.task_runs)).sum::<u64>());
    prop_assert_eq!(attempts, mc.outcomes.iter().map(|o| u64::from(o.attempts)).sum::<u64>());
    prop_assert_eq!(ended, runs, "every task run ends once");
    prop_assert_eq!(mc.tasks[0].runs, MC_RUNS, "one entry run per workflow run");
    let summary = wfsim::analysis::summarise(model, &mc, seed, Vec::new());
    let v: serde_json::Value = serde_json::from_str(&Json.run(&summary)).expect("valid JSON");
    check_json(&v).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    Ok(())
}

/// What holds for any workflow run's outcome.
fn check_outcome(s: &Scenario, o: &RunOutcome, bound: f64) -> Result<(), String> {
    for (what, v) in common::quantities(o) {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("{what} = {v} in {o:?}"));
        }
    }
    if !close(o.cost_usd, o.compute_usd + o.invocation_usd) {
        return Err(format!("cost {} is not compute + invocation in {o:?}", o.cost_usd));
    }
    if !close(o.invocation_usd, f64::from(o.task_runs) * INVOCATION_USD) {
        return Err(format!("invocation cost {} for {} task runs", o.invocation_usd, o.task_runs));
    }
    if o.makespan_s < o.duration_s {
        return Err(format!("makespan before the end of the entry run in {o:?}"));
    }
    if o.root_usage_s > o.usage_s * (1.0 + 1e-12) || o.root_usage_s > o.duration_s * (1.0 + 1e-12) + 1e-12 {
        return Err(format!("entry run executing longer than it lasted or than all runs: {o:?}"));
    }
    if o.task_runs == 0 || o.attempts < o.task_runs {
        return Err(format!("{} attempts for {} task runs", o.attempts, o.task_runs));
    }
    let lat = s.latency_min();
    if !at_least(o.duration_s, lat) {
        return Err(format!("duration {} below the minimum start latency {lat}", o.duration_s));
    }
    if o.status == Status::Completed && !at_least(o.duration_s, bound) {
        return Err(format!(
            "COMPLETED in {} s, below the sum of the entry task's minimum step durations {bound} s",
            o.duration_s
        ));
    }
    check_progress(s, o, lat)
}

/// The progress bar's levels: a prefix, in time order, within the run; 100% on success.
fn check_progress(s: &Scenario, o: &RunOutcome, lat: f64) -> Result<(), String> {
    let p = &o.progress;
    let reached = p.iter().take_while(|t| t.is_finite()).count();
    if p[reached..].iter().any(|t| t.is_finite()) {
        return Err(format!("progress levels reached out of order: {p:?}"));
    }
    for l in 0..reached {
        if l > 0 && p[l] < p[l - 1] {
            return Err(format!("level {}% reached before level {}%: {p:?}", (l + 1) * 5, l * 5));
        }
        if !at_least(p[l], lat) || p[l] > o.duration_s {
            return Err(format!("level {}% at {} s, outside [{lat}, {}]", (l + 1) * 5, p[l], o.duration_s));
        }
    }
    let completed = o.status == Status::Completed;
    if completed && reached < LEVELS {
        return Err(format!("COMPLETED but the bar stopped at {}%: {p:?}", reached * 5));
    }
    // Levels above every slice: only the final 100% of a COMPLETED run reaches them.
    let cap = s.progress_cap();
    for (l, &t) in p.iter().enumerate() {
        if (l as f64 + 1.0) * LEVEL_STEP <= cap {
            continue;
        }
        if completed && t != o.duration_s {
            return Err(format!(
                "level {}% (above every slice, highest {cap}) at {t} s, not at the end {} s",
                (l + 1) * 5,
                o.duration_s
            ));
        }
        if !completed && t.is_finite() {
            return Err(format!(
                "{:?} run reached {}%, above every slice (highest {cap}): {p:?}",
                o.status,
                (l + 1) * 5
            ));
        }
    }
    Ok(())
}

/// One observed workflow run: its outcome, and its task runs and their attempts.
fn check_run(s: &Scenario, model: &Model, o: &RunOutcome, rec: &Recorder, bound: f64) -> Result<(), String> {
    check_outcome(s, o, bound)?;
    let runs = rec.triggered.len();
    if runs != o.task_runs as usize || rec.attempts.len() != o.attempts as usize {
        return Err(format!(
            "observed {runs} task runs and {} attempts, outcome says {} and {}",
            rec.attempts.len(),
            o.task_runs,
            o.attempts
        ));
    }
    let mut task_of = vec![None; runs];
    for (k, &(run, task, parent, _)) in rec.triggered.iter().enumerate() {
        if run as usize != k || (k == 0) != (parent == u32::MAX) || (k > 0 && parent >= run) {
            return Err(format!("task run {run} (parent {parent}) triggered out of order"));
        }
        if k > 0 && index_of(model, task) <= index_of(model, rec.triggered[parent as usize].1) {
            return Err(format!("task run {run} of an earlier task than its parent's"));
        }
        task_of[k] = Some(index_of(model, task));
    }
    if index_of(model, rec.triggered[0].1) != 0 {
        return Err("the entry run is not of the entry task".into());
    }
    let mut status = vec![None; runs];
    for &(run, st, at) in &rec.ended {
        if status[run as usize].replace((st, at)).is_some() {
            return Err(format!("task run {run} ended twice"));
        }
    }
    // Billing: the attempts' billed seconds at their presets' prices.
    let usage: f64 = rec.attempts.iter().map(|a| a.usage_s).sum();
    let compute: f64 = rec.attempts.iter().map(|a| a.usage_s * USD_PER_S[a.machine as usize]).sum();
    let root: f64 = rec.attempts.iter().filter(|a| a.run == 0).map(|a| a.usage_s).sum();
    if !close(usage, o.usage_s) || !close(compute, o.compute_usd) || !close(root, o.root_usage_s) {
        return Err(format!(
            "attempts billed {usage} s (${compute}, entry {root} s); the outcome says {} s (${}, entry {} s)",
            o.usage_s, o.compute_usd, o.root_usage_s
        ));
    }
    for (run, task) in task_of.iter().enumerate() {
        let t = task.expect("every run triggered");
        let Some((st, at)) = status[run] else { return Err(format!("task run {run} of t{t} never ended")) };
        let attempts: Vec<&AttemptRecord> = rec.attempts.iter().filter(|a| a.run == run as u32).collect();
        check_attempts(s, t, run, st, at, &attempts)?;
        check_slice(s, t, run, o, attempts[0].start, (st == Status::Completed).then_some(at))?;
        if run == 0 && (st != o.status || at != o.duration_s) {
            return Err(format!("entry run ended {st:?} at {at}; the outcome says {:?} at {}", o.status, o.duration_s));
        }
    }
    Ok(())
}

/// A task with a progress slice `[a, b]` moves the bar to `a` when its first attempt starts
/// and to `b` when it completes: the levels up to there are reached by then, unless the
/// workflow run had already ended (the bar of an ended run no longer moves).
fn check_slice(
    s: &Scenario,
    t: usize,
    run: usize,
    o: &RunOutcome,
    start: f64,
    done: Option<f64>,
) -> Result<(), String> {
    let Some((a, b)) = s.tasks[t].progress else { return Ok(()) };
    for (level, at) in [(a, Some(start)), (b, done)] {
        let Some(at) = at.filter(|&at| at < o.duration_s) else { continue };
        for l in 0..(level as usize / 5) {
            if o.progress[l] > at {
                return Err(format!(
                    "task run {run} of t{t} (progress [{a}, {b}]) moved the bar to {level}% at {at} s, but {}% was reached only at {} s",
                    (l + 1) * 5,
                    o.progress[l]
                ));
            }
        }
    }
    Ok(())
}

/// The attempts of task run `run` of task `t`, which ended `status` at `end`.
fn check_attempts(
    s: &Scenario,
    t: usize,
    run: usize,
    status: Status,
    end: f64,
    attempts: &[&AttemptRecord],
) -> Result<(), String> {
    let task = &s.tasks[t];
    let who = format!("task run {run} of t{t}");
    let max = task.max_attempts();
    if attempts.is_empty() || attempts.len() > max as usize {
        return Err(format!("{who}: {} attempts, maxAttempts {max}", attempts.len()));
    }
    let mut machine = task.machine;
    let mut ooms = 0;
    for (k, a) in attempts.iter().enumerate() {
        let last = k + 1 == attempts.len();
        if a.attempt as usize != k + 1 {
            return Err(format!("{who}: attempt {} recorded as number {}", k + 1, a.attempt));
        }
        if a.machine as usize != machine {
            return Err(format!(
                "{who}: attempt {} on {}, expected {}",
                a.attempt, MACHINES[a.machine as usize], MACHINES[machine]
            ));
        }
        if !(a.start.is_finite()
            && a.end >= a.start
            && a.usage_s >= 0.0
            && a.usage_s <= (a.end - a.start) * (1.0 + 1e-9) + 1e-9)
        {
            return Err(format!("{who}: attempt {} from {} to {} billed {} s", a.attempt, a.start, a.end, a.usage_s));
        }
        if k > 0 && a.start < attempts[k - 1].end {
            return Err(format!("{who}: attempt {} starts before the previous one ended", a.attempt));
        }
        match (task.max_duration, a.outcome) {
            (None, AttemptEnd::TimedOut) => return Err(format!("{who}: TIMED_OUT without maxDuration")),
            (Some(md), AttemptEnd::TimedOut) if !close(a.usage_s, md) => {
                return Err(format!("{who}: timed out after {} s of compute, maxDuration {md}", a.usage_s));
            }
            (Some(md), _) if a.usage_s > md * (1.0 + 1e-9) => {
                return Err(format!("{who}: attempt {} computed {} s, past maxDuration {md}", a.attempt, a.usage_s));
            }
            _ => {}
        }
        if a.outcome == AttemptEnd::OutOfMemory {
            if !s.has_memory(t) {
                return Err(format!("{who}: out of memory without a memoryMb step"));
            }
            if !last {
                ooms += 1;
                match task.oom_machine() {
                    Some(m) if ooms == 1 => machine = m,
                    _ => return Err(format!("{who}: retried after out of memory without an out-of-memory retry left")),
                }
            }
        }
        if !last && !matches!(a.outcome, AttemptEnd::Threw | AttemptEnd::OutOfMemory) {
            return Err(format!("{who}: attempt {} ended {:?} and was followed by another", a.attempt, a.outcome));
        }
    }
    let final_attempt = attempts[attempts.len() - 1];
    let expected = match status {
        Status::Completed => AttemptEnd::Ok,
        Status::Failed => AttemptEnd::Threw,
        Status::Crashed => AttemptEnd::OutOfMemory,
        Status::TimedOut => AttemptEnd::TimedOut,
        Status::Expired => return Err(format!("{who}: EXPIRED without a load")),
    };
    if final_attempt.outcome != expected || final_attempt.end != end {
        return Err(format!(
            "{who}: ended {status:?} at {end}, its last attempt {:?} at {}",
            final_attempt.outcome, final_attempt.end
        ));
    }
    Ok(())
}

/// The `run` JSON: every number finite and >= 0 (a NaN or infinity would have become null),
/// the success rate a probability.
fn check_json(v: &serde_json::Value) -> Result<(), String> {
    common::json_numbers(v, "", &|x| x.is_finite() && x >= 0.0)?;
    let rate = v["success_rate"].as_f64().ok_or("no success_rate")?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("success_rate {rate}"));
    }
    let statuses = v["statuses"].as_object().ok_or("no statuses")?;
    let n: u64 = statuses.values().filter_map(serde_json::Value::as_u64).sum();
    if Some(n) != v["runs"].as_u64() {
        return Err(format!("statuses add up to {n}, runs {}", v["runs"]));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn invariants_hold_on_generated_scenarios(s in scenario(), seed in any::<u64>()) {
        check_scenario(&s, seed)?;
    }
}

// ------------------------------------------------------------------ the direct path

/// Runs compared, and of those the runs the direct path evaluated, over a campaign.
static COMPARED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static DIRECT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The direct path (src/engine/direct.rs) against the event engine, run by run: where it
/// evaluates a run, the same outcome and the same per-task totals, bit for bit; where it hands
/// the run back, the totals untouched.
fn check_direct(s: &Scenario, seed: u64) -> Result<(), TestCaseError> {
    use std::sync::atomic::Ordering::Relaxed;
    let yaml = s.yaml();
    let loaded = load_str(&yaml, "generated.yaml").map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    let model = &loaded.model;
    let (mut s1, mut s2) = (Scratch::new(), Scratch::new());
    let mut t1 = vec![engine::TaskAcc::default(); model.tasks.len()];
    let mut t2 = t1.clone();
    for i in 0..OBSERVED_RUNS {
        let key = run_key(seed, i);
        let before = t1.clone();
        let d = engine::simulate_direct(model, key, &mut s1, &mut t1);
        let e = engine::simulate_events(model, key, &mut s2, &mut t2, &mut engine::NoObserver)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        COMPARED.fetch_add(1, Relaxed);
        match d {
            Some(d) => {
                DIRECT.fetch_add(1, Relaxed);
                prop_assert!(d == e, "run {}: direct\n{:?}\nengine\n{:?}\n{}", i, d, e, yaml);
                prop_assert!(t1 == t2, "run {}: totals differ\n{:?}\n{:?}\n{}", i, t1, t2, yaml);
            }
            None => {
                prop_assert!(t1 == before, "run {}: handed back with its totals changed\n{}", i, yaml);
                t1 = t2.clone();
            }
        }
    }
    Ok(())
}

#[test]
fn the_direct_path_gives_the_engines_results() {
    use std::sync::atomic::Ordering::Relaxed;
    let mut runner = proptest::test_runner::TestRunner::new(config(cases()));
    if let Err(e) = runner.run(&(scenario_with(true), any::<u64>()), |(s, seed)| check_direct(&s, seed)) {
        panic!("{e}");
    }
    let (compared, direct) = (COMPARED.load(Relaxed), DIRECT.load(Relaxed));
    eprintln!("direct path: {direct} of {compared} runs");
    // About half of these designs' runs qualify (47-50% over generator seeds 1 to 5); a run
    // is handed back on a tie between events, a fire-and-forget child that overlaps the rest,
    // a fire-and-forget child with progress, a retry that reaches a keyed fire-and-forget
    // trigger again, or runs of its own that could fill a queue or the environment. At least
    // 40% must take it, so the check cannot pass by handing (nearly) everything back.
    assert!(direct * 5 > compared * 2, "only {direct} of {compared} runs took the direct path");
}

// ------------------------------------------------------------------ through the binary

fn run_json(file: &std::path::Path, seed: u64, threads: &str) -> Vec<u8> {
    let out = Command::cargo_bin("wfsim")
        .expect("binary built")
        .arg("run")
        .arg(file)
        .args(["--runs", "1500", "--seed", &seed.to_string(), "--threads", threads, "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

proptest! {
    #![proptest_config(config((cases() / 8).max(1)))]

    /// Two chunks of runs (1,500 > 1,024), merged in order whatever the thread count.
    #[test]
    fn same_seed_same_bytes_on_any_thread_count(s in scenario(), seed in any::<u64>()) {
        let dir = std::env::temp_dir().join(format!("wfsim-prop-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("generated.yaml");
        std::fs::write(&file, s.yaml()).unwrap();
        let one = run_json(&file, seed, "1");
        let v: serde_json::Value = serde_json::from_slice(&one).expect("valid JSON");
        check_json(&v).map_err(|e| TestCaseError::fail(format!("{e}\n{}", s.yaml())))?;
        for threads in ["2", "4", "1"] {
            let again = run_json(&file, seed, threads);
            prop_assert!(again == one, "--threads {} gives other bytes than --threads 1\n{}", threads, s.yaml());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
