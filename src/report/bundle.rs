//! Report sets: the charts of a run, and the statistics and charts of a comparison.

use crate::analysis::RunSummary;
use crate::analysis::median_run::{record, record_load, representative, representative_under_load};
use crate::model::Model;
use crate::montecarlo::McResult;
use crate::plot::breakdown::Breakdown;
use crate::plot::compare::{CompareCdf, CompareProgress, Variant};
use crate::plot::cost::Cost;
use crate::plot::duration::Duration;
use crate::plot::progress::{Fan, Progress};
use crate::plot::timeline::Timeline;
use crate::plot::{PlotError, Rendered, render};

pub fn sorted_durations(mc: &McResult) -> Vec<f64> {
    let mut d: Vec<f64> = mc.outcomes.iter().map(|o| o.duration_s).collect();
    d.sort_unstable_by(f64::total_cmp);
    d
}

/// The charts of a scenario's report. `reps`: under load, the measured runs of each
/// replication (their outcomes follow one another in `mc.outcomes`); empty alone.
pub fn run_charts(model: &Model, mc: &McResult, s: &RunSummary, reps: &[usize]) -> Result<Vec<Rendered>, PlotError> {
    let sorted = sorted_durations(mc);
    let fan = Fan::of(&mc.outcomes);
    let mut charts = vec![
        render(&Duration { scenario: &s.scenario, sorted: &sorted })?,
        render(&Progress { scenario: &s.scenario, fan: &fan })?,
    ];
    if let Some(first) = model.segments.first() {
        let segments: Vec<(String, Vec<f64>)> = model
            .segments
            .iter()
            .map(|seg| {
                let mut d: Vec<f64> = mc
                    .outcomes
                    .iter()
                    .filter(|o| crate::analysis::segments::selects(seg.mask, o))
                    .map(|o| o.duration_s)
                    .collect();
                d.sort_unstable_by(f64::total_cmp);
                (seg.label.clone(), d)
            })
            .filter(|(_, d)| !d.is_empty())
            .collect();
        charts.push(render(&crate::plot::segments::Segments {
            scenario: &s.scenario,
            by: &first.by,
            segments: &segments,
        })?);
    }
    if let Some(load) = &s.load {
        charts.push(render(&crate::plot::backlog::Backlog { scenario: &s.scenario, load })?);
        if s.services.iter().any(|v| !v.rates.is_empty()) {
            charts.push(render(&crate::plot::service_rates::ServiceRates {
                scenario: &s.scenario,
                services: &s.services,
                warmup_s: load.warmup_s,
            })?);
        }
        // A run of the first replication near the median, recorded while that replication is
        // simulated again (it shared queues and slots with the other runs of the load).
        let rep = representative_under_load(mc, reps.first().copied().unwrap_or(mc.outcomes.len()));
        let rec = record_load(model, s.seed, rep as u64)
            .map_err(|x| PlotError { chart: "timeline".into(), message: x.to_string() })?;
        charts.push(render(&Timeline {
            scenario: &s.scenario,
            model,
            rec: &rec.rec,
            run_index: rep as u64,
            arrival: Some(rec.arrival),
        })?);
    } else {
        let rep = representative(mc);
        let rec = record(model, s.seed, rep as u64);
        charts.push(render(&Timeline {
            scenario: &s.scenario,
            model,
            rec: &rec,
            run_index: rep as u64,
            arrival: None,
        })?);
    }
    charts.push(render(&Cost { scenario: &s.scenario, runs: &mc.outcomes })?);
    charts.push(render(&Breakdown { scenario: &s.scenario, tasks: &s.tasks })?);
    Ok(charts)
}

pub fn compare_charts(results: &[(&RunSummary, &McResult)]) -> Result<Vec<Rendered>, PlotError> {
    let sorted: Vec<Vec<f64>> = results.iter().map(|(_, mc)| sorted_durations(mc)).collect();
    let fans: Vec<Fan> = results.iter().map(|(_, mc)| Fan::of(&mc.outcomes)).collect();
    let variants: Vec<Variant> = results
        .iter()
        .zip(&sorted)
        .zip(&fans)
        .map(|(((s, _), d), f)| Variant { name: &s.scenario, sorted: d, fan: f })
        .collect();
    Ok(vec![render(&CompareCdf { variants: &variants })?, render(&CompareProgress { variants: &variants })?])
}
