//! Fuzzing of the loader and compiler (`wfsim::scenario::load_str` / `load_file`) and of the
//! engine on whatever loads.
//!
//! Property: loading never panics, and ends either in a model or in located diagnostics
//! (every one with line >= 1 and column >= 1 and at least one error); a loaded model
//! simulates without panicking and without NaN or infinity in its outcomes (or stops with the
//! event-budget error naming one of its tasks).
//!
//! Inputs: (a) token soup: YAML-ish text made of the scenario's keys, numbers (huge, negative,
//! NaN-ish), durations, brackets, indentation and non-ASCII text; (b) random scenarios from a
//! grammar of the language, mostly well-formed, so that the compiler's semantic checks and
//! the engine are reached; (c) mutations of the shipped scenarios: deleted, duplicated and
//! swapped lines, swapped values, values of the wrong type, huge and negative numbers, deep
//! nesting, random bytes (through `from_utf8_lossy`, and raw through `load_file`).
//!
//! Case count: 256 per property by default (`PROPTEST_CASES` changes it); a longer run sets
//! `WFSIM_FUZZ_CASES`. The generator's seed is fixed (1) unless `WFSIM_PROPTEST_SEED` sets
//! another, and is printed with a failing test's output; e.g.
//!
//! ```sh
//! WFSIM_FUZZ_CASES=20000 WFSIM_PROPTEST_SEED=7 CARGO_TARGET_DIR=/tmp/t cargo test --release --test fuzz
//! ```
//!
//! Failing inputs are printed in full (no regression file is written). Once fixed, each
//! becomes a named test of what it found, with its expected error or result (the fuzzer's
//! finds so far are in tests/invariants.rs: `a_min_above_the_shape_lifts_the_bound` and
//! `per_event_work_counts_toward_the_budget`).

mod common;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use wfsim::error::{LoadError, Severity};
use wfsim::montecarlo::{self, Config};
use wfsim::scenario::{Loaded, load_file, load_str};

/// The shipped scenarios, the seeds of the mutation fuzzers.
const SHIPPED: &[(&str, &str)] = &[
    ("fan-out-batch", include_str!("../scenarios/fan-out-batch.yaml")),
    ("pdf-processing", include_str!("../scenarios/pdf-processing.yaml")),
    ("polling-external-api", include_str!("../scenarios/polling-external-api.yaml")),
    ("routing-by-size", include_str!("../scenarios/routing-by-size.yaml")),
    ("transcription-parallel", include_str!("../scenarios/transcription-parallel.yaml")),
    ("transcription-sequential", include_str!("../scenarios/transcription-sequential.yaml")),
];

/// Events one fuzzed run may process: low, so that a runaway model ends fast (and the budget
/// error path is exercised).
const FUZZ_EVENT_BUDGET: u64 = 100_000;
/// The budget written into generated scenarios.
const GENERATED_EVENT_BUDGET: u64 = 20_000;

