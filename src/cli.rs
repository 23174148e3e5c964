//! The command line: parse, load, simulate, report. Exit codes: 0 ok, 1 an SLO failed,
//! 2 bad input, 3 internal error.
//!
//! About 1,000 lines: the clap types of every command and their handlers; the handlers are
//! short and read the same shared steps (load, simulate, render, write), kept together so a
//! command reads top to bottom.

use crate::analysis::RunSummary;
use crate::model::Model;
use crate::montecarlo::DEFAULT_SEED;
use crate::montecarlo::{self, Config, McResult};
use crate::output::OutDir;
pub use crate::report::Format;
use crate::report::{bundle, html, json::Json, markdown, renderer};
use crate::scenario::{self, Loaded};
use crate::slo::Slo;
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Workflow runs `validate` simulates (isolated, seed [`DEFAULT_SEED`]) for the warnings that
/// need a simulation, when a task has a `maxDuration`.
pub const VALIDATE_RUNS: u64 = 2_000;

#[derive(Parser, Debug)]
#[command(
    name = "wfsim",
    version,
    about = "Simulate Trigger.dev v4 workflows: duration, cost, retries and progress, before writing the TypeScript",
    after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml\n  wfsim run scenarios/transcription-parallel.yaml --runs 100000 --format json\n  wfsim report scenarios/pdf-processing.yaml\n  wfsim compare scenarios/transcription-sequential.yaml scenarios/transcription-parallel.yaml --out reports/transcription\n  wfsim sweep scenarios/pdf-processing.yaml --task ocr-pdf\n  wfsim sensitivity scenarios/pdf-processing.yaml\n  wfsim validate my-design.yaml\n\nExit codes: 0 ok, 1 an SLO failed, 2 bad input, 3 internal error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sim {
    /// Number of simulated workflow runs.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Seed of the random streams; the same seed gives the same output.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Worker threads (default, or 0: all cores). The output does not depend on it.
    #[arg(long)]
    #[serde(skip)]
    pub threads: Option<usize>,
    /// An extra SLO to check, e.g. 'p95(duration) < 5m' (repeatable).
    #[arg(long = "slo", value_name = "EXPR")]
    pub slo: Vec<String>,
    /// Split the runs by an input attribute (`tier`), cut points (`pages:10,50`) or a
    /// condition (`'pages > 50'`): a table, JSON object and chart series per segment.
    #[arg(long, value_name = "ATTR")]
    #[serde(default)]
    pub by: Option<String>,
    /// With a `load:` block: independent replications of the whole period; their means give
    /// the intervals (default: 1 for run and report, 10 for compare).
    #[arg(long)]
    pub replications: Option<u64>,
    /// Ignore the `load:` block: every workflow run has the platform to itself.
    #[arg(long)]
    pub isolated: bool,
    #[command(flatten)]
    #[serde(skip)]
    pub shard: ShardArgs,
}

/// Where a command's work is split: `--shard I/N` simulates one part and writes a shard file
/// for `wfsim merge` instead of the output.
#[derive(Args, Debug, Clone, Default)]
pub struct ShardArgs {
    /// Simulate only shard I of N (I from 0) and write it to a shard file for `wfsim merge`;
    /// `auto/N` takes I from a Slurm array, a Kubernetes Indexed Job or an AWS Batch array.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The shard file to write (default: shard-I-of-N.wfshard).
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub shard_file: Option<PathBuf>,
}

/// Simulation settings of `sweep` and `sensitivity`: every variant runs with them.
#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Runs {
    /// Number of simulated workflow runs per variant.
    #[arg(long, default_value_t = 10_000)]
    pub runs: u64,
    /// Seed of the random streams; every variant uses it (common random numbers).
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Worker threads (default, or 0: all cores). The output does not depend on it.
    #[arg(long)]
    #[serde(skip)]
    pub threads: Option<usize>,
    /// With a `load:` block: independent replications of the load per variant; their means
    /// give the intervals (variants share them: replication r of every variant draws the same
    /// random numbers).
    #[arg(long, default_value_t = crate::sweep::DEFAULT_REPLICATIONS)]
    pub replications: u64,
    /// Ignore the `load:` block: every workflow run has the platform to itself.
    #[arg(long)]
    pub isolated: bool,
    #[command(flatten)]
    #[serde(skip)]
    pub shard: ShardArgs,
}

impl Runs {
    fn config(&self) -> Config {
        Config { runs: self.runs, seed: self.seed, threads: threads(self.threads) }
    }
}

/// `--threads`: 0 and no value both mean every core (rayon's default pool).
fn threads(t: Option<usize>) -> Option<usize> {
    t.filter(|&n| n > 0)
}

