//! `--format csv`: one row per summary line, numbers in seconds and US dollars as the JSON
//! has them (no rounding), so a spreadsheet or a script can take them as they are.

use super::grid::{Align, Grid, num};
use crate::analysis::RunSummary;
use crate::analysis::summary::Dur;

pub struct Csv;

const RUN_COLUMNS: [&str; 13] = [
    "scenario",
    "line",
    "unit",
    "mean",
    "mean_ci95",
    "p50",
    "p90",
    "p95",
    "p99",
    "min",
    "max",
    "ci95_low",
    "ci95_high",
];

fn grid(columns: &[&str]) -> Grid {
    Grid::new(&columns.iter().map(|c| (*c, Align::Left)).collect::<Vec<_>>())
}

/// A row of the run schema: scenario, line, unit, then (column, value) pairs.
fn row(scenario: &str, line: &str, unit: &str, values: &[(&str, f64)]) -> Vec<String> {
    let mut r = vec![String::new(); RUN_COLUMNS.len()];
    r[0] = scenario.to_owned();
    r[1] = line.to_owned();
    r[2] = unit.to_owned();
    for (c, v) in values {
        if let Some(i) = RUN_COLUMNS.iter().position(|x| x == c) {
            r[i] = num(*v);
        }
    }
    r
}

fn dur_row(scenario: &str, line: &str, d: &Dur) -> Vec<String> {
    row(
        scenario,
        line,
        "s",
        &[
            ("mean", d.mean),
            ("mean_ci95", d.mean_ci95),
            ("p50", d.p50),
            ("p90", d.p90),
            ("p95", d.p95),
            ("p99", d.p99),
            ("min", d.min),
            ("max", d.max),
        ],
    )
}

/// The summary lines of one run: duration, cost, billed compute, makespan, success and
/// statuses, attempts and task runs, the entry run's split, progress levels, the load's
/// waits and throughput, and the SLOs (value in seconds or dollars; unit `pass`/`fail`).
fn run_rows(g: &mut Grid, s: &RunSummary) {
    let n = s.scenario.as_str();
    let c = &s.cost_usd;
    g.push(dur_row(n, "duration", &s.duration_s));
    g.push(row(
        n,
        "cost",
        "usd",
        &[("mean", c.mean), ("mean_ci95", c.mean_ci95), ("p50", c.p50), ("p95", c.p95), ("max", c.max)],
    ));
    g.push(row(n, "compute_cost", "usd", &[("mean", c.compute_cost)]));
    g.push(row(n, "invocation_cost", "usd", &[("mean", c.invocation_cost)]));
    g.push(dur_row(n, "usage_duration", &s.usage_duration_s));
    g.push(dur_row(n, "makespan", &s.makespan_s));
    g.push(row(n, "success_rate", "fraction", &[("mean", s.success_rate)]));
    let st = &s.statuses;
    for (name, v) in [
        ("COMPLETED", st.completed),
        ("FAILED", st.failed),
        ("CRASHED", st.crashed),
        ("TIMED_OUT", st.timed_out),
        ("EXPIRED", st.expired),
    ] {
        g.push(row(n, &format!("status_{name}"), "runs", &[("mean", v as f64)]));
    }
    g.push(row(n, "attempts_per_run", "attempts", &[("mean", s.attempts_per_run)]));
    g.push(row(n, "task_runs_per_run", "runs", &[("mean", s.task_runs_per_run)]));
    g.push(row(n, "entry_run_executing", "s", &[("mean", s.entry_run.executing_s_mean)]));
    g.push(row(n, "entry_run_waiting", "s", &[("mean", s.entry_run.waiting_s_mean)]));
    for l in &s.progress_curve {
        if [10.0, 25.0, 50.0, 75.0, 90.0, 100.0].contains(&l.percent) {
            // The time the bar reaches the level: its p50 and p90 over successful runs.
            g.push(row(n, &format!("progress_{}", l.percent), "s", &[("p50", l.p50), ("p90", l.p90)]));
        }
    }
    if let Some(l) = &s.load {
        let w = &l.queue_wait_s;
        g.push(row(
            n,
            "slot_wait",
            "s",
            &[("mean", w.mean), ("mean_ci95", w.mean_ci95), ("p50", w.p50), ("p95", w.p95), ("p99", w.p99)],
        ));
        g.push(row(
            n,
            "throughput",
            "runs_per_min",
            &[("mean", l.throughput_per_min), ("mean_ci95", l.throughput_per_min_ci95)],
        ));
        g.push(row(n, "environment_utilisation", "fraction", &[("mean", l.utilisation.environment)]));
    }
    for x in &s.segments {
        let line = |what: &str| format!("segment {} = {}: {what}", x.by, x.segment);
        g.push(row(n, &line("runs"), "runs", &[("mean", x.runs as f64)]));
        if let Some(d) = &x.duration_s {
            g.push(dur_row(n, &line("duration"), d));
        }
        if let (Some(m), Some(ci), Some(p95)) = (x.cost_usd_mean, x.cost_usd_mean_ci95, x.cost_usd_p95) {
            g.push(row(n, &line("cost"), "usd", &[("mean", m), ("mean_ci95", ci), ("p95", p95)]));
        }
        if let Some(r) = x.success_rate {
            g.push(row(n, &line("success_rate"), "fraction", &[("mean", r)]));
        }
    }
    for r in &s.slo {
        let mut x = row(n, &format!("slo: {}", r.expr), if r.pass { "pass" } else { "fail" }, &[]);
        x[3] = r.value.map_or(String::new(), num);
        g.push(x);
    }
}

