//! Limits: a runaway scenario ends quickly with a clear error naming the task, at load time
//! where a static bound shows it (huge counts, trigger recursion, polls in the millions),
//! else from the per-run event budget (`limits.maxEventsPerRun`) while simulating; and
//! times stay finite whatever the distributions.

use assert_cmd::Command;
use wfsim::engine::{NoObserver, Scratch, SimError, Status};
use wfsim::error::{Diagnostic, LoadError, Severity};
use wfsim::montecarlo::{self, Config};
use wfsim::rng::run_key;
use wfsim::scenario::{Loaded, load_str};

fn load(yaml: &str) -> Loaded {
    match load_str(yaml, "t.yaml") {
        Ok(l) => l,
        Err(e) => panic!("does not load:\n{e}"),
    }
}

/// The one error of a scenario that must not load.
fn error(yaml: &str) -> Diagnostic {
    match load_str(yaml, "t.yaml") {
        Ok(_) => panic!("loaded, but should not:\n{yaml}"),
        Err(LoadError::Invalid(d)) => {
            let errors: Vec<_> = d.into_iter().filter(|d| d.severity == Severity::Error).collect();
            assert_eq!(errors.len(), 1, "{errors:#?}");
            errors.into_iter().next().unwrap()
        }
        Err(e) => panic!("{e}"),
    }
}

fn at(d: &Diagnostic, line: u32, column: u32, key: &str, has: &[&str]) {
    assert_eq!((d.line, d.column, d.key.as_str()), (line, column, key), "{d}");
    for h in has {
        assert!(d.to_string().contains(h), "`{h}` missing in:\n{d}");
    }
}

fn simulate(l: &Loaded, runs: u64) -> Result<montecarlo::McResult, SimError> {
    montecarlo::run(&l.model, Config { runs, seed: 1, threads: Some(1) })
}

#[test]
fn a_parallel_count_in_the_millions_is_rejected_at_load() {
    let d = error(
        "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 10000000\n          steps:\n            - work: { duration: 1s }\n",
    );
    at(
        &d,
        6,
        18,
        "tasks.a.steps[0].parallel.count",
        &["task `a`", "10,000,000 items", "limits.maxEventsPerRun (5,000,000)", "max:"],
    );
}

#[test]
fn counts_multiply_through_nesting_and_batches() {
    // 1,000 items x a batch of 1,000 children x 1,000 fire-and-forget grandchildren each.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 1000\n          steps:\n            - batchTriggerAndWait: { task: b, count: 1000 }\n  b:\n    steps:\n      - batchTrigger: { task: c, count: 1000 }\n  c:\n    steps:\n      - work: { duration: 1s }\n";
    let d = error(y);
    at(&d, 11, 41, "tasks.b.steps[0].batchTrigger.count", &["task `b`", "1,000,000 runs of `b`", "1,000,000,000"]);
    // Nested parallel items inside one task.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 3000\n          steps:\n            - parallel:\n                count: 3000\n                steps: [ { wait: 1s } ]\n";
    at(&error(y), 9, 24, "tasks.a.steps[0].parallel.steps[0].parallel.count", &["3,000 parallel items", "9,000,000"]);
}

#[test]
fn a_per_unit_count_from_an_unbounded_attribute_is_judged_at_its_far_tail() {
    // A lognormal with p95 of a million: one draw in a billion is far above the budget.
    let y = "input:\n  pages: { lognormal: { median: 10, p95: 1000000 }, round: true }\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { perUnit: pages, each: 1ms } }\n";
    at(&error(y), 7, 38, "tasks.a.steps[0].work.duration.perUnit", &["`perUnit` count", "max:"]);
    // Bounded with max, it loads.
    load(&y.replace("round: true", "max: 100000, round: true"));
}

#[test]
fn a_min_above_the_shape_lifts_the_bound() {
    // Every draw is lifted to min: the count is 3,000,000 units, not 5 (found by the fuzzer:
    // a mutation of `min: 1` kept a perUnit step busy for minutes).
    let y = "input:\n  pages: { uniform: [1, 5], min: 6000000 }\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { perUnit: pages, each: 1ms } }\n";
    at(&error(y), 7, 38, "tasks.a.steps[0].work.duration.perUnit", &["6,000,000 units"]);
    let y = "input:\n  pages: { lognormal: { median: 12, p95: 80 }, min: 6000000, round: true }\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { perUnit: pages, each: 1ms } }\n";
    at(&error(y), 7, 38, "tasks.a.steps[0].work.duration.perUnit", &["6,000,000 units"]);
    // The batch limit sees it too.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - batchTriggerAndWait: { task: b, count: { uniform: [1, 5], min: 2000 } }\n  b:\n    steps: [ { wait: 1s } ]\n";
    assert!(error(y).message.contains("at most 1,000 per batch"));
}

#[test]
fn a_poll_that_can_fail_millions_of_times_is_rejected() {
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - poll: { every: 1s, success: 0, maxChecks: 10000000 }\n";
    at(&error(y), 5, 51, "tasks.a.steps[0].poll.maxChecks", &["10,000,000 checks"]);
    // With a real chance of success the checks that can happen are few: it loads and runs.
    let l = load(&y.replace("success: 0,", "success: 0.5,"));
    let r = simulate(&l, 200).unwrap();
    assert!(r.outcomes.iter().all(|o| o.duration_s < 100.0));
}

