//! Segments (`--by`) and SLO filters (`p95(duration | tier == pro) < 20s`), through the
//! binary: closed forms per segment, shares within binomial standard errors, every output
//! format, runs under load, and the errors for bad input.

mod common;

use common::wfsim;
use std::path::PathBuf;

/// Pro runs take 10 s, free runs 30 s (no start latency): each segment's percentiles are
/// exact, and all runs together mix them.
const TIERS: &str = "\
name: tiers
startLatency: 0
coldStart: 0
input:
  tier:  { choice: { free: 0.5, pro: 0.5 } }
  pages: { uniform: [1, 100] }
  urgent: { bernoulli: 0.25 }
entry: t
tasks:
  t:
    steps:
      - branch:
          - when: tier == pro
            then: [ { work: { duration: 10s } } ]
          - otherwise: [ { work: { duration: 30s } } ]
";

fn file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wfsim-segments-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join(format!("{name}.yaml"));
    std::fs::write(&f, text).unwrap();
    f
}

fn run(f: &PathBuf, args: &[&str]) -> std::process::Output {
    wfsim().arg("run").arg(f).args(args).output().unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn each_tier_gets_its_own_exact_durations_and_a_binomial_share() {
    let f = file("tiers", TIERS);
    let n = 4000.0;
    let j = json(&run(&f, &["--runs", "4000", "--by", "tier", "--format", "json"]));
    let segs = j["segments"].as_array().expect("segments array");
    assert_eq!(segs.len(), 2);
    let (free, pro) = (&segs[0], &segs[1]);
    assert_eq!((free["by"].as_str(), free["segment"].as_str()), (Some("tier"), Some("free")));
    assert_eq!(pro["segment"].as_str(), Some("pro"));
    for (s, want) in [(free, 30.0), (pro, 10.0)] {
        for q in ["p50", "p95", "p99", "min", "max", "mean"] {
            assert_eq!(s["duration_s"][q].as_f64(), Some(want), "{} {q}", s["segment"]);
        }
    }
    // Shares: binomial(4000, 0.5), within 4 standard errors; they add up to every run.
    let se = (0.25f64 / n).sqrt();
    let share = pro["share"].as_f64().unwrap();
    assert!((share - 0.5).abs() < 4.0 * se, "pro share {share}");
    assert_eq!(free["runs"].as_u64().unwrap() + pro["runs"].as_u64().unwrap(), 4000);
    // All runs together: the median of a 50/50 mix of 10 s and 30 s is one of them, the p95 30 s.
    assert_eq!(j["duration_s"]["p95"].as_f64(), Some(30.0));
}

#[test]
fn a_filtered_slo_counts_only_its_runs_and_decides_the_exit_code() {
    let f = file("slo", TIERS);
    let out = run(&f, &["--runs", "1000", "--slo", "p95(duration | tier == pro) < 20s"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("PASS  p95(duration | tier == pro) < 20s  (value 10.0s)"), "{text}");
    // Unfiltered, the same threshold fails: the free runs' 30 s are in it.
    let out = run(&f, &["--runs", "1000", "--slo", "p95(duration) < 20s"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&f, &["--runs", "1000", "--slo", "p95(duration | tier == free) < 20s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  p95(duration | tier == free) < 20s  (value 30.0s)"));
    // A filter with a comparison of its own, and a status rate over a segment.
    let out = run(
        &f,
        &[
            "--runs",
            "1000",
            "--slo",
            "max(duration | pages > 50) <= 30s",
            "--slo",
            "rate(COMPLETED | tier == pro) > 0.99",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn filters_in_the_scenario_file_work_and_a_bad_one_is_located() {
    let ok = format!("{TIERS}slo:\n  - p99(duration | tier == pro) < 11s\n");
    assert_eq!(run(&file("yaml-slo", &ok), &["--runs", "500"]).status.code(), Some(0));
    let bad = format!("{TIERS}slo:\n  - p99(duration | tier == paid) < 11s\n");
    let out = run(&file("yaml-bad", &bad), &["--runs", "500"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yaml-bad.yaml:17:5"), "{err}");
    assert!(err.contains("slo[0]") && err.contains("`paid` is not a value of `tier`"), "{err}");
}

#[test]
fn cut_points_conditions_and_yes_no_attributes_make_segments() {
    let f = file("kinds", TIERS);
    let labels = |by: &str| -> Vec<String> {
        let j = json(&run(&f, &["--runs", "2000", "--by", by, "--format", "json"]));
        let segs = j["segments"].as_array().unwrap();
        let total: u64 = segs.iter().map(|s| s["runs"].as_u64().unwrap()).sum();
        assert_eq!(total, 2000, "{by}: every run in exactly one segment");
        segs.iter().map(|s| s["segment"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(labels("pages:10,50"), ["pages <= 10", "10 < pages <= 50", "pages > 50"]);
    assert_eq!(labels("pages > 50"), ["pages > 50", "not (pages > 50)"]);
    assert_eq!(labels("urgent"), ["true", "false"]);
    // The share of `urgent` runs: bernoulli(0.25) over 2000 runs, within 4 standard errors.
    let j = json(&run(&f, &["--runs", "2000", "--by", "urgent", "--format", "json"]));
    let share = j["segments"][0]["share"].as_f64().unwrap();
    assert!((share - 0.25).abs() < 4.0 * (0.25f64 * 0.75 / 2000.0).sqrt(), "{share}");
}

#[test]
fn every_format_shows_the_segments_and_threads_do_not_change_them() {
    let f = file("formats", TIERS);
    let table = run(&f, &["--runs", "500", "--by", "tier"]);
    let t = String::from_utf8_lossy(&table.stdout);
    assert!(t.lines().any(|l| l.starts_with("tier ") && l.contains("share")), "{t}");
    assert!(t.lines().any(|l| l.starts_with("pro ") && l.contains("10.0s")), "{t}");
    let md = run(&f, &["--runs", "500", "--by", "tier", "--format", "markdown"]);
    assert!(String::from_utf8_lossy(&md.stdout).contains("| pro |"));
    let csv = run(&f, &["--runs", "500", "--by", "tier", "--format", "csv"]);
    let c = String::from_utf8_lossy(&csv.stdout);
    assert!(c.contains("tiers,segment tier = pro: duration,s,10,"), "{c}");
    let one = run(&f, &["--runs", "3000", "--by", "pages:25", "--format", "json", "--threads", "1"]);
    let two = run(&f, &["--runs", "3000", "--by", "pages:25", "--format", "json", "--threads", "2"]);
    assert_eq!(one.stdout, two.stdout);
}

#[test]
fn segments_under_load_have_replication_intervals() {
    let text = format!("{TIERS}load:\n  arrivals: {{ poisson: {{ perMinute: 20 }} }}\n  duration: 30m\n");
    let f = file("load", &text);
    let j = json(&run(&f, &["--by", "tier", "--replications", "3", "--format", "json"]));
    let segs = j["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    for s in segs {
        let ci = s["duration_s"]["mean_ci95"].as_f64().expect("an interval from 3 replications");
        assert!(ci.is_finite() && ci >= 0.0);
    }
    // With room in the environment, a pro run still takes its 10 s.
    assert_eq!(segs[1]["duration_s"]["p50"].as_f64(), Some(10.0));
}

#[test]
fn bad_segments_and_filters_exit_2_with_the_fix() {
    let f = file("bad", TIERS);
    for (args, want) in [
        (vec!["--by", "tir"], "did you mean `tier`?"),
        (vec!["--by", "pages"], "give cut points (--by pages:10,50)"),
        (vec!["--by", "pages:50,10"], "not increasing numbers"),
        (vec!["--by", "tier:1"], "is a choice of names"),
        (vec!["--slo", "p95(duration | tier == paid) < 1m"], "values: free, pro"),
        (vec!["--slo", "p95(duration | ) < 1m"], "empty filter"),
        (vec!["--slo", "rate(429 | tier == pro) < 0.1"], "takes no filter"),
    ] {
        let out = run(&f, &[&["--runs", "10"][..], &args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_report_by_segment_draws_a_line_per_segment_and_its_table() {
    let f = file("report", TIERS);
    let dir = std::env::temp_dir().join(format!("wfsim-segments-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = wfsim()
        .arg("report")
        .arg(&f)
        .args(["--runs", "600", "--by", "tier", "-q", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("segments.png").metadata().unwrap().len() > 10_000);
    let svg = std::fs::read_to_string(dir.join("segments.svg")).unwrap();
    for label in ["free: ", "pro: ", "p50 10.0s"] {
        assert!(svg.contains(label), "legend names {label}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("| tier | runs | share |") && md.contains("## Duration by segment"), "{md}");
    // Without --by: no segment chart.
    let plain = dir.with_extension("plain");
    let _ = std::fs::remove_dir_all(&plain);
    wfsim().arg("report").arg(&f).args(["--runs", "200", "-q", "--out"]).arg(&plain).assert().success();
    assert!(!plain.join("segments.png").exists());
}
