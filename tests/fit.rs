//! `wfsim fit`: parameters recovered from exports generated here from known distributions
//! (within their standard errors, fixed seeds), the run tree with batches, retries,
//! out-of-memory upgrades, missing parents and test runs, located errors for bad files, and
//! the round trip simulate -> export -> fit -> simulate.

use assert_cmd::Command;
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
    std::fs::write(dir.join("fitted.yaml"), &yaml).unwrap();
}
