//! `repeat:` loops and `machine:` on trigger steps, through the binary: closed forms in the
//! JSON (durations, costs, progress per iteration, the preset each task's attempts ran on)
//! and the design warnings `validate` prints.

mod common;

use common::wfsim;
use std::path::PathBuf;

const SMALL_1X: f64 = 0.0000338;
const LARGE_1X: f64 = 0.00034;
const INVOCATION: f64 = 0.000025;

fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wfsim-loops-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!("{name}.yaml"));
    std::fs::write(&f, text).unwrap();
    f
}

fn run_json(name: &str, text: &str) -> serde_json::Value {
    let f = file(name, text);
    let out = wfsim().args(["run", f.to_str().unwrap(), "--runs", "200", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn num(v: &serde_json::Value, path: &str) -> f64 {
    v.pointer(path).and_then(serde_json::Value::as_f64).unwrap_or_else(|| panic!("no number at {path}"))
}

#[test]
fn a_loop_of_four_ten_second_steps_takes_forty_seconds_and_moves_the_bar_each_iteration() {
    let j = run_json(
        "loop",
        "startLatency: 0\ncoldStart: 0\nentry: t\ntasks:\n  t:\n    progress: [0, 100]\n    steps:\n      - repeat:\n          count: 4\n          steps:\n            - work: { duration: 10s }\n",
    );
    assert_eq!(num(&j, "/duration_s/p50"), 40.0);
    assert_eq!(num(&j, "/duration_s/max"), 40.0);
    assert!(close(num(&j, "/cost_usd/mean"), 40.0 * SMALL_1X + INVOCATION), "{}", j["cost_usd"]);
    // 25% after the first iteration, 50% after the second, ...
    for (pct, t) in [("10", 10.0), ("25", 10.0), ("50", 20.0), ("75", 30.0), ("100", 40.0)] {
        assert_eq!(num(&j, &format!("/progress/{pct}")), t, "{pct}%: {}", j["progress"]);
    }
}

#[test]
fn a_loop_of_children_on_a_bigger_machine_costs_that_machines_price() {
    let yaml = |m: &str| {
        format!(
            "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - repeat:\n          count: 4\n          steps:\n            - triggerAndWait: {m}\n  c:\n    steps:\n      - work: {{ duration: 100s, cpuBound: true, parallelFraction: 1 }}\n"
        )
    };
    // On large-1x (4 vCPU against small-1x's 0.5): 12.5 s each, 50 s in all.
    let j = run_json("large", &yaml("{ task: c, machine: large-1x }"));
    assert_eq!(num(&j, "/duration_s/p50"), 50.0);
    assert!(close(num(&j, "/cost_usd/mean"), 50.0 * LARGE_1X + 5.0 * INVOCATION), "{}", j["cost_usd"]);
    let c = &j["tasks"]["c"]["machines"];
    assert_eq!(c.as_object().unwrap().keys().collect::<Vec<_>>(), ["large-1x"], "{c}");
    assert_eq!(c["large-1x"]["attempts"], 800);
    // Without `machine:`, the task's own small-1x: 400 s.
    let j = run_json("small", &yaml("c"));
    assert_eq!(num(&j, "/duration_s/p50"), 400.0);
    assert!(close(num(&j, "/cost_usd/mean"), 400.0 * SMALL_1X + 5.0 * INVOCATION), "{}", j["cost_usd"]);
}

#[test]
fn waits_one_at_a_time_are_not_flagged_as_promise_all() {
    let yaml = |wrap: &str| {
        format!(
            "entry: p\ntasks:\n  p:\n    steps:\n      - {wrap}\n          count: 4\n          steps:\n            - triggerAndWait: c\n  c:\n    steps:\n      - work: {{ duration: 1s }}\n"
        )
    };
    for (wrap, flagged) in
        [("repeat:", false), ("parallel:\n          limit: 1", false), ("parallel:\n          limit: 2", true)]
    {
        let f = file("lint", &yaml(wrap));
        let out = wfsim().args(["validate", f.to_str().unwrap(), "--deny-warnings"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.contains("Promise.all around triggerAndWait"), flagged, "{wrap}:\n{err}");
        assert_eq!(out.status.code(), Some(if flagged { 2 } else { 0 }), "{wrap}:\n{err}");
    }
}

#[test]
fn the_task_table_shows_the_preset_a_trigger_chose() {
    let f = file(
        "table",
        "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - triggerAndWait: { task: c, machine: large-1x }\n  c:\n    steps:\n      - work: { duration: 10s }\n",
    );
    let out = wfsim().args(["run", f.to_str().unwrap(), "--runs", "50"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("  on large-1x") && l.contains("50 attempts")), "{text}");
}

#[test]
fn a_sweep_says_which_runs_a_trigger_keeps_on_its_preset_and_does_not_call_them_rescued() {
    let f = file(
        "sweep",
        "startLatency: 0\ncoldStart: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - triggerAndWait: { task: c, machine: large-1x }\n      - triggerAndWait: c\n  c:\n    steps:\n      - work: { duration: 10s, cpuBound: true }\n",
    );
    let out = wfsim()
        .args(["sweep", f.to_str().unwrap(), "--task", "c", "--machines", "small-1x,medium-1x", "--runs", "200"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("trigger steps start `c` with machine: large-1x"), "{text}");
    assert!(!text.contains("OOM-rescued"), "half the runs start on large-1x by design: {text}");
    let json = wfsim()
        .args([
            "sweep",
            f.to_str().unwrap(),
            "--task",
            "c",
            "--machines",
            "small-1x",
            "--runs",
            "100",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let sw = if j.is_array() { &j[0] } else { &j };
    assert_eq!(sw["pinned_by_triggers"], serde_json::json!(["large-1x"]), "{sw}");
}
