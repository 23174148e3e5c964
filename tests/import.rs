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
