//! The compiled scenario: indices instead of names, parameters precomputed.
//! Built by `scenario::compile`; read by the engine. Nothing here refers back to YAML.

use crate::dist::Dist;
use crate::platform::{MachineId, RetryPolicy};

pub type TaskId = u16;
pub type AttrId = u16;
pub const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub description: String,
    pub inputs: Vec<InputAttr>,
    pub tasks: Vec<Task>,
    pub entry: TaskId,
    /// The programs of all tasks, one after the other.
    pub ops: Vec<Op>,
    pub works: Vec<WorkSpec>,
    pub dists: Vec<Dist>,
    pub counts: Vec<Count>,
    pub conds: Vec<Cond>,
    /// Start latency of a warm start: a machine of the preset ended a run within
    /// `keep_warm_s` (the scenario's `startLatency`).
    pub start_latency: Dist,
    /// Start latency when no warm machine of the preset is free (`coldStart`).
    pub cold_start: Dist,
    /// A machine stays warm this long after a run ends or checkpoints (`keepWarm`).
    pub keep_warm_s: f64,
    /// The Trigger.dev environment every run is simulated in, alone or under load.
    pub environment: Environment,
    /// The queues of the environment and which one each task's runs wait in, derived from
    /// the tasks and the environment (see [`Model::queue_layout`]).
    pub queues: QueueLayout,
    pub invocation_usd: f64,
    /// Compute price per second of each preset (after `prices:` overrides).
    pub usd_per_s: [f64; 7],
    pub limits: Limits,
    pub load: Option<Load>,
    pub slos: Vec<crate::slo::Slo>,
    /// Conditions on a run's inputs each outcome records (bit i of `RunOutcome::marks`):
    /// the filters of SLOs and the segments of `--by`. At most [`MAX_MARKS`].
    pub marks: Vec<Cond>,
    /// `--by`: the segments summarised one by one, in order.
    pub segments: Vec<Segment>,
    /// External services the work steps call (`services:`), in the order written.
    pub services: Vec<Service>,
    /// Limit states in all: one per service, or one per `key:` value of a keyed service.
    pub service_slots: u32,
    /// Whether runs alone can be evaluated without events (`engine::direct_supported`):
    /// decided by the engine on the first run and kept here. A model changed after it has
    /// run must be rebuilt (or get a new `OnceLock`) for the engine to decide again.
    pub direct: std::sync::OnceLock<bool>,
}

/// A Trigger.dev plan: its concurrency, queue size and batch rate limit defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Hobby,
    Pro,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Hobby, Plan::Pro];

    pub fn name(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Hobby => "hobby",
            Plan::Pro => "pro",
        }
    }

    pub fn from_name(s: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Concurrent runs of the environment (docs/limits).
    pub fn concurrency(self) -> u32 {
        match self {
            Plan::Free => 10,
            Plan::Hobby => 25,
            Plan::Pro => 100,
        }
    }

    /// Runs a queue may hold (docs/limits).
    pub fn max_queue_size(self) -> u32 {
        match self {
            Plan::Free => 10_000,
            Plan::Hobby => 250_000,
            Plan::Pro => 1_000_000,
        }
    }

    /// The batch trigger token bucket (docs/limits).
    pub fn batch_tokens(self) -> TokenBucket {
        match self {
            Plan::Free => TokenBucket { bucket: 1200.0, refill: 100.0, every_s: 10.0 },
            Plan::Hobby | Plan::Pro => TokenBucket { bucket: 5000.0, refill: 500.0, every_s: 5.0 },
        }
    }
}

/// Where the environment's settings came from (printed with every result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvSource {
    /// Neither `environment:` nor the load's environment keys: the default plan.
    Default,
    /// The `environment:` block.
    Environment,
    /// The `load:` block's `environmentConcurrency` (and its other environment keys).
    Load,
}

