//! The command line: parse, load, simulate, report. Exit codes: 0 ok, 1 an SLO failed,
//! 2 bad input, 3 internal error.

use crate::model::Model;
use crate::montecarlo::{self, Config, McResult};
use crate::output::OutDir;
use crate::report::{self, Render, RunSummary, bundle, html, json::Json, markdown, table::Table};
use crate::scenario::{self, Loaded};
use crate::slo::Slo;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub const DEFAULT_SEED: u64 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "wfsim",
    version,
    about = "Simulate Trigger.dev v4 workflows: duration, cost, retries and progress, before writing the TypeScript",
    after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml\n  wfsim run scenarios/transcription-parallel.yaml --runs 100000 --format json\n  wfsim report scenarios/pdf-processing.yaml\n  wfsim compare scenarios/transcription-sequential.yaml scenarios/transcription-parallel.yaml --out reports/transcription\n  wfsim validate my-design.yaml\n\nExit codes: 0 ok, 1 an SLO failed, 2 bad input, 3 internal error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Sim {
    /// Number of simulated workflow runs.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Seed of the random streams; the same seed gives the same output.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Worker threads (default: all cores). The output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// An extra SLO to check, e.g. 'p95(duration) < 5m' (repeatable).
    #[arg(long = "slo", value_name = "EXPR")]
    pub slo: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario many times and report durations, costs, statuses and progress.
    #[command(
        after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml\n  wfsim run scenarios/pdf-processing.yaml --runs 50000 --seed 7 --format json\n  wfsim run scenarios/pdf-processing.yaml --slo 'p99(duration) < 4m'"
    )]
    Run {
        /// The scenario file (YAML).
        file: PathBuf,
        #[command(flatten)]
        sim: Sim,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Write a design-review report: index.html, report.md, summary.json and the charts.
    #[command(
        after_help = "Examples:\n  wfsim report scenarios/pdf-processing.yaml\n  wfsim report a.yaml b.yaml --out reports/review"
    )]
    Report {
        /// Scenario files; each gets its own report.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder (default reports/<scenario name>; with several files, one subfolder each).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        sim: Sim,
    },
    /// Compare designs side by side: percentiles, cost, speedup and cost ratio with 95% intervals.
    #[command(
        after_help = "The first file is the baseline. Designs share random numbers run by run.\n\nExample:\n  wfsim compare scenarios/transcription-sequential.yaml scenarios/transcription-parallel.yaml --out reports/transcription"
    )]
    Compare {
        /// Two or more scenario files, the baseline first.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Also write the comparison report (index.html, report.md, comparison.json, charts) here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        sim: Sim,
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

/// Why a command stopped: its exit code (the message is already on stderr).
struct Stop(u8);

impl From<Stop> for ExitCode {
    fn from(s: Stop) -> Self {
        ExitCode::from(s.0)
    }
}

/// Runs the command line and returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let r = match cli.command {
        Command::Validate { file } => load(&file).map(|l| {
            eprintln!("{}: ok ({} tasks, {} warning(s))", file.display(), l.model.tasks.len(), l.warnings.len());
            false
        }),
        Command::Run { file, sim, format } => run(&file, &sim, format),
        Command::Report { files, out, sim } => report_cmd(&files, out.as_deref(), &sim),
        Command::Compare { files, out, sim, format } => compare_cmd(&files, out.as_deref(), &sim, format),
    };
    match r {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(s) => s.into(),
    }
}

/// A loaded scenario, simulated and summarised. `Ok(true)` from a command: an SLO failed.
struct Simulated {
    model: Model,
    mc: McResult,
    summary: RunSummary,
}

