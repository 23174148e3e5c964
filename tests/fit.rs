//! `wfsim fit`: parameters recovered from exports generated here from known distributions
//! (within their standard errors, fixed seeds), the run tree with batches, retries,
//! out-of-memory upgrades, missing parents and test runs, located errors for bad files, the
//! round trip simulate -> export -> fit -> simulate, the backtest, the report and traces.

mod common;

use common::wfsim;
use std::path::PathBuf;
use wfsim::dist::{Dist, Shape};
use wfsim::fit::export::{self, format_time};
use wfsim::fit::families::{self, Family, Verdict};
use wfsim::rng::{SimRng, stream};

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wfsim-fit-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn draw(shape: Shape, rng: &mut SimRng) -> f64 {
    Dist::plain(shape).sample(rng)
}

fn u01(rng: &mut SimRng) -> f64 {
    draw(Shape::Uniform { lo: 0.0, hi: 1.0 }, rng)
}

/// Each family fitted to 4,000 of its own draws is chosen (lowest AIC, KS test passed) and
/// its maximum-likelihood parameters land within 4 standard errors of the truth.
#[test]
fn families_recover_their_parameters() {
    let n = 4000;
    let nf = n as f64;
    let sample = |shape: Shape, seed: u64| -> Vec<f64> {
        let mut rng = stream(seed);
        (0..n).map(|_| draw(shape.clone(), &mut rng)).collect()
    };
    // lognormal: SE(mu) = sigma / sqrt(n), SE(sigma) = sigma / sqrt(2n).
    let f = families::fit(&sample(Shape::LogNormal { mu: 0.7, sigma: 0.6 }, 1)).unwrap();
    let Family::LogNormal { mu, sigma } = f.family else { panic!("lognormal fitted as {:?}", f.family) };
    assert!((mu - 0.7).abs() < 4.0 * 0.6 / nf.sqrt(), "mu {mu}");
    assert!((sigma - 0.6).abs() < 4.0 * 0.6 / (2.0 * nf).sqrt(), "sigma {sigma}");
    assert_eq!(f.verdict, Verdict::Good);
    // exponential: SE(mean) = mean / sqrt(n).
    let f = families::fit(&sample(Shape::Exponential { mean: 3.0 }, 2)).unwrap();
    let Family::Exponential { mean } = f.family else { panic!("exponential fitted as {:?}", f.family) };
    assert!((mean - 3.0).abs() < 4.0 * 3.0 / nf.sqrt(), "mean {mean}");
    // normal (far from 0): SE(mean) = sd / sqrt(n), SE(sd) = sd / sqrt(2n).
    let f = families::fit(&sample(Shape::Normal { mean: 10.0, sd: 2.0 }, 3)).unwrap();
    let Family::Normal { mean, sd } = f.family else { panic!("normal fitted as {:?}", f.family) };
    assert!((mean - 10.0).abs() < 4.0 * 2.0 / nf.sqrt(), "mean {mean}");
    assert!((sd - 2.0).abs() < 4.0 * 2.0 / (2.0 * nf).sqrt(), "sd {sd}");
    // uniform: the sample's ends fall short of the true ends by range / (n + 1) on average
    // (an exponential-like gap): 6 times that has probability e^-6 of being exceeded.
    let f = families::fit(&sample(Shape::Uniform { lo: 2.0, hi: 5.0 }, 4)).unwrap();
    let Family::Uniform { lo, hi } = f.family else { panic!("uniform fitted as {:?}", f.family) };
    assert!(lo >= 2.0 && lo - 2.0 < 6.0 * 3.0 / nf, "lo {lo}");
    assert!(hi <= 5.0 && 5.0 - hi < 6.0 * 3.0 / nf, "hi {hi}");
    // A mixture no family fits is written as the data (empirical), and its KS distance to
    // the data is the quantile grid's: at most 1/200 plus ties.
    let mut xs = sample(Shape::LogNormal { mu: 0.0, sigma: 0.2 }, 5);
    xs.extend(sample(Shape::LogNormal { mu: 2.0, sigma: 0.2 }, 6));
    let f = families::fit(&xs).unwrap();
    assert_eq!(f.verdict, Verdict::Poor);
    let Family::Empirical(v) = &f.family else { panic!("a bimodal sample fitted as {:?}", f.family) };
    assert_eq!(v.len(), families::EMPIRICAL_POINTS);
    assert!(f.ks <= 1.0 / 200.0 + 1e-9, "ks {}", f.ks);
}

/// A synthetic export: the columns of TRQL's `runs`, rows built by the test.
struct Export {
    rows: Vec<Vec<String>>,
}

const COLS: [&str; 21] = [
    "run_id",
    "task_identifier",
    "status",
    "queue",
    "machine",
    "attempt_count",
    "batch_id",
    "root_run_id",
    "parent_run_id",
    "depth",
    "triggered_at",
    "dequeued_at",
    "executed_at",
    "completed_at",
    "queued_duration",
    "execution_duration",
    "usage_duration",
    "is_warm_start",
    "max_duration",
    "error",
    "is_test",
];