fn config() -> ProptestConfig {
    let base = ProptestConfig::default();
    common::config(std::env::var("WFSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(base.cases))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".into())
}

/// The property, for text given to `load_str`.
fn check_text(src: &str) -> Result<(), TestCaseError> {
    let r = catch_unwind(AssertUnwindSafe(|| load_str(src, "fuzz.yaml")));
    let r = r.map_err(|p| TestCaseError::fail(format!("load_str panicked: {}\ninput:\n{src}", panic_text(&*p))))?;
    check_result(r, src)
}

fn check_result(r: Result<Loaded, LoadError>, src: &str) -> Result<(), TestCaseError> {
    match r {
        Ok(loaded) => {
            for w in &loaded.warnings {
                prop_assert_eq!(w.severity, Severity::Warning);
                prop_assert!(w.line >= 1 && w.column >= 1, "warning without a location: {}\ninput:\n{}", w, src);
            }
            simulate(loaded, src)
        }
        Err(LoadError::Invalid(diags)) => {
            prop_assert!(!diags.is_empty(), "no diagnostics\ninput:\n{}", src);
            prop_assert!(
                diags.iter().any(|d| d.severity == Severity::Error),
                "rejected without an error: {:?}\ninput:\n{}",
                diags,
                src
            );
            for d in &diags {
                prop_assert!(d.line >= 1 && d.column >= 1, "diagnostic without a location: {}\ninput:\n{}", d, src);
                prop_assert!(!d.message.is_empty(), "empty message at {}:{}\ninput:\n{}", d.line, d.column, src);
            }
            Ok(())
        }
        Err(e @ LoadError::Io { .. }) => Err(TestCaseError::fail(format!("unexpected I/O error {e}"))),
    }
}

/// A few runs of a loaded model: no panic, no NaN or infinity in the outcomes.
fn simulate(loaded: Loaded, src: &str) -> Result<(), TestCaseError> {
    // An abort (not a panic: e.g. an allocation failure) cannot be caught: with
    // WFSIM_FUZZ_TRACE set, each model's text is printed before it is simulated.
    if std::env::var_os("WFSIM_FUZZ_TRACE").is_some() {
        eprintln!("---- simulating:\n{src}");
    }
    let mut model = loaded.model;
    model.limits.max_events_per_run = model.limits.max_events_per_run.min(FUZZ_EVENT_BUDGET);
    let r = catch_unwind(AssertUnwindSafe(|| montecarlo::run(&model, Config { runs: 20, seed: 7, threads: Some(1) })));
    let r = r.map_err(|p| TestCaseError::fail(format!("simulation panicked: {}\ninput:\n{src}", panic_text(&*p))))?;
    match r {
        Ok(mc) => {
            for o in &mc.outcomes {
                for (what, v) in common::quantities(o) {
                    prop_assert!(v.is_finite() && v >= 0.0, "{} = {} in {:?}\ninput:\n{}", what, v, o, src);
                }
                prop_assert!(o.makespan_s >= o.duration_s, "makespan before the end of the entry run: {:?}", o);
                // A level not reached is +infinity; a reached one a finite time >= 0.
                for p in o.progress {
                    prop_assert!(p == f64::INFINITY || (p.is_finite() && p >= 0.0), "progress time {} in {:?}", p, o);
                }
            }
            Ok(())
        }
        Err(e @ wfsim::engine::SimError::EventBudget { .. }) => {
            let wfsim::engine::SimError::EventBudget { ref task, .. } = e;
            prop_assert!(model.task_id(task).is_some(), "budget error names no task: {}", e);
            Ok(())
        }
    }
}

// ------------------------------------------------------------------ (a) token soup

const KEYS: &[&str] = &[
    "name",
    "description",
    "platform",
    "startLatency",
    "prices",
    "invocationUsd",
    "input",
    "entry",
    "tasks",
    "defaults",
    "load",
    "arrivals",
    "poisson",
    "perMinute",
    "environmentConcurrency",
    "slo",
    "limits",
    "maxEventsPerRun",
    "machine",
    "retry",
    "maxAttempts",
    "factor",
    "minTimeoutInMs",
    "maxTimeoutInMs",
    "randomize",
    "outOfMemory",
    "maxDuration",
    "progress",
    "baseMemoryMb",
    "queue",
    "concurrencyLimit",
    "steps",
    "work",
    "duration",
    "failure",
    "probability",
    "retryable",
    "failAt",
    "cpuBound",
    "measuredOn",
    "parallelFraction",
    "memoryMb",
    "wait",
    "for",
    "parallel",
    "count",
    "limit",
    "triggerAndWait",
    "batchTriggerAndWait",
    "trigger",
    "batchTrigger",
    "task",
    "idempotencyKey",
    "unwrap",
    "poll",
    "every",
    "success",
    "maxChecks",
    "check",
    "branch",
    "when",
    "then",
    "otherwise",
    "perUnit",
    "each",
    "fixed",
    "uniform",
    "triangular",
    "normal",
    "mean",
    "sd",
    "lognormal",
    "median",
    "p95",
    "mu",
    "sigma",
    "exponential",
    "bernoulli",
    "choice",
    "empirical",
    "min",
    "max",
    "round",
    "a",
    "b",
    "c",
    "n",
    "tier",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "0.5",
    "-1",
    "-0",
    "1e308",
    "-1e308",
    "1e400",
    "1e-320",
    ".nan",
    ".inf",
    "-.inf",
    "NaN",
    "nan",
    "inf",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "0x10",
    "0o17",
    "1_000",
    "1000000",
    "5000001",
    "99999999999999999999999",
    "0.000000001",
    "1.5.2",
    "+3",
];

const DURATIONS: &[&str] = &[
    "500ms",
    "2s",
    "10m",
    "1h",
    "1d",
    "1m30s",
    "0s",
    "-3s",
    "1e400s",
    "99999999999d",
    "1.5s",
    "s",
    "ms",
    "2x",
    "3 s",
    "1h1h",
    "0.0001ms",
    "5s5",
];

const WORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "~",
    "yes",
    "on",
    "micro",
    "small-1x",
    "small-3x",
    "large-2x",
    "end",
    "uniform",
    "pro",
    "free",
    "tier == pro",
    "n > 2",
    "!flag",
    "trigger-dev-v4",
    "p95(duration) < 5m",
    "successRate > 0.99",
    "é",
    "日本語",
    "\u{202e}rtl",
    "🚀",
    "\u{feff}",
    "\u{0}",
    "\t",
    "\"quoted: yes\"",
    "'single'",
    "&anchor",
    "*anchor",
    "!!str",
    "!!binary",
    "|",
    ">",
    "%YAML 1.2",
    "---",
    "...",
    "#",
    "?",
    "@",
    "`",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(|k| format!("{k}: ")),
        3 => prop::sample::select(NUMBERS).prop_map(str::to_owned),
        2 => prop::sample::select(DURATIONS).prop_map(str::to_owned),
        2 => prop::sample::select(WORDS).prop_map(str::to_owned),
        3 => (0usize..12).prop_map(|i| format!("\n{}", " ".repeat(i))),
        2 => prop::sample::select(&["- ", "{ ", " }", "[", "]", ", ", ": ", ":", "-", " "][..]).prop_map(str::to_owned),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

// ------------------------------------------------------------------ (b) random scenarios
//
// Each part is well-formed most of the time and junk now and then, so that most scenarios
// load (and reach the engine) and the rest fail deep in the compiler.

/// `good`, or one time in 25 `bad`.
fn mostly(
    good: impl Strategy<Value = String> + 'static,
    bad: impl Strategy<Value = String> + 'static,
) -> BoxedStrategy<String> {
    prop_oneof![24 => good, 1 => bad].boxed()
}

fn junk() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(NUMBERS),
        prop::sample::select(DURATIONS),
        prop::sample::select(WORDS),
        prop::sample::select(WRONG_VALUES),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

fn fmt_secs(x: f64) -> String {
    if x < 1.0 { format!("{:.0}ms", x * 1000.0) } else { format!("{x:.2}s") }
}

fn secs() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![3 => 0.0f64..2.0, 3 => 0.0f64..90.0, 1 => 0.0f64..1200.0]
}

