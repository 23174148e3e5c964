//! The durations of each segment of `--by` (`tier`: free, pro) as overlaid CDFs, with each
//! segment's runs, p50 and p95 in the legend.

use super::cdf::{Series, draw};
use super::{Chart, DrawResult};
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct Segments<'a> {
    pub scenario: &'a str,
    /// What the runs were split by (`tier`, `pages > 50`).
    pub by: &'a str,
    /// Each segment's label and its durations in seconds, sorted (segments without runs are
    /// left out by the caller).
    pub segments: &'a [(String, Vec<f64>)],
}

impl Chart for Segments<'_> {
    fn stem(&self) -> &'static str {
        "segments"
    }
    fn title(&self) -> String {
        format!("Duration of {} by {}: share of runs finished within a time", self.scenario, self.by)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let secs = crate::format::secs;
        let series: Vec<Series> = self
            .segments
            .iter()
            .map(|(label, sorted)| Series {
                label: format!(
                    "{label}: {} runs, p50 {}, p95 {}",
                    sorted.len(),
                    secs(super::q(sorted, 0.5)),
                    secs(super::q(sorted, 0.95))
                ),
                sorted,
            })
            .collect();
        draw(root, &self.title(), &series)
    }
}