/// Where and how a command prints its results.
#[derive(Args, Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Output {
    /// Output format: table (text), json, markdown (a pull-request comment), csv.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE instead of standard output (all at once: a temporary file
    /// beside it is renamed into place, so FILE is never half-written).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print nothing on standard error but errors and the SLO verdict: no progress, notes or
    /// warnings (`report` then prints no summary either).
    #[arg(short, long)]
    pub quiet: bool,
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
        #[command(flatten)]
        out: Output,
        /// Also write one CSV row per simulated task run to FILE, with Trigger.dev's query
        /// columns (run_id, task_identifier, status, machine, attempt_count, queued_duration,
        /// execution_duration, usage_duration in ms; compute_cost, invocation_cost, total_cost
        /// in dollars; parent_run_id, root_run_id, depth). Under load: one row per workflow run.
        #[arg(long, value_name = "FILE")]
        runs_csv: Option<PathBuf>,
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
        #[command(flatten)]
        output: Output,
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
        #[command(flatten)]
        output: Output,
    },
    /// Size a task's machine, or sweep values at key paths: cost against p95 duration, the
    /// Pareto front, and the cheapest, fastest and balanced feasible variant.
    #[command(
        after_help = "A variant is feasible when every SLO passes (the scenario's slo: and --slo) and its success rate is\nat most 4 standard errors below the best variant's. balanced minimises\nw * cost / cheapest + (1 - w) * p95 / fastest over the feasible variants (w = --balance).\nExit code 1 when no variant is feasible.\n\nExamples:\n  wfsim sweep scenarios/pdf-processing.yaml --task ocr-pdf\n  wfsim sweep scenarios/pdf-processing.yaml --task all --machines small-1x,small-2x,medium-1x\n  wfsim sweep scenarios/transcription-parallel.yaml --set 'tasks.transcribe-audio.steps[0].parallel.limit=1,2,3,6' --out reports/limit"
    )]
    Sweep {
        /// The scenario file (YAML).
        file: PathBuf,
        /// The task whose machine preset is swept; `all`: each task in turn, the others as written.
        #[arg(long)]
        task: Option<String>,
        /// Presets to try for the task, comma-separated (default: all seven).
        #[arg(long, value_delimiter = ',', value_name = "PRESET,...")]
        machines: Vec<String>,
        /// Sweep the value at a key path (repeatable: several cross each other and the machines).
        #[arg(long = "set", value_name = "PATH=V1,V2,...")]
        set: Vec<String>,
        /// Weight of cost (against p95 duration) in the balanced pick, from 0 to 1.
        #[arg(long, default_value_t = crate::sweep::DEFAULT_BALANCE)]
        balance: f64,
        /// Also write the charts (SVG and PNG) and sweep.json here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        runs: Runs,
        /// Allow recommending a variant whose runs ran out of memory and finished on
        /// retry.outOfMemory.machine (it is really partly that preset).
        #[arg(long)]
        allow_oom_rescue: bool,
        /// An extra SLO every feasible variant must pass, e.g. 'p95(duration) < 5m' (repeatable).
        #[arg(long = "slo", value_name = "EXPR")]
        slo: Vec<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Rank what matters: work durations and failure rates, input attributes, counts, queue
    /// limits, maxAttempts and presets moved down and up one at a time, by their effect on one
    /// metric with a paired 95% interval.
    #[command(
        after_help = "Examples:\n  wfsim sensitivity scenarios/pdf-processing.yaml\n  wfsim sensitivity scenarios/transcription-parallel.yaml --delta 0.5 --out reports/sensitivity"
    )]
    Sensitivity {
        /// The scenario file (YAML).
        file: PathBuf,
        /// How far each parameter moves: x(1 - delta) and x(1 + delta).
        #[arg(long, default_value_t = 0.2)]
        delta: f64,
        /// What parameters are ranked by: p95 or p50 duration, mean duration, mean cost.
        #[arg(long, value_enum, default_value_t = crate::paired::Metric::P95)]
        metric: crate::paired::Metric,
        /// Also write the tornado chart (SVG and PNG) and sensitivity.json here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        runs: Runs,
        #[command(flatten)]
        output: Output,
    },
    /// Check a scenario and print its errors and warnings; with a maxDuration, also simulate
    /// 2,000 runs (seed 1) to check it against the task's compute time.
    Validate {
        /// The scenario file (YAML).
        file: PathBuf,
        /// Treat design warnings as errors (exit 2), for CI.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Print the JSON Schema of the scenario language (editors use it to complete and check keys).
    Schema,
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell.
    #[command(
        after_help = "Examples:\n  wfsim completions bash > ~/.local/share/bash-completion/completions/wfsim\n  wfsim completions zsh > ~/.zfunc/_wfsim\n  wfsim completions fish > ~/.config/fish/completions/wfsim.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `wfsim man > wfsim.1 && man ./wfsim.1`.
    Man,
    /// Draft a scenario from Trigger.dev v4 task code (.ts, .tsx, .js, .mjs files or folders).
    #[command(
        after_help = "Examples:\n  wfsim import src/trigger -o my-workflow.yaml\n  wfsim import src/trigger --durations fitted.yaml -o my-workflow.yaml"
    )]
    Import {
        /// Source files or folders (folders are searched; node_modules and dist are skipped).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write the scenario here instead of to stdout (written whole, then renamed into place).
        #[arg(short = 'o', long = "output", value_name = "SCENARIO.yaml")]
        out: Option<PathBuf>,
        /// Fill the placeholders from this scenario (e.g. one `wfsim fit` wrote), by task id.
        #[arg(long, value_name = "FITTED.yaml")]
        durations: Option<PathBuf>,
    },
    /// Calibrate a scenario from real runs: TRQL `runs` exports (CSV or JSON) to a scenario
    /// whose every fitted number says how many runs it came from and how well it fits.
    #[command(
        after_help = "Examples:\n  wfsim fit runs.csv -o fitted.yaml\n  wfsim fit week-1.json week-2.json -o fitted.yaml --out reports/fit\n  wfsim fit --check fitted.yaml week-3.json --load\n\nThe query, paging and the columns read: docs/fit.md."
    )]
    Fit(crate::fit::cmd::FitArgs),
    /// Merge the shard files of a command run with `--shard I/N` into the output the command
    /// gives in one process (byte for byte): checks that they belong to one job and that
    /// none is missing; any order, a shard given twice counts once.
    #[command(
        after_help = "Examples:\n  wfsim run scenarios/pdf-processing.yaml --runs 100000 --format json --shard 0/4   (and 1/4, 2/4, 3/4)\n  wfsim merge shard-*-of-4.wfshard > run.json\n\nSee docs/shard.md."
    )]
    Merge {
        /// The shard files.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Write the report files here instead of where the sharded command would have.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the output to FILE instead of where the sharded command would have.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print nothing on standard error but errors and the SLO verdict (as the sharded
        /// command's --quiet).
        #[arg(short, long)]
        quiet: bool,
    },
}

