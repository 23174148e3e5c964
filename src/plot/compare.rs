//! Comparison charts: the duration CDFs and the progress curves of several designs overlaid.

use super::progress::Fan;
use super::style::*;
use super::{Chart, DrawResult, Swatch, TimeUnit, e, q};
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct Variant<'a> {
    pub name: &'a str,
    /// Durations in seconds, sorted.
    pub sorted: &'a [f64],
    pub fan: &'a Fan,
}

pub struct CompareCdf<'a> {
    pub variants: &'a [Variant<'a>],
}

impl Chart for CompareCdf<'_> {
    fn stem(&self) -> &'static str {
        "compare-duration"
    }
    fn title(&self) -> String {
        "Duration: share of runs finished within a time, per design".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let series: Vec<super::cdf::Series> = self
            .variants
            .iter()
            .map(|v| super::cdf::Series {
                label: format!("{} (p50 {})", v.name, crate::format::secs(q(v.sorted, 0.5))),
                sorted: v.sorted,
            })
            .collect();
        super::cdf::draw(root, &self.title(), &series)
    }
}

pub struct CompareProgress<'a> {
    pub variants: &'a [Variant<'a>],
}

impl Chart for CompareProgress<'_> {
    fn stem(&self) -> &'static str {
        "compare-progress"
    }
    fn title(&self) -> String {
        "Progress bar: median run and p10-p90 band, per design".into()
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let tmax = self.variants.iter().map(|v| v.fan.max_time()).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let mut legend: Vec<(String, Swatch)> = self
            .variants
            .iter()
            .enumerate()
            .filter(|(_, v)| v.fan.runs > 0)
            .map(|(k, v)| (format!("{}: median run", v.name), Swatch::Line(SERIES[k % SERIES.len()].to_rgba())))
            .collect();
        legend.push(("band: p10-p90 of runs".into(), Swatch::Fill(INK.mix(0.18))));
        let area = super::under_legend(&root, &legend)?;
        let mut chart = super::xy_chart(&area, 0f64..tmax / u.div * 1.03, 0f64..100f64)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("time since the trigger ({})", u.name))
            .y_desc("progress bar (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        for (k, v) in self.variants.iter().enumerate() {
            let color = SERIES[k % SERIES.len()];
            if v.fan.runs == 0 {
                continue;
            }
            chart
                .draw_series(std::iter::once(Polygon::new(
                    v.fan.band(&v.fan.p10, &v.fan.p90, u.div),
                    color.mix(0.18).filled(),
                )))
                .map_err(e)?;
            chart.draw_series(LineSeries::new(v.fan.median_steps(u.div), color.stroke_width(3))).map_err(e)?;
        }
        Ok(())
    }
}
