//! Run-state storage: fibers, frames, waiters, task runs and idempotency groups, the load's
//! queues and slots ([`LoadRt`]), the direct path's scratch and the services' limit states, all
//! in a reusable [`Scratch`] so that after warm-up a run allocates nothing. Only data and its
//! bookkeeping live here; the rules that move it are in the paths (interpreter, direct, load,
//! services), which all import from here and never the other way.

use super::events::{Event, EventQueue};
use super::outcome::{LoadOutcome, RunOutcome, Status, TaskAcc};
use crate::model::*;
use crate::platform::MachineId;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

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
    /// Its workflow run is measured (a copy of `WorkflowRun::measured`, read by every `acc`).
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
pub(super) struct WorkflowRun {
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
    pub(super) heap: EventQueue,
    /// Events due at the current instant, in sequence order: they skip the heap. Popping
    /// takes the smaller (time, seq) of both, so the order is exactly the heap's.
    pub(super) now_q: std::collections::VecDeque<Event>,
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
    pub(super) wfs: Vec<WorkflowRun>,
    /// Outcomes of the measured workflow runs (a lone run's, or a load's measured window's,
    /// in arrival order: the load hands the vector over whole) and of a load's others.
    pub(super) outs: Vec<RunOutcome>,
    pub(super) outs_warm: Vec<RunOutcome>,
    /// Measured workflow runs of the thread's last load replication (a capacity hint).
    pub(super) outs_hint: usize,
    pub(super) lr: LoadRt,
    /// Where the totals of unmeasured runs go.
    pub(super) sink: TaskAcc,
    pub(super) direct: DirectScratch,
    /// The services' limit states (`Model::service_slots`) and, per service, calls (offered,
    /// served) per window from time 0.
    pub(super) svc: Vec<SvcState>,
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
            heap: EventQueue::default(),
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
            direct: DirectScratch::default(),
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

/// The limit state of a service (or one key value of it).
#[derive(Clone, Copy, Default)]
pub(super) struct SvcState {
    /// Token bucket: calls and tokens in the buckets at `t`.
    pub(super) level: f64,
    pub(super) tok_level: f64,
    pub(super) t: f64,
    /// Fixed window: the current windows (index from time 0) and what they used.
    pub(super) window: f64,
    pub(super) count: f64,
    pub(super) tok_window: f64,
    pub(super) tok_count: f64,
    pub(super) inflight: u32,
}

impl SvcState {
    pub(super) fn fresh(s: &Service) -> SvcState {
        SvcState {
            level: s.limit,
            tok_level: s.tokens_per_minute.unwrap_or(f64::INFINITY),
            t: 0.0,
            window: 0.0,
            count: 0.0,
            tok_window: 0.0,
            tok_count: 0.0,
            inflight: 0,
        }
    }

