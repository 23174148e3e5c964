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
    assert_eq!(o.tasks, 3);
    assert!(o.messages.iter().any(|m| m.contains("orders.ts:31:11: not followed: wait.forToken")), "{:?}", o.messages);
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

#[test]
fn every_construct_of_the_issue() {
    let o = check("constructs");
    let y = &o.yaml;
    // Shared queue constants, by constant and through a string constant for the name.
    assert!(y.contains("queue: { name: render, concurrencyLimit: 4 }"), "{y}");
    assert!(y.contains("queue: { name: transactional-email, concurrencyLimit: 20 }"), "{y}");
    // schemaTask with an object-form machine and an out-of-memory machine.
    assert!(y.contains("(schemaTask)") && y.contains("machine: medium-2x"), "{y}");
    assert!(y.contains("outOfMemory: { machine: large-2x }"), "{y}");
    // trigger.config.ts gives the defaults.
    assert!(y.contains("defaults: { machine: small-2x, retry: { maxAttempts: 3"), "{y}");
    // Trigger options land on the child.
    assert!(y.contains("delay: 1m  # from the trigger options"), "{y}");
    assert!(y.contains("concurrencyKey: send_email_key"), "{y}");
    assert!(y.contains("machine: micro  # from the trigger options"), "{y}");
    assert!(y.contains("ttl: 10m  # from the trigger options"), "{y}");
    assert!(y.contains("- batchTrigger: { task: render-frame, count: 2 }"), "{y}");
    // `if (!r.ok) throw` after a triggerAndWait unwraps it by hand.
    assert!(y.contains("- triggerAndWait: { task: encode-video, idempotencyKey: true }  #"), "{y}");
    // p-limit, polling, stub for an unknown id.
    assert!(y.contains("limit: 3  # p-limit"), "{y}");
    assert!(y.contains("- poll: { every: 30s"), "{y}");
    assert!(y.contains("archive-accounts:  # TODO: no file defines this task"), "{y}");
    let m = o.messages.join("\n");
    for needle in [
        "reports.ts:41:7: warning: Promise.all around triggerAndWait",
        "reports.ts:15:5: warning: a polling loop waits 30s",
        "reports.ts:46:13: warning: trigger of task id `archive-accounts`",
        "media.ts:33:28: warning: `render-video` retries (maxAttempts 3) and triggers `render-frame` without an idempotencyKey",
        "reports.ts:7:16: not followed: tasks.trigger with a task id that is not a literal",
    ] {
        assert!(m.contains(needle), "missing `{needle}` in\n{m}");
    }
}

/// A file with a syntax error is a located error; the other files are still imported.
#[test]
fn a_syntax_error_leaves_one_file_out() {
    let o = check("broken");
    assert_eq!(o.syntax_errors, 1);
    assert!(o.messages[0].starts_with("tests/fixtures/import/broken/half-written.ts:7:3: error:"), "{:?}", o.messages);
    assert!(o.yaml.contains("send-reminder:") && o.yaml.contains("router:"));
    assert!(o.messages.iter().any(|m| m.contains("dynamic.ts:11:13: not followed")), "{:?}", o.messages);
}

