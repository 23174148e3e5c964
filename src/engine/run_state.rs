//! Run-state storage: fibers, frames, waiters, task runs and idempotency groups, all in a
//! reusable [`Scratch`] so that after warm-up a run allocates nothing.

use super::events::{Ev, EvQueue};
use super::load::{LoadRt, QState};
use super::outcome::{RunOutcome, Status, TaskAcc};
use super::{direct, services};
use crate::model::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Ready,
    Working,
    RetryDelay,
    Waiting,
    PollWait,
    PollCheck,
    WaitChild,
    Parked,
}

#[derive(Clone, Copy)]
pub(super) struct Fiber {
    pub(super) run: u32,
    /// The run's attempt generation this fiber belongs to.
    pub(super) rgen: u32,
    pub(super) gn: u32,
    pub(super) pc: u32,
    /// Frame this fiber is an item of (NONE for an attempt's root fiber).
    pub(super) frame: u32,
    pub(super) ikey: u64,
    pub(super) phase: Phase,
    pub(super) active: bool,
    pub(super) tries: u32,
    pub(super) mem: f64,
    /// Poll checks so far, or units of a perUnit work step.
    pub(super) aux: u32,
    pub(super) fail: bool,
    pub(super) retryable: bool,
    /// Next fiber waiting for its run's slot (load), or NONE.
    pub(super) next: u32,
    /// CPU-bound work in progress (see `cpu.rs`): among its attempt's CPU-bound work; its
    /// end at the present speed, that speed (relative to running alone), the whole try's work
    /// in seconds alone, and the next such fiber of the attempt.
    pub(super) cpu_on: bool,
    pub(super) cpu_end: f64,
    pub(super) cpu_rate: f64,
    pub(super) cpu_total: f64,
    pub(super) cpu_next: u32,
    /// The present try was refused with a 429.
    pub(super) limited: bool,
    /// Waiting to try a service again after a 429.
    pub(super) limit_wait: bool,
}