/// A well-formed distribution of values from `v`, shown by `show`.
fn good_dist(v: BoxedStrategy<f64>, show: fn(f64) -> String) -> BoxedStrategy<String> {
    let pos = v.clone().prop_map(|x| x.max(0.001));
    let shape = prop_oneof![
        3 => v.clone().prop_map(show),
        1 => v.clone().prop_map(move |x| format!("{{ fixed: {} }}", show(x))),
        2 => (v.clone(), v.clone()).prop_map(move |(a, b)| format!("{{ uniform: [{}, {}] }}", show(a.min(b)), show(a.max(b)))),
        1 => (v.clone(), v.clone(), v.clone()).prop_map(move |(a, b, c)| {
            let mut t = [a, b, c];
            t.sort_by(f64::total_cmp);
            format!("{{ triangular: [{}, {}, {}] }}", show(t[0]), show(t[1]), show(t[2]))
        }),
        1 => (v.clone(), v.clone()).prop_map(move |(m, sd)| format!("{{ normal: {{ mean: {}, sd: {} }} }}", show(m), show(sd))),
        3 => (pos.clone(), 1.05f64..8.0).prop_map(move |(m, f)| format!("{{ lognormal: {{ median: {}, p95: {} }} }}", show(m), show(m * f * 1.01))),
        1 => (-2.0f64..4.0, 0.0f64..2.0).prop_map(|(mu, s)| format!("{{ lognormal: {{ mu: {mu:.3}, sigma: {s:.3} }} }}")),
        2 => pos.prop_map(move |m| format!("{{ exponential: {{ mean: {} }} }}", show(m))),
        1 => prop::collection::vec(v.clone(), 1..4)
            .prop_map(move |xs| format!("{{ empirical: [{}] }}", xs.iter().map(|x| show(*x)).collect::<Vec<_>>().join(", "))),
    ];
    (shape, prop::option::of(v), prop::option::of(any::<bool>()))
        .prop_map(move |(s, max, round)| match s.strip_suffix(" }") {
            Some(inner) if s.starts_with("{ ") && (max.is_some() || round.is_some()) => {
                let mut m = String::new();
                if let Some(x) = max {
                    m += &format!(", max: {}", show(x * 3.0));
                }
                if let Some(r) = round {
                    m += &format!(", round: {r}");
                }
                format!("{inner}{m} }}")
            }
            _ => s,
        })
        .boxed()
}

