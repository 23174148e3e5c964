//! The `fit` command's options and what it does with them (cli.rs dispatches here).

use super::{Options, export};
use crate::error::Failure;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// TRQL `runs` exports: CSV or JSON, as the dashboard's Query page downloads them or
    /// POST /api/v1/query returns them (several files: pages of one export).
    #[arg(required = true, value_name = "RUNS.csv|RUNS.json")]
    pub files: Vec<PathBuf>,
    /// A folder of run traces (GET /api/v1/runs/{id}/trace, one JSON file per run): the
    /// `logger.trace` spans of each attempt become steps inside its task.
    #[arg(long, value_name = "DIR")]
    pub traces: Option<PathBuf>,
    /// Write the fitted scenario here (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "SCENARIO.yaml")]
    pub output: Option<PathBuf>,
    /// Also write the fit report (index.html, report.md, fit.json, scenario.yaml and the CDF
    /// chart as SVG and PNG) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The task the app triggers (default: the task with most root runs).
    #[arg(long)]
    pub entry: Option<String>,
    /// The scenario's name (default: the entry task's).
    #[arg(long)]
    pub name: Option<String>,
    /// The Trigger.dev plan to write (the export does not say; default: the smallest plan
    /// whose concurrency covers the runs seen executing at once).
    #[arg(long, value_parser = ["free", "hobby", "pro"])]
    pub plan: Option<String>,
    /// Keep test runs (`is_test`), which are left out by default.
    #[arg(long)]
    pub include_tests: bool,
    /// Backtest instead of fitting: simulate this scenario and set its predictions beside the
    /// observed root runs (exit code 1 when a line fails).
    #[arg(long, value_name = "SCENARIO.yaml")]
    pub check: Option<PathBuf>,
    /// Backtest: a line passes when predicted and observed differ by at most this share of the
    /// observed value (or by at most 4 standard errors).
    #[arg(long, default_value_t = 0.1)]
    pub tolerance: f64,
    /// Backtest: simulate the scenario's `load:` block (runs sharing queues and slots, as the
    /// observed runs did) instead of runs alone.
    #[arg(long)]
    pub load: bool,
    /// Backtest under --load: independent replications of the load (standard errors from
    /// their spread).
    #[arg(long, default_value_t = 5)]
    pub replications: u64,
    /// Backtest: simulated workflow runs.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Backtest: seed of the random streams.
    #[arg(long, default_value_t = crate::montecarlo::DEFAULT_SEED)]
    pub seed: u64,
    /// Worker threads (default: all cores). The output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Backtest: output format.
    #[arg(long, value_enum, default_value_t = crate::report::Format::Table)]
    pub format: crate::report::Format,
}

/// Every diagnostic, then how many there were in `what`.
fn diagnostics(ds: &[crate::error::Diagnostic], what: &str) -> Failure {
    let mut m = String::new();
    for d in ds {
        m.push_str(&format!("{d}\n\n"));
    }
    m.push_str(&format!("{} error(s) in the {what}", ds.len()));
    Failure::input(m)
}

/// Runs `wfsim fit`: `Ok(true)` when a backtest fails, `Err` with what to print and the exit
/// code.
pub fn run(a: &FitArgs) -> Result<bool, Failure> {
    let ex = export::read_files(&a.files, a.include_tests).map_err(|ds| diagnostics(&ds, "export"))?;
    if let Some(sc) = &a.check {
        return check(a, sc, &ex);
    }
    let traces = match &a.traces {
        Some(dir) => Some(super::traces::read_dir(dir).map_err(|ds| diagnostics(&ds, "traces"))?),
        None => None,
    };
    let opts = Options { entry: a.entry.clone(), name: a.name.clone(), include_tests: a.include_tests, traces };
    let fit = super::fit(&ex, &opts).map_err(|e| Failure::input(format!("error: {}", e.0)))?;
    let yaml = super::write::scenario(&fit, a.plan.as_deref());
    // The scenario must load: a failure here is wfsim's fault, not the export's.
    let shown = a.output.as_ref().map_or("the fitted scenario".to_owned(), |p| p.display().to_string());
    if let Err(e) = crate::scenario::load_str(&yaml, &shown) {
        return Err(Failure::internal(format!(
            "internal error: the fitted scenario does not load:\n{e}\n--- scenario ---\n{yaml}"
        )));
    }
    match &a.output {
        Some(p) => {
            crate::output::write_file_atomic(p, yaml.as_bytes())
                .map_err(|e| Failure::internal(format!("error: cannot write {}: {e}", p.display())))?;
        }
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(yaml.as_bytes());
        }
    }
    if let Some(dir) = &a.out {
        crate::output::install_interrupt_cleanup();
        let files = super::report::files(&fit, &yaml).map_err(|m| Failure::internal(format!("internal error: {m}")))?;
        let write = || -> std::io::Result<()> {
            let mut out = crate::output::OutDir::new(dir)?;
            for (name, bytes) in &files {
                out.write(name, bytes)?;
            }
            out.commit().map(|_| ())
        };
        write().map_err(|e| Failure::internal(format!("error: cannot write the report in {}: {e}", dir.display())))?;
    }
    eprint!("{}", super::summary(&fit));
    if let Some(p) = &a.output {
        eprintln!("wrote {}", p.display());
    }
    if let Some(dir) = &a.out {
        eprintln!("wrote {}", dir.join("index.html").display());
    }
    Ok(false)
}

fn check(a: &FitArgs, scenario: &std::path::Path, ex: &export::Export) -> Result<bool, Failure> {
    let json = match a.format {
        crate::report::Format::Table => false,
        crate::report::Format::Json => true,
        crate::report::Format::Markdown | crate::report::Format::Csv => {
            return Err(Failure::input("error: fit --check prints --format table or json"));
        }
    };
    if a.runs == 0 || a.tolerance.is_nan() || a.tolerance < 0.0 {
        return Err(Failure::input("error: --runs must be at least 1 and --tolerance at least 0"));
    }
    let loaded = crate::scenario::load_file(scenario).map_err(|e| Failure::input(e.to_string()))?;
    let cfg = crate::montecarlo::Config { runs: a.runs, seed: a.seed, threads: a.threads.filter(|&n| n > 0) };
    let load = a.load.then_some(a.replications);
    let b = super::check::backtest(&loaded.model, ex, cfg, a.tolerance, load)
        .map_err(|m| Failure::input(format!("error: {m}")))?;
    let text = if json {
        let mut t = serde_json::to_string_pretty(&b).map_err(|e| Failure::internal(format!("internal error: {e}")))?;
        t.push('\n');
        t
    } else {
        super::check::table(&b)
    };
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(!b.passed())
}
