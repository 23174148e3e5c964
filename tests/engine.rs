//! The engine against closed forms and exact hand-computed timelines.
//! Statistical checks use fixed seeds and 4-standard-error tolerances derived from the
//! sample itself; exact checks use fixed durations and `startLatency: 0`.

use wfsim::engine::Status;
use wfsim::montecarlo::{self, Config, McResult};
use wfsim::platform::{INVOCATION_USD, PRESETS};
use wfsim::scenario::load_str;

fn sim(yaml: &str, runs: u64, seed: u64) -> McResult {
    let loaded = match load_str(yaml, "test.yaml") {
        Ok(l) => l,
        Err(e) => panic!("scenario does not load:\n{e}"),
    };
    montecarlo::run(&loaded.model, Config { runs, seed, threads: None }).expect("simulates")
}

fn one(yaml: &str) -> wfsim::engine::RunOutcome {
    sim(yaml, 1, 1).outcomes[0]
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn assert_mean(v: &[f64], expected: f64, what: &str) {
    let (m, se) = mean_se(v);
    assert!((m - expected).abs() <= 4.0 * se, "{what}: mean {m} vs expected {expected} (4 se = {})", 4.0 * se);
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn harmonic(n: u32) -> f64 {
    (1..=n).map(|k| 1.0 / k as f64).sum()
}

#[test]
fn promise_all_of_n_exponentials_takes_h_n_over_lambda() {
    for (n, mean) in [(1u32, 2.0), (6, 2.0), (20, 0.5)] {
        let y = format!(
            "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - parallel:\n          count: {n}\n          steps:\n            - work: {{ duration: {{ exponential: {{ mean: {mean}s }} }} }}\n"
        );
        let r = sim(&y, 40_000, 11);
        let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
        assert_mean(&d, harmonic(n) * mean, &format!("max of {n} exponentials"));
    }
}

#[test]
fn batch_trigger_and_wait_of_n_exponential_children_takes_h_n_over_lambda() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - batchTriggerAndWait: { task: c, count: 5 }\n  c:\n    steps:\n      - work: { duration: { exponential: { mean: 1s } } }\n";
    let r = sim(y, 40_000, 12);
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert_mean(&d, harmonic(5), "batch of 5 exponential children");
    assert!(r.outcomes.iter().all(|o| o.task_runs == 6));
}

#[test]
fn geometric_retries_match_closed_form() {
    // Failure probability q per attempt, k attempts at most: mean attempts (1 - q^k) / (1 - q),
    // success probability 1 - q^k.
    let (q, k) = (0.3f64, 4);
    let y = format!(
        "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    retry: {{ maxAttempts: {k}, minTimeoutInMs: 100, randomize: false }}\n    steps:\n      - work: {{ duration: 1s, failure: {q} }}\n"
    );
    let r = sim(&y, 50_000, 13);
    let attempts: Vec<f64> = r.outcomes.iter().map(|o| o.attempts as f64).collect();
    assert_mean(&attempts, (1.0 - q.powi(k)) / (1.0 - q), "attempts");
    let ok: Vec<f64> = r.outcomes.iter().map(|o| f64::from(o.status == Status::Completed)).collect();
    assert_mean(&ok, 1.0 - q.powi(k), "success rate");
}

#[test]
fn retry_delays_are_exact_without_randomize() {
    // Attempts of 1 s that always fail; delays 1, 2, 4 s (min 1000 ms, factor 2): the run
    // fails at 1 + 1 + 1 + 2 + 1 + 4 + 1 = 11 s after its first start, a cold one (7 s: no
    // machine was warm). Retries under 30 s keep the machine: no start latency.
    let y = "startLatency: 5s\ncoldStart: 7s\nentry: t\ntasks:\n  t:\n    retry: { maxAttempts: 4, factor: 2, minTimeoutInMs: 1000, maxTimeoutInMs: 10000, randomize: false }\n    steps:\n      - work: { duration: 1s, failure: 1 }\n";
    let o = one(y);
    assert_eq!(o.status, Status::Failed);
    assert_eq!(o.attempts, 4);
    assert!(close(o.duration_s, 7.0 + 11.0), "{}", o.duration_s);
    // The delays between attempts are not billed: 4 attempts of 1 s.
    assert!(close(o.usage_s, 4.0), "{}", o.usage_s);
}

#[test]
fn retry_delays_with_randomize_lie_in_their_range() {
    // r = 1 + U[0,1): delays in [1,2), [2,4), [4,8) s; total duration in [4 + 7, 4 + 14).
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    retry: { maxAttempts: 4, factor: 2, minTimeoutInMs: 1000, maxTimeoutInMs: 60000, randomize: true }\n    steps:\n      - work: { duration: 1s, failure: 1 }\n";
    let r = sim(y, 5_000, 14);
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert!(
        d.iter().all(|&x| (11.0..18.0).contains(&x)),
        "{:?}",
        d.iter().cloned().fold((f64::MAX, 0.0f64), |a, x| (a.0.min(x), a.1.max(x)))
    );
    // Mean delay total = 1.5 + 3 + 6 (rounding to whole ms moves it by under 1 ms).
    assert_mean(&d, 4.0 + 10.5, "randomized delays");
}

#[test]
fn a_long_retry_delay_requeues_with_start_latency() {
    // A cold first start (7 s); 40 s >= 30 s: the run gives its slot back and queues again,
    // and starts warm (5 s): its own machine ended 40 s before, within keepWarm (300 s).
    let y = "startLatency: 5s\ncoldStart: 7s\nentry: t\ntasks:\n  t:\n    retry: { maxAttempts: 2, minTimeoutInMs: 40000, maxTimeoutInMs: 60000, randomize: false }\n    steps:\n      - work: { duration: 1s, failure: 1 }\n";
    let o = one(y);
    assert!(close(o.duration_s, 7.0 + 1.0 + 40.0 + 5.0 + 1.0), "{}", o.duration_s);
}

#[test]
fn lognormal_median_and_p95_round_trip_through_the_engine() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: { lognormal: { median: 2s, p95: 8s } } }\n";
    let n = 100_000;
    let r = sim(y, n, 15);
    let mut d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    d.sort_by(f64::total_cmp);
    for (q, truth) in [(0.5, 2.0), (0.95, 8.0)] {
        let sd = (n as f64 * q * (1.0 - q)).sqrt();
        let lo = d[(n as f64 * q - 4.0 * sd) as usize];
        let hi = d[(n as f64 * q + 4.0 * sd) as usize];
        assert!(lo <= truth && truth <= hi, "q{q}: {truth} not in [{lo}, {hi}]");
    }
}

