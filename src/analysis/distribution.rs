//! The distribution of a time over workflow runs as every summary reports it: mean with its
//! interval, percentiles, extremes.

use crate::stats::Summary;
use serde::Serialize;

/// Distribution of a time over workflow runs, seconds (JSON: `duration_s`, `usage_duration_s`, `makespan_s`).
#[derive(Debug, Clone, Serialize)]
pub struct Dur {
    /// Mean, seconds.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean.
    pub mean_ci95: f64,
    /// Median, seconds.
    pub p50: f64,
    /// 90th percentile, seconds.
    pub p90: f64,
    /// 95th percentile, seconds.
    pub p95: f64,
    /// 99th percentile, seconds.
    pub p99: f64,
    /// Shortest, seconds.
    pub min: f64,
    /// Longest, seconds.
    pub max: f64,
}

impl From<Summary> for Dur {
    fn from(s: Summary) -> Self {
        Dur { mean: s.mean, mean_ci95: s.ci95, p50: s.p50, p90: s.p90, p95: s.p95, p99: s.p99, min: s.min, max: s.max }
    }
}
