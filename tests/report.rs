//! `wfsim report` and `wfsim compare` through the real binary: every file is written, charts
//! have the stated size and parse, JSON agrees with `run`, SLO gates set the exit code.

mod common;

use common::wfsim;
use std::path::{Path, PathBuf};

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

/// Type 7 quantile (numpy's default), the definition docs/guide.md gives for every percentile.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// The per-run durations and costs `compare` sees for `name` (run i of each design uses the
/// same random streams: common random numbers).
fn runs_of(name: &str, runs: u64) -> Vec<(f64, f64)> {
    let l = wfsim::scenario::load_file(std::path::Path::new(&scenario(name))).unwrap_or_else(|e| panic!("{e}"));
    let cfg = wfsim::montecarlo::Config { runs, seed: 1, threads: None };
    let mc = wfsim::montecarlo::run(&l.model, cfg).expect("simulates");
    mc.outcomes.iter().map(|o| (o.duration_s, o.cost_usd)).collect()
}

#[test]
fn compare_reports_speedup_and_cost_ratio_with_intervals() {
    let out = tmp("cmp");
    let runs = 3000;
    let o = wfsim()
        .args(["compare", &scenario("transcription-sequential"), &scenario("transcription-parallel")])
        .args(["--runs", &runs.to_string(), "--seed", "1", "--format", "json", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["baseline"], "transcription-sequential");
    let rows = v["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // The baseline against itself: exactly 1 with a zero-width interval (so resamples pair
    // run i of one design with run i of the other).
    for k in ["speedup_p50", "speedup_p95", "cost_ratio"] {
        assert_eq!(rows[0][k]["value"], 1.0);
        assert_eq!(rows[0][k]["ci95_low"], 1.0);
        assert_eq!(rows[0][k]["ci95_high"], 1.0);
    }
    check_charts(&out, &["compare-duration", "compare-progress"]);
    assert!(out.join("index.html").exists() && out.join("report.md").exists() && out.join("comparison.json").exists());

    // The statistics as docs/guide.md defines them, from the same runs through the library:
    // speedup = baseline p50 (p95) duration / the variant's, cost ratio = the variant's mean
    // cost / the baseline's; the interval is the 2.5% and 97.5% points of the statistic over
    // resamples of whole runs (paired: one index picks run i of both designs).
    let (base, var) = (runs_of("transcription-sequential", runs), runs_of("transcription-parallel", runs));
    let stats = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut bd, mut vd, mut bc, mut vc) = (Vec::new(), Vec::new(), 0.0, 0.0);
        for i in idx {
            bd.push(base[i].0);
            vd.push(var[i].0);
            bc += base[i].1;
            vc += var[i].1;
        }
        let (b50, v50, b95, v95) =
            (quantile(&mut bd, 0.5), quantile(&mut vd, 0.5), quantile(&mut bd, 0.95), quantile(&mut vd, 0.95));
        [b50 / v50, b95 / v95, vc / bc]
    };
    let point = stats(&mut (0..runs as usize));
    // The test's own paired bootstrap: B resamples from its own generator (SplitMix64).
    let big_b = 4000usize;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let n = runs as usize;
    let mut boot: [Vec<f64>; 3] = Default::default();
    for _ in 0..big_b {
        let s = stats(&mut (0..n).map(|_| ((next() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize));
        for k in 0..3 {
            boot[k].push(s[k]);
        }
    }
    // wfsim's bounds are the 2.5% and 97.5% points of R resamples. Of R draws from the
    // bootstrap distribution, the share below its true q-point is Binomial(R, q) / R, with
    // standard deviation sqrt(q (1 - q) / R); the test's B resamples add their own
    // sqrt(q (1 - q) / B). So each bound must lie between the test's bootstrap points at
    // q -/+ 4 sqrt(q (1 - q) (1 / R + 1 / B)). An interval of another level (80% or less),
    // of unpaired resamples, of another statistic or of no resampling at all falls outside.
    let r = v["bootstrap_resamples"].as_u64().unwrap() as f64;
    for (k, name) in ["speedup_p50", "speedup_p95", "cost_ratio"].iter().enumerate() {
        let got = &rows[1][name];
        let (val, lo, hi) =
            (got["value"].as_f64().unwrap(), got["ci95_low"].as_f64().unwrap(), got["ci95_high"].as_f64().unwrap());
        assert!((val - point[k]).abs() <= 1e-12 * point[k], "{name}: {val} vs {}", point[k]);
        for (q, bound) in [(0.025, lo), (0.975, hi)] {
            let s = 4.0 * (q * (1.0 - q) * (1.0 / r + 1.0 / big_b as f64)).sqrt();
            let (a, b) = (quantile(&mut boot[k], (q - s).max(0.0)), quantile(&mut boot[k], (q + s).min(1.0)));
            eprintln!("{name}: {q} bound {bound:.5}, expected in [{a:.5}, {b:.5}] (value {val:.5})");
            assert!(a <= bound && bound <= b, "{name}: the {q} bound {bound} is outside [{a}, {b}]");
        }
    }
    // Parallel transcription is the faster design: its interval says so.
    assert!(rows[1]["speedup_p50"]["ci95_low"].as_f64().unwrap() > 1.0);
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
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The start signal: `report` installs its interrupt handler first, then prints
    // `simulating N runs ...` and simulates (20 million runs: far longer than this test).
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let started = lines.by_ref().map_while(Result::ok).any(|l| l.starts_with("simulating "));
    assert!(started, "no `simulating` line on stderr");
    // Whatever it prints next is read, so it never blocks on a full pipe.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "stopped by the interrupt handler");
    let rest = rest.join().unwrap();
    assert!(rest.iter().any(|l| l.contains("interrupted: no report written")), "{rest:?}");
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
    check_charts(&out, &["duration", "progress", "backlog", "timeline", "cost", "breakdown"]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Under load") && html.contains("openai"));
    // The backlog names the queue of 10 that runs wait for (not the environment's 25), and
    // draws it as a line of its own beside the total.
    let backlog = std::fs::read_to_string(out.join("backlog.svg")).unwrap();
    assert!(backlog.contains("bottleneck: queue openai (10 slots"), "backlog title names the queue");
    assert!(backlog.contains("queue openai (10 slots)") && backlog.contains("all queues"), "one line per queue");
    // The load's timeline: a run of the load, its queue waits and its step names.
    let timeline = std::fs::read_to_string(out.join("timeline.svg")).unwrap();
    assert!(timeline.contains("under load") && timeline.contains("waiting for a concurrency slot"));
    assert!(timeline.contains(" queued, "), "a task run of the sample waited for a slot");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("(timeline.png)"), "report.md links the load's timeline");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(v["load"]["replications"], 2);
}

/// Text drawn in an SVG chart (plotters writes each label as a `<text>` element).
fn svg_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| panic!("{} written", path.display()));
    let doc = roxmltree::Document::parse(&text).expect("SVG parses");
    doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text().map(|t| t.trim().to_owned())).collect()
}