fn dur_dist() -> BoxedStrategy<String> {
    mostly(good_dist(secs().boxed(), fmt_secs), junk())
}

fn plain_dist(hi: f64) -> BoxedStrategy<String> {
    mostly(good_dist((0.0..hi).boxed(), |x| format!("{x:.1}")), junk())
}

fn prob() -> BoxedStrategy<String> {
    mostly(prop_oneof![Just(0.0), 0.0f64..0.3, 0.0f64..=1.0].prop_map(|p| format!("{p:.3}")), junk())
}

fn count() -> BoxedStrategy<String> {
    mostly(
        prop_oneof![
            4 => (0u32..8).prop_map(|n| n.to_string()),
            2 => Just("n".to_owned()),
            1 => Just("flag".to_owned()),
            1 => (0u32..5, 0u32..10).prop_map(|(a, b)| format!("{{ uniform: [{a}, {}] }}", a + b)),
            1 => (0.0f64..1.0).prop_map(|p| format!("{{ bernoulli: {p:.2} }}")),
            1 => Just("{ lognormal: { median: 3, p95: 10 }, max: 20, round: true }".to_owned()),
        ],
        prop_oneof![
            prop::sample::select(
                &["1000", "1001", "100000", "5000001", "4294967295", "-1", "2.5", "tier", "missing"][..]
            )
            .prop_map(str::to_owned),
            Just("{ lognormal: { median: 3, p95: 1000000 } }".to_owned()),
            Just("{ exponential: { mean: 1e9 } }".to_owned()),
            junk(),
        ],
    )
}

fn cond() -> BoxedStrategy<String> {
    mostly(
        prop::sample::select(&["flag", "!flag", "n > 2", "n <= 1", "tier == pro", "tier != free"][..])
            .prop_map(str::to_owned),
        prop_oneof![
            prop::sample::select(&["tier", "n == free", "missing", "tier > 1"][..]).prop_map(str::to_owned),
            junk()
        ],
    )
}

fn machine() -> BoxedStrategy<String> {
    mostly(
        prop::sample::select(&["micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"][..])
            .prop_map(str::to_owned),
        prop_oneof![Just("small-3x".to_owned()), junk()],
    )
}

fn retry(task_level: bool) -> BoxedStrategy<String> {
    let good = (
        prop::option::of(1u32..6),
        prop::option::of(1.0f64..3.0),
        prop::option::of(0u32..5000),
        prop::option::of(0u32..60000),
        prop::option::of(any::<bool>()),
        prop::option::of(machine()),
    )
        .prop_map(move |(a, f, lo, extra, r, oom)| {
            let mut v = Vec::new();
            if let Some(a) = a {
                v.push(format!("maxAttempts: {a}"));
            }
            if let Some(f) = f {
                v.push(format!("factor: {f:.2}"));
            }
            if let Some(lo) = lo {
                v.push(format!("minTimeoutInMs: {lo}"));
            }
            if let Some(e) = extra {
                v.push(format!("maxTimeoutInMs: {}", lo.unwrap_or(1000) + e));
            }
            if let Some(r) = r {
                v.push(format!("randomize: {r}"));
            }
            if let (Some(m), true) = (oom, task_level) {
                v.push(format!("outOfMemory: {{ machine: {m} }}"));
            }
            format!("{{ {} }}", v.join(", "))
        });
    mostly(good, junk())
}

