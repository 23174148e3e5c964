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
    let m = model(path);
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
        // Handed back only on a tie between events: with these continuous durations, none.
        assert_eq!(direct, RUNS, "{path}: {direct} of {RUNS} runs took the direct path");
    }
}

#[test]
fn polling_runs_take_the_direct_path_with_the_engines_results() {
    let path = "scenarios/polling-external-api.yaml";
    assert!(model(path).direct);
    let direct = compare(path, 3);
    assert_eq!(direct, RUNS, "{path}: {direct} of {RUNS} runs took the direct path");
}

#[test]
fn every_shipped_scenario_gives_the_engines_results() {
    for path in [
        "scenarios/pdf-processing.yaml",
        "scenarios/routing-by-size.yaml",
        "scenarios/polling-external-api.yaml",
        "scenarios/fan-out-batch.yaml",
        "../shared/example-scenario.yaml",
    ] {
        if std::path::Path::new(path).exists() {
            compare(path, 7);
        }
    }
}

#[test]
fn unsupported_designs_are_handed_to_the_engine() {
    // batchTriggerAndWait needs events (its children run side by side); so does memory
    // inside Promise.all items.
    let path = "scenarios/fan-out-batch.yaml";
    let m = model(path);
    assert!(!m.direct, "{path} should not be direct");
    let mut s = Scratch::new();
    let mut t = vec![TaskAcc::default(); m.tasks.len()];
    assert!(simulate_direct(&m, run_key(1, 0), &mut s, &mut t).is_none());
    assert!(model("scenarios/transcription-parallel.yaml").direct);
}