#[derive(Clone)]
struct Row {
    id: String,
    task: &'static str,
    status: &'static str,
    machine: &'static str,
    attempts: u32,
    batch: String,
    root: String,
    parent: String,
    depth: u32,
    triggered: f64,
    latency: f64,
    warm: bool,
    usage: f64,
    /// Wall time from executed to completed.
    exec: f64,
    error: &'static str,
    test: bool,
}

impl Export {
    fn push(&mut self, r: &Row) {
        let ms = |s: f64| format!("{}", (s * 1000.0).round());
        self.rows.push(vec![
            r.id.clone(),
            r.task.into(),
            r.status.into(),
            format!("task/{}", r.task),
            r.machine.into(),
            r.attempts.to_string(),
            r.batch.clone(),
            r.root.clone(),
            r.parent.clone(),
            r.depth.to_string(),
            format_time(r.triggered),
            format_time(r.triggered),
            format_time(r.triggered + r.latency),
            format_time(r.triggered + r.latency + r.exec),
            "0".into(),
            ms(r.exec),
            ms(r.usage),
            u8::from(r.warm).to_string(),
            "300".into(),
            r.error.into(),
            u8::from(r.test).to_string(),
        ]);
    }
    fn csv(&self) -> String {
        let mut s = COLS.join(",") + "\n";
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|c| wfsim::fit::csv::escape(c)).collect();
            s += &(cells.join(",") + "\n");
        }
        s
    }
    fn json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut o = serde_json::Map::new();
                for (c, v) in COLS.iter().zip(r) {
                    let val = match v.parse::<f64>() {
                        _ if v.is_empty() => serde_json::Value::Null,
                        Ok(x) if !c.ends_with("_id") => serde_json::json!(x),
                        _ => serde_json::json!(v),
                    };
                    o.insert((*c).into(), val);
                }
                serde_json::Value::Object(o)
            })
            .collect();
        serde_json::to_string_pretty(&rows).unwrap()
    }
}

/// The known design the export is drawn from.
const ROOTS: usize = 1500;
const ROOT_MU: f64 = 1.0; // ingest compute: lognormal(1.0, 0.5), seconds
const ROOT_SIGMA: f64 = 0.5;
const ITEM_MEAN: f64 = 2.0; // item compute per attempt: exponential, mean 2 s
const ITEM_FAIL: f64 = 0.15; // per attempt, retried up to 3 attempts
const ITEM_OOM: f64 = 0.05; // first attempts that run out of memory on small-1x -> medium-1x
const ORPHANS: usize = 25;
const TESTS: usize = 40;

/// Root runs of `ingest` (Poisson arrivals, 12 per minute) each batch-trigger 1 to 4 `item`
/// runs (equally likely) and wait for them; items fail, retry and run out of memory as above.
fn known_export() -> Export {
    let mut ex = Export { rows: Vec::new() };
    let mut rng = stream(42);
    let mut t = 1_790_000_000.0;
    let mut id = 0;
    let mut next = |p: &str| {
        id += 1;
        format!("{p}_{id}")
    };
    for i in 0..ROOTS + TESTS {
        t += draw(Shape::Exponential { mean: 5.0 }, &mut rng);
        let root = next("run");
        let pre = draw(Shape::LogNormal { mu: ROOT_MU, sigma: ROOT_SIGMA }, &mut rng);
        let k = draw(Shape::UniformInt { lo: 1, hi: 4 }, &mut rng) as usize;
        let batch = next("batch");
        let mut kids = Vec::new();
        let mut last = t + 0.2 + pre;
        for _ in 0..k {
            let trig = t + 0.2 + pre;
            let (mut attempts, mut usage, mut machine, mut status, mut wall) = (0, 0.0, "small-1x", "Completed", 0.0);
            loop {
                attempts += 1;
                if attempts == 1 && u01(&mut rng) < ITEM_OOM {
                    // Killed at the step's start; retried once on the bigger preset.
                    machine = "medium-1x";
                    wall += 2.0;
                    continue;
                }
                let d = draw(Shape::Exponential { mean: ITEM_MEAN }, &mut rng);
                usage += d;
                wall += d;
                if u01(&mut rng) < ITEM_FAIL {
                    if attempts < 3 {
                        wall += 1.5;
                        continue;
                    }
                    status = "Failed";
                }
                break;
            }
            let r = Row {
                id: next("run"),
                task: "item",
                status,
                machine,
                attempts,
                batch: batch.clone(),
                root: root.clone(),
                parent: root.clone(),
                depth: 1,
                triggered: trig,
                latency: 0.2,
                warm: true,
                usage,
                exec: wall,
                error: if status == "Failed" { "{\"message\":\"boom\"}" } else { "" },
                test: i >= ROOTS,
            };
            last = last.max(trig + 0.2 + wall);
            kids.push(r);
        }
        let exec = last + 0.3 - (t + 0.2);
        ex.push(&Row {
            id: root.clone(),
            task: "ingest",
            status: "Completed",
            machine: "small-2x",
            attempts: 1,
            batch: String::new(),
            root: String::new(),
            parent: String::new(),
            depth: 0,
            triggered: t,
            latency: 0.2,
            warm: true,
            usage: pre,
            exec,
            error: "",
            test: i >= ROOTS,
        });
        for r in &kids {
            ex.push(r);
        }
    }
    // Children whose parent fell outside the export's window.
    for _ in 0..ORPHANS {
        let r = Row {
            id: next("run"),
            task: "item",
            status: "Completed",
            machine: "small-1x",
            attempts: 1,
            batch: String::new(),
            root: "run_elsewhere".into(),
            parent: "run_elsewhere".into(),
            depth: 1,
            triggered: 1_789_999_000.0,
            latency: 0.2,
            warm: true,
            usage: 1.0,
            exec: 1.0,
            error: "",
            test: false,
        };
        ex.push(&r);
    }
    ex
}