#[test]
fn cost_of_a_fixed_scenario_to_the_dollar() {
    // Parent on small-1x: 10 s of work, then waits on a child (not billed), then 2 s.
    // Child on micro: 30 s. Two invocations.
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    machine: small-1x\n    steps:\n      - work: { duration: 10s }\n      - triggerAndWait: c\n      - work: { duration: 2s }\n  c:\n    machine: micro\n    steps:\n      - work: { duration: 30s }\n";
    let o = one(y);
    let expected = 12.0 * 0.0000338 + 30.0 * 0.0000169 + 2.0 * 0.000025;
    assert!(close(o.cost_usd, expected), "{} vs {expected}", o.cost_usd);
    assert!(close(o.duration_s, 42.0));
    assert!(close(o.root_usage_s, 12.0));
    assert!(close(INVOCATION_USD, 0.000025) && close(PRESETS[1].usd_per_s, 0.0000338));
}

#[test]
fn prices_can_be_overridden() {
    let y = "startLatency: 0\ncoldStart: 0\nprices: { invocationUsd: 0.001, small-1x: 0.5 }\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 2s }\n";
    assert!(close(one(y).cost_usd, 1.001));
}

#[test]
fn waits_over_five_seconds_are_not_billed() {
    let base = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s }\n";
    let short = one(&format!("{base}      - wait: 5s\n"));
    assert!(close(short.usage_s, 6.0), "a 5 s wait keeps the machine running: {}", short.usage_s);
    let long = one(&format!("{base}      - wait: 6s\n"));
    assert!(close(long.usage_s, 1.0), "a 6 s wait is checkpointed: {}", long.usage_s);
    assert!(close(long.duration_s, 7.0));
}

#[test]
fn max_duration_counts_compute_time_not_wall_time() {
    // A short in-process wait (4 s) counts, a long one (60 s) does not: compute reaches
    // 10 s two seconds into the second work step, at 4 + 4 + 60 + 2 = 70 s.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    maxDuration: 10s\n    retry: { maxAttempts: 3 }\n    steps:\n      - wait: 4s\n      - work: { duration: 4s }\n      - wait: 60s\n      - work: { duration: 4s }\n";
    let o = one(y);
    assert_eq!(o.status, Status::TimedOut);
    assert_eq!(o.attempts, 1, "TIMED_OUT is not retried");
    assert!(close(o.duration_s, 70.0), "{}", o.duration_s);
    // The same with a 6 s first wait (checkpointed): 8 s of compute, completes at 74 s.
    let o = one(&y.replace("wait: 4s", "wait: 6s"));
    assert_eq!(o.status, Status::Completed);
    assert!(close(o.duration_s, 74.0) && close(o.usage_s, 8.0));
}

