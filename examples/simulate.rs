//! wfsim as a library: load a scenario file, simulate it, read the summary.
//!
//! ```sh
//! cargo run --release --example simulate -- scenarios/transcription-parallel.yaml 10000 7
//! ```
//!
//! Arguments: SCENARIO [RUNS (default 10000)] [SEED (default wfsim's, 1)]. Each workflow run is
//! simulated alone (a scenario's `load:` block is left aside); the numbers are those of
//! `wfsim run SCENARIO --runs RUNS --seed SEED --isolated`.
use std::process::ExitCode;
use wfsim::montecarlo::{Config, DEFAULT_SEED};
use wfsim::sim::{Mode, simulate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: simulate SCENARIO [RUNS] [SEED]");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: u64| match args.get(i) {
        None => Ok(default),
        Some(a) => a.parse::<u64>().map_err(|_| format!("error: `{a}` is not a whole number")),
    };
    let (runs, seed) = match (number(1, 10_000), number(2, DEFAULT_SEED)) {
        (Ok(r), Ok(s)) => (r.max(1), s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // A bad file is a located error (file, line, column, key, help), never a panic.
    let loaded = match wfsim::scenario::load_file(std::path::Path::new(path)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    for w in &loaded.warnings {
        eprintln!("{w}\n");
    }
    let cfg = Config { runs, seed, threads: None };
    let sim = match simulate(&loaded.model, Mode::Alone, cfg, false, Vec::new(), &|_| {}) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let s = &sim.summary;
    println!("{}: {} runs, seed {}", s.scenario, s.runs, s.seed);
    println!(
        "workflow run: duration p50 {:.1} s, p95 {:.1} s; cost {:.6} USD mean (+/- {:.6}); success {:.1}%",
        s.duration_s.p50,
        s.duration_s.p95,
        s.cost_usd.mean,
        s.cost_usd.mean_ci95,
        100.0 * s.success_rate
    );
    // The summary keeps per-task means (the distributions are per workflow run).
    println!("{:<24} {:>9} {:>12} {:>14} {:>14}", "task", "runs/wf", "mean dur s", "USD/task run", "USD/workflow");
    for t in &s.tasks {
        println!(
            "{:<24} {:>9.2} {:>12.1} {:>14.6} {:>14.6}",
            t.name, t.runs_per_workflow, t.duration_s_mean, t.cost_usd_mean, t.cost_usd_per_workflow
        );
    }
    ExitCode::SUCCESS
}