/// `--quiet`: no progress, notes or warnings on stderr.
static QUIET: AtomicBool = AtomicBool::new(false);

fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// A message on stderr that `--quiet` silences (notes, warnings, what is being done).
macro_rules! say {
    ($($t:tt)*) => {
        if !quiet() {
            eprintln!($($t)*);
        }
    };
}

// Declared after `say!`, which it uses: `--shard` and `wfsim merge` (src/cli/shard.rs).
mod shard;
use shard::{Job, manifest, merge_cmd, read_text, shard_spec, write_shard, write_sim_shard};

/// Why a command stopped: its exit code and the message [`main_with`] prints on stderr, the
/// one place errors are printed (`None` when the command reported on its own, as `fit` and
/// `import` do).
struct Stop {
    code: u8,
    message: Option<String>,
}

impl Stop {
    fn new(code: u8, message: String) -> Stop {
        Stop { code, message: Some(message) }
    }

    /// A stop whose command has already said why.
    fn reported(code: u8) -> Stop {
        Stop { code, message: None }
    }
}

impl From<crate::error::Failure> for Stop {
    fn from(f: crate::error::Failure) -> Stop {
        Stop::new(f.code, f.message)
    }
}

/// Runs the command line and returns the process exit code.
pub fn main_with(cli: Cli) -> ExitCode {
    let r = match cli.command {
        Command::Validate { file, deny_warnings } => load(&file).and_then(|l| {
            let warnings = l.warnings.len() + quick_simulation(&l)?.len();
            if deny_warnings && warnings > 0 {
                return Err(Stop::new(
                    2,
                    format!("{}: {warnings} warning(s), denied by --deny-warnings", file.display()),
                ));
            }
            eprintln!("{}: ok ({} tasks, {warnings} warning(s))", file.display(), l.model.tasks.len());
            Ok(false)
        }),
        Command::Schema => {
            let mut t = serde_json::to_string_pretty(&crate::schema::json_schema()).unwrap_or_default();
            t.push('\n');
            print(&t).map(|_| false)
        }
        Command::Fit(a) => crate::fit::cmd::run(&a).map_err(Stop::from),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "wfsim", &mut buf);
            print(&String::from_utf8_lossy(&buf)).map(|_| false)
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
                Ok(()) => print(&String::from_utf8_lossy(&buf)).map(|_| false),
                Err(e) => Err(internal(e)),
            }
        }
        Command::Import { paths, out, durations } => {
            match crate::import::command(&paths, out.as_deref(), durations.as_deref()) {
                Ok(0) => Ok(false),
                Ok(code) => Err(Stop::reported(code)),
                Err(f) => Err(f.into()),
            }
        }
        Command::Merge { shards, out, output, quiet } => {
            QUIET.store(quiet, Ordering::Relaxed);
            merge_cmd(&shards, out, output)
        }
        Command::Run { file, sim, out, runs_csv } => {
            QUIET.store(out.quiet, Ordering::Relaxed);
            run(&file, &sim, &out, runs_csv.as_deref())
        }
        Command::Report { files, out, sim, output } => {
            QUIET.store(output.quiet, Ordering::Relaxed);
            report_cmd(&files, out.as_deref(), &sim, &output)
        }
        Command::Compare { files, out, sim, output } => {
            QUIET.store(output.quiet, Ordering::Relaxed);
            compare_cmd(&files, out.as_deref(), &sim, &output)
        }
        Command::Sweep { file, task, machines, set, balance, out, runs, allow_oom_rescue, slo, output } => {
            QUIET.store(output.quiet, Ordering::Relaxed);
            let opts = SweepArgs {
                task,
                machines,
                set,
                balance,
                slo,
                isolated: runs.isolated,
                replications: runs.replications,
                allow_oom_rescue,
            };
            sweep_cmd(&file, opts, out.as_deref(), &runs, &output)
        }
        Command::Sensitivity { file, delta, metric, out, runs, output } => {
            QUIET.store(output.quiet, Ordering::Relaxed);
            let o = crate::sweep::SensitivityOptions {
                delta,
                metric,
                isolated: runs.isolated,
                replications: runs.replications,
            };
            sensitivity_cmd(&file, o, out.as_deref(), &runs, &output)
        }
    };
    match r {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(s) => {
            if let Some(m) = s.message {
                eprintln!("{m}");
            }
            ExitCode::from(s.code)
        }
    }
}

