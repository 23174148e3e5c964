//! wfsim: simulate Trigger.dev v4 background-job workflows before writing them.
//!
//! The pipeline reads top to bottom: `scenario` (YAML to a compiled model) -> `model` (the
//! compiled tasks, steps and environment) -> `engine` (one workflow run, discrete-event) ->
//! `montecarlo` (many runs on rayon's threads, the same result for any thread count) ->
//! `analysis` (summaries, load, comparisons) -> `sweep` (variants of one scenario) -> `plot`
//! (charts) -> `report` (table, JSON, Markdown, HTML) -> `cli` (the `wfsim` commands). The
//! leaves every layer may use: `stats`, `rng`, `dist`, `platform`, `units`, `format`, `slo`,
//! `error`.
//!
//! The library's public face is the path a program needs to simulate a scenario and read the
//! numbers: [`scenario::load_file`] / [`scenario::load_str`] (a [`scenario::Loaded`] or a
//! [`error::LoadError`] holding located [`error::Diagnostic`]s), [`sim::simulate`] with a
//! [`montecarlo::Config`] (a [`sim::Simulation`]), and the summaries in [`analysis`]
//! ([`analysis::RunSummary`], [`analysis::TaskSummary`], [`analysis::LoadSummary`],
//! [`analysis::Comparison`]), whose fields are the keys of `wfsim run --json`.
//!
//! ```
//! use wfsim::montecarlo::{Config, DEFAULT_SEED};
//! use wfsim::sim::{Mode, simulate};
//!
//! let yaml = "
//! entry: ingest
//! tasks:
//!   ingest:
//!     machine: small-1x
//!     steps:
//!       - work: { duration: { uniform: [2s, 4s] } }
//!       - triggerAndWait: { task: transcribe }
//!   transcribe:
//!     machine: medium-1x
//!     steps:
//!       - work: { duration: 30s }
//! ";
//! let loaded = wfsim::scenario::load_str(yaml, "example.yaml").expect("the scenario loads");
//! let cfg = Config { runs: 2_000, seed: DEFAULT_SEED, threads: None };
//! let sim = simulate(&loaded.model, Mode::Alone, cfg, false, Vec::new(), &|_| {}).expect("it simulates");
//! let s = &sim.summary;
//! assert_eq!(s.runs, 2_000);
//! assert!(s.duration_s.p95 > 30.0, "the child alone works 30 s");
//! assert!(s.cost_usd.mean > 0.0);
//! let transcribe = s.tasks.iter().find(|t| t.name == "transcribe").expect("a task summary");
//! println!("p95 {:.1} s, {:.6} USD a run, transcribe {:.6} USD", s.duration_s.p95, s.cost_usd.mean, transcribe.cost_usd_mean);
//! ```

#![warn(missing_docs)]

pub mod analysis;
pub mod error;
pub mod montecarlo;
pub mod scenario;
pub mod sim;

// Internal modules: used by the `wfsim` binary, the benches, the examples and the tests.
// Public so those can reach them, hidden from the documentation, with no stability promise.
// Its doc comments are clap's `--help` text (`<scenario name>` is meant), not rustdoc.
#[doc(hidden)]
#[allow(rustdoc::invalid_html_tags)]
pub mod cli;
#[doc(hidden)]
pub mod dist;
#[doc(hidden)]
pub mod engine;
#[doc(hidden)]
pub mod fit;
#[doc(hidden)]
pub mod format;
#[doc(hidden)]
pub mod import;
#[doc(hidden)]
pub mod model;
#[doc(hidden)]
pub mod output;
#[doc(hidden)]
pub mod paired;
#[doc(hidden)]
pub mod platform;
#[doc(hidden)]
pub mod plot;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod rng;
#[doc(hidden)]
pub mod schema;
#[doc(hidden)]
pub mod shard;
#[doc(hidden)]
pub mod slo;
#[doc(hidden)]
pub mod stats;
#[doc(hidden)]
pub mod sweep;
#[doc(hidden)]
pub mod units;
