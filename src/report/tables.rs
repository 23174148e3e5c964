//! The tables every format shows, built once as [`Grid`]s: the summary, the SLOs, the
//! per-task table and the comparison. Text, Markdown, HTML and CSV draw the same cells.

use super::grid::{Align, Grid};
use crate::analysis::RunSummary;
use crate::analysis::{Comparison, VariantRow};
use crate::format::{secs, usd};

const L: Align = Align::Left;
const R: Align = Align::Right;

/// Duration and cost per run: p50, p90, p95, p99, mean ± 95% interval, max.
pub fn summary(s: &RunSummary) -> Grid {
    let mut g = Grid::new(&[("", L), ("p50", R), ("p90", R), ("p95", R), ("p99", R), ("mean (95% CI)", R), ("max", R)]);
    for row in summary_cells(s) {
        g.push(row.to_vec());
    }
    g
}

/// The SLOs: expression, value in the SLO's unit, verdict (`mark`: for a PR comment, the
/// expression as code and the verdict with ✅/❌).
pub fn slo(s: &RunSummary, mark: bool) -> Grid {
    let mut g = Grid::new(&[("SLO", L), ("value", R), ("verdict", L)]);
    for r in &s.slo {
        let verdict = match (r.pass, mark) {
            (true, false) => "PASS",
            (false, false) => "FAIL",
            (true, true) => "✅ PASS",
            (false, true) => "❌ FAIL",
        };
        let expr = if mark { format!("`{}`", r.expr) } else { r.expr.clone() };
        g.push(vec![expr, r.shown.clone(), verdict.into()]);
    }
    g
}

/// Per segment of `--by`: its share of runs, duration percentiles, mean (95% CI), cost and
/// success (`-` for a segment no run fell in).
pub fn segments(s: &RunSummary) -> Grid {
    let by = s.segments.first().map_or("segment", |x| x.by.as_str());
    let mut g = Grid::new(&[
        (by, L),
        ("runs", R),
        ("share", R),
        ("p50", R),
        ("p95", R),
        ("p99", R),
        ("mean (95% CI)", R),
        ("cost/run", R),
        ("success", R),
    ]);
    let dash = || "-".to_owned();
    for x in &s.segments {
        let d = x.duration_s.as_ref();
        g.push(vec![
            x.segment.clone(),
            x.runs.to_string(),
            format!("{:.1}%", x.share * 100.0),
            d.map_or_else(dash, |d| secs(d.p50)),
            d.map_or_else(dash, |d| secs(d.p95)),
            d.map_or_else(dash, |d| secs(d.p99)),
            d.map_or_else(dash, |d| format!("{}{}", secs(d.mean), plus_minus(d.mean_ci95, secs))),
            x.cost_usd_mean.map_or_else(dash, usd),
            x.success_rate.map_or_else(dash, |r| format!("{:.2}%", r * 100.0)),
        ]);
    }
    g
}

/// The per-task table; a task whose attempts ran on more than one preset (an out-of-memory
/// retry upgraded it) gets a row per preset under it: its attempts, out-of-memory attempts
/// and compute cost per workflow run there.
pub fn tasks(s: &RunSummary) -> Grid {
    let mut g = Grid::new(&[
        ("task", L),
        ("machine", R),
        ("runs/wf", R),
        ("retries", R),
        ("OOM", R),
        ("duration", R),
        ("compute", R),
        ("cost/wf", R),
        ("share", R),
        ("statuses", L),
    ]);
    for t in &s.tasks {
        g.push(vec![
            t.name.clone(),
            t.machine.into(),
            format!("{:.2}", t.runs_per_workflow),
            t.retries.to_string(),
            t.out_of_memory.to_string(),
            secs(t.duration_s_mean),
            secs(t.usage_duration_s_mean),
            usd(t.cost_usd_per_workflow),
            format!("{:.1}%", t.cost_share * 100.0),
            statuses(&t.statuses),
        ]);
        if machine_rows(t) {
            for m in &t.machines {
                g.push(vec![
                    format!("  on {}", m.machine),
                    String::new(),
                    String::new(),
                    String::new(),
                    m.out_of_memory.to_string(),
                    String::new(),
                    secs(m.usage_duration_s_mean),
                    usd(m.compute_cost_per_workflow),
                    String::new(),
                    format!("{} attempts", m.attempts),
                ]);
            }
        }
    }
    g
}

/// What a task's per-preset rows hold, said under a table that has them.
pub const MACHINE_ROWS_NOTE: &str = "on PRESET: a task's attempts per preset they ran on (an out-of-memory retry upgraded it, or a trigger step's machine: chose it): OOM attempts, billed compute per attempt, compute cost per workflow run";

/// Whether the per-task table has per-preset rows.
pub fn has_machine_rows(s: &RunSummary) -> bool {
    s.tasks.iter().any(machine_rows)
}

/// Does a task get rows per preset: its attempts ran on more than one, or on another preset
/// than its own (every run started with a trigger step's `machine:`)?
fn machine_rows(t: &crate::analysis::TaskSummary) -> bool {
    t.machines.len() > 1 || t.machines.iter().any(|m| m.machine != t.machine)
}

