//! `wfsim import`: TypeScript fixtures under `tests/fixtures/import/CASE/` drafted into
//! scenarios compared byte for byte with `tests/fixtures/import/CASE.yaml` (and the located
//! messages with `CASE.messages`); every draft must load as a scenario with no error.
//!
//! Regenerate the expected files with `WFSIM_BLESS=1 cargo test --release --test import` and
//! read the diff before committing it.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs in the crate root so that the paths in comments and messages are relative.
fn draft(case: &str, fitted: Option<&str>) -> wfsim::import::Outcome {
    std::env::set_current_dir(root()).unwrap();
    let dir = PathBuf::from(format!("tests/fixtures/import/{case}"));
    wfsim::import::import(&[dir], fitted.map(Path::new)).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/fixtures/import").join(name);
    if std::env::var_os("WFSIM_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with WFSIM_BLESS=1", path.display()));
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).position(|(a, b)| a != b);
        panic!(
            "{name} differs from the expected file (first differing line {:?}):\n--- actual ---\n{actual}",
            first.map(|i| i + 1)
        );
    }
}

fn check(case: &str) -> wfsim::import::Outcome {
    let o = draft(case, None);
    if let Err(e) = wfsim::scenario::load_str(&o.yaml, &format!("{case}.yaml")) {
        panic!("the draft of {case} does not load:\n{e}\n{}", o.yaml);
    }
    golden(&format!("{case}.yaml"), &o.yaml);
    golden(&format!("{case}.messages"), &(o.messages.join("\n") + "\n"));
    o
}

#[test]
fn basic_task_and_trigger_and_wait() {
    let o = check("basic");
    assert_eq!(o.tasks, 2);
    assert!(o.yaml.contains("entry: process-order"));
    assert!(o.yaml.contains("- triggerAndWait: { task: charge-card, idempotencyKey: true }"));
}

#[test]
fn transcription_across_files() {
    let o = check("transcription");
    assert_eq!(o.tasks, 5);
    // Depth first from the entry, in trigger order.
    let order: Vec<&str> = o
        .yaml
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.contains(":  #"))
        .map(|l| l.trim().split(':').next().unwrap())
        .collect();
    assert_eq!(order, ["extract-audio", "chunk-audio", "transcribe-audio", "save-transcript", "generate-summary"]);
}

#[test]
fn transcription_with_durations_from_the_shipped_scenario() {
    let o = draft("transcription", Some("scenarios/transcription-parallel.yaml"));
    wfsim::scenario::load_str(&o.yaml, "filled.yaml").unwrap_or_else(|e| panic!("{e}\n{}", o.yaml));
    assert!(!o.yaml.contains("# TODO"), "every placeholder is filled:\n{}", o.yaml);
    golden("transcription-filled.yaml", &o.yaml);
}

fn json_run(file: &Path, seed: u64) -> serde_json::Value {
    let out = assert_cmd::Command::cargo_bin("wfsim")
        .unwrap()
        .current_dir(root())
        .args(["run", file.to_str().unwrap(), "--runs", "4000", "--seed", &seed.to_string(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The import of the guide's transcription code, filled from the shipped scenario, simulates
/// the same workflow: mean duration and mean cost agree within 4 standard errors of the
/// difference of two independent runs (different seeds), success rates are both 1.
#[test]
fn imported_transcription_reproduces_the_shipped_numbers() {
    let o = draft("transcription", Some("scenarios/transcription-parallel.yaml"));
    let dir = std::env::temp_dir().join(format!("wfsim-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("imported.yaml");
    std::fs::write(&file, &o.yaml).unwrap();
    let a = json_run(&file, 11);
    let b = json_run(Path::new("scenarios/transcription-parallel.yaml"), 12);
    for key in ["duration_s", "cost_usd"] {
        let (ma, mb) = (a[key]["mean"].as_f64().unwrap(), b[key]["mean"].as_f64().unwrap());
        // mean_ci95 is 1.96 standard errors.
        let se = ((a[key]["mean_ci95"].as_f64().unwrap() / 1.96).powi(2)
            + (b[key]["mean_ci95"].as_f64().unwrap() / 1.96).powi(2))
        .sqrt();
        assert!((ma - mb).abs() < 4.0 * se, "{key}: imported {ma}, shipped {mb}, 4 SE = {}", 4.0 * se);
    }
    assert_eq!(a["success_rate"], b["success_rate"]);
    std::fs::remove_dir_all(&dir).ok();
}
