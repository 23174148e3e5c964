//! Chart 4: cost per workflow run: its distribution, and cost against duration run by run.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e, q, vline};
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct Cost<'a> {
    pub scenario: &'a str,
    /// (duration s, cost USD) per run, in run order.
    pub points: &'a [(f64, f64)],
}

const BINS: usize = 36;
/// Points drawn in the scatter at most (evenly spaced runs).
const MAX_POINTS: usize = 3000;

impl Chart for Cost<'_> {
    fn stem(&self) -> &'static str {
        "cost"
    }
    fn size(&self) -> (u32, u32) {
        WIDE
    }
    fn title(&self) -> String {
        format!("Cost per run of {}: {} runs", self.scenario, self.points.len())
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(&self.title(), (FONT, TITLE_PT)).map_err(e)?;
        let (left, right) = root.split_horizontally(WIDE.0 / 2);
        let mut costs: Vec<f64> = self.points.iter().map(|p| p.1).collect();
        costs.sort_unstable_by(f64::total_cmp);
        // Cents per run read better than dollars for the small numbers involved.
        let cents = |usd: f64| usd * 100.0;
        let (lo, hi) = (cents(q(&costs, 0.0)), cents(q(&costs, 0.999)).max(cents(q(&costs, 0.0)) + 1e-9));
        let width = (hi - lo) / BINS as f64;
        let mut counts = [0usize; BINS];
        for &c in &costs {
            counts[(((cents(c) - lo) / width) as usize).min(BINS - 1)] += 1;
        }
        let n = costs.len().max(1) as f64;
        let ymax = counts.iter().map(|&c| c as f64 / n * 100.0).fold(0.0, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(&left)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(lo..hi + width, 0f64..ymax.max(1.0))
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc("cost per workflow run (US cents)")
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
        let mean = costs.iter().sum::<f64>() / n;
        vline(&mut chart, cents(mean).min(hi), ymax * 0.97, &format!("mean {:.4}¢", cents(mean)), MARKERS[0])?;
        vline(
            &mut chart,
            cents(q(&costs, 0.95)).min(hi),
            ymax * 0.88,
            &format!("p95 {:.4}¢", cents(q(&costs, 0.95))),
            MARKERS[2],
        )?;

        let dmax = self.points.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(dmax);
        let cmax = cents(costs.last().copied().unwrap_or(0.0)).max(1e-9);
        let mut sc = ChartBuilder::on(&right)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..dmax / u.div * 1.03, 0f64..cmax * 1.05)
            .map_err(e)?;
        sc.configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("duration ({})", u.name))
            .y_desc("cost (US cents)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        let step = (self.points.len() / MAX_POINTS).max(1);
        sc.draw_series(
            self.points
                .iter()
                .step_by(step)
                .map(|&(d, c)| Circle::new((d / u.div, cents(c)), 2, PRIMARY.mix(0.35).filled())),
        )
        .map_err(e)?;
        Ok(())
    }
}