#[test]
fn out_of_memory_retries_once_on_the_bigger_machine() {
    // 800 MB on small-1x (512 MB) dies at once; the retry on small-2x (1024 MB) fits.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    machine: small-1x\n    retry: { maxAttempts: 2, minTimeoutInMs: 1000, randomize: false, outOfMemory: { machine: small-2x } }\n    steps:\n      - work: { duration: 10s, memoryMb: 800 }\n";
    let r = sim(y, 1, 1);
    let o = r.outcomes[0];
    assert_eq!(o.status, Status::Completed);
    assert_eq!(o.attempts, 2);
    assert_eq!(r.tasks[0].oom, 1);
    assert!(close(o.cost_usd, 10.0 * PRESETS[2].usd_per_s + INVOCATION_USD), "{}", o.cost_usd);
    // No outOfMemory setting: CRASHED, no retry.
    let o = one(&y.replace(", outOfMemory: { machine: small-2x }", ""));
    assert_eq!((o.status, o.attempts), (Status::Crashed, 1));
    // No attempt left: CRASHED.
    let o = one(&y.replace("maxAttempts: 2", "maxAttempts: 1"));
    assert_eq!((o.status, o.attempts), (Status::Crashed, 1));
    // Memory of Promise.all items running together adds up: 3 x 200 MB + 0 base fits 1024,
    // plus baseMemoryMb 500 does not.
    let par = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    machine: small-2x\n    steps:\n      - parallel:\n          count: 3\n          steps:\n            - work: { duration: 1s, memoryMb: 200 }\n";
    assert_eq!(one(par).status, Status::Completed);
    assert_eq!(
        one(&par.replace("machine: small-2x\n", "machine: small-2x\n    baseMemoryMb: 500\n")).status,
        Status::Crashed
    );
}

const PARENT_RETRIES: &str = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }\n    steps:\n      - triggerAndWait: CHILD\n      - work: { duration: 1s, failure: 1 }\n  c:\n    steps:\n      - work: { duration: 5s }\n";

#[test]
fn a_retried_parent_triggers_its_completed_child_again_without_an_idempotency_key() {
    let r = sim(&PARENT_RETRIES.replace("CHILD", "c"), 1, 1);
    assert_eq!(r.tasks[1].runs, 3, "child run once per parent attempt");
    assert_eq!(r.outcomes[0].task_runs, 4);
}

#[test]
fn an_idempotency_key_reuses_a_completed_child_across_parent_retries() {
    let r = sim(&PARENT_RETRIES.replace("CHILD", "{ task: c, idempotencyKey: true }"), 1, 1);
    assert_eq!(r.tasks[1].runs, 1, "the completed child's result is reused");
    // Attempts: 5 s child + 1 s fail, delay 1 s, 1 s fail, delay 2 s, 1 s fail = 11 s.
    assert!(close(r.outcomes[0].duration_s, 11.0), "{}", r.outcomes[0].duration_s);
}

#[test]
fn an_idempotency_key_runs_a_failed_child_again() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }\n    steps:\n      - triggerAndWait: { task: c, idempotencyKey: true }\n  c:\n    steps:\n      - work: { duration: 5s, failure: 1 }\n";
    let r = sim(y, 1, 1);
    assert_eq!(r.tasks[1].runs, 3);
    assert_eq!(r.outcomes[0].status, Status::Failed);
}

/// Fire-and-forget children of a parent that fails three times (1 s of work that always
/// throws, retried after 1 s and 2 s: attempts start at 0, 2 and 5 s).
const TRIGGER_RETRIES: &str = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }\n    steps:\n      - STEP\n      - work: { duration: 1s, failure: 1 }\n  c:\n    steps:\n      - work: { duration: CHILD }\n";

#[test]
fn an_idempotency_key_on_a_fire_and_forget_trigger_keeps_retries_from_triggering_again() {
    let runs = |step: &str, child: &str| {
        let y = TRIGGER_RETRIES.replace("STEP", step).replace("CHILD", child);
        // Both paths: the Monte Carlo's (direct where it can) and the event engine's.
        let r = sim(&y, 1, 1);
        let m = load_str(&y, "t.yaml").expect("loads").model;
        let mut tasks = vec![wfsim::engine::TaskAcc::default(); m.tasks.len()];
        let mut s = wfsim::engine::Scratch::new();
        let key = wfsim::rng::run_key(1, 0);
        let e = wfsim::engine::simulate_events(&m, key, &mut s, &mut tasks, &mut wfsim::engine::NoObserver)
            .expect("simulates");
        assert_eq!((r.tasks[1].runs, r.outcomes[0].task_runs), (tasks[1].runs, e.task_runs), "{step} {child}");
        r.tasks[1].runs
    };
    // Without a key every attempt triggers the child again.
    assert_eq!(runs("trigger: c", "10s"), 3);
    // With one, a child still running when the parent retries (10 s) is not triggered again,
    // nor is one that completed (0.5 s)...
    assert_eq!(runs("trigger: { task: c, idempotencyKey: true }", "10s"), 1);
    assert_eq!(runs("trigger: { task: c, idempotencyKey: true }", "0.5s"), 1);
    // ... but one that failed runs again, under the same key.
    assert_eq!(runs("trigger: { task: c, idempotencyKey: true }", "0.5s, failure: 1"), 3);
    // batchTrigger: each item keyed on its own.
    assert_eq!(runs("batchTrigger: { task: c, count: 4 }", "10s"), 12);
    assert_eq!(runs("batchTrigger: { task: c, count: 4, idempotencyKey: true }", "10s"), 4);
}

