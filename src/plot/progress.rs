//! Chart 2: the progress fan chart: percent complete against time, the median run and the
//! p10-p90 and p5-p95 bands of the time each level is reached. What an app's user watches.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e, q};
use crate::engine::{LEVEL_STEP, LEVELS, RunOutcome, Status};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Per level (0%, 5%, ..., 100%): the quantiles of the time it is reached.
#[derive(Debug, Clone, Default)]
pub struct Fan {
    pub percent: Vec<f64>,
    pub p05: Vec<f64>,
    pub p10: Vec<f64>,
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    pub p95: Vec<f64>,
    pub runs: usize,
}

impl Fan {
    /// Over the successful runs (they all reach 100%).
    pub fn of(outcomes: &[RunOutcome]) -> Fan {
        let ok: Vec<&RunOutcome> = outcomes.iter().filter(|o| o.status == Status::Completed).collect();
        let mut f = Fan { runs: ok.len(), ..Fan::default() };
        if ok.is_empty() {
            return f;
        }
        for v in [&mut f.percent, &mut f.p05, &mut f.p10, &mut f.p50, &mut f.p90, &mut f.p95] {
            v.push(0.0);
        }
        for l in 0..LEVELS {
            let mut t: Vec<f64> = ok.iter().map(|o| o.progress[l]).filter(|x| x.is_finite()).collect();
            if t.is_empty() {
                continue;
            }
            t.sort_unstable_by(f64::total_cmp);
            f.percent.push((l + 1) as f64 * LEVEL_STEP);
            f.p05.push(q(&t, 0.05));
            f.p10.push(q(&t, 0.10));
            f.p50.push(q(&t, 0.50));
            f.p90.push(q(&t, 0.90));
            f.p95.push(q(&t, 0.95));
        }
        f
    }

    pub fn max_time(&self) -> f64 {
        self.p95.iter().copied().fold(0.0, f64::max)
    }

    /// The band between two time quantiles as a polygon in (time, percent).
    pub fn band(&self, lo: &[f64], hi: &[f64], div: f64) -> Vec<(f64, f64)> {
        let mut pts: Vec<(f64, f64)> = lo.iter().zip(&self.percent).map(|(t, p)| (t / div, *p)).collect();
        pts.extend(hi.iter().zip(&self.percent).rev().map(|(t, p)| (t / div, *p)));
        pts
    }

    /// The median run as a staircase: the bar holds each level until the next is reached.
    pub fn median_steps(&self, div: f64) -> Vec<(f64, f64)> {
        let mut pts = Vec::new();
        let mut prev = 0.0;
        for (t, p) in self.p50.iter().zip(&self.percent) {
            pts.push((t / div, prev));
            pts.push((t / div, *p));
            prev = *p;
        }
        pts
    }
}

pub struct Progress<'a> {
    pub scenario: &'a str,
    pub fan: &'a Fan,
}

impl Chart for Progress<'_> {
    fn stem(&self) -> &'static str {
        "progress"
    }
    fn title(&self) -> String {
        format!("Progress bar of {}: {} successful runs", self.scenario, self.fan.runs)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let f = self.fan;
        let u = TimeUnit::for_max(f.max_time());
        let xmax = (f.max_time() / u.div * 1.05).max(1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title(), (FONT, TITLE_PT))
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..xmax, 0f64..100f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .x_desc(format!("time since the trigger ({})", u.name))
            .y_desc("progress bar (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        if f.runs == 0 {
            return Ok(());
        }
        chart
            .draw_series(std::iter::once(Polygon::new(f.band(&f.p05, &f.p95, u.div), PRIMARY.mix(BAND_OUTER).filled())))
            .map_err(e)?
            .label("p5-p95 of runs")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], PRIMARY.mix(BAND_OUTER).filled()));
        chart
            .draw_series(std::iter::once(Polygon::new(f.band(&f.p10, &f.p90, u.div), PRIMARY.mix(BAND_INNER).filled())))
            .map_err(e)?
            .label("p10-p90 of runs")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], PRIMARY.mix(BAND_INNER).filled()));
        chart
            .draw_series(LineSeries::new(f.median_steps(u.div), PRIMARY.stroke_width(3)))
            .map_err(e)?
            .label("median run")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], PRIMARY.stroke_width(3)));
        super::legend(&mut chart, SeriesLabelPosition::LowerRight, LABEL_PT)?;
        Ok(())
    }
}
