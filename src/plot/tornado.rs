//! Sensitivity: a tornado chart per measure (p95 duration, mean cost): one row per parameter,
//! largest effect on top, a bar to the change when the parameter moves down and one to the
//! change when it moves up.

use super::style::*;
use super::{Chart, DrawResult, e};
use crate::sweep::{Param, Sensitivity};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

/// Parameters drawn at most (the table lists all of them).
pub const MAX_ROWS: usize = 16;
/// Height of one parameter's row, pixels.
const ROW_PX: u32 = 30;
/// Width of the parameter names beside the bars, pixels.
const NAME_AREA: u32 = 300;

/// A measure's (down, up) relative changes of a parameter.
type Measure = fn(&Param) -> (f64, f64);

pub struct Tornado<'a> {
    pub sensitivity: &'a Sensitivity,
}

impl Tornado<'_> {
    fn params(&self) -> &[Param] {
        let p = &self.sensitivity.parameters;
        &p[..p.len().min(MAX_ROWS)]
    }
}

fn label(p: &Param) -> String {
    format!("{} ({})", p.label, p.kind.name())
}

impl Chart for Tornado<'_> {
    fn stem(&self) -> &'static str {
        "tornado"
    }
    fn size(&self) -> (u32, u32) {
        (WIDE.0 + NAME_AREA / 2, WIDE.1.max(150 + ROW_PX * self.params().len() as u32))
    }
    fn title(&self) -> String {
        let s = self.sensitivity;
        let shown = if s.parameters.len() > MAX_ROWS {
            format!(" (top {MAX_ROWS} of {})", s.parameters.len())
        } else {
            String::new()
        };
        format!("Sensitivity of {}: each parameter -/+{:.0}%{shown}", s.scenario, s.delta * 100.0)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let params = self.params();
        let d = self.sensitivity.delta * 100.0;
        let legend = [
            (format!("parameter -{d:.0}%"), super::Swatch::Fill(PRIMARY.mix(0.85))),
            (format!("parameter +{d:.0}%"), super::Swatch::Fill(SECONDARY.mix(0.85))),
        ];
        let used = super::legend_row(&root, &legend, NAME_AREA as i32 + MARGIN as i32)?;
        let root = root.margin(used as u32, 0, 0, 0);
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(NAME_AREA + (w - NAME_AREA) / 2);
        let measures: [(&str, Measure); 2] = [
            ("change of p95 duration (%)", |p| (p.p95_down, p.p95_up)),
            ("change of mean cost (%)", |p| (p.cost_down, p.cost_up)),
        ];
        for (k, (area, (desc, get))) in [left, right].iter().zip(measures).enumerate() {
            let xmax = params.iter().map(|p| get(p).0.abs().max(get(p).1.abs())).fold(0.0, f64::max) * 100.0;
            let xmax = if xmax > 0.0 { xmax * 1.15 } else { 1.0 };
            // Rows, at least two (a one-value segmented axis does not draw); row 0 at the
            // bottom, so the largest effect (index 0) goes to the top row. A range 0..n-1
            // has n segments.
            let n = params.len().max(2) as i32;
            let names: Vec<String> = params.iter().map(label).collect();
            let name_of = |v: &SegmentValue<i32>| match v {
                SegmentValue::CenterOf(i) if *i >= 0 && *i < n => {
                    names.get((n - 1 - i) as usize).cloned().unwrap_or_default()
                }
                _ => String::new(),
            };
            let mut chart = ChartBuilder::on(area)
                .margin(MARGIN)
                .x_label_area_size(X_LABEL_AREA)
                .y_label_area_size(if k == 0 { NAME_AREA } else { 8 })
                .build_cartesian_2d(-xmax..xmax, (0..n - 1).into_segmented())
                .map_err(e)?;
            chart
                .configure_mesh()
                .light_line_style(GRID)
                .disable_y_mesh()
                .y_labels(n as usize + 1)
                .y_label_formatter(&|v| if k == 0 { name_of(v) } else { String::new() })
                .x_desc(desc)
                .label_style((FONT, LABEL_PT))
                .draw()
                .map_err(e)?;
            let bar = |i: usize, v: f64, color: RGBColor| {
                let row = n - 1 - i as i32;
                let mut r = Rectangle::new(
                    [(0.0, SegmentValue::Exact(row)), (v * 100.0, SegmentValue::Exact(row + 1))],
                    color.mix(0.85).filled(),
                );
                r.set_margin(5, 5, 0, 0);
                r
            };
            chart.draw_series(params.iter().enumerate().map(|(i, p)| bar(i, get(p).0, PRIMARY))).map_err(e)?;
            chart.draw_series(params.iter().enumerate().map(|(i, p)| bar(i, get(p).1, SECONDARY))).map_err(e)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))],
                    INK.stroke_width(1),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}