#[test]
fn an_idempotency_key_on_a_batch_reuses_each_completed_child_by_its_index() {
    // A batch of 4 and then a step that always throws: 3 attempts of the parent.
    let batch = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }\n    steps:\n      - batchTriggerAndWait: { task: c, count: 4KEY }\n      - work: { duration: 1s, failure: 1 }\n  c:\n    steps:\n      - work: { duration: CHILD }\n";
    let runs = |key: &str, child: &str| sim(&batch.replace("KEY", key).replace("CHILD", child), 1, 1).tasks[1].runs;
    assert_eq!(runs("", "2s"), 12, "without a key every attempt triggers the batch again");
    assert_eq!(runs(", idempotencyKey: true", "2s"), 4, "each completed child is reused");
    // Failed children run again (the batch then throws: unwrap), each under its own key.
    assert_eq!(runs(", idempotencyKey: true", "2s, failure: 1"), 12);
    // Mixed outcomes, which only a key per item gets right: children that fail half the time
    // (no retries of their own); a failed child fails the batch, and the parent's one retry
    // re-runs exactly the failed ones. Child runs per workflow: 4 + F with F ~ Bin(4, 1/2)
    // failures in the first attempt, mean 6, sd 1. (Looking every item up under one key
    // gives about 4.5.)
    let mixed = batch
        .replace("maxAttempts: 3", "maxAttempts: 2")
        .replace("      - work: { duration: 1s, failure: 1 }\n  c:", "  c:")
        .replace("KEY", ", idempotencyKey: true")
        .replace("CHILD", "1s, failure: 0.5");
    let n = 4000;
    let per_run = sim(&mixed, n, 7).tasks[1].runs as f64 / n as f64;
    let se = 1.0 / (n as f64).sqrt();
    assert!((per_run - 6.0).abs() < 4.0 * se, "{per_run} child runs per workflow run (6 +- {})", 4.0 * se);
    // In Promise.all items each item keeps its own keys: 2 items x 1 child, reused twice.
    let items = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }\n    steps:\n      - parallel:\n          count: 2\n          steps:\n            - triggerAndWait: { task: c, idempotencyKey: true }\n      - work: { duration: 1s, failure: 1 }\n  c:\n    steps:\n      - work: { duration: 2s }\n";
    assert_eq!(sim(items, 1, 1).tasks[1].runs, 2);
}

#[test]
fn a_fire_and_forget_child_is_not_part_of_the_parent_duration_but_is_paid_for() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - trigger: c\n      - work: { duration: 1s }\n  c:\n    steps:\n      - work: { duration: 100s }\n";
    let o = one(y);
    assert!(close(o.duration_s, 1.0));
    assert!(close(o.makespan_s, 100.0));
    assert!(close(o.cost_usd, 101.0 * PRESETS[1].usd_per_s + 2.0 * INVOCATION_USD));
}

#[test]
fn step_level_retry_retries_the_block_in_process_and_bills_the_delay() {
    // retry.onThrow: 1 s fail, 0.5 s delay, 1 s fail, 1 s delay, 1 s fail -> throws at 4.5 s.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s, failure: 1, retry: { maxAttempts: 3, minTimeoutInMs: 500, randomize: false } }\n";
    let o = one(y);
    assert_eq!((o.status, o.attempts), (Status::Failed, 1));
    assert!(close(o.duration_s, 4.5) && close(o.usage_s, 4.5), "{} {}", o.duration_s, o.usage_s);
}

#[test]
fn abort_errors_are_not_retried() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    retry: { maxAttempts: 5 }\n    steps:\n      - work: { duration: 1s, failure: { probability: 1, retryable: false }, retry: { maxAttempts: 3 } }\n";
    let o = one(y);
    assert_eq!((o.status, o.attempts), (Status::Failed, 1));
    assert!(close(o.duration_s, 1.0));
}

#[test]
fn failure_at_end_or_at_a_uniform_point() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 10s, failure: 1 }\n";
    assert!(close(one(y).duration_s, 10.0));
    let r = sim(&y.replace("failure: 1", "failure: 1, failAt: uniform"), 20_000, 16);
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert!(d.iter().all(|&x| (0.0..=10.0).contains(&x)));
    assert_mean(&d, 5.0, "failure at a uniform point");
}

