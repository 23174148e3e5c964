//! Designs side by side on common random numbers: speedups and cost ratios with paired
//! bootstrap intervals, run by run or replication by replication under load.

use super::RunSummary;
use crate::montecarlo::McResult;
use crate::rng::{mix, stream};
use crate::stats::quantile_sorted;
use rand::RngExt;
use serde::Serialize;

/// A ratio with the bounds of its 95% confidence interval (paired bootstrap).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Ratio {
    /// The ratio itself (a point estimate from all runs).
    pub value: f64,
    /// Lower bound of its 95% interval.
    pub ci95_low: f64,
    /// Upper bound of its 95% interval.
    pub ci95_high: f64,
}

/// One design of a comparison, against the baseline (the first design).
#[derive(Debug, Clone, Serialize)]
pub struct VariantRow {
    /// The design's scenario name (its `name:`, else the file name without extension).
    pub scenario: String,
    /// Median workflow run duration, seconds.
    pub duration_p50_s: f64,
    /// 95th percentile of the workflow run duration, seconds.
    pub duration_p95_s: f64,
    /// Mean workflow run duration, seconds.
    pub duration_mean_s: f64,
    /// Mean cost of a workflow run, US dollars.
    pub cost_mean_usd: f64,
    /// Share of workflow runs that completed (0 to 1).
    pub success_rate: f64,
    /// Baseline p50 duration over this design's (above 1: this design is faster).
    pub speedup_p50: Ratio,
    /// Baseline p95 duration over this design's (above 1: this design is faster).
    pub speedup_p95: Ratio,
    /// This design's mean cost over the baseline's.
    pub cost_ratio: Ratio,
}

/// Designs compared on common random numbers: the output of `wfsim compare` (its `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The baseline design's scenario name (the first design given).
    pub baseline: String,
    /// Workflow runs simulated per design.
    pub runs: u64,
    /// The seed every design was simulated with.
    pub seed: u64,
    /// Resamples of the paired bootstrap behind the confidence intervals.
    pub bootstrap_resamples: usize,
    /// Under load: the replications each design was simulated in, which the bootstrap
    /// resamples (null: runs alone, resampled run by run).
    pub load_replications: Option<u64>,
    /// Every design came out the same (p50, p95, mean duration, mean cost, success rate).
    pub identical: bool,
    /// Every design, the baseline first, with its ratios to the baseline.
    pub variants: Vec<VariantRow>,
    /// Every design's full summary, in the same order as `variants`.
    pub summaries: Vec<RunSummary>,
}

/// Resamples of the paired bootstrap behind every ratio's interval.
pub const RESAMPLES: usize = 400;

fn quantile_of(v: &mut [f64], p: f64) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    quantile_sorted(v, p).unwrap_or(0.0)
}

/// Compares designs with the first as baseline. Run i of every design used the same random
/// streams (common random numbers), so the bootstrap resamples runs in pairs.
pub fn compare(results: &[(&RunSummary, &McResult)], seed: u64) -> Comparison {
    compare_blocks(results, &vec![&[][..]; results.len()], seed)
}

