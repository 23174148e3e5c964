//! The direct path (src/engine/direct.rs) against the event engine: run by run, the same
//! outcome and the same per-task totals, bit for bit. (tests/properties.rs checks the same
//! on generated scenarios: its Monte Carlo takes the direct path, its observed runs the
//! event engine.)

use wfsim::engine::{NoObserver, RunOutcome, Scratch, TaskAcc, simulate_direct, simulate_events};
use wfsim::model::Model;
use wfsim::rng::run_key;
use wfsim::scenario::load_file;

const RUNS: u64 = 20_000;

fn model(path: &str) -> Model {
    let mut m = match load_file(std::path::Path::new(path)) {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    };
    // Runs alone: the direct path never sees a load.
    m.load = None;
    m
}

/// Compares the two paths over `RUNS` runs; returns how many runs the direct path took.
fn compare(path: &str, seed: u64) -> u64 {
    compare_model(&model(path), path, seed)
}

fn compare_model(m: &Model, path: &str, seed: u64) -> u64 {
    let m = m.clone();
    let (mut s1, mut s2) = (Scratch::new(), Scratch::new());
    let mut t1 = vec![TaskAcc::default(); m.tasks.len()];
    let mut t2 = vec![TaskAcc::default(); m.tasks.len()];
    let mut direct = 0;
    for i in 0..RUNS {
        let key = run_key(seed, i);
        let before = t1.clone();
        let d: Option<RunOutcome> = simulate_direct(&m, key, &mut s1, &mut t1);
        let e = simulate_events(&m, key, &mut s2, &mut t2, &mut NoObserver).expect("simulates");
        match d {
            Some(d) => {
                direct += 1;
                assert_eq!(d, e, "{path}: run {i} differs");
                assert_eq!(t1, t2, "{path}: totals differ after run {i}");
            }
            None => {
                // Handed back: the totals are untouched; bring them level for the next run.
                assert_eq!(t1, before, "{path}: run {i} was handed back with its totals changed");
                t1 = t2.clone();
            }
        }
    }
    direct
}

#[test]
fn transcription_runs_take_the_direct_path_with_the_engines_results() {
    for path in ["scenarios/transcription-parallel.yaml", "scenarios/transcription-sequential.yaml"] {
        let direct = compare(path, 1);
        // With these continuous durations no two events tie. A run is handed back only when
        // its fire-and-forget summary (40% of runs: tier != free) starts before the entry run
        // ends: its cold start (lognormal, median 2 s, p95 6 s) shorter than the entry's warm
        // resume (at most 0.3 s), P <= Phi(ln(0.3 / 2) / (ln(3) / 1.645)) = 0.00226, so at most
        // 0.4 x 0.00226 x 20,000 = 18 runs expected; 35 is that plus four of its standard
        // deviations.
        assert!(RUNS - direct <= 35, "{path}: {direct} of {RUNS} runs took the direct path");
    }
}

#[test]
fn polling_runs_take_the_direct_path_with_the_engines_results() {
    let path = "scenarios/polling-external-api.yaml";
    assert!(wfsim::engine::direct_supported(&model(path)));
    let direct = compare(path, 3);
    assert_eq!(direct, RUNS, "{path}: {direct} of {RUNS} runs took the direct path");
}

#[test]
fn every_shipped_scenario_takes_the_path_its_design_allows() {
    // A design the direct path supports must be evaluated directly (and match the engine);
    // one it does not (batchTriggerAndWait here) must hand every run back untouched. The
    // contract scenario (../shared/example-scenario.yaml) is pdf-processing.yaml apart from
    // its comments (tests/cli.rs checks that), so the shipped copy stands for it.
    for (path, direct) in [
        ("scenarios/pdf-processing.yaml", false),
        ("scenarios/routing-by-size.yaml", false),
        ("scenarios/fan-out-batch.yaml", false),
        ("scenarios/polling-external-api.yaml", true),
        ("scenarios/transcription-sequential.yaml", true),
    ] {
        assert_eq!(wfsim::engine::direct_supported(&model(path)), direct, "{path}");
        let n = compare(path, 7);
        assert_eq!(n > 0, direct, "{path}: {n} runs took the direct path");
    }
}