/// A loaded scenario, simulated and summarised. `Ok(true)` from a command: an SLO failed.
struct Simulated {
    model: Model,
    mc: McResult,
    summary: RunSummary,
    /// Design warnings: the loader's, then those the simulation found (for the report).
    warnings: Vec<crate::error::Diagnostic>,
    /// Under load: measured runs per replication (`sim::Simulation::reps`).
    reps: Vec<usize>,
}

/// `validate`'s short simulation: the warnings that need one (printed and returned), and a
/// scenario that cannot run (the event budget stops it) is the error `run` would give, so
/// `validate` fails on it too (exit 2).
fn quick_simulation(l: &Loaded) -> Result<Vec<crate::error::Diagnostic>, Stop> {
    let cfg = Config { runs: VALIDATE_RUNS, seed: DEFAULT_SEED, threads: None };
    match montecarlo::run(&l.model, cfg) {
        Ok(mc) => Ok(print_simulated_warnings(l, &mc, cfg.seed)),
        Err(e) => Err(Stop::new(
            2,
            format!(
                "error: {e}\n  (found by validate's simulation of {VALIDATE_RUNS} isolated runs, seed {DEFAULT_SEED})"
            ),
        )),
    }
}

/// Prints (and returns) the warnings made from a simulation's per-task totals.
fn print_simulated_warnings(l: &Loaded, mc: &McResult, seed: u64) -> Vec<crate::error::Diagnostic> {
    let w = crate::analysis::simulated_warnings(l, &mc.tasks, mc.stats.n, seed);
    for d in &w {
        say!("{d}\n");
    }
    w
}

/// Loads and simulates a scenario; `keep`: keep the outcomes past `EXACT_RUNS` runs too
/// (charts and comparisons need them, a summary does not).
fn simulate(file: &Path, sim: &Sim, quiet: bool, keep: bool) -> Result<Simulated, Stop> {
    let loaded = load_with_cli_options(file, sim)?;
    let s = simulate_model(&loaded.model, sim, quiet, keep)?;
    Ok(simulated(loaded, s, sim.seed))
}

/// A scenario with the command line's SLOs and segments (`--by`) added.
fn load_with_cli_options(file: &Path, sim: &Sim) -> Result<Loaded, Stop> {
    let cli_slos = parse_slos(&sim.slo)?;
    let mut loaded = load(file)?;
    add_cli_options(&mut loaded.model, cli_slos, sim)?;
    Ok(loaded)
}

/// Adds the command line's SLOs (binding their filters) and segments to `model`.
fn add_cli_options(model: &mut Model, slos: Vec<Slo>, sim: &Sim) -> Result<(), Stop> {
    let exprs: Vec<String> = slos.iter().map(|s| s.expr.clone()).collect();
    crate::scenario::bind_slos(model, slos)
        .map_err(|(i, e)| Stop::new(2, format!("error: --slo '{}': {e}", exprs[i])))?;
    if let Some(by) = &sim.by {
        crate::scenario::add_segments(model, by).map_err(|e| Stop::new(2, format!("error: --by '{by}': {e}")))?;
    }
    Ok(())
}

/// A simulation with the scenario it came from and its warnings (printed).
fn simulated(mut loaded: Loaded, s: crate::sim::Simulation, seed: u64) -> Simulated {
    let crate::sim::Simulation { mc, summary, reps } = s;
    let mut warnings = std::mem::take(&mut loaded.warnings);
    warnings.extend(print_simulated_warnings(&loaded, &mc, seed));
    Simulated { model: loaded.model, mc, summary, warnings, reps }
}

