//! wfsim: simulate Trigger.dev v4 background-job workflows before writing them.
//!
//! The pipeline reads top to bottom: [`scenario`] (YAML to a compiled [`model::Model`]) ->
//! [`engine`] (one workflow run, discrete-event) -> [`montecarlo`] (many runs, rayon,
//! deterministic) -> [`stats`] (pure) -> [`report`] (table, JSON).

pub mod analysis;
pub mod cli;
pub mod dist;
pub mod engine;
pub mod error;
pub mod fit;
pub mod format;
pub mod import;
pub mod model;
pub mod montecarlo;
pub mod output;
pub mod paired;
pub mod platform;
pub mod plot;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod schema;
pub mod shard;
pub mod sim;
pub mod slo;
pub mod stats;
pub mod sweep;
pub mod units;
