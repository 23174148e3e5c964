//! The command line: parse, load, simulate, report. Exit codes: 0 ok, 1 an SLO failed,
//! 2 bad input, 3 internal error.

use crate::montecarlo::{self, Config};
use crate::report::{self, Render, json::Json, table::Table};
use crate::scenario::{self, Loaded};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub const DEFAULT_SEED: u64 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "wfsim",
    version,
    about = "Simulate Trigger.dev v4 workflows: duration, cost, retries and progress, before writing the TypeScript",
    after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml\n  wfsim run scenarios/transcription-parallel.yaml --runs 100000 --format json\n  wfsim validate my-design.yaml\n\nExit codes: 0 ok, 1 an SLO failed, 2 bad input, 3 internal error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario many times and report durations, costs, statuses and progress.
    #[command(
        after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml\n  wfsim run scenarios/pdf-processing.yaml --runs 50000 --seed 7 --format json"
    )]
    Run {
        /// The scenario file (YAML).
        file: PathBuf,
        /// Number of simulated workflow runs.
        #[arg(long, default_value_t = 10_000)]
        runs: u64,
        /// Seed of the random streams; the same seed gives the same output.
        #[arg(long, default_value_t = DEFAULT_SEED)]
        seed: u64,
        /// Worker threads (default: all cores). The output does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check a scenario and print its errors and warnings, without simulating.
    Validate {
        /// The scenario file (YAML).
        file: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Runs the command line and returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate { file } => match load(&file) {
            Ok(l) => {
                eprintln!("{}: ok ({} tasks, {} warning(s))", file.display(), l.model.tasks.len(), l.warnings.len());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { file, runs, seed, threads, format } => {
            let loaded = match load(&file) {
                Ok(l) => l,
                Err(code) => return code,
            };
            if runs == 0 {
                eprintln!("error: --runs must be at least 1");
                return ExitCode::from(2);
            }
            let model = &loaded.model;
            let mut notes = Vec::new();
            if model.load.is_some() {
                notes.push("load: is parsed and validated, but not simulated yet: each workflow run has the platform to itself (no queueing for concurrency)".to_owned());
            }
            for n in &notes {
                eprintln!("note: {n}");
            }
            if format == Format::Table {
                eprintln!("simulating {runs} runs of {} (seed {seed})", model.name);
            }
            let mc = match montecarlo::run(model, Config { runs, seed, threads }) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let summary = report::summarise(model, &mc, seed, notes);
            let text = match format {
                Format::Table => Table.render(&summary),
                Format::Json => Json.render(&summary),
            };
            if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("error: cannot write the output: {e}");
                return ExitCode::from(3);
            }
            if summary.slo.iter().any(|s| !s.pass) {
                eprintln!(
                    "an SLO failed: {}",
                    summary.slo.iter().filter(|s| !s.pass).map(|s| s.expr.as_str()).collect::<Vec<_>>().join("; ")
                );
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
    }
}

/// Loads a scenario; prints warnings, or errors and returns exit code 2.
fn load(file: &std::path::Path) -> Result<Loaded, ExitCode> {
    match scenario::load_file(file) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("{w}\n");
            }
            Ok(l)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(2))
        }
    }
}
