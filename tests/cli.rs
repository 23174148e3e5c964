//! Drives the real binary: the scenario contract, JSON shape, determinism, exit codes.

use assert_cmd::Command;
use std::path::PathBuf;

fn wfsim() -> Command {
    Command::cargo_bin("wfsim").expect("binary built")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared contract scenario if this checkout sits beside `shared/`, else the shipped copy.
fn example() -> PathBuf {
    let shared = root().join("../shared/example-scenario.yaml");
    if shared.exists() { shared } else { root().join("scenarios/pdf-processing.yaml") }
}

fn json(args: &[&str]) -> serde_json::Value {
    json_exit(args, 0)
}

fn json_exit(args: &[&str], code: i32) -> serde_json::Value {
    let out = wfsim().args(args).output().expect("runs");
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn example_scenario_runs_as_is_and_has_the_documented_json() {
    let p = example();
    // Each workflow run on its own (the load block ignored): every SLO holds.
    let v = json(&["run", p.to_str().unwrap(), "--runs", "500", "--format", "json", "--isolated"]);
    assert_eq!(v["scenario"], "pdf-processing");
    assert_eq!(v["runs"], 500);
    for k in ["mean", "p50", "p90", "p95", "p99", "min", "max"] {
        assert!(v["duration_s"][k].as_f64().unwrap() > 0.0, "duration_s.{k}");
    }
    for k in ["mean", "p50", "p95"] {
        assert!(v["cost_usd"][k].as_f64().unwrap() > 0.0, "cost_usd.{k}");
    }
    let s = &v["statuses"];
    let total: u64 = ["COMPLETED", "FAILED", "CRASHED", "TIMED_OUT"].iter().map(|k| s[k].as_u64().unwrap()).sum();
    assert_eq!(total, 500);
    for t in ["extract-text", "ocr-pdf", "chunk-text", "generate-summary", "generate-embeddings", "embed-chunk"] {
        let task = &v["tasks"][t];
        for k in ["runs", "attempts", "duration_s_mean", "cost_usd_mean"] {
            assert!(task[k].is_number(), "tasks.{t}.{k}");
        }
    }
    for l in ["10", "25", "50", "75", "90", "100"] {
        assert!(v["progress"][l].as_f64().unwrap() >= 0.0, "progress.{l}");
    }
    assert_eq!(v["slo"].as_array().unwrap().len(), 3);
    assert!(v.get("load").is_none());

    // Under its own load (30 per minute for an hour, 25 slots), the design misses its p95 SLO:
    // generate-summary's poll keeps its `openai` slot (waits under 60 s), so that queue of 10
    // saturates. Exit code 1 says an SLO failed; the JSON says why.
    let v = json_exit(&["run", p.to_str().unwrap(), "--format", "json"], 1);
    let l = &v["load"];
    assert!(l["utilisation"]["queues"]["openai"].as_f64().unwrap() > 0.95);
    assert!(l["queues"]["openai"]["queue_wait_s"]["p50"].as_f64().unwrap() > 60.0);
    assert!(l["throughput_per_min"].as_f64().unwrap() < 30.0);
    for k in ["mean", "p50", "p95", "p99"] {
        assert!(l["queue_wait_s"][k].is_number(), "queue_wait_s.{k}");
    }
    assert!(l["backlog"].as_array().unwrap().len() > 100);
    let slo = v["slo"].as_array().unwrap();
    assert_eq!(slo[0]["expr"], "p95(duration) < 5m");
    assert_eq!(slo[0]["pass"], false);
}

#[test]
fn same_seed_same_bytes_on_one_and_two_threads() {
    let p = example();
    let run = |threads: &str| {
        let out = wfsim()
            .args([
                "run",
                p.to_str().unwrap(),
                "--runs",
                "3000",
                "--seed",
                "9",
                "--threads",
                threads,
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        out.stdout
    };
    let a = run("1");
    assert!(!a.is_empty());
    assert_eq!(a, run("2"));
    assert_eq!(a, run("2"));
    // Replications of a load, likewise.
    let load = |threads: &str| {
        wfsim()
            .args(["run", p.to_str().unwrap(), "--replications", "3", "--threads", threads, "--format", "json"])
            .output()
            .unwrap()
            .stdout
    };
    let l1 = load("1");
    assert!(String::from_utf8_lossy(&l1).contains("\"replications\": 3"));
    assert_eq!(l1, load("2"));
}

#[test]
fn bad_input_exits_2_with_a_located_message() {
    let dir = std::env::temp_dir().join(format!("wfsim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(
        &f,
        "name: x\nentry: a\ntasks:\n  a:\n    machine: small-3x\n    steps:\n      - work: { duration: 1s }\n",
    )
    .unwrap();
    let out = wfsim().args(["run", f.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:5:14"), "{err}");
    assert!(err.contains("tasks.a.machine"), "{err}");
    assert!(err.contains("small-1x"), "{err}");
}

#[test]
fn schema_command_prints_the_shipped_schema_and_warnings_can_be_denied() {
    let out = wfsim().arg("schema").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("scenario.schema.json")).unwrap()).unwrap();
    assert_eq!(printed, shipped);
    // pdf-processing carries design warnings: fine by default, an error with --deny-warnings.
    let p = root().join("scenarios/pdf-processing.yaml");
    let ok = wfsim().args(["validate", p.to_str().unwrap()]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stderr).contains("warning:"));
    let denied = wfsim().args(["validate", p.to_str().unwrap(), "--deny-warnings"]).output().unwrap();
    assert_eq!(denied.status.code(), Some(2));
}
