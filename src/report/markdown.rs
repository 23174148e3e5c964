//! `report.md`: the report for a Markdown review, charts as PNG files beside it.

use super::tables;
use crate::analysis::RunSummary;
use crate::format::usd;
use crate::plot::Rendered;
use std::fmt::Write;

pub fn summary(o: &mut String, s: &RunSummary) {
    let c = &s.cost_usd;
    o.push_str(&tables::summary(s).markdown());
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
    if !s.segments.is_empty() {
        o.push_str(&tables::segments(s).markdown());
        o.push('\n');
    }
    if !s.slo.is_empty() {
        o.push_str(&tables::slo(s, true).markdown());
        o.push('\n');
    }
}

pub fn tasks(o: &mut String, s: &RunSummary) {
    o.push_str(&tables::tasks(s).markdown());
    if tables::has_machine_rows(s) {
        let _ = writeln!(o, "\n{}", tables::MACHINE_ROWS_NOTE);
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

pub fn compare_page(c: &crate::analysis::Comparison, charts: &[Rendered]) -> String {
    let names: Vec<&str> = c.variants.iter().map(|v| v.scenario.as_str()).collect();
    let mut o = format!(
        "# {}\n\n{} runs each, seed {}; every design sees the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples. Speedup: the baseline ({}) over the design; cost ratio: the design over the baseline.\n\n",
        names.join(" vs "),
        c.runs,
        c.seed,
        c.bootstrap_resamples,
        c.baseline
    );
    o.push_str(&tables::compare(c).markdown());
    o.push('\n');
    compare_slo(&mut o, c);
    for ch in charts {
        chart(&mut o, ch);
    }
    o
}

/// The SLO table of a comparison, every design's (the baseline's shown, not deciding).
pub fn compare_slo(o: &mut String, c: &crate::analysis::Comparison) {
    let g = tables::compare_slo(c, true);
    if !g.rows.is_empty() {
        o.push_str("## SLOs\n\n");
        o.push_str(&g.markdown());
        let _ = writeln!(
            o,
            "\nOnly the designs under test decide the exit code; the baseline's SLOs are shown for reference.\n"
        );
    }
}

/// `--format markdown`: what a pull-request comment shows.
pub struct Markdown;

/// The verdict line over the SLOs: every one passes, or which fail.
fn slo_headline(o: &mut String, slo: &[crate::analysis::summary::SloResult]) {
    if slo.is_empty() {
        return;
    }
    let failed: Vec<String> = slo.iter().filter(|r| !r.pass).map(|r| format!("`{}` ({})", r.expr, r.shown)).collect();
    if failed.is_empty() {
        let _ = writeln!(o, "✅ **{} of {} SLOs pass**\n", slo.len(), slo.len());
    } else {
        let _ = writeln!(o, "❌ **{} of {} SLOs fail**: {}\n", failed.len(), slo.len(), failed.join(", "));
    }
}

impl super::Render for Markdown {
    fn run(&self, s: &RunSummary) -> String {
        let mut o = format!(
            "### wfsim: {}\n\n{} simulated runs, seed {}, wfsim {}; {}.\n\n",
            s.scenario, s.runs, s.seed, s.wfsim_version, s.environment.description
        );
        slo_headline(&mut o, &s.slo);
        summary(&mut o, s);
        o.push_str("<details><summary>Per task</summary>\n\n");
        tasks(&mut o, s);
        o.push_str("</details>\n\n");
        if !s.services.is_empty() {
            o.push_str("<details><summary>Services</summary>\n\n");
            o.push_str(&tables::services(s).markdown());
            if let Some(l) = tables::limit_wait_line(s) {
                let _ = writeln!(o, "\n{l}");
            }
            o.push_str("\n</details>\n\n");
        }
        if let Some(l) = &s.load {
            o.push_str("<details><summary>Under load</summary>\n\n```text\n");
            o.push_str(&super::load::table(l));
            o.push_str("```\n\n</details>\n\n");
        }
        for n in &s.notes {
            let _ = writeln!(o, "> Note: {n}\n");
        }
        o
    }

    fn compare(&self, c: &crate::analysis::Comparison) -> String {
        let names: Vec<&str> = c.variants.iter().map(|v| v.scenario.as_str()).collect();
        let mut o = format!(
            "### wfsim: {}\n\n{} runs each, seed {}; baseline {}. Every design sees the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples. Speedup: the baseline over the design; cost ratio: the design over the baseline.\n\n",
            names.join(" vs "),
            c.runs,
            c.seed,
            c.baseline,
            c.bootstrap_resamples
        );
        let tested: Vec<crate::analysis::summary::SloResult> =
            c.summaries.iter().skip(1).flat_map(|s| s.slo.iter().cloned()).collect();
        slo_headline(&mut o, &tested);
        o.push_str(&tables::compare(c).markdown());
        o.push('\n');
        compare_slo(&mut o, c);
        o
    }

    fn sweep(&self, sweeps: &[crate::sweep::Sweep], all: bool) -> String {
        let mut o = String::new();
        for sw in sweeps {
            let what = sw.task.as_ref().map_or(String::new(), |t| format!(", task {t}"));
            let _ = writeln!(
                o,
                "### wfsim sweep: {}{what}\n\n{} variants, {} runs each, seed {} (the same random numbers in every variant).\n",
                sw.scenario,
                sw.rows.len(),
                sw.runs,
                sw.seed
            );
            o.push_str(&super::sweep::grid(sw).markdown());
            o.push('\n');
            if let Some(note) = super::sweep::pinned_note(sw) {
                let _ = writeln!(o, "> {note}\n");
            }
            let r = &sw.recommended;
            for (name, p) in [("cost", &r.cost), ("speed", &r.speed), ("balanced", &r.balanced)] {
                let pick = p.as_ref().map_or("none feasible".to_owned(), |p| {
                    let row = &sw.rows[p.row];
                    format!(
                        "`{}` (p95 {}, {} per run)",
                        crate::sweep::variant_name(row),
                        crate::format::secs(row.duration_s.p95),
                        usd(row.cost_usd.mean)
                    )
                });
                let _ = writeln!(o, "- **{name}**: {pick}");
            }
            o.push('\n');
        }
        if all {
            o.push_str("### Picks per task\n\n");
            o.push_str(&super::sweep::all_grid(sweeps).markdown());
        }
        o
    }

    fn sensitivity(&self, s: &crate::sweep::Sensitivity) -> String {
        let each = match s.load {
            Some(r) => format!("{r} replications of the load each"),
            None => format!("{} runs each", s.runs),
        };
        let base = match s.metric {
            crate::paired::Metric::Cost => usd(s.base.value),
            _ => crate::format::secs(s.base.value),
        };
        let mut o = format!(
            "### wfsim sensitivity: {}\n\n{}. Each parameter down and up by {}% in turn, {each}, seed {}; base {} {base} (p95 duration {}, mean cost {} per run). Columns: change of the {} with a paired 95% interval; noise: both inside it.\n\n",
            s.scenario,
            s.environment,
            (s.delta * 100.0).round(),
            s.seed,
            s.metric.name(),
            crate::format::secs(s.base.p95_duration_s),
            usd(s.base.mean_cost_usd),
            s.metric.name(),
        );
        o.push_str(&super::sweep::sensitivity_grid(s).markdown());
        o
    }
}
