//! The run a report draws as its timeline: the one nearest the median duration, simulated
//! again on its own random stream with an observer that records what happened in it. Under
//! load, a run of the first replication, recorded while that whole replication is simulated
//! again (it shared queues and slots with the other runs).

use crate::engine::{AttemptRecord, Observer, Scratch, SimError, Status, TaskAcc, simulate, simulate_load_observed};
use crate::model::{Model, NONE, TaskId};
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
    /// The work step (index in `Model::works`); `NONE` for a wait.
    pub spec: u32,
    pub start: f64,
    pub end: f64,
    /// Work: failed. Wait: paused (checkpointed).
    pub flag: bool,
    pub is_wait: bool,
}

/// A task run waiting in its queue for a concurrency slot, then starting on a machine.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub run: u32,
    /// When it joined its queue.
    pub enqueued: f64,
    /// When it got a slot.
    pub granted: f64,
    /// Seconds from the slot to its attempt starting (or going on): the start latency.
    pub latency: f64,
    /// Going on after a checkpoint (else the start of an attempt).
    pub resume: bool,
}

/// Records what happens in one simulated run, for the timeline.
#[derive(Debug, Default)]
pub struct Recorder {
    pub runs: Vec<RunRec>,
    pub attempts: Vec<AttemptRecord>,
    pub spans: Vec<Span>,
    pub grants: Vec<Grant>,
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
    fn work(&mut self, run: u32, fiber: u32, spec: u32, start: f64, end: f64, failed: bool) {
        self.spans.push(Span { run, fiber, spec, start, end, flag: failed, is_wait: false });
    }
    fn wait(&mut self, run: u32, fiber: u32, start: f64, end: f64, paused: bool) {
        self.spans.push(Span { run, fiber, spec: NONE, start, end, flag: paused, is_wait: true });
    }
    fn granted(&mut self, run: u32, at: f64, waited: f64, _warm: bool, latency: f64, resume: bool) {
        self.grants.push(Grant { run, enqueued: at - waited, granted: at, latency, resume });
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

/// Under load: the measured workflow run of the first replication (`first_rep` outcomes, the
/// first of `mc.outcomes`) whose duration is nearest the median of all runs; its index there.
pub fn representative_under_load(mc: &McResult, first_rep: usize) -> usize {
    let mut d: Vec<f64> = mc.outcomes.iter().map(|o| o.duration_s).collect();
    d.sort_unstable_by(f64::total_cmp);
    let med = quantile_sorted(&d, 0.5).unwrap_or(0.0);
    mc.outcomes[..first_rep.min(mc.outcomes.len())]
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1.duration_s - med).abs().total_cmp(&(b.1.duration_s - med).abs()))
        .map_or(0, |(i, _)| i)
}

/// One workflow run of a load, recorded: task runs numbered from 0 (the entry run) in
/// trigger order, times since its arrival.
#[derive(Debug, Default)]
pub struct LoadRecording {
    pub rec: Recorder,
    /// When it arrived, seconds since the start of the load.
    pub arrival: f64,
}

/// Watches a whole load replication and records one workflow run of it: the `target`-th to
/// arrive inside the measured window. Task runs of the load are numbered across all its
/// workflow runs; those of the target map to its own numbering (`local`, by load index from
/// its entry run on).
struct LoadRecorder {
    target: u64,
    window: (f64, f64),
    /// Entry runs seen arriving inside the window.
    seen: u64,
    /// Load index of the target's entry run (`NONE` until it arrives).
    base: u32,
    /// Task run (load index - base) to the target's numbering, `NONE` for other runs.
    local: Vec<u32>,
    out: LoadRecording,
}

impl LoadRecorder {
    fn map(&self, run: u32) -> Option<u32> {
        if self.base == NONE || run < self.base {
            return None;
        }
        self.local.get((run - self.base) as usize).copied().filter(|&l| l != NONE)
    }
}

impl Observer for LoadRecorder {
    fn triggered(&mut self, run: u32, task: TaskId, parent: u32, at: f64) {
        let local = if parent == u32::MAX {
            // An entry run: a workflow run arriving now (measured inside the window).
            if at < self.window.0 || at > self.window.1 {
                return;
            }
            self.seen += 1;
            if self.seen - 1 != self.target {
                return;
            }
            self.base = run;
            self.out.arrival = at;
            u32::MAX
        } else {
            match self.map(parent) {
                Some(p) => p,
                None => return,
            }
        };
        let i = (run - self.base) as usize;
        if self.local.len() <= i {
            self.local.resize(i + 1, NONE);
        }
        let id = self.out.rec.runs.len() as u32;
        self.local[i] = id;
        self.out.rec.triggered(id, task, local, at - self.out.arrival);
    }
    fn attempt(&mut self, a: &AttemptRecord) {
        if let Some(run) = self.map(a.run) {
            let t0 = self.out.arrival;
            self.out.rec.attempt(&AttemptRecord { run, start: a.start - t0, end: a.end - t0, ..*a });
        }
    }
    fn run_end(&mut self, run: u32, status: Status, at: f64) {
        if let Some(run) = self.map(run) {
            self.out.rec.run_end(run, status, at - self.out.arrival);
        }
    }
    fn work(&mut self, run: u32, fiber: u32, spec: u32, start: f64, end: f64, failed: bool) {
        if let Some(run) = self.map(run) {
            let t0 = self.out.arrival;
            self.out.rec.work(run, fiber, spec, start - t0, end - t0, failed);
        }
    }
    fn wait(&mut self, run: u32, fiber: u32, start: f64, end: f64, paused: bool) {
        if let Some(run) = self.map(run) {
            let t0 = self.out.arrival;
            self.out.rec.wait(run, fiber, start - t0, end - t0, paused);
        }
    }
    fn work_retimed(&mut self, run: u32, fiber: u32, end: f64) {
        if let Some(run) = self.map(run) {
            self.out.rec.work_retimed(run, fiber, end - self.out.arrival);
        }
    }
    fn granted(&mut self, run: u32, at: f64, waited: f64, warm: bool, latency: f64, resume: bool) {
        if let Some(run) = self.map(run) {
            self.out.rec.granted(run, at - self.out.arrival, waited, warm, latency, resume);
        }
    }
}

/// Simulates the first replication of the load again and records its measured workflow run
/// `index` (in arrival order; the first replication's outcomes come first in the report's
/// runs). Same seed, same replication.
pub fn record_load(model: &Model, seed: u64, index: u64) -> Result<LoadRecording, SimError> {
    let Some(l) = &model.load else { return Ok(LoadRecording::default()) };
    let mut obs = LoadRecorder {
        target: index,
        window: (l.warmup_s, l.duration_s),
        seen: 0,
        base: NONE,
        local: Vec::new(),
        out: LoadRecording::default(),
    };
    let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
    simulate_load_observed(model, seed, 0, &mut tasks, &mut obs)?;
    Ok(obs.out)
}