fn fit_files(files: &[PathBuf]) -> wfsim::fit::Fit {
    let ex = export::read_files(files, false).unwrap();
    wfsim::fit::fit(&ex, &wfsim::fit::Options::default()).unwrap()
}

#[test]
fn an_export_of_a_known_design_is_recovered() {
    let dir = temp_dir("known");
    let ex = known_export();
    let csv = dir.join("runs.csv");
    std::fs::write(&csv, ex.csv()).unwrap();
    let f = fit_files(std::slice::from_ref(&csv));
    assert_eq!(f.entry, "ingest");
    assert_eq!(f.root_runs, ROOTS);
    assert_eq!(f.orphans, ORPHANS);
    // Test runs (the test workflows' roots and children) are left out.
    assert_eq!(f.export.tests_left_out, ex.rows.iter().filter(|r| r[20] == "1").count());
    assert!(f.export.tests_left_out > TESTS);
    let names: Vec<&str> = f.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ingest", "item"]);
    let (ingest, item) = (&f.tasks[0], &f.tasks[1]);
    assert_eq!(ingest.machine.as_ref().unwrap().0, "small-2x");
    assert_eq!(item.machine.as_ref().unwrap().0, "small-1x");
    assert_eq!(item.oom_machine.as_ref().unwrap().0, "medium-1x");
    assert_eq!(item.max_attempts.unwrap().0, 3);
    // Root compute: lognormal(1.0, 0.5) from 1,500 runs.
    let c = ingest.compute.as_ref().unwrap();
    let Family::LogNormal { mu, sigma } = c.family else { panic!("{:?}", c.family) };
    let n = ROOTS as f64;
    assert!((mu - ROOT_MU).abs() < 4.0 * ROOT_SIGMA / n.sqrt() + 0.001, "mu {mu}");
    assert!((sigma - ROOT_SIGMA).abs() < 4.0 * ROOT_SIGMA / (2.0 * n).sqrt() + 0.001, "sigma {sigma}");
    // Item compute per attempt: exponential, mean 2 s, from the clean runs (usage to the ms).
    let c = item.compute.as_ref().unwrap();
    let Family::Exponential { mean } = c.family else { panic!("{:?}", c.family) };
    assert!((mean - ITEM_MEAN).abs() < 4.0 * ITEM_MEAN / (c.n as f64).sqrt(), "mean {mean} from {}", c.n);
    // Per-attempt failure: the out-of-memory attempts are not trials of it.
    let (p, se, _) = item.failure.unwrap();
    assert!((p - ITEM_FAIL).abs() < 4.0 * se, "p {p} ± {se}");
    let q = item.oom_runs as f64 / item.runs as f64;
    assert!((q - ITEM_OOM).abs() < 4.0 * (ITEM_OOM * (1.0 - ITEM_OOM) / item.runs as f64).sqrt(), "oom share {q}");
    // The tree: one batch edge, waited, 1 to 4 children (mean 2.5, sd sqrt(1.25)).
    assert_eq!(ingest.edges.len(), 1);
    let e = &ingest.edges[0];
    assert!(e.batch && e.waited(), "{e:?}");
    let mean_k = e.counts.iter().map(|&c| f64::from(c)).sum::<f64>() / e.counts.len() as f64;
    assert!((mean_k - 2.5).abs() < 4.0 * 1.25f64.sqrt() / n.sqrt(), "children per run {mean_k}");
    assert!(e.counts.iter().all(|&c| (1..=4).contains(&c)));
    // Arrivals: 12 per minute, Poisson (SE of the rate: rate / sqrt(n)).
    let a = f.arrivals.as_ref().unwrap();
    assert!((a.per_minute - 12.0).abs() < 4.0 * 12.0 / n.sqrt(), "rate {}", a.per_minute);
    assert!(a.poisson && a.schedule.is_empty());
    // The scenario loads, runs, and says where each number came from.
    let yaml = wfsim::fit::write::scenario(&f, None);
    let l = wfsim::scenario::load_str(&yaml, "fitted.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert!(yaml.contains("batchTriggerAndWait: { task: item"), "{yaml}");
    assert!(yaml.contains("outOfMemory: { machine: medium-1x }"), "{yaml}");
    for line in yaml.lines().filter(|l| l.contains("duration:") || l.contains("failure:")) {
        assert!(line.contains("# "), "a fitted number without its comment: {line}");
    }
    let mc =
        wfsim::montecarlo::run(&l.model, wfsim::montecarlo::Config { runs: 2000, seed: 1, threads: Some(1) }).unwrap();
    assert_eq!(mc.stats.n, 2000);
    // The JSON export of the same rows gives the same fit.
    let json = dir.join("runs.json");
    std::fs::write(&json, ex.json()).unwrap();
    let g = fit_files(&[json]);
    assert_eq!(wfsim::fit::write::scenario(&g, None).replace("runs.json", "runs.csv"), yaml);
    // Two overlapping pages (as an export paged by time window with some slack) give the
    // same fit: the runs seen twice are kept once.
    let (a, b) = (dir.join("page-1.csv"), dir.join("page-2.csv"));
    let half = ex.rows.len() / 2;
    std::fs::write(&a, Export { rows: ex.rows[..half + 100].to_vec() }.csv()).unwrap();
    std::fs::write(&b, Export { rows: ex.rows[half..].to_vec() }.csv()).unwrap();
    let p = fit_files(&[a, b]);
    assert_eq!(p.export.duplicates, 100);
    let body = |y: &str| y.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&wfsim::fit::write::scenario(&p, None)), body(&yaml));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `wfsim fit FILE` on `text` written to `name`: (exit code, stderr, the file's path).
fn fit_cli(test: &str, name: &str, text: &str) -> (Option<i32>, String, String) {
    let p = temp_dir(test).join(name);
    std::fs::write(&p, text).unwrap();
    let out = wfsim().arg("fit").arg(&p).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code(), stderr, p.display().to_string())
}

const HEADER: &str = "run_id,task_identifier,status,usage_duration,parent_run_id\n";

#[test]
fn bad_exports_get_located_errors() {
    // A missing column: at the header, with the query that exports it.
    let (code, err, f) = fit_cli("missing", "runs.csv", "run_id,task_identifier,status\nr1,a,Completed\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--> {f}:1:1")), "{err}");
    assert!(err.contains("no `usage_duration` column") && err.contains("key: column usage_duration"), "{err}");
    assert!(err.contains("SELECT run_id, task_identifier"), "{err}");
    // An unparsable number: its line and column, what was expected.
    let text = format!("{HEADER}r1,a,Completed,1200,\nr2,a,Completed,12x0,\n");
    let (code, err, f) = fit_cli("number", "runs.csv", &text);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--> {f}:3:16")), "{err}");
    assert!(err.contains("usage_duration: `12x0` is not a number") && err.contains("milliseconds"), "{err}");
    // An unknown status, in a JSON export: the line and column of the value.
    let json = "[\n  {\"run_id\": \"r1\", \"task_identifier\": \"a\", \"status\": \"Completed\", \"usage_duration\": 5},\n  {\"run_id\": \"r2\", \"task_identifier\": \"a\",\n   \"status\": \"Finished\", \"usage_duration\": 5}\n]\n";
    let (code, err, f) = fit_cli("status", "runs.json", json);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("--> {f}:4:14")) && err.contains("not a run status"), "{err}");
    // An empty file, a ragged row, broken JSON.
    let (code, err, _) = fit_cli("empty", "runs.csv", "");
    assert!(code == Some(2) && err.contains("the file is empty"), "{err}");
    let (code, err, f) = fit_cli("ragged", "runs.csv", &format!("{HEADER}r1,a,Completed\n"));
    assert!(code == Some(2) && err.contains(&format!("--> {f}:2:")) && err.contains("3 fields"), "{err}");
    let (code, err, f) = fit_cli("json", "runs.json", "[{\"run_id\": }]");
    assert!(code == Some(2) && err.contains(&format!("--> {f}:1:")) && err.contains("not valid JSON"), "{err}");
    // Only test runs: nothing to fit, and how to keep them.
    let (code, err, _) =
        fit_cli("tests", "runs.csv", "run_id,task_identifier,status,usage_duration,is_test\nr1,a,Completed,10,1\n");
    assert!(code == Some(2) && err.contains("--include-tests"), "{err}");
}