/// Task references are written `@T`, resolved when the scenario is put together.
fn step() -> impl Strategy<Value = String> {
    let work = (
        prop_oneof![4 => dur_dist(), 1 => (count(), dur_dist()).prop_map(|(c, e)| format!("{{ perUnit: {c}, each: {e} }}"))],
        prop::option::of(prop::option::of(any::<bool>()).prop_flat_map(|r| {
            prob().prop_map(move |p| match r {
                Some(r) => format!("{{ probability: {p}, retryable: {r} }}"),
                None => p,
            })
        })),
        prop::option::of(plain_dist(1200.0)),
        prop::option::of(retry(false)),
        prop::option::of((prop::option::of(machine()), prop::option::of(prob()))),
        prop::option::of(prop::sample::select(&["end", "uniform"][..])),
    )
        .prop_map(|(d, f, mem, r, cpu, at)| {
            let mut s = format!("work: {{ duration: {d}");
            if let Some(f) = f {
                s += &format!(", failure: {f}");
            }
            if let Some(at) = at {
                s += &format!(", failAt: {at}");
            }
            if let Some(m) = mem {
                s += &format!(", memoryMb: {m}");
            }
            if let Some(r) = r {
                s += &format!(", retry: {r}");
            }
            if let Some((on, pf)) = cpu {
                s += ", cpuBound: true";
                if let Some(on) = on {
                    s += &format!(", measuredOn: {on}");
                }
                if let Some(pf) = pf {
                    s += &format!(", parallelFraction: {pf}");
                }
            }
            s + " }"
        });
    let leaf = prop_oneof![
        5 => work,
        2 => dur_dist().prop_map(|d| format!("wait: {d}")),
        1 => dur_dist().prop_map(|d| format!("wait: {{ for: {d} }}")),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(i, u)| if i || !u {
            format!("triggerAndWait: {{ task: @T, idempotencyKey: {i}, unwrap: {u} }}")
        } else {
            "triggerAndWait: @T".to_owned()
        }),
        1 => Just("trigger: @T".to_owned()),
        1 => count().prop_map(|c| format!("batchTrigger: {{ task: @T, count: {c} }}")),
        2 => (count(), any::<bool>())
            .prop_map(|(c, i)| format!("batchTriggerAndWait: {{ task: @T, count: {c}, idempotencyKey: {i} }}")),
        2 => (dur_dist(), prob(), mostly((1u32..20).prop_map(|n| n.to_string()), junk()), prop::option::of(dur_dist()))
            .prop_map(|(e, s, m, c)| match c {
                Some(c) => format!("poll: {{ every: {e}, success: {s}, maxChecks: {m}, check: {c} }}"),
                None => format!("poll: {{ every: {e}, success: {s}, maxChecks: {m} }}"),
            }),
    ];
    leaf.prop_map(|s| format!("{{ {s} }}")).prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (count(), prop::option::of(1u32..8), prop::collection::vec(inner.clone(), 0..3)).prop_map(|(c, l, s)| {
                let limit = l.map(|l| format!(", limit: {l}")).unwrap_or_default();
                format!("{{ parallel: {{ count: {c}{limit}, steps: [{}] }} }}", s.join(", "))
            }),
            (cond(), prop::collection::vec(inner.clone(), 0..3), prop::option::of(prop::collection::vec(inner, 0..2)))
                .prop_map(|(c, t, o)| {
                    let other = o.map(|o| format!(", {{ otherwise: [{}] }}", o.join(", "))).unwrap_or_default();
                    format!("{{ branch: [ {{ when: \"{c}\", then: [{}] }}{other} ] }}", t.join(", "))
                }),
        ]
    })
}

fn task() -> impl Strategy<Value = String> {
    (
        prop::option::of(machine()),
        prop::option::of(retry(true)),
        prop::option::of(mostly(prop::sample::select(&["5s", "30s", "10m", "1h"][..]).prop_map(str::to_owned), junk())),
        prop::option::of((0u32..=100, 0u32..=100)),
        prop::option::of(mostly((0u32..600).prop_map(|m| m.to_string()), junk())),
        prop::option::of((prop::sample::select(&["q", "r"][..]), prop::option::of(1u32..4))),
        prop::collection::vec(step(), 0..5),
    )
        .prop_map(|(m, r, md, p, base, q, steps)| {
            let mut v = Vec::new();
            if let Some(m) = m {
                v.push(format!("machine: {m}"));
            }
            if let Some(r) = r {
                v.push(format!("retry: {r}"));
            }
            if let Some(md) = md {
                v.push(format!("maxDuration: {md}"));
            }
            if let Some((a, b)) = p {
                v.push(format!("progress: [{}, {}]", a.min(b), a.max(b)));
            }
            if let Some(b) = base {
                v.push(format!("baseMemoryMb: {b}"));
            }
            if let Some((name, limit)) = q {
                match limit {
                    Some(l) => v.push(format!("queue: {{ name: {name}, concurrencyLimit: {l} }}")),
                    None => v.push(format!("queue: {{ name: {name} }}")),
                }
            }
            v.push(format!("steps: [{}]", steps.join(", ")));
            format!("{{ {} }}", v.join(", "))
        })
}