/// The environment runs share: its concurrency slots, queue size and batch rate limits and
/// its dequeue loop. A run alone meets the same limits as runs under load.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The plan whose defaults apply, if one was named (or taken by default).
    pub plan: Option<Plan>,
    pub source: EnvSource,
    /// Concurrent runs (the base limit; each queue is capped at it).
    pub concurrency: u32,
    /// The environment as a whole may run this many times its limit (each queue stays capped
    /// at the limit).
    pub burst_factor: f64,
    /// Runs a queue may hold; a trigger into a full queue is rejected (the run FAILED).
    pub max_queue_size: Option<u32>,
    /// Batch trigger rate limit: a token bucket of `bucket` items refilled by `refill` items
    /// every `every_s` seconds; batch items past the tokens wait for them.
    pub batch_tokens: Option<TokenBucket>,
    /// The dequeue loop: queued runs get slots only when it polls, every `dequeue_every_s`
    /// while runs wait and every `dequeue_idle_s` once a poll found none (0: at once, the
    /// default; Trigger.dev self-hosted polls every 250 ms, 1 s when idle).
    pub dequeue_every_s: f64,
    pub dequeue_idle_s: f64,
}

impl Environment {
    /// The default plan when a scenario names none.
    pub const DEFAULT_PLAN: Plan = Plan::Free;

    /// A plan's environment with its defaults.
    pub fn of_plan(plan: Plan, source: EnvSource) -> Environment {
        Environment {
            plan: Some(plan),
            source,
            concurrency: plan.concurrency(),
            burst_factor: 2.0,
            max_queue_size: Some(plan.max_queue_size()),
            batch_tokens: Some(plan.batch_tokens()),
            dequeue_every_s: 0.0,
            dequeue_idle_s: 0.0,
        }
    }

    /// The most runs executing at once: `concurrency` x `burst_factor`, at least 1.
    pub fn cap(&self) -> u32 {
        ((self.concurrency as f64) * self.burst_factor).floor().max(1.0) as u32
    }

    /// One line saying which environment runs are simulated in, e.g. `environment: free plan
    /// (10 concurrent runs, burst 2x; the default: the scenario sets no environment)`.
    pub fn describe(&self) -> String {
        let slots = format!("{} concurrent runs", self.concurrency);
        let burst = if self.burst_factor == 1.0 { String::new() } else { format!(", burst {}x", self.burst_factor) };
        let what = match self.plan {
            Some(p) => format!("{} plan, {slots}{burst}", p.name()),
            None => format!("{slots}{burst}"),
        };
        let from = match self.source {
            EnvSource::Default => " (the default: the scenario sets no environment)",
            EnvSource::Environment => "",
            EnvSource::Load => " (from load.environmentConcurrency)",
        };
        format!("environment: {what}{from}")
    }
}

/// The queues of an environment: a named queue is shared by the tasks naming it, a task
/// without one has its own (named after it); each has one copy per `concurrencyKey` value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueLayout {
    pub queues: Vec<QueueDef>,
    /// Per task: its queue's first copy (sub-queue), its number of key values, and its
    /// `concurrencyKey` input attribute (`NONE`: no key, the first copy).
    pub task_subq: Vec<(u32, u32, u32)>,
    /// Per task: the index of its queue in `queues`.
    pub task_queue: Vec<u32>,
    /// Sub-queues (queue copies) in all.
    pub subqs: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueDef {
    pub name: String,
    /// Slots of each copy: min(concurrencyLimit, environment limit), at least 1.
    pub cap: u32,
    /// Copies (concurrencyKey values; 1 without a key).
    pub keys: u32,
    /// The first copy's index among all sub-queues.
    pub first: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Events one simulated workflow run may process before it is stopped with an error.
    pub max_events_per_run: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_events_per_run: 5_000_000 }
    }
}