/// The notes a summary carries about how the model was simulated (printed too).
fn sim_notes(model: &Model, sim: &Sim) -> Vec<String> {
    let mut notes = Vec::new();
    let load = model.load.is_some() && !sim.isolated;
    if load {
        notes.push("load: simulated: --runs does not apply; the runs are the arrivals of the load's period (workflow runs that arrived after the warm-up)".to_owned());
    } else if model.load.is_some() {
        notes.push("--isolated: the load: block is ignored; each workflow run has the platform to itself".to_owned());
    }
    for n in &notes {
        say!("note: {n}");
    }
    notes
}

fn check_runs(runs: u64) -> Result<(), Stop> {
    if runs == 0 {
        return Err(Stop::new(2, "error: --runs must be at least 1".to_owned()));
    }
    Ok(())
}

fn simulate_model(model: &Model, sim: &Sim, quiet: bool, keep: bool) -> Result<crate::sim::Simulation, Stop> {
    check_runs(sim.runs)?;
    let notes = sim_notes(model, sim);
    let mode = crate::sim::Mode::of(model, sim.isolated, sim.replications.unwrap_or(1));
    let cfg = Config { runs: sim.runs, seed: sim.seed, threads: threads(sim.threads) };
    if !quiet {
        match mode {
            crate::sim::Mode::Load { replications } => {
                say!("simulating {replications} replication(s) of the load of {} (seed {})", model.name, sim.seed)
            }
            crate::sim::Mode::Alone => say!("simulating {} runs of {} (seed {})", sim.runs, model.name, sim.seed),
        }
    }
    let bar = ProgressBar::new(sim.runs);
    let s = crate::sim::simulate(model, mode, cfg, keep, notes, &|n| bar.advance(n))
        .map_err(|e| Stop::new(2, format!("error: {e}")))?;
    bar.finish();
    Ok(s)
}

fn run(file: &Path, sim: &Sim, out: &Output, runs_csv: Option<&Path>) -> Result<bool, Stop> {
    if let Some(spec) = shard_spec(&sim.shard)? {
        if runs_csv.is_some() {
            return Err(Stop::new(
                2,
                "error: --runs-csv does not go with --shard (the shards keep no task runs); run it without --shard"
                    .to_owned(),
            ));
        }
        return write_sim_shard(&Job::Run { sim: sim.clone(), out: out.clone() }, &[file], sim, spec, false);
    }
    if let Some(f) = runs_csv {
        crate::output::install_interrupt_cleanup();
        check_writable(f)?;
    }
    if let Some(f) = &out.output {
        crate::output::install_interrupt_cleanup();
        check_writable(f)?;
    }
    let s = simulate(file, sim, out.format != Format::Table, false)?;
    let failed = emit_run(&s, out)?;
    if let Some(f) = runs_csv {
        let (csv, per_workflow) = crate::report::runs::csv(&s.model, &s.mc, sim.seed, s.summary.load.is_some());
        write_file(f, csv.as_bytes())?;
        if per_workflow {
            say!("note: --runs-csv under load: one row per workflow run (its entry run), not per task run");
        }
        say!("wrote {}", f.display());
    }
    Ok(failed)
}

/// Prints a run's summary and says (once) which SLOs failed.
fn emit_run(s: &Simulated, out: &Output) -> Result<bool, Stop> {
    emit(&renderer(out.format).run(&s.summary), out)?;
    Ok(slo_failed(&[&s.summary]))
}

fn report_cmd(files: &[PathBuf], out: Option<&Path>, sim: &Sim, output: &Output) -> Result<bool, Stop> {
    if let Some(spec) = shard_spec(&sim.shard)? {
        let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
        let job =
            Job::Report { files: files.len(), out: out.map(Path::to_owned), sim: sim.clone(), output: output.clone() };
        return write_sim_shard(&job, &paths, sim, spec, true);
    }
    crate::output::install_interrupt_cleanup();
    if let Some(f) = &output.output {
        check_writable(f)?;
    }
    let mut failed = false;
    let mut printed = String::new();
    for file in files {
        let s = simulate(file, sim, output.quiet || output.format != Format::Table, true)?;
        failed |= report_one(&s, files.len(), out, output, &mut printed)?;
    }
    if let Some(f) = &output.output {
        write_file(f, printed.as_bytes())?;
    }
    Ok(failed)
}