#[test]
fn promise_all_limit_and_progress_steps() {
    // Four 1 s items, one at a time, in a task owning the whole bar: 25% per item.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    progress: [0, 100]\n    steps:\n      - parallel:\n          count: 4\n          limit: 1\n          steps:\n            - work: { duration: 1s }\n";
    let o = one(y);
    assert!(close(o.duration_s, 4.0));
    // progress[l] is the time the bar reached (l + 1) * 5%.
    assert!(close(o.progress[4], 1.0) && close(o.progress[9], 2.0) && close(o.progress[19], 4.0), "{:?}", o.progress);
    let o = one(&y.replace("limit: 1", "limit: 2"));
    assert!(close(o.duration_s, 2.0));
}

#[test]
fn progress_moves_through_slices_and_reaches_100_on_success() {
    // Parent [0, 50]: two counted steps (25% each); child [50, 90]; completion -> 100.
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    progress: [0, 50]\n    steps:\n      - work: { duration: 1s }\n      - work: { duration: 1s }\n      - triggerAndWait: c\n  c:\n    progress: [50, 90]\n    steps:\n      - work: { duration: { perUnit: n, each: 1s } }\ninput:\n  n: 4\n";
    let o = one(y);
    assert!(close(o.progress[4], 1.0), "25% after the first step: {:?}", o.progress);
    assert!(close(o.progress[9], 2.0), "50% after the second");
    // Child: 4 units of 1 s from 2 s: 60% at 3 s, 70% at 4 s, 90% at 6 s.
    assert!(close(o.progress[11], 3.0) && close(o.progress[13], 4.0) && close(o.progress[17], 6.0), "{:?}", o.progress);
    assert!(close(o.progress[19], 6.0) && close(o.duration_s, 6.0));
}

#[test]
fn cpu_bound_work_scales_with_the_preset() {
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    machine: MACHINE\n    steps:\n      - work: { duration: 10s, cpuBound: true PF }\n";
    let d = |m: &str, pf: &str| one(&y.replace("MACHINE", m).replace("PF", pf)).duration_s;
    assert!(close(d("small-1x", ""), 10.0));
    assert!(close(d("micro", ""), 20.0));
    assert!(close(d("small-2x", ""), 5.0));
    // One JavaScript thread gets at most one core.
    assert!(close(d("large-2x", ""), 5.0));
    // Fully parallel work scales with vCPU: 4 vCPU vs 0.5 -> 8x faster.
    assert!(close(d("large-1x", ", parallelFraction: 1"), 1.25));
    // Not CPU-bound: the preset does not matter.
    assert!(close(one(&y.replace("MACHINE", "large-2x").replace(", cpuBound: true PF", "")).duration_s, 10.0));
}

#[test]
fn branches_follow_input_attributes() {
    let y = "startLatency: 0\ncoldStart: 0\ninput:\n  scanned: { bernoulli: 0.3 }\n  tier: { choice: { free: 0.7, pro: 0.3 } }\nentry: p\ntasks:\n  p:\n    steps:\n      - branch:\n          - when: scanned\n            then: [ { triggerAndWait: ocr } ]\n          - otherwise: [ { work: { duration: 1s } } ]\n      - branch:\n          - when: tier == pro\n            then: [ { trigger: emb } ]\n  ocr:\n    steps:\n      - work: { duration: 1s }\n  emb:\n    steps:\n      - work: { duration: 1s }\n";
    let n = 40_000;
    let r = sim(y, n, 17);
    let share = |runs: u64| runs as f64 / n as f64;
    for (got, p) in [(share(r.tasks[1].runs), 0.3), (share(r.tasks[2].runs), 0.3)] {
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!((got - p).abs() < 4.0 * se, "{got} vs {p}");
    }
}

#[test]
fn a_polls_check_time_does_not_decide_its_outcome() {
    // Each check takes U[0, 2 s] (billed; the 6 s waits are not) and succeeds with
    // probability 0.5, independently: runs that needed one check billed 1 s on average, like
    // any check. (When both came from one draw, a check that succeeded had taken 0.5 s on average.)
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - poll: { every: 6s, check: { uniform: [0s, 2s] }, success: 0.5, maxChecks: 50 }\n";
    let r = sim(y, 20_000, 21);
    // One check: the run ends within [6 s, 8 s]; two need at least 12 s.
    let one: Vec<f64> = r.outcomes.iter().filter(|o| o.duration_s < 10.0).map(|o| o.usage_s).collect();
    assert!(one.len() > 9_000, "{} runs with one check", one.len());
    assert_mean(&one, 1.0, "billed time of a run with one check");
}

#[test]
fn poll_checks_until_success_or_gives_up() {
    // Check after each 30 s wait, success 0.5, at most 3 checks: P(fail) = 0.125.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - poll: { every: 30s, success: 0.5, maxChecks: 3 }\n";
    let n = 40_000;
    let r = sim(y, n, 18);
    let failed: Vec<f64> = r.outcomes.iter().map(|o| f64::from(o.status == Status::Failed)).collect();
    assert_mean(&failed, 0.125, "poll gives up");
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    // Checks needed: 1 (p .5), 2 (.25), 3 (.25, success or not): mean 1.75 waits of 30 s.
    assert_mean(&d, 30.0 * 1.75, "poll duration");
    // Waits over 5 s are checkpointed: nothing is billed.
    assert!(r.outcomes.iter().all(|o| o.usage_s == 0.0));
}

