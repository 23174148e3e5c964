//! Chart 5: per-task breakdown: where a workflow run's time and money go.

use super::style::*;
use super::{Chart, DrawResult, Swatch, TimeUnit, e, usd};
use crate::analysis::TaskSummary;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub struct Breakdown<'a> {
    pub scenario: &'a str,
    pub tasks: &'a [TaskSummary],
}

impl Chart for Breakdown<'_> {
    fn stem(&self) -> &'static str {
        "breakdown"
    }
    fn size(&self) -> (u32, u32) {
        (WIDE.0, (160 + 44 * self.tasks.len() as u32).max(360))
    }
    fn title(&self) -> String {
        format!("Where a run of {} spends time and money, by task", self.scenario)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), TITLE_PT)?;
        let legend = [
            (
                "wall time of the task's runs (parents include waiting for children)".to_owned(),
                Swatch::Fill(PRIMARY.mix(0.25)),
            ),
            ("billed compute".to_owned(), Swatch::Fill(PRIMARY.mix(0.85))),
            ("share of the workflow's cost, with its cost per workflow run".to_owned(), Swatch::Fill(OK.mix(0.7))),
        ];
        let used = super::legend_row(&root, &legend, MARGIN as i32)?;
        let root = root.margin(used as u32, 0, 0, 0);
        let (left, right) = root.split_horizontally(self.size().0 * 11 / 20);
        let n = self.tasks.len();
        let names: Vec<String> = self.tasks.iter().map(|t| t.name.clone()).collect();
        // Per workflow run: wall time of the task's runs, split into billed and not billed.
        let wall: Vec<f64> = self.tasks.iter().map(|t| t.duration_s_mean * t.runs_per_workflow).collect();
        let billed: Vec<f64> = self.tasks.iter().map(|t| t.usage_duration_s_mean * t.runs_per_workflow).collect();
        let u = TimeUnit::for_max(wall.iter().copied().fold(0.0, f64::max));
        let xmax = (wall.iter().copied().fold(0.0, f64::max) / u.div * 1.1).max(1e-6);
        let label_w = (names.iter().map(|s| s.len()).max().unwrap_or(4) as u32 * 8 + 24).min(280);
        // Row k (0 = first task) spans y in [n-1-k, n-k]; names are drawn beside the rows.
        let row = |i: usize| (n - 1 - i) as f64;
        let bar = |i: usize, x: f64| [(0.0, row(i) + 0.15), (x, row(i) + 0.85)];
        let mut c = ChartBuilder::on(&left)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(label_w)
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
            .map_err(e)?;
        c.configure_mesh()
            .light_line_style(GRID)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(format!("time per workflow run ({}): billed / task run's wall time", u.name))
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        c.draw_series((0..n).map(|i| Rectangle::new(bar(i, wall[i] / u.div), PRIMARY.mix(0.25).filled())))
            .map_err(e)?;
        c.draw_series((0..n).map(|i| Rectangle::new(bar(i, billed[i] / u.div), PRIMARY.mix(0.85).filled())))
            .map_err(e)?;
        row_names(&left, &c, &names, &row)?;

        let mut c = ChartBuilder::on(&right)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(label_w)
            .build_cartesian_2d(0f64..105f64, 0f64..n as f64)
            .map_err(e)?;
        c.configure_mesh()
            .light_line_style(GRID)
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("share of the workflow's cost (%)")
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        c.draw_series(
            self.tasks
                .iter()
                .enumerate()
                .map(|(i, t)| Rectangle::new(bar(i, t.cost_share * 100.0), OK.mix(0.7).filled())),
        )
        .map_err(e)?;
        // Each bar's label: right of the bar where it fits in the plot, else inside its end.
        let font = (FONT, SMALL_PT).into_font();
        let (xr, _) = c.plotting_area().get_pixel_range();
        let (bx, by) = right.get_base_pixel();
        for (i, t) in self.tasks.iter().enumerate() {
            let text = bar_label(t.cost_share, t.cost_usd_per_workflow);
            let tw = super::text_size(&right, &text, &font).0;
            let (px, py) = c.backend_coord(&(t.cost_share * 100.0, row(i) + 0.5));
            let (x, color, anchor) =
                if px + 6 + tw <= xr.end { (px + 6, INK, HPos::Left) } else { (px - 6, WHITE, HPos::Right) };
            let style = font.clone().color(&color).pos(Pos::new(anchor, VPos::Center));
            right.draw(&Text::new(text, (x - bx, py - by), style)).map_err(e)?;
        }
        row_names(&right, &c, &names, &row)?;
        Ok(())
    }
}

/// A task's bar label: its share of the cost and its cost per workflow run in dollars.
pub fn bar_label(share: f64, usd_per_workflow: f64) -> String {
    format!("{:.1}%  {} per run", share * 100.0, usd(usd_per_workflow, 3))
}

/// Writes each task's name left of its row, in the chart's label area.
fn row_names<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    names: &[String],
    row: &dyn Fn(usize) -> f64,
) -> DrawResult {
    let (bx, by) = area.get_base_pixel();
    let font = (FONT, LABEL_PT).into_font().color(&INK).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, name) in names.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, row(i) + 0.5));
        area.draw(&Text::new(name.clone(), (px - bx - 8, py - by), font.clone())).map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bar_labels_are_dollars_with_three_digits() {
        assert_eq!(super::bar_label(0.198, 0.000540123), "19.8%  $0.00054 per run");
        assert_eq!(super::bar_label(0.5, 0.0123456), "50.0%  $0.0123 per run");
    }
}
