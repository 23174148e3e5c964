//! What one workflow run produces: its outcome, per-task accumulators, statuses, progress
//! levels, and the errors that stop a simulation.

use crate::platform::PRESETS;

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
    /// Bit i: the run's inputs meet the model's condition `marks[i]` (an SLO filter or a
    /// segment of `--by`); drawn with the inputs, before the run starts.
    pub marks: u64,
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
    marks: 0,
    progress: [f64::INFINITY; LEVELS],
};

/// Compute price of a preset per second, for reports.
pub fn preset_name(m: u8) -> &'static str {
    PRESETS[m as usize].name
}

/// Totals of one service's calls made by one task.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SvcAcc {
    /// Calls offered (every try of a step that calls the service).
    pub calls: u64,
    /// Calls refused with a 429.
    pub limited: u64,
    /// 429s after which the step tried again (its `retry:`).
    pub retries: u64,
    /// 429s with no retry left: the attempt threw.
    pub exhausted: u64,
    /// Most calls offered in one window of the service (fixed windows from time 0; per run
    /// alone, or over a load replication): the peak offered rate.
    pub peak: u64,
}

impl SvcAcc {
    pub fn merge(&mut self, o: &SvcAcc) {
        self.calls += o.calls;
        self.limited += o.limited;
        self.retries += o.retries;
        self.exhausted += o.exhausted;
        self.peak = self.peak.max(o.peak);
    }
}

/// Per-queue totals of one replication.
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub name: String,
    pub cap: u32,
    /// Seconds each grant waited in this queue (grants inside the measured window).
    pub waits: Vec<f64>,
    /// Slot-seconds in use inside the window.
    pub busy_area: f64,
    /// With a concurrencyKey: the waits of each key value.
    pub by_key: Vec<Vec<f64>>,
    /// Triggers refused because the queue was full.
    pub rejected: u64,
    /// Runs waiting in this queue at each of the replication's backlog samples
    /// ([`LoadOutcome::backlog`] holds their times and the total).
    pub backlog: Vec<f64>,
}

/// What one replication of a load produced.
#[derive(Debug, Clone, Default)]
pub struct LoadOutcome {
    /// Workflow runs triggered in the measured window, in arrival order.
    pub outcomes: Vec<RunOutcome>,
    pub arrived: u64,
    pub queues: Vec<QueueStats>,
    pub env_busy_area: f64,
    pub env_base: u32,
    pub env_cap: u32,
    /// Measured window: from the end of the warm-up to the end of the arrivals.
    pub window: (f64, f64),
    /// Entry runs completed inside the window.
    pub completed_in_window: u64,
    /// Time integral of the number of workflow runs in the system, inside the window.
    pub in_system_area: f64,
    /// Intervals summed into `in_system_area` (for a bound on its rounding error).
    pub in_system_terms: u64,
    /// Arrival time of each of `outcomes`.
    pub arrivals: Vec<f64>,
    /// (arrival, duration) of the workflow runs that arrived before the window and were still
    /// in the system at its start: with `outcomes` they are every run `in_system_area` counts,
    /// so that area is the sum over both of the overlap of [arrival, arrival + duration] with
    /// the window (a sample-path Little's law).
    pub carried_in: Vec<(f64, f64)>,
    /// (time, runs waiting for a slot) samples over the arrivals' duration.
    pub backlog: Vec<(f64, f64)>,
    pub warm_starts: u64,
    pub starts: u64,
    pub expired: u64,
    /// Workflow runs that could never finish (every slot held by runs waiting on them).
    pub deadlocked: u64,
    /// Per service: calls (offered, served) per window of the service from time 0.
    pub service_rates: Vec<Vec<[u32; 2]>>,
}
