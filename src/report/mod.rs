//! What a design review reads: the summary of a Monte Carlo, and its renderings.
//! One module per output format (`table` text, `json`, `markdown`, `csv`), each behind
//! [`Render`]; the tables they share are built once in [`tables`] as [`grid::Grid`]s, which
//! every format (HTML pages included) draws its own way.

pub mod bundle;
pub mod csv;
pub mod grid;
pub mod html;
pub mod json;
pub mod load;
pub mod markdown;
pub mod runs;
pub mod sweep;
pub mod table;
pub mod tables;

use crate::analysis::{Comparison, RunSummary};

/// An output format: what each command prints in it (`--format`).
pub trait Render {
    /// `run` (and `report` on stdout).
    fn run(&self, s: &RunSummary) -> String;
    /// `compare`.
    fn compare(&self, c: &Comparison) -> String;
    /// `sweep`: one sweep, or with `--task all` one per task (`all`).
    fn sweep(&self, sweeps: &[crate::sweep::Sweep], all: bool) -> String;
    /// `sensitivity`.
    fn sensitivity(&self, s: &crate::sweep::Sensitivity) -> String;
}

/// The renderer of an output format.
pub fn renderer(format: Format) -> &'static dyn Render {
    match format {
        Format::Table => &table::Table,
        Format::Json => &json::Json,
        Format::Markdown => &markdown::Markdown,
        Format::Csv => &csv::Csv,
    }
}

/// `--format`: how a command prints its results.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// One JSON object.
    Json,
    /// GitHub-flavoured Markdown: the summary and the SLO table, for a pull-request comment.
    Markdown,
    /// CSV: one row per summary line (per design, variant or parameter).
    Csv,
}