#[test]
fn charts_give_money_in_dollars_say_where_the_axis_ends_and_name_steps() {
    let out = tmp("units");
    let o = wfsim()
        .args(["report", &scenario("routing-by-size"), "--runs", "4000", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for stem in ["cost", "breakdown"] {
        let t = svg_texts(&out.join(format!("{stem}.svg")));
        assert!(t.iter().any(|x| x.contains('$')), "{stem}: money in dollars");
        assert!(!t.iter().any(|x| x.contains('¢') || x.contains("cents")), "{stem}: no cents");
    }
    let cost = svg_texts(&out.join("cost.svg"));
    assert!(cost.iter().any(|x| x.starts_with("COMPLETED (")), "the scatter's legend names the statuses");
    // routing-by-size has a long tail (a few large files): the histogram ends at p99.9 and
    // says how many runs lie beyond it.
    let duration = svg_texts(&out.join("duration.svg"));
    assert!(
        duration.iter().any(|x| x.contains("axis ends at p99") && x.contains("beyond, max")),
        "the clipped axis is said: {duration:?}"
    );
    for p in ["p50 ", "p95 ", "p99 "] {
        assert!(duration.iter().any(|x| x.starts_with(p)), "{p}marked");
    }
    // The timeline names its work steps.
    let l = wfsim::scenario::load_file(Path::new(&scenario("routing-by-size"))).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = l.model.works.iter().map(|w| w.name.as_str()).filter(|n| !n.is_empty()).collect();
    let timeline = svg_texts(&out.join("timeline.svg"));
    assert!(timeline.iter().any(|x| names.contains(&x.as_str())), "a step name on the timeline: {timeline:?}");
}

/// The load's timeline records a run of the first replication while that replication is
/// simulated again with an observer: the replication is the same bit for bit, and the run
/// recorded ends exactly when its outcome says. Each backlog sample's queues add up to it.
#[test]
fn the_load_timeline_records_the_run_the_load_simulated() {
    use wfsim::analysis::median_run::{record_load, representative_under_load};
    let l = wfsim::scenario::load_file(Path::new(&scenario("pdf-processing"))).unwrap_or_else(|e| panic!("{e}"));
    let m = &l.model;
    let mut t = vec![wfsim::engine::TaskAcc::default(); m.tasks.len()];
    let plain = wfsim::engine::simulate_load(m, 3, 0, &mut t).expect("simulates");
    struct Counting(u64);
    impl wfsim::engine::Observer for Counting {
        fn attempt(&mut self, _a: &wfsim::engine::AttemptRecord) {
            self.0 += 1;
        }
    }
    let mut c = Counting(0);
    let mut t2 = vec![wfsim::engine::TaskAcc::default(); m.tasks.len()];
    let watched = wfsim::engine::simulate_load_observed(m, 3, 0, &mut t2, &mut c).expect("simulates");
    assert!(c.0 > 0, "the observer saw attempts");
    assert_eq!(format!("{plain:?}"), format!("{watched:?}"), "an observer changes no number");
    assert_eq!(t, t2);
    for (i, &(_, total)) in plain.backlog.iter().enumerate() {
        let sum: f64 = plain.queues.iter().map(|q| q.backlog[i]).sum();
        assert_eq!(sum, total, "sample {i}: the queues' backlogs add up to the total");
    }
    assert!(plain.queues.iter().any(|q| q.backlog.iter().any(|&b| b > 0.0)), "some queue has a backlog");

    let mc = wfsim::montecarlo::McResult::from_outcomes(plain.outcomes.clone(), t);
    let i = representative_under_load(&mc, plain.outcomes.len());
    let rec = record_load(m, 3, i as u64).expect("records");
    assert_eq!(rec.arrival, plain.arrivals[i], "the run recorded is the one that arrived i-th in the window");
    let entry = &rec.rec.runs[0];
    assert_eq!(entry.trigger, 0.0);
    assert_eq!(entry.end, plain.outcomes[i].duration_s, "it ends when its outcome says");
    assert_eq!(rec.rec.runs.len() as u32, plain.outcomes[i].task_runs, "all its task runs, none of the others");
    assert!(rec.rec.grants.iter().all(|g| g.enqueued <= g.granted && g.run < rec.rec.runs.len() as u32));
}