#[derive(Debug, Clone)]
pub struct InputAttr {
    pub name: String,
    pub dist: Dist,
    /// For a `choice` of names: the names, whose index is the drawn value.
    pub categories: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub machine: MachineId,
    pub retry: RetryPolicy,
    /// Compute seconds per attempt.
    pub max_duration_s: Option<f64>,
    /// Slice of the root run's progress bar, percent.
    pub progress: Option<(f64, f64)>,
    pub base_memory_mb: f64,
    pub entry_pc: u32,
    pub queue: Option<QueueSpec>,
    /// Load: `concurrencyKey`: the input attribute whose value picks the queue's copy, and the
    /// number of values it can take (a choice's names, or whole numbers 0..n).
    pub concurrency_key: Option<(AttrId, u32)>,
    /// Load: `priority`, seconds: dequeued as if queued that much earlier.
    pub priority_s: f64,
    /// Load: `ttl`: a run not started this long after it was due ends EXPIRED.
    pub ttl_s: Option<f64>,
    /// Load: `delay`: the run waits this long before it is queued (DELAYED).
    pub delay_s: f64,
}

#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub concurrency_limit: Option<u32>,
}

/// Range of a task's progress slice a step moves through, as fractions of the slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prog {
    pub lo: f64,
    pub hi: f64,
}

impl Prog {
    pub const NONE: Prog = Prog { lo: -1.0, hi: -1.0 };
    pub fn is_some(&self) -> bool {
        self.hi >= 0.0
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Work {
        spec: u32,
        prog: Prog,
    },
    /// wait.for: a paused (checkpointed, unbilled) wait when over 5 s.
    Wait {
        dur: u32,
        prog: Prog,
    },
    /// Go on to the next op when the condition holds, else jump to `else_pc`.
    If {
        cond: u32,
        else_pc: u32,
    },
    Jump {
        pc: u32,
    },
    /// Promise.all over `count` items of the body that follows, at most `limit` at once.
    /// The body ends with `EndItem`; `cont` is the op after it. A `repeat:` step (a loop,
    /// one iteration after the other) is this op with `limit` 1 and `repeat` set: it runs,
    /// draws and bills exactly as a `parallel` of one item at a time; `repeat` only names it.
    Parallel {
        count: u32,
        limit: u32,
        cont: u32,
        prog: Prog,
        repeat: bool,
    },
    EndItem,
    /// `machine` (in this op and the other trigger ops): the step's `machine:`, the preset the
    /// child runs on instead of its task's (`retry.outOfMemory.machine` still applies on top).
    TriggerAndWait {
        task: TaskId,
        idempotent: bool,
        unwrap: bool,
        prog: Prog,
        machine: Option<MachineId>,
    },
    /// Fire-and-forget `trigger` (count 1) or `batchTrigger` (`batch`: rate-limited under load).
    /// `idempotent`: with `idempotencyKey`, a retried parent does not trigger again the children
    /// that completed or still run (a failed one runs again).
    Trigger {
        task: TaskId,
        count: u32,
        batch: bool,
        idempotent: bool,
        machine: Option<MachineId>,
    },
    BatchTriggerAndWait {
        task: TaskId,
        count: u32,
        idempotent: bool,
        unwrap: bool,
        prog: Prog,
        machine: Option<MachineId>,
    },
    /// wait.for `every`, then check; done with probability `success`, else again, at most
    /// `max_checks` checks, then the step throws.
    Poll {
        every: u32,
        success: f64,
        max_checks: u32,
        check: u32,
        prog: Prog,
    },
    /// The end of a counted step: the bar moves to this fraction of the task's slice.
    Progress {
        frac: f64,
    },
    End,
}

#[derive(Debug, Clone)]
pub struct WorkSpec {
    pub name: String,
    /// Key path of the step in the scenario, e.g. `tasks.ocr-pdf.steps[0].parallel.steps[0].work`.
    pub key: String,
    pub duration: DurSpec,
    pub failure: f64,
    pub retryable: bool,
    /// Failure happens at a uniform point of the step instead of at its end.
    pub fail_uniform: bool,
    /// Duration multiplier per preset (1 where not CPU-bound). Sensitivity analysis scales it.
    pub scale: [f64; 7],
    /// CPU-bound work: it shares the attempt's vCPUs with the other CPU-bound work running
    /// at the same time (see `platform::shared_speed`).
    pub cpu: Option<CpuWork>,
    pub memory_mb: Option<u32>,
    /// `retry.onThrow` around this step.
    pub retry: Option<RetryPolicy>,
    /// The external service the step calls, if any: each try is one call, refused at once
    /// with a 429 when the service is over its limit.
    pub service: Option<ServiceCall>,
}

/// A work step's call to a service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceCall {
    /// Index in `Model::services`.
    pub service: u32,
    /// Distribution of the call's tokens (`tokens:`), or `NONE` (no tokens counted).
    pub tokens: u32,
}

