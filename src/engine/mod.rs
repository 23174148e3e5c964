//! The discrete-event engine: one workflow run, scheduled as Trigger.dev would.
//!
//! Each task run executes its compiled program (`Model::ops`) in fibers: the root fiber of
//! an attempt, plus one per Promise.all item in flight. Events sit in a binary heap keyed by
//! (time, sequence), so events at the same time are handled first in, first out. All state
//! lives in a reusable [`Scratch`]: after warm-up a run allocates nothing.
//!
//! Time accounting per attempt follows Trigger.dev: the attempt is *executing* while at
//! least one of its fibers is active (working, in a retry.onThrow delay, in a wait.for of
//! 5 s or less); it is *paused* while every fiber waits on a checkpoint (wait.for over 5 s,
//! triggerAndWait, batchTriggerAndWait). Executing time is billed and counts toward
//! maxDuration; paused time is neither.

use crate::dist::Dist;
use crate::model::*;
use crate::platform::{self, PRESETS};
use crate::rng::{SimRng, attempt_key, mix, mix3, purpose, stream};
use rand::RngExt;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// `PartialEq`, `Eq` and `PartialOrd` from a type's `Ord` (queue entries order by a key
/// their `Ord` defines; equality is that order's).
macro_rules! eq_and_partial_ord_from_ord {
    ($($t:ty),*) => {$(
        impl PartialEq for $t {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }
        impl Eq for $t {}
        impl PartialOrd for $t {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
    )*};
}

mod cpu;
mod direct;
mod load;
mod services;
pub use direct::supported as direct_supported;
pub use load::{BACKLOG_SAMPLES, LoadOutcome, QueueStats, SLOT_RELEASE_S, load_takes_one_queue, simulate_load};
use load::{LoadRt, QState};
pub use services::SvcAcc;

/// Promise.all items started in line (no event) when a step starts at most this many.
const DIRECT_ITEMS: u32 = 64;

/// Progress levels recorded per run: 5%, 10%, ..., 100%.
pub const LEVELS: usize = 20;
pub const LEVEL_STEP: f64 = 100.0 / LEVELS as f64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Completed = 0,
    Failed = 1,
    Crashed = 2,
    TimedOut = 3,
    /// Not started within its ttl (load only).
    Expired = 4,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Completed, Status::Failed, Status::Crashed, Status::TimedOut, Status::Expired];
    /// Trigger.dev's name for the status.
    pub fn name(self) -> &'static str {
        crate::platform::STATUSES[self as usize]
    }
}

/// Totals of one task over the runs of it in one or more workflow runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskAcc {
    /// Task runs (each trigger is one run).
    pub runs: u64,
    pub attempts: u64,
    pub statuses: [u64; 5],
    /// Attempts that ran out of memory.
    pub oom: u64,
    /// Start latency waited before first attempts (Trigger.dev's queued_duration).
    pub queued_s: f64,
    /// First attempt start to end of the run (execution_duration).
    pub execution_s: f64,
    /// Billed compute time (usage_duration).
    pub usage_s: f64,
    pub compute_usd: f64,
    pub invocation_usd: f64,
    /// Task runs by the preset of their last attempt (an out-of-memory retry moves a run to
    /// `retry.outOfMemory.machine`).
    pub finished_on: [u64; 7],
    /// Calls to each service (by index; empty when the task calls none).
    pub svc: Vec<SvcAcc>,
    /// Per machine preset (index into [`PRESETS`]): the attempts that ran on it, and what
    /// they used and cost (a task upgraded by an out-of-memory retry runs on two).
    pub by_machine: [MachineAcc; PRESETS.len()],
}

/// The attempts of a task on one machine preset.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MachineAcc {
    pub attempts: u64,
    pub oom: u64,
    pub usage_s: f64,
    pub compute_usd: f64,
}

impl TaskAcc {
    /// An attempt on `machine` ended, using `usage_s` billed seconds for `usd`.
    #[inline]
    pub fn attempt_on(&mut self, machine: u8, usage_s: f64, usd: f64, oom: bool) {
        if let Some(m) = self.by_machine.get_mut(machine as usize) {
            m.attempts += 1;
            m.oom += u64::from(oom);
            m.usage_s += usage_s;
            m.compute_usd += usd;
        }
    }

    pub fn merge(&mut self, o: &TaskAcc) {
        for (a, b) in self.by_machine.iter_mut().zip(&o.by_machine) {
            a.attempts += b.attempts;
            a.oom += b.oom;
            a.usage_s += b.usage_s;
            a.compute_usd += b.compute_usd;
        }
        self.runs += o.runs;
        self.attempts += o.attempts;
        for i in 0..5 {
            self.statuses[i] += o.statuses[i];
        }
        self.oom += o.oom;
        self.queued_s += o.queued_s;
        self.execution_s += o.execution_s;
        self.usage_s += o.usage_s;
        self.compute_usd += o.compute_usd;
        self.invocation_usd += o.invocation_usd;
        for i in 0..7 {
            self.finished_on[i] += o.finished_on[i];
        }
        if self.svc.len() < o.svc.len() {
            self.svc.resize(o.svc.len(), SvcAcc::default());
        }
        for (a, b) in self.svc.iter_mut().zip(&o.svc) {
            a.merge(b);
        }
    }
}

/// What one workflow run produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOutcome {
    /// Trigger of the entry task to the end of its run.
    pub duration_s: f64,
    pub status: Status,
    /// All task runs of the workflow, fire-and-forget children included.
    pub cost_usd: f64,
    pub compute_usd: f64,
    pub invocation_usd: f64,
    /// Billed compute seconds over all task runs.
    pub usage_s: f64,
    /// Seconds the entry run's attempts were executing (the rest of its time it was
    /// paused at checkpoints, waiting for a retry, or starting).
    pub root_usage_s: f64,
    /// Time the last task run of the workflow ended (fire-and-forget children included).
    pub makespan_s: f64,
    /// Time some call of the workflow run waited to try a service again after a 429 (the
    /// union of those waits: calls waiting together count once).
    pub limit_wait_s: f64,
    pub task_runs: u32,
    pub attempts: u32,
    /// Time the progress bar first reached 5%, 10%, ..., 100% (infinite if never).
    pub progress: [f64; LEVELS],
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    /// `run` is the index of the Monte Carlo run (or the load replication, `scope` says
    /// which) once the caller has set it with [`SimError::at`]; the engine itself only knows
    /// the run's random key.
    #[error(
        "{scope} {run} processed more than {limit} events (in task `{task}`); a runaway scenario? raise limits.maxEventsPerRun if it is meant"
    )]
    EventBudget { scope: &'static str, run: u64, limit: u64, task: String },
}

impl SimError {
    /// The same error, naming run (or replication) `index` as `scope`.
    pub fn at(self, scope: &'static str, index: u64) -> SimError {
        match self {
            SimError::EventBudget { limit, task, .. } => SimError::EventBudget { scope, run: index, limit, task },
        }
    }
}

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum EvKind {
    AttemptStart,
    Wake,
    Deadline,
    Tick,
    /// Load: a workflow run arrives.
    Arrival,
    /// Load: a run enters its queue (after a delay or a long retry delay).
    Enqueue,
    /// Load: a checkpointed wait reached 60 s: the slot goes back.
    Release,
    /// Load: a run that got its slot back after a checkpoint goes on.
    Resumed,
    /// Load: a run's ttl passed.
    Expire,
    /// Load: backlog sample.
    Sample,
    /// Load: the dequeue loop polls the queues.
    Dequeue,
    /// Load: the work of a run of a one-step task ends (see `load::start_simple`).
    WorkEnd,
    /// A call to a service with a concurrency limit ends (`id`: its limit state).
    SvcDone,
}

/// An event. Its order key packs (time, sequence) into one integer: times are never
/// negative (nor -0.0), and for those the bits of an `f64` order as the numbers do, so one
/// `u128` comparison orders events by time, then first in, first out.
#[derive(Clone, Copy)]
struct Ev {
    key: u128,
    kind: EvKind,
    id: u32,
    gn: u32,
    aux: u32,
}

eq_and_partial_ord_from_ord!(Ev);
impl Ord for Ev {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

impl Ev {
    #[inline]
    fn new(t: f64, seq: u64, kind: EvKind, id: u32, gn: u32, aux: u32) -> Ev {
        debug_assert!(t >= 0.0, "event time {t}");
        // `+ 0.0` turns a -0.0 into 0.0.
        Ev { key: ((t + 0.0).to_bits() as u128) << 64 | seq as u128, kind, id, gn, aux }
    }
    #[inline]
    fn t(&self) -> f64 {
        f64::from_bits((self.key >> 64) as u64)
    }
}

/// The future events: a sorted vector while there are few (one run alone keeps a dozen
/// or so; insertion moves a few cache lines, popping is free), a binary heap once there are
/// more (a load's thousands of runs). Both pop in the same (time, seq) order.
#[derive(Default)]
struct EvQueue {
    /// Descending by key: the next event is last.
    small: Vec<Ev>,
    heap: BinaryHeap<Ev>,
    big: bool,
}

impl EvQueue {
    const SMALL: usize = 48;