const TASKS: &[&str] = &["a", "b", "c", "d"];

/// A whole scenario, block style at the top and flow style below: tasks `a`.. and a leaf
/// task `z`. A task mostly triggers later tasks (no cycle); now and then any task, or one that
/// does not exist.
fn scenario() -> impl Strategy<Value = String> {
    (
        prop::option::of(dur_dist()),
        mostly(good_dist((0.0f64..30.0).boxed(), |x| format!("{x:.1}")), junk()),
        prop::collection::vec(task(), 1..=TASKS.len()),
        prop::collection::vec(any::<u16>(), 64),
        prop::option::of(prop::sample::select(&["maxAttempts: 2", "factor: 3", "maxAttempts: 1"][..])),
        prop_oneof![20 => Just("a"), 1 => Just("zz")],
    )
        .prop_map(|(lat, n, tasks, picks, dretry, entry)| {
            // A lower budget than the mutated scenarios': a generated trigger cycle that ends
            // by chance can repeat its per-run work (not counted as events, see
            // `per_event_work_counts_toward_the_budget` in tests/invariants.rs) budget times.
            let mut s = format!("name: fuzz\nlimits: {{ maxEventsPerRun: {GENERATED_EVENT_BUDGET} }}\n");
            if let Some(l) = lat {
                s += &format!("startLatency: {l}\n");
            }
            s += &format!(
                "input:\n  n: {n}\n  flag: {{ bernoulli: 0.5 }}\n  tier: {{ choice: {{ free: 0.7, pro: 0.3 }} }}\n"
            );
            if let Some(r) = dretry {
                s += &format!("defaults: {{ retry: {{ {r} }} }}\n");
            }
            s += &format!("entry: {entry}\ntasks:\n");
            let mut picks = picks.into_iter().cycle();
            let k = tasks.len();
            for (i, t) in tasks.into_iter().enumerate() {
                let mut t = t;
                while let Some(p) = t.find("@T") {
                    let r = picks.next().unwrap_or(0) as usize;
                    let target = match r % 40 {
                        0 => "zz",
                        1 | 2 => TASKS[r / 40 % k],
                        _ if i + 1 < k && !r.is_multiple_of(3) => TASKS[i + 1 + r / 40 % (k - i - 1)],
                        _ => "z",
                    };
                    t.replace_range(p..p + 2, target);
                }
                s += &format!("  {}: {t}\n", TASKS[i]);
            }
            s += "  z: { steps: [ { work: { duration: 1s } } ] }\n";
            s += "slo:\n  - p95(duration) < 5m\n  - successRate > 0.5\n";
            s
        })
}

// ------------------------------------------------------------------ (c) mutations of shipped scenarios

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    SwapValues(usize, usize),
    /// Replace the value of a `key: value` line.
    WrongValue(usize, &'static str),
    /// Replace the n-th number in the text.
    Number(usize, &'static str),
    /// Nest the value of a `key: value` line `depth` times in lists or mappings.
    Nest(usize, usize, bool),
    /// Insert bytes (some not UTF-8) at a byte offset.
    Bytes(usize, Vec<u8>),
    /// Re-indent a line.
    Indent(usize, usize),
}

const WRONG_VALUES: &[&str] = &[
    "[1, 2]",
    "{ a: 1 }",
    "true",
    "\"text\"",
    "~",
    "-5",
    "-5s",
    "1e400",
    ".nan",
    "-.inf",
    "99999999999999999999",
    "4294967296",
    "0",
    "[]",
    "{}",
    "small-3x",
    "{ lognormal: { median: 2s, p95: 1s } }",
    "{ uniform: [5, 1] }",
    "{ lognormal: { mu: 0, sigma: 1e300 } }",
    "{ normal: { mean: 1e308, sd: 1e308 } }",
    "{ exponential: { mean: 1e308 } }",
    "{ choice: {} }",
    "&x [*x]",
    "*undefined",
    "!!binary aGVsbG8=",
    "|\n  block",
];

const HUGE: &[&str] =
    &["0", "-1", "-0.5", "1e308", "1e18", "4294967295", "5000001", "1000000", "10000", "1001", "0.0001", "1e-300"];

fn mutation() -> impl Strategy<Value = Mutation> {
    let idx = any::<prop::sample::Index>();
    prop_oneof![
        2 => any::<usize>().prop_map(Mutation::DeleteLine),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapValues(a, b)),
        3 => (any::<usize>(), prop::sample::select(WRONG_VALUES)).prop_map(|(a, v)| Mutation::WrongValue(a, v)),
        3 => (any::<usize>(), prop::sample::select(HUGE)).prop_map(|(a, v)| Mutation::Number(a, v)),
        1 => (any::<usize>(), 1usize..200, any::<bool>()).prop_map(|(a, d, l)| Mutation::Nest(a, d, l)),
        1 => (idx, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Mutation::Bytes(i.index(usize::MAX), b)),
        1 => (any::<usize>(), 0usize..9).prop_map(|(a, n)| Mutation::Indent(a, n)),
    ]
}

