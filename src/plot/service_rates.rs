//! Load chart: calls offered to each service and calls it served, per minute, over the load's
//! period, against its limit.

use super::style::*;
use super::{Chart, DrawResult, Swatch, TimeUnit, e};
use crate::analysis::ServiceSummary;
use plotters::coord::Shift;
use plotters::prelude::*;

pub struct ServiceRates<'a> {
    pub scenario: &'a str,
    pub services: &'a [ServiceSummary],
    pub warmup_s: f64,
}

impl Chart for ServiceRates<'_> {
    fn stem(&self) -> &'static str {
        "service-rates"
    }
    fn title(&self) -> String {
        format!("Calls to services under the load of {}: offered and served per minute", self.scenario)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let tmax = self.services.iter().filter_map(|s| s.rates.last().map(|r| r.t_s + 60.0)).fold(1.0, f64::max);
        let u = TimeUnit::for_max(tmax);
        let ymax = self
            .services
            .iter()
            .flat_map(|s| {
                s.rates.iter().map(|r| r.offered_per_minute).chain(s.limit_per_minute.map(|l| l * f64::from(s.keys)))
            })
            .fold(1.0, f64::max)
            * 1.1;
        let root = super::titled(root, &self.title(), LABEL_PT + 3)?;
        let mut legend = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            let c = SERIES[i % SERIES.len()];
            legend.push((format!("{}: offered", s.name), Swatch::Line(c.mix(0.45))));
            legend.push((format!("{}: served", s.name), Swatch::Line(c.to_rgba())));
            if s.limit_per_minute.is_some() {
                let what = if s.keys > 1 { "limit x keys" } else { "limit" };
                legend.push((format!("{}: {what}", s.name), Swatch::Dashed(INK.to_rgba())));
            }
        }
        if self.warmup_s > 0.0 {
            legend.push(("end of warm-up".into(), Swatch::Line(INK.mix(0.35))));
        }
        let area = super::under_legend(&root, &legend)?;
        let mut chart = super::xy_chart(&area, 0f64..tmax / u.div, 0f64..ymax)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("time since the load started ({})", u.name))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("calls per minute (mean over replications)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        for (i, s) in self.services.iter().enumerate() {
            let c = SERIES[i % SERIES.len()];
            chart
                .draw_series(LineSeries::new(
                    s.rates.iter().map(|r| (r.t_s / u.div, r.offered_per_minute)),
                    c.mix(0.45).stroke_width(2),
                ))
                .map_err(e)?;
            chart
                .draw_series(LineSeries::new(
                    s.rates.iter().map(|r| (r.t_s / u.div, r.served_per_minute)),
                    c.stroke_width(2),
                ))
                .map_err(e)?;
            if let Some(l) = s.limit_per_minute {
                let l = l * f64::from(s.keys);
                chart
                    .draw_series(DashedLineSeries::new(vec![(0.0, l), (tmax / u.div, l)], 6, 4, INK.stroke_width(1)))
                    .map_err(e)?;
            }
        }
        if self.warmup_s > 0.0 {
            let x = self.warmup_s / u.div;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, ymax)],
                    INK.mix(0.35).stroke_width(2),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}
