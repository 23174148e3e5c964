//! Chart 3: the timeline (Gantt) of one representative run: each task run, its wait in its
//! queue for a concurrency slot and its start latency, its attempts, backoff between them,
//! its work steps (named) in Promise.all lanes, and its waits (checkpointed and not billed,
//! or in process and billed). Alone, the run nearest the median duration; under load, a run
//! of the load near the median, drawn with the queue waits it met there.

use super::style::*;
use super::{Chart, DrawResult, TimeUnit, e};
use crate::analysis::median_run::{Recorder, Span};
use crate::engine::{AttemptEnd, AttemptRecord};
use crate::model::{Model, NONE};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Most task runs drawn; the rest are counted in the title.
const MAX_ROWS: usize = 24;
/// Width of the legend strip on the right, pixels.
const LEGEND_W: u32 = 300;
/// Pixels per unit of the layout's height.
const UNIT_PX: f64 = 30.0;
/// Layout, in units: the run's label line, each lane, the bar inside a lane, the gap after.
const LABEL_U: f64 = 0.6;
const LANE_U: f64 = 0.75;
const BAR_U: f64 = 0.6;
const GAP_U: f64 = 0.35;

pub struct Timeline<'a> {
    pub scenario: &'a str,
    pub model: &'a Model,
    pub rec: &'a Recorder,
    /// Which run of the Monte Carlo (under load: of the first replication's measured runs).
    pub run_index: u64,
    /// Under load: when the run arrived, seconds since the start of the load. None alone.
    pub arrival: Option<f64>,
}

/// One task run's rows: where its block starts (units from the top) and the lane of each of
/// its spans.
struct Block {
    run: u32,
    y0: f64,
    lanes: usize,
    /// (span index, lane)
    lane_of: Vec<(usize, usize)>,
}

impl Block {
    fn height(&self) -> f64 {
        LABEL_U + LANE_U * self.lanes as f64 + GAP_U
    }
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

    /// The blocks of the task runs drawn, and the spans (cut at their attempt's end).
    fn layout(&self) -> (Vec<Block>, Vec<Span>, f64) {
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
            let b = Block { run: r, y0: y, lanes: lane_end.len().max(1), lane_of };
            y += b.height();
            blocks.push(b);
        }
        (blocks, spans, y.max(1.0))
    }
}