/// How a service's limit comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refill {
    /// A bucket of `limit` calls refilled continuously at `limit` per window (Anthropic,
    /// OpenAI: the default).
    TokenBucket,
    /// At most `limit` calls per window, windows aligned to time 0 (a counter reset every
    /// window: GitHub's and many REST APIs' hourly or per-minute quotas).
    FixedWindow,
}

impl Refill {
    pub fn name(self) -> &'static str {
        match self {
            Refill::TokenBucket => "tokenBucket",
            Refill::FixedWindow => "fixedWindow",
        }
    }
}

/// An external service (`services:`): a rate limit shared by every call of every run in the
/// simulation, optionally per value of an input attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    /// Calls per window (the bucket's size, or the window's quota); infinite: no call limit.
    pub limit: f64,
    /// The window: 60 s for `perMinute`, 1 s for `perSecond`.
    pub window_s: f64,
    /// Tokens per minute (`tokensPerMinute`), if limited.
    pub tokens_per_minute: Option<f64>,
    /// Calls in flight at most (`concurrency`).
    pub concurrency: Option<u32>,
    pub refill: Refill,
    /// `key:`: the input attribute whose value has a limit of its own, and how many values.
    pub key: Option<(AttrId, u32)>,
    /// The first of its limit states (`Model::service_slots`).
    pub first: u32,
}

