//! The run a report draws as its timeline: the one nearest the median duration, simulated
//! again on its own random stream with an observer that records what happened in it.

use crate::engine::{AttemptRecord, Observer, Scratch, Status, TaskAcc, simulate};
use crate::model::{Model, TaskId};
use crate::montecarlo::McResult;
use crate::rng::run_key;
use crate::stats::quantile_sorted;

#[derive(Debug, Clone)]
pub struct RunRec {
    pub task: TaskId,
    pub parent: u32,
    pub trigger: f64,
    pub end: f64,
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub run: u32,
    pub fiber: u32,
    pub start: f64,
    pub end: f64,
    /// Work: failed. Wait: paused (checkpointed).
    pub flag: bool,
    pub is_wait: bool,
}

/// Records what happens in one simulated run, for the timeline.
#[derive(Debug, Default)]
pub struct Recorder {
    pub runs: Vec<RunRec>,
    pub attempts: Vec<AttemptRecord>,
    pub spans: Vec<Span>,
}

impl Observer for Recorder {
    fn attempt(&mut self, a: &AttemptRecord) {
        self.attempts.push(*a);
    }
    fn triggered(&mut self, run: u32, task: TaskId, parent: u32, at: f64) {
        debug_assert_eq!(run as usize, self.runs.len());
        self.runs.push(RunRec { task, parent, trigger: at, end: at, status: None });
    }
    fn run_end(&mut self, run: u32, status: Status, at: f64) {
        if let Some(r) = self.runs.get_mut(run as usize) {
            r.end = at;
            r.status = Some(status);
        }
    }
    fn work(&mut self, run: u32, fiber: u32, _spec: u32, start: f64, end: f64, failed: bool) {
        self.spans.push(Span { run, fiber, start, end, flag: failed, is_wait: false });
    }
    fn wait(&mut self, run: u32, fiber: u32, start: f64, end: f64, paused: bool) {
        self.spans.push(Span { run, fiber, start, end, flag: paused, is_wait: true });
    }
    fn work_retimed(&mut self, run: u32, fiber: u32, end: f64) {
        if let Some(w) = self.spans.iter_mut().rev().find(|s| s.run == run && s.fiber == fiber && !s.is_wait) {
            w.end = end;
        }
    }
}

impl Recorder {
    /// Spans cut at the end of the attempt they belong to (an attempt that fails stops its
    /// other Promise.all items at that moment).
    pub fn clipped(&self) -> Vec<Span> {
        self.spans
            .iter()
            .map(|s| {
                let end = self
                    .attempts
                    .iter()
                    .find(|a| a.run == s.run && a.start <= s.start && s.start <= a.end)
                    .map_or(s.end, |a| s.end.min(a.end));
                Span { end, ..*s }
            })
            .collect()
    }
}

/// Index of the run whose duration is nearest the median (the first such run).
pub fn representative(mc: &McResult) -> usize {
    let mut d: Vec<f64> = mc.outcomes.iter().map(|o| o.duration_s).collect();
    d.sort_unstable_by(f64::total_cmp);
    let med = quantile_sorted(&d, 0.5).unwrap_or(0.0);
    mc.outcomes
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.duration_s - med).abs().total_cmp(&(b.1.duration_s - med).abs()))
        .map_or(0, |(i, _)| i)
}

/// Simulates run `index` again, recording everything for its timeline. Same seed, same run.
pub fn record(model: &Model, seed: u64, index: u64) -> Recorder {
    let mut rec = Recorder::default();
    let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
    let _ = simulate(model, run_key(seed, index), &mut Scratch::new(), &mut tasks, &mut rec);
    rec
}