impl Chart for Timeline<'_> {
    fn stem(&self) -> &'static str {
        "timeline"
    }
    fn size(&self) -> (u32, u32) {
        let (_, _, total) = self.layout();
        (WIDE.0, ((150.0 + total * UNIT_PX) as u32).clamp(330, 4000))
    }
    fn title(&self) -> String {
        let hidden = self.rec.runs.len().saturating_sub(MAX_ROWS);
        let more = if hidden > 0 { format!("; {hidden} more task runs not shown") } else { String::new() };
        match self.arrival {
            None => format!(
                "Timeline of {} run #{}, the run nearest the median duration{more}",
                self.scenario, self.run_index
            ),
            Some(t) => format!(
                "Timeline of {} under load: run #{} (arrived {} into the load), near the median duration{more}",
                self.scenario,
                self.run_index,
                crate::format::secs(t)
            ),
        }
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let (blocks, spans, total_y) = self.layout();
        let tmax = self
            .rec
            .runs
            .iter()
            .map(|r| r.end)
            .chain(self.rec.grants.iter().map(|g| g.granted + g.latency))
            .fold(0.0, f64::max)
            .max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let root = super::titled(root, &self.title(), LABEL_PT + 3)?;
        let (plot_area, legend_area) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(LEGEND_W));
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(MARGIN)
            .margin_top(4)
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
        let lane_y = |b: &Block, lane: usize| {
            let top = b.y0 + LABEL_U + lane as f64 * LANE_U;
            (flip(top + (LANE_U - BAR_U) / 2.0), flip(top + (LANE_U + BAR_U) / 2.0))
        };
        let (bx, by) = plot_area.get_base_pixel();
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let name_font = (FONT, SMALL_PT).into_font();
        for b in &blocks {
            let run = &self.rec.runs[b.run as usize];
            let top = flip(b.y0 + LABEL_U);
            let bottom = flip(b.y0 + LABEL_U + LANE_U * b.lanes as f64);
            let name = &self.model.tasks[run.task as usize].name;
            let attempts: Vec<&AttemptRecord> = self.rec.attempts.iter().filter(|a| a.run == b.run).collect();
            let grants: Vec<_> = self.rec.grants.iter().filter(|g| g.run == b.run).collect();
            if grants.is_empty() {
                // Nothing recorded about slots: the time to the first attempt, as start latency.
                let first = attempts.first().map_or(run.end, |a| a.start);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(run.trigger / d, top), (first / d, bottom)],
                        QUEUED.filled(),
                    )))
                    .map_err(e)?;
            }
            for g in &grants {
                if g.granted > g.enqueued {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(g.enqueued / d, top), (g.granted / d, bottom)],
                            SLOT_WAIT.filled(),
                        )))
                        .map_err(e)?;
                }
                if g.latency > 0.0 {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(g.granted / d, top), ((g.granted + g.latency) / d, bottom)],
                            QUEUED.filled(),
                        )))
                        .map_err(e)?;
                }
            }
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
                let (y1, y2) = lane_y(b, lane);
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
            // Step names: inside the bar where they fit, else just right of it when the lane is
            // free there.
            for &(i, lane) in &b.lane_of {
                let s = spans[i];
                if s.spec == NONE {
                    continue;
                }
                let label = &self.model.works[s.spec as usize].name;
                if label.is_empty() {
                    continue;
                }
                let (y1, y2) = lane_y(b, lane);
                let (px0, py1) = chart.backend_coord(&(s.start / d, y1));
                let (px1, py2) = chart.backend_coord(&(s.end.max(s.start) / d, y2));
                let tw = super::text_size(&plot_area, label, &name_font).0;
                let cy = (py1 + py2) / 2 - by;
                let next = b
                    .lane_of
                    .iter()
                    .filter(|&&(j, l)| l == lane && spans[j].start >= s.end - 1e-9 && j != i)
                    .map(|&(j, _)| chart.backend_coord(&(spans[j].start / d, y1)).0)
                    .min()
                    .unwrap_or(xr.end);
                let style = |c: &RGBColor| name_font.clone().color(c).pos(Pos::new(HPos::Left, VPos::Center));
                if px1 - px0 >= tw + 8 {
                    plot_area.draw(&Text::new(label.clone(), (px0 + 4 - bx, cy), style(&WHITE))).map_err(e)?;
                } else if px1 + 4 + tw <= next.min(xr.end) - 2 {
                    plot_area.draw(&Text::new(label.clone(), (px1 + 4 - bx, cy), style(&INK))).map_err(e)?;
                }
            }
            let status = run.status.map_or("running", |s| s.name());
            let machine = attempts.last().map_or("", |a| crate::engine::preset_name(a.machine));
            let waited: f64 = grants.iter().map(|g| g.granted - g.enqueued).sum();
            let queued = if waited > 0.0 { format!(", {} queued", crate::format::secs(waited)) } else { String::new() };
            let text = format!("{name} ({machine}, {} attempt(s){queued}, {status})", attempts.len());
            let (px, py) = chart.backend_coord(&(run.trigger / d, flip(b.y0 + LABEL_U / 2.0)));
            let tw = super::text_size(&plot_area, &text, &name_font).0;
            // Kept inside the plot: a late run's label ends at the plot's right edge.
            let x = px.min(xr.end - tw - 2).max(xr.start + 2);
            let st = name_font.clone().color(&INK).pos(Pos::new(HPos::Left, VPos::Center));
            plot_area.draw(&Text::new(text, (x - bx, py - by), st)).map_err(e)?;
        }
        let legend: [(&str, RGBAColor, bool); 9] = [
            ("queued: waiting for a concurrency slot", SLOT_WAIT.to_rgba(), true),
            ("start latency (slot to running, cold starts)", QUEUED.to_rgba(), true),
            ("work step (named)", PRIMARY.mix(0.8), true),
            ("failed step", FAIL.mix(0.8), true),
            ("wait, checkpointed (not billed)", WAIT_PAUSED.to_rgba(), true),
            ("wait or retry delay in process (billed)", WAIT_BILLED.mix(0.9), true),
            ("attempt: ok", OK.to_rgba(), false),
            ("attempt: threw / out of memory", FAIL.to_rgba(), false),
            ("attempt: timed out", TIMEOUT.to_rgba(), false),
        ];
        for (i, (label, color, filled)) in legend.into_iter().enumerate() {
            let y = 24 + i as i32 * 24;
            let st = if filled { color.filled() } else { color.stroke_width(2) };
            legend_area.draw(&Rectangle::new([(12, y - 6), (30, y + 6)], st)).map_err(e)?;
            legend_area.draw(&Text::new(label, (38, y - 7), (FONT, SMALL_PT).into_font().color(&INK))).map_err(e)?;
        }
        Ok(())
    }
}
