//! Watching a run as it happens (the timeline chart records attempts through it); the
//! engine's default observer does nothing and costs nothing.

use super::outcome::Status;
use crate::model::*;

/// Receives what happens inside a run; used to draw timelines. The default does nothing
/// and compiles away.
pub trait Observer {
    /// Runs may take the direct path (`direct.rs`), which reports nothing to an observer.
    const DIRECT: bool = false;
    /// An attempt of task run `run` (index within the workflow run) ended.
    fn attempt(&mut self, _a: &AttemptRecord) {}
    /// A task run was triggered (by task run `parent`, `u32::MAX` for the entry run).
    fn triggered(&mut self, _run: u32, _task: TaskId, _parent: u32, _at: f64) {}
    /// A task run ended.
    fn run_end(&mut self, _run: u32, _status: Status, _at: f64) {}
    /// Fiber `fiber` of task run `run` started work step `spec` planned to end at `end`
    /// (earlier if its attempt ends first) and to fail there when `failed`.
    fn work(&mut self, _run: u32, _fiber: u32, _spec: u32, _start: f64, _end: f64, _failed: bool) {}
    /// A wait: `paused` when checkpointed (not billed), else in process (billed).
    fn wait(&mut self, _run: u32, _fiber: u32, _start: f64, _end: f64, _paused: bool) {}
    /// The work step fiber `fiber` of task run `run` is in now ends at `end`: CPU-bound work
    /// slowed down or sped up as other CPU-bound work of its attempt started or ended.
    fn work_retimed(&mut self, _run: u32, _fiber: u32, _end: f64) {}
    /// Task run `run` got a concurrency slot at `at` after `waited` seconds in its queue; its
    /// attempt starts (or, `resume`, goes on) `latency` seconds later, on a machine that was
    /// warm or not.
    fn granted(&mut self, _run: u32, _at: f64, _waited: f64, _warm: bool, _latency: f64, _resume: bool) {}
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttemptEnd {
    Ok,
    Threw,
    OutOfMemory,
    TimedOut,
}

/// One ended attempt, as an [`Observer`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptRecord {
    /// Index of the task run within the workflow run (0 is the entry run).
    pub run: u32,
    pub task: TaskId,
    pub attempt: u32,
    pub machine: u8,
    pub start: f64,
    pub end: f64,
    pub usage_s: f64,
    pub outcome: AttemptEnd,
}

pub struct NoObserver;
impl Observer for NoObserver {
    const DIRECT: bool = true;
}

// ------------------------------------------------------------------------ internals