/// Lines of the form `key: value` (the value non-empty), as (line index, byte offset of the value).
fn value_lines(lines: &[String]) -> Vec<(usize, usize)> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#'))
        .filter_map(|(i, l)| {
            let p = l.find(": ")?;
            let rest = l[p + 2..].trim();
            (!rest.is_empty()).then_some((i, p + 2))
        })
        .collect()
}

fn apply(src: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut bytes = src.to_vec();
    for m in muts {
        if let Mutation::Bytes(at, b) = m {
            let at = at % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
            continue;
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.is_empty() {
            continue;
        }
        let n = lines.len();
        let vals = value_lines(&lines);
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
            Mutation::SwapValues(a, b) if !vals.is_empty() => {
                let (la, pa) = vals[a % vals.len()];
                let (lb, pb) = vals[b % vals.len()];
                let va = lines[la][pa..].to_owned();
                let vb = lines[lb][pb..].to_owned();
                lines[la].replace_range(pa.., &vb);
                lines[lb].replace_range(pb.., &va);
            }
            Mutation::WrongValue(a, v) if !vals.is_empty() => {
                let (l, p) = vals[a % vals.len()];
                let indent = " ".repeat(lines[l].len() - lines[l].trim_start().len() + 2);
                lines[l].replace_range(p.., &v.replace('\n', &format!("\n{indent}")));
            }
            Mutation::Nest(a, depth, list) if !vals.is_empty() => {
                let (l, p) = vals[a % vals.len()];
                let v = lines[l][p..].to_owned();
                let nested = if *list {
                    format!("{}{v}{}", "[".repeat(*depth), "]".repeat(*depth))
                } else {
                    format!("{}{v}{}", "{ k: ".repeat(*depth), " }".repeat(*depth))
                };
                lines[l].replace_range(p.., &nested);
            }
            Mutation::Number(a, v) => {
                // Byte ranges of the runs of digits (with a decimal point) in the text.
                let mut runs = Vec::new();
                let mut start = None;
                for (i, c) in text.char_indices() {
                    let d = c.is_ascii_digit() || (c == '.' && start.is_some());
                    match (d, start) {
                        (true, None) => start = Some(i),
                        (false, Some(s)) => {
                            runs.push((s, i));
                            start = None;
                        }
                        _ => {}
                    }
                }
                if !runs.is_empty() {
                    let (s, e) = runs[a % runs.len()];
                    let mut t = text.clone();
                    t.replace_range(s..e, v);
                    bytes = t.into_bytes();
                }
                continue;
            }
            Mutation::Indent(a, k) => {
                let l = &mut lines[a % n];
                *l = format!("{}{}", " ".repeat(*k), l.trim_start());
            }
            _ => {}
        }
        bytes = (lines.join("\n") + "\n").into_bytes();
    }
    bytes
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(SHIPPED), prop::collection::vec(mutation(), 1..4))
        .prop_map(|((_, src), muts)| with_fuzz_budget(apply(src.as_bytes(), &muts)))
}

