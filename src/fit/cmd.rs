//! The `fit` command's options and what it does with them (cli.rs dispatches here).

use super::{Options, export};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct FitArgs {
    /// TRQL `runs` exports: CSV or JSON, as the dashboard's Query page downloads them or
    /// POST /api/v1/query returns them (several files: pages of one export).
    #[arg(required = true, value_name = "RUNS.csv|RUNS.json")]
    pub files: Vec<PathBuf>,
    /// Write the fitted scenario here (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "SCENARIO.yaml")]
    pub output: Option<PathBuf>,
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
}

/// Runs `wfsim fit`; `Err(code)` after printing why.
pub fn run(a: &FitArgs) -> Result<bool, u8> {
    let ex = export::read_files(&a.files, a.include_tests).map_err(|ds| {
        for d in &ds {
            eprintln!("{d}\n");
        }
        eprintln!("{} error(s) in the export", ds.len());
        2u8
    })?;
    let opts = Options { entry: a.entry.clone(), name: a.name.clone(), include_tests: a.include_tests };
    let fit = super::fit(&ex, &opts).map_err(|e| {
        eprintln!("error: {}", e.0);
        2u8
    })?;
    let yaml = super::write::scenario(&fit, a.plan.as_deref());
    // The scenario must load: a failure here is wfsim's fault, not the export's.
    let shown = a.output.as_ref().map_or("the fitted scenario".to_owned(), |p| p.display().to_string());
    if let Err(e) = crate::scenario::load_str(&yaml, &shown) {
        eprintln!("internal error: the fitted scenario does not load:\n{e}\n--- scenario ---\n{yaml}");
        return Err(3);
    }
    match &a.output {
        Some(p) => {
            std::fs::write(p, &yaml).map_err(|e| {
                eprintln!("error: cannot write {}: {e}", p.display());
                3u8
            })?;
        }
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(yaml.as_bytes());
        }
    }
    eprint!("{}", super::summary(&fit));
    if let Some(p) = &a.output {
        eprintln!("wrote {}", p.display());
    }
    Ok(false)
}
