//! Paired differences between variants simulated on common random numbers.
//!
//! Variants of one design share their random streams: run i of every variant draws the same
//! numbers for the same work, and replication r of a load the same arrivals. So the
//! difference between two variants is estimated in blocks that are paired: under load, each
//! replication (the runs inside one share queues and are not independent, the replications
//! are); alone, [`BATCHES`] batches of consecutive run indices (batch means: a quantile
//! needs many runs, and batch j of every variant holds the same run indices). The interval
//! of a difference is Student's t over the per-block differences; its estimate is the
//! difference of the pooled values, the ones a table shows.

use crate::engine::{RunOutcome, Status};
use crate::sim::Simulation;
use serde::Serialize;

/// Batches of run indices for runs alone.
pub const BATCHES: usize = 20;

/// A measure of a variant that the commands compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// The 95th percentile of workflow duration.
    P95,
    /// The median workflow duration.
    P50,
    /// The mean workflow duration.
    Mean,
    /// The mean cost per workflow run.
    Cost,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::P95 => "p95",
            Metric::P50 => "p50",
            Metric::Mean => "mean",
            Metric::Cost => "cost",
        }
    }
}

/// The measures of one block of runs (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Values {
    pub p50: f64,
    pub p95: f64,
    pub mean: f64,
    pub cost: f64,
    pub success: f64,
}

impl Values {
    pub fn of(runs: &[RunOutcome]) -> Values {
        if runs.is_empty() {
            return Values::default();
        }
        let n = runs.len() as f64;
        let mut d: Vec<f64> = runs.iter().map(|o| o.duration_s).collect();
        let q = crate::stats::quantiles_select(&mut d, &[0.5, 0.95]);
        Values {
            p50: q[0].unwrap_or(0.0),
            p95: q[1].unwrap_or(0.0),
            mean: runs.iter().map(|o| o.duration_s).sum::<f64>() / n,
            cost: runs.iter().map(|o| o.cost_usd).sum::<f64>() / n,
            success: runs.iter().filter(|o| o.status == Status::Completed).count() as f64 / n,
        }
    }

    pub fn get(&self, m: Metric) -> f64 {
        match m {
            Metric::P95 => self.p95,
            Metric::P50 => self.p50,
            Metric::Mean => self.mean,
            Metric::Cost => self.cost,
        }
    }
}

/// A variant's measures pooled over all its runs and per block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blocks {
    pub pooled: Values,
    pub blocks: Vec<Values>,
}

impl Blocks {
    /// The blocks of a simulation: its replications under load, else [`BATCHES`] batches of
    /// consecutive runs (fewer when there are fewer runs). The pooled values are exact over
    /// the kept outcomes.
    pub fn of(s: &Simulation) -> Blocks {
        let o = &s.mc.outcomes;
        let blocks = if s.reps.is_empty() {
            let k = BATCHES.min(o.len());
            (0..k).map(|j| Values::of(&o[j * o.len() / k..(j + 1) * o.len() / k])).collect()
        } else {
            s.replications().into_iter().map(Values::of).collect()
        };
        Blocks { pooled: Values::of(o), blocks }
    }
}

/// A paired difference `a - b` and the half-width of its 95% interval (NaN when it cannot be
/// estimated: fewer than two blocks, or blocks that do not pair).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diff {
    pub value: f64,
    pub half: f64,
}

impl Diff {
    /// Is `a` above `b` beyond the noise? (With no interval, any difference counts.)
    pub fn above(&self) -> bool {
        self.value - if self.half.is_nan() { 0.0 } else { self.half } > 0.0
    }
    /// Is `a` below `b` beyond the noise?
    pub fn below(&self) -> bool {
        self.value + if self.half.is_nan() { 0.0 } else { self.half } < 0.0
    }
    /// Inside the noise: neither above nor below.
    pub fn tie(&self) -> bool {
        !self.above() && !self.below()
    }
}

/// The paired difference of `sum w_i * measure_i` between `a` and `b`.
pub fn diff_of(a: &Blocks, b: &Blocks, f: &dyn Fn(&Values) -> f64) -> Diff {
    let value = f(&a.pooled) - f(&b.pooled);
    let k = a.blocks.len();
    if k < 2 || b.blocks.len() != k {
        return Diff { value, half: f64::NAN };
    }
    let d: Vec<f64> = a.blocks.iter().zip(&b.blocks).map(|(x, y)| f(x) - f(y)).collect();
    let half = crate::stats::mean_ci95_t(&d).map_or(f64::NAN, |x| x.1);
    Diff { value, half }
}

/// The paired difference of one metric.
pub fn diff(a: &Blocks, b: &Blocks, m: Metric) -> Diff {
    diff_of(a, b, &|v| v.get(m))
}
