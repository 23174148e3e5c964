//! Chart 3: the timeline (Gantt) of one representative run: each task run, its attempts,
//! backoff between them, its work steps in Promise.all lanes, and its waits (checkpointed and
//! not billed, or in process and billed).

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e};
use crate::analysis::median_run::Recorder;
use crate::engine::{AttemptEnd, AttemptRecord};
use crate::model::Model;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// Most task runs drawn; the rest are counted in the title.
const MAX_ROWS: usize = 24;
/// Width of the legend strip on the right, pixels.
const LEGEND_W: u32 = 290;

pub struct Timeline<'a> {
    pub scenario: &'a str,
    pub model: &'a Model,
    pub rec: &'a Recorder,
    /// Which run of the Monte Carlo this is.
    pub run_index: u64,
}

struct Block {
    run: u32,
    y0: f64,
    lanes: usize,
    lane_of: Vec<(usize, usize)>,
}

impl Timeline<'_> {
    /// Task runs in tree order (each child after its parent, by trigger time).
    fn order(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![0u32];
        while let Some(r) = stack.pop() {
            if r as usize >= self.rec.runs.len() {
                continue;
            }
            out.push(r);
            let mut kids: Vec<u32> =
                (0..self.rec.runs.len() as u32).filter(|&c| self.rec.runs[c as usize].parent == r).collect();
            kids.sort_by(|a, b| self.rec.runs[*b as usize].trigger.total_cmp(&self.rec.runs[*a as usize].trigger));
            stack.extend(kids);
        }
        out
    }
}

