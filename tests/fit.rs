//! `wfsim fit` through the binary: a TRQL `runs` export (a small one written for this test, in
//! the dashboard's CSV layout) becomes a scenario that validates and runs, with the tasks, the
//! trigger tree and the compute ranges the export holds; a broken export is a located error.

use std::process::Command;

fn wfsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wfsim"))
}

/// A fresh folder of this test's own under the system's temporary folder.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("wfsim-fit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fit/video-runs.csv")
}

#[test]
fn an_export_becomes_a_scenario_that_validates_and_runs() {
    let dir = scratch("ok");
    let out = dir.join("fitted.yaml");
    let st = wfsim().arg("fit").arg(fixture()).arg("-o").arg(&out).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let yaml = std::fs::read_to_string(&out).unwrap();
    // The tasks, their presets and the tree as the export has them.
    for has in [
        "entry: process-video",
        "process-video:   # 3 runs",
        "machine: small-1x",
        "machine: medium-1x",
        "triggerAndWait: transcode",
        "retry: { maxAttempts: 2 }",
    ] {
        assert!(yaml.contains(has), "`{has}` missing in:\n{yaml}");
    }
    // Compute times within the observed range: transcode used 40 s to 52 s (usage_duration ms).
    assert!(yaml.contains("[40s, 52s]"), "{yaml}");
    // One failed attempt of four attempts of process-video (attempt_count 1, 1, 2).
    assert!(yaml.contains("failure: 0.25"), "{yaml}");
    let v = wfsim().arg("validate").arg(&out).output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let r = wfsim().args(["run", "--runs", "200", "--format", "json"]).arg(&out).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let j: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    // A completed workflow run computes at least 5.5 s + 40 s (the fitted lower bounds); over
    // 90% of runs complete (a run fails only when both attempts fail, 0.25^2), so the p50 is one.
    assert!(j["duration_s"]["p50"].as_f64().unwrap() >= 45.5, "{}", j["duration_s"]);
}

#[test]
fn a_broken_export_is_a_located_error_with_exit_2() {
    let dir = scratch("bad");
    let bad = dir.join("runs.csv");
    let text = std::fs::read_to_string(fixture()).unwrap().replacen("12000", "twelve", 1);
    std::fs::write(&bad, text).unwrap();
    let st = wfsim().arg("fit").arg(&bad).arg("-o").arg(dir.join("x.yaml")).output().unwrap();
    assert_eq!(st.status.code(), Some(2), "{}", String::from_utf8_lossy(&st.stderr));
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("runs.csv:2"), "{err}");
    assert!(!dir.join("x.yaml").exists());
}
