//! Load chart: calls offered to each service and calls it served, per minute, over the load's
//! period, against its limit.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e};
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
            .y_desc("calls per minute (mean over replications)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        for (i, s) in self.services.iter().enumerate() {
            let c = SERIES[i % SERIES.len()];
            let name = s.name.clone();
            chart
                .draw_series(LineSeries::new(
                    s.rates.iter().map(|r| (r.t_s / u.div, r.offered_per_minute)),
                    c.mix(0.45).stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("{name}: offered"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.mix(0.45).stroke_width(2)));
            chart
                .draw_series(LineSeries::new(
                    s.rates.iter().map(|r| (r.t_s / u.div, r.served_per_minute)),
                    c.stroke_width(2),
                ))
                .map_err(e)?
                .label(format!("{name}: served"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            if let Some(l) = s.limit_per_minute {
                let l = l * f64::from(s.keys);
                let what = if s.keys > 1 { "limit x keys" } else { "limit" };
                chart
                    .draw_series(DashedLineSeries::new(vec![(0.0, l), (tmax / u.div, l)], 6, 4, INK.stroke_width(1)))
                    .map_err(e)?
                    .label(format!("{name}: {what}"))
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], INK.stroke_width(1)));
            }
        }
        if self.warmup_s > 0.0 {
            let x = self.warmup_s / u.div;
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, ymax)], GRID.stroke_width(2))))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(GRID)
            .label_font((FONT, SMALL_PT))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(e)?;
        Ok(())
    }
}
