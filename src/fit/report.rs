//! The fit report (`wfsim fit --out DIR`): per fitted quantity, observed against fitted
//! quantiles, the KS distance and the verdict, and the CDFs overlaid; as fit.json, report.md
//! and a self-contained index.html, with the chart as SVG and PNG and the scenario itself.

use super::Fit;
use super::families::Fitted;
use super::write::{num, secs};

/// Quantiles the table compares.
pub const QUANTILES: [f64; 7] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Quantity {
    pub what: String,
    pub n: usize,
    pub family: &'static str,
    /// The distribution as written in the scenario.
    pub written: String,
    pub ks: f64,
    pub ks_critical_5pct: f64,
    pub verdict: &'static str,
    pub candidates: Vec<super::families::Candidate>,
    /// (p, observed, fitted) seconds.
    pub quantiles: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub scenario: String,
    pub entry: String,
    pub files: Vec<String>,
    pub runs: usize,
    pub root_runs: usize,
    pub quantities: Vec<Quantity>,
    pub notes: Vec<String>,
}

/// The fitted quantities with a distribution, in the scenario's order.
pub fn panels(fit: &Fit) -> Vec<(String, &Fitted)> {
    let mut out: Vec<(String, &Fitted)> = Vec::new();
    for t in &fit.tasks {
        if let Some(f) = &t.compute {
            out.push((format!("{}: compute per attempt", t.name), f));
        }
        for (name, f) in &t.steps {
            out.push((format!("{}: step {name}", t.name), f));
        }
        if let Some(f) = &t.idle {
            out.push((format!("{}: idle (wait)", t.name), f));
        }
    }
    if let Some(f) = &fit.warm_start {
        out.push(("warm start latency".into(), f));
    }
    if let Some(f) = &fit.cold_start {
        out.push(("cold start latency".into(), f));
    }
    out
}

pub fn report(fit: &Fit) -> Report {
    let quantities = panels(fit)
        .into_iter()
        .map(|(what, f)| Quantity {
            what,
            n: f.n,
            family: f.family.name(),
            written: super::write::dist(&f.family),
            ks: f.ks,
            ks_critical_5pct: f.ks_crit,
            verdict: f.verdict.name(),
            candidates: f.candidates.clone(),
            quantiles: QUANTILES
                .iter()
                .map(|&p| (p, crate::stats::quantile_sorted(&f.sorted, p).unwrap_or(0.0), f.family.quantile(p)))
                .collect(),
        })
        .collect();
    Report {
        scenario: fit.name.clone(),
        entry: fit.entry.clone(),
        files: fit.export.files.clone(),
        runs: fit.export.runs,
        root_runs: fit.root_runs,
        quantities,
        notes: fit.notes.clone(),
    }
}