#[test]
fn runs_are_reproducible_and_independent_of_thread_count() {
    let y = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/pdf-processing.yaml")).unwrap();
    let m = load_str(&y, "pdf.yaml").unwrap().model;
    let a = montecarlo::run(&m, Config { runs: 5000, seed: 3, threads: Some(1) }).unwrap();
    let b = montecarlo::run(&m, Config { runs: 5000, seed: 3, threads: Some(2) }).unwrap();
    assert_eq!(a.outcomes, b.outcomes);
    assert_eq!(a.tasks, b.tasks);
    let c = montecarlo::run(&m, Config { runs: 5000, seed: 4, threads: Some(2) }).unwrap();
    assert_ne!(a.outcomes, c.outcomes);
}

#[test]
fn overrides_replace_values_by_key_path() {
    use wfsim::scenario::load_str_with;
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - parallel:\n          count: 4\n          limit: 1\n          steps:\n            - work: { duration: 1s, cpuBound: true }\n";
    let set = |p: &str, v: &str| (p.to_owned(), v.to_owned());
    // Four CPU-bound items at once share the machine (4 x 1 s on one thread, as one at a
    // time); I/O-bound ones run side by side.
    let m = load_str_with(y, "t.yaml", &[set("tasks.t.steps[0].parallel.limit", "4")]).unwrap().model;
    let r = montecarlo::run(&m, Config { runs: 1, seed: 1, threads: Some(1) }).unwrap();
    assert!(close(r.outcomes[0].duration_s, 4.0));
    let io = y.replace(", cpuBound: true", "");
    let m = load_str_with(&io, "t.yaml", &[set("tasks.t.steps[0].parallel.limit", "4")]).unwrap().model;
    let r = montecarlo::run(&m, Config { runs: 1, seed: 1, threads: Some(1) }).unwrap();
    assert!(close(r.outcomes[0].duration_s, 1.0));
    // A missing last key is added: the machine of a task without one.
    let m = load_str_with(y, "t.yaml", &[set("tasks.t.machine", "small-2x")]).unwrap().model;
    let r = montecarlo::run(&m, Config { runs: 1, seed: 1, threads: Some(1) }).unwrap();
    assert!(close(r.outcomes[0].duration_s, 2.0));
    // A path that does not exist, and a bad value, are errors.
    assert!(load_str_with(y, "t.yaml", &[set("tasks.u.machine", "micro")]).is_err());
    assert!(load_str_with(y, "t.yaml", &[set("tasks.t.steps[3].work", "1s")]).is_err());
    assert!(load_str_with(y, "t.yaml", &[set("tasks.t.machine", "small-9x")]).is_err());
}

#[test]
fn past_the_exact_runs_statistics_come_from_histograms_within_their_bound() {
    let y = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/pdf-processing.yaml")).unwrap();
    let m = load_str(&y, "pdf.yaml").unwrap().model;
    let exact = montecarlo::run(&m, Config { runs: 20_000, seed: 5, threads: None }).unwrap();
    assert!(exact.exact());
    // The same runs with only part of the outcomes kept: the summary switches to histograms.
    // Statistics of every run with their histograms, as past the exact runs.
    let full = McResult::from_outcomes(exact.outcomes.clone(), exact.tasks.clone());
    let sketched = McResult { outcomes: exact.outcomes[..100].to_vec(), stats: full.stats, tasks: exact.tasks.clone() };
    assert!(!sketched.exact());
    let a = wfsim::analysis::summarise(&m, &exact, 5, vec![]);
    let b = wfsim::analysis::summarise(&m, &sketched, 5, vec![]);
    let alpha = wfsim::stats::LogHistogram::ALPHA;
    // Exact quantiles interpolate between neighbours; the histogram returns a value within
    // alpha of the nearest-rank one: allow alpha plus the gap between neighbouring values.
    let mut d: Vec<f64> = exact.outcomes.iter().map(|o| o.duration_s).collect();
    d.sort_by(f64::total_cmp);
    for (x, y, q) in [
        (a.duration_s.p50, b.duration_s.p50, 0.5),
        (a.duration_s.p95, b.duration_s.p95, 0.95),
        (a.duration_s.p99, b.duration_s.p99, 0.99),
    ] {
        let i = (q * (d.len() - 1) as f64).round() as usize;
        let gap = d[i + 1] - d[i.saturating_sub(1)];
        assert!((x - y).abs() <= alpha * x + gap, "q{q}: exact {x} vs histogram {y}");
    }
    assert!((a.duration_s.mean - b.duration_s.mean).abs() < 1e-9 * a.duration_s.mean);
    assert!((a.cost_usd.mean - b.cost_usd.mean).abs() < 1e-12);
    assert_eq!(a.statuses.completed, b.statuses.completed);
    // Level 50% is progress[9]; over successful runs, likewise within alpha plus the gap.
    let mut t: Vec<f64> =
        exact.outcomes.iter().filter(|o| o.status == wfsim::engine::Status::Completed).map(|o| o.progress[9]).collect();
    t.sort_by(f64::total_cmp);
    let i = (0.5 * (t.len() - 1) as f64).round() as usize;
    let gap = t[i + 1] - t[i - 1];
    assert!((a.progress[&50] - b.progress[&50]).abs() <= alpha * a.progress[&50] + gap);
}

