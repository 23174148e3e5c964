//! The fit report's chart: one panel per fitted quantity, the observed CDF and the written
//! distribution's CDF overlaid, with its KS distance and verdict.

use super::families::Fitted;
use crate::plot::style::*;
use crate::plot::{Chart, DrawResult, TimeUnit, e, q};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Panels per row.
const COLS: usize = 2;
const PANEL: (u32, u32) = (620, 340);

pub struct FitCdfs<'a> {
    pub scenario: &'a str,
    /// (what, the fit) per panel.
    pub panels: Vec<(String, &'a Fitted)>,
}

impl Chart for FitCdfs<'_> {
    fn stem(&self) -> &'static str {
        "fit-cdfs"
    }
    fn title(&self) -> String {
        format!("Observed and fitted distributions of {}", self.scenario)
    }
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(COLS).max(1) as u32;
        (PANEL.0 * COLS as u32, PANEL.1 * rows + 50)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = crate::plot::titled(root, &self.title(), TITLE_PT)?;
        let rows = self.panels.len().div_ceil(COLS).max(1);
        let areas = root.split_evenly((rows, COLS));
        for ((what, f), area) in self.panels.iter().zip(areas.iter()) {
            panel(area, what, f)?;
        }
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, what: &str, f: &Fitted) -> DrawResult {
    let v = &f.sorted;
    let hi = q(v, 0.995).max(f.family.quantile(0.995)).max(q(v, 0.0) + 1e-9);
    let lo = q(v, 0.0).min(f.family.quantile(0.0)).min(0.0_f64.max(q(v, 0.0)));
    let u = TimeUnit::for_max(hi);
    let caption = match (f.verdict, f.candidates.first()) {
        (super::families::Verdict::Poor, Some(b)) => {
            format!("{what}: empirical (n {}; {} rejected, KS {:.3})", f.n, b.family, b.ks)
        }
        _ => format!("{what}: {} (n {}, KS {:.3}, {})", f.family.name(), f.n, f.ks, f.verdict.name()),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, SMALL_PT + 2))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(lo / u.div..hi / u.div, 0f64..100f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .x_desc(format!("seconds / {}", u.name).replace("seconds / s", "s").replace("seconds / ", ""))
        .y_desc("at most (%)")
        .label_style((FONT, SMALL_PT))
        .draw()
        .map_err(e)?;
    let n = v.len().max(1) as f64;
    let step = (v.len() / 300).max(1);
    let obs: Vec<(f64, f64)> = v
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == v.len() - 1)
        .map(|(i, &x)| (x.min(hi) / u.div, (i + 1) as f64 / n * 100.0))
        .collect();
    chart
        .draw_series(LineSeries::new(obs, PRIMARY.stroke_width(3)))
        .map_err(e)?
        .label("observed")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], PRIMARY.stroke_width(3)));
    let pts = 200;
    let fitted: Vec<(f64, f64)> = (0..=pts)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / pts as f64;
            (x / u.div, f.family.cdf(x) * 100.0)
        })
        .collect();
    chart
        .draw_series(LineSeries::new(fitted, SECONDARY.stroke_width(2)))
        .map_err(e)?
        .label("fitted")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], SECONDARY.stroke_width(2)));
    crate::plot::legend(&mut chart, SeriesLabelPosition::LowerRight, SMALL_PT)
}