#[test]
fn fire_and_forget_recursion_that_never_ends_is_rejected() {
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s }\n      - trigger: b\n  b:\n    steps:\n      - trigger: a\n";
    at(&error(y), 6, 18, "tasks.a.steps[1].trigger", &["trigger cycle a -> b -> a", "never ends", "bernoulli"]);
    // Behind a branch it is no better: the condition is drawn once per workflow run.
    let y = "input:\n  go: { bernoulli: 0.5 }\nentry: a\ntasks:\n  a:\n    steps:\n      - branch:\n          - when: go\n            then: [ { trigger: a } ]\n";
    at(&error(y), 9, 32, "tasks.a.steps[0].branch[0].then[0].trigger", &["trigger cycle a -> a", "never ends"]);
}

#[test]
fn recursion_that_multiplies_is_rejected() {
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s, failure: 0.9 }\n      - batchTrigger: { task: a, count: 2 }\n";
    at(&error(y), 6, 23, "tasks.a.steps[1].batchTrigger", &["trigger cycle a -> a", "2 runs", "grow without end"]);
    // Also through triggerAndWait inside a parallel, across two tasks.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - parallel: { count: { uniform: [0, 3] }, steps: [ { triggerAndWait: b } ] }\n  b:\n    steps:\n      - trigger: a\n";
    at(&error(y), 5, 76, "tasks.a.steps[0].parallel.steps[0].triggerAndWait", &["a -> b -> a", "3 runs"]);
}

#[test]
fn recursion_that_multiplies_through_two_steps_is_rejected() {
    // Each run of `a` starts one `b` and one `c`, each of which starts an `a`.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - trigger: b\n      - trigger: c\n  b:\n    steps:\n      - trigger: a\n  c:\n    steps:\n      - trigger: a\n";
    let d = error(y);
    assert!(d.message.contains("a run of `a` can trigger 2 runs of the cycle"), "{d}");
    assert_eq!(d.key, "tasks.a.steps[0].trigger");
}

/// Mean and standard error (sample standard deviation / sqrt(n)) of per-run values.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, sd / n.sqrt())
}

#[test]
fn recursion_that_ends_by_chance_is_simulated() {
    // Each run of `a` continues the chain with probability p, so the number of task runs per
    // workflow run is geometric on 1, 2, ...: mean 1 / (1 - p), standard deviation
    // sqrt(p) / (1 - p). 20,000 runs: the standard error of the mean, from the runs, must
    // leave a 5% error beyond 4 of itself (p = 0.8 read as 0.79 gives 4.76 for 5).
    let chain = |y: &str, p: f64| {
        let r = simulate(&load(y), 20_000).unwrap();
        let lengths: Vec<f64> = r.outcomes.iter().map(|o| o.task_runs as f64).collect();
        let (mean, se) = mean_se(&lengths);
        let want = 1.0 / (1.0 - p);
        assert!(4.0 * se < 0.05 * want, "too few runs to see a 5% error: se {se}");
        assert!((mean - want).abs() < 4.0 * se, "mean chain length {mean} ± {se} vs {want}\n{y}");
        r
    };
    chain(
        "startLatency: 0\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s }\n      - batchTrigger: { task: a, count: { bernoulli: 0.8 } }\n",
        0.8,
    );
    // A chain ended by a failing step before the trigger: with no `retry`, one attempt, so
    // a run goes on with probability 0.7, and the workflow run (the entry run's status)
    // fails with probability 0.3.
    let r = chain(
        "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s, failure: 0.3 }\n      - trigger: a\n",
        0.7,
    );
    let failed: Vec<f64> = r.outcomes.iter().map(|o| f64::from(u8::from(o.status == Status::Failed))).collect();
    let (share, se) = mean_se(&failed);
    assert!((share - 0.3).abs() < 4.0 * se, "failed share {share} ± {se} vs 0.3");
}

/// Events the event engine processes on run 0 (seed 1) of `l` before it stops or ends.
fn events_of_run_0(l: &Loaded) -> (Result<wfsim::engine::RunOutcome, SimError>, u64) {
    let mut s = Scratch::new();
    let mut tasks = vec![wfsim::engine::TaskAcc::default(); l.model.tasks.len()];
    let r = wfsim::engine::simulate_events(&l.model, run_key(1, 0), &mut s, &mut tasks, &mut NoObserver);
    (r, s.events())
}

