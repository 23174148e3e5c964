//! `wfsim report` and `wfsim compare` through the real binary: every file is written, charts
//! have the stated size and parse, JSON agrees with `run`, SLO gates set the exit code.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn wfsim() -> Command {
    Command::cargo_bin("wfsim").expect("binary built")
}

fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wfsim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Width and height of a parsed SVG document.
fn svg_size(text: &str) -> (u32, u32) {
    let doc = roxmltree::Document::parse(text).expect("SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let n = |a: &str| root.attribute(a).and_then(|v| v.trim_end_matches("px").parse::<u32>().ok()).expect(a);
    assert!(doc.descendants().filter(|d| d.is_element()).count() > 20, "the SVG draws something");
    (n("width"), n("height"))
}

fn check_charts(dir: &Path, stems: &[&str]) {
    for stem in stems {
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap_or_else(|_| panic!("{stem}.png written"));
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap_or_else(|_| panic!("{stem}.svg"));
        let (pw, ph) = png_size(&png);
        let (sw, sh) = svg_size(&svg);
        assert_eq!((pw, ph), (sw, sh), "{stem}: PNG and SVG of the same size");
        assert!(pw >= 600 && ph >= 300, "{stem}: {pw}x{ph}");
        // A blank PNG compresses to almost nothing; a chart does not.
        assert!(png.len() > 10_000, "{stem}.png is {} bytes", png.len());
    }
}

#[test]
fn report_writes_the_page_the_markdown_the_json_and_every_chart() {
    let out = tmp("pdf");
    let o = wfsim()
        .args(["report", &scenario("pdf-processing"), "--runs", "2000", "--isolated", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    check_charts(&out, &["duration", "progress", "timeline", "cost", "breakdown"]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 5, "five inline charts");
    // Self-contained: no script, nothing loaded from elsewhere (an SVG namespace is no load).
    for bad in ["<script", "src=", "href=\"http", "@import", "url("] {
        assert!(!html.contains(bad), "index.html contains {bad}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for stem in ["duration", "progress", "timeline", "cost", "breakdown"] {
        assert!(md.contains(&format!("({stem}.png)")), "report.md links {stem}.png");
    }
    // The design warnings the scenario keeps on purpose (its 30 s poll, its unkeyed children)
    // are listed in both pages with their place in the file, as on stderr.
    let stderr = String::from_utf8_lossy(&o.stderr);
    let warned = stderr.matches("warning").count();
    assert!(warned > 0, "pdf-processing keeps design warnings: {stderr}");
    assert!(html.contains("<h2>Design warnings</h2>"), "index.html lists the design warnings");
    assert_eq!(html.matches("<li><code>").count(), md.matches("\n- `").count());
    assert!(
        md.contains("## Design warnings") && md.contains("pdf-processing.yaml:"),
        "report.md lists them with their file"
    );
    assert!(html.contains("tasks.generate-summary"), "a warning names the key to fix");
    // summary.json is exactly what `run --format json` prints for the same runs and seed.
    let run = wfsim()
        .args(["run", &scenario("pdf-processing"), "--runs", "2000", "--isolated", "--format", "json"])
        .output()
        .unwrap();
    // Compared as text, so a mismatch prints readably.
    assert_eq!(std::fs::read_to_string(out.join("summary.json")).unwrap(), String::from_utf8_lossy(&run.stdout));
    // No temporary folder is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".wfsim-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn compare_reports_speedup_and_cost_ratio_with_intervals() {
    let out = tmp("cmp");
    let o = wfsim()
        .args([
            "compare",
            &scenario("transcription-sequential"),
            &scenario("transcription-parallel"),
            "--runs",
            "3000",
            "--format",
            "json",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["baseline"], "transcription-sequential");
    let rows = v["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // The baseline against itself: exactly 1 with a zero-width interval.
    for k in ["speedup_p50", "speedup_p95", "cost_ratio"] {
        assert_eq!(rows[0][k]["value"], 1.0);
        assert_eq!(rows[0][k]["ci95_low"], 1.0);
        assert_eq!(rows[0][k]["ci95_high"], 1.0);
    }
    let s = &rows[1]["speedup_p50"];
    let (val, lo, hi) =
        (s["value"].as_f64().unwrap(), s["ci95_low"].as_f64().unwrap(), s["ci95_high"].as_f64().unwrap());
    assert!(lo <= val && val <= hi && lo > 1.0, "{lo} {val} {hi}");
    // The point estimate is the ratio of the two designs' own p50s.
    let p50 = |i: usize| rows[i]["duration_p50_s"].as_f64().unwrap();
    assert!((val - p50(0) / p50(1)).abs() < 1e-9);
    check_charts(&out, &["compare-duration", "compare-progress"]);
    assert!(out.join("index.html").exists() && out.join("report.md").exists() && out.join("comparison.json").exists());
}

#[test]
fn slo_gates_set_the_exit_code() {
    let p = scenario("pdf-processing");
    let iso = |extra: &[&str]| {
        let mut a = vec!["run", p.as_str(), "--runs", "500", "--isolated"];
        a.extend_from_slice(extra);
        wfsim().args(a).output().unwrap()
    };
    let ok = iso(&["--slo", "p50(duration) < 1h"]);
    assert_eq!(ok.status.code(), Some(0));
    let fail = iso(&["--slo", "p95(duration) < 1s"]);
    assert_eq!(fail.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&fail.stderr).contains("SLO failed"));
    assert!(String::from_utf8_lossy(&fail.stdout).contains("FAIL  p95(duration) < 1s"));
    let json = iso(&["--format", "json", "--slo", "rate(FAILED) <= 0.5"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let last = v["slo"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["expr"], "rate(FAILED) <= 0.5");
    assert_eq!(last["pass"], true);
    let bad = iso(&["--slo", "p95(duration)"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no comparison"));
    let cmp = wfsim().args(["compare", &p, &p, "--runs", "300", "--slo", "successRate > 1.5"]).output().unwrap();
    assert_eq!(cmp.status.code(), Some(1));
}

#[test]
fn a_malformed_slo_in_a_scenario_is_a_located_error() {
    let dir = tmp("slo");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("s.yaml");
    std::fs::write(
        &f,
        "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s }\nslo:\n  - p95(latency) < 3s\n",
    )
    .unwrap();
    let o = wfsim().args(["report", f.to_str().unwrap(), "--out", dir.join("r").to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("s.yaml:7:5") && err.contains("slo[0]") && err.contains("unknown quantity `latency`"),
        "{err}"
    );
    assert!(!dir.join("r").exists(), "nothing written for bad input");
}

#[test]
fn ctrl_c_during_a_report_leaves_no_file() {
    let out = tmp("interrupt");
    let bin = assert_cmd::cargo::cargo_bin("wfsim");
    let mut child = std::process::Command::new(bin)
        .args(["report", &scenario("pdf-processing"), "--isolated", "--runs", "20000000", "--threads", "1", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stopped by the interrupt handler");
    let written: Vec<_> = std::fs::read_dir(&out).map(|d| d.filter_map(|e| e.ok()).collect()).unwrap_or_default();
    assert!(written.is_empty(), "left behind: {:?}", written.iter().map(|e| e.file_name()).collect::<Vec<_>>());
}

#[test]
fn a_report_under_load_draws_the_backlog() {
    let out = tmp("load");
    let o = wfsim()
        .args(["report", &scenario("pdf-processing"), "--replications", "2", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    // Its p95 SLO fails under its own load: exit 1, and the report is written all the same.
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    check_charts(&out, &["duration", "progress", "backlog", "cost", "breakdown"]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Under load") && html.contains("openai"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(v["load"]["replications"], 2);
}