    fn clear(&mut self) {
        self.small.clear();
        self.heap.clear();
        self.big = false;
    }

    /// In line: the sorted-vector case is a few instructions, and as a call the event was
    /// passed through memory (the heap's code made the whole too big for LLVM to inline).
    #[inline(always)]
    fn push(&mut self, ev: Ev) {
        if self.big || self.small.len() >= Self::SMALL {
            self.push_heap(ev);
        } else {
            // Scan up from the next event: a new event usually lands among the nearest
            // few (far ones, like maxDuration deadlines, sit at the front), so this beats a
            // binary search and moves only the events due before it.
            // The events due before it move up one place as the scan passes them (a
            // `Vec::insert` would call memmove to shift a handful of elements).
            self.small.push(ev);
            let v = self.small.as_mut_slice();
            let mut i = v.len() - 1;
            while i > 0 && v[i - 1].key < ev.key {
                v[i] = v[i - 1];
                i -= 1;
            }
            v[i] = ev;
        }
    }

    /// Past `SMALL` events: the binary heap (moving the sorted vector into it the first time).
    #[inline(never)]
    fn push_heap(&mut self, ev: Ev) {
        if !self.big {
            self.big = true;
            self.heap.extend(self.small.drain(..));
        }
        self.heap.push(ev);
    }

    #[inline]
    fn peek(&self) -> Option<&Ev> {
        if self.big { self.heap.peek() } else { self.small.last() }
    }

