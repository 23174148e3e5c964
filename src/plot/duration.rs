//! Chart 1: distribution of workflow durations, histogram and empirical CDF, with p50, p95
//! and p99 marked. A long tail ends the axis at a high quantile, and the chart says so.

use super::style::*;
use super::{AxisEnd, Chart, DrawResult, Swatch, TimeUnit, axis_end, bins_for, e, histogram, q};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

pub struct Duration<'a> {
    pub scenario: &'a str,
    /// Durations in seconds, sorted.
    pub sorted: &'a [f64],
}

/// Rows of marker labels above the plot.
const LABEL_ROWS: usize = 2;

impl Duration<'_> {
    /// The histogram's bins and where its axis ends.
    pub fn axis(&self) -> (usize, AxisEnd) {
        let bins = bins_for(self.sorted.len());
        (bins, axis_end(self.sorted, bins))
    }
}

impl Chart for Duration<'_> {
    fn stem(&self) -> &'static str {
        "duration"
    }
    fn title(&self) -> String {
        format!("Duration of {}: {} runs", self.scenario, self.sorted.len())
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let v = self.sorted;
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let (bins, end) = self.axis();
        let lo = q(v, 0.0);
        let hi = end.hi.max(lo + 1e-9);
        let u = TimeUnit::for_max(hi);
        let width = (hi - lo) / bins as f64;
        let counts = histogram(v, lo, hi, bins);
        let n = v.len().max(1) as f64;
        let ymax = counts.iter().map(|&c| c as f64 / n * 100.0).fold(0.0, f64::max) * 1.08;
        let (x0, x1) = (lo / u.div, hi / u.div + width / u.div);
        let mut legend = vec![
            ("share of runs per bin (left axis)".to_owned(), Swatch::Fill(PRIMARY.mix(0.55))),
            ("empirical CDF (right axis)".to_owned(), Swatch::Line(SECONDARY.to_rgba())),
        ];
        let marks: Vec<(f64, &str, RGBColor)> = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]
            .into_iter()
            .zip(MARKERS)
            .map(|((p, s), c)| (p, s, c))
            .collect();
        for &(_, name, c) in &marks {
            legend.push((format!("{name} (dashed)"), Swatch::Dashed(c.to_rgba())));
        }
        if let Some(note) = end.note(&crate::format::secs) {
            legend.push((format!("→ {note}"), Swatch::Text));
        }
        let used = super::legend_row(&root, &legend, Y_LABEL_AREA as i32 + MARGIN as i32)?;
        let strip = (SMALL_PT as i32 + 2) * LABEL_ROWS as i32 + 4;
        let area = root.margin(used as u32 + strip as u32, 0, 0, 0);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_top(0)
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
            .map_err(e)?;
        let step = (v.len() / 400).max(1);
        let cdf: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i == v.len() - 1)
            .take_while(|(_, x)| **x <= hi)
            .map(|(i, &x)| (x / u.div, (i + 1) as f64 / n * 100.0))
            .chain(std::iter::once((hi / u.div, v.partition_point(|&x| x <= hi) as f64 / n * 100.0)))
            .collect();
        chart.draw_secondary_series(LineSeries::new(cdf, SECONDARY.stroke_width(2))).map_err(e)?;
        let ytop = ymax.max(1.0);
        let mut labels = Vec::new();
        // Labels go in the strip between the legend and the plot, drawn on the area above both.
        let (bx, by) = root.get_base_pixel();
        for &(p, name, color) in &marks {
            let x = q(v, p);
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(x / u.div, 0.0), (x / u.div, ytop)],
                    6,
                    4,
                    color.stroke_width(2),
                )))
                .map_err(e)?;
            let (px, _) = chart.backend_coord(&(x / u.div, 0.0));
            labels.push((format!("{name} {}", crate::format::secs(x)), color, px - bx));
        }
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let top = yr.start - by - strip;
        super::draw_strip(&root, &labels, xr.start - bx, xr.end - bx, top, LABEL_ROWS)?;
        Ok(())
    }
}
