//! Chart 4: cost per workflow run: its distribution, and cost against duration run by run,
//! coloured by the run's final status. Money in US dollars.

use super::style::*;
use super::{
    Chart, DrawResult, Swatch, TimeUnit, axis_end, bins_for, e, histogram, q, usd, usd_tick, usd_tick_decimals,
};
use crate::engine::{RunOutcome, Status};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

pub struct Cost<'a> {
    pub scenario: &'a str,
    /// The runs, in run order.
    pub runs: &'a [RunOutcome],
}

/// Points drawn in the scatter at most (evenly spaced runs).
const MAX_POINTS: usize = 3000;
/// Rows of marker labels above the histogram.
const LABEL_ROWS: usize = 2;

/// The colour of a run's final status in the scatter.
pub fn status_color(s: Status) -> RGBColor {
    match s {
        Status::Completed => PRIMARY,
        Status::Failed => FAIL,
        Status::Crashed => OOM,
        Status::TimedOut => TIMEOUT,
        Status::Expired => INK,
    }
}

impl Cost<'_> {
    /// Runs per status, in `Status::ALL` order.
    pub fn statuses(&self) -> [usize; 5] {
        let mut n = [0usize; 5];
        for r in self.runs {
            n[r.status as usize] += 1;
        }
        n
    }
}

impl Chart for Cost<'_> {
    fn stem(&self) -> &'static str {
        "cost"
    }
    fn size(&self) -> (u32, u32) {
        WIDE
    }
    fn title(&self) -> String {
        format!("Cost per run of {}: {} runs", self.scenario, self.runs.len())
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let (left, right) = root.split_horizontally(WIDE.0 / 2);
        let mut costs: Vec<f64> = self.runs.iter().map(|r| r.cost_usd).collect();
        costs.sort_unstable_by(f64::total_cmp);
        let bins = bins_for(costs.len());
        let end = axis_end(&costs, bins);
        let lo = q(&costs, 0.0);
        let hi = end.hi.max(lo + 1e-12);
        let width = (hi - lo) / bins as f64;
        let counts = histogram(&costs, lo, hi, bins);
        let n = costs.len().max(1) as f64;
        let ymax = counts.iter().map(|&c| c as f64 / n * 100.0).fold(0.0, f64::max) * 1.08;
        let mean = costs.iter().sum::<f64>() / n;
        let p95 = q(&costs, 0.95);
        let marks = [("mean", mean, MARKERS[0]), ("p95", p95, MARKERS[2])];
        let mut legend: Vec<(String, Swatch)> = vec![("share of runs per bin".into(), Swatch::Fill(OK.mix(0.55)))];
        legend.extend(marks.iter().map(|(name, _, c)| (format!("{name} (dashed)"), Swatch::Dashed(c.to_rgba()))));
        if let Some(note) = end.note(&|x| usd(x, 3)) {
            legend.push((format!("→ {note}"), Swatch::Text));
        }
        let used = super::legend_row(&left, &legend, Y_LABEL_AREA as i32 + MARGIN as i32)?;
        let strip = (SMALL_PT as i32 + 2) * LABEL_ROWS as i32 + 4;
        let area = left.margin(used as u32 + strip as u32, 0, 0, 0);
        let dec = usd_tick_decimals(hi + width - lo);
        let fmt = |x: &f64| usd_tick(*x, dec);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_top(0)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(lo..hi + width, 0f64..ymax.max(1.0))
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_labels(6)
            .x_label_formatter(&fmt)
            .x_desc("cost per workflow run (US$)")
            .y_desc("share of runs per bin (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let a = lo + width * i as f64;
                Rectangle::new([(a, 0.0), (a + width, c as f64 / n * 100.0)], OK.mix(0.55).filled())
            }))
            .map_err(e)?;
        let ytop = ymax.max(1.0);
        // Labels go in the strip between the legend and the plot, drawn on the area above both.
        let (bx, by) = left.get_base_pixel();
        let mut labels = Vec::new();
        for &(name, x, color) in &marks {
            let x = x.min(hi);
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(x, 0.0), (x, ytop)],
                    6,
                    4,
                    color.stroke_width(2),
                )))
                .map_err(e)?;
            let (px, _) = chart.backend_coord(&(x, 0.0));
            labels.push((format!("{name} {}", usd(if name == "mean" { mean } else { p95 }, 3)), color, px - bx));
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        super::draw_strip(&left, &labels, xr.start - bx, xr.end - bx, yr.start - by - strip, LABEL_ROWS)?;

        // Cost against duration, coloured by final status.
        let dmax = self.runs.iter().map(|r| r.duration_s).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(dmax);
        let cmax = costs.last().copied().unwrap_or(0.0).max(1e-9);
        let counts = self.statuses();
        let shown: Vec<Status> = Status::ALL.into_iter().filter(|s| counts[*s as usize] > 0).collect();
        let legend: Vec<(String, Swatch)> = shown
            .iter()
            .map(|&s| {
                let share = counts[s as usize] as f64 / n * 100.0;
                (format!("{} ({share:.1}%)", s.name()), Swatch::Dot(status_color(s).to_rgba()))
            })
            .collect();
        let used = super::legend_row(&right, &legend, Y_LABEL_AREA as i32 + MARGIN as i32)?;
        let area = right.margin(used as u32 + strip as u32, 0, 0, 0);
        let dec = usd_tick_decimals(cmax * 1.05);
        let fmt = |x: &f64| usd_tick(*x, dec);
        let mut sc = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_top(0)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA + 8)
            .build_cartesian_2d(0f64..dmax / u.div * 1.03, 0f64..cmax * 1.05)
            .map_err(e)?;
        sc.configure_mesh()
            .light_line_style(GRID)
            .y_label_formatter(&fmt)
            .x_desc(format!("duration ({})", u.name))
            .y_desc("cost per workflow run (US$)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        let step = (self.runs.len() / MAX_POINTS).max(1);
        // Completed runs first, the rarer statuses over them.
        for &s in &shown {
            let c = status_color(s);
            let alpha = if s == Status::Completed { 0.35 } else { 0.8 };
            sc.draw_series(
                self.runs
                    .iter()
                    .enumerate()
                    // Every run of a rarer status; completed ones evenly thinned.
                    .filter(|(i, r)| r.status == s && (s != Status::Completed || i % step == 0))
                    .map(|(_, r)| Circle::new((r.duration_s / u.div, r.cost_usd), 2, c.mix(alpha).filled())),
            )
            .map_err(e)?;
        }
        Ok(())
    }
}