// ---------------------------------------------------------------- repeat and trigger machines

const SMALL_1X: f64 = 0.0000338;
const LARGE_1X: f64 = 0.00034;

#[test]
fn repeat_runs_its_iterations_one_after_the_other() {
    // 4 iterations of 10 s: 40 s, billed 40 s on small-1x, one run and one attempt.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    progress: [0, 100]\n    steps:\n      - work: { duration: 20s }\n      - repeat:\n          count: 4\n          steps:\n            - work: { duration: 10s }\n";
    let o = one(y);
    assert_eq!(o.duration_s, 60.0);
    assert_eq!(o.usage_s, 60.0);
    assert!(close(o.cost_usd, 60.0 * SMALL_1X + INVOCATION_USD), "{}", o.cost_usd);
    assert_eq!((o.task_runs, o.attempts), (1, 1));
    // The work owns 0-50%, the loop 50-100%: each iteration moves the bar 12.5 points, as
    // `metadata.set("progress", ...)` at the end of each iteration of a for loop.
    // Levels are 5%, 10%, ..., 100% (index k: (k + 1) * 5%).
    let at = |pct: usize| o.progress[pct / 5 - 1];
    assert_eq!(
        (at(50), at(55), at(60), at(65), at(75), at(80), at(90), at(100)),
        (20.0, 30.0, 30.0, 40.0, 40.0, 50.0, 60.0, 60.0)
    );
    // Nested: 3 iterations of (1 s, then 4 items of 2 s at once) = 9 s; a count of 0 skips.
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - repeat:\n          count: 3\n          steps:\n            - work: { duration: 1s }\n            - parallel: { count: 4, steps: [ { work: { duration: 2s } } ] }\n      - repeat: { count: 0, steps: [ { work: { duration: 1h } } ] }\n";
    assert_eq!(one(y).duration_s, 9.0);
}

#[test]
fn repeat_of_trigger_and_wait_runs_the_children_in_turn() {
    // 4 children of 10 s, one after the other: 40 s; the parent is paused (checkpointed)
    // while it waits, so only the children's 40 s are billed, with 5 invocations.
    let y = "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - repeat:\n          count: 4\n          steps:\n            - triggerAndWait: c\n            - wait: 2s\n  c:\n    steps:\n      - work: { duration: 10s }\n";
    let r = sim(y, 1, 1);
    let o = r.outcomes[0];
    // Each iteration: the child's 10 s, then a 2 s in-process wait (billed).
    assert_eq!(o.duration_s, 48.0);
    assert_eq!(o.usage_s, 48.0);
    assert_eq!(o.task_runs, 5);
    assert!(close(o.cost_usd, 48.0 * SMALL_1X + 5.0 * INVOCATION_USD), "{}", o.cost_usd);
}

#[test]
fn repeat_sums_independent_draws() {
    // n iterations of an exponential of mean 2 s: an Erlang, mean 2n and variance 4n. Equal
    // draws in every iteration would give the same mean but a variance of 4n^2.
    let n = 5.0;
    let y = "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    steps:\n      - repeat:\n          count: 5\n          steps:\n            - work: { duration: { exponential: { mean: 2s } } }\n";
    let r = sim(y, 40_000, 21);
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert_mean(&d, 2.0 * n, "sum of 5 exponentials");
    let (m, _) = mean_se(&d);
    let sq: Vec<f64> = d.iter().map(|x| (x - m) * (x - m)).collect();
    assert_mean(&sq, 4.0 * n, "variance of the sum of 5 exponentials");
    // A random count (Wald's identity): uniform 1..6 iterations of mean 2 s: 3.5 x 2 s.
    let y = "startLatency: 0\ncoldStart: 0\ninput:\n  n: { uniform: [1, 6], round: true }\nentry: t\ntasks:\n  t:\n    steps:\n      - repeat:\n          count: n\n          steps:\n            - work: { duration: { exponential: { mean: 2s } } }\n";
    let r = sim(y, 40_000, 22);
    let d: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert_mean(&d, 3.5 * 2.0, "a random number of exponentials");
}

