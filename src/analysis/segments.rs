//! Runs split by their inputs (`--by tier`): each segment's durations, cost and success, and
//! the runs an SLO's filter selects (`p95(duration | tier == pro) < 5m`).
//!
//! Both read the kept outcomes, whose `marks` say which conditions each run's inputs met. With
//! more runs than are kept one by one (`montecarlo::EXACT_RUNS`), they come from the kept
//! ones, the first runs in run order, and the summary says so.

use super::distribution::Dur;
use crate::engine::{RunOutcome, Status};
use crate::model::Model;
use crate::stats::Summary;
use serde::Serialize;

/// One segment's figures (JSON: `segments`, in the order `--by` lists them).
#[derive(Debug, Clone, Serialize)]
pub struct SegmentSummary {
    /// What the runs were split by (`tier`, `pages > 50`).
    pub by: String,
    /// The segment (`pro`, `true`, `10 < pages <= 50`).
    pub segment: String,
    /// Workflow runs in the segment.
    pub runs: u64,
    /// Their share of all runs summarised (0 to 1).
    pub share: f64,
    /// Entry task's trigger to the end of its run, seconds (null figures without runs).
    pub duration_s: Option<Dur>,
    /// Mean cost of a workflow run of the segment, US dollars.
    pub cost_usd_mean: Option<f64>,
    /// Half-width of the 95% interval of that mean, US dollars.
    pub cost_usd_mean_ci95: Option<f64>,
    /// 95th percentile of the cost, US dollars.
    pub cost_usd_p95: Option<f64>,
    /// Share of the segment's runs whose entry run completed (0 to 1).
    pub success_rate: Option<f64>,
}

/// Does a run with these marks belong to the runs `mask` selects?
#[inline]
pub fn selects(mask: u64, o: &RunOutcome) -> bool {
    o.marks & mask == mask
}

/// The summaries of `model`'s segments over `outcomes` (empty without `--by`).
pub fn summarise(model: &Model, outcomes: &[RunOutcome]) -> Vec<SegmentSummary> {
    let total = outcomes.len().max(1) as f64;
    model
        .segments
        .iter()
        .map(|seg| {
            let runs: Vec<&RunOutcome> = outcomes.iter().filter(|o| selects(seg.mask, o)).collect();
            let n = runs.len();
            let dur = Summary::of(&mut runs.iter().map(|o| o.duration_s).collect::<Vec<_>>()).map(Dur::from);
            let cost = Summary::of(&mut runs.iter().map(|o| o.cost_usd).collect::<Vec<_>>());
            let ok = runs.iter().filter(|o| o.status == Status::Completed).count();
            SegmentSummary {
                by: seg.by.clone(),
                segment: seg.label.clone(),
                runs: n as u64,
                share: n as f64 / total,
                duration_s: dur,
                cost_usd_mean: cost.as_ref().map(|c| c.mean),
                cost_usd_mean_ci95: cost.as_ref().map(|c| c.ci95),
                cost_usd_p95: cost.as_ref().map(|c| c.p95),
                success_rate: (n > 0).then(|| ok as f64 / n as f64),
            }
        })
        .collect()
}
