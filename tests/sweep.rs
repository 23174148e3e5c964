//! `wfsim sweep` and `wfsim sensitivity`: presets a task's memory rules out are reported as
//! failing and never recommended, CPU-bound durations follow the documented scaling model
//! exactly, the Pareto front holds no dominated variant, sensitivity ranks the dominant
//! parameter first, and bad `--set` paths are bad input.

mod common;

use common::wfsim;
use wfsim::montecarlo::Config;
use wfsim::paired;
use wfsim::platform::PRESETS;
use wfsim::sweep::{self, Kind, SetSpec, Sweep, SweepOptions};

fn scenario(name: &str) -> String {
    format!("{}/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"))
}

fn cfg(runs: u64) -> Config {
    Config { runs, seed: 1, threads: None }
}

fn opts(task: Option<&str>) -> SweepOptions {
    SweepOptions {
        task: task.map(str::to_owned),
        machines: Vec::new(),
        sets: Vec::new(),
        balance: sweep::DEFAULT_BALANCE,
        slos: Vec::new(),
        // Runs alone: these tests are about sizing itself; the load's own tests set it false.
        isolated: true,
        replications: sweep::DEFAULT_REPLICATIONS,
        allow_oom_rescue: false,
    }
}

fn sens(delta: f64, metric: paired::Metric) -> sweep::SensitivityOptions {
    sweep::SensitivityOptions { delta, metric, isolated: false, replications: sweep::DEFAULT_REPLICATIONS }
}

fn run(src: &str, o: &SweepOptions, runs: u64) -> Vec<Sweep> {
    sweep::sweep(src, "test.yaml", o, cfg(runs), &|_| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn row<'a>(sw: &'a Sweep, machine: &str) -> &'a sweep::Row {
    sw.rows.iter().find(|r| r.machine == Some(machine)).unwrap_or_else(|| panic!("no row for {machine}"))
}

/// 100 MB besides a 700 MB step: more than micro's 256 MB and small-1x's 512 MB, within
/// small-2x's 1 GB. No outOfMemory retry, so the small presets crash, fast and cheaply.
const MEMORY: &str = "
name: memory
entry: resize
tasks:
  resize:
    baseMemoryMb: 100
    steps:
      - work: { name: decode, duration: { lognormal: { median: 4s, p95: 10s } }, memoryMb: 700 }
";