#[test]
fn the_event_budget_stops_a_run_at_the_limit_naming_the_task() {
    // Three million items pass the load-time bound (one event each) but take more events.
    // The engine counts each event as it takes it from the queue and stops at the first past
    // the budget: event 5,000,001, whatever the items would have needed.
    let y = "entry: root\ntasks:\n  root:\n    steps:\n      - triggerAndWait: fan\n  fan:\n    steps:\n      - parallel:\n          count: 3000000\n          steps:\n            - work: { duration: 1s }\n";
    let l = load(y);
    let (r, events) = events_of_run_0(&l);
    assert!(r.is_err(), "the budget stops the run");
    assert_eq!(events, 5_000_001, "events processed before the stop");
    // Through the Monte Carlo: the first run's error, naming the task and the setting.
    let e = simulate(&l, 50).err().expect("the budget stops the run");
    let SimError::EventBudget { limit, task, run, .. } = &e;
    assert_eq!((*limit, task.as_str(), *run), (5_000_000, "fan", 0));
    assert!(e.to_string().contains("maxEventsPerRun"), "{e}");
}

#[test]
fn the_event_budget_is_settable() {
    // 60 items of two steps each: under a budget of 100 events at load, over it when run.
    let y = "limits: { maxEventsPerRun: 100 }\nentry: a\ntasks:\n  a:\n    steps:\n      - parallel: { count: 60, steps: [ { work: { duration: 1s } }, { wait: 1s } ] }\n";
    let l = load(y);
    assert_eq!(l.model.limits.max_events_per_run, 100);
    let e = simulate(&l, 1).err().expect("over budget");
    assert!(matches!(&e, SimError::EventBudget { limit: 100, task, .. } if task == "a"), "{e}");
    // The message names the run by its index in the Monte Carlo, not by its random key.
    assert!(e.to_string().starts_with("run 0 processed more than 100 events"), "{e}");
    // The load-time bound uses the same limit.
    let d = error(&y.replace("count: 60", "count: 101"));
    assert!(d.message.contains("over limits.maxEventsPerRun (100)"), "{d}");
    // Raised, it runs.
    assert!(simulate(&load(&y.replace("100 }", "1000 }")), 5).is_ok());
}

#[test]
fn wfsim_run_exits_2_with_the_budget_message() {
    let dir = std::env::temp_dir().join(format!("wfsim-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("budget.yaml");
    std::fs::write(
        &p,
        "limits: { maxEventsPerRun: 1000 }\nentry: a\ntasks:\n  a:\n    steps:\n      - parallel: { count: 900, steps: [ { work: { duration: 1s } } ] }\n",
    )
    .unwrap();
    // `validate` simulates too, so it fails the same way (a scenario `run` cannot run is not ok).
    for args in [vec!["run", p.to_str().unwrap(), "--runs", "10"], vec!["validate", p.to_str().unwrap()]] {
        let out = Command::cargo_bin("wfsim").unwrap().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("processed more than 1000 events (in task `a`)"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn durations_too_large_are_rejected_and_unbounded_tails_stay_finite() {
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - wait: 1e12\n";
    at(&error(y), 5, 15, "tasks.a.steps[0].wait", &["too large", "1e9 s"]);
    let y =
        "entry: a\ntasks:\n  a:\n    retry: { maxAttempts: 2, maxTimeoutInMs: 1e300 }\n    steps:\n      - wait: 1s\n";
    at(&error(y), 4, 46, "tasks.a.retry.maxTimeoutInMs", &["too large"]);
    // sigma 300: most draws overflow to infinity or vanish; they are capped at 1e9 s.
    let y = "entry: a\ntasks:\n  a:\n    steps:\n      - wait: { lognormal: { mu: 0, sigma: 300 } }\n      - work: { duration: { exponential: { mean: 900000000 } } }\n";
    let r = simulate(&load(y), 200).unwrap();
    for o in &r.outcomes {
        assert!(o.duration_s.is_finite() && o.cost_usd.is_finite() && o.usage_s.is_finite(), "{o:?}");
    }
}

/// Work done inside one event (the draws of a `perUnit` duration, the items of a `parallel`
/// restarted in place under its `limit`) counts toward `limits.maxEventsPerRun` as the
/// events it saves: otherwise a fire-and-forget chain that ends by chance (allowed: a count
/// of { bernoulli: p }) could do up to (budget x per-run work) of it per workflow run (here
/// about a thousand chain runs of 110,000 units each), though each run is only a few events.
#[test]
fn per_event_work_counts_toward_the_budget() {
    let y = "limits: { maxEventsPerRun: 100000 }\nentry: a\ntasks:\n  a:\n    steps:\n      - parallel: { count: 60000, limit: 1, steps: [] }\n      - work: { duration: { perUnit: 50000, each: 1ms } }\n      - batchTrigger: { task: a, count: { bernoulli: 0.999 } }\n";
    let l = load(y);
    let (r, events) = events_of_run_0(&l);
    assert!(matches!(r, Err(SimError::EventBudget { .. })), "the budget should stop the chain");
    // The first chain run's 60,000 items restarted in place and its 50,000 draws pass the
    // budget: the next event stops the run, a few events past 110,000. Were the draws not
    // counted, the second run's items would stop it past 120,000; were the items not
    // counted, the second run's draws past 100,000 only.
    assert!(
        events > 110_000 && events <= 110_010,
        "{events} events counted when the budget stopped the run (expected a few past 110,000)"
    );
    assert!(matches!(simulate(&l, 5), Err(SimError::EventBudget { .. })));
}
