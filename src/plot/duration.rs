//! Chart 1: distribution of workflow durations, histogram and empirical CDF, with p50, p95
//! and p99 marked.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e, q, vline};
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct Duration<'a> {
    pub scenario: &'a str,
    /// Durations in seconds, sorted.
    pub sorted: &'a [f64],
}

const BINS: usize = 40;

impl Chart for Duration<'_> {
    fn stem(&self) -> &'static str {
        "duration"
    }
    fn title(&self) -> String {
        format!("Duration of {}: {} runs", self.scenario, self.sorted.len())
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let v = self.sorted;
        let (lo, hi) = (q(v, 0.0), q(v, 0.999).max(q(v, 0.0) + 1e-9));
        let u = TimeUnit::for_max(hi);
        let width = (hi - lo) / BINS as f64;
        let mut counts = [0usize; BINS];
        for &x in v {
            let i = (((x - lo) / width) as usize).min(BINS - 1);
            counts[i] += 1;
        }
        let n = v.len().max(1) as f64;
        let ymax = counts.iter().map(|&c| c as f64 / n * 100.0).fold(0.0, f64::max) * 1.15;
        let (x0, x1) = (lo / u.div, hi / u.div + width / u.div);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), (FONT, TITLE_PT))
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .right_y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(x0..x1, 0f64..ymax.max(1.0))
            .map_err(e)?
            .set_secondary_coord(x0..x1, 0f64..100f64);
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("duration from trigger to end of the entry run ({})", u.name))
            .y_desc("share of runs per bin (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        chart
            .configure_secondary_axes()
            .y_desc("runs finished within (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let a = (lo + width * i as f64) / u.div;
                Rectangle::new([(a, 0.0), (a + width / u.div, c as f64 / n * 100.0)], PRIMARY.mix(0.55).filled())
            }))
            .map_err(e)?
            .label("histogram")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], PRIMARY.mix(0.55).filled()));
        let step = (v.len() / 400).max(1);
        let cdf: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i == v.len() - 1)
            .map(|(i, &x)| (x.min(hi) / u.div, (i + 1) as f64 / n * 100.0))
            .collect();
        chart
            .draw_secondary_series(LineSeries::new(cdf, SECONDARY.stroke_width(2)))
            .map_err(e)?
            .label("empirical CDF (right axis)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], SECONDARY.stroke_width(2)));
        for ((p, name), color) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")].into_iter().zip(MARKERS) {
            let x = q(v, p);
            let label = format!("{name} {}", crate::format::secs(x));
            vline(&mut chart, x.min(hi) / u.div, ymax * if p == 0.5 { 0.97 } else { 0.88 }, &label, color)?;
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperRight, LABEL_PT)?;
        Ok(())
    }
}
