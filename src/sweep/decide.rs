//! Which variants are worth having: feasibility (SLOs, success rate), the Pareto front of mean
//! cost against p95 duration with ties inside the paired noise, and a pick per strategy.

use super::labels::{failures, pct, variant_name};
use super::outcome::{Pick, Recommended, Row, SUCCESS_SE, Sweep};
use crate::paired;

/// Feasibility, the Pareto front and the picks of a sweep's rows. Every comparison between
/// two rows is paired (common random numbers, see [`paired`]): a row is worse than another
/// only beyond the 95% interval of their difference; inside it they tie.
pub fn decide(sw: &mut Sweep) {
    sw.identical = sw.rows.len() > 1 && sw.rows.iter().all(|r| same_outcome(r, &sw.rows[0]));
    let best = (0..sw.rows.len()).max_by(|&a, &b| sw.rows[a].success_rate.total_cmp(&sw.rows[b].success_rate));
    if let Some(b) = best {
        let pb = sw.rows[b].success_rate;
        for i in 0..sw.rows.len() {
            let d = paired::diff_of(&sw.rows[i].blocks, &sw.rows[b].blocks, &|v| v.success);
            // The interval's standard error, from its half-width; no interval: none.
            let se = if d.half.is_nan() {
                0.0
            } else {
                d.half / crate::stats::t975(sw.rows[i].blocks.blocks.len() as u64 - 1)
            };
            let r = &mut sw.rows[i];
            let p = r.success_rate;
            let why = if p == 0.0 {
                Some(format!("no run completes ({})", failures(&r.statuses)))
            } else if p < pb - SUCCESS_SE * se {
                Some(format!("success {} vs best {} ({})", pct(p, 2), pct(pb, 2), failures(&r.statuses)))
            } else {
                None
            };
            if let Some(w) = why {
                r.feasible = false;
                r.infeasible_because = Some(match r.infeasible_because.take() {
                    Some(slo) => format!("{w}; {slo}"),
                    None => w,
                });
            }
        }
    }
    let n = sw.rows.len();
    let eligible: Vec<bool> = sw.rows.iter().map(|r| r.feasible && (!r.rescued || sw.allow_oom_rescue)).collect();
    let rows = &sw.rows;
    let cost = |v: &paired::Values| v.cost;
    let p95 = |v: &paired::Values| v.p95;
    let d =
        |i: usize, j: usize, f: &dyn Fn(&paired::Values) -> f64| paired::diff_of(&rows[i].blocks, &rows[j].blocks, f);
    // j dominates i: i is worse beyond the noise on one measure and not better on the other.
    let dominates = |j: usize, i: usize| {
        let (dc, dp) = (d(i, j, &cost), d(i, j, &p95));
        (dc.above() && !dp.below()) || (dp.above() && !dc.below())
    };
    let dominated_by: Vec<Option<usize>> =
        (0..n).map(|i| (0..n).find(|&j| j != i && eligible[j] && eligible[i] && dominates(j, i))).collect();
    // The picks are made among the front.
    let ok: Vec<usize> = (0..n).filter(|&i| eligible[i] && dominated_by[i].is_none()).collect();
    let min_cost = ok.iter().map(|&i| rows[i].blocks.pooled.cost).fold(f64::INFINITY, f64::min).max(f64::MIN_POSITIVE);
    let min_p95 = ok.iter().map(|&i| rows[i].blocks.pooled.p95).fold(f64::INFINITY, f64::min).max(f64::MIN_POSITIVE);
    let w = sw.balance;
    let score = move |v: &paired::Values| balanced_score(w, v.cost, v.p95, min_cost, min_p95);
    let name = |i: usize| variant_name(&rows[i]);
    // The pick on `first`: the lowest, or among the rows tied with it inside the noise, the
    // lowest on `then`; and why.
    let pick =
        |first: &dyn Fn(&paired::Values) -> f64, then: &dyn Fn(&paired::Values) -> f64, what: &str, other: &str| {
            let low = ok.iter().copied().min_by(|&a, &b| {
                first(&rows[a].blocks.pooled).total_cmp(&first(&rows[b].blocks.pooled)).then(a.cmp(&b))
            })?;
            let tied: Vec<usize> = ok.iter().copied().filter(|&i| i == low || !d(i, low, first).above()).collect();
            let win = tied
                .iter()
                .copied()
                .min_by(|&a, &b| {
                    then(&rows[a].blocks.pooled)
                        .total_cmp(&then(&rows[b].blocks.pooled))
                        .then(first(&rows[a].blocks.pooled).total_cmp(&first(&rows[b].blocks.pooled)))
                        .then(a.cmp(&b))
                })
                .unwrap_or(low);
            let others: Vec<String> = tied.iter().filter(|&&i| i != win).map(|&i| name(i)).collect();
            let why = if others.is_empty() {
                let beyond = if ok.len() > 1 {
                    " beyond the noise against every other variant on the front"
                } else if n > 1 {
                    ", the only variant on the front (it dominates the others)"
                } else {
                    ", the only variant"
                };
                format!("lowest {what}{beyond}")
            } else {
                format!("tied on {what} within the noise with {}; lowest {other} of them", others.join(", "))
            };
            Some(Pick { row: win, machine: rows[win].machine, set: rows[win].set.clone(), why })
        };
    let rec = Recommended {
        cost: pick(&cost, &p95, "mean cost", "p95"),
        speed: pick(&p95, &cost, "p95", "mean cost"),
        balanced: pick(&score, &cost, "balanced score", "mean cost"),
    };
    for (i, r) in sw.rows.iter_mut().enumerate() {
        r.pareto = eligible[i] && dominated_by[i].is_none();
        r.dominated_by = if eligible[i] { dominated_by[i] } else { None };
    }
    sw.recommended = rec;
}

/// Two rows with the same p50, p95 and mean duration, mean cost and success rate.
pub(super) fn same_outcome(a: &Row, b: &Row) -> bool {
    a.duration_s.p50 == b.duration_s.p50
        && a.duration_s.p95 == b.duration_s.p95
        && a.duration_s.mean == b.duration_s.mean
        && a.cost_usd.mean == b.cost_usd.mean
        && a.success_rate == b.success_rate
}

/// `w * cost / min_cost + (1 - w) * p95 / min_p95`: 1 for a variant that is both the
/// cheapest and the fastest.
pub fn balanced_score(w: f64, cost: f64, p95: f64, min_cost: f64, min_p95: f64) -> f64 {
    w * cost / min_cost + (1.0 - w) * p95 / min_p95
}

/// Which points are on the Pareto front of (cost, duration), both to be minimised, among
/// those marked eligible: no eligible point is at least as good in both and better in one.
pub fn pareto_front(points: &[(f64, f64)], eligible: &[bool]) -> Vec<bool> {
    (0..points.len())
        .map(|i| {
            eligible[i]
                && !(0..points.len()).any(|j| {
                    let (a, b) = (points[j], points[i]);
                    eligible[j] && a.0 <= b.0 && a.1 <= b.1 && (a.0 < b.0 || a.1 < b.1)
                })
        })
        .collect()
}