fn simulate(file: &Path, sim: &Sim, quiet: bool) -> Result<Simulated, Stop> {
    let cli_slos = parse_slos(&sim.slo)?;
    let mut loaded = load(file)?;
    loaded.model.slos.extend(cli_slos);
    let model = loaded.model;
    if sim.runs == 0 {
        eprintln!("error: --runs must be at least 1");
        return Err(Stop(2));
    }
    let mut notes = Vec::new();
    if model.load.is_some() {
        notes.push("load: is parsed and validated, but not simulated yet: each workflow run has the platform to itself (no queueing for concurrency)".to_owned());
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    if !quiet {
        eprintln!("simulating {} runs of {} (seed {})", sim.runs, model.name, sim.seed);
    }
    let bar = ProgressBar::new(sim.runs);
    let cfg = Config { runs: sim.runs, seed: sim.seed, threads: sim.threads };
    let mc = montecarlo::run_with(&model, cfg, &|n| bar.advance(n)).map_err(|e| {
        eprintln!("error: {e}");
        Stop(2)
    })?;
    bar.finish();
    let summary = report::summarise(&model, &mc, sim.seed, notes);
    Ok(Simulated { model, mc, summary })
}

fn run(file: &Path, sim: &Sim, format: Format) -> Result<bool, Stop> {
    let s = simulate(file, sim, format == Format::Json)?;
    let text = match format {
        Format::Table => Table.render(&s.summary),
        Format::Json => Json.render(&s.summary),
    };
    print(&text)?;
    Ok(slo_failed(&[&s.summary]))
}

fn report_cmd(files: &[PathBuf], out: Option<&Path>, sim: &Sim) -> Result<bool, Stop> {
    crate::output::install_interrupt_cleanup();
    let mut failed = false;
    for file in files {
        let s = simulate(file, sim, false)?;
        let dir = match (out, files.len()) {
            (Some(o), 1) => o.to_owned(),
            (Some(o), _) => o.join(safe_name(&s.model.name)),
            (None, _) => Path::new("reports").join(safe_name(&s.model.name)),
        };
        let charts = bundle::run_charts(&s.model, &s.mc, &s.summary).map_err(internal)?;
        let mut files_out: Vec<(String, Vec<u8>)> = vec![
            ("index.html".into(), html::run_page(&s.summary, &charts).into_bytes()),
            ("report.md".into(), markdown::run_page(&s.summary, &charts).into_bytes()),
            ("summary.json".into(), Json.render(&s.summary).into_bytes()),
        ];
        for c in &charts {
            files_out.push((format!("{}.svg", c.stem), c.svg.clone().into_bytes()));
            files_out.push((format!("{}.png", c.stem), c.png.clone()));
        }
        write_all(&dir, files_out)?;
        print(&Table.render(&s.summary))?;
        eprintln!("wrote {}", dir.join("index.html").display());
        failed |= slo_failed(&[&s.summary]);
    }
    Ok(failed)
}

fn compare_cmd(files: &[PathBuf], out: Option<&Path>, sim: &Sim, format: Format) -> Result<bool, Stop> {
    if out.is_some() {
        crate::output::install_interrupt_cleanup();
    }
    let sims: Vec<Simulated> = files.iter().map(|f| simulate(f, sim, true)).collect::<Result<_, _>>()?;
    let pairs: Vec<(&RunSummary, &McResult)> = sims.iter().map(|s| (&s.summary, &s.mc)).collect();
    let c = bundle::compare(&pairs, sim.seed);
    let text = match format {
        Format::Table => report::table::comparison(&c),
        Format::Json => {
            let mut t = serde_json::to_string_pretty(&c).map_err(internal)?;
            t.push('\n');
            t
        }
    };
    print(&text)?;
    if let Some(dir) = out {
        let charts = bundle::compare_charts(&pairs).map_err(internal)?;
        let mut json = serde_json::to_string_pretty(&c).map_err(internal)?;
        json.push('\n');
        let mut files_out: Vec<(String, Vec<u8>)> = vec![
            ("index.html".into(), html::compare_page(&c, &charts).into_bytes()),
            ("report.md".into(), markdown::compare_page(&c, &charts).into_bytes()),
            ("comparison.json".into(), json.into_bytes()),
        ];
        for ch in &charts {
            files_out.push((format!("{}.svg", ch.stem), ch.svg.clone().into_bytes()));
            files_out.push((format!("{}.png", ch.stem), ch.png.clone()));
        }
        write_all(dir, files_out)?;
        eprintln!("wrote {}", dir.join("index.html").display());
    }
    let summaries: Vec<&RunSummary> = sims.iter().map(|s| &s.summary).collect();
    Ok(slo_failed(&summaries))
}

fn write_all(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<(), Stop> {
    let mut out = OutDir::new(dir).map_err(|e| io_error(dir, e))?;
    for (name, bytes) in files {
        out.write(&name, &bytes).map_err(|e| io_error(dir, e))?;
    }
    out.commit().map_err(|e| io_error(dir, e))?;
    Ok(())
}

fn io_error(dir: &Path, e: std::io::Error) -> Stop {
    eprintln!("error: cannot write the report in {}: {e}", dir.display());
    Stop(3)
}

fn internal<E: std::fmt::Display>(e: E) -> Stop {
    eprintln!("internal error: {e}");
    Stop(3)
}

/// A folder name from a scenario name.
fn safe_name(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if s.is_empty() { "scenario".into() } else { s }
}

fn parse_slos(exprs: &[String]) -> Result<Vec<Slo>, Stop> {
    exprs
        .iter()
        .map(|e| {
            crate::slo::parse(e).map_err(|m| {
                eprintln!("error: --slo '{e}': {m}");
                Stop(2)
            })
        })
        .collect()
}

fn slo_failed(summaries: &[&RunSummary]) -> bool {
    let failed: Vec<String> = summaries
        .iter()
        .flat_map(|s| s.slo.iter().filter(|r| !r.pass).map(move |r| format!("{}: {}", s.scenario, r.expr)))
        .collect();
    if !failed.is_empty() {
        eprintln!("SLO failed: {}", failed.join("; "));
    }
    !failed.is_empty()
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> Result<(), Stop> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write the output: {e}");
            Err(Stop(3))
        }
        _ => Ok(()),
    }
}

/// Loads a scenario; prints warnings, or errors and stops with exit code 2.
fn load(file: &Path) -> Result<Loaded, Stop> {
    match scenario::load_file(file) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("{w}\n");
            }
            Ok(l)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(Stop(2))
        }
    }
}

/// A progress bar on stderr, shown only on a terminal and only once a run has taken more
/// than about a second.
struct ProgressBar {
    total: u64,
    start: std::time::Instant,
    bar: std::sync::OnceLock<indicatif::ProgressBar>,
    done: std::sync::atomic::AtomicU64,
}

impl ProgressBar {
    fn new(total: u64) -> Self {
        ProgressBar { total, start: std::time::Instant::now(), bar: std::sync::OnceLock::new(), done: 0.into() }
    }
    fn advance(&self, n: u64) {
        use std::io::IsTerminal;
        let done = self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        if self.bar.get().is_none() && (self.start.elapsed().as_secs_f64() < 1.0 || !std::io::stderr().is_terminal()) {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let b = indicatif::ProgressBar::new(self.total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {eta} left") {
                b.set_style(style);
            }
            b
        });
        bar.set_position(done);
    }
    fn finish(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}