    #[inline]
    fn pop(&mut self) -> Option<Ev> {
        if self.big { self.heap.pop() } else { self.small.pop() }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
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
struct Fiber {
    run: u32,
    /// The run's attempt generation this fiber belongs to.
    rgen: u32,
    gn: u32,
    pc: u32,
    /// Frame this fiber is an item of (NONE for an attempt's root fiber).
    frame: u32,
    ikey: u64,
    phase: Phase,
    active: bool,
    tries: u32,
    mem: f64,
    /// Poll checks so far, or units of a perUnit work step.
    aux: u32,
    fail: bool,
    retryable: bool,
    /// Next fiber waiting for its run's slot (load), or NONE.
    next: u32,
    /// CPU-bound work in progress (see `cpu.rs`): among its attempt's CPU-bound work; its
    /// end at the present speed, that speed (relative to running alone), the whole try's work
    /// in seconds alone, and the next such fiber of the attempt.
    cpu_on: bool,
    cpu_end: f64,
    cpu_rate: f64,
    cpu_total: f64,
    cpu_next: u32,
    /// The present try was refused with a 429.
    limited: bool,
    /// Waiting to try a service again after a 429.
    limit_wait: bool,
}

#[derive(Clone, Copy)]
struct Frame {
    gn: u32,
    run: u32,
    /// The fiber that waits for the frame; its generation when it parked.
    parent: u32,
    pgen: u32,
    total: u32,
    started: u32,
    done: u32,
    failed: u32,
    body: u32,
    prog: Prog,
    unwrap: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiter {
    None,
    Fiber { id: u32, gn: u32 },
    Frame { id: u32, gn: u32 },
}

#[derive(Clone, Copy)]
struct RunState {
    task: TaskId,
    key: u64,
    /// Key of the current attempt: `attempt_key(key, attempt)`, the root of its steps'
    /// streams.
    akey: u64,
    /// Load: resumes of the current attempt so far (each draws its own start latency).
    resumes: u32,
    waiter: Waiter,
    machine: u8,
    oom_upgraded: bool,
    attempt: u32,
    gn: u32,
    /// Generation of the attempt's maxDuration deadline event.
    dgen: u32,
    /// A deadline event of the current attempt is in the queue. The deadline only moves
    /// later while the attempt is paused, so one pending event per attempt is enough: when
    /// it fires early it is pushed again at the true deadline.
    dl_pending: bool,
    busy: u32,
    exec_since: f64,
    attempt_start: f64,
    attempt_usage: f64,
    mem: f64,
    t_trigger: f64,
    t_start: f64,
    done: bool,
    status: Status,
    /// The workflow run this task run belongs to.
    wf: u32,
    /// Its workflow run is measured (a copy of `Wf::measured`, read by every `acc`).
    measured: bool,
    /// Load: the sub-queue whose slot the run holds (NONE: no slot).
    slot: u32,
    qstate: QState,
    qgen: u32,
    enqueued: f64,
    /// Generation of a pending checkpoint release.
    cgen: u32,
    /// Fibers of the attempt waiting on children.
    child_waits: u32,
    /// Fibers waiting for the run to get a slot back.
    pending: u32,
    /// Head of this run's list of idempotency entries.
    idem: u32,
    /// The attempt's CPU-bound work in progress: the first fiber of the list, how many, and
    /// how many of them on the JavaScript main thread.
    cpu_head: u32,
    cpu_k: u32,
    cpu_m: u32,
    /// Fibers of the attempt waiting to call a service again after a 429.
    limit_waits: u32,
}

impl RunState {
    /// Closes the current attempt at `now`: its executing time counted, its fibers and events
    /// made stale, its memory and waits cleared. Returns the attempt's billed seconds.
    #[inline(always)]
    fn close_attempt(&mut self, now: f64) -> f64 {
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
struct IdemGroup {
    pc: u32,
    /// The key of the fiber (Promise.all item) that reached the step.
    fkey: u64,
    start: u32,
    len: u32,
    /// The parent run's next group.
    next: u32,
}

/// One workflow run: its entry run, inputs, progress bar and where its outcome is.
#[derive(Clone, Copy)]
struct Wf {
    root: u32,
    /// When the app triggered it.
    arrival: f64,
    /// Counted in the per-task totals (false outside a load's measured window).
    measured: bool,
    /// Offset of its input attributes in `Scratch::inputs`.
    inputs: u32,
    bar: f64,
    /// Progress levels reached so far.
    level: u32,
    done: bool,
    /// Index of its outcome in `Scratch::outs` (measured) or `Scratch::outs_warm` (not).
    out: u32,
    /// Calls waiting to try a service again after a 429, and since when one has.
    limit_waits: u32,
    limit_since: f64,
}

/// Reusable per-thread state of the engine.
pub struct Scratch {
    heap: EvQueue,
    /// Events due at the current instant, in sequence order: they skip the heap. Popping
    /// takes the smaller (time, seq) of both, so the order is exactly the heap's.
    now_q: std::collections::VecDeque<Ev>,
    seq: u64,
    now: f64,
    events: u64,
    /// Task runs triggered and not ended: with none left (and no load), what remains in
    /// the queue is stale and the run is over.
    live: u32,
    runs: Vec<RunState>,
    fibers: Vec<Fiber>,
    free_fibers: Vec<u32>,
    frames: Vec<Frame>,
    free_frames: Vec<u32>,
    /// Idempotency keys: one group per keyed trigger step (and Promise.all item) a parent run
    /// has reached, in a list per parent run, so a lookup scans only that run's own steps.
    idem: Vec<IdemGroup>,
    /// The child runs of the groups, a slot per child of the step (NONE: not triggered yet),
    /// so a batch item is found by its index: scanning a list of keys per item made a keyed
    /// batch quadratic (1,000 items: half a million comparisons a batch).
    idem_kids: Vec<u32>,
    inputs: Vec<f64>,
    wfs: Vec<Wf>,
    /// Outcomes of the measured workflow runs (a lone run's, or a load's measured window's,
    /// in arrival order: the load hands the vector over whole) and of a load's others.
    outs: Vec<RunOutcome>,
    outs_warm: Vec<RunOutcome>,
    /// Measured workflow runs of the thread's last load replication (a capacity hint).
    outs_hint: usize,
    lr: LoadRt,
    /// Where the totals of unmeasured runs go.
    sink: TaskAcc,
    direct: direct::DScratch,
    /// The services' limit states (`Model::service_slots`) and, per service, calls (offered,
    /// served) per window from time 0.
    svc: Vec<services::SvcState>,
    svc_bins: Vec<Vec<[u32; 2]>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// An outcome before anything happened (no progress level reached).
pub const EMPTY_OUTCOME: RunOutcome = RunOutcome {
    duration_s: 0.0,
    status: Status::Completed,
    cost_usd: 0.0,
    compute_usd: 0.0,
    invocation_usd: 0.0,
    usage_s: 0.0,
    root_usage_s: 0.0,
    makespan_s: 0.0,
    limit_wait_s: 0.0,
    task_runs: 0,
    attempts: 0,
    progress: [f64::INFINITY; LEVELS],
};

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

    fn clear(&mut self) {
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
    fn out_mut(&mut self, wf: u32) -> &mut RunOutcome {
        let w = &self.wfs[wf as usize];
        if w.measured { &mut self.outs[w.out as usize] } else { &mut self.outs_warm[w.out as usize] }
    }
}

/// Simulates workflow run `key` (see [`crate::rng::run_key`]) of the model, adding per-task
/// totals into `tasks` (one entry per task of the model).
///
/// Without an observer, a run of a model the direct path supports (no load, see
/// [`direct_supported`]) is evaluated without events: the same outcome, bit for bit, faster.
pub fn simulate<O: Observer>(
    m: &Model,
    key: u64,
    s: &mut Scratch,
    tasks: &mut [TaskAcc],
    obs: &mut O,
) -> Result<RunOutcome, SimError> {
    let mut out = EMPTY_OUTCOME;
    simulate_into(m, key, s, tasks, obs, &mut out)?;
    Ok(out)
}

/// [`simulate`] into `out` (the Monte Carlo writes each outcome where it is kept).
pub fn simulate_into<O: Observer>(
    m: &Model,
    key: u64,
    s: &mut Scratch,
    tasks: &mut [TaskAcc],
    obs: &mut O,
    out: &mut RunOutcome,
) -> Result<(), SimError> {
    if O::DIRECT
        && direct_decided(m)
        && m.load.is_none()
        && m.limits.max_events_per_run >= direct::MIN_BUDGET
        && direct::simulate(m, key, &mut s.direct, tasks, out)
    {
        return Ok(());
    }
    *out = simulate_events(m, key, s, tasks, obs)?;
    Ok(())
}

/// Whether `m`'s runs alone may take the direct path ([`direct_supported`]), decided once
/// per model.
#[inline]
fn direct_decided(m: &Model) -> bool {
    *m.direct.get_or_init(|| direct::supported(m))
}

/// The direct path alone: `None` when the model or this run needs the event engine (with
/// `tasks` left as it was). For tests and benchmarks; [`simulate`] chooses by itself.
pub fn simulate_direct(m: &Model, key: u64, s: &mut Scratch, tasks: &mut [TaskAcc]) -> Option<RunOutcome> {
    let mut out = EMPTY_OUTCOME;
    let ok = direct_decided(m)
        && m.load.is_none()
        && m.limits.max_events_per_run >= direct::MIN_BUDGET
        && direct::simulate(m, key, &mut s.direct, tasks, &mut out);
    ok.then_some(out)
}

/// [`simulate`] through the event engine always (tests compare the two paths with it).
pub fn simulate_events<O: Observer>(
    m: &Model,
    key: u64,
    s: &mut Scratch,
    tasks: &mut [TaskAcc],
    obs: &mut O,
) -> Result<RunOutcome, SimError> {
    s.clear();
    let mut e = Engine { m, s, tasks, obs };
    e.run(key)
}

struct Engine<'a, O: Observer> {
    m: &'a Model,
    s: &'a mut Scratch,
    tasks: &'a mut [TaskAcc],
    obs: &'a mut O,
}

impl<O: Observer> Engine<'_, O> {
    /// One workflow run alone: triggered at 0 on an otherwise idle environment.
    fn run(&mut self, key: u64) -> Result<RunOutcome, SimError> {
        self.platform_setup(None);
        self.new_workflow(key);
        self.event_loop(key)?;
        if !self.m.services.is_empty() {
            self.svc_peaks();
        }
        let now = self.s.now;
        let w = &mut self.s.wfs[0];
        if !w.done {
            // Nothing left to happen and the workflow not done: every slot it could use is
            // held by its own runs waiting for it (deadlocked). It counts as FAILED then.
            w.done = true;
            let out = self.s.out_mut(0);
            out.status = Status::Failed;
            out.duration_s = now;
            out.makespan_s = out.makespan_s.max(now);
        }
        let out = self.s.out_mut(0);
        out.cost_usd = out.compute_usd + out.invocation_usd;
        Ok(*out)
    }

    /// Starts workflow run `key` now: draws its inputs and triggers its entry task.
    fn new_workflow(&mut self, key: u64) -> u32 {
        let wf = self.s.wfs.len() as u32;
        let inputs = self.s.inputs.len() as u32;
        if !self.m.inputs.is_empty() {
            let mut irng = stream(mix(key, purpose::INPUT));
            for a in &self.m.inputs {
                let v = a.dist.sample(&mut irng);
                self.s.inputs.push(v);
            }
        }
        let (root, arrival) = (self.s.runs.len() as u32, self.s.now);
        let measured = self.s.lr.isolated || {
            let (w0, w1) = self.s.lr.window();
            arrival >= w0 && arrival <= w1
        };
        let outs = if measured { &mut self.s.outs } else { &mut self.s.outs_warm };
        let out = outs.len() as u32;
        outs.push(EMPTY_OUTCOME);
        self.s.wfs.push(Wf {
            root,
            arrival,
            measured,
            inputs,
            bar: 0.0,
            level: 0,
            done: false,
            out,
            limit_waits: 0,
            limit_since: 0.0,
        });
        self.trigger_run(self.m.entry, key, Waiter::None, u32::MAX, wf, 0.0);
        wf
    }

    fn event_loop(&mut self, key: u64) -> Result<(), SimError> {
        let limit = self.m.limits.max_events_per_run;
        while let Some(ev) = self.pop() {
            self.s.now = ev.t();
            self.s.events += 1;
            if self.s.events > limit {
                let task = match ev.kind {
                    EvKind::Wake | EvKind::Tick => self.s.runs[self.s.fibers[ev.id as usize].run as usize].task,
                    EvKind::Arrival | EvKind::Sample | EvKind::Dequeue | EvKind::SvcDone => self.m.entry,
                    _ => self.s.runs[ev.id as usize].task,
                };
                return Err(SimError::EventBudget {
                    scope: "run",
                    run: key,
                    limit,
                    task: self.m.tasks[task as usize].name.clone(),
                });
            }
            match ev.kind {
                EvKind::AttemptStart => {
                    if self.s.runs[ev.id as usize].gn == ev.gn {
                        self.start_attempt(ev.id);
                    }
                }
                EvKind::Deadline => {
                    let r = &mut self.s.runs[ev.id as usize];
                    if r.dgen == ev.gn {
                        r.dl_pending = false;
                        if !r.done && r.busy > 0 {
                            let max = self.m.tasks[r.task as usize].max_duration_s.unwrap_or(f64::INFINITY);
                            let due = r.exec_since + (max - r.attempt_usage).max(0.0);
                            if ev.t() >= due {
                                self.end_attempt(ev.id, AttemptEnd::TimedOut);
                                self.finish_run(ev.id, Status::TimedOut);
                            } else {
                                // Paused since the event was pushed: the deadline moved.
                                r.dl_pending = true;
                                let g = r.dgen;
                                self.push(due, EvKind::Deadline, ev.id, g, 0);
                            }
                        }
                    }
                }
                EvKind::Wake => {
                    if self.live(ev.id, ev.gn) {
                        let run = self.s.fibers[ev.id as usize].run;
                        if self.s.runs[run as usize].slot == NONE {
                            // CPU-bound work that ends here ends now, slot or not: it no
                            // longer shares the machine while the fiber waits for a slot.
                            if self.s.fibers[ev.id as usize].cpu_on {
                                self.cpu_leave(ev.id);
                            }
                            self.defer_wake(ev.id);
                        } else {
                            self.wake(ev.id);
                        }
                    }
                }
                EvKind::Arrival => {
                    if let Some(l) = &self.m.load {
                        self.arrival(l, ev.gn, ev.aux);
                    }
                }
                EvKind::Enqueue => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.gn == ev.gn && !r.done {
                        self.enqueue(ev.id, QState::Start);
                    }
                }
                EvKind::Release => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.cgen == ev.gn && r.busy == 0 && !r.done {
                        self.release(ev.id);
                    }
                }
                EvKind::Resumed => {
                    if self.s.runs[ev.id as usize].gn == ev.gn {
                        self.resumed(ev.id);
                    }
                }
                EvKind::Expire => self.expire(ev.id),
                EvKind::Sample => {
                    if let Some(l) = &self.m.load {
                        self.sample_backlog(l);
                    }
                }
                EvKind::Dequeue => self.dequeue_poll(),
                EvKind::WorkEnd => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.gn == ev.gn && !r.done {
                        self.work_end(ev.id);
                    }
                }
                EvKind::Tick => {
                    if self.live(ev.id, ev.gn) {
                        self.tick(ev.id, ev.aux);
                    }
                }
                EvKind::SvcDone => self.svc_done(ev.id),
            }
            if self.s.live == 0 && self.s.lr.isolated {
                break;
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------- bookkeeping

    fn push(&mut self, t: f64, kind: EvKind, id: u32, gn: u32, aux: u32) {
        self.s.seq += 1;
        let ev = Ev::new(t, self.s.seq, kind, id, gn, aux);
        if t == self.s.now {
            self.s.now_q.push_back(ev);
        } else {
            self.s.heap.push(ev);
        }
    }

    /// The next event by (time, seq), from the heap or the queue of events due now.
    fn pop(&mut self) -> Option<Ev> {
        match (self.s.now_q.front(), self.s.heap.peek()) {
            // The heap's order is reversed: `h > n` means h comes first.
            (Some(n), Some(h)) if h > n => self.s.heap.pop(),
            (Some(_), _) => self.s.now_q.pop_front(),
            (None, _) => self.s.heap.pop(),
        }
    }

    /// Is fiber `f` at generation `gn`, and its attempt still current? A stale fiber of an
    /// ended attempt is released here.
    fn live(&mut self, f: u32, gn: u32) -> bool {
        let fb = self.s.fibers[f as usize];
        if fb.gn != gn {
            return false;
        }
        let r = &self.s.runs[fb.run as usize];
        if r.gn != fb.rgen || r.done {
            self.free_fiber(f);
            return false;
        }
        true
    }

    fn alloc_fiber(&mut self, run: u32, pc: u32, frame: u32, ikey: u64) -> u32 {
        let rgen = self.s.runs[run as usize].gn;
        let fb = Fiber {
            run,
            rgen,
            gn: 0,
            pc,
            frame,
            ikey,
            phase: Phase::Ready,
            active: false,
            tries: 0,
            mem: 0.0,
            aux: 0,
            fail: false,
            retryable: true,
            next: NONE,
            cpu_on: false,
            cpu_end: 0.0,
            cpu_rate: 1.0,
            cpu_total: 0.0,
            cpu_next: NONE,
            limited: false,
            limit_wait: false,
        };
        match self.s.free_fibers.pop() {
            Some(i) => {
                let g = self.s.fibers[i as usize].gn.wrapping_add(1);
                self.s.fibers[i as usize] = Fiber { gn: g, ..fb };
                i
            }
            None => {
                self.s.fibers.push(fb);
                (self.s.fibers.len() - 1) as u32
            }
        }
    }

    fn free_fiber(&mut self, f: u32) {
        let fb = &mut self.s.fibers[f as usize];
        fb.gn = fb.gn.wrapping_add(1);
        fb.run = u32::MAX;
        // `run` is only read through live(); a freed fiber never matches a generation again.
        fb.rgen = u32::MAX;
        self.s.free_fibers.push(f);
    }

    /// Schedules fiber `f` to be woken at `t` (only its latest wake counts).
    fn wake_at(&mut self, f: u32, t: f64) {
        let fb = &mut self.s.fibers[f as usize];
        fb.gn = fb.gn.wrapping_add(1);
        let g = fb.gn;
        self.push(t, EvKind::Wake, f, g, 0);
    }

    /// Marks fiber `f` as executing (counts toward billing and maxDuration) or not.
    fn set_active(&mut self, f: u32, active: bool) {
        let fb = &mut self.s.fibers[f as usize];
        if fb.active == active {
            return;
        }
        fb.active = active;
        let run = fb.run;
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        if active {
            r.busy += 1;
            // Executing again: a pending checkpoint release no longer applies.
            r.cgen = r.cgen.wrapping_add(1);
            if r.busy == 1 {
                r.exec_since = now;
                if !r.dl_pending
                    && let Some(max) = self.m.tasks[r.task as usize].max_duration_s
                {
                    r.dl_pending = true;
                    let (t, g) = (now + (max - r.attempt_usage).max(0.0), r.dgen);
                    self.push(t, EvKind::Deadline, run, g, 0);
                }
            }
        } else {
            r.busy -= 1;
            if r.busy == 0 {
                r.attempt_usage += now - r.exec_since;
                self.paused(run);
            }
        }
    }

    /// Inline: a workflow run's end moves the bar to 100, a constant the level loop then
    /// folds.
    #[inline]
    fn set_progress(&mut self, wf: u32, v: f64) {
        let now = self.s.now;
        let w = &mut self.s.wfs[wf as usize];
        if w.done || v <= w.bar {
            return;
        }
        let out = if w.measured { &mut self.s.outs[w.out as usize] } else { &mut self.s.outs_warm[w.out as usize] };
        reach_levels_fill(&mut out.progress, &mut w.level, v, now - w.arrival);
        w.bar = v;
    }

    /// Moves the bar to fraction `frac` of the slice of the task of `run`. Inline: every run
    /// calls it at its first attempt and at its end, mostly for a task without a slice.
    #[inline]
    fn task_progress(&mut self, run: u32, frac: f64) {
        let r = &self.s.runs[run as usize];
        let (t, wf) = (r.task, r.wf);
        if let Some((a, b)) = self.m.tasks[t as usize].progress {
            self.set_progress(wf, a + (b - a) * frac);
        }
    }

    fn count(&self, c: u32, key: u64, run: u32) -> u32 {
        let off = self.inputs_of(run);
        draw_count(self.m, c, key, &self.s.inputs[off..off + self.m.inputs.len()])
    }

    /// The per-task totals a run counts in: its task's, or nowhere for a workflow run outside
    /// a load's measured window.
    fn acc(&mut self, run: u32) -> &mut TaskAcc {
        let r = &self.s.runs[run as usize];
        if r.measured { &mut self.tasks[r.task as usize] } else { &mut self.s.sink }
    }

    /// Offset of the input attributes of the workflow of task run `run`.
    fn inputs_of(&self, run: u32) -> usize {
        self.s.wfs[self.s.runs[run as usize].wf as usize].inputs as usize
    }

    /// The random stream of a step of a fiber: keyed by run and attempt (the attempt's
    /// key), purpose, step, try and item.
    #[inline]
    fn step_rng(&self, f: u32, what: u64) -> SimRng {
        let fb = &self.s.fibers[f as usize];
        let r = &self.s.runs[fb.run as usize];
        stream(step_key(r.akey, what, fb.pc, fb.tries, fb.ikey))
    }

    // -------------------------------------------------------------- runs and attempts

    /// Triggers a run of `task`; under load it is queued after `wait` more seconds (a batch
    /// item waiting for rate-limit tokens).
    fn trigger_run(&mut self, task: TaskId, key: u64, waiter: Waiter, parent: u32, wf: u32, wait: f64) -> u32 {
        let id = self.s.runs.len() as u32;
        let now = self.s.now;
        let t = &self.m.tasks[task as usize];
        self.s.runs.push(RunState {
            task,
            key,
            akey: key,
            resumes: 0,
            waiter,
            machine: t.machine,
            oom_upgraded: false,
            attempt: 0,
            gn: 0,
            dgen: 0,
            dl_pending: false,
            busy: 0,
            exec_since: 0.0,
            attempt_start: 0.0,
            attempt_usage: 0.0,
            mem: 0.0,
            t_trigger: now,
            t_start: f64::NAN,
            done: false,
            status: Status::Completed,
            wf,
            measured: self.s.wfs[wf as usize].measured,
            slot: NONE,
            qstate: QState::None,
            qgen: 0,
            enqueued: now,
            cgen: 0,
            child_waits: 0,
            pending: NONE,
            idem: NONE,
            cpu_head: NONE,
            cpu_k: 0,
            cpu_m: 0,
            limit_waits: 0,
        });
        self.s.live += 1;
        let inv = self.m.invocation_usd;
        let acc = self.acc(id);
        acc.runs += 1;
        acc.invocation_usd += inv;
        let out = self.s.out_mut(wf);
        out.invocation_usd += self.m.invocation_usd;
        // Kept current (the same sum the end would take) so that a load's outcomes need no
        // pass of their own at the end.
        out.cost_usd = out.compute_usd + out.invocation_usd;
        out.task_runs += 1;
        self.obs.triggered(id, task, parent, now);
        let t = &self.m.tasks[task as usize];
        let delay = t.delay_s + wait;
        if self.queue_full(id) {
            self.reject(id);
            return id;
        }
        if let Some(ttl) = t.ttl_s {
            self.push(now + delay + ttl, EvKind::Expire, id, 0, 0);
        }
        if delay > 0.0 {
            self.push(now + delay, EvKind::Enqueue, id, 0, 0);
        } else {
            self.enqueue(id, QState::Start);
        }
        id
    }

    fn start_attempt(&mut self, run: u32) {
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        r.attempt += 1;
        r.resumes = 0;
        r.akey = attempt_key(r.key, r.attempt);
        r.attempt_start = now;
        r.attempt_usage = 0.0;
        r.mem = 0.0;
        r.busy = 0;
        r.cpu_head = NONE;
        r.cpu_k = 0;
        r.cpu_m = 0;
        let q = if r.attempt == 1 {
            r.t_start = now;
            now - r.t_trigger
        } else {
            0.0
        };
        let (task, attempt, wf) = (r.task, r.attempt, r.wf);
        let acc = self.acc(run);
        if attempt == 1 {
            acc.queued_s += q;
        }
        acc.attempts += 1;
        self.s.out_mut(wf).attempts += 1;
        if attempt == 1 {
            self.task_progress(run, 0.0);
        }
        if self.start_simple(run, task) {
            return;
        }
        let f = self.alloc_fiber(run, self.m.tasks[task as usize].entry_pc, NONE, 0);
        self.set_active(f, true);
        self.advance(f);
    }

    /// Closes the current attempt: bills it and invalidates its fibers and events.
    fn end_attempt(&mut self, run: u32, how: AttemptEnd) {
        let waits = self.s.runs[run as usize].limit_waits;
        if waits > 0 {
            self.svc_wait_end(run, waits);
        }
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        let usage = r.close_attempt(now);
        let usd = usage * self.m.usd_per_s[r.machine as usize];
        let (task, attempt, start, machine) = (r.task, r.attempt, r.attempt_start, r.machine);
        let acc = self.acc(run);
        acc.usage_s += usage;
        acc.compute_usd += usd;
        if how == AttemptEnd::OutOfMemory {
            acc.oom += 1;
        }
        acc.attempt_on(machine, usage, usd, how == AttemptEnd::OutOfMemory);
        let wf = self.s.runs[run as usize].wf;
        let root = self.s.wfs[wf as usize].root == run;
        let out = self.s.out_mut(wf);
        out.usage_s += usage;
        out.compute_usd += usd;
        out.cost_usd = out.compute_usd + out.invocation_usd;
        if root {
            out.root_usage_s += usage;
        }
        self.obs.attempt(&AttemptRecord { run, task, attempt, machine, start, end: now, usage_s: usage, outcome: how });
    }

    fn finish_run(&mut self, run: u32, status: Status) {
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        r.done = true;
        r.status = status;
        self.s.live -= 1;
        let (waiter, t_start, machine) = (r.waiter, r.t_start, r.machine);
        let acc = self.acc(run);
        acc.statuses[status as usize] += 1;
        acc.finished_on[machine as usize] += 1;
        if t_start.is_finite() {
            acc.execution_s += now - t_start;
        }
        if status == Status::Completed {
            self.task_progress(run, 1.0);
        }
        self.release(run);
        let wf = self.s.runs[run as usize].wf;
        if self.s.wfs[wf as usize].root == run {
            self.workflow_done(wf);
            if status == Status::Completed {
                self.set_progress(wf, 100.0);
            }
            let w = &mut self.s.wfs[wf as usize];
            w.done = true;
            let d = now - w.arrival;
            let out = self.s.out_mut(wf);
            out.duration_s = d;
            out.status = status;
        }
        let d = now - self.s.wfs[wf as usize].arrival;
        let out = self.s.out_mut(wf);
        out.makespan_s = out.makespan_s.max(d);
        self.obs.run_end(run, status, now);
        let failed = status != Status::Completed;
        match waiter {
            Waiter::None => {}
            Waiter::Fiber { id, gn } => {
                if self.s.fibers[id as usize].gn == gn {
                    self.s.fibers[id as usize].fail = failed;
                    self.wake_at(id, now);
                }
            }
            Waiter::Frame { id, gn } => self.frame_child_done(id, gn, failed),
        }
    }

    /// An error escaped the task function: retry per the task's policy, or fail the run.
    fn attempt_threw(&mut self, run: u32, retryable: bool) {
        self.end_attempt(run, AttemptEnd::Threw);
        let r = self.s.runs[run as usize];
        let policy = self.m.tasks[r.task as usize].retry;
        if retryable && r.attempt < policy.max_attempts {
            let delay = self.retry_delay(run, &policy);
            if delay < platform::WARM_RETRY_S {
                // Same warm machine, same slot.
                self.push(self.s.now + delay, EvKind::AttemptStart, run, r.gn, 0);
            } else {
                // Re-queued: the slot goes back, and the run queues for one after the delay.
                self.release(run);
                self.push(self.s.now + delay, EvKind::Enqueue, run, r.gn, 0);
            }
        } else {
            self.finish_run(run, Status::Failed);
        }
    }

    fn retry_delay(&self, run: u32, policy: &platform::RetryPolicy) -> f64 {
        let r = &self.s.runs[run as usize];
        retry_delay(policy, r.key, r.attempt)
    }

    /// The attempt ran out of memory: one retry on `retry.outOfMemory.machine` when set and
    /// an attempt is left, else CRASHED.
    fn out_of_memory(&mut self, run: u32) {
        self.end_attempt(run, AttemptEnd::OutOfMemory);
        let r = self.s.runs[run as usize];
        let policy = self.m.tasks[r.task as usize].retry;
        match policy.oom_machine {
            Some(big) if !r.oom_upgraded && r.attempt < policy.max_attempts => {
                let delay = self.retry_delay(run, &policy);
                // Re-queued on the bigger machine: the small one's slot goes back first.
                self.release(run);
                let rr = &mut self.s.runs[run as usize];
                rr.machine = big;
                rr.oom_upgraded = true;
                let g = rr.gn;
                self.push(self.s.now + delay, EvKind::Enqueue, run, g, 0);
            }
            _ => self.finish_run(run, Status::Crashed),
        }
    }

    // -------------------------------------------------------------- fibers

    fn wake(&mut self, f: u32) {
        let fb = self.s.fibers[f as usize];
        match fb.phase {
            Phase::Working => {
                if fb.cpu_on {
                    self.cpu_leave(f);
                }
                let r = fb.run as usize;
                self.s.runs[r].mem -= fb.mem;
                self.s.fibers[f as usize].mem = 0.0;
                if fb.fail {
                    self.work_failed(f);
                } else {
                    let fbm = &mut self.s.fibers[f as usize];
                    fbm.tries = 0;
                    fbm.pc += 1;
                    self.advance(f);
                }
            }
            Phase::RetryDelay => self.start_work(f),
            Phase::Waiting => {
                self.set_active(f, true);
                self.s.fibers[f as usize].pc += 1;
                self.advance(f);
            }
            Phase::PollWait | Phase::PollCheck => self.poll_check(f),
            Phase::WaitChild => {
                let r = &mut self.s.runs[fb.run as usize];
                r.child_waits = r.child_waits.saturating_sub(1);
                self.set_active(f, true);
                let (Op::TriggerAndWait { unwrap, .. } | Op::BatchTriggerAndWait { unwrap, .. }) =
                    self.m.ops[fb.pc as usize]
                else {
                    unreachable!("WaitChild fiber not at a trigger step")
                };
                if fb.fail && unwrap {
                    self.throw(f, true);
                } else {
                    self.s.fibers[f as usize].pc += 1;
                    self.advance(f);
                }
            }
            Phase::Ready | Phase::Parked => {
                self.set_active(f, true);
                self.advance(f);
            }
        }
    }

    /// An error escapes fiber `f`: Promise.all rejects at once, so the whole attempt fails.
    fn throw(&mut self, f: u32, retryable: bool) {
        let run = self.s.fibers[f as usize].run;
        self.attempt_threw(run, retryable);
    }

    /// Runs fiber `f` until it blocks on an event or ends.
    fn advance(&mut self, mut f: u32) {
        loop {
            let fb = self.s.fibers[f as usize];
            let run = fb.run;
            match self.m.ops[fb.pc as usize] {
                Op::Work { .. } => {
                    self.s.fibers[f as usize].tries = 0;
                    self.start_work(f);
                    return;
                }
                Op::Wait { dur, .. } => {
                    let mut rng = self.step_rng(f, purpose::WAIT);
                    let d = self.m.dists[dur as usize].sample(&mut rng);
                    self.wait_for(f, d, Phase::Waiting);
                    return;
                }
                Op::If { cond, else_pc } => {
                    let off = self.inputs_of(run);
                    let ok = self.m.conds[cond as usize].eval(&self.s.inputs[off..off + self.m.inputs.len()]);
                    self.s.fibers[f as usize].pc = if ok { fb.pc + 1 } else { else_pc };
                }
                Op::Jump { pc } => self.s.fibers[f as usize].pc = pc,
                Op::Progress { frac } => {
                    self.task_progress(run, frac);
                    self.s.fibers[f as usize].pc += 1;
                }
                Op::Parallel { count, limit, cont, .. } => {
                    let n = self.count(count, mix(self.s.runs[run as usize].key, mix(fb.pc as u64, fb.ikey)), run);
                    if n == 0 {
                        self.s.fibers[f as usize].pc = cont;
                        continue;
                    }
                    let fr = self.alloc_frame(run, f, n, fb.pc + 1, Prog::NONE, true);
                    self.s.fibers[f as usize].phase = Phase::Parked;
                    let first = n.min(limit);
                    self.s.frames[fr as usize].started = first;
                    // Items whose body starts with work that cannot run out of memory start
                    // here, without an event: start_work only draws and schedules the end, so
                    // nothing can reenter this loop. Each counts toward the event budget as
                    // the event it saves would have; past a few dozen they go through events,
                    // so the budget can stop a huge fan-out before it is all in memory.
                    let direct = first <= DIRECT_ITEMS
                        && match self.m.ops[fb.pc as usize + 1] {
                            Op::Work { spec, .. } => self.m.works[spec as usize].memory_mb.is_none(),
                            _ => false,
                        };
                    for i in 0..first {
                        let c = self.alloc_fiber(run, fb.pc + 1, fr, mix(fb.ikey, i as u64 + 1));
                        // Items count as executing from now, before the parent stops, so the
                        // attempt never looks paused in between.
                        self.set_active(c, true);
                        if direct {
                            self.s.events += 1;
                            self.start_work(c);
                        } else {
                            self.wake_at(c, self.s.now);
                        }
                    }
                    self.set_active(f, false);
                    return;
                }
                Op::EndItem => {
                    let fr = fb.frame as usize;
                    let frame = &mut self.s.frames[fr];
                    frame.done += 1;
                    let (done, total, parent, pgen, body) =
                        (frame.done, frame.total, frame.parent, frame.pgen, frame.body);
                    let Op::Parallel { prog, cont, .. } = self.m.ops[body as usize - 1] else {
                        unreachable!("frame body not after a Parallel op")
                    };
                    if prog.is_some() {
                        self.task_progress(run, prog.lo + (prog.hi - prog.lo) * done as f64 / total as f64);
                    }
                    let frame = &mut self.s.frames[fr];
                    if frame.started < total {
                        let i = frame.started;
                        frame.started += 1;
                        // An item restarted in place counts toward the event budget.
                        self.s.events += 1;
                        let pkey = self.s.fibers[parent as usize].ikey;
                        let fm = &mut self.s.fibers[f as usize];
                        fm.pc = body;
                        fm.ikey = mix(pkey, i as u64 + 1);
                        continue;
                    }
                    if done < total {
                        self.set_active(f, false);
                        self.free_fiber(f);
                        return;
                    }
                    // All items done: the parent goes on in this same instant.
                    self.free_frame(fr as u32);
                    if self.s.fibers[parent as usize].gn != pgen {
                        self.set_active(f, false);
                        self.free_fiber(f);
                        return;
                    }
                    self.set_active(parent, true);
                    self.set_active(f, false);
                    self.free_fiber(f);
                    let pm = &mut self.s.fibers[parent as usize];
                    pm.pc = cont;
                    pm.phase = Phase::Ready;
                    f = parent;
                }
                Op::TriggerAndWait { task, idempotent, .. } => {
                    let w = Waiter::Fiber { id: f, gn: 0 };
                    match self.child(f, task, idempotent, 0, 1, w, 0.0) {
                        ChildState::Reused => {
                            self.s.fibers[f as usize].pc += 1;
                        }
                        ChildState::Pending(c) if self.s.runs[c as usize].done => {
                            // Ended as it was triggered: rejected by a full queue. The SDK's
                            // trigger call itself fails, so the error is thrown in the parent
                            // (whatever `unwrap` says) and its retry policy applies.
                            self.throw(f, true);
                            return;
                        }
                        ChildState::Pending(c) => {
                            self.s.fibers[f as usize].phase = Phase::WaitChild;
                            self.s.runs[run as usize].child_waits += 1;
                            self.set_active(f, false);
                            // The child reports to this fiber's next wake generation.
                            let fm = &mut self.s.fibers[f as usize];
                            fm.gn = fm.gn.wrapping_add(1);
                            fm.fail = false;
                            let g = fm.gn;
                            self.s.runs[c as usize].waiter = Waiter::Fiber { id: f, gn: g };
                            return;
                        }
                    }
                }
                Op::BatchTriggerAndWait { task, count, idempotent, unwrap, prog } => {
                    let n = self.count(count, mix(self.s.runs[run as usize].key, mix(fb.pc as u64, fb.ikey)), run);
                    if n == 0 {
                        self.s.fibers[f as usize].pc += 1;
                        continue;
                    }
                    // The parent's wake generation the frame will wake.
                    let fm = &mut self.s.fibers[f as usize];
                    fm.gn = fm.gn.wrapping_add(1);
                    fm.fail = false;
                    fm.phase = Phase::WaitChild;
                    let fr = self.alloc_frame(run, f, n, fb.pc, prog, unwrap);
                    let fgen = self.s.frames[fr as usize].gn;
                    let mut reused = 0;
                    let avail = self.take_tokens(n);
                    for i in 0..n {
                        let wait = self.token_wait(i, avail);
                        match self.child(f, task, idempotent, i as u64 + 1, n, Waiter::Frame { id: fr, gn: fgen }, wait)
                        {
                            ChildState::Reused => reused += 1,
                            ChildState::Pending(_) => {}
                        }
                    }
                    self.s.runs[run as usize].child_waits += 1;
                    self.set_active(f, false);
                    if reused > 0 {
                        let frame = &mut self.s.frames[fr as usize];
                        frame.done += reused;
                        if frame.done == frame.total {
                            self.free_frame(fr);
                            self.s.runs[run as usize].child_waits -= 1;
                            self.set_active(f, true);
                            let fm = &mut self.s.fibers[f as usize];
                            fm.pc += 1;
                            fm.phase = Phase::Ready;
                            continue;
                        }
                    }
                    return;
                }
                Op::Trigger { task, count, batch, idempotent } => {
                    let n = self.count(count, mix(self.s.runs[run as usize].key, mix(fb.pc as u64, fb.ikey)), run);
                    let avail = if batch { self.take_tokens(n) } else { f64::INFINITY };
                    for i in 0..n {
                        let wait = self.token_wait(i, avail);
                        if idempotent {
                            // With a key, as a waiting step's child: a child of an earlier attempt
                            // that completed or still runs is not triggered again (nobody waits
                            // for it, so there is nothing else to do); a failed one runs again.
                            self.child(f, task, true, i as u64 + 1, n, Waiter::None, wait);
                        } else {
                            let key = self.child_key(f, i as u64 + 1, false);
                            let wf = self.s.runs[run as usize].wf;
                            self.trigger_run(task, key, Waiter::None, run, wf, wait);
                        }
                    }
                    self.s.fibers[f as usize].pc += 1;
                }
                Op::Poll { every, .. } => {
                    self.s.fibers[f as usize].aux = 0;
                    self.poll_wait(f, every);
                    return;
                }
                Op::End => {
                    // Not set_active(false): the attempt is ending, not pausing (under load a
                    // pause would schedule a slot release 60 s out, a stale event per run).
                    // end_attempt closes the executing interval this fiber kept open.
                    self.s.fibers[f as usize].active = false;
                    self.free_fiber(f);
                    self.end_attempt(run, AttemptEnd::Ok);
                    self.finish_run(run, Status::Completed);
                    return;
                }
            }
        }
    }

    fn child_key(&self, f: u32, item: u64, idempotent: bool) -> u64 {
        let fb = &self.s.fibers[f as usize];
        let r = &self.s.runs[fb.run as usize];
        // An idempotent child keeps its key across the parent's attempts.
        let attempt = if idempotent { 0 } else { r.attempt as u64 };
        mix3(r.key ^ purpose::CHILD, attempt << 32 | fb.pc as u64, fb.ikey, item)
    }

    /// Triggers (or, with an idempotency key, reuses or joins) the child of a trigger step:
    /// a waiting one's (`waiter` is told when it ends) or a fire-and-forget one's
    /// (`Waiter::None`).
    /// `item` is 0 for a `triggerAndWait`, 1..=`n` for the `n` children of a batch.
    #[allow(clippy::too_many_arguments)]
    fn child(
        &mut self,
        f: u32,
        task: TaskId,
        idempotent: bool,
        item: u64,
        n: u32,
        waiter: Waiter,
        wait: f64,
    ) -> ChildState {
        let fb = self.s.fibers[f as usize];
        // The child's slot in its step's group (created when the step is first reached; a
        // step draws the same count in every attempt, so the group has a slot for each item).
        let mut slot = None;
        if idempotent {
            let i = item.saturating_sub(1);
            let mut g = self.s.runs[fb.run as usize].idem;
            while g != NONE {
                let x = self.s.idem[g as usize];
                if x.pc == fb.pc && x.fkey == fb.ikey {
                    break;
                }
                g = x.next;
            }
            if g == NONE {
                let start = self.s.idem_kids.len() as u32;
                self.s.idem_kids.resize((start + n) as usize, NONE);
                let next = self.s.runs[fb.run as usize].idem;
                self.s.idem.push(IdemGroup { pc: fb.pc, fkey: fb.ikey, start, len: n, next });
                g = (self.s.idem.len() - 1) as u32;
                self.s.runs[fb.run as usize].idem = g;
            }
            let x = self.s.idem[g as usize];
            debug_assert!(i < u64::from(x.len), "item {item} of a step keyed with {} slots", x.len);
            slot = (i < u64::from(x.len)).then_some((x.start as u64 + i) as usize);
        }
        if let Some(at) = slot
            && self.s.idem_kids[at] != NONE
        {
            let c = self.s.idem_kids[at];
            let cr = self.s.runs[c as usize];
            if cr.done && cr.status == Status::Completed {
                return ChildState::Reused;
            }
            if !cr.done {
                self.s.runs[c as usize].waiter = waiter;
                return ChildState::Pending(c);
            }
            // A failed child runs again, under the same key.
            let key = mix(self.child_key(f, item, true), self.s.runs.len() as u64);
            let c = self.trigger_run(task, key, waiter, fb.run, self.s.runs[fb.run as usize].wf, wait);
            self.s.idem_kids[at] = c;
            return ChildState::Pending(c);
        }
        let key = self.child_key(f, item, idempotent);
        let c = self.trigger_run(task, key, waiter, fb.run, self.s.runs[fb.run as usize].wf, wait);
        if let Some(at) = slot {
            self.s.idem_kids[at] = c;
        }
        ChildState::Pending(c)
    }

    fn alloc_frame(&mut self, run: u32, parent: u32, total: u32, body: u32, prog: Prog, unwrap: bool) -> u32 {
        let pgen = self.s.fibers[parent as usize].gn;
        let fr = Frame { gn: 0, run, parent, pgen, total, started: 0, done: 0, failed: 0, body, prog, unwrap };
        match self.s.free_frames.pop() {
            Some(i) => {
                let g = self.s.frames[i as usize].gn.wrapping_add(1);
                self.s.frames[i as usize] = Frame { gn: g, ..fr };
                i
            }
            None => {
                self.s.frames.push(fr);
                (self.s.frames.len() - 1) as u32
            }
        }
    }

    fn free_frame(&mut self, fr: u32) {
        let f = &mut self.s.frames[fr as usize];
        f.gn = f.gn.wrapping_add(1);
        self.s.free_frames.push(fr);
    }

    /// A child of a batchTriggerAndWait ended.
    fn frame_child_done(&mut self, fr: u32, gn: u32, failed: bool) {
        let frame = &mut self.s.frames[fr as usize];
        if frame.gn != gn {
            return;
        }
        frame.done += 1;
        frame.failed += u32::from(failed);
        let fv = *frame;
        let parent_run = &self.s.runs[fv.run as usize];
        let pf = &self.s.fibers[fv.parent as usize];
        if pf.gn != fv.pgen || parent_run.done || pf.rgen != parent_run.gn {
            return;
        }
        if fv.prog.is_some() {
            self.task_progress(fv.run, fv.prog.lo + (fv.prog.hi - fv.prog.lo) * fv.done as f64 / fv.total as f64);
        }
        if fv.done == fv.total {
            self.free_frame(fr);
            self.s.fibers[fv.parent as usize].fail = fv.failed > 0 && fv.unwrap;
            // Wake the parent with the generation it parked with.
            let g = fv.pgen;
            self.push(self.s.now, EvKind::Wake, fv.parent, g, 0);
        }
    }

    fn start_work(&mut self, f: u32) {
        let fb = self.s.fibers[f as usize];
        let run = fb.run;
        let Op::Work { spec, prog } = self.m.ops[fb.pc as usize] else { unreachable!("start_work off a Work op") };
        let w = &self.m.works[spec as usize];
        let r = self.s.runs[run as usize];
        if fb.limit_wait {
            self.s.fibers[f as usize].limit_wait = false;
            self.svc_wait_end(run, 1);
        }
        let mut rng = self.step_rng(f, purpose::WORK);
        let scale = w.scale[r.machine as usize];
        let now = self.s.now;
        self.set_active(f, true);
        // One generation for this try's wake and progress ticks; earlier ones go stale.
        let gn = {
            let fm = &mut self.s.fibers[f as usize];
            fm.gn = fm.gn.wrapping_add(1);
            fm.gn
        };
        let (dur, units) = match w.duration {
            DurSpec::Dist(d) => (self.m.dists[d as usize].sample(&mut rng) * scale, 0),
            DurSpec::PerUnit { count, each } => {
                let n = self.count(count, mix(r.key, mix(fb.pc as u64, fb.ikey)), run);
                let each: &Dist = &self.m.dists[each as usize];
                let report = prog.is_some() && self.m.tasks[r.task as usize].progress.is_some();
                // Report progress about every 1% of the units at most.
                let stride = n.div_ceil(100).max(1);
                // Each unit's draw counts toward the event budget like an event.
                self.s.events += n as u64;
                let mut t = 0.0;
                for u in 1..=n {
                    t += each.sample(&mut rng) * scale;
                    if report && (u % stride == 0 || u == n) {
                        self.push(now + t, EvKind::Tick, f, gn, u);
                    }
                }
                (t, n)
            }
        };
        if let Some(call) = w.service {
            self.s.fibers[f as usize].limited = false;
            if !self.svc_call(f, call, now + dur) {
                // 429: the call fails at once; the step's retry policy decides what comes next.
                self.obs.work(run, f, spec, now, now, true);
                let fm = &mut self.s.fibers[f as usize];
                fm.phase = Phase::Working;
                fm.fail = true;
                fm.retryable = true;
                fm.limited = true;
                fm.aux = 0;
                self.push(now, EvKind::Wake, f, gn, 0);
                return;
            }
        }
        if let Some(md) = w.memory_mb {
            let mem = self.m.dists[md as usize].sample(&mut rng);
            let cap = platform::ram_mb(r.machine);
            let base = self.m.tasks[r.task as usize].base_memory_mb;
            if base + r.mem + mem > cap {
                self.out_of_memory(run);
                return;
            }
            self.s.runs[run as usize].mem += mem;
            self.s.fibers[f as usize].mem = mem;
        }
        let fail = w.failure > 0.0 && rng.random::<f64>() < w.failure;
        let end = if fail && w.fail_uniform { now + dur * rng.random::<f64>() } else { now + dur };
        self.obs.work(run, f, spec, now, end, fail);
        let fm = &mut self.s.fibers[f as usize];
        fm.phase = Phase::Working;
        fm.fail = fail;
        fm.retryable = w.retryable;
        fm.aux = units;
        self.push(end, EvKind::Wake, f, gn, 0);
        if let Some(cpu) = w.cpu {
            // Timed as if alone; joining the attempt's other CPU-bound work re-times it.
            let fm = &mut self.s.fibers[f as usize];
            fm.cpu_end = end;
            fm.cpu_rate = 1.0;
            fm.cpu_total = end - now;
            self.cpu_join(f, cpu.main_thread);
        }
    }

    fn work_failed(&mut self, f: u32) {
        let fb = self.s.fibers[f as usize];
        let Op::Work { spec, .. } = self.m.ops[fb.pc as usize] else { unreachable!() };
        let w = &self.m.works[spec as usize];
        let limited = if fb.limited { w.service.map(|c| c.service) } else { None };
        if fb.retryable
            && let Some(policy) = w.retry
            && fb.tries + 1 < policy.max_attempts
        {
            if let Some(si) = limited {
                self.svc_retry(f, si);
            }
            // retry.onThrow: wait in-process (billed), then run the block again.
            let mut rng = self.step_rng(f, purpose::RETRY_DELAY);
            let delay = policy.delay_s(fb.tries + 1, rng.random::<f64>());
            let fm = &mut self.s.fibers[f as usize];
            fm.tries += 1;
            fm.phase = Phase::RetryDelay;
            let (now, run) = (self.s.now, fb.run);
            self.obs.wait(run, f, now, now + delay, false);
            self.wake_at(f, now + delay);
            return;
        }
        if let Some(si) = limited {
            self.svc_exhausted(f, si);
        }
        self.throw(f, fb.retryable);
    }

    fn tick(&mut self, f: u32, units: u32) {
        let fb = self.s.fibers[f as usize];
        let Op::Work { prog, .. } = self.m.ops[fb.pc as usize] else {
            return;
        };
        if fb.aux > 0 {
            self.task_progress(fb.run, prog.lo + (prog.hi - prog.lo) * units as f64 / fb.aux as f64);
        }
    }

    fn poll_wait(&mut self, f: u32, every: u32) {
        let mut rng = self.step_rng(f, mix(purpose::POLL, self.s.fibers[f as usize].aux as u64));
        let d = self.m.dists[every as usize].sample(&mut rng);
        self.wait_for(f, d, Phase::PollWait);
    }

    /// wait.for(d): over 5 s the attempt may checkpoint (the fiber stops counting as
    /// executing); 5 s or less the machine stays up, billed.
    fn wait_for(&mut self, f: u32, d: f64, phase: Phase) {
        self.s.fibers[f as usize].phase = phase;
        let paused = d > platform::CHECKPOINT_WAIT_S;
        if paused {
            self.set_active(f, false);
        }
        let (now, run) = (self.s.now, self.s.fibers[f as usize].run);
        self.obs.wait(run, f, now, now + d, paused);
        self.wake_at(f, now + d);
    }

    fn poll_check(&mut self, f: u32) {
        let fb = self.s.fibers[f as usize];
        let Op::Poll { every, success, max_checks, check, .. } = self.m.ops[fb.pc as usize] else { unreachable!() };
        self.set_active(f, true);
        let mut rng = self.step_rng(f, mix(purpose::POLL, fb.aux as u64 + 1_000_000));
        if fb.phase == Phase::PollWait && check != NONE {
            // The check's duration has a stream of its own: drawn from the outcome's, it made
            // the outcome depend on how long the check took.
            let mut crng = self.step_rng(f, mix(purpose::POLL, fb.aux as u64 + 2_000_000));
            let d = self.m.dists[check as usize].sample(&mut crng);
            self.s.fibers[f as usize].phase = Phase::PollCheck;
            self.wake_at(f, self.s.now + d);
            return;
        }
        let checks = fb.aux + 1;
        self.s.fibers[f as usize].aux = checks;
        if rng.random::<f64>() < success {
            self.s.fibers[f as usize].pc += 1;
            self.advance(f);
        } else if checks < max_checks {
            self.poll_wait(f, every);
        } else {
            // The external job never finished: the step throws (retryable).
            self.throw(f, true);
        }
    }
}

enum ChildState {
    Reused,
    Pending(u32),
}

/// Levels reached when the bar is at `v` percent (see [`reach_levels`]): x's integer part, at
/// most LEVELS, and none for a NaN or negative x. Through u32, which saturates: converting to a
/// 64-bit integer costs a longer sequence.
#[inline]
fn levels_reached(v: f64) -> u32 {
    let x = v * (LEVELS as f64 / 100.0) + 1e-9;
    if x >= LEVELS as f64 { LEVELS as u32 } else { x as u32 }
}

/// The bar moved up to `v` percent at `t`: the levels not reached before (from `level`) that
/// `v` reaches get `t`. Level l (0-based) is reached at (l + 1) * LEVEL_STEP percent, that is
/// once x = v * LEVELS / 100 >= l + 1 (a multiplication, not a division by LEVEL_STEP: this
/// runs at every progress move; 1e-9 absorbs the rounding of slices such as 100 / 3): for l
/// below x's integer part, x being positive and finite.
#[inline]
fn reach_levels(progress: &mut [f64; LEVELS], level: &mut u32, v: f64, t: f64) {
    let x = v * (LEVELS as f64 / 100.0) + 1e-9;
    // One level at a time: a move reaches one or two levels, and a fill loop over a range
    // is vectorised into a prologue and an epilogue that cost more than the stores.
    let mut l = *level as usize;
    while l < LEVELS && (l + 1) as f64 <= x {
        progress[l] = t;
        l += 1;
    }
    *level = l as u32;
}

/// [`reach_levels`] as one fill of the levels reached: the event engine's moves include a
/// run without progress jumping from 0 to 100% as it ends (every customer of a load), where a
/// vectorised fill beats twenty steps of the loop. The same levels get the same time.
#[inline]
fn reach_levels_fill(progress: &mut [f64; LEVELS], level: &mut u32, v: f64, t: f64) {
    let (from, to) = (*level as usize, levels_reached(v) as usize);
    if to > from {
        progress[from..to].fill(t);
        *level = to as u32;
    }
}

/// Key of the stream of a step: the attempt's key, purpose, step, try and item.
#[inline]
fn step_key(akey: u64, what: u64, pc: u32, tries: u32, ikey: u64) -> u64 {
    mix3(akey, what, (pc as u64) << 32 | tries as u64, ikey)
}

/// A start latency drawn from `d`: before attempt `attempt` (0-based) of task run `key`
/// (`nth` 0), or, under load, before resume `nth` (1-based) of attempt `attempt`.
fn start_latency_of(d: &Dist, key: u64, attempt: u32, nth: u32) -> f64 {
    if let Some(v) = d.as_fixed() {
        return v;
    }
    d.sample(&mut stream(mix3(key, purpose::START_LATENCY, attempt as u64, nth as u64)))
}

/// How many of count `c` a step at `key` makes, given its workflow run's inputs.
fn draw_count(m: &Model, c: u32, key: u64, inputs: &[f64]) -> u32 {
    match m.counts[c as usize] {
        Count::Fixed(n) => n,
        Count::Attr(a) => clamp_count(inputs[a as usize]),
        Count::Dist(d) => {
            let mut rng = stream(mix(key, purpose::COUNT));
            clamp_count(m.dists[d as usize].sample(&mut rng).round())
        }
    }
}

/// The task-level delay after attempt `attempt` of task run `key` threw.
fn retry_delay(policy: &platform::RetryPolicy, key: u64, attempt: u32) -> f64 {
    let mut rng = stream(mix3(key, purpose::RETRY_DELAY, attempt as u64, 0));
    policy.delay_s(attempt, rng.random::<f64>())
}

fn clamp_count(v: f64) -> u32 {
    if v.is_nan() || v <= 0.0 { 0 } else { v.min(u32::MAX as f64) as u32 }
}

/// Compute price of a preset per second, for reports.
pub fn preset_name(m: u8) -> &'static str {
    PRESETS[m as usize].name
}

/// [`simulate_load`] with the one-step shortcut off, every run through the fibers (tests
/// check that both give the same replication).
#[doc(hidden)]
pub fn simulate_load_fibers(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    load::simulate_load_fibers(m, seed, rep, tasks)
}

/// [`simulate_load`] through the general engine where the one-queue path would apply (tests
/// check that both give the same replication).
#[doc(hidden)]
pub fn simulate_load_general(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    load::simulate_load_general(m, seed, rep, tasks)
}

/// [`simulate_load`] with the reference dispatcher that scans every sub-queue per grant
/// (tests check that the index grants the same runs in the same order).
#[doc(hidden)]
pub fn simulate_load_scan(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    load::simulate_load_scan(m, seed, rep, tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event queue pops every event in (time, seq) order, in both of its modes and across
    /// the switch from the sorted vector to the heap, against a sort of what was pushed. Pushes
    /// and pops interleave, times repeat (ties broken by the sequence), and later times are
    /// pushed after earlier ones are popped, as in a simulation.
    #[test]
    fn the_event_queue_pops_in_time_then_sequence_order() {
        let mut rng = stream(3);
        for round in 0..200 {
            let mut q = EvQueue::default();
            let (mut seq, mut now) = (0u64, 0.0f64);
            let mut popped = Vec::new();
            let mut pending: Vec<(u64, u64)> = Vec::new();
            let pushes = if round % 2 == 0 { 40 } else { 3000 };
            for _ in 0..pushes {
                for _ in 0..rng.random_range(1..4) {
                    seq += 1;
                    // Quarter seconds ahead of now: many ties.
                    let t = now + f64::from(rng.random_range(0u32..40)) * 0.25;
                    q.push(Ev::new(t, seq, EvKind::Wake, 0, 0, 0));
                    pending.push((t.to_bits(), seq));
                }
                if rng.random_bool(0.6)
                    && let Some(ev) = q.pop()
                {
                    now = ev.t();
                    popped.push(ev.key);
                }
            }
            while let Some(ev) = q.pop() {
                popped.push(ev.key);
            }
            assert_eq!(popped.len(), pending.len());
            // Each pop is the smallest key pending at that moment: with pushes never earlier
            // than the last pop, the pops come out sorted and are exactly what was pushed.
            assert!(popped.windows(2).all(|w| w[0] < w[1]), "round {round}: out of order");
            let mut want: Vec<u128> = pending.iter().map(|&(t, s)| (t as u128) << 64 | s as u128).collect();
            want.sort_unstable();
            assert_eq!(popped, want, "round {round}");
        }
    }
}
