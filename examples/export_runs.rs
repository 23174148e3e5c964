//! A scenario's simulated runs as a TRQL `runs` export (CSV, or JSON with `--json`), for trying
//! `wfsim fit` and `wfsim fit --check` without a Trigger.dev project:
//!
//! ```sh
//! cargo run --release --example export_runs -- scenarios/transcription-parallel.yaml 3000 > runs.csv
//! ```
//!
//! Arguments: SCENARIO [RUNS (default 1000)] [SEED (default 7)] [--json]. Root runs arrive 10 a
//! minute (Poisson) from 2026-09-21T00:00:00Z; each workflow run is simulated alone.
use wfsim::fit::simulated::{Spacing, export_csv, export_json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let Some(path) = pos.first() else {
        eprintln!("usage: export_runs SCENARIO [RUNS] [SEED] [--json]");
        std::process::exit(2);
    };
    let runs = pos.get(1).and_then(|r| r.parse().ok()).unwrap_or(1000);
    let seed = pos.get(2).and_then(|r| r.parse().ok()).unwrap_or(7);
    let model = match wfsim::scenario::load_file(std::path::Path::new(path.as_str())) {
        Ok(l) => l.model,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let start = wfsim::fit::export::parse_time("2026-09-21T00:00:00Z").unwrap_or(0.0);
    let spacing = Spacing { start, per_minute: 10.0, poisson: true };
    let out = if json { export_json(&model, runs, seed, spacing) } else { export_csv(&model, runs, seed, spacing) };
    match out {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