/// Writes one scenario's report (of `files` in the command) and prints its summary (or adds
/// it to `printed` for `-o FILE`).
fn report_one(
    s: &Simulated,
    files: usize,
    out: Option<&Path>,
    output: &Output,
    printed: &mut String,
) -> Result<bool, Stop> {
    {
        let dir = match (out, files) {
            (Some(o), 1) => o.to_owned(),
            (Some(o), _) => o.join(safe_name(&s.model.name)),
            (None, _) => Path::new("reports").join(safe_name(&s.model.name)),
        };
        let charts = bundle::run_charts(&s.model, &s.mc, &s.summary, &s.reps).map_err(internal)?;
        let mut files_out: Vec<(String, Vec<u8>)> = vec![
            ("index.html".into(), html::run_page(&s.summary, &charts, &s.warnings).into_bytes()),
            ("report.md".into(), markdown::run_page(&s.summary, &charts, &s.warnings).into_bytes()),
            ("summary.json".into(), crate::report::Render::run(&Json, &s.summary).into_bytes()),
        ];
        for c in &charts {
            files_out.push((format!("{}.svg", c.stem), c.svg.clone().into_bytes()));
            files_out.push((format!("{}.png", c.stem), c.png.clone()));
        }
        write_all(&dir, files_out)?;
        let text = renderer(output.format).run(&s.summary);
        if output.output.is_some() {
            printed.push_str(&text);
        } else if !output.quiet {
            print(&text)?;
        }
        say!("wrote {}", dir.join("index.html").display());
    }
    Ok(slo_failed(&[&s.summary]))
}

fn compare_cmd(files: &[PathBuf], out: Option<&Path>, sim: &Sim, output: &Output) -> Result<bool, Stop> {
    if out.is_some() || output.output.is_some() {
        crate::output::install_interrupt_cleanup();
    }
    if let Some(f) = &output.output {
        check_writable(f)?;
    }
    // Paired intervals under load need replications to pair.
    let sim =
        &Sim { replications: Some(sim.replications.unwrap_or(crate::sweep::DEFAULT_REPLICATIONS)), ..sim.clone() };
    if let Some(spec) = shard_spec(&sim.shard)? {
        let paths: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
        let job = Job::Compare { out: out.map(Path::to_owned), sim: sim.clone(), output: output.clone() };
        return write_sim_shard(&job, &paths, sim, spec, true);
    }
    let sims: Vec<Simulated> = files.iter().map(|f| simulate(f, sim, true, true)).collect::<Result<_, _>>()?;
    emit_compare(&sims, out, sim, output)
}

