//! The human table printed by `wfsim run`.

use super::tables::plus_minus;
use super::{Render, RunSummary};
use crate::format::{secs, usd};
use std::fmt::Write;

pub struct Table;

impl Render for Table {
    fn compare(&self, c: &crate::analysis::Comparison) -> String {
        comparison(c)
    }
    fn sweep(&self, sweeps: &[crate::sweep::Sweep], all: bool) -> String {
        let mut t: Vec<String> = sweeps.iter().map(super::sweep::table).collect();
        if all {
            t.push(super::sweep::all_table(sweeps));
        }
        t.join("\n")
    }
    fn sensitivity(&self, s: &crate::sweep::Sensitivity) -> String {
        super::sweep::sensitivity_table(s)
    }
    fn run(&self, s: &RunSummary) -> String {
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
        if !s.segments.is_empty() {
            o.push_str(&super::tables::segments(s).text(2));
            let _ = writeln!(o);
        }
        o.push_str(&super::tables::tasks(s).text(2));
        if super::tables::has_machine_rows(s) {
            let _ = writeln!(o, "({})", super::tables::MACHINE_ROWS_NOTE);
        }
        if !s.services.is_empty() {
            let _ = writeln!(o);
            o.push_str(&super::tables::services(s).text(2));
            if let Some(l) = super::tables::limit_wait_line(s) {
                let _ = writeln!(o, "{l}");
            }
        }
        if let Some(l) = &s.load {
            let _ = writeln!(o);
            o.push_str(&super::load::table(l));
        }
        if !s.slo.is_empty() {
            let _ = writeln!(o);
            for r in &s.slo {
                let _ = writeln!(o, "slo  {}  {}  (value {})", if r.pass { "PASS" } else { "FAIL" }, r.expr, r.shown);
            }
        }
        o
    }
}

/// The side-by-side table of `wfsim compare`.
pub fn comparison(c: &crate::analysis::Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "compare, baseline {}; {}", c.baseline, environments(c));
    match c.load_replications {
        Some(r) => {
            let _ = writeln!(
                o,
                "{} designs under their load, {r} replications each, seed {} (the same arrivals replication by replication; 95% intervals from a bootstrap of {} resamples of whole replications, paired)\n",
                c.variants.len(),
                c.seed,
                c.bootstrap_resamples
            );
        }
        None => {
            let _ = writeln!(
                o,
                "{} designs, {} runs each, seed {} (the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples)\n",
                c.variants.len(),
                c.runs,
                c.seed,
                c.bootstrap_resamples
            );
        }
    }
    o.push_str(&super::tables::compare(c).text(2));
    if c.identical {
        let _ = writeln!(
            o,
            "all {} designs came out the same (p50, p95, mean duration, mean cost, success)",
            c.variants.len()
        );
    }
    let slo = super::tables::compare_slo(c, false);
    if !slo.rows.is_empty() {
        let _ = writeln!(o);
        o.push_str(&slo.text(2));
    }
    o
}

/// The environment the designs were simulated in: one line when they share it, else each
/// design's.
fn environments(c: &crate::analysis::Comparison) -> String {
    let first = c.summaries.first().map(|s| s.environment.description.clone()).unwrap_or_default();
    if c.summaries.iter().all(|s| s.environment.description == first) {
        first
    } else {
        let each: Vec<String> =
            c.summaries.iter().map(|s| format!("{}: {}", s.scenario, s.environment.description)).collect();
        format!("environments differ: {}", each.join("; "))
    }
}