#[derive(Clone, Copy)]
pub(super) struct Frame {
    pub(super) gn: u32,
    pub(super) run: u32,
    /// The fiber that waits for the frame; its generation when it parked.
    pub(super) parent: u32,
    pub(super) pgen: u32,
    pub(super) total: u32,
    pub(super) started: u32,
    pub(super) done: u32,
    pub(super) failed: u32,
    pub(super) body: u32,
    pub(super) prog: Prog,
    pub(super) unwrap: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiter {
    None,
    Fiber { id: u32, gn: u32 },
    Frame { id: u32, gn: u32 },
}

#[derive(Clone, Copy)]
pub(super) struct RunState {
    pub(super) task: TaskId,
    pub(super) key: u64,
    /// Key of the current attempt: `attempt_key(key, attempt)`, the root of its steps'
    /// streams.
    pub(super) akey: u64,
    /// Load: resumes of the current attempt so far (each draws its own start latency).
    pub(super) resumes: u32,
    pub(super) waiter: Waiter,
    pub(super) machine: u8,
    pub(super) oom_upgraded: bool,
    pub(super) attempt: u32,
    pub(super) gn: u32,
    /// Generation of the attempt's maxDuration deadline event.
    pub(super) dgen: u32,
    /// A deadline event of the current attempt is in the queue. The deadline only moves
    /// later while the attempt is paused, so one pending event per attempt is enough: when
    /// it fires early it is pushed again at the true deadline.
    pub(super) dl_pending: bool,
    pub(super) busy: u32,
    pub(super) exec_since: f64,
    pub(super) attempt_start: f64,
    pub(super) attempt_usage: f64,
    pub(super) mem: f64,
    pub(super) t_trigger: f64,
    pub(super) t_start: f64,
    pub(super) done: bool,
    pub(super) status: Status,
    /// The workflow run this task run belongs to.
    pub(super) wf: u32,
    /// Its workflow run is measured (a copy of `Wf::measured`, read by every `acc`).
    pub(super) measured: bool,
    /// Load: the sub-queue whose slot the run holds (NONE: no slot).
    pub(super) slot: u32,
    pub(super) qstate: QState,
    pub(super) qgen: u32,
    pub(super) enqueued: f64,
    /// Generation of a pending checkpoint release.
    pub(super) cgen: u32,
    /// Fibers of the attempt waiting on children.
    pub(super) child_waits: u32,
    /// Fibers waiting for the run to get a slot back.
    pub(super) pending: u32,
    /// Head of this run's list of idempotency entries.
    pub(super) idem: u32,
    /// The attempt's CPU-bound work in progress: the first fiber of the list, how many, and
    /// how many of them on the JavaScript main thread.
    pub(super) cpu_head: u32,
    pub(super) cpu_k: u32,
    pub(super) cpu_m: u32,
    /// Fibers of the attempt waiting to call a service again after a 429.
    pub(super) limit_waits: u32,
}

impl RunState {
    /// Closes the current attempt at `now`: its executing time counted, its fibers and events
    /// made stale, its memory and waits cleared. Returns the attempt's billed seconds.
    #[inline(always)]
    pub(super) fn close_attempt(&mut self, now: f64) -> f64 {
        if self.busy > 0 {
            self.attempt_usage += now - self.exec_since;
        }
        self.busy = 0;
        self.gn = self.gn.wrapping_add(1);
        self.dgen = self.dgen.wrapping_add(1);
        self.dl_pending = false;
        self.mem = 0.0;
        self.child_waits = 0;
        self.pending = NONE;
        self.cpu_head = NONE;
        self.cpu_k = 0;
        self.cpu_m = 0;
        self.attempt_usage
    }
}

/// The idempotency keys of one keyed trigger step of a parent run (one per Promise.all item
/// the step is in): its children's slots in `Scratch::idem_kids`.
#[derive(Clone, Copy)]
pub(super) struct IdemGroup {
    pub(super) pc: u32,
    /// The key of the fiber (Promise.all item) that reached the step.
    pub(super) fkey: u64,
    pub(super) start: u32,
    pub(super) len: u32,
    /// The parent run's next group.
    pub(super) next: u32,
}

/// One workflow run: its entry run, inputs, progress bar and where its outcome is.
#[derive(Clone, Copy)]
pub(super) struct Wf {
    pub(super) root: u32,
    /// When the app triggered it.
    pub(super) arrival: f64,
    /// Counted in the per-task totals (false outside a load's measured window).
    pub(super) measured: bool,
    /// Offset of its input attributes in `Scratch::inputs`.
    pub(super) inputs: u32,
    pub(super) bar: f64,
    /// Progress levels reached so far.
    pub(super) level: u32,
    pub(super) done: bool,
    /// Index of its outcome in `Scratch::outs` (measured) or `Scratch::outs_warm` (not).
    pub(super) out: u32,
    /// Calls waiting to try a service again after a 429, and since when one has.
    pub(super) limit_waits: u32,
    pub(super) limit_since: f64,
}

/// Reusable per-thread state of the engine.
pub struct Scratch {
    pub(super) heap: EvQueue,
    /// Events due at the current instant, in sequence order: they skip the heap. Popping
    /// takes the smaller (time, seq) of both, so the order is exactly the heap's.
    pub(super) now_q: std::collections::VecDeque<Ev>,
    pub(super) seq: u64,
    pub(super) now: f64,
    pub(super) events: u64,
    /// Task runs triggered and not ended: with none left (and no load), what remains in
    /// the queue is stale and the run is over.
    pub(super) live: u32,
    pub(super) runs: Vec<RunState>,
    pub(super) fibers: Vec<Fiber>,
    pub(super) free_fibers: Vec<u32>,
    pub(super) frames: Vec<Frame>,
    pub(super) free_frames: Vec<u32>,
    /// Idempotency keys: one group per keyed trigger step (and Promise.all item) a parent run
    /// has reached, in a list per parent run, so a lookup scans only that run's own steps.
    pub(super) idem: Vec<IdemGroup>,
    /// The child runs of the groups, a slot per child of the step (NONE: not triggered yet),
    /// so a batch item is found by its index: scanning a list of keys per item made a keyed
    /// batch quadratic (1,000 items: half a million comparisons a batch).
    pub(super) idem_kids: Vec<u32>,
    pub(super) inputs: Vec<f64>,
    pub(super) wfs: Vec<Wf>,
    /// Outcomes of the measured workflow runs (a lone run's, or a load's measured window's,
    /// in arrival order: the load hands the vector over whole) and of a load's others.
    pub(super) outs: Vec<RunOutcome>,
    pub(super) outs_warm: Vec<RunOutcome>,
    /// Measured workflow runs of the thread's last load replication (a capacity hint).
    pub(super) outs_hint: usize,
    pub(super) lr: LoadRt,
    /// Where the totals of unmeasured runs go.
    pub(super) sink: TaskAcc,
    pub(super) direct: direct::DScratch,
    /// The services' limit states (`Model::service_slots`) and, per service, calls (offered,
    /// served) per window from time 0.
    pub(super) svc: Vec<services::SvcState>,
    pub(super) svc_bins: Vec<Vec<[u32; 2]>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            heap: EvQueue::default(),
            now_q: std::collections::VecDeque::with_capacity(16),
            seq: 0,
            now: 0.0,
            events: 0,
            live: 0,
            runs: Vec::with_capacity(16),
            fibers: Vec::with_capacity(16),
            free_fibers: Vec::new(),
            frames: Vec::new(),
            free_frames: Vec::new(),
            idem: Vec::new(),
            idem_kids: Vec::new(),
            inputs: Vec::new(),
            wfs: Vec::new(),
            outs: Vec::with_capacity(1),
            outs_warm: Vec::new(),
            outs_hint: 0,
            lr: LoadRt::default(),
            sink: TaskAcc::default(),
            direct: direct::DScratch::default(),
            svc: Vec::new(),
            svc_bins: Vec::new(),
        }
    }

    /// Events counted toward the budget (`limits.maxEventsPerRun`) by the last run simulated
    /// with this state; for tests of where the budget stops a run.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub(super) fn clear(&mut self) {
        self.heap.clear();
        self.now_q.clear();
        self.seq = 0;
        self.now = 0.0;
        self.events = 0;
        self.live = 0;
        self.runs.clear();
        self.fibers.clear();
        self.free_fibers.clear();
        self.frames.clear();
        self.free_frames.clear();
        self.idem.clear();
        self.idem_kids.clear();
        self.inputs.clear();
        self.wfs.clear();
        self.outs.clear();
        self.outs_warm.clear();
    }

    /// The outcome of workflow run `wf`.
    #[inline]
    pub(super) fn out_mut(&mut self, wf: u32) -> &mut RunOutcome {
        let w = &self.wfs[wf as usize];
        if w.measured { &mut self.outs[w.out as usize] } else { &mut self.outs_warm[w.out as usize] }
    }
}

pub(super) enum ChildState {
    Reused,
    Pending(u32),
}