fn emit_compare(sims: &[Simulated], out: Option<&Path>, sim: &Sim, output: &Output) -> Result<bool, Stop> {
    let pairs: Vec<(&RunSummary, &McResult)> = sims.iter().map(|s| (&s.summary, &s.mc)).collect();
    let reps: Vec<&[usize]> = sims.iter().map(|s| s.reps.as_slice()).collect();
    let c = crate::analysis::compare::compare_blocks(&pairs, &reps, sim.seed);
    emit(&renderer(output.format).compare(&c), output)?;
    if let Some(dir) = out {
        let charts = bundle::compare_charts(&pairs).map_err(internal)?;
        let files_out: Vec<(String, Vec<u8>)> = vec![
            ("index.html".into(), html::compare_page(&c, &charts).into_bytes()),
            ("report.md".into(), markdown::compare_page(&c, &charts).into_bytes()),
            ("comparison.json".into(), crate::report::json::to_json(&c).into_bytes()),
        ];
        let mut files_out = files_out;
        for ch in &charts {
            files_out.push((format!("{}.svg", ch.stem), ch.svg.clone().into_bytes()));
            files_out.push((format!("{}.png", ch.stem), ch.png.clone()));
        }
        write_all(dir, files_out)?;
        say!("wrote {}", dir.join("index.html").display());
    }
    // The baseline is the reference: its failed SLOs are shown, and only the designs under
    // test decide the exit code.
    let baseline = &sims[0].summary;
    let base_failed: Vec<&str> = baseline.slo.iter().filter(|r| !r.pass).map(|r| r.expr.as_str()).collect();
    if !base_failed.is_empty() {
        eprintln!(
            "baseline {} fails: {} (shown, not counted: only the designs under test decide the exit code)",
            baseline.scenario,
            base_failed.join("; ")
        );
    }
    let tested: Vec<&RunSummary> = sims[1..].iter().map(|s| &s.summary).collect();
    Ok(slo_failed(&tested))
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SweepArgs {
    task: Option<String>,
    machines: Vec<String>,
    set: Vec<String>,
    balance: f64,
    slo: Vec<String>,
    isolated: bool,
    replications: u64,
    allow_oom_rescue: bool,
}

/// Loads the scenario (printing its warnings once) and returns its text for the variants.
/// Loads a scenario for `sweep` and `sensitivity`, printing its warnings (the loader's, and
/// those of a simulation of the scenario as written, as `run` does).
fn load_source(file: &Path, cfg: Config) -> Result<(Model, String), Stop> {
    let loaded = load(file)?;
    if cfg.runs == 0 {
        return Err(Stop::new(2, "error: --runs must be at least 1".to_owned()));
    }
    // The simulated warnings are about maxDuration: without one there is nothing to look for.
    // An error here (the event budget) is the variants' to report.
    if loaded.model.tasks.iter().any(|t| t.max_duration_s.is_some())
        && let Ok(mc) = montecarlo::run_keeping(&loaded.model, cfg, false, &|_| {})
    {
        print_simulated_warnings(&loaded, &mc, cfg.seed);
    }
    let src = std::fs::read_to_string(file)
        .map_err(|e| Stop::new(2, format!("error: cannot read {}: {e}", file.display())))?;
    Ok((loaded.model, src))
}

fn sweep_error(e: crate::sweep::SweepError) -> Stop {
    Stop::new(2, format!("{e}"))
}

/// The sweep options from the command line's.
fn sweep_options(a: &SweepArgs) -> Result<crate::sweep::SweepOptions, Stop> {
    let slos = parse_slos(&a.slo)?;
    let sets = a
        .set
        .iter()
        .map(|s| crate::sweep::parse_set(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| Stop::new(2, format!("error: --set {m}")))?;
    Ok(crate::sweep::SweepOptions {
        task: a.task.clone(),
        machines: a.machines.clone(),
        sets,
        balance: a.balance,
        slos,
        isolated: a.isolated,
        replications: a.replications,
        allow_oom_rescue: a.allow_oom_rescue,
    })
}

fn sweep_cmd(file: &Path, a: SweepArgs, out: Option<&Path>, runs: &Runs, output: &Output) -> Result<bool, Stop> {
    use crate::sweep;
    let cfg = runs.config();
    let opts = sweep_options(&a)?;
    if let Some(spec) = shard_spec(&runs.shard)? {
        check_runs(cfg.runs)?;
        let src = read_text(file)?;
        let name = file.display().to_string();
        let p = sweep::plan(&src, &name, &opts, cfg).map_err(sweep_error)?;
        let r = crate::shard::split(p.len(), spec);
        let rows = r
            .clone()
            .map(|k| p.row(&src, &name, &opts, cfg, k, &|_| {}))
            .collect::<Result<Vec<_>, _>>()
            .map_err(sweep_error)?;
        let job = Job::Sweep { args: a, out: out.map(Path::to_owned), runs: runs.clone(), output: output.clone() };
        let m = manifest(&job, &[file], cfg.seed, spec, format!("variants {}..{} of {}", r.start, r.end, p.len()))?;
        return write_shard(&runs.shard, m, &crate::shard::Body::Rows { first: r.start, rows });
    }
    let (model, src) = load_source(file, cfg)?;
    if out.is_some() || output.output.is_some() {
        crate::output::install_interrupt_cleanup();
    }
    if let Some(f) = &output.output {
        check_writable(f)?;
    }
    let n_tasks = match a.task.as_deref() {
        Some("all") if model.task_id("all").is_none() => model.tasks.len(),
        _ => 1,
    };
    let n_machines = match (&a.task, a.machines.len()) {
        (Some(_), 0) => crate::platform::PRESETS.len(),
        (Some(_), _) => a.machines.iter().map(|m| m.trim()).collect::<std::collections::HashSet<_>>().len(),
        _ => 1,
    };
    let combos: usize = opts.sets.iter().map(|s| s.values.len()).product();
    let variants = (n_tasks * n_machines * combos) as u64;
    if output.format == Format::Table {
        say!("sweeping {variants} variants of {}, {} runs each (seed {})", model.name, cfg.runs, cfg.seed);
    }
    let bar = ProgressBar::new(variants * cfg.runs);
    let r = sweep::sweep(&src, &file.display().to_string(), &opts, cfg, &|n| bar.advance(n));
    bar.finish();
    let sweeps = r.map_err(sweep_error)?;
    emit_sweep(&model, &a, sweeps, out, output)
}

fn emit_sweep(
    model: &Model,
    a: &SweepArgs,
    sweeps: Vec<crate::sweep::Sweep>,
    out: Option<&Path>,
    output: &Output,
) -> Result<bool, Stop> {
    let all = a.task.as_deref() == Some("all") && model.task_id("all").is_none();
    let json = crate::report::Render::sweep(&Json, &sweeps, all);
    emit(&renderer(output.format).sweep(&sweeps, all), output)?;
    if let Some(dir) = out {
        let mut files_out: Vec<(String, Vec<u8>)> = vec![("sweep.json".into(), json.into_bytes())];
        for sw in &sweeps {
            let suffix = match (&sw.task, all) {
                (Some(t), true) => format!("-{}", safe_name(t)),
                _ => String::new(),
            };
            let mut charts =
                vec![crate::plot::render(&crate::plot::sweep::SweepChart { sweep: sw }).map_err(internal)?];
            if crate::plot::sweep::ValuesChart::applies(sw) {
                charts.push(crate::plot::render(&crate::plot::sweep::ValuesChart { sweep: sw }).map_err(internal)?);
            }
            for c in charts {
                files_out.push((format!("{}{suffix}.svg", c.stem), c.svg.into_bytes()));
                files_out.push((format!("{}{suffix}.png", c.stem), c.png));
            }
        }
        write_all(dir, files_out)?;
        say!("wrote {}", dir.display());
    }
    let none = sweeps.iter().filter(|s| s.recommended.cost.is_none()).count();
    if none > 0 {
        eprintln!("no feasible variant in {none} sweep(s)");
    }
    Ok(none > 0)
}

fn sensitivity_cmd(
    file: &Path,
    o: crate::sweep::SensitivityOptions,
    out: Option<&Path>,
    runs: &Runs,
    output: &Output,
) -> Result<bool, Stop> {
    use crate::sweep;
    let cfg = runs.config();
    if let Some(spec) = shard_spec(&runs.shard)? {
        let model = load(file)?.model;
        sweep::sensitivity_check(o, cfg).map_err(sweep_error)?;
        let total = sweep::sensitivity_variants(&model, o.delta);
        let r = crate::shard::split(total, spec);
        let blocks = sweep::sensitivity_part(&model, o, cfg, r.clone(), &|_| {}).map_err(sweep_error)?;
        let job =
            Job::Sensitivity { options: o, out: out.map(Path::to_owned), runs: runs.clone(), output: output.clone() };
        let m = manifest(&job, &[file], cfg.seed, spec, format!("variants {}..{} of {total}", r.start, r.end))?;
        return write_shard(&runs.shard, m, &crate::shard::Body::Blocks { first: r.start, blocks });
    }
    let (model, _) = load_source(file, cfg)?;
    if out.is_some() || output.output.is_some() {
        crate::output::install_interrupt_cleanup();
    }
    if let Some(f) = &output.output {
        check_writable(f)?;
    }
    let variants = sweep::sensitivity_variants(&model, o.delta);
    if output.format == Format::Table {
        say!("simulating {variants} variants of {}, {} runs each (seed {})", model.name, cfg.runs, cfg.seed);
    }
    let bar = ProgressBar::new(variants * cfg.runs);
    let r = sweep::sensitivity(&model, o, cfg, &|n| bar.advance(n));
    bar.finish();
    let s = r.map_err(sweep_error)?;
    emit_sensitivity(&s, out, output)
}

fn emit_sensitivity(s: &crate::sweep::Sensitivity, out: Option<&Path>, output: &Output) -> Result<bool, Stop> {
    let json = crate::report::json::to_json(s);
    emit(&renderer(output.format).sensitivity(s), output)?;
    if let Some(dir) = out {
        let c = crate::plot::render(&crate::plot::tornado::Tornado { sensitivity: s }).map_err(internal)?;
        let files_out: Vec<(String, Vec<u8>)> = vec![
            ("sensitivity.json".into(), json.into_bytes()),
            (format!("{}.svg", c.stem), c.svg.into_bytes()),
            (format!("{}.png", c.stem), c.png),
        ];
        write_all(dir, files_out)?;
        say!("wrote {}", dir.display());
    }
    Ok(false)
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
    Stop::new(3, format!("error: cannot write the report in {}: {e}", dir.display()))
}

fn internal<E: std::fmt::Display>(e: E) -> Stop {
    Stop::new(3, format!("internal error: {e}"))
}

/// A folder name from a scenario name.
fn safe_name(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if s.is_empty() { "scenario".into() } else { s }
}

fn parse_slos(exprs: &[String]) -> Result<Vec<Slo>, Stop> {
    exprs.iter().map(|e| crate::slo::parse(e).map_err(|m| Stop::new(2, format!("error: --slo '{e}': {m}")))).collect()
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

/// The output of a command: to `-o FILE` (written whole, then renamed into place), else to
/// stdout.
fn emit(text: &str, out: &Output) -> Result<(), Stop> {
    match &out.output {
        Some(f) => write_file(f, text.as_bytes()),
        None => print(text),
    }
}

/// Writes a file atomically (a temporary file beside it, renamed into place).
fn write_file(f: &Path, bytes: &[u8]) -> Result<(), Stop> {
    crate::output::write_file_atomic(f, bytes)
        .map_err(|e| Stop::new(3, format!("error: cannot write {}: {e}", f.display())))
}

/// Fails early (exit 2, before simulating) when `-o FILE`'s folder does not exist or FILE is
/// a folder.
fn check_writable(f: &Path) -> Result<(), Stop> {
    let dir = f.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if f.is_dir() {
        return Err(Stop::new(2, format!("error: {} is a folder; give a file name", f.display())));
    }
    if !dir.is_dir() {
        return Err(Stop::new(
            2,
            format!("error: cannot write {}: the folder {} does not exist", f.display(), dir.display()),
        ));
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) -> Result<(), Stop> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Stop::new(3, format!("error: cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Loads a scenario; prints warnings, or errors and stops with exit code 2.
fn load(file: &Path) -> Result<Loaded, Stop> {
    match scenario::load_file(file) {
        Ok(l) => {
            for w in &l.warnings {
                say!("{w}\n");
            }
            Ok(l)
        }
        Err(e) => Err(Stop::new(2, format!("{e}"))),
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
        if self.bar.get().is_none()
            && (quiet() || self.start.elapsed().as_secs_f64() < 1.0 || !std::io::stderr().is_terminal())
        {
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
