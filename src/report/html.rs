//! `index.html`: one self-contained page (inline SVG and CSS, no script, no network).

use super::grid::escape;
use super::tables;
use crate::analysis::RunSummary;
use crate::error::Diagnostic;
use crate::format::{secs, usd};
use crate::plot::Rendered;
use std::fmt::Write;

const CSS: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;color:#212529;max-width:1240px;margin:24px auto;padding:0 16px;line-height:1.45}\
h1{font-size:1.6em;margin-bottom:0}h2{margin-top:1.8em;border-bottom:1px solid #dee2e6;padding-bottom:4px}\
.sub{color:#6c757d;margin-top:4px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #dee2e6;padding:4px 10px;text-align:right}th{background:#f1f3f5}td:first-child,th:first-child{text-align:left}\
.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}figure{margin:16px 0}figure svg{max-width:100%;height:auto}\
figcaption{color:#495057;font-size:.92em}.note{color:#6c757d;font-size:.92em}\
.warnings li{margin:6px 0}.help{color:#6c757d;font-size:.92em}";

pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>\n",
        escape(title)
    )
}

pub fn figure(o: &mut String, c: &Rendered) {
    let svg = c.svg.trim_start_matches(|ch| ch != '<');
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    };
    let _ = writeln!(o, "<figure id=\"{}\">{svg}<figcaption>{}</figcaption></figure>", c.stem, escape(&c.title));
}

pub fn summary_table(o: &mut String, s: &RunSummary) {
    let d = &s.duration_s;
    let c = &s.cost_usd;
    o.push_str(&tables::summary(s).html(&|_, _| None));
    let st = &s.statuses;
    let _ = writeln!(
        o,
        "<p>Success rate <b>{:.2}%</b> (COMPLETED {}, FAILED {}, CRASHED {}, TIMED_OUT {}). Cost per 1,000 runs {}. The entry run executes {} of its {} on average and waits the rest.</p>",
        s.success_rate * 100.0,
        st.completed,
        st.failed,
        st.crashed,
        st.timed_out,
        usd(c.per_1000_runs),
        secs(s.entry_run.executing_s_mean),
        secs(d.mean)
    );
}

/// PASS and FAIL cells coloured.
fn verdict_class(_: usize, cell: &str) -> Option<&'static str> {
    match cell {
        "PASS" => Some("pass"),
        "FAIL" => Some("fail"),
        _ => None,
    }
}

pub fn slo_table(o: &mut String, s: &RunSummary) {
    if s.slo.is_empty() {
        return;
    }
    o.push_str("<h2>SLOs</h2>");
    o.push_str(&tables::slo(s, false).html(&verdict_class));
}

pub fn task_table(o: &mut String, s: &RunSummary) {
    o.push_str(&tables::tasks(s).html(&|_, _| None));
    if tables::has_machine_rows(s) {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", escape(tables::MACHINE_ROWS_NOTE));
    }
}

/// The report of one scenario.
pub fn run_page(s: &RunSummary, charts: &[Rendered], warnings: &[Diagnostic]) -> String {
    let mut o = head(&format!("wfsim: {}", s.scenario));
    let _ = writeln!(
        o,
        "<h1>{}</h1><p class=\"sub\">{} simulated runs, seed {}, wfsim {}; {}</p>",
        escape(&s.scenario),
        s.runs,
        s.seed,
        s.wfsim_version,
        escape(&s.environment.description)
    );
    summary_table(&mut o, s);
    if !s.segments.is_empty() {
        let _ = writeln!(o, "<h2>By {}</h2>", escape(&s.segments[0].by));
        o.push_str(&tables::segments(s).html(&|_, _| None));
    }
    if let Some(l) = &s.load {
        load_table(&mut o, l);
    }
    if !s.services.is_empty() {
        o.push_str("<h2>Services</h2>\n");
        o.push_str(&tables::services(s).html(&|_, _| None));
        if let Some(l) = tables::limit_wait_line(s) {
            let _ = writeln!(o, "<p>{}</p>", escape(&l));
        }
    }
    slo_table(&mut o, s);
    warning_list(&mut o, warnings);
    for c in charts {
        let _ = writeln!(o, "<h2>{}</h2>", escape(heading(c.stem)));
        figure(&mut o, c);
        if c.stem == "breakdown" {
            task_table(&mut o, s);
        }
    }
    notes(&mut o, &s.notes);
    o.push_str("</body></html>\n");
    o
}

