//! The human table printed by `wfsim run`.

use super::{Render, RunSummary};
use std::fmt::Write;

pub struct Table;

pub use crate::format::{secs, usd};

impl Render for Table {
    fn render(&self, s: &RunSummary) -> String {
        let mut o = String::new();
        let d = &s.duration_s;
        let _ = writeln!(o, "{}: {} runs, seed {}; {}", s.scenario, s.runs, s.seed, s.environment.description);
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "duration   p50 {}  p90 {}  p95 {}  p99 {}  mean {}{}  (min {}, max {})",
            secs(d.p50),
            secs(d.p90),
            secs(d.p95),
            secs(d.p99),
            secs(d.mean),
            plus_minus(d.mean_ci95, secs),
            secs(d.min),
            secs(d.max)
        );
        let c = &s.cost_usd;
        let _ = writeln!(
            o,
            "cost/run   mean {}{}  p50 {}  p95 {}  per 1,000 runs {}  (compute {}, invocations {})",
            usd(c.mean),
            plus_minus(c.mean_ci95, usd),
            usd(c.p50),
            usd(c.p95),
            usd(c.per_1000_runs),
            usd(c.compute_cost),
            usd(c.invocation_cost)
        );
        let st = &s.statuses;
        let _ = writeln!(
            o,
            "success    {:.2}%  COMPLETED {}  FAILED {}  CRASHED {}  TIMED_OUT {}",
            s.success_rate * 100.0,
            st.completed,
            st.failed,
            st.crashed,
            st.timed_out
        );
        let _ = writeln!(
            o,
            "entry run  executing {} of {} on average; waiting (start, checkpoints, children, retry delays) {}",
            secs(s.entry_run.executing_s_mean),
            secs(d.mean),
            secs(s.entry_run.waiting_s_mean)
        );
        let _ = writeln!(
            o,
            "compute    {} billed per run over {:.2} task runs and {:.2} attempts; all runs done after {} (p50)",
            secs(s.usage_duration_s.mean),
            s.task_runs_per_run,
            s.attempts_per_run,
            secs(s.makespan_s.p50)
        );
        if !s.progress_curve.is_empty() {
            let _ = write!(o, "progress   time to reach");
            for l in s.progress_curve.iter().filter(|l| [10.0, 50.0, 90.0, 100.0].contains(&l.percent)) {
                let _ = write!(o, "  {}%: {} (p90 {})", l.percent, secs(l.p50), secs(l.p90));
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
        let w = s.tasks.iter().map(|t| t.name.len()).max().unwrap_or(4).max(4);
        let _ = writeln!(
            o,
            "{:w$}  {:>9}  {:>8}  {:>8}  {:>7}  {:>9}  {:>9}  {:>10}  {:>6}  statuses",
            "task", "machine", "runs/wf", "retries", "OOM", "duration", "compute", "cost/wf", "share",
        );
        for t in &s.tasks {
            let _ = writeln!(
                o,
                "{:w$}  {:>9}  {:>8.2}  {:>8}  {:>7}  {:>9}  {:>9}  {:>10}  {:>5.1}%  {}",
                t.name,
                t.machine,
                t.runs_per_workflow,
                t.retries,
                t.out_of_memory,
                secs(t.duration_s_mean),
                secs(t.usage_duration_s_mean),
                usd(t.cost_usd_per_workflow),
                t.cost_share * 100.0,
                statuses(&t.statuses)
            );
        }
        if let Some(l) = &s.load {
            let _ = writeln!(o);
            o.push_str(&super::load::table(l));
        }
        if !s.slo.is_empty() {
            let _ = writeln!(o);
            for r in &s.slo {
                let v = r.value.map_or("-".to_owned(), |v| format!("{v:.6}"));
                let _ = writeln!(o, "slo  {}  {}  (value {v})", if r.pass { "PASS" } else { "FAIL" }, r.expr);
            }
        }
        o
    }
}

fn statuses(s: &super::Statuses) -> String {
    let mut parts = Vec::new();
    for (n, v) in [("ok", s.completed), ("failed", s.failed), ("crashed", s.crashed), ("timed out", s.timed_out)] {
        if v > 0 {
            parts.push(format!("{n} {v}"));
        }
    }
    parts.join(", ")
}

/// The side-by-side table of `wfsim compare`.
pub fn comparison(c: &super::bundle::Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} designs, {} runs each, seed {}; baseline {}", c.variants.len(), c.runs, c.seed, c.baseline);
    let _ = writeln!(
        o,
        "(the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples)\n",
        c.bootstrap_resamples
    );
    let w = c.variants.iter().map(|v| v.scenario.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(
        o,
        "{:w$}  {:>8}  {:>8}  {:>8}  {:>10}  {:>8}  {:>22}  {:>22}  {:>22}",
        "design", "p50", "p95", "mean", "cost/run", "success", "speedup p50", "speedup p95", "cost ratio"
    );
    for v in &c.variants {
        let [name, p50, p95, mean, cost, ok, s50, s95, cr] = compare_cells(v);
        let _ = writeln!(
            o,
            "{name:w$}  {p50:>8}  {p95:>8}  {mean:>8}  {cost:>10}  {ok:>8}  {s50:>22}  {s95:>22}  {cr:>22}"
        );
    }
    for s in &c.summaries {
        for slo in &s.slo {
            let v = slo.value.map_or("-".to_owned(), |v| format!("{v:.6}"));
            let _ = writeln!(
                o,
                "slo  {}  {}: {}  (value {v})",
                if slo.pass { "PASS" } else { "FAIL" },
                s.scenario,
                slo.expr
            );
        }
    }
    o
}

/// The cells of one design's row of a comparison: design, p50, p95, mean, cost per run,
/// success, speedup p50, speedup p95, cost ratio (shared by the table, HTML and Markdown).
pub fn compare_cells(v: &super::bundle::VariantRow) -> [String; 9] {
    let r = |x: &super::bundle::Ratio| format!("{:.2}x [{:.2}, {:.2}]", x.value, x.ci95_low, x.ci95_high);
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

/// ` ± half-width` of a 95% interval, or ` (no interval: 1 replication)` when it could not be
/// estimated (NaN: a load simulated in one replication).
pub fn plus_minus(ci: f64, fmt: fn(f64) -> String) -> String {
    if ci.is_nan() { " (no interval: 1 replication)".to_owned() } else { format!(" ± {}", fmt(ci)) }
}

/// The duration and cost rows of a summary: label, p50, p90, p95, p99, mean ± CI, max.
pub fn summary_cells(s: &super::RunSummary) -> [[String; 7]; 2] {
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
