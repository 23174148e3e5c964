//! `report.md`: the report for a Markdown review, charts as PNG files beside it.

use super::RunSummary;
use super::table::{secs, usd};
use crate::plot::Rendered;
use std::fmt::Write;

pub fn summary(o: &mut String, s: &RunSummary) {
    let c = &s.cost_usd;
    let _ = writeln!(o, "| | p50 | p90 | p95 | p99 | mean (95% CI) | max |\n|---|---|---|---|---|---|---|");
    for row in super::table::summary_cells(s) {
        let _ = writeln!(o, "| {} |", row.join(" | "));
    }
    o.push('\n');
    let st = &s.statuses;
    let _ = writeln!(
        o,
        "Success rate **{:.2}%** (COMPLETED {}, FAILED {}, CRASHED {}, TIMED_OUT {}); cost per 1,000 runs {}.\n",
        s.success_rate * 100.0,
        st.completed,
        st.failed,
        st.crashed,
        st.timed_out,
        usd(c.per_1000_runs)
    );
    if !s.slo.is_empty() {
        let _ = writeln!(o, "| SLO | value | verdict |\n|---|---|---|");
        for r in &s.slo {
            let v = r.value.map_or("-".into(), |v| format!("{v:.6}"));
            let _ = writeln!(o, "| `{}` | {v} | {} |", r.expr, if r.pass { "PASS" } else { "**FAIL**" });
        }
        o.push('\n');
    }
}

pub fn tasks(o: &mut String, s: &RunSummary) {
    let _ = writeln!(
        o,
        "| task | machine | runs/workflow | retries | OOM | duration | billed | cost/workflow | share |\n|---|---|---|---|---|---|---|---|---|"
    );
    for t in &s.tasks {
        let _ = writeln!(
            o,
            "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {:.1}% |",
            t.name,
            t.machine,
            t.runs_per_workflow,
            t.retries,
            t.out_of_memory,
            secs(t.duration_s_mean),
            secs(t.usage_duration_s_mean),
            usd(t.cost_usd_per_workflow),
            t.cost_share * 100.0
        );
    }
    o.push('\n');
}

pub fn chart(o: &mut String, c: &Rendered) {
    let _ = writeln!(o, "## {}\n\n![{}]({}.png)\n", super::html::heading(c.stem), c.title, c.stem);
}

pub fn run_page(s: &RunSummary, charts: &[Rendered], warnings: &[crate::error::Diagnostic]) -> String {
    let mut o = format!(
        "# {}\n\n{} simulated runs, seed {}, wfsim {}; {}.\n\n",
        s.scenario, s.runs, s.seed, s.wfsim_version, s.environment.description
    );
    summary(&mut o, s);
    if let Some(l) = &s.load {
        o.push_str("## Under load\n\n```text\n");
        o.push_str(&super::load::table(l));
        o.push_str("```\n\n");
    }
    if !warnings.is_empty() {
        o.push_str("## Design warnings\n\n");
        for w in warnings {
            let _ = writeln!(o, "- `{}:{}:{}` `{}`: {}", w.file, w.line, w.column, w.key, w.message);
            if let Some(h) = &w.help {
                let _ = writeln!(o, "  {h}");
            }
        }
        o.push('\n');
    }
    for c in charts {
        chart(&mut o, c);
        if c.stem == "breakdown" {
            tasks(&mut o, s);
        }
    }
    for n in &s.notes {
        let _ = writeln!(o, "> Note: {n}\n");
    }
    o
}

pub fn compare_page(c: &super::bundle::Comparison, charts: &[Rendered]) -> String {
    let names: Vec<&str> = c.variants.iter().map(|v| v.scenario.as_str()).collect();
    let mut o = format!(
        "# {}\n\n{} runs each, seed {}; every design sees the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples. Speedup: the baseline ({}) over the design; cost ratio: the design over the baseline.\n\n",
        names.join(" vs "),
        c.runs,
        c.seed,
        c.bootstrap_resamples,
        c.baseline
    );
    let _ = writeln!(
        o,
        "| design | p50 | p95 | mean | cost/run | success | speedup p50 | speedup p95 | cost ratio |\n|---|---|---|---|---|---|---|---|---|"
    );
    for v in &c.variants {
        let _ = writeln!(o, "| {} |", super::table::compare_cells(v).join(" | "));
    }
    o.push('\n');
    for ch in charts {
        chart(&mut o, ch);
    }
    o
}