impl Chart for Timeline<'_> {
    fn stem(&self) -> &'static str {
        "timeline"
    }
    fn size(&self) -> (u32, u32) {
        (WIDE.0, (140 + 48 * self.rec.runs.len().min(MAX_ROWS) as u32).max(300))
    }
    fn title(&self) -> String {
        let hidden = self.rec.runs.len().saturating_sub(MAX_ROWS);
        let more = if hidden > 0 { format!(", {hidden} more task runs not shown") } else { String::new() };
        format!("Timeline of {} run #{} (the run nearest the median duration{more})", self.scenario, self.run_index)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let spans = self.rec.clipped();
        let order: Vec<u32> = self.order().into_iter().take(MAX_ROWS).collect();
        // Lanes: greedy interval colouring of each run's spans.
        let mut blocks = Vec::new();
        let mut y = 0.0;
        for &r in &order {
            let mut idx: Vec<usize> = (0..spans.len()).filter(|&i| spans[i].run == r).collect();
            idx.sort_by(|a, b| spans[*a].start.total_cmp(&spans[*b].start));
            let mut lane_end: Vec<f64> = Vec::new();
            let mut lane_of = Vec::new();
            for i in idx {
                let s = spans[i];
                let lane = match lane_end.iter().position(|&end| end <= s.start + 1e-9) {
                    Some(l) => l,
                    None => {
                        lane_end.push(0.0);
                        lane_end.len() - 1
                    }
                };
                lane_end[lane] = s.end;
                lane_of.push((i, lane));
            }
            let lanes = lane_end.len().max(1);
            blocks.push(Block { run: r, y0: y, lanes, lane_of });
            y += lanes as f64 * 0.7 + 1.0;
        }
        let total_y = y.max(1.0);
        let tmax = self.rec.runs.iter().map(|r| r.end).fold(0.0, f64::max).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let root = root.titled(&self.title(), (FONT, LABEL_PT + 3)).map_err(e)?;
        let (plot_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(LEGEND_W));
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(MARGIN)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(12)
            .build_cartesian_2d(0f64..tmax / u.div * 1.02, 0f64..total_y)
            .map_err(e)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(format!("time since the trigger ({})", u.name))
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        let flip = |y: f64| total_y - y;
        let d = u.div;
        for b in &blocks {
            let run = &self.rec.runs[b.run as usize];
            let top = flip(b.y0 + 0.15);
            let bottom = flip(b.y0 + 0.3 + b.lanes as f64 * 0.7);
            let name = &self.model.tasks[run.task as usize].name;
            let attempts: Vec<&AttemptRecord> = self.rec.attempts.iter().filter(|a| a.run == b.run).collect();
            let first = attempts.first().map_or(run.end, |a| a.start);
            // Start latency (queued).
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(run.trigger / d, top), (first / d, bottom)],
                    QUEUED.filled(),
                )))
                .map_err(e)?;
            for (k, a) in attempts.iter().enumerate() {
                let color = match a.outcome {
                    AttemptEnd::Ok => OK,
                    AttemptEnd::Threw => FAIL,
                    AttemptEnd::OutOfMemory => OOM,
                    AttemptEnd::TimedOut => TIMEOUT,
                };
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a.start / d, top), (a.end.max(a.start + tmax * 1e-4) / d, bottom)],
                        color.stroke_width(2),
                    )))
                    .map_err(e)?;
                if let Some(next) = attempts.get(k + 1) {
                    let mid = (top + bottom) / 2.0;
                    chart
                        .draw_series(std::iter::once(DashedPathElement::new(
                            vec![(a.end / d, mid), (next.start / d, mid)],
                            4,
                            4,
                            FAIL.stroke_width(1),
                        )))
                        .map_err(e)?;
                }
            }
            for &(i, lane) in &b.lane_of {
                let s = spans[i];
                let y1 = flip(b.y0 + 0.3 + lane as f64 * 0.7 + 0.1);
                let y2 = flip(b.y0 + 0.3 + lane as f64 * 0.7 + 0.6);
                let color = match (s.is_wait, s.flag) {
                    (false, false) => PRIMARY.mix(0.8),
                    (false, true) => FAIL.mix(0.8),
                    (true, true) => WAIT_PAUSED.mix(1.0),
                    (true, false) => WAIT_BILLED.mix(0.9),
                };
                let end = s.end.max(s.start + tmax * 1e-4);
                chart
                    .draw_series(std::iter::once(Rectangle::new([(s.start / d, y1), (end / d, y2)], color.filled())))
                    .map_err(e)?;
                // A thin white edge keeps back-to-back steps apart.
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(s.start / d, y1), (end / d, y2)],
                        WHITE.stroke_width(1),
                    )))
                    .map_err(e)?;
            }
            let status = run.status.map_or("running", |s| s.name());
            let machine = attempts.last().map_or("", |a| crate::engine::preset_name(a.machine));
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{name} ({machine}, {} attempt(s), {status})", attempts.len()),
                    (run.trigger / d, flip(b.y0 - 0.05)),
                    (FONT, SMALL_PT).into_font().color(&INK),
                )))
                .map_err(e)?;
        }
        let legend: [(&str, RGBAColor, bool); 8] = [
            ("start latency", QUEUED.to_rgba(), true),
            ("work step", PRIMARY.mix(0.8), true),
            ("failed step", FAIL.mix(0.8), true),
            ("wait, checkpointed (not billed)", WAIT_PAUSED.to_rgba(), true),
            ("wait or retry delay in process (billed)", WAIT_BILLED.mix(0.9), true),
            ("attempt: ok", OK.to_rgba(), false),
            ("attempt: threw / out of memory", FAIL.to_rgba(), false),
            ("attempt: timed out", TIMEOUT.to_rgba(), false),
        ];
        for (i, (label, color, filled)) in legend.into_iter().enumerate() {
            let y = 40 + i as i32 * 24;
            let st = if filled { color.filled() } else { color.stroke_width(2) };
            legend_area.draw(&Rectangle::new([(12, y - 6), (30, y + 6)], st)).map_err(e)?;
            legend_area.draw(&Text::new(label, (38, y - 7), (FONT, SMALL_PT).into_font().color(&INK))).map_err(e)?;
        }
        Ok(())
    }
}
