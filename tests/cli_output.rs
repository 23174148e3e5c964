//! The output conventions, through the binary: `--format table|json|markdown|csv`, `-o FILE`,
//! `--quiet`, `run --runs-csv`, completions and the man page, `--threads 0`, SLO values in
//! their own unit, `compare`'s exit code, duration units, did-you-mean on `--set`, numeric
//! `progress` keys and per-preset attempts and cost.

mod common;

use common::wfsim;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scenario(name: &str) -> String {
    root().join("scenarios").join(format!("{name}.yaml")).display().to_string()
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Out {
    let o = wfsim().args(args).output().expect("runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A fresh temporary folder for one test.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wfsim-out-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CSV without quoted cells (the tests' own data has none) as rows of cells.
fn csv(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(',').map(String::from).collect()).collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn durations_take_every_common_spelling_and_errors_keep_their_units() {
    let d = tmp("units");
    let f = d.join("u.yaml");
    std::fs::write(
        &f,
        "name: u\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 2 minutes }\n      - work: { duration: { uniform: [30 secs, 1 hr] } }\n      - wait: { for: 2mins }\n",
    )
    .unwrap();
    let o = run(&["run", f.to_str().unwrap(), "--runs", "200", "--format", "json", "--slo", "p50(duration) > 1 hour"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = json(&o.stdout);
    // 2 minutes of work, 30 s to 1 h uniform (mean 1815 s), and a 2-minute wait.
    assert!(v["duration_s"]["min"].as_f64().unwrap() > 120.0 + 30.0 + 120.0, "{}", v["duration_s"]);
    assert!(v["duration_s"]["max"].as_f64().unwrap() < 240.0 + 3600.0 + 60.0, "{}", v["duration_s"]);

    std::fs::write(&f, "name: u\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 2 fortnights }\n")
        .unwrap();
    let o = run(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.code, 2);
    for s in ["u.yaml:6:", "unknown unit `fortnights`", "minutes", "secs", "hrs", "days"] {
        assert!(o.stderr.contains(s), "`{s}` not in\n{}", o.stderr);
    }

    std::fs::write(
        &f,
        "name: u\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { lognormal: { median: 10s, p95: 5s } } }\n",
    )
    .unwrap();
    let o = run(&["validate", f.to_str().unwrap()]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("p95 (5s) must be above the median (10s)"), "{}", o.stderr);
    std::fs::write(
        &f,
        "name: u\nentry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { uniform: [2m, 90s] } }\n",
    )
    .unwrap();
    let o = run(&["validate", f.to_str().unwrap()]);
    assert!(o.stderr.contains("low (2m) is above high (90s)"), "{}", o.stderr);
    let _ = std::fs::remove_dir_all(d);
}

/// The value an SLO line shows, e.g. `9.3m` from `slo  PASS  p95(duration) < 10m  (value 9.3m)`.
fn slo_value<'a>(text: &'a str, expr: &str) -> &'a str {
    let line = text.lines().find(|l| l.starts_with("slo") && l.contains(expr)).unwrap_or_else(|| panic!("{text}"));
    line.rsplit("(value ").next().unwrap().trim_end_matches(')')
}

#[test]
fn slo_values_are_shown_in_the_unit_of_their_threshold() {
    let p = scenario("transcription-parallel");
    let args = |f: &str| {
        vec![
            "run".to_owned(),
            p.clone(),
            "--runs".into(),
            "1000".into(),
            "--format".into(),
            f.into(),
            "--slo".into(),
            "p95(duration) < 10m".into(),
            "--slo".into(),
            "p50(duration) < 90".into(),
            "--slo".into(),
            "mean(costUsd) < 0.02".into(),
        ]
    };
    let a: Vec<String> = args("json");
    let v = json(&run(&a.iter().map(String::as_str).collect::<Vec<_>>()).stdout);
    let a: Vec<String> = args("table");
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.code, 1, "p50 < 90 s fails: {}", o.stdout);
    let p95 = v["duration_s"]["p95"].as_f64().unwrap();
    let p50 = v["duration_s"]["p50"].as_f64().unwrap();
    let cost = v["cost_usd"]["mean"].as_f64().unwrap();
    assert_eq!(slo_value(&o.stdout, "p95(duration) < 10m"), format!("{:.1}m", p95 / 60.0));
    assert_eq!(slo_value(&o.stdout, "p50(duration) < 90"), format!("{p50:.1}s"));
    assert_eq!(slo_value(&o.stdout, "mean(costUsd) < 0.02"), format!("${cost:.6}"));
    assert!(o.stdout.contains("slo  FAIL  p50(duration) < 90"), "{}", o.stdout);

    // The same values in report.md and index.html.
    let d = tmp("slo-report");
    let mut a: Vec<String> = args("table");
    a[0] = "report".into();
    a.extend(["--out".into(), d.display().to_string(), "--quiet".into()]);
    let o = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty(), "report --quiet prints no summary: {}", o.stdout);
    let md = std::fs::read_to_string(d.join("report.md")).unwrap();
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    let shown = format!("{:.1}m", p95 / 60.0);
    assert!(md.contains(&format!("| `p95(duration) < 10m` | {shown} | ✅ PASS |")), "{md}");
    assert!(
        html.contains(&format!("<td>p95(duration) &lt; 10m</td><td>{shown}</td><td class=\"pass\">PASS</td>")),
        "{html}"
    );
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn compare_fails_only_on_the_designs_under_test_and_shows_the_slo_table() {
    let (seq, par) = (scenario("transcription-sequential"), scenario("transcription-parallel"));
    // p95 < 10m: the sequential design (about 16 minutes) fails it, the parallel one passes.
    let slo = "p95(duration) < 10m";
    let o = run(&["compare", &seq, &par, "--runs", "500", "--slo", slo, "--format", "markdown"]);
    assert_eq!(o.code, 0, "only the baseline fails: {}", o.stderr);
    assert!(o.stderr.contains("baseline transcription-sequential fails: p95(duration) < 10m"), "{}", o.stderr);
    assert!(o.stdout.contains("| transcription-sequential (baseline) | `p95(duration) < 10m` |"), "{}", o.stdout);
    assert!(o.stdout.contains("❌ FAIL |\n| transcription-parallel | `p95(duration) < 10m` |"), "{}", o.stdout);
    let o = run(&["compare", &par, &seq, "--runs", "500", "--slo", slo]);
    assert_eq!(o.code, 1, "the design under test fails: {}", o.stderr);
    assert!(o.stderr.contains("SLO failed: transcription-sequential: p95(duration) < 10m"), "{}", o.stderr);
    let line =
        o.stdout.lines().find(|l| l.starts_with("transcription-sequential ") && l.contains("p95(duration) < 10m"));
    assert!(line.is_some_and(|l| l.ends_with("FAIL")), "{}", o.stdout);

    // The report's pages carry the table too.
    let d = tmp("compare-report");
    let o = run(&["compare", &seq, &par, "--runs", "300", "--slo", slo, "--out", d.to_str().unwrap(), "-q"]);
    assert_eq!(o.code, 0);
    let md = std::fs::read_to_string(d.join("report.md")).unwrap();
    assert!(md.contains("## SLOs") && md.contains("transcription-parallel | `p95(duration) < 10m`"), "{md}");
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    assert!(html.contains("<td>transcription-sequential (baseline)</td>"), "{html}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn csv_has_one_row_per_summary_line_with_the_json_numbers() {
    let p = scenario("transcription-parallel");
    let v = json(&run(&["run", &p, "--runs", "800", "--format", "json"]).stdout);
    let o = run(&["run", &p, "--runs", "800", "--format", "csv"]);
    assert_eq!(o.code, 0);
    let rows = csv(&o.stdout);
    let col = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let line = |name: &str| rows.iter().find(|r| r[1] == name).unwrap_or_else(|| panic!("no {name}"));
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "rectangular");
    // serde_json reads a float to within an ulp (without its float_roundtrip feature), so the
    // numbers agree to 1e-15 rather than bit for bit; any rounding in the CSV would show.
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-15 * b.abs();
    for k in ["mean", "mean_ci95", "p50", "p90", "p95", "p99", "min", "max"] {
        let cell: f64 = line("duration")[col(k)].parse().unwrap();
        assert!(same(cell, v["duration_s"][k].as_f64().unwrap()), "duration {k}: {cell} vs {}", v["duration_s"][k]);
    }
    assert!(same(line("cost")[col("mean")].parse::<f64>().unwrap(), v["cost_usd"]["mean"].as_f64().unwrap()));
    assert_eq!(line("success_rate")[col("mean")], "1");
    assert!(same(line("progress_50")[col("p50")].parse::<f64>().unwrap(), v["progress"]["50"].as_f64().unwrap()));

    // compare: every design's lines, then each tested design's ratios with their interval.
    let seq = scenario("transcription-sequential");
    let o = run(&["compare", &seq, &p, "--runs", "300", "--format", "csv"]);
    let rows = csv(&o.stdout);
    let r = rows.iter().find(|r| r[0] == "transcription-parallel" && r[1] == "speedup_p50").unwrap();
    let (x, lo, hi): (f64, f64, f64) = (r[3].parse().unwrap(), r[11].parse().unwrap(), r[12].parse().unwrap());
    assert!(lo <= x && x <= hi && x > 3.0, "{r:?}");
    assert_eq!(rows.iter().filter(|r| r[1] == "duration").count(), 2);

    // sweep and sensitivity: one row per variant, per parameter.
    let set = "tasks.transcribe-audio.steps[0].parallel.limit=1,3,6";
    let o = run(&["sweep", &p, "--set", set, "--runs", "200", "--format", "csv"]);
    let rows = csv(&o.stdout);
    assert_eq!(rows.len(), 4, "{}", o.stdout);
    assert_eq!(rows[0][3], "tasks.transcribe-audio.steps[0].parallel.limit");
    assert!(rows[3][rows[0].len() - 2].contains("cost"), "limit 6 is picked: {:?}", rows[3]);
    let o = run(&["sweep", &p, "--set", set, "--runs", "200", "--format", "markdown"]);
    assert!(o.stdout.contains("| limit | p50 |") && o.stdout.contains("- **cost**: `limit=6`"), "{}", o.stdout);
    let o = run(&["sensitivity", &p, "--runs", "200", "--format", "csv"]);
    let rows = csv(&o.stdout);
    let s = json(&run(&["sensitivity", &p, "--runs", "200", "--format", "json"]).stdout);
    assert_eq!(rows.len() - 1, s["parameters"].as_array().unwrap().len());
    let p95_down = rows[0].iter().position(|c| c == "p95_down").unwrap();
    let (a, b) = (rows[1][p95_down].parse::<f64>().unwrap(), s["parameters"][0]["p95_down"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-15 * b.abs().max(1e-300), "{a} vs {b}");
}

#[test]
fn runs_csv_has_a_row_per_task_run_that_adds_up_to_the_summary() {
    let d = tmp("runs-csv");
    let f = d.join("runs.csv");
    let p = scenario("pdf-processing");
    let o = run(&["run", &p, "--isolated", "--runs", "1000", "--format", "json", "--runs-csv", f.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v = json(&o.stdout);
    let text = std::fs::read_to_string(&f).unwrap();
    let rows = csv(&text);
    assert_eq!(
        rows[0].join(","),
        "run_id,task_identifier,status,machine,attempt_count,queued_duration,execution_duration,total_duration,usage_duration,compute_cost,invocation_cost,total_cost,parent_run_id,root_run_id,depth"
    );
    let rows = &rows[1..];
    let runs = 1000.0;
    assert_eq!(rows.len() as f64, v["task_runs_per_run"].as_f64().unwrap() * runs);
    // Per task: runs, attempts and out-of-memory upgrades as the summary counts them.
    let mut per: BTreeMap<&str, (u64, u64, f64)> = BTreeMap::new();
    let mut cost = 0.0;
    let mut usage = 0.0;
    for r in rows {
        let e = per.entry(r[1].as_str()).or_default();
        e.0 += 1;
        e.1 += r[4].parse::<u64>().unwrap();
        e.2 += r[9].parse::<f64>().unwrap();
        cost += r[11].parse::<f64>().unwrap();
        usage += r[8].parse::<f64>().unwrap() / 1000.0;
        // Root runs have no parent and depth 0; children name their parent in the same tree.
        let root = r[0].rsplit_once('_').unwrap().0.to_owned() + "_0";
        assert_eq!(r[13], root);
        assert_eq!(r[12].is_empty(), r[14] == "0", "{r:?}");
    }
    for (task, (n, attempts, compute)) in &per {
        let t = &v["tasks"][task];
        assert_eq!(*n, t["runs"].as_u64().unwrap(), "{task} runs");
        assert_eq!(*attempts, t["attempts"].as_u64().unwrap(), "{task} attempts");
        let want: f64 =
            t["machines"].as_object().unwrap().values().map(|m| m["compute_cost_per_workflow"].as_f64().unwrap()).sum();
        assert!((compute / runs - want).abs() <= 1e-12 + 1e-9 * want, "{task} compute {compute} vs {want}");
    }
    // OCR upgraded by its out-of-memory retry: the rows say large-1x for those runs.
    assert!(rows.iter().any(|r| r[1] == "ocr-pdf" && r[3] == "large-1x"));
    let mean = v["cost_usd"]["mean"].as_f64().unwrap();
    assert!((cost / runs - mean).abs() <= 1e-9 * mean, "cost {} vs {mean}", cost / runs);
    let u = v["usage_duration_s"]["mean"].as_f64().unwrap();
    assert!((usage / runs - u).abs() <= 1e-9 * u, "usage {} vs {u}", usage / runs);

    // Under load: one row per workflow run, and a note saying so.
    let o = run(&["run", &p, "--format", "json", "--runs-csv", f.to_str().unwrap()]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("one row per workflow run"), "{}", o.stderr);
    let v = json(&o.stdout);
    let n = std::fs::read_to_string(&f).unwrap().lines().count() - 1;
    assert_eq!(n as u64, v["runs"].as_u64().unwrap());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn output_files_are_written_whole_and_quiet_is_quiet() {
    let d = tmp("output");
    let p = scenario("transcription-parallel");
    for format in ["table", "json", "markdown", "csv"] {
        let f = d.join(format!("out.{format}"));
        let printed = run(&["run", &p, "--runs", "300", "--format", format]);
        let o = run(&["run", &p, "--runs", "300", "--format", format, "-o", f.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.code, 0);
        assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{format}: {} / {}", o.stdout, o.stderr);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), printed.stdout, "{format}");
    }
    // Nothing but the outputs in the folder: no temporary file left behind.
    let names: Vec<String> =
        std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    // A folder that does not exist stops before simulating.
    let o = run(&["run", &p, "-o", "/nonexistent-wfsim-folder/out.md"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("does not exist") && !o.stderr.contains("simulating"), "{}", o.stderr);
    let o = run(&["run", &p, "-o", d.to_str().unwrap()]);
    assert_eq!(o.code, 2, "a folder is not a file");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn threads_zero_means_every_core_and_changes_nothing() {
    let p = scenario("pdf-processing");
    let a = run(&["run", &p, "--isolated", "--runs", "2000", "--threads", "0", "--format", "json"]);
    let b = run(&["run", &p, "--isolated", "--runs", "2000", "--threads", "1", "--format", "json"]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn completions_and_the_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.code, 0, "{shell}");
        assert!(o.stdout.contains("wfsim") && o.stdout.contains("runs-csv"), "{shell}");
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.code, 2);
    let o = run(&["man"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains(".TH wfsim 1") && o.stdout.contains("compare"), "{}", &o.stdout[..200]);
}

#[test]
fn a_misspelt_set_path_gets_a_suggestion() {
    let p = scenario("transcription-parallel");
    let o = run(&["sweep", &p, "--set", "tasks.transcribe-audio.step[0].parallel.limit=1,2", "--runs", "50"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("there is no key `step`; did you mean `steps`?"), "{}", o.stderr);
    let o = run(&["sweep", &p, "--set", "tasks.transcribe-audo.retry.maxAttempts=1,2", "--runs", "50"]);
    assert!(o.stderr.contains("did you mean `transcribe-audio`?"), "{}", o.stderr);
}

#[test]
fn progress_keys_are_in_numeric_order_and_upgraded_tasks_split_by_preset() {
    let p = scenario("pdf-processing");
    let o = run(&["run", &p, "--isolated", "--runs", "1000", "--format", "json"]);
    let at = |k: &str| o.stdout.find(&format!("\"{k}\": ")).unwrap_or_else(|| panic!("no {k}"));
    let progress = o.stdout.find("\"progress\": {").unwrap();
    let keys: Vec<usize> = ["10", "25", "50", "75", "90", "100"].iter().map(|k| at(k)).collect();
    assert!(keys[0] > progress && keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");

    let v = json(&o.stdout);
    let ocr = &v["tasks"]["ocr-pdf"];
    let m = ocr["machines"].as_object().unwrap();
    assert_eq!(m.len(), 2, "{m:?}");
    // In preset order (serde_json's map sorts its keys, so the order is read from the text).
    let ocr_at = o.stdout.find("\"ocr-pdf\": {").unwrap();
    let (medium, large) = (o.stdout[ocr_at..].find("\"medium-1x\": {"), o.stdout[ocr_at..].find("\"large-1x\": {"));
    assert!(medium.unwrap() < large.unwrap());
    let sum = |k: &str| m.values().map(|x| x[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("attempts"), ocr["attempts"].as_u64().unwrap());
    assert_eq!(sum("out_of_memory"), ocr["out_of_memory"].as_u64().unwrap());
    // Every OOM is on medium-1x, and each is followed by one attempt on large-1x.
    assert_eq!(m["medium-1x"]["out_of_memory"], ocr["out_of_memory"]);
    assert_eq!(m["large-1x"]["attempts"], ocr["out_of_memory"]);
    let compute: f64 = m.values().map(|x| x["compute_cost_per_workflow"].as_f64().unwrap()).sum();
    let invocations = ocr["runs_per_workflow"].as_f64().unwrap() * 0.000025;
    let total = ocr["cost_usd_per_workflow"].as_f64().unwrap();
    assert!((compute + invocations - total).abs() <= 1e-12, "{compute} + {invocations} vs {total}");
    // A task on one preset has one entry.
    assert_eq!(v["tasks"]["chunk-text"]["machines"].as_object().unwrap().len(), 1);

    let o = run(&["run", &p, "--isolated", "--runs", "1000"]);
    let row = o.stdout.lines().find(|l| l.trim_start().starts_with("on large-1x")).expect("a large-1x row");
    assert!(row.ends_with(&format!("{} attempts", m["large-1x"]["attempts"])), "{row}");
}

#[test]
fn a_failed_slo_is_said_once() {
    let out = wfsim()
        .args(["run", "scenarios/transcription-parallel.yaml", "--runs", "200", "-q", "--slo", "p95(duration) < 1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("SLO failed").count(), 1, "{err}");
}