/// A (mutated) scenario with the fuzz event budget appended, so that the load-time bounds
/// reject a mutation that makes a run huge (a count, a perUnit, a poll) instead of simulating
/// it. Appended after mutating: a mutation that raised the budget would let a `perUnit` of
/// billions of draws through (they are not events, so the run-time budget does not stop them).
fn with_fuzz_budget(src: impl AsRef<[u8]>) -> Vec<u8> {
    let src = src.as_ref();
    let end = src.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let mut out = src[..end].to_vec();
    out.extend_from_slice(format!("\nlimits: {{ maxEventsPerRun: {FUZZ_EVENT_BUDGET} }}\n").as_bytes());
    out
}

static FILE_SEQ: AtomicU64 = AtomicU64::new(0);

/// The property for raw bytes read from a file by `load_file`.
fn check_file(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = std::env::temp_dir().join(format!("wfsim-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let path = dir.join(format!("case-{}.yaml", FILE_SEQ.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&path, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let r = catch_unwind(AssertUnwindSafe(|| load_file(&path)));
    let _ = std::fs::remove_file(&path);
    let shown = String::from_utf8_lossy(bytes);
    let r = r.map_err(|p| TestCaseError::fail(format!("load_file panicked: {}\ninput:\n{shown}", panic_text(&*p))))?;
    if std::str::from_utf8(bytes).is_err() {
        match &r {
            Err(LoadError::Invalid(d)) => {
                prop_assert_eq!(d.len(), 1);
                prop_assert!(d[0].message.contains("not UTF-8"), "{}", d[0]);
            }
            _ => prop_assert!(false, "non-UTF-8 bytes were not rejected\ninput:\n{}", shown),
        }
    }
    check_result(r, &shown)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..120)) {
        check_text(&tokens.concat())?;
    }

    #[test]
    fn token_soup_after_a_valid_header(tokens in prop::collection::vec(token(), 0..80)) {
        check_text(&format!("entry: a\ntasks:\n  a:\n    steps:\n      - {}", tokens.concat()))?;
    }

    #[test]
    fn generated_scenarios_load_or_fail_located(s in scenario()) {
        check_text(&s)?;
    }

    #[test]
    fn mutated_shipped_scenarios_load_or_fail_located(bytes in mutated()) {
        check_text(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutated_bytes_through_load_file(bytes in mutated()) {
        check_file(&bytes)?;
    }
}

/// The shipped scenarios themselves satisfy the property (and load).
#[test]
fn shipped_scenarios_pass_the_property() {
    for (name, src) in SHIPPED {
        assert!(load_str(src, name).is_ok(), "{name} does not load");
        check_text(src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let budgeted = String::from_utf8(with_fuzz_budget(src)).unwrap();
        assert!(load_str(&budgeted, name).is_ok(), "{name} does not load under the fuzz budget");
    }
}

/// How many inputs load, fail in the YAML parser, or fail in the compiler.
fn tally(inputs: impl Iterator<Item = String>) -> (usize, usize, usize) {
    let (mut ok, mut syntax, mut semantic) = (0, 0, 0);
    for src in inputs {
        match load_str(&src, "f.yaml") {
            Ok(_) => ok += 1,
            Err(LoadError::Invalid(d)) if d.iter().any(|d| d.message.starts_with("YAML syntax")) => syntax += 1,
            Err(_) => semantic += 1,
        }
    }
    (ok, syntax, semantic)
}

/// The generators stay useful: a fair share of generated and mutated scenarios load (and so
/// reach the engine), and a fair share fail in the compiler, not only in the YAML parser.
#[test]
fn generators_reach_the_compiler_and_the_engine() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let n = 400;
    let gen_ = (0..n).map(|_| scenario().new_tree(&mut runner).unwrap().current()).collect::<Vec<_>>();
    let (ok, syntax, semantic) = tally(gen_.into_iter());
    eprintln!("generated: {ok} ok, {syntax} syntax errors, {semantic} semantic errors");
    assert!(ok >= n / 10 && semantic >= n / 10, "generated: {ok} ok, {semantic} semantic errors of {n}");
    let muts = (0..n)
        .map(|_| String::from_utf8_lossy(&mutated().new_tree(&mut runner).unwrap().current()).into_owned())
        .collect::<Vec<_>>();
    let (ok, syntax, semantic) = tally(muts.into_iter());
    eprintln!("mutated: {ok} ok, {syntax} syntax errors, {semantic} semantic errors");
    assert!(ok >= n / 20 && semantic >= n / 10, "mutated: {ok} ok, {semantic} semantic errors of {n}");
}