impl super::Render for Csv {
    fn run(&self, s: &RunSummary) -> String {
        let mut g = grid(&RUN_COLUMNS);
        run_rows(&mut g, s);
        g.csv()
    }

    /// Every design's summary lines, then per design under test its speedups and cost ratio
    /// (`ratio`, the value in `mean`, the 95% interval in `ci95_low`, `ci95_high`).
    fn compare(&self, c: &crate::analysis::Comparison) -> String {
        let mut g = grid(&RUN_COLUMNS);
        for s in &c.summaries {
            run_rows(&mut g, s);
        }
        for v in c.variants.iter().skip(1) {
            for (line, r) in
                [("speedup_p50", &v.speedup_p50), ("speedup_p95", &v.speedup_p95), ("cost_ratio", &v.cost_ratio)]
            {
                g.push(row(
                    &v.scenario,
                    line,
                    "ratio",
                    &[("mean", r.value), ("ci95_low", r.ci95_low), ("ci95_high", r.ci95_high)],
                ));
            }
        }
        g.csv()
    }

    /// One row per variant (per task and variant with `--task all`).
    fn sweep(&self, sweeps: &[crate::sweep::Sweep], _all: bool) -> String {
        let set_paths: Vec<String> = sweeps
            .first()
            .and_then(|s| s.rows.first())
            .map(|r| r.set.0.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut columns: Vec<&str> = vec!["scenario", "task", "machine"];
        columns.extend(set_paths.iter().map(String::as_str));
        columns.extend([
            "duration_p50_s",
            "duration_p95_s",
            "duration_mean_s",
            "cost_mean_usd",
            "cost_per_1000_runs_usd",
            "success_rate",
            "oom_rate",
            "timed_out_rate",
            "feasible",
            "pareto",
            "picked_for",
            "infeasible_because",
        ]);
        let mut g = grid(&columns);
        for sw in sweeps {
            for (i, r) in sw.rows.iter().enumerate() {
                let mut cells = vec![
                    sw.scenario.clone(),
                    sw.task.clone().unwrap_or_default(),
                    r.machine.unwrap_or_default().to_owned(),
                ];
                cells.extend(r.set.0.iter().map(|(_, v)| v.clone()));
                let rec = &sw.recommended;
                let picks: Vec<&str> = [("cost", &rec.cost), ("speed", &rec.speed), ("balanced", &rec.balanced)]
                    .iter()
                    .filter(|(_, p)| p.as_ref().is_some_and(|p| p.row == i))
                    .map(|(n, _)| *n)
                    .collect();
                cells.extend([
                    num(r.duration_s.p50),
                    num(r.duration_s.p95),
                    num(r.duration_s.mean),
                    num(r.cost_usd.mean),
                    num(r.cost_usd.per_1000_runs),
                    num(r.success_rate),
                    num(r.oom_rate),
                    num(r.timed_out_rate),
                    r.feasible.to_string(),
                    r.pareto.to_string(),
                    picks.join(" "),
                    r.infeasible_because.clone().unwrap_or_default(),
                ]);
                g.push(cells);
            }
        }
        g.csv()
    }

    /// One row per parameter, largest effect first; changes as fractions (0.05 = 5% more).
    fn sensitivity(&self, s: &crate::sweep::Sensitivity) -> String {
        let mut g = grid(&[
            "rank",
            "key",
            "label",
            "kind",
            "as_written",
            "down",
            "up",
            "metric",
            "metric_down",
            "metric_down_ci95",
            "metric_up",
            "metric_up_ci95",
            "noise",
            "success_down",
            "success_up",
            "p95_down",
            "p95_up",
            "cost_down",
            "cost_up",
        ]);
        for (i, p) in s.parameters.iter().enumerate() {
            g.push(vec![
                (i + 1).to_string(),
                p.key.clone(),
                p.label.clone(),
                p.kind.name().to_owned(),
                p.values[0].clone(),
                p.values[1].clone(),
                p.values[2].clone(),
                s.metric.name().to_owned(),
                num(p.down.value),
                num(p.down.ci95),
                num(p.up.value),
                num(p.up.ci95),
                p.noise.to_string(),
                num(p.success_down),
                num(p.success_up),
                num(p.p95_down),
                num(p.p95_up),
                num(p.cost_down),
                num(p.cost_up),
            ]);
        }
        g.csv()
    }
}
