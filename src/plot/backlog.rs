//! Load chart: runs waiting for a concurrency slot over the load's period, in all and per
//! queue, titled with the bottleneck: the queue or the environment limit runs wait for.

use super::style::*;
use super::{Chart, DrawResult, Swatch, TimeUnit, e};
use crate::analysis::LoadSummary;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Queues drawn at most (the ones with the largest backlog; the table lists all).
pub const MAX_QUEUES: usize = 6;
/// Mean share of slots in use from which a limit counts as the one runs wait for.
const SATURATED: f64 = 0.8;

pub struct Backlog<'a> {
    pub scenario: &'a str,
    pub load: &'a LoadSummary,
}

/// What runs wait for under a load.
#[derive(Debug, Clone, PartialEq)]
pub enum Bottleneck {
    /// No run waited for a slot.
    None,
    /// A queue whose own concurrencyLimit (below the environment's) is nearly always full.
    Queue { name: String, slots: u32, busy: f64 },
    /// The environment's limit, nearly always full.
    Environment { slots: u32, busy: f64 },
    /// Runs wait most in this queue, though no limit is full on average (bursts).
    Mostly { name: String, slots: u32, busy: f64 },
}

impl Bottleneck {
    /// From the load's queues: the queue with the most time waited in it, and whether its
    /// limit or the environment's is the full one.
    pub fn of(load: &LoadSummary) -> Bottleneck {
        let waited = |q: &crate::analysis::load::QueueRow| q.queue_wait_s.mean * q.queue_wait_s.grants as f64;
        let Some(top) = load.queues.iter().filter(|q| waited(q) > 0.0).max_by(|a, b| waited(a).total_cmp(&waited(b)))
        else {
            return Bottleneck::None;
        };
        let env = load.utilisation.environment;
        if top.cap < load.environment_concurrency && top.utilisation >= SATURATED {
            Bottleneck::Queue { name: top.name.clone(), slots: top.cap, busy: top.utilisation }
        } else if env >= SATURATED {
            Bottleneck::Environment { slots: load.environment_concurrency, busy: env }
        } else {
            Bottleneck::Mostly { name: top.name.clone(), slots: top.cap, busy: top.utilisation }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Bottleneck::None => "no run waited for a slot".into(),
            Bottleneck::Queue { name, slots, busy } => {
                format!("bottleneck: queue {name} ({slots} slots, {:.0}% busy)", busy * 100.0)
            }
            Bottleneck::Environment { slots, busy } => {
                format!("bottleneck: the environment's limit ({slots} slots, {:.0}% busy)", busy * 100.0)
            }
            Bottleneck::Mostly { name, slots, busy } => {
                format!("runs wait most in queue {name} ({slots} slots, {:.0}% busy on average)", busy * 100.0)
            }
        }
    }
}

impl Backlog<'_> {
    /// The queues drawn: those that ever had runs waiting, the largest peak first.
    pub fn queues(&self) -> Vec<&crate::analysis::load::QueueRow> {
        let peak = |q: &crate::analysis::load::QueueRow| q.backlog.iter().copied().fold(0.0, f64::max);
        let mut v: Vec<_> = self.load.queues.iter().filter(|q| peak(q) > 0.0).collect();
        v.sort_by(|a, b| peak(b).total_cmp(&peak(a)).then(a.name.cmp(&b.name)));
        v.truncate(MAX_QUEUES);
        v
    }
}

impl Chart for Backlog<'_> {
    fn stem(&self) -> &'static str {
        "backlog"
    }
    fn title(&self) -> String {
        format!("Backlog of {}: {}", self.scenario, Bottleneck::of(self.load).describe())
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = super::titled(root, &self.title(), LABEL_PT + 3)?;
        let pts = &self.load.backlog;
        let tmax = pts.last().map_or(1.0, |p| p.t_s).max(1e-6);
        let u = TimeUnit::for_max(tmax);
        let ymax = (pts.iter().map(|p| p.queued).fold(0.0, f64::max) * 1.05).max(5.0);
        let queues = self.queues();
        let mut legend = vec![("all queues".to_owned(), Swatch::Fill(SECONDARY.mix(0.2)))];
        for (k, q) in queues.iter().enumerate() {
            legend.push((
                format!("queue {} ({} slots)", q.name, q.cap),
                Swatch::Line(SERIES[k % SERIES.len()].to_rgba()),
            ));
        }
        let quiet = self.load.queues.len() - queues.len();
        let peaked = self.load.queues.iter().filter(|q| q.backlog.iter().any(|&b| b > 0.0)).count();
        if peaked > queues.len() {
            legend.push((format!("{} more queues with a smaller backlog", peaked - queues.len()), Swatch::Text));
        } else if quiet > 0 {
            legend.push((format!("{quiet} queue(s) with no run ever waiting"), Swatch::Text));
        }
        if self.load.warmup_s > 0.0 {
            legend.push(("end of warm-up".into(), Swatch::Dashed(INK.to_rgba())));
        }
        let area = super::under_legend(&root, &legend)?;
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .margin_top(4)
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(0f64..tmax / u.div, 0f64..ymax)
            .map_err(e)?;
        let reps = if self.load.replications > 1 {
            format!(", mean of {} replications", self.load.replications)
        } else {
            String::new()
        };
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .y_label_formatter(&|v| if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { format!("{v:.1}") })
            .x_desc(format!("time since the load started ({})", u.name))
            .y_desc(format!("task runs waiting for a slot{reps}"))
            .label_style((FONT, LABEL_PT))
            .draw()
            .map_err(e)?;
        chart
            .draw_series(
                AreaSeries::new(pts.iter().map(|p| (p.t_s / u.div, p.queued)), 0.0, SECONDARY.mix(0.2))
                    .border_style(SECONDARY.mix(0.5).stroke_width(1)),
            )
            .map_err(e)?;
        for (k, q) in queues.iter().enumerate() {
            let c = SERIES[k % SERIES.len()];
            chart
                .draw_series(LineSeries::new(
                    pts.iter().zip(&q.backlog).map(|(p, &b)| (p.t_s / u.div, b)),
                    c.stroke_width(2),
                ))
                .map_err(e)?;
        }
        if self.load.warmup_s > 0.0 {
            let x = self.load.warmup_s / u.div;
            chart
                .draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                    vec![(x, 0.0), (x, ymax)],
                    6,
                    4,
                    INK.stroke_width(2),
                )))
                .map_err(e)?;
        }
        Ok(())
    }
}