#[test]
fn the_command_writes_a_scenario_that_validates_and_runs() {
    let dir = temp_dir("cli");
    let ex = known_export();
    let csv = dir.join("runs.csv");
    std::fs::write(&csv, ex.csv()).unwrap();
    let out = dir.join("fitted.yaml");
    let o = wfsim().arg("fit").arg(&csv).arg("-o").arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("25 with a parent missing from the export"), "{err}");
    let v = wfsim().arg("validate").arg(&out).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stderr));
    let r = wfsim().args(["run", "--isolated", "--runs", "500"]).arg(&out).output().unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    // The backtest of the fitted scenario under its own load (two replications), as JSON.
    let b = wfsim()
        .args(["fit", "--check"])
        .arg(&out)
        .arg(&csv)
        .args(["--load", "--replications", "2", "--format", "json"])
        .output()
        .unwrap();
    assert!(matches!(b.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&b.stderr));
    let j: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert!(j["notes"][0].as_str().unwrap().contains("load: block simulated (2 replication(s)"), "{j}");
    assert!(j["lines"].as_array().unwrap().len() >= 6, "{j}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The standard error of the p-quantile of `sorted` (n values): half the distance between
/// the order statistics one binomial standard deviation of the rank either side.
fn quantile_se(sorted: &[f64], p: f64) -> f64 {
    let s = (p * (1.0 - p) / sorted.len() as f64).sqrt();
    let q = |x: f64| wfsim::stats::quantile_sorted(sorted, x.clamp(0.0, 1.0)).unwrap();
    (q(p + s) - q(p - s)) / 2.0
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Simulates a shipped scenario, exports `exported` of its runs in the query's columns, fits
/// the export and simulates the fit: the end-to-end p50 and p95 and the mean cost must agree
/// within 4 standard errors (those of both simulations and of the export the fit came from),
/// and the presets must be the original's. Returns the fit.
fn round_trip(scenario: &str, exported: u64, plan: &str) -> wfsim::fit::Fit {
    let dir = temp_dir(&format!("round-trip-{scenario}"));
    let orig = wfsim::scenario::load_file(std::path::Path::new(&format!("scenarios/{scenario}.yaml"))).unwrap().model;
    let spacing = wfsim::fit::simulated::Spacing { start: 1_790_000_000.0, per_minute: 10.0, poisson: true };
    let csv = wfsim::fit::simulated::export_csv(&orig, exported, 7, spacing).unwrap();
    let path = dir.join("runs.csv");
    std::fs::write(&path, &csv).unwrap();
    let f = fit_files(std::slice::from_ref(&path));
    let yaml = wfsim::fit::write::scenario(&f, Some(plan));
    let fitted = wfsim::scenario::load_str(&yaml, "fitted.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}")).model;
    for t in &orig.tasks {
        let ft = fitted.tasks.iter().find(|x| x.name == t.name).unwrap_or_else(|| panic!("{} not fitted", t.name));
        assert_eq!(ft.machine, t.machine, "{}", t.name);
    }
    let runs = 20_000;
    let sim = |m: &wfsim::model::Model, seed| {
        let mc = wfsim::montecarlo::run(m, wfsim::montecarlo::Config { runs, seed, threads: None }).unwrap();
        let mut d: Vec<f64> = mc.outcomes.iter().map(|o| o.duration_s).collect();
        d.sort_by(f64::total_cmp);
        let c: Vec<f64> = mc.outcomes.iter().map(|o| o.cost_usd).collect();
        (d, c)
    };
    let (d0, c0) = sim(&orig, 1);
    let (d1, c1) = sim(&fitted, 2);
    // The export's own root runs: the fit can be no closer to the truth than they are.
    let ex = export::read_files(&[path], false).unwrap();
    let mut dx: Vec<f64> =
        ex.runs.iter().filter(|r| r.is_root()).map(|r| r.completed_at.unwrap() - r.triggered_at.unwrap()).collect();
    dx.sort_by(f64::total_cmp);
    for p in [0.5, 0.95] {
        let q = |v: &[f64]| wfsim::stats::quantile_sorted(v, p).unwrap();
        let se = (quantile_se(&d0, p).powi(2) + quantile_se(&d1, p).powi(2) + quantile_se(&dx, p).powi(2)).sqrt();
        let (a, b) = (q(&d0), q(&d1));
        eprintln!("{scenario} p{}: original {a:.2}s, fitted {b:.2}s, export {:.2}s, se {se:.2}s", p * 100.0, q(&dx));
        assert!(
            (a - b).abs() < 4.0 * se,
            "{scenario} p{} duration: original {a}, fitted {b}, se {se}\n{yaml}",
            p * 100.0
        );
    }
    // Cost per workflow run in the export: the sum over its tree.
    let mut per_root: std::collections::HashMap<&str, f64> = std::collections::HashMap::new();
    for r in &ex.runs {
        let root = r.root_id.as_deref().unwrap_or(&r.id);
        *per_root.entry(root).or_default() += r.total_cost.unwrap();
    }
    let cx: Vec<f64> = per_root.values().copied().collect();
    let ((m0, s0), (m1, s1), (mx, sx)) = (mean_se(&c0), mean_se(&c1), mean_se(&cx));
    let se = (s0 * s0 + s1 * s1 + sx * sx).sqrt();
    eprintln!("{scenario} cost: original {m0:.6}, fitted {m1:.6}, export {mx:.6}, se {se:.6}");
    assert!((m0 - m1).abs() < 4.0 * se, "{scenario} mean cost: original {m0}, fitted {m1}, se {se}\n{yaml}");
    let _ = std::fs::remove_dir_all(&dir);
    f
}

#[test]
fn round_trip_of_a_fan_out_with_a_fire_and_forget_child() {
    let f = round_trip("transcription-parallel", 3000, "free");
    let edges = |name: &str| -> Vec<(String, bool)> {
        f.tasks.iter().find(|t| t.name == name).unwrap().edges.iter().map(|e| (e.child.clone(), e.waited())).collect()
    };
    let s = |x: &str| x.to_owned();
    assert_eq!(
        edges("extract-audio"),
        [(s("chunk-audio"), true), (s("transcribe-audio"), true), (s("save-transcript"), true)]
    );
    assert_eq!(edges("save-transcript"), [(s("generate-summary"), false)]);
    // Three warm resumes are no idle time.
    assert!(f.tasks.iter().all(|t| t.idle.is_none()));
}

#[test]
fn round_trip_of_a_polling_loop() {
    let f = round_trip("polling-external-api", 3000, "free");
    // The poll's 30 s waits are idle time, written as a wait step.
    let idle = f.tasks[0].idle.as_ref().expect("the polling waits as a wait step");
    assert!(idle.family.quantile(0.5) >= 30.0, "{:?}", idle.family);
}

/// The backtest passes the scenario an export was simulated from and fails another design
/// (exit code 1), and reports the observed price per second against the scenario's.
#[test]
fn backtest_passes_the_source_and_fails_another_design() {
    let dir = temp_dir("backtest");
    let orig = wfsim::scenario::load_file(std::path::Path::new("scenarios/transcription-parallel.yaml")).unwrap().model;
    let spacing = wfsim::fit::simulated::Spacing { start: 1_790_000_000.0, per_minute: 10.0, poisson: true };
    let csv = wfsim::fit::simulated::export_csv(&orig, 2000, 11, spacing).unwrap();
    let path = dir.join("runs.csv");
    std::fs::write(&path, &csv).unwrap();
    let ex = export::read_files(std::slice::from_ref(&path), false).unwrap();
    let cfg = wfsim::montecarlo::Config { runs: 10_000, seed: 1, threads: None };
    let b = wfsim::fit::check::backtest(&orig, &ex, cfg, 0.0, None).unwrap();
    for l in &b.lines {
        assert!(l.pass, "{l:?}");
    }
    assert!(b.lines.len() >= 10, "{:?}", b.lines);
    for d in &b.price_drift {
        assert!(d.drift.abs() < 1e-3, "{d:?}");
    }
    // The same export against the sequential design: the chunks one by one take far longer.
    let o = wfsim()
        .args(["fit", "--check", "scenarios/transcription-sequential.yaml", "--runs", "2000"])
        .arg(&path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("p50 duration") && out.contains("FAIL"), "{out}");
    // Prices 20% above the preset table show as drift, not hidden.
    let dear: String = {
        let mut lines = csv.lines();
        let header = lines.next().unwrap();
        let cols: Vec<&str> = header.split(',').collect();
        let ci = cols.iter().position(|c| *c == "compute_cost").unwrap();
        let mut s = format!("{header}\n");
        for l in lines {
            let mut f: Vec<String> = l.split(',').map(str::to_owned).collect();
            f[ci] = format!("{}", f[ci].parse::<f64>().unwrap() * 1.2);
            s += &(f.join(",") + "\n");
        }
        s
    };
    let dear_path = dir.join("dear.csv");
    std::fs::write(&dear_path, dear).unwrap();
    let ex = export::read_files(&[dear_path], false).unwrap();
    let b = wfsim::fit::check::backtest(&orig, &ex, cfg, 0.1, None).unwrap();
    assert!(!b.price_drift.is_empty());
    for d in &b.price_drift {
        assert!((d.drift - 0.2).abs() < 1e-3, "{d:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_fit_report_sets_observed_beside_fitted() {
    let dir = temp_dir("report");
    let csv = dir.join("runs.csv");
    std::fs::write(&csv, known_export().csv()).unwrap();
    let rep = dir.join("report");
    let o =
        wfsim().arg("fit").arg(&csv).arg("-o").arg(dir.join("fitted.yaml")).arg("--out").arg(&rep).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["index.html", "report.md", "fit.json", "scenario.yaml", "fit-cdfs.svg", "fit-cdfs.png"] {
        assert!(rep.join(f).is_file(), "{f} missing");
    }
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(rep.join("fit.json")).unwrap()).unwrap();
    let q = j["quantities"].as_array().unwrap();
    let ingest = q.iter().find(|x| x["what"] == "ingest: compute per attempt").unwrap();
    assert_eq!(ingest["family"], "lognormal");
    assert_eq!(ingest["verdict"], "good");
    // Observed and fitted medians: the lognormal's median e^1 against the sample's.
    let p50 = ingest["quantiles"].as_array().unwrap().iter().find(|r| r[0] == 0.5).unwrap();
    let (obs, fit) = (p50[1].as_f64().unwrap(), p50[2].as_f64().unwrap());
    // The sample median's relative standard error: sqrt(pi / 2) sigma / sqrt(n).
    let se = (std::f64::consts::PI / 2.0).sqrt() * ROOT_SIGMA / (ROOTS as f64).sqrt();
    assert!((obs / fit - 1.0).abs() < 4.0 * se, "observed {obs}, fitted {fit}");
    assert_eq!(
        std::fs::read_to_string(rep.join("scenario.yaml")).unwrap(),
        std::fs::read_to_string(dir.join("fitted.yaml")).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Traces with two `logger.trace` spans per attempt (download: lognormal, parse:
/// exponential) become two steps with their parameters recovered, in order, and the rest of
/// the attempt a third; failed attempts, log lines, triggers and child runs' spans are not steps.
#[test]
fn traced_spans_become_steps() {
    let dir = temp_dir("traces");
    let tdir = dir.join("traces");
    std::fs::create_dir_all(&tdir).unwrap();
    let ex = known_export();
    let csv = dir.join("runs.csv");
    std::fs::write(&csv, ex.csv()).unwrap();
    let mut rng = stream(9);
    let n = 400;
    let ms = |s: f64| (s * 1000.0 * 1000.0).round() / 1000.0;
    for (i, r) in ex.rows.iter().filter(|r| r[1] == "ingest" && r[20] == "0").take(n).enumerate() {
        let t0 = export::parse_time(&r[12]).unwrap();
        let d1 = draw(Shape::LogNormal { mu: 0.5, sigma: 0.4 }, &mut rng);
        let d2 = draw(Shape::Exponential { mean: 0.3 }, &mut rng);
        let span = |m: &str, st: f64, d: f64, kids: serde_json::Value| {
            serde_json::json!({ "id": format!("s{i}{m}"), "runId": r[0], "message": m,
                "data": { "startTime": format_time(st), "duration": ms(d), "isError": false, "events": [] },
                "children": kids })
        };
        let mut attempts = Vec::new();
        let mut a0 = t0;
        if i % 10 == 0 {
            // A failed attempt first: not a sample of the steps.
            let mut f =
                span("Attempt 1", a0, 9.0, serde_json::json!([span("download", a0, 9.0, serde_json::json!([]))]));
            f["data"]["isError"] = serde_json::json!(true);
            attempts.push(f);
            a0 += 10.0;
        }
        let child = serde_json::json!({ "id": "c", "runId": "someone-else", "message": "item",
            "data": { "startTime": format_time(a0 + 1.0), "duration": 5000.0 }, "children": [
                { "id": "cc", "runId": "someone-else", "message": "download",
                  "data": { "startTime": format_time(a0 + 1.0), "duration": 4000.0 }, "children": [] } ] });
        let kids = serde_json::json!([
            span(
                "download",
                a0 + 0.01,
                d1,
                serde_json::json!([span("GET", a0 + 0.02, d1 / 2.0, serde_json::json!([]))])
            ),
            span("log line", a0 + 0.02, 0.0, serde_json::json!([])),
            span("parse", a0 + 0.01 + d1, d2, serde_json::json!([])),
            span("batchTriggerAndWait()", a0 + 0.02 + d1 + d2, 6.0, serde_json::json!([child])),
        ]);
        attempts.push(span(&format!("Attempt {}", attempts.len() + 1), a0, d1 + d2 + 0.05, kids));
        let root = span("ingest", t0, 20.0, serde_json::json!(attempts));
        let mut root = root;
        root["data"]["taskSlug"] = serde_json::json!("ingest");
        let doc = serde_json::json!({ "trace": { "traceId": "t", "rootSpan": root } });
        std::fs::write(tdir.join(format!("{}.json", r[0])), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    let traces = wfsim::fit::traces::read_dir(&tdir).unwrap();
    let ex2 = export::read_files(std::slice::from_ref(&csv), false).unwrap();
    let f = wfsim::fit::fit(&ex2, &wfsim::fit::Options { traces: Some(traces), ..Default::default() }).unwrap();
    let steps = &f.tasks[0].steps;
    let names: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["download", "parse", "untraced"]);
    let nf = n as f64;
    let Family::LogNormal { mu, sigma } = steps[0].1.family else { panic!("{:?}", steps[0].1.family) };
    assert!(
        (mu - 0.5).abs() < 4.0 * 0.4 / nf.sqrt() && (sigma - 0.4).abs() < 4.0 * 0.4 / (2.0 * nf).sqrt(),
        "{mu} {sigma}"
    );
    let Family::Exponential { mean } = steps[1].1.family else { panic!("{:?}", steps[1].1.family) };
    assert!((mean - 0.3).abs() < 4.0 * 0.3 / nf.sqrt(), "{mean}");
    // The rest of each attempt: 50 ms give or take the millisecond rounding.
    assert!((steps[2].1.family.quantile(0.5) - 0.05).abs() < 0.002, "{:?}", steps[2].1.family);
    // Through the binary: the steps are in the scenario, which validates.
    let out = dir.join("fitted.yaml");
    let o = wfsim().arg("fit").arg(&csv).arg("--traces").arg(&tdir).arg("-o").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let yaml = std::fs::read_to_string(&out).unwrap();
    assert!(
        yaml.contains("name: download") && yaml.contains("name: parse") && yaml.contains("name: untraced"),
        "{yaml}"
    );
    let v = wfsim().arg("validate").arg(&out).output().unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stderr));
    // A trace that is not one: located, exit 2.
    std::fs::write(tdir.join("zz-bad.json"), "{\"hello\": 1}").unwrap();
    let o = wfsim().arg("fit").arg(&csv).arg("--traces").arg(&tdir).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(2) && err.contains("zz-bad.json:1:1") && err.contains("not a run trace"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// A small export written by hand in the dashboard's CSV layout (upper-case statuses, `true` /
// `false` flags, a root's own id as its root_run_id).

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fit/video-runs.csv")
}

#[test]
fn an_export_becomes_a_scenario_that_validates_and_runs() {
    let dir = temp_dir("fixture-ok");
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
    let dir = temp_dir("fixture-bad");
    let bad = dir.join("runs.csv");
    let text = std::fs::read_to_string(fixture()).unwrap().replacen("12000", "twelve", 1);
    std::fs::write(&bad, text).unwrap();
    let st = wfsim().arg("fit").arg(&bad).arg("-o").arg(dir.join("x.yaml")).output().unwrap();
    assert_eq!(st.status.code(), Some(2), "{}", String::from_utf8_lossy(&st.stderr));
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(err.contains("runs.csv:2"), "{err}");
    assert!(!dir.join("x.yaml").exists());
}

/// fan-out-batch: children triggered with idempotency keys, and parent retries caused by a
/// child that failed. The batch is keyed, its count is per key (a failed child's rerun is not
/// another item), the parent's own failure rate is its steps' (0.005 + 0.002 per attempt),
/// not the share of attempts its children's failures ended, and both tasks' retry delays are
/// recovered.
#[test]
fn keyed_batches_and_failures_caused_by_children() {
    let dir = temp_dir("keyed");
    let orig = wfsim::scenario::load_file(std::path::Path::new("scenarios/fan-out-batch.yaml")).unwrap().model;
    let spacing = wfsim::fit::simulated::Spacing { start: 1_790_000_000.0, per_minute: 10.0, poisson: true };
    let path = dir.join("runs.csv");
    std::fs::write(&path, wfsim::fit::simulated::export_csv(&orig, 300, 7, spacing).unwrap()).unwrap();
    let ex = export::read_files(std::slice::from_ref(&path), false).unwrap();
    // Some parents did retry because a child failed (else this test shows nothing).
    let retried = ex.runs.iter().filter(|r| r.task == "fan-out" && r.attempts > 1).count();
    assert!(retried >= 20, "{retried} retried parents");
    let f = wfsim::fit::fit(&ex, &wfsim::fit::Options::default()).unwrap();
    let e = &f.tasks[0].edges[0];
    assert!(e.keyed && e.batch && e.waited(), "{e:?}");
    // Items per run: the input's lognormal (median 150) capped at 1,000, one per key.
    let keys = ex.runs.iter().filter(|r| r.task == "process-item").filter_map(|r| r.idempotency_key.as_ref());
    let distinct: std::collections::HashSet<&String> = keys.collect();
    assert_eq!(e.counts.iter().map(|&c| c as usize).sum::<usize>(), distinct.len());
    let truth: f64 = 1.0 - (1.0 - 0.005) * (1.0 - 0.002);
    let p = f.tasks[0].failure.map_or(0.0, |x| x.0);
    let se = (truth * (1.0 - truth) / 300.0).sqrt();
    assert!((p - truth).abs() < 4.0 * se, "own failure per attempt {p}, truth {truth}, se {se}");
    // Retry delays from the gaps between attempts: fan-out's minTimeoutInMs 5000, and
    // process-item's 1000 with factor 2 (its third delay, 4 s, is under its 10 s cap).
    let d = f.tasks[0].delays.as_ref().expect("fan-out's delays");
    assert!((d.min_ms - 5000.0).abs() < 4.0 * d.min_se_ms, "{d:?}");
    let d = f.tasks[1].delays.as_ref().expect("process-item's delays");
    assert!((d.min_ms - 1000.0).abs() < 4.0 * d.min_se_ms, "{d:?}");
    assert!((d.factor.unwrap() - 2.0).abs() < 4.0 * d.factor_se, "{d:?}");
    let yaml = wfsim::fit::write::scenario(&f, Some("pro"));
    assert!(yaml.contains("idempotencyKey: true"), "{yaml}");
    wfsim::scenario::load_str(&yaml, "fitted.yaml").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let _ = std::fs::remove_dir_all(&dir);
}