/// [`compare`], with each design's runs per load replication (`Simulation::reps` in `sim`; empty
/// for runs alone). Under load the runs of one replication share queues and are not
/// independent, so the bootstrap resamples whole replications, paired across designs
/// (replication r of every design has the same arrivals); alone it resamples runs.
pub fn compare_blocks(results: &[(&RunSummary, &McResult)], reps: &[&[usize]], seed: u64) -> Comparison {
    let (base_s, base) = results[0];
    let n = base.outcomes.len();
    let r = reps.first().map_or(0, |x| x.len());
    let by_rep = r > 0 && reps.iter().all(|x| x.len() == r);
    let mut rng = stream(mix(seed, 0xB007));
    let units = if by_rep { r } else { n };
    let draws: Vec<Vec<usize>> =
        (0..RESAMPLES).map(|_| (0..units).map(|_| rng.random_range(0..units)).collect()).collect();
    // Outcome indices of design d for a draw of units (runs, or replications).
    let offsets: Vec<Vec<usize>> = reps
        .iter()
        .map(|x| {
            let mut at = 0;
            x.iter()
                .map(|&k| {
                    at += k;
                    at - k
                })
                .collect()
        })
        .collect();
    let expand = |d: usize, m: usize, units: &[usize]| -> Vec<usize> {
        if by_rep {
            units.iter().flat_map(|&u| offsets[d][u]..offsets[d][u] + reps[d][u]).collect()
        } else {
            units.iter().copied().filter(|&i| i < m).collect()
        }
    };
    let all_units: Vec<usize> = (0..units).collect();
    let variants = results
        .iter()
        .enumerate()
        .map(|(d, (s, mc))| {
            let m = if by_rep { mc.outcomes.len() } else { n.min(mc.outcomes.len()) };
            let ratio = |f: &dyn Fn(&[usize], &[usize]) -> f64| {
                let whole = |u: &[usize]| (expand(0, base.outcomes.len(), u), expand(d, m, u));
                let (b, v) = whole(&all_units);
                let value = f(&b, &v);
                let mut boot: Vec<f64> = draws
                    .iter()
                    .map(|u| {
                        let (b, v) = whole(u);
                        f(&b, &v)
                    })
                    .filter(|x| x.is_finite())
                    .collect();
                boot.sort_unstable_by(f64::total_cmp);
                if units < 2 {
                    // One replication (or run): nothing to resample.
                    return Ratio { value, ci95_low: f64::NAN, ci95_high: f64::NAN };
                }
                Ratio {
                    value,
                    ci95_low: quantile_sorted(&boot, 0.025).unwrap_or(value),
                    ci95_high: quantile_sorted(&boot, 0.975).unwrap_or(value),
                }
            };
            let dur =
                |mc: &McResult, idx: &[usize]| idx.iter().map(|&i| mc.outcomes[i].duration_s).collect::<Vec<f64>>();
            let speed = |p: f64| {
                ratio(&|bi: &[usize], vi: &[usize]| {
                    let b = quantile_of(&mut dur(base, bi), p);
                    let v = quantile_of(&mut dur(mc, vi), p);
                    if v > 0.0 { b / v } else { f64::NAN }
                })
            };
            let cost_ratio = ratio(&|bi: &[usize], vi: &[usize]| {
                let b: f64 = bi.iter().map(|&i| base.outcomes[i].cost_usd).sum::<f64>() / bi.len().max(1) as f64;
                let v: f64 = vi.iter().map(|&i| mc.outcomes[i].cost_usd).sum::<f64>() / vi.len().max(1) as f64;
                if b > 0.0 { v / b } else { f64::NAN }
            });
            VariantRow {
                scenario: s.scenario.clone(),
                duration_p50_s: s.duration_s.p50,
                duration_p95_s: s.duration_s.p95,
                duration_mean_s: s.duration_s.mean,
                cost_mean_usd: s.cost_usd.mean,
                success_rate: s.success_rate,
                speedup_p50: speed(0.5),
                speedup_p95: speed(0.95),
                cost_ratio,
            }
        })
        .collect::<Vec<VariantRow>>();
    let same = |a: &VariantRow, b: &VariantRow| {
        a.duration_p50_s == b.duration_p50_s
            && a.duration_p95_s == b.duration_p95_s
            && a.duration_mean_s == b.duration_mean_s
            && a.cost_mean_usd == b.cost_mean_usd
            && a.success_rate == b.success_rate
    };
    let identical = variants.len() > 1 && variants.iter().all(|v| same(v, &variants[0]));
    Comparison {
        baseline: base_s.scenario.clone(),
        runs: n as u64,
        seed,
        bootstrap_resamples: RESAMPLES,
        load_replications: if by_rep { Some(r as u64) } else { None },
        identical,
        variants,
        summaries: results.iter().map(|(s, _)| (*s).clone()).collect(),
    }
}
