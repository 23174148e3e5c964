//! Empirical CDFs of several sets of durations overlaid, one line each: the designs of a
//! comparison, the segments of `--by`. The axis ends at the largest p99.9 and says how many
//! runs lie beyond.

use super::style::*;
use super::{DrawResult, Swatch, TimeUnit, e, q};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One line: its legend label and its durations in seconds, sorted.
pub struct Series<'a> {
    pub label: String,
    pub sorted: &'a [f64],
}

/// Draws `series` under `title` on `root`, each in the next colour of `SERIES`.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, series: &[Series]) -> DrawResult {
    let tmax = series.iter().map(|v| q(v.sorted, 0.999)).fold(0.0, f64::max).max(1e-6);
    let u = TimeUnit::for_max(tmax);
    let root = super::titled(root, title, TITLE_PT)?;
    let mut legend: Vec<(String, Swatch)> = series
        .iter()
        .enumerate()
        .map(|(k, v)| (v.label.clone(), Swatch::Line(SERIES[k % SERIES.len()].to_rgba())))
        .collect();
    let beyond: usize = series.iter().map(|v| v.sorted.len() - v.sorted.partition_point(|&x| x <= tmax)).sum();
    if beyond > 0 {
        let max = series.iter().filter_map(|v| v.sorted.last()).fold(0.0, |a: f64, &b| a.max(b));
        let runs = if beyond == 1 { "run" } else { "runs" };
        legend.push((
            format!("→ axis ends at the largest p99.9; {beyond} {runs} beyond, max {}", crate::format::secs(max)),
            Swatch::Text,
        ));
    }
    let area = super::under_legend(&root, &legend)?;
    let mut chart = super::xy_chart(&area, 0f64..tmax / u.div * 1.03, 0f64..100f64)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc(format!("duration ({})", u.name))
        .y_desc("runs finished within (%)")
        .label_style((FONT, LABEL_PT))
        .draw()
        .map_err(e)?;
    for (k, v) in series.iter().enumerate() {
        let color = SERIES[k % SERIES.len()];
        let n = v.sorted.len().max(1) as f64;
        let step = (v.sorted.len() / 500).max(1);
        let pts: Vec<(f64, f64)> = v
            .sorted
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i + 1 == v.sorted.len())
            .take_while(|(_, x)| **x <= tmax)
            .map(|(i, &x)| (x / u.div, (i + 1) as f64 / n * 100.0))
            .collect();
        chart.draw_series(LineSeries::new(pts, color.stroke_width(3))).map_err(e)?;
    }
    Ok(())
}