/// The report as Markdown (the chart as an image beside it).
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "# Fit of {}\n\nFrom {} ({} finished runs, {} root runs of `{}`). The fitted scenario: [scenario.yaml](scenario.yaml).\n\n\
         Each distribution is the family with the lowest AIC; its Kolmogorov-Smirnov distance to the data is set against the 5% \
         critical value 1.358/sqrt(n): `good` below it, else the data itself is written (`empirical`).\n\n",
        r.scenario,
        r.files.join(", "),
        r.runs,
        r.root_runs,
        r.entry
    );
    s.push_str("![observed and fitted CDFs](fit-cdfs.svg)\n\n");
    for q in &r.quantities {
        let written = q.written.chars().take(120).collect::<String>() + if q.written.len() > 120 { " ..." } else { "" };
        s.push_str(&format!("## {}\n\nn {}, {}.\n\n", q.what, q.n, verdict_text(q, &format!("`{written}`"))));
        s.push_str("| quantile | observed | fitted | difference |\n|---|---:|---:|---:|\n");
        for (p, o, f) in &q.quantiles {
            let d = if *o > 0.0 { format!("{}%", num((f / o - 1.0) * 100.0, 2)) } else { "-".into() };
            s.push_str(&format!("| p{} | {} | {} | {d} |\n", (p * 100.0).round(), secs(*o), secs(*f)));
        }
        s.push_str("\n| family | AIC | KS |\n|---|---:|---:|\n");
        for c in &q.candidates {
            s.push_str(&format!("| {} | {} | {} |\n", c.family, num(c.aic, 6), num(c.ks, 3)));
        }
        s.push('\n');
    }
    if !r.notes.is_empty() {
        s.push_str("## Notes\n\n");
        for n in &r.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

/// What was written and why, in words.
fn verdict_text(q: &Quantity, written: &str) -> String {
    match q.candidates.first() {
        Some(b) if q.verdict == "rejected" => format!(
            "written as the data ({written}, KS {}): the best family by AIC, {}, is rejected (KS {} > {} at 5%)",
            num(q.ks, 3),
            b.family,
            num(b.ks, 3),
            num(q.ks_critical_5pct, 3)
        ),
        _ => format!(
            "written as {written}: KS {} against the 5% critical value {}: {}",
            num(q.ks, 3),
            num(q.ks_critical_5pct, 3),
            q.verdict
        ),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The report as one HTML page with the chart's SVG inline.
pub fn html(r: &Report, svg: &str) -> String {
    let mut s = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Fit of {0}</title>\n<style>\
         body{{font-family:sans-serif;max-width:1280px;margin:2em auto;color:#212529}}\
         table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #dee2e6;padding:3px 8px;text-align:right}}\
         th:first-child,td:first-child{{text-align:left}}.good{{color:#16a34a}}.rejected{{color:#dc2626}}</style></head><body>\n\
         <h1>Fit of {0}</h1>\n<p>From {1} ({2} finished runs, {3} root runs of <code>{4}</code>). Each distribution is the family with the \
         lowest AIC; its Kolmogorov-Smirnov distance to the data is set against the 5% critical value 1.358/&radic;n: \
         <span class=good>good</span> below it, else the data itself is written (empirical).</p>\n{5}\n",
        esc(&r.scenario),
        esc(&r.files.join(", ")),
        r.runs,
        r.root_runs,
        esc(&r.entry),
        svg
    );
    for q in &r.quantities {
        s.push_str(&format!(
            "<h2>{}</h2>\n<p class={}>n {}, {}</p>\n<table><tr><th>quantile</th><th>observed</th><th>fitted</th><th>difference</th></tr>\n",
            esc(&q.what),
            q.verdict,
            q.n,
            esc(&verdict_text(q, q.family))
        ));
        for (p, o, f) in &q.quantiles {
            let d = if *o > 0.0 { format!("{}%", num((f / o - 1.0) * 100.0, 2)) } else { "-".into() };
            s.push_str(&format!(
                "<tr><td>p{}</td><td>{}</td><td>{}</td><td>{d}</td></tr>\n",
                (p * 100.0).round(),
                secs(*o),
                secs(*f)
            ));
        }
        s.push_str("</table>\n");
    }
    if !r.notes.is_empty() {
        s.push_str("<h2>Notes</h2><ul>\n");
        for n in &r.notes {
            s.push_str(&format!("<li>{}</li>\n", esc(n)));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body></html>\n");
    s
}

/// Every file of the report: (name, bytes).
pub fn files(fit: &Fit, yaml: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let r = report(fit);
    let chart = crate::plot::render(&super::chart::FitCdfs { scenario: &fit.name, panels: panels(fit) })
        .map_err(|e| e.to_string())?;
    let mut json = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(vec![
        ("index.html".into(), html(&r, &chart.svg).into_bytes()),
        ("report.md".into(), markdown(&r).into_bytes()),
        ("fit.json".into(), json.into_bytes()),
        ("scenario.yaml".into(), yaml.as_bytes().to_vec()),
        ("fit-cdfs.svg".into(), chart.svg.into_bytes()),
        ("fit-cdfs.png".into(), chart.png),
    ])
}
