//! Load chart: runs waiting for a concurrency slot over the load's period.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e};
use crate::analysis::LoadSummary;
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct Backlog<'a> {
    pub scenario: &'a str,
    pub load: &'a LoadSummary,
}

impl Chart for Backlog<'_> {
    fn stem(&self) -> &'static str {
        "backlog"
    }
    fn title(&self) -> String {
        format!(
            "Backlog of {}: runs waiting for a slot ({} replication(s), limit {})",
            self.scenario, self.load.replications, self.load.environment_concurrency
        )
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let pts = &self.load.backlog;
        let tmax = pts.last().map_or(1.0, |p| p.t_s).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let ymax = pts.iter().map(|p| p.queued).fold(0.0, f64::max).max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), (FONT, LABEL_PT + 3))
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..tmax / u.div, 0f64..ymax)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("time since the load started ({})", u.name))
            .y_desc("task runs waiting for a slot")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(
                AreaSeries::new(pts.iter().map(|p| (p.t_s / u.div, p.queued)), 0.0, SECONDARY.mix(0.25))
                    .border_style(SECONDARY.stroke_width(2)),
            )
            .map_err(e)?;
        if self.load.warmup_s > 0.0 {
            let x = self.load.warmup_s / u.div;
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, ymax)], INK.stroke_width(1))))
                .map_err(e)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    "end of warm-up",
                    (x, ymax * 0.97),
                    (FONT, SMALL_PT).into_font().color(&INK),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}