    /// Takes a call of `tokens` at `now` if the limits allow it.
    #[inline]
    pub(super) fn admit(&mut self, s: &Service, now: f64, tokens: f64) -> bool {
        if s.concurrency.is_some_and(|c| self.inflight >= c) {
            return false;
        }
        let tpm = s.tokens_per_minute.unwrap_or(f64::INFINITY);
        match s.refill {
            Refill::TokenBucket => {
                let dt = now - self.t;
                self.t = now;
                if s.limit.is_finite() {
                    self.level = (self.level + dt * (s.limit / s.window_s)).min(s.limit);
                }
                if tpm.is_finite() {
                    self.tok_level = (self.tok_level + dt * (tpm / 60.0)).min(tpm);
                }
                if self.level < 1.0 - EPS || self.tok_level < tokens - EPS {
                    return false;
                }
                self.level -= 1.0;
                self.tok_level -= tokens;
            }
            Refill::FixedWindow => {
                let w = (now / s.window_s).floor();
                if w != self.window {
                    self.window = w;
                    self.count = 0.0;
                }
                let tw = (now / 60.0).floor();
                if tw != self.tok_window {
                    self.tok_window = tw;
                    self.tok_count = 0.0;
                }
                if self.count + 1.0 > s.limit + EPS || self.tok_count + tokens > tpm + EPS {
                    return false;
                }
                self.count += 1.0;
                self.tok_count += tokens;
            }
        }
        true
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum QState {
    None,
    /// Waiting for a slot to start an attempt.
    Start,
    /// Waiting for a slot to resume after a checkpoint.
    Resume,
}

#[derive(Clone, Copy)]
pub(super) struct QEntry {
    pub(super) eff: f64,
    pub(super) seq: u64,
    pub(super) run: u32,
    /// The run's queue generation when it was queued (stale entries are skipped).
    pub(super) qgen: u32,
}

eq_and_partial_ord_from_ord!(QEntry);
impl Ord for QEntry {
    fn cmp(&self, o: &Self) -> Ordering {
        o.eff.total_cmp(&self.eff).then(o.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
pub(super) struct SubQueue {
    pub(super) heap: BinaryHeap<QEntry>,
    pub(super) active: u32,
    pub(super) cap: u32,
    pub(super) queue: u32,
    /// Which concurrencyKey value this copy of the queue serves.
    pub(super) key: u32,
    /// The seq of this sub-queue's live entry in `LoadRt::ready` (`UNINDEXED`: none) and its
    /// effective time.
    pub(super) ready_seq: u64,
    pub(super) ready_eff: f64,
}

pub(super) const UNINDEXED: u64 = u64::MAX;

/// An entry of the index of sub-queues that can take a slot: the (eff, seq) of the sub-queue's
/// head when it was indexed. Heads only move later (a popped or stale head is replaced by a
/// later entry) unless a new entry goes in front, which re-indexes it; so an entry's key is a
/// lower bound of its sub-queue's current head. Entries whose seq is no longer the sub-queue's
/// `ready_seq` are superseded and dropped when they come to the top.
#[derive(Clone, Copy)]
pub(super) struct Ready {
    pub(super) eff: f64,
    pub(super) seq: u64,
    pub(super) sq: u32,
}

eq_and_partial_ord_from_ord!(Ready);
impl Ord for Ready {
    fn cmp(&self, o: &Self) -> Ordering {
        o.eff.total_cmp(&self.eff).then(o.seq.cmp(&self.seq))
    }
}

/// The state of the platform during a load.
#[derive(Default)]
pub(super) struct LoadRt {
    /// One workflow run alone (no arrivals, no load statistics) rather than a load.
    pub isolated: bool,
    pub(super) env_base: u32,
    pub(super) env_cap: u32,
    pub(super) env_active: u32,
    pub(super) subqs: Vec<SubQueue>,
    /// Sub-queues below their cap with runs waiting, earliest head first. Invariant: each such
    /// sub-queue has a live entry here whose key is at most its head's; no sub-queue at its
    /// cap or empty has a live one after `dispatch` looks at it.
    pub(super) ready: BinaryHeap<Ready>,
    /// Only one sub-queue (one queue, no concurrencyKey): it is the only candidate, so
    /// `dispatch` takes its head directly and `ready` is not kept.
    pub(super) single: bool,
    /// Reference mode (tests only): `dispatch` scans every sub-queue per grant instead of
    /// using the index; `ready` is then not read.
    pub(super) scan: bool,
    /// Slots in use per queue (the sum over its copies).
    pub(super) queue_active: Vec<u32>,
    /// Per task: the work step of a one-step task whose attempts always complete (see
    /// `simple_work`), or NONE; and `mix3_part` of its work stream's components.
    pub(super) simple: Vec<(u32, u64)>,
    /// Per preset: until when each idle machine stays warm. Pushed in time order, so the
    /// expired ones are at the front.
    pub(super) warm: [std::collections::VecDeque<f64>; 7],
    pub(super) keep_warm_s: f64,
    /// The start latency of a warm and of a cold start when it is fixed (no draw).
    pub(super) warm_fixed: Option<f64>,
    pub(super) cold_fixed: Option<f64>,
    /// The dequeue loop (see `Load::dequeue_every_s`): its intervals, a poll scheduled, the
    /// last poll's time and whether it found runs waiting.
    pub(super) dq_every: f64,
    pub(super) dq_idle: f64,
    pub(super) dq_pending: bool,
    pub(super) dq_last: f64,
    pub(super) dq_busy: bool,
    pub(super) queued: u32,
    /// Generation of the pending arrival of the stream (a rate change makes it stale).
    pub(super) arrival_gen: u32,
    /// The replication's keys: of the arrival stream (`mix(key, ARRIVAL)`) and of its
    /// workflow runs (`splitmix(key)`; run i's key is `mix3(run_base, i, 0, 0)`).
    pub(super) arrival_key: u64,
    pub(super) run_base: u64,
    /// The arrival rate per minute the mean gap was computed for, and the mean gap (s).
    pub(super) gap_mean: (f64, f64),
    /// Runs waiting in each queue (for the queue size limit).
    pub(super) queue_len: Vec<u32>,
    /// Batch rate limit: tokens (negative: owed) at `tokens_t`.
    pub(super) tokens: f64,
    pub(super) tokens_t: f64,
    pub(super) last_t: f64,
    pub(super) in_system: u32,
    pub(super) stats: LoadOutcome,
}

impl LoadRt {
    pub(super) fn window(&self) -> (f64, f64) {
        self.stats.window
    }
}

/// Reusable state of the direct path.
#[derive(Default)]
pub(super) struct DirectScratch {
    pub(super) inputs: Vec<f64>,
    pub(super) idem: Vec<Idem>,
    /// Fire-and-forget children waiting to be evaluated, in trigger order.
    pub(super) deferred: Vec<Deferred>,
    pub(super) items: Vec<Item>,
    /// Progress ticks of a perUnit work step: (time, units done).
    pub(super) ticks: Vec<(f64, u32)>,
    /// The totals as they were before the run, restored if it is handed back.
    pub(super) saved: Vec<TaskAcc>,
    /// Machines released so far in the run (the pool of warm machines, see the module's
    /// header).
    pub(super) warm: Vec<Released>,
    /// Per preset: the latest start evaluated so far, and that of everything evaluated before
    /// the fire-and-forget child being evaluated now.
    pub(super) granted: [f64; 7],
    pub(super) base: [f64; 7],
    /// Whose runs are being evaluated: 0 the main tree, k the k-th fire-and-forget child's
    /// (evaluated after the main tree, in trigger order).
    pub(super) owner: u32,
    /// Batch items triggered (against the batch rate limit's bucket).
    pub(super) batch_items: u64,
    /// Task runs per queue (against the queue's slots).
    pub(super) queue_runs: Vec<u64>,
}

/// A machine of `preset` released at `r` (warm until `until`) by the runs of `owner` (see
/// `DirectScratch::owner`); `taken` once a start took it.
#[derive(Clone, Copy)]
pub(super) struct Released {
    pub(super) r: f64,
    pub(super) until: f64,
    pub(super) preset: u8,
    pub(super) taken: bool,
    pub(super) owner: u32,
}

/// A fire-and-forget child triggered at `t` by the runs of `owner`, when `mark` machines had
/// been released (those released at `t` too came before the trigger, the rest after).
#[derive(Clone, Copy)]
pub(super) struct Deferred {
    pub(super) task: TaskId,
    /// The preset it runs on (the trigger step's `machine:`, else its task's).
    pub(super) machine: MachineId,
    pub(super) key: u64,
    pub(super) t: f64,
    pub(super) owner: u32,
    pub(super) mark: u32,
}

/// An idempotency key of a task run: its step and item, whether the child completed (for a
/// waiting step; a fire-and-forget trigger's entry only marks the key as used), and the next
/// entry of the same parent run.
#[derive(Clone, Copy)]
pub(super) struct Idem {
    pub(super) pc: u32,
    pub(super) ikey: u64,
    pub(super) completed: bool,
    pub(super) next: u32,
}

/// A Promise.all item in flight: the time of its next event (its end, or the throw).
#[derive(Clone, Copy)]
pub(super) struct Item {
    pub(super) t: f64,
    pub(super) threw: bool,
    pub(super) retryable: bool,
}

/// Slack on the limit checks: a bucket refilled by float steps to exactly 1 call may hold
/// 0.999...; without it such a call would be refused.
pub(super) const EPS: f64 = 1e-9;