/// Every draft simulates: the placeholders are valid values.
#[test]
fn drafts_run() {
    for case in ["basic", "transcription", "constructs", "broken", "video"] {
        let o = draft(case, None);
        let dir = std::env::temp_dir().join(format!("wfsim-import-run-{case}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("draft.yaml");
        std::fs::write(&file, &o.yaml).unwrap();
        let out = assert_cmd::Command::cargo_bin("wfsim")
            .unwrap()
            .args(["run", file.to_str().unwrap(), "--runs", "200", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The command: exit 2 and a located error for a file that does not parse, the draft still
/// written; exit 2 for a folder without tasks.
#[test]
fn the_command_line() {
    let dir = std::env::temp_dir().join(format!("wfsim-import-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("draft.yaml");
    let out = assert_cmd::Command::cargo_bin("wfsim")
        .unwrap()
        .current_dir(root())
        .args(["import", "tests/fixtures/import/broken", "-o", out_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("half-written.ts:7:3: error:"), "{err}");
    assert!(std::fs::read_to_string(&out_file).unwrap().contains("send-reminder:"));
    let out = assert_cmd::Command::cargo_bin("wfsim")
        .unwrap()
        .current_dir(root())
        .args(["import", "tests/fixtures/import/basic"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("entry: process-order"));
    std::fs::write(dir.join("empty.ts"), "export const x = 1;\n").unwrap();
    let out = assert_cmd::Command::cargo_bin("wfsim")
        .unwrap()
        .args(["import", dir.join("empty.ts").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

/// Fuzz-style: every fixture file cut short at many points, and bytes scrambled, never makes
/// the importer panic, and whatever it drafts loads as a scenario.
#[test]
fn truncated_and_garbled_sources_never_panic() {
    let mut files = Vec::new();
    for case in ["basic", "transcription", "constructs", "broken", "video"] {
        collect(&root().join("tests/fixtures/import").join(case), &mut files);
    }
    let dir = std::env::temp_dir().join(format!("wfsim-import-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut tried = 0;
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let ext = f.extension().unwrap().to_str().unwrap();
        let path = dir.join(format!("cut.{ext}"));
        let mut cuts: Vec<String> =
            (0..src.len()).step_by(11).filter(|&i| src.is_char_boundary(i)).map(|i| src[..i].to_owned()).collect();
        for _ in 0..20 {
            let mut b = src.clone().into_bytes();
            for _ in 0..8 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let i = (seed >> 33) as usize % b.len();
                let table = b"{}()[];,.:\"'`<>=!?&|+-*/ \nazAZ09";
                b[i] = table[(seed >> 20) as usize % table.len()];
            }
            cuts.push(String::from_utf8_lossy(&b).into_owned());
        }
        for text in cuts {
            std::fs::write(&path, &text).unwrap();
            tried += 1;
            if let Ok(o) = wfsim::import::import(std::slice::from_ref(&path), None)
                && let Err(e) = wfsim::scenario::load_str(&o.yaml, "fuzz.yaml")
            {
                panic!(
                    "draft of a cut {} does not load:\n{e}\n--- source ---\n{text}\n--- draft ---\n{}",
                    f.display(),
                    o.yaml
                );
            }
        }
    }
    assert!(tried > 500, "{tried}");
    std::fs::remove_dir_all(&dir).ok();
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `wfsim fit` writes one `compute` work step per task; `--durations` puts it on the task's
/// first work step and gives the others no time of their own, so the task's compute time per
/// attempt is the fitted one.
#[test]
fn durations_from_wfsim_fit() {
    let dir = std::env::temp_dir().join(format!("wfsim-import-fit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fitted = dir.join("fitted.yaml");
    let out = assert_cmd::Command::cargo_bin("wfsim")
        .unwrap()
        .current_dir(root())
        .args(["fit", "tests/fixtures/fit/video-runs.csv", "-o", fitted.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let o = draft("video", Some(fitted.to_str().unwrap()));
    wfsim::scenario::load_str(&o.yaml, "video.yaml").unwrap_or_else(|e| panic!("{e}\n{}", o.yaml));
    assert!(!o.yaml.contains("# TODO"), "{}", o.yaml);
    let fit = std::fs::read_to_string(&fitted).unwrap();
    for (task, first, rest) in [
        ("transcode", "storage.download", &["ffmpeg.transcode", "storage.upload"][..]),
        ("process-video", "probe", &[][..]),
    ] {
        let section = fit.split(&format!("  {task}:")).nth(1).unwrap();
        let dist = section.lines().find(|l| l.contains("duration:")).unwrap();
        let dist = dist.split("duration: ").nth(1).unwrap().split("   #").next().unwrap().trim();
        assert!(o.yaml.contains(&format!("- work: {{ name: {first}, duration: {dist}")), "{task}: {dist}\n{}", o.yaml);
        for r in rest {
            assert!(o.yaml.contains(&format!("- work: {{ name: {r}, duration: 0s }}")), "{}", o.yaml);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Pathological nesting (thousands of brackets, thousands of nested `if`s) is parsed and
/// drafted without overflowing a stack.
#[test]
fn deep_nesting_does_not_overflow() {
    let dir = std::env::temp_dir().join(format!("wfsim-import-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let brackets = format!("const a = {}{};\n", "[".repeat(20_000), "]".repeat(20_000));
    let ifs = format!(
        "import {{ task }} from \"@trigger.dev/sdk\";\nexport const t = task({{ id: \"t\", run: async () => {{ {} await t.trigger({{}}); {} }} }});\n{brackets}",
        "if (x) { ".repeat(3_000),
        "} ".repeat(3_000)
    );
    let file = dir.join("deep.ts");
    std::fs::write(&file, ifs).unwrap();
    let o = wfsim::import::import(std::slice::from_ref(&file), None).unwrap();
    wfsim::scenario::load_str(&o.yaml, "deep.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o.tasks, 1);
    std::fs::remove_dir_all(&dir).ok();
}