pub fn statuses(s: &crate::analysis::summary::Statuses) -> String {
    let mut parts = Vec::new();
    for (n, v) in [("ok", s.completed), ("failed", s.failed), ("crashed", s.crashed), ("timed out", s.timed_out)] {
        if v > 0 {
            parts.push(format!("{n} {v}"));
        }
    }
    if s.expired > 0 {
        parts.push(format!("expired {}", s.expired));
    }
    parts.join(", ")
}

/// The designs side by side; with services, each design's share of calls answered 429 (over
/// all its services) after its success rate.
pub fn compare(c: &Comparison) -> Grid {
    let limited = c.summaries.iter().any(|s| !s.services.is_empty());
    let mut columns = vec![("design", L), ("p50", R), ("p95", R), ("mean", R), ("cost/run", R), ("success", R)];
    if limited {
        columns.push(("429s", R));
    }
    columns.extend([("speedup p50", R), ("speedup p95", R), ("cost ratio", R)]);
    let mut g = Grid::new(&columns);
    for (i, v) in c.variants.iter().enumerate() {
        let mut row = compare_cells(v).to_vec();
        if limited {
            let share = c.summaries.get(i).and_then(|s| s.limited_share()).unwrap_or(0.0);
            row.insert(6, format!("{:.1}%", share * 100.0));
        }
        g.push(row);
    }
    g
}

/// The cells of one design's row of a comparison.
pub fn compare_cells(v: &VariantRow) -> [String; 9] {
    let r = |x: &crate::analysis::Ratio| {
        if x.ci95_low.is_nan() {
            format!("{:.2}x (no interval)", x.value)
        } else {
            format!("{:.2}x [{:.2}, {:.2}]", x.value, x.ci95_low, x.ci95_high)
        }
    };
    [
        v.scenario.clone(),
        secs(v.duration_p50_s),
        secs(v.duration_p95_s),
        secs(v.duration_mean_s),
        usd(v.cost_mean_usd),
        format!("{:.2}%", v.success_rate * 100.0),
        r(&v.speedup_p50),
        r(&v.speedup_p95),
        r(&v.cost_ratio),
    ]
}

/// The SLOs of every design of a comparison, the design first; the baseline's are shown
/// but only the designs under test decide the exit code.
pub fn compare_slo(c: &Comparison, mark: bool) -> Grid {
    let mut g = Grid::new(&[("design", L), ("SLO", L), ("value", R), ("verdict", L)]);
    for (i, s) in c.summaries.iter().enumerate() {
        for r in slo(s, mark).rows {
            let mut row = vec![if i == 0 { format!("{} (baseline)", s.scenario) } else { s.scenario.clone() }];
            row.extend(r);
            g.push(row);
        }
    }
    g
}

/// The services: calls per workflow run, 429s (share), retries they caused, calls that ran
/// out of retries, the peak offered rate against the limit, and the time runs waited for a
/// limit (p50/p95 per workflow run).
pub fn services(s: &RunSummary) -> Grid {
    let mut g = Grid::new(&[
        ("service", L),
        ("calls/wf", R),
        ("429s", R),
        ("429 share", R),
        ("retries", R),
        ("gave up", R),
        ("peak offered/min", R),
        ("limit/min", R),
    ]);
    for v in &s.services {
        let limit = match v.limit_per_minute {
            Some(l) if v.keys > 1 => format!("{} per key", crate::format::count(l)),
            Some(l) => crate::format::count(l),
            None => "-".into(),
        };
        g.push(vec![
            v.name.clone(),
            format!("{:.2}", v.calls_per_workflow),
            v.limited.to_string(),
            format!("{:.1}%", v.limited_share * 100.0),
            v.retries.to_string(),
            v.exhausted.to_string(),
            crate::format::count(v.peak_offered_per_minute),
            limit,
        ]);
    }
    g
}

/// One line: the time a workflow run waited for a service's limit (p50, p95, mean).
pub fn limit_wait_line(s: &RunSummary) -> Option<String> {
    let w = s.limit_wait_s.as_ref()?;
    if !w.p50.is_finite() {
        return None;
    }
    Some(format!(
        "waiting for a service limit per workflow run: p50 {}  p95 {}  mean {}",
        secs(w.p50),
        secs(w.p95),
        secs(w.mean)
    ))
}

/// ` ± half-width` of a 95% interval, or ` (no interval: 1 replication)` when it could not be
/// estimated (NaN: a load simulated in one replication).
pub fn plus_minus(ci: f64, fmt: fn(f64) -> String) -> String {
    if ci.is_nan() { " (no interval: 1 replication)".to_owned() } else { format!(" ± {}", fmt(ci)) }
}

/// The duration and cost rows of a summary: label, p50, p90, p95, p99, mean ± CI, max.
pub fn summary_cells(s: &crate::analysis::RunSummary) -> [[String; 7]; 2] {
    let d = &s.duration_s;
    let c = &s.cost_usd;
    [
        [
            "duration".into(),
            secs(d.p50),
            secs(d.p90),
            secs(d.p95),
            secs(d.p99),
            format!("{}{}", secs(d.mean), plus_minus(d.mean_ci95, secs)),
            secs(d.max),
        ],
        [
            "cost per run".into(),
            usd(c.p50),
            String::new(),
            usd(c.p95),
            String::new(),
            format!("{}{}", usd(c.mean), plus_minus(c.mean_ci95, usd)),
            usd(c.max),
        ],
    ]
}