#[test]
fn repeat_is_a_parallel_of_one_item_at_a_time() {
    // The same design written both ways gives the same runs, draw for draw: failures, retries,
    // onThrow, children with idempotency keys, waits and progress.
    let body = "          steps:\n            - work: { duration: { lognormal: { median: 3s, p95: 9s } }, failure: 0.05, retry: { maxAttempts: 2, minTimeoutInMs: 500 } }\n            - triggerAndWait: { task: c, idempotencyKey: true }\n            - wait: { uniform: [1s, 90s] }\n  c:\n    retry: { maxAttempts: 2 }\n    steps:\n      - work: { duration: { exponential: { mean: 4s } }, failure: 0.1 }\n";
    let head = "input:\n  n: { uniform: [0, 6], round: true }\nentry: p\ntasks:\n  p:\n    progress: [0, 100]\n    retry: { maxAttempts: 3 }\n    steps:\n      - work: { duration: 1s }\n";
    let rep = format!("{head}      - repeat:\n          count: n\n{body}");
    let par = format!("{head}      - parallel:\n          count: n\n          limit: 1\n{body}");
    let (a, b) = (sim(&rep, 4_000, 23), sim(&par, 4_000, 23));
    assert!(a.outcomes.iter().any(|o| o.attempts > o.task_runs), "no retries: the case tests too little");
    assert_eq!(a.outcomes, b.outcomes);
}

#[test]
fn a_trigger_step_picks_the_childs_machine() {
    // CPU-bound work of 100 s measured on small-1x (0.5 vCPU), all parallel: on large-1x
    // (4 vCPU) it takes 100 x 0.5 / 4 = 12.5 s, billed at large-1x's price.
    let y = |trigger: &str| {
        format!(
            "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - {trigger}\n  c:\n    steps:\n      - work: {{ duration: 100s, cpuBound: true, parallelFraction: 1 }}\n"
        )
    };
    let on_large = sim(&y("triggerAndWait: { task: c, machine: large-1x }"), 1, 1);
    let o = on_large.outcomes[0];
    assert_eq!(o.duration_s, 12.5);
    assert!(close(o.compute_usd, 12.5 * LARGE_1X), "{}", o.compute_usd);
    let c = &on_large.tasks[1];
    let large = PRESETS.iter().position(|p| p.name == "large-1x").unwrap();
    assert_eq!((c.by_machine[large].attempts, c.finished_on[large]), (1, 1));
    // Without it, the task's own preset: 100 s at small-1x's price.
    let o = one(&y("triggerAndWait: c"));
    assert_eq!(o.duration_s, 100.0);
    assert!(close(o.compute_usd, 100.0 * SMALL_1X), "{}", o.compute_usd);
    // Every trigger kind: a batch of 3 and a fire-and-forget child on large-1x.
    let o = one(&y("batchTriggerAndWait: { task: c, count: 3, machine: large-1x }"));
    assert_eq!(o.duration_s, 12.5);
    assert!(close(o.compute_usd, 3.0 * 12.5 * LARGE_1X), "{}", o.compute_usd);
    for t in ["trigger: { task: c, machine: large-1x }", "batchTrigger: { task: c, count: 2, machine: large-1x }"] {
        let o = one(&y(t));
        assert_eq!(o.makespan_s, 12.5, "{t}");
        assert_eq!(o.duration_s, 0.0, "{t}");
    }
}

#[test]
fn the_out_of_memory_upgrade_applies_on_top_of_a_trigger_machine() {
    // 1,500 MB of work: it does not fit the small-2x (1 GB) the step asks for, so the attempt
    // dies out of memory and the retry runs on retry.outOfMemory.machine; on medium-2x (4 GB)
    // it fits at once.
    let y = |m: &str| {
        format!(
            "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - triggerAndWait: {{ task: c, machine: {m} }}\n  c:\n    retry: {{ maxAttempts: 2, minTimeoutInMs: 1000, randomize: false, outOfMemory: {{ machine: large-1x }} }}\n    steps:\n      - work: {{ duration: 10s, memoryMb: 1500 }}\n"
        )
    };
    let r = sim(&y("small-2x"), 1, 1);
    let c = &r.tasks[1];
    let at = |name: &str| PRESETS.iter().position(|p| p.name == name).unwrap();
    assert_eq!((c.attempts, c.oom), (2, 1));
    assert_eq!((c.by_machine[at("small-2x")].oom, c.by_machine[at("large-1x")].attempts), (1, 1));
    assert_eq!(c.finished_on[at("large-1x")], 1);
    assert_eq!(r.outcomes[0].status, Status::Completed);
    let r = sim(&y("medium-2x"), 1, 1);
    let c = &r.tasks[1];
    assert_eq!((c.attempts, c.oom, c.finished_on[at("medium-2x")]), (1, 0, 1));
    assert!(close(r.outcomes[0].compute_usd, 10.0 * PRESETS[at("medium-2x")].usd_per_s));
}
