//! Golden outputs: the JSON of every shipped scenario (runs alone and under load), of the
//! reference loads, and of `compare`, `sweep` and `sensitivity` on shipped designs, and the
//! Markdown (pull-request comment) and CSV of a run and a comparison, compared byte for byte
//! with the files in `tests/golden/`. A change to any number shows up here and
//! in the diff of those files.
//!
//! Regenerate them with `WFSIM_BLESS=1 cargo test --release --test golden` and say in the
//! commit why the numbers moved.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (golden file name, wfsim arguments): `.json` is added to a name without an extension.
/// Paths are relative to the crate root.
const CASES: &[(&str, &[&str])] = &[
    (
        "run-fan-out-batch",
        &["run", "scenarios/fan-out-batch.yaml", "--runs", "3000", "--seed", "7", "--format", "json"],
    ),
    (
        "run-pdf-processing-isolated",
        &["run", "scenarios/pdf-processing.yaml", "--runs", "3000", "--seed", "7", "--format", "json", "--isolated"],
    ),
    (
        "run-pdf-processing-load",
        &["run", "scenarios/pdf-processing.yaml", "--replications", "2", "--seed", "7", "--format", "json"],
    ),
    (
        "run-polling-external-api",
        &["run", "scenarios/polling-external-api.yaml", "--runs", "3000", "--seed", "7", "--format", "json"],
    ),
    (
        "run-routing-by-size",
        &["run", "scenarios/routing-by-size.yaml", "--runs", "3000", "--seed", "7", "--format", "json"],
    ),
    (
        "run-transcription-parallel",
        &["run", "scenarios/transcription-parallel.yaml", "--runs", "3000", "--seed", "7", "--format", "json"],
    ),
    (
        "run-transcription-sequential",
        &["run", "scenarios/transcription-sequential.yaml", "--runs", "3000", "--seed", "7", "--format", "json"],
    ),
    (
        "compare-llm-load",
        &[
            "compare",
            "scenarios/llm-unpaced.yaml",
            "scenarios/llm-paced.yaml",
            "--replications",
            "2",
            "--seed",
            "7",
            "--format",
            "json",
        ],
    ),
    ("run-mm4-load", &["run", "tests/reference/mm4.yaml", "--replications", "2", "--seed", "7", "--format", "json"]),
    (
        "run-two-station-load",
        &["run", "tests/reference/two-station.yaml", "--replications", "2", "--seed", "7", "--format", "json"],
    ),
    (
        "compare-transcription",
        &[
            "compare",
            "scenarios/transcription-sequential.yaml",
            "scenarios/transcription-parallel.yaml",
            "--runs",
            "2000",
            "--seed",
            "7",
            "--format",
            "json",
        ],
    ),
    (
        "sweep-pdf-processing-ocr",
        &[
            "sweep",
            "scenarios/pdf-processing.yaml",
            "--task",
            "ocr-pdf",
            "--runs",
            "1000",
            "--seed",
            "7",
            "--format",
            "json",
        ],
    ),
    (
        "run-pdf-processing-isolated.md",
        &[
            "run",
            "scenarios/pdf-processing.yaml",
            "--runs",
            "3000",
            "--seed",
            "7",
            "--format",
            "markdown",
            "--isolated",
        ],
    ),
    (
        "run-pdf-processing-load.md",
        &["run", "scenarios/pdf-processing.yaml", "--replications", "2", "--seed", "7", "--format", "markdown"],
    ),
    (
        "run-transcription-parallel.csv",
        &["run", "scenarios/transcription-parallel.yaml", "--runs", "3000", "--seed", "7", "--format", "csv"],
    ),
    (
        "compare-transcription.md",
        &[
            "compare",
            "scenarios/transcription-sequential.yaml",
            "scenarios/transcription-parallel.yaml",
            "--runs",
            "2000",
            "--seed",
            "7",
            "--slo",
            "p95(duration) < 10m",
            "--format",
            "markdown",
        ],
    ),
    (
        "sensitivity-transcription-parallel",
        &["sensitivity", "scenarios/transcription-parallel.yaml", "--runs", "1000", "--seed", "7", "--format", "json"],
    ),
];

fn file_name(case: &str) -> String {
    if case.contains('.') { case.to_owned() } else { format!("{case}.json") }
}

fn output(args: &[&str]) -> Vec<u8> {
    let out = Command::cargo_bin("wfsim").expect("binary built").current_dir(root()).args(args).output().expect("runs");
    // 0, or 1 when an SLO fails (a result, not an error).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "wfsim {}: exit {:?}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn outputs_match_the_golden_files() {
    let bless = std::env::var_os("WFSIM_BLESS").is_some();
    let dir = root().join("tests/golden");
    let mut changed = Vec::new();
    for (name, args) in CASES {
        let got = output(args);
        let path = dir.join(file_name(name));
        if bless {
            std::fs::create_dir_all(&dir).expect("golden dir");
            std::fs::write(&path, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with WFSIM_BLESS=1)", path.display()));
        if got != want {
            changed.push(format!("{name} (wfsim {})", args.join(" ")));
        }
    }
    assert!(
        changed.is_empty(),
        "output differs from tests/golden/ for: {}\nif the change is meant, regenerate with \
         `WFSIM_BLESS=1 cargo test --release --test golden` and say in the commit why the numbers moved",
        changed.join(", ")
    );
}

/// Every golden file belongs to a case (a renamed case leaves no stale file behind).
#[test]
fn every_golden_file_has_a_case() {
    if std::env::var_os("WFSIM_BLESS").is_some() {
        // The other test is writing them.
        return;
    }
    let dir = root().join("tests/golden");
    for e in std::fs::read_dir(&dir).expect("tests/golden") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(CASES.iter().any(|(n, _)| file_name(n) == name), "tests/golden/{name} has no case in tests/golden.rs");
    }
}