#[test]
fn presets_the_memory_rules_out_fail_plainly_and_cost_picks_the_smallest_that_fits() {
    let sw = &run(MEMORY, &opts(Some("resize")), 2000)[0];
    assert_eq!(sw.rows.len(), 7, "all seven presets by default");
    for m in ["micro", "small-1x"] {
        let r = row(sw, m);
        assert!(!r.feasible, "{m} must not be feasible");
        assert_eq!(r.oom_rate, 1.0, "{m}: every run of the task runs out of memory");
        assert_eq!(r.statuses.crashed, 2000, "{m}");
        assert!(r.infeasible_because.as_deref().is_some_and(|w| w.contains("no run completes")), "{m}");
        // Failed runs are the cheapest of all: the reason this must not win `cost`.
        assert!(r.cost_usd.mean < row(sw, "small-2x").cost_usd.mean);
    }
    for m in ["small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"] {
        let r = row(sw, m);
        assert!(r.feasible && r.oom_rate == 0.0 && r.success_rate == 1.0, "{m}");
    }
    let pick = |p: &Option<sweep::Pick>| p.as_ref().and_then(|p| p.machine).expect("a pick");
    assert_eq!(pick(&sw.recommended.cost), "small-2x", "the smallest preset that fits");
    // The work is not CPU-bound: every preset that fits is as fast, so the tie goes to the cheapest.
    assert_eq!(pick(&sw.recommended.speed), "small-2x");
    assert_eq!(pick(&sw.recommended.balanced), "small-2x");

    // The table says so in words.
    let dir = std::env::temp_dir().join(format!("wfsim-sweep-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("memory.yaml");
    std::fs::write(&file, MEMORY).unwrap();
    let o = wfsim().args(["sweep", file.to_str().unwrap(), "--task", "resize", "--runs", "500"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let line = |m: &str| text.lines().find(|l| l.starts_with(&format!("{m} "))).unwrap_or_else(|| panic!("{text}"));
    assert!(line("micro").contains("OOM 100%") && line("micro").contains("infeasible"), "{text}");
    assert!(line("small-2x").contains("<- cost"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An I/O step of 5 s and a CPU-bound step of 10 s measured on small-2x (1 vCPU) with
/// parallel fraction 0.6; no start latency, so a run lasts exactly the two steps.
const CPU: &str = "
name: cpu
startLatency: 0s
coldStart: 0s
entry: crunch
tasks:
  crunch:
    steps:
      - work: { name: io, duration: 5s }
      - work: { name: parse, duration: 10s, cpuBound: true, measuredOn: small-2x, parallelFraction: 0.6 }
";

#[test]
fn cpu_bound_durations_follow_the_documented_scaling_model_exactly() {
    let sw = &run(CPU, &opts(Some("crunch")), 50)[0];
    // docs/semantics.md: T(v) = (1 - f) / min(v, 1) + f / v, relative to the preset it was measured on.
    let f = 0.6;
    let t = |v: f64| (1.0 - f) / v.min(1.0) + f / v;
    for p in PRESETS {
        let r = row(sw, p.name);
        let want = 5.0 + 10.0 * t(p.vcpu) / t(1.0);
        for (what, got) in [("p50", r.duration_s.p50), ("p95", r.duration_s.p95), ("mean", r.duration_s.mean)] {
            assert!((got - want).abs() < 1e-9 * want, "{} {what}: {got} vs {want}", p.name);
        }
    }
    // Spot values: micro 5 + 10 * 4 = 45 s; large-2x 5 + 10 * 0.475 = 9.75 s.
    assert!((row(sw, "micro").duration_s.p50 - 45.0).abs() < 1e-9);
    assert!((row(sw, "large-2x").duration_s.p50 - 9.75).abs() < 1e-9);
    // small-2x and medium-1x both have 1 vCPU: as fast, medium-1x dearer, so dominated.
    assert!(!row(sw, "medium-1x").pareto && row(sw, "small-2x").pareto);
    // Cost and speed pull apart here (micro is cheapest, large-2x fastest), so the balanced
    // pick is a third preset, and `check_front` checks it against the formula in docs/guide.md.
    let pick = |p: &Option<sweep::Pick>| p.as_ref().and_then(|p| p.machine).expect("a pick");
    let picks = [pick(&sw.recommended.cost), pick(&sw.recommended.speed), pick(&sw.recommended.balanced)];
    assert_eq!(picks, ["micro", "large-2x", "small-2x"]);
    check_front(sw);
}

/// docs/guide.md: b dominates a when a is worse beyond the noise (the paired 95% interval of
/// their difference) on mean cost or p95 and not better beyond it on the other.
fn dominates(b: &sweep::Row, a: &sweep::Row) -> bool {
    let dc = paired::diff_of(&a.blocks, &b.blocks, &|v| v.cost);
    let dp = paired::diff_of(&a.blocks, &b.blocks, &|v| v.p95);
    (dc.above() && !dp.below()) || (dp.above() && !dc.below())
}

fn eligible(sw: &Sweep, r: &sweep::Row) -> bool {
    r.feasible && (!r.rescued || sw.allow_oom_rescue)
}

fn check_front(sw: &Sweep) {
    let label = |r: &sweep::Row| sweep::variant_name(r);
    for a in &sw.rows {
        if a.pareto {
            assert!(eligible(sw, a), "{}: on the front but infeasible or rescued", label(a));
            for b in sw.rows.iter().filter(|b| eligible(sw, b)) {
                assert!(!dominates(b, a), "{} on the front is dominated by {}", label(a), label(b));
            }
        } else if eligible(sw, a) {
            assert!(
                sw.rows.iter().any(|b| eligible(sw, b) && dominates(b, a)),
                "{} is off the front undominated",
                label(a)
            );
        }
    }
    let front: Vec<usize> = (0..sw.rows.len()).filter(|&i| sw.rows[i].pareto).collect();
    let at = |p: &Option<sweep::Pick>| p.as_ref().map(|p| p.row);
    if front.is_empty() {
        assert!(at(&sw.recommended.cost).is_none());
        return;
    }
    let r = |i: usize| &sw.rows[i];
    let lowest = |f: &dyn Fn(&paired::Values) -> f64| {
        front.iter().copied().min_by(|&a, &b| f(&r(a).blocks.pooled).total_cmp(&f(&r(b).blocks.pooled))).unwrap()
    };
    let min_cost = r(lowest(&|v| v.cost)).blocks.pooled.cost;
    let min_p95 = r(lowest(&|v| v.p95)).blocks.pooled.p95;
    let w = sw.balance;
    let score = move |v: &paired::Values| w * v.cost / min_cost + (1.0 - w) * v.p95 / min_p95;
    // docs/guide.md: each pick is on the front, tied within the noise with the lowest on its
    // measure, and the lowest on the other measure among the rows so tied.
    let check = |pick: usize, first: &dyn Fn(&paired::Values) -> f64, then: &dyn Fn(&paired::Values) -> f64| {
        assert!(r(pick).pareto);
        let low = lowest(first);
        assert!(!paired::diff_of(&r(pick).blocks, &r(low).blocks, first).above(), "{} not tied", label(r(pick)));
        for &i in &front {
            if !paired::diff_of(&r(i).blocks, &r(low).blocks, first).above() {
                assert!(then(&r(pick).blocks.pooled) <= then(&r(i).blocks.pooled), "{} beats the pick", label(r(i)));
            }
        }
    };
    check(at(&sw.recommended.cost).unwrap(), &|v| v.cost, &|v| v.p95);
    check(at(&sw.recommended.speed).unwrap(), &|v| v.p95, &|v| v.cost);
    check(at(&sw.recommended.balanced).unwrap(), &score, &|v| v.cost);
}

#[test]
fn the_pareto_front_contains_no_dominated_variant() {
    // Every task of the contract scenario on every preset: OOM-rescued, crashing, CPU-bound
    // and I/O-bound variants.
    let src = std::fs::read_to_string(scenario("pdf-processing")).unwrap();
    let sweeps = run(&src, &opts(Some("all")), 1000);
    assert_eq!(sweeps.len(), 6);
    for sw in &sweeps {
        assert_eq!(sw.rows.len(), 7);
        check_front(sw);
    }
    // Machines crossed with values, and a balance that favours speed. Without start latencies
    // (warm or cold: which preset finds a warm machine depends on the machine swept), an
    // I/O-bound task takes as long on any preset.
    let src = "startLatency: 0s\ncoldStart: 0s\n".to_string()
        + &std::fs::read_to_string(scenario("transcription-parallel")).unwrap();
    let mut o = opts(Some("transcribe-audio"));
    o.machines = vec!["micro".into(), "small-1x".into(), "small-2x".into()];
    o.sets = vec![SetSpec {
        path: "tasks.transcribe-audio.steps[0].parallel.limit".into(),
        values: vec!["1".into(), "2".into(), "3".into(), "6".into()],
    }];
    o.balance = 0.2;
    let sw = &run(&src, &o, 1000)[0];
    assert_eq!(sw.rows.len(), 12);
    check_front(sw);
    // The same random numbers in every variant: the machine does not change an I/O-bound
    // task's durations, so each limit has the same p95 on every preset.
    for k in 0..4 {
        assert_eq!(sw.rows[k].duration_s.p95, sw.rows[4 + k].duration_s.p95);
        assert_eq!(sw.rows[k].duration_s.p95, sw.rows[8 + k].duration_s.p95);
    }
}

/// One long step dominates; the others are small, and one fails now and then.
const SENSITIVE: &str = "
name: sensitive
entry: job
tasks:
  job:
    retry: { maxAttempts: 3, minTimeoutInMs: 1000, randomize: false }
    steps:
      - work: { name: fetch, duration: { uniform: [1s, 2s] }, failure: 0.05 }
      - work: { name: render, duration: { lognormal: { median: 60s, p95: 120s } } }
      - work: { name: upload, duration: 2s }
";

#[test]
fn sensitivity_ranks_the_dominant_parameter_first() {
    let model = wfsim::scenario::load_str(SENSITIVE, "s.yaml").unwrap().model;
    assert_eq!(sweep::sensitivity_variants(&model, 0.2), 1 + 2 * 6);
    let s = sweep::sensitivity(&model, sens(0.2, paired::Metric::P95), cfg(4000), &|_| {}).unwrap();
    assert_eq!(s.parameters.len(), 6, "three durations, one failure probability, maxAttempts and the preset");
    let top = &s.parameters[0];
    assert_eq!((top.label.as_str(), top.kind), ("job/render", Kind::Duration));
    assert_eq!(top.key, "tasks.job.steps[1].work");
    // Each variant is the scenario with that step's duration scaled, simulated on the same
    // random streams (common random numbers): the same as writing the scaled lognormal into
    // the YAML (median and p95 x 0.8 and x 1.2) and running it with the same seed, up to the
    // rounding of ln(1.2) in its mu.
    let p95_cost = |yaml: &str| {
        let m = wfsim::scenario::load_str(yaml, "s.yaml").unwrap().model;
        let mc = wfsim::montecarlo::run(&m, cfg(4000)).unwrap();
        let mut d: Vec<f64> = mc.outcomes.iter().map(|o| o.duration_s).collect();
        d.sort_unstable_by(f64::total_cmp);
        let h = (d.len() - 1) as f64 * 0.95;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        let p95 = d[lo] + (h - lo as f64) * (d[hi] - d[lo]);
        (p95, mc.outcomes.iter().map(|o| o.cost_usd).sum::<f64>() / mc.outcomes.len() as f64)
    };
    let (bp, bc) = p95_cost(SENSITIVE);
    assert!((s.base.p95_duration_s - bp).abs() <= 1e-12 * bp && (s.base.mean_cost_usd - bc).abs() <= 1e-12 * bc);
    for (f, p95_rel, cost_rel) in [(0.8, top.p95_down, top.cost_down), (1.2, top.p95_up, top.cost_up)] {
        let scaled =
            SENSITIVE.replace("median: 60s, p95: 120s", &format!("median: {}s, p95: {}s", 60.0 * f, 120.0 * f));
        let (p, c) = p95_cost(&scaled);
        assert!((p95_rel - (p / bp - 1.0)).abs() < 1e-9, "x{f}: p95 {p95_rel} vs {}", p / bp - 1.0);
        assert!((cost_rel - (c / bc - 1.0)).abs() < 1e-9, "x{f}: cost {cost_rel} vs {}", c / bc - 1.0);
    }
    for w in s.parameters.windows(2) {
        assert!(w[0].effect() >= w[1].effect(), "sorted by effect");
    }
    assert!(s.parameters.iter().any(|p| p.kind == Kind::Failure && p.label == "job/fetch"));
    assert!(s.base.p95_duration_s > 60.0 && s.base.mean_cost_usd > 0.0);
}

#[test]
fn a_bad_set_path_is_bad_input() {
    let file = scenario("transcription-parallel");
    for (arg, needle) in [
        ("tasks.transcribe.steps[0].parallel.limit=1,2", "there is no key `transcribe`"),
        ("tasks.transcribe-audio.steps[3].parallel.limit=1,2", "no [3]"),
        ("tasks.transcribe-audio.steps[0].parallel.limit", "has no `=`"),
    ] {
        let o = wfsim().args(["sweep", &file, "--set", arg, "--runs", "10"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{arg}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--set") && err.contains(needle), "{arg}: {err}");
    }
    // A misspelt last key is added, then the scenario check rejects it, located.
    let o = wfsim()
        .args(["sweep", &file, "--set", "tasks.transcribe-audio.steps[0].parallel.limt=1,2", "--runs", "10"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("limt") && err.contains("limit"), "{err}");
    // So are an unknown task or preset, and nothing to sweep.
    for args in [
        vec!["--task", "transcribe"],
        vec!["--task", "transcribe-audio", "--machines", "small-3x"],
        vec![],
        vec!["--task", "transcribe-audio", "--balance", "2"],
    ] {
        let o = wfsim().args(["sweep", &file, "--runs", "10"]).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("error"), "{args:?}");
    }
}

#[test]
fn json_and_charts_are_written() {
    let out = std::env::temp_dir().join(format!("wfsim-sweep-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = wfsim()
        .args(["sweep", &scenario("transcription-parallel"), "--set"])
        .arg("tasks.transcribe-audio.steps[0].parallel.limit=1,3,6")
        .args(["--runs", "300", "--format", "json", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["scenario"], "transcription-parallel");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for k in [
        "machine",
        "set",
        "duration_s",
        "cost_usd",
        "success_rate",
        "statuses",
        "oom_rate",
        "timed_out_rate",
        "feasible",
        "pareto",
    ] {
        assert!(rows[0].get(k).is_some(), "row key {k}");
    }
    assert_eq!(rows[2]["set"]["tasks.transcribe-audio.steps[0].parallel.limit"], 6);
    for k in ["p50", "p95", "mean"] {
        assert!(rows[0]["duration_s"][k].is_number());
    }
    assert!(rows[0]["cost_usd"]["per_1000_runs"].is_number());
    for k in ["cost", "speed", "balanced"] {
        assert!(v["recommended"][k]["set"].is_object(), "recommended.{k}");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(written, v, "sweep.json is the printed JSON");
    for stem in ["sweep", "sweep-values"] {
        let svg = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        roxmltree::Document::parse(&svg).expect("the SVG parses");
        assert!(std::fs::read(out.join(format!("{stem}.png"))).unwrap().starts_with(b"\x89PNG"));
    }

    let sens = out.join("sensitivity");
    let o = wfsim()
        .args(["sensitivity", &scenario("transcription-parallel"), "--runs", "300", "--format", "json", "--out"])
        .arg(&sens)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["delta"], 0.2);
    assert!(v["base"]["p95_duration_s"].is_number() && v["base"]["mean_cost_usd"].is_number());
    let p = &v["parameters"][0];
    for k in ["key", "kind", "label", "values", "down", "up", "noise", "p95_down", "p95_up", "cost_down", "cost_up"] {
        assert!(p.get(k).is_some(), "parameter key {k}");
    }
    assert_eq!(v["metric"], "p95");
    assert!(v["environment"].as_str().unwrap().starts_with("environment: free plan"));
    // Six chunks at once: a seventh chunk adds a whole wave of whisper calls on 20% more audio,
    // more than the whisper step's own +20%.
    assert_eq!((p["label"].as_str(), p["kind"].as_str()), (Some("transcribe-audio parallel count"), Some("count")));
    assert!(
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["key"] == "tasks.transcribe-audio.steps[0].parallel.steps[0].work" && p["kind"] == "duration")
    );
    let svg = std::fs::read_to_string(sens.join("tornado.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("the SVG parses");
    assert!(sens.join("tornado.png").exists() && sens.join("sensitivity.json").exists());
    let _ = std::fs::remove_dir_all(&out);
}

/// 50 children of a fixed 10 s, from an input attribute, into a queue of 5 (no start
/// latency): ten waves, 100 s, alone (the run competes with itself for its queue).
const FAN: &str = "
name: fan
startLatency: 0s
coldStart: 0s
environment: { plan: pro }
input:
  n: 50
entry: parent
tasks:
  parent:
    retry: { maxAttempts: 2 }
    steps:
      - batchTriggerAndWait: { task: child, count: n }
  child:
    queue: { name: api, concurrencyLimit: 5 }
    steps:
      - work: { name: call, duration: 10s }
";

#[test]
fn sensitivity_moves_inputs_queue_limits_attempts_and_presets_with_closed_forms() {
    let model = wfsim::scenario::load_str(FAN, "fan.yaml").unwrap().model;
    let s = sweep::sensitivity(&model, sens(0.2, paired::Metric::P95), cfg(200), &|_| {}).unwrap();
    assert_eq!(s.base.value, 100.0, "ten waves of five");
    let p = |kind: Kind| s.parameters.iter().find(|p| p.kind == kind).unwrap_or_else(|| panic!("no {kind:?}"));
    // Input n x0.8 = 40 children: 8 waves (80 s); x1.2 = 60: 12 waves (120 s).
    let n = p(Kind::Input);
    assert_eq!((n.label.as_str(), n.down.value, n.up.value), ("input n", -0.2, 0.2));
    // The queue's limit 5 -> 4 and 6: ceil(50 / 4) = 13 waves (130 s), ceil(50 / 6) = 9 (90 s).
    let q = p(Kind::QueueLimit);
    assert_eq!(q.values, ["5", "4", "6"].map(String::from));
    assert!((q.down.value - 0.3).abs() < 1e-12 && (q.up.value + 0.1).abs() < 1e-12, "{q:?}");
    // Every run takes exactly as long: no spread, an interval of 0, and effects that are not noise.
    assert_eq!((q.down.ci95, q.noise), (0.0, false));
    // The largest effect first: the queue limit (30%).
    assert_eq!(s.parameters[0].kind, Kind::QueueLimit);
    // Nothing fails: maxAttempts 2 -> 1 or 3 changes nothing, exactly: inside the noise.
    let a = p(Kind::MaxAttempts);
    assert_eq!((a.down.value, a.up.value, a.noise), (0.0, 0.0, true));
    // An I/O-bound step takes as long on any preset.
    assert!(s.parameters.iter().filter(|p| p.kind == Kind::Machine).all(|p| p.noise));
    // Ranked by cost instead: the work's 10 s billed per child, so the input's scale moves cost
    // by about 20% (the parent's share and the invocations aside) and the queue limit not at all.
    let c = sweep::sensitivity(&model, sens(0.2, paired::Metric::Cost), cfg(200), &|_| {}).unwrap();
    let ci = c.parameters.iter().find(|p| p.kind == Kind::Input).unwrap();
    assert!(ci.down.value < -0.15 && ci.up.value > 0.15, "{ci:?}");
    assert_eq!(c.parameters.iter().find(|p| p.kind == Kind::QueueLimit).unwrap().up.value, 0.0);
}

/// The pdf-processing summary queue under its load: sweeping its limit gives different rows
/// (the sweep simulates the load), and more slots are never slower beyond the noise.
#[test]
fn a_sweep_of_queue_limits_under_load_gives_different_rows_and_more_capacity_is_never_slower() {
    let src = std::fs::read_to_string(scenario("pdf-processing")).unwrap();
    let mut o = opts(None);
    o.isolated = false;
    o.replications = 5;
    o.sets = vec![SetSpec {
        path: "tasks.generate-summary.queue.concurrencyLimit".into(),
        values: ["5", "10", "20", "40"].map(String::from).to_vec(),
    }];
    let sw = &run(&src, &o, 100)[0];
    assert_eq!(sw.load, Some(5));
    assert!(!sw.identical);
    let p95: Vec<f64> = sw.rows.iter().map(|r| r.duration_s.p95).collect();
    for w in sw.rows.windows(2) {
        let d = paired::diff(&w[1].blocks, &w[0].blocks, paired::Metric::P95);
        assert!(!d.above(), "more slots slower beyond the noise: {p95:?}");
        assert!(d.below(), "doubling the slots of a saturated queue is faster: {p95:?}");
    }
    // The same sweep run alone: the queue never fills with one upload at a time, so every row
    // is the same, and the sweep says so.
    o.isolated = true;
    let alone = &run(&src, &o, 500)[0];
    assert!(alone.identical && alone.load.is_none());
}

/// A task that needs 5 GB, swept over presets with an out-of-memory retry on large-2x: the
/// small presets' runs all finish on large-2x; those rows say so and are never recommended,
/// unless allowed.
#[test]
fn an_oom_rescued_row_is_not_recommended() {
    let y = "
name: transcode
startLatency: 0s
coldStart: 0s
entry: transcode
tasks:
  transcode:
    machine: micro
    retry: { maxAttempts: 2, outOfMemory: { machine: large-2x } }
    steps:
      - work: { name: encode, duration: { uniform: [50s, 70s] }, memoryMb: 5000 }
";
    let mut o = opts(Some("transcode"));
    o.machines = ["micro", "small-1x", "large-1x", "large-2x"].map(String::from).to_vec();
    let sw = &run(y, &o, 400)[0];
    for m in ["micro", "small-1x"] {
        let r = row(sw, m);
        assert_eq!((r.rescued, r.rescued_share), (true, 1.0), "{m}");
        assert_eq!(r.finished_on.get("large-2x"), Some(&1.0));
        assert!(!r.pareto);
    }
    assert!(!row(sw, "large-1x").rescued && row(sw, "large-1x").finished_on.get("large-1x") == Some(&1.0));
    let picks = [&sw.recommended.cost, &sw.recommended.speed, &sw.recommended.balanced];
    for p in picks {
        let m = p.as_ref().and_then(|p| p.machine).unwrap();
        assert!(m == "large-1x" || m == "large-2x", "{m}");
        assert!(!p.as_ref().unwrap().why.is_empty());
    }
    check_front(sw);
    // Allowed: micro's runs pay a short failed attempt and then large-2x, cheaper than
    // large-1x for the whole run? Whatever wins, the rule is the documented one.
    o.allow_oom_rescue = true;
    let allowed = &run(y, &o, 400)[0];
    assert!(row(allowed, "micro").rescued);
    check_front(allowed);
    // Through the binary: the verdict names where the runs finished.
    let f = std::env::temp_dir().join(format!("wfsim-oom-{}.yaml", std::process::id()));
    std::fs::write(&f, y).unwrap();
    let out = wfsim()
        .args(["sweep", f.to_str().unwrap(), "--task", "transcode", "--machines", "micro,large-1x", "--runs", "200"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("OOM-rescued: 100% finish on large-2x"), "{text}");
    assert!(text.lines().next().unwrap().contains("environment: free plan"), "{text}");
    let _ = std::fs::remove_file(f);
}