impl Service {
    /// Limit states: one per key value.
    pub fn slots(&self) -> u32 {
        self.key.map_or(1, |(_, n)| n.max(1))
    }
    /// The call limit per minute (for reports).
    pub fn per_minute(&self) -> f64 {
        self.limit * 60.0 / self.window_s
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuWork {
    pub parallel_fraction: f64,
    /// JavaScript on the main thread: one thread for all such work of the attempt.
    pub main_thread: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum DurSpec {
    Dist(u32),
    /// Sum of `count` draws of `each`, reported unit by unit.
    PerUnit {
        count: u32,
        each: u32,
    },
}

/// How many: a constant, an input attribute or a distribution (rounded, at least 0).
#[derive(Debug, Clone, Copy)]
pub enum Count {
    Fixed(u32),
    Attr(AttrId),
    Dist(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Conditions a model can record per run (the bits of `RunOutcome::marks`).
pub const MAX_MARKS: usize = 64;

/// One segment of `--by`: the runs whose inputs meet every condition in `marks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// What `--by` named (`tier`, `pages > 50`).
    pub by: String,
    /// This segment's value (`pro`, `true`, `10 < pages <= 50`).
    pub label: String,
    /// The bits of `RunOutcome::marks` a run of this segment has.
    pub mask: u64,
}

impl Model {
    /// Records condition `c` in every outcome from now on; its bit, or `None` when
    /// [`MAX_MARKS`] are in use.
    pub fn mark(&mut self, c: Cond) -> Option<u64> {
        (self.marks.len() < MAX_MARKS).then(|| {
            self.marks.push(c);
            1u64 << (self.marks.len() - 1)
        })
    }

    /// The marks of a run with these inputs (0 without conditions).
    #[inline]
    pub fn marks_of(&self, inputs: &[f64]) -> u64 {
        let mut bits = 0;
        for (i, c) in self.marks.iter().enumerate() {
            if c.eval(inputs) {
                bits |= 1 << i;
            }
        }
        bits
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Cond {
    pub attr: AttrId,
    /// None: the attribute's truth (non-zero).
    pub cmp: Option<(CmpOp, f64)>,
    pub negate: bool,
}

impl Cond {
    pub fn eval(&self, inputs: &[f64]) -> bool {
        let v = inputs[self.attr as usize];
        let r = match self.cmp {
            None => v != 0.0,
            Some((op, x)) => match op {
                CmpOp::Eq => v == x,
                CmpOp::Ne => v != x,
                CmpOp::Lt => v < x,
                CmpOp::Le => v <= x,
                CmpOp::Gt => v > x,
                CmpOp::Ge => v >= x,
            },
        };
        r != self.negate
    }
}

/// `load:`: workflow runs arriving over time, sharing the model's environment.
#[derive(Debug, Clone)]
pub struct Load {
    /// Arrival rate per minute (before the first `schedule` entry, or always); 0 for a load of
    /// bursts only.
    pub per_minute: f64,
    /// Poisson arrivals (exponential gaps) or evenly spaced ones.
    pub poisson: bool,
    /// Piecewise rates: (until second, per minute), in time order; after the last, `per_minute`.
    pub schedule: Vec<(f64, f64)>,
    /// Extra runs at given times.
    pub bursts: Vec<Burst>,
    /// Arrivals stop after this many seconds; the statistics cover [warmup, duration].
    pub duration_s: f64,
    pub warmup_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    pub bucket: f64,
    pub refill: f64,
    pub every_s: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Burst {
    pub at_s: f64,
    pub runs: u32,
}

impl Load {
    /// Arrival rate (per minute) at time `t`.
    pub fn rate_at(&self, t: f64) -> f64 {
        self.schedule.iter().find(|(until, _)| t < *until).map_or(self.per_minute, |(_, r)| *r)
    }

    /// The next time the rate changes after `t`, if any.
    pub fn next_rate_change(&self, t: f64) -> Option<f64> {
        self.schedule.iter().map(|(until, _)| *until).find(|until| *until > t)
    }
}

impl Model {
    /// The ops of task `t`'s program (programs sit one after the other, in task order).
    pub fn program(&self, t: TaskId) -> std::ops::Range<usize> {
        let start = self.tasks[t as usize].entry_pc as usize;
        let end = self.tasks.get(t as usize + 1).map_or(self.ops.len(), |x| x.entry_pc as usize);
        start..end
    }

    pub fn task_id(&self, name: &str) -> Option<TaskId> {
        self.tasks.iter().position(|t| t.name == name).map(|i| i as TaskId)
    }

    /// The queues of the model's tasks in its environment. Code that changes a task's
    /// `queue` or the environment's concurrency sets `queues` to this again.
    pub fn queue_layout(&self) -> QueueLayout {
        let mut queues: Vec<QueueDef> = Vec::new();
        let mut task_q = Vec::with_capacity(self.tasks.len());
        for t in &self.tasks {
            let (name, limit) = match &t.queue {
                Some(q) => (q.name.as_str(), q.concurrency_limit),
                None => (t.name.as_str(), None),
            };
            let keys = t.concurrency_key.map_or(1, |(_, n)| n.max(1));
            let qi = match queues.iter().position(|q| q.name == name) {
                Some(i) => {
                    queues[i].keys = queues[i].keys.max(keys);
                    i
                }
                None => {
                    let cap = limit.unwrap_or(u32::MAX).min(self.environment.concurrency).max(1);
                    queues.push(QueueDef { name: name.to_string(), cap, keys, first: 0 });
                    queues.len() - 1
                }
            };
            task_q.push((qi, keys, t.concurrency_key.map_or(NONE, |(attr, _)| attr as u32)));
        }
        let mut first = 0u32;
        for q in &mut queues {
            q.first = first;
            first += q.keys;
        }
        let task_subq = task_q.iter().map(|&(qi, keys, attr)| (queues[qi].first, keys, attr)).collect();
        let task_queue = task_q.iter().map(|&(qi, _, _)| qi as u32).collect();
        QueueLayout { queues, task_subq, task_queue, subqs: first }
    }
}