/// The design warnings (the platform punishes these designs), each with its place in the
/// scenario file, for the design review.
pub fn warning_list(o: &mut String, warnings: &[Diagnostic]) {
    if warnings.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Design warnings</h2><ul class=\"warnings\">");
    for w in warnings {
        let _ = write!(
            o,
            "<li><code>{}:{}:{}</code> <code>{}</code>: {}",
            escape(&w.file),
            w.line,
            w.column,
            escape(&w.key),
            escape(&w.message)
        );
        if let Some(h) = &w.help {
            let _ = write!(o, "<br><span class=\"help\">{}</span>", escape(h));
        }
        o.push_str("</li>\n");
    }
    o.push_str("</ul>\n");
}

pub fn notes(o: &mut String, notes: &[String]) {
    for n in notes {
        let _ = writeln!(o, "<p class=\"note\">Note: {}</p>", escape(n));
    }
}

pub fn heading(stem: &str) -> &'static str {
    match stem {
        "duration" => "Duration",
        "progress" => "Progress bar",
        "timeline" => "Timeline of a typical run",
        "cost" => "Cost",
        "breakdown" => "Per task",
        "compare-duration" => "Duration",
        "compare-progress" => "Progress bar",
        "backlog" => "Backlog under load",
        "service-rates" => "Calls to services under load",
        "segments" => "Duration by segment",
        _ => "Chart",
    }
}

/// The report of a comparison.
pub fn compare_page(c: &crate::analysis::Comparison, charts: &[Rendered]) -> String {
    let mut o = head("wfsim: comparison");
    let names: Vec<&str> = c.variants.iter().map(|v| v.scenario.as_str()).collect();
    let _ = writeln!(
        o,
        "<h1>{}</h1><p class=\"sub\">{} runs each, seed {}; every design sees the same random numbers run by run; 95% intervals from a paired bootstrap of {} resamples</p>",
        escape(&names.join(" vs ")),
        c.runs,
        c.seed,
        c.bootstrap_resamples
    );
    o.push_str(&tables::compare(c).html(&|_, _| None));
    let _ = writeln!(
        o,
        "<p>Speedup: the baseline ({}) over the design; cost ratio: the design over the baseline.</p>",
        escape(&c.baseline)
    );
    for c in charts {
        let _ = writeln!(o, "<h2>{}</h2>", escape(heading(c.stem)));
        figure(&mut o, c);
    }
    let g = tables::compare_slo(c, false);
    if !g.rows.is_empty() {
        o.push_str("<h2>SLOs</h2>");
        o.push_str(&g.html(&verdict_class));
        o.push_str("<p class=\"note\">Only the designs under test decide the exit code; the baseline's SLOs are shown for reference.</p>\n");
    }
    o.push_str("</body></html>\n");
    o
}

pub fn load_table(o: &mut String, l: &crate::analysis::LoadSummary) {
    let w = &l.queue_wait_s;
    let _ = writeln!(
        o,
        "<h2>Under load</h2><p>{} replication(s) of {} (warm-up {}), environment limit {} x burst {}; throughput {:.1} per minute; environment utilisation {:.1}%; {:.1}% of starts warm; {} expired, {} deadlocked. Waits for a slot: p50 {}, p95 {}, p99 {}, mean {} ({:.1}% of {} grants waited).</p>",
        l.replications,
        secs(l.duration_s),
        secs(l.warmup_s),
        l.environment_concurrency,
        l.burst_factor,
        l.throughput_per_min,
        l.utilisation.environment * 100.0,
        l.warm_share * 100.0,
        l.expired,
        l.deadlocked,
        secs(w.p50),
        secs(w.p95),
        secs(w.p99),
        secs(w.mean),
        w.share_waiting * 100.0,
        w.grants
    );
    let _ = writeln!(
        o,
        "<table><tr><th>queue</th><th>slots</th><th>wait p50</th><th>wait p95</th><th>wait mean</th><th>busy</th></tr>"
    );
    for q in &l.queues {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            escape(&q.name),
            q.cap,
            secs(q.queue_wait_s.p50),
            secs(q.queue_wait_s.p95),
            secs(q.queue_wait_s.mean),
            q.utilisation * 100.0
        );
    }
    let _ = writeln!(o, "</table>");
}