#[test]
fn a_pause_of_no_length_keeps_the_engines_deadline() {
    // Found in review: a child that ends as it is triggered (no start latency, no work time)
    // makes a pause of no length. The engine's pending deadline event then still fires where
    // it was scheduled, and the recomputed deadline can round one ulp below it; the attempt
    // times out at the later of the two. Before the fix, 1,453 of these 20,000 runs differed
    // in their last bit (and the three-task case in its billed time).
    let single = "startLatency: 0s\nentry: a\ntasks:\n  a:\n    maxDuration: 27.111s\n    steps:\n      - work: { duration: { exponential: { mean: 3s } } }\n      - triggerAndWait: b\n      - work: { duration: 40s }\n  b:\n    steps:\n      - work: { duration: 0s }\n";
    let nested = "startLatency: 0s\nentry: r\ntasks:\n  r:\n    steps:\n      - work: { duration: { uniform: [0.1s, 3s] } }\n      - triggerAndWait: a\n  a:\n    maxDuration: 30s\n    steps:\n      - work: { duration: { uniform: [0.1s, 25s] } }\n      - triggerAndWait: b\n      - work: { duration: 100s }\n  b:\n    steps:\n      - work: { duration: 0s }\n";
    for (name, yaml) in [("single", single), ("nested", nested)] {
        let m = match wfsim::scenario::load_str(yaml, name) {
            Ok(l) => l.model,
            Err(e) => panic!("{e}"),
        };
        assert!(wfsim::engine::direct_supported(&m));
        let direct = compare_model(&m, name, 1);
        assert!(direct > RUNS / 2, "{name}: {direct} runs took the direct path");
    }
}

#[test]
fn promise_all_items_at_the_deadline_and_past_it() {
    // All items at once take the sorted fast path of the direct path unless one threw or one
    // ends at or past maxDuration. An item ending exactly at the deadline is a tie the engine
    // breaks by scheduling order: the direct path must hand those runs back. Items that run
    // past it time the attempt out; throws reject the Promise.all.
    let tie = "startLatency: 0s\nentry: a\ntasks:\n  a:\n    maxDuration: 10s\n    progress: [0, 100]\n    steps:\n      - parallel:\n          count: 3\n          limit: 3\n          steps:\n            - work: { duration: 10s }\n";
    let spread = "startLatency: 0s\nentry: a\ntasks:\n  a:\n    maxDuration: 10s\n    retry: { maxAttempts: 2 }\n    progress: [0, 100]\n    steps:\n      - parallel:\n          count: 6\n          limit: 8\n          steps:\n            - work: { duration: { uniform: [5s, 10.5s] }, failure: 0.05 }\n";
    for (name, yaml, all_handed_back) in [("tie", tie, true), ("spread", spread, false)] {
        let m = match wfsim::scenario::load_str(yaml, name) {
            Ok(l) => l.model,
            Err(e) => panic!("{e}"),
        };
        assert!(wfsim::engine::direct_supported(&m));
        let direct = compare_model(&m, name, 3);
        if all_handed_back {
            assert_eq!(direct, 0, "{name}: {direct} runs took the direct path");
        } else {
            assert!(direct > RUNS / 2, "{name}: {direct} runs took the direct path");
        }
    }
}

#[test]
fn repeat_loops_take_the_path_their_body_allows() {
    // A loop of plain work is a Promise.all of one item at a time: the direct path evaluates
    // it. A loop around triggerAndWait or a wait goes to the event engine (every run handed
    // back, the totals untouched). Trigger steps with `machine:` take the direct path like
    // any other.
    let work = "startLatency: 0s\ninput:\n  n: { uniform: [0, 8], round: true }\nentry: a\ntasks:\n  a:\n    maxDuration: 40s\n    retry: { maxAttempts: 2 }\n    progress: [0, 100]\n    steps:\n      - repeat:\n          count: n\n          steps:\n            - work: { duration: { exponential: { mean: 3s } }, failure: 0.03 }\n            - work: { duration: { uniform: [0.5s, 2s] } }\n      - triggerAndWait: { task: b, machine: large-1x }\n      - trigger: { task: b, machine: micro }\n  b:\n    steps:\n      - work: { duration: { lognormal: { median: 20s, p95: 60s } }, cpuBound: true, parallelFraction: 0.5 }\n";
    let waits = "startLatency: 0s\nentry: a\ntasks:\n  a:\n    steps:\n      - repeat:\n          count: 3\n          steps:\n            - triggerAndWait: { task: b, machine: medium-1x }\n            - wait: { uniform: [1s, 90s] }\n  b:\n    steps:\n      - work: { duration: { exponential: { mean: 5s } } }\n";
    for (name, yaml, supported) in [("work", work, true), ("waits", waits, false)] {
        let m = match wfsim::scenario::load_str(yaml, name) {
            Ok(l) => l.model,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(wfsim::engine::direct_supported(&m), supported, "{name}");
        let direct = compare_model(&m, name, 5);
        if supported {
            assert!(direct > RUNS / 2, "{name}: {direct} runs took the direct path");
        } else {
            assert_eq!(direct, 0, "{name}: {direct} runs took the direct path");
        }
    }
}
