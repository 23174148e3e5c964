//! The Monte Carlo's fast path: one workflow run alone, evaluated directly, without events.
//!
//! A run alone obeys the environment's rules (`engine/load.rs`): each task run takes a slot
//! of its queue and of the environment, starts warm or cold from the pool of idle machines
//! of its preset, gives its slot back at a `triggerAndWait`, 60 s into a checkpointed wait
//! and on a long retry delay, and queues for one again (with a start latency) to go on. When
//! the workflow's own runs can never fill a queue or the environment (checked at the end of
//! each run: every task run of it alive at once would still fit), nobody ever waits for a
//! slot, and its task runs only meet where the order of events cannot change the result: a
//! parent waiting on a child is paused until the child ends, and a fire-and-forget child
//! shares nothing with the rest but the totals and the pool of warm machines. So a task run
//! can be computed as a function call: each attempt walks its program in time order, a
//! `triggerAndWait` child is evaluated in the middle of it, and fire-and-forget children
//! are evaluated once the entry run has ended. Promise.all items whose body is plain work
//! (no memory, no waits or triggers) are independent timelines merged in time order; a poll
//! is a loop of waits and checks in its attempt's time. batchTriggerAndWait (children side by
//! side, adding into the same totals) is left to the event engine.
//!
//! The pool of warm machines is kept as the machines released so far, each with its release
//! time: a start at `t` takes the newest one of its preset released by `t` and still warm,
//! as the engine's pool does. The main tree's starts and releases come in time order; a
//! fire-and-forget child's come later, so it must not take a machine the main tree took
//! later nor release one the main tree started after (then the run is handed back).
//!
//! The rules are the event engine's, draw for draw: every random number comes from the same
//! keyed stream, every time from the same arithmetic, and sums are added in the same order,
//! so a run gives the same [`RunOutcome`] and totals, bit for bit (tests/direct.rs checks
//! this against the engine on the shipped scenarios and on generated ones).
//!
//! [`supported`] says which models qualify. A run whose outcome could depend on how the engine
//! breaks a tie (two events at the same instant where order matters), that goes deeper than
//! [`MAX_DEPTH`] or takes more than [`MAX_STEPS`] steps, or whose retry reaches a keyed
//! fire-and-forget trigger again (whether its children run again depends on how far they got,
//! and they are evaluated after the entry run) is handed back (`None`), and the caller
//! simulates it with the event engine instead; the totals are restored first.
//!
//! Kept in one file (about 1,000 lines) on purpose: it mirrors the interpreter's rules
//! statement for statement, and the bit-for-bit contract between the two (tests/engine.rs) is
//! checked by reading them side by side.

use super::run_state::{Deferred, DirectScratch, Idem, Item, Released};
use super::{
    EMPTY_OUTCOME, RunOutcome, SLOT_RELEASE_S, Status, TaskAcc, draw_count, reach_levels, retry_delay,
    start_latency_of, step_key,
};
use crate::model::*;
use crate::platform::{self, MachineId};
use crate::rng::{attempt_key, mix, mix3, purpose, stream};
use rand::RngExt;

/// Steps (ops, work tries, items, units) a directly evaluated run may take before it is
/// handed to the event engine: far below the event budget, which the engine enforces.
const MAX_STEPS: u64 = 20_000;
/// Runs of models with a smaller event budget always go through the event engine, so the
/// budget is enforced exactly (a direct step is at most a few events: see `MAX_STEPS`).
pub(super) const MIN_BUDGET: u64 = 1_000_000;
/// Nested triggerAndWait children evaluated by recursion, at most.
const MAX_DEPTH: u32 = 64;
/// Promise.all items in flight merged by the direct path, at most.
const MAX_LIMIT: u32 = 256;

/// Can runs of `m` be evaluated directly? Structural: the caller also checks that there is
/// no load and that the event budget is at least `MIN_BUDGET`.
pub fn supported(m: &Model) -> bool {
    // A service's limit is shared by the run's calls in time order: the event engine's.
    if !m.services.is_empty() {
        return false;
    }
    let mut body = false;
    let mut limit = 1;
    for op in &m.ops {
        match *op {
            Op::BatchTriggerAndWait { .. } => return false,
            Op::Parallel { limit: l, .. } => {
                if body {
                    return false;
                }
                body = true;
                limit = l;
            }
            Op::EndItem => body = false,
            Op::Work { spec, .. } if body => {
                let w = &m.works[spec as usize];
                // CPU-bound items running together share the machine (`engine/cpu.rs`).
                if w.memory_mb.is_some() || !matches!(w.duration, DurSpec::Dist(_)) || w.cpu.is_some() && limit > 1 {
                    return false;
                }
            }
            _ if body => return false,
            _ => {}
        }
    }
    // Triggered runs wait out a delay or may expire, and the dequeue loop grants slots only
    // when it polls: a run's start depends on more than its trigger.
    if m.environment.dequeue_every_s > 0.0 || m.tasks.iter().any(|t| t.delay_s > 0.0 || t.ttl_s.is_some()) {
        return false;
    }
    // A fire-and-forget child runs alongside the rest: it must not move the progress bar.
    let mut seen = vec![false; m.tasks.len()];
    let mut stack: Vec<TaskId> = Vec::new();
    for op in &m.ops {
        if let Op::Trigger { task, .. } = *op {
            stack.push(task);
        }
    }
    while let Some(t) = stack.pop() {
        if std::mem::replace(&mut seen[t as usize], true) {
            continue;
        }
        if m.tasks[t as usize].progress.is_some() {
            return false;
        }
        for op in &m.ops[m.program(t)] {
            if let Op::Trigger { task, .. } | Op::TriggerAndWait { task, .. } = *op {
                stack.push(task);
            }
        }
    }
    true
}

/// `mix(0, i)`, the key of Promise.all item i - 1, for the first items (the rest are computed).
const ITEM_KEYS: [u64; 65] = {
    let mut k = [0u64; 65];
    let mut i = 0;
    while i < k.len() {
        k[i] = mix(0, i as u64);
        i += 1;
    }
    k
};

#[inline]
fn item_key(i: u32) -> u64 {
    match ITEM_KEYS.get(i as usize) {
        Some(&k) => k,
        None => mix(0, i as u64),
    }
}

/// How an attempt ended, when, and the compute seconds it used.
#[derive(Clone, Copy)]
enum End {
    Ok,
    Threw { retryable: bool },
    OutOfMemory,
    TimedOut,
}

/// Evaluates workflow run `key` of `m` directly into `out`, adding into `tasks`; `false`
/// hands it back (with `tasks` as it was, `out` to be overwritten) for the event engine.
pub(super) fn simulate(
    m: &Model,
    key: u64,
    d: &mut DirectScratch,
    tasks: &mut [TaskAcc],
    out: &mut RunOutcome,
) -> bool {
    d.saved.clear();
    d.saved.extend_from_slice(tasks);
    d.inputs.clear();
    d.idem.clear();
    d.deferred.clear();
    d.warm.clear();
    d.granted = [f64::NEG_INFINITY; 7];
    d.base = [f64::NEG_INFINITY; 7];
    d.owner = 0;
    d.batch_items = 0;
    let mut irng = stream(mix(key, purpose::INPUT));
    for a in &m.inputs {
        d.inputs.push(a.dist.sample(&mut irng));
    }
    *out = EMPTY_OUTCOME;
    out.marks = m.marks_of(&d.inputs);
    let mut e = Direct { m, d, tasks, out, bar: 0.0, level: 0, root_done: false, runs: 0, forgot: false, steps: 0 };
    if e.evaluate(key).is_none() {
        e.tasks.clone_from_slice(&e.d.saved);
        return false;
    }
    e.out.cost_usd = e.out.compute_usd + e.out.invocation_usd;
    true
}

struct Direct<'a> {
    m: &'a Model,
    d: &'a mut DirectScratch,
    tasks: &'a mut [TaskAcc],
    out: &'a mut RunOutcome,
    bar: f64,
    level: u32,
    root_done: bool,
    /// Task runs triggered so far (the event engine's run count, while no fire-and-forget
    /// child has been triggered).
    runs: u32,
    /// A fire-and-forget child was triggered: from then on the run count is not the engine's.
    forgot: bool,
    steps: u64,
}

impl Direct<'_> {
    fn evaluate(&mut self, key: u64) -> Option<()> {
        let (mut last, _) =
            self.task_run(self.m.entry, self.m.tasks[self.m.entry as usize].machine, key, 0.0, true, 0, Trig::Entry)?;
        self.step(0)?;
        let mut i = 0;
        while i < self.d.deferred.len() {
            let f = self.d.deferred[i];
            i += 1;
            self.d.owner = i as u32;
            self.d.base = self.d.granted;
            // The engine adds each quantity up in time order. A fire-and-forget child is
            // evaluated after the runs before it, so it must also start after they ended
            // (its trigger only adds the fixed invocation price, in any order the same sum);
            // else the engine's order of additions is not this one: hand the run over.
            (last, _) =
                self.task_run(f.task, f.machine, f.key, f.t, false, 0, Trig::Forgotten { after: last, by: f })?;
        }
        self.step(0)?;
        self.limits_never_bound()
    }

    /// Did the run's task runs always find a free slot? Every task run of the workflow alive at
    /// once fitting in its queue and in the environment (and its batches in the batch rate
    /// limit's bucket) is enough; else the event engine decides who waits.
    fn limits_never_bound(&mut self) -> Option<()> {
        let m = self.m;
        let env = &m.environment;
        if env.batch_tokens.is_some_and(|b| self.d.batch_items as f64 > b.bucket) {
            return None;
        }
        self.d.queue_runs.clear();
        self.d.queue_runs.resize(m.queues.queues.len(), 0);
        let mut all = 0;
        for (t, (now, before)) in self.tasks.iter().zip(&self.d.saved).enumerate() {
            let n = now.runs - before.runs;
            all += n;
            self.d.queue_runs[m.queues.task_queue[t] as usize] += n;
        }
        let fits = all <= u64::from(env.cap())
            && self.d.queue_runs.iter().zip(&m.queues.queues).all(|(&n, q)| n <= u64::from(q.cap));
        fits.then_some(())
    }

    /// A task run of `preset` is granted a slot at `t`: does it start warm? As the engine's
    /// pool: the newest machine of the preset released by then and still warm. A machine
    /// released at `t` itself counts if it was released before the grant: by the runs of
    /// `owner` (whose order is the engine's) among the first `mark` released. `None`: a
    /// fire-and-forget child's grant or release that the main tree's order cannot place.
    fn grant_after(&mut self, preset: u8, t: f64, owner: u32, mark: u32) -> Option<bool> {
        let p = preset as usize;
        if self.d.owner > 0 && t <= self.d.base[p] {
            return None;
        }
        let mut best = usize::MAX;
        let mut best_r = f64::NEG_INFINITY;
        for (i, w) in self.d.warm.iter().enumerate() {
            if w.preset != preset || w.taken || w.until < t || w.r > t {
                continue;
            }
            if w.r == t && (w.owner != owner || i as u32 >= mark) {
                if w.owner != owner {
                    return None;
                }
                continue;
            }
            if w.r >= best_r {
                best = i;
                best_r = w.r;
            }
        }
        if t > self.d.granted[p] {
            self.d.granted[p] = t;
        }
        match self.d.warm.get_mut(best) {
            Some(w) => {
                w.taken = true;
                Some(true)
            }
            None => Some(false),
        }
    }

    /// [`Self::grant_after`] of a run of the runs being evaluated, after all they released.
    fn grant(&mut self, preset: u8, t: f64) -> Option<bool> {
        self.grant_after(preset, t, self.d.owner, self.d.warm.len() as u32)
    }

    /// A task run of `preset` gives its slot back at `r`: its machine stays warm.
    fn release(&mut self, preset: u8, r: f64) -> Option<()> {
        if self.d.owner > 0 && r <= self.d.base[preset as usize] {
            return None;
        }
        let owner = self.d.owner;
        self.d.warm.push(Released { r, until: r + self.m.keep_warm_s, preset, taken: false, owner });
        Some(())
    }

    /// The start latency of a start (`nth` 0) or resume `nth` of attempt `attempt` (0-based
    /// for a start: the attempts so far) of task run `key`, warm or cold, as `Engine::grant`.
    fn latency(&self, warm: bool, key: u64, attempt: u32, nth: u32) -> f64 {
        let d = if warm { &self.m.start_latency } else { &self.m.cold_start };
        start_latency_of(d, key, attempt, nth)
    }

    #[inline]
    fn step(&mut self, n: u64) -> Option<()> {
        self.steps += n;
        (self.steps <= MAX_STEPS).then_some(())
    }

    fn set_progress(&mut self, v: f64, now: f64) {
        if self.root_done || v <= self.bar {
            return;
        }
        // As `Engine::set_progress` (the workflow run arrived at 0).
        reach_levels(&mut self.out.progress, &mut self.level, v, now);
        self.bar = v;
    }

    #[inline]
    fn task_progress(&mut self, task: TaskId, frac: f64, now: f64) {
        if let Some((a, b)) = self.m.tasks[task as usize].progress {
            self.set_progress(a + (b - a) * frac, now);
        }
    }

    fn count(&self, c: u32, key: u64) -> u32 {
        draw_count(self.m, c, key, &self.d.inputs)
    }

    /// One task run on preset `preset` triggered at `t0` (`trig` says by what): its attempts
    /// and retries. Returns its end and status.
    #[allow(clippy::too_many_arguments)]
    fn task_run(
        &mut self,
        task: TaskId,
        preset: MachineId,
        key: u64,
        t0: f64,
        root: bool,
        depth: u32,
        trig: Trig,
    ) -> Option<(f64, Status)> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.runs += 1;
        let inv = self.m.invocation_usd;
        let acc = &mut self.tasks[task as usize];
        acc.runs += 1;
        acc.invocation_usd += inv;
        self.out.invocation_usd += inv;
        self.out.task_runs += 1;
        let t = &self.m.tasks[task as usize];
        let policy = t.retry;
        // Queued and granted at once (the limits never bind); a waiting parent then gives its
        // slot back, after the child took one.
        let warm = match trig {
            Trig::Forgotten { by, .. } => self.grant_after(preset, t0, by.owner, by.mark)?,
            _ => self.grant(preset, t0)?,
        };
        match trig {
            Trig::Waited { parent } => self.release(parent, t0)?,
            Trig::Forgotten { after, .. } if t0 + self.latency(warm, key, 0, 0) <= after => return None,
            _ => {}
        }
        let mut start = t0 + self.latency(warm, key, 0, 0);
        let (mut machine, mut upgraded) = (preset, false);
        let (mut attempt, mut t_start) = (0u32, start);
        let mut idem = NONE;
        loop {
            attempt += 1;
            self.step(1)?;
            if attempt == 1 {
                t_start = start;
                self.tasks[task as usize].queued_s += start - t0;
            }
            self.tasks[task as usize].attempts += 1;
            self.out.attempts += 1;
            if attempt == 1 {
                self.task_progress(task, 0.0, start);
            }
            let a = Attempt { task, key, akey: attempt_key(key, attempt), attempt, machine, depth };
            let (how, now, usage) = self.attempt(&a, start, &mut idem)?;
            // As `Engine::end_attempt`.
            let usd = usage * self.m.usd_per_s[machine as usize];
            let acc = &mut self.tasks[task as usize];
            acc.usage_s += usage;
            acc.compute_usd += usd;
            if matches!(how, End::OutOfMemory) {
                acc.oom += 1;
            }
            acc.attempt_on(machine, usage, usd, matches!(how, End::OutOfMemory));
            self.out.usage_s += usage;
            self.out.compute_usd += usd;
            if root {
                self.out.root_usage_s += usage;
            }
            let status = match how {
                End::Ok => Status::Completed,
                End::TimedOut => Status::TimedOut,
                End::Threw { retryable } => {
                    if retryable && attempt < policy.max_attempts {
                        let delay = retry_delay(&policy, key, attempt);
                        start = if delay < platform::WARM_RETRY_S {
                            // The same warm machine and slot.
                            now + delay
                        } else {
                            // Re-queued: the slot goes back, and is granted again after the delay.
                            self.release(machine, now)?;
                            let at = now + delay;
                            let warm = self.grant(machine, at)?;
                            at + self.latency(warm, key, attempt, 0)
                        };
                        continue;
                    }
                    Status::Failed
                }
                End::OutOfMemory => match policy.oom_machine {
                    Some(big) if !upgraded && attempt < policy.max_attempts => {
                        let delay = retry_delay(&policy, key, attempt);
                        // Re-queued on the bigger machine: the small one's slot goes back first.
                        self.release(machine, now)?;
                        machine = big;
                        upgraded = true;
                        let at = now + delay;
                        let warm = self.grant(machine, at)?;
                        start = at + self.latency(warm, key, attempt, 0);
                        continue;
                    }
                    _ => Status::Crashed,
                },
            };
            // As `Engine::finish_run` (a run that got here has started, so its start time is
            // finite).
            let acc = &mut self.tasks[task as usize];
            acc.statuses[status as usize] += 1;
            acc.finished_on[machine as usize] += 1;
            acc.execution_s += now - t_start;
            let end = self.finish(task, status, now, root);
            self.release(machine, now)?;
            return Some(end);
        }
    }

    fn finish(&mut self, task: TaskId, status: Status, now: f64, root: bool) -> (f64, Status) {
        if status == Status::Completed {
            self.task_progress(task, 1.0, now);
        }
        if root {
            if status == Status::Completed {
                self.set_progress(100.0, now);
            }
            self.root_done = true;
            self.out.duration_s = now;
            self.out.status = status;
        }
        self.out.makespan_s = self.out.makespan_s.max(now);
        (now, status)
    }
}

/// What triggered a task run, for [`Direct::task_run`].
#[derive(Clone, Copy)]
enum Trig {
    /// The app: the workflow's entry run.
    Entry,
    /// A `triggerAndWait` of a parent on `parent`'s preset, which gives its slot back once the
    /// child has one.
    Waited { parent: u8 },
    /// A fire-and-forget `trigger` (`by`), evaluated after the runs that ended by `after`: it
    /// must start after them.
    Forgotten { after: f64, by: Deferred },
}

struct Attempt {
    task: TaskId,
    key: u64,
    akey: u64,
    attempt: u32,
    machine: u8,
    depth: u32,
}

/// The maxDuration deadline of an executing stretch that began at `since` with `usage`
/// seconds already used, as the event engine computes it.
#[inline]
fn deadline(max: Option<f64>, since: f64, usage: f64) -> f64 {
    match max {
        Some(max) => since + (max - usage).max(0.0),
        None => f64::INFINITY,
    }
}

/// An attempt's clock: the time, and what maxDuration needs. The attempt executes from
/// `since` with `usage` seconds executed before; `due` is when that stretch would reach
/// maxDuration. `pend` is the time of the engine's pending deadline event: the engine keeps
/// one event per attempt, which fires where it was scheduled and is pushed again at the true
/// deadline when the attempt paused since (and is dropped when it fires during a pause), so
/// an attempt times out at `max(pend, due)`. The two differ only by rounding (after a pause of
/// no length), but the results must be the engine's to the bit.
struct Clock {
    now: f64,
    since: f64,
    usage: f64,
    max: Option<f64>,
    due: f64,
    pend: f64,
    /// The deadline of the current stretch: `max(pend, due)`.
    dl: f64,
}

impl Clock {
    fn new(start: f64, max: Option<f64>) -> Clock {
        let due = deadline(max, start, 0.0);
        Clock { now: start, since: start, usage: 0.0, max, due, pend: due, dl: due }
    }

    /// Seconds executed by time `t` of the current stretch.
    #[inline]
    fn used(&self, t: f64) -> f64 {
        self.usage + (t - self.since)
    }

    /// The attempt ends at its deadline.
    fn timeout(&self) -> (End, f64, f64) {
        (End::TimedOut, self.dl, self.used(self.dl))
    }

    /// Checkpointed now: executing time stops counting. A deadline event that came due while
    /// executing was pushed again at the stretch's true deadline.
    fn pause(&mut self) {
        self.usage += self.now - self.since;
        if self.pend <= self.now {
            self.pend = self.due;
        }
    }

    /// Executing again from now. A deadline event that came due during the pause (or at this
    /// instant: it was scheduled first) was dropped, and a new one is pushed.
    fn resume(&mut self) {
        self.since = self.now;
        self.due = deadline(self.max, self.since, self.usage);
        if self.pend <= self.now {
            self.pend = self.due;
        }
        self.dl = self.pend.max(self.due);
    }

    /// Executes until `t`. `Some(false)`: the deadline came first; `None`: a tie with it.
    #[inline]
    fn run_to(&mut self, t: f64) -> Option<bool> {
        if deadline_first(self.dl, t)? {
            return Some(false);
        }
        self.now = t;
        Some(true)
    }
}

impl Direct<'_> {
    /// wait.for(`d`) in attempt `a` on clock `c`: over 5 s checkpointed (paused: neither billed
    /// nor counted toward maxDuration), else executing. A checkpointed wait gives the slot back
    /// 60 s in (at 60 s exactly too: that event was scheduled first); the run then queues for a
    /// slot as it wakes and goes on after a start latency (resume `resumes` of the attempt).
    /// `Some(false)`: the deadline came first; `None`: a tie.
    fn wait(&mut self, c: &mut Clock, a: &Attempt, resumes: &mut u32, d: f64) -> Option<bool> {
        if d <= platform::CHECKPOINT_WAIT_S {
            return c.run_to(c.now + d);
        }
        c.pause();
        let (release, wake) = (c.now + SLOT_RELEASE_S, c.now + d);
        c.now = wake;
        if release <= wake {
            self.release(a.machine, release)?;
            c.now = self.resume_at(a, resumes, wake)?;
        }
        c.resume();
        Some(true)
    }

    /// Attempt `a`, paused without a slot, wakes at `t`: it is granted one at once and goes on
    /// after a start latency (resume `resumes + 1` of the attempt). Returns when it goes on.
    fn resume_at(&mut self, a: &Attempt, resumes: &mut u32, t: f64) -> Option<f64> {
        *resumes += 1;
        let warm = self.grant(a.machine, t)?;
        Some(t + self.latency(warm, a.key, a.attempt, *resumes))
    }
}

/// The `retry.onThrow` delay after try `tries` of work step `pc` failed, or `None` when the
/// error escapes (not retryable, no retry.onThrow, or its tries used up), as
/// `Engine::work_failed`.
fn on_throw_delay(w: &WorkSpec, akey: u64, pc: u32, tries: u32, ikey: u64) -> Option<f64> {
    let policy = w.retry.filter(|p| w.retryable && tries + 1 < p.max_attempts)?;
    let mut rng = stream(step_key(akey, purpose::RETRY_DELAY, pc, tries, ikey));
    Some(policy.delay_s(tries + 1, rng.random::<f64>()))
}

/// Does the deadline `dl` come before an event at `t`? `None` when they are at the same
/// instant: the engine's order then depends on when each was scheduled.
#[inline]
fn deadline_first(dl: f64, t: f64) -> Option<bool> {
    if dl == t { None } else { Some(dl < t) }
}

impl Direct<'_> {
    /// Key of a child triggered by step `pc` of the attempt's root fiber, as
    /// `Engine::child_key`.
    fn child_key(a: &Attempt, pc: u32, item: u64, idempotent: bool) -> u64 {
        let attempt = if idempotent { 0 } else { a.attempt as u64 };
        mix3(a.key ^ purpose::CHILD, attempt << 32 | pc as u64, 0, item)
    }

    /// One attempt from `start`, its root fiber walking the task's program: how it ended,
    /// when, and the seconds it was executing. `idem` is the run's list of idempotency keys.
    fn attempt(&mut self, a: &Attempt, start: f64, idem: &mut u32) -> Option<(End, f64, f64)> {
        let m = self.m;
        let t = &m.tasks[a.task as usize];
        let max = t.max_duration_s;
        let mut c = Clock::new(start, max);
        let mut pc = t.entry_pc;
        // Resumes of the attempt after giving its slot back (each draws its own latency).
        let mut resumes = 0u32;
        // Steps are the ops that take time (work tries, waits, items, units, triggered runs),
        // each at most a few events of the engine; branches and progress marks are free.
        loop {
            match m.ops[pc as usize] {
                Op::Work { spec, prog } => {
                    let w = &m.works[spec as usize];
                    let mut tries = 0u32;
                    loop {
                        // Counted, checked at the next attempt or count (tries are bounded).
                        self.steps += 1;
                        let mut rng = stream(step_key(a.akey, purpose::WORK, pc, tries, 0));
                        let scale = w.scale[a.machine as usize];
                        let mut ticks = 0;
                        let dur = match w.duration {
                            DurSpec::Dist(d) => m.dists[d as usize].sample(&mut rng) * scale,
                            DurSpec::PerUnit { count, each } => {
                                let n = self.count(count, mix(a.key, mix(pc as u64, 0)));
                                self.step(n as u64)?;
                                let report = prog.is_some() && t.progress.is_some();
                                let stride = n.div_ceil(100).max(1);
                                let each = &m.dists[each as usize];
                                let mut x = 0.0;
                                self.d.ticks.clear();
                                for u in 1..=n {
                                    x += each.sample(&mut rng) * scale;
                                    if report && (u % stride == 0 || u == n) {
                                        self.d.ticks.push((c.now + x, u));
                                    }
                                }
                                ticks = n;
                                x
                            }
                        };
                        if let Some(md) = w.memory_mb {
                            let mem = m.dists[md as usize].sample(&mut rng);
                            if t.base_memory_mb + 0.0 + mem > platform::ram_mb(a.machine) {
                                return Some((End::OutOfMemory, c.now, c.used(c.now)));
                            }
                        }
                        let fail = w.failure > 0.0 && rng.random::<f64>() < w.failure;
                        let end = if fail && w.fail_uniform { c.now + dur * rng.random::<f64>() } else { c.now + dur };
                        if ticks > 0 {
                            // Unit ticks up to the end (those due with it come first: they were
                            // scheduled before it) and before the deadline.
                            let stop = end.min(c.dl);
                            for i in 0..self.d.ticks.len() {
                                let (tt, u) = self.d.ticks[i];
                                if tt > stop {
                                    break;
                                }
                                if tt == c.dl {
                                    return None;
                                }
                                self.task_progress(a.task, prog.lo + (prog.hi - prog.lo) * u as f64 / ticks as f64, tt);
                            }
                        }
                        if !c.run_to(end)? {
                            return Some(c.timeout());
                        }
                        if fail {
                            // retry.onThrow: an in-process (billed) delay, then the block again.
                            if let Some(delay) = on_throw_delay(w, a.akey, pc, tries, 0) {
                                tries += 1;
                                if !c.run_to(c.now + delay)? {
                                    return Some(c.timeout());
                                }
                                continue;
                            }
                            return Some((End::Threw { retryable: w.retryable }, c.now, c.used(c.now)));
                        }
                        pc += 1;
                        break;
                    }
                }
                Op::Wait { dur, .. } => {
                    self.steps += 1;
                    let mut rng = stream(step_key(a.akey, purpose::WAIT, pc, 0, 0));
                    let d = m.dists[dur as usize].sample(&mut rng);
                    if !self.wait(&mut c, a, &mut resumes, d)? {
                        return Some(c.timeout());
                    }
                    pc += 1;
                }
                Op::If { cond, else_pc } => {
                    pc = if m.conds[cond as usize].eval(&self.d.inputs) { pc + 1 } else { else_pc };
                }
                Op::Jump { pc: to } => pc = to,
                Op::Progress { frac } => {
                    self.task_progress(a.task, frac, c.now);
                    pc += 1;
                }
                Op::Parallel { count, cont, .. } => {
                    let n = self.count(count, mix(a.key, mix(pc as u64, 0)));
                    if n > 0 {
                        self.step(n as u64)?;
                        match self.parallel(a, pc, n, c.dl, c.now)? {
                            Ok(t) => c.now = t,
                            Err((how, t)) => return Some((how, t, c.used(t))),
                        }
                    }
                    pc = cont;
                }
                Op::TriggerAndWait { task, idempotent, unwrap, machine, .. } => {
                    let ikey = mix(0, 0);
                    let mut found = NONE;
                    if idempotent {
                        let mut e = *idem;
                        while e != NONE {
                            let x = self.d.idem[e as usize];
                            if x.pc == pc && x.ikey == ikey {
                                found = e;
                                break;
                            }
                            e = x.next;
                        }
                    }
                    if found != NONE && self.d.idem[found as usize].completed {
                        pc += 1;
                        continue;
                    }
                    let key = if found != NONE {
                        // A failed child runs again under the same idempotency key; its random key
                        // is the engine's, which counts the task runs triggered so far.
                        if self.forgot {
                            return None;
                        }
                        mix(Self::child_key(a, pc, 0, true), self.runs as u64)
                    } else {
                        Self::child_key(a, pc, 0, idempotent)
                    };
                    if idempotent && found == NONE {
                        self.d.idem.push(Idem { pc, ikey, completed: false, next: *idem });
                        found = (self.d.idem.len() - 1) as u32;
                        *idem = found;
                    }
                    // Checkpointed while the child runs, its slot given back; woken by the
                    // child's end, it queues for a slot again.
                    c.pause();
                    let trig = Trig::Waited { parent: a.machine };
                    let preset = machine.unwrap_or(m.tasks[task as usize].machine);
                    let (end, status) = self.task_run(task, preset, key, c.now, false, a.depth + 1, trig)?;
                    if found != NONE {
                        self.d.idem[found as usize].completed = status == Status::Completed;
                    }
                    c.now = self.resume_at(a, &mut resumes, end)?;
                    c.resume();
                    if status != Status::Completed && unwrap {
                        return Some((End::Threw { retryable: true }, c.now, c.used(c.now)));
                    }
                    pc += 1;
                }
                Op::Trigger { task, count, idempotent, batch, machine } => {
                    let n = self.count(count, mix(a.key, mix(pc as u64, 0)));
                    self.step(n as u64)?;
                    if idempotent && n > 0 {
                        // A retry reaching a keyed trigger again: whether each child is
                        // triggered again depends on how far it got by now, and children are
                        // evaluated only after the entry run. The event engine decides. (One
                        // entry marks the step as reached.)
                        let mut e = *idem;
                        while e != NONE {
                            let x = self.d.idem[e as usize];
                            if x.pc == pc {
                                return None;
                            }
                            e = x.next;
                        }
                        self.d.idem.push(Idem { pc, ikey: 0, completed: false, next: *idem });
                        *idem = (self.d.idem.len() - 1) as u32;
                    }
                    if batch {
                        self.d.batch_items += u64::from(n);
                    }
                    for i in 0..n {
                        let item = i as u64 + 1;
                        let key = Self::child_key(a, pc, item, idempotent);
                        let (owner, mark) = (self.d.owner, self.d.warm.len() as u32);
                        let machine = machine.unwrap_or(m.tasks[task as usize].machine);
                        self.d.deferred.push(Deferred { task, machine, key, t: c.now, owner, mark });
                        self.forgot = true;
                    }
                    pc += 1;
                }
                Op::Poll { every, success, max_checks, check, .. } => {
                    // As `Engine::poll_wait` and `Engine::poll_check`: wait (checkpointed when over
                    // 5 s), then the check's own time if any (executing), then the check.
                    let mut checks = 0u32;
                    loop {
                        self.steps += 1;
                        let key = step_key(a.akey, mix(purpose::POLL, checks as u64), pc, 0, 0);
                        let d = m.dists[every as usize].sample(&mut stream(key));
                        if !self.wait(&mut c, a, &mut resumes, d)? {
                            return Some(c.timeout());
                        }
                        // The check's duration and its outcome, each from a stream of its own.
                        let ckey = step_key(a.akey, mix(purpose::POLL, checks as u64 + 1_000_000), pc, 0, 0);
                        if check != NONE {
                            let dkey = step_key(a.akey, mix(purpose::POLL, checks as u64 + 2_000_000), pc, 0, 0);
                            if !c.run_to(c.now + m.dists[check as usize].sample(&mut stream(dkey)))? {
                                return Some(c.timeout());
                            }
                        }
                        checks += 1;
                        if stream(ckey).random::<f64>() < success {
                            break;
                        }
                        if checks >= max_checks {
                            // The external job never finished: the step throws (retryable).
                            return Some((End::Threw { retryable: true }, c.now, c.used(c.now)));
                        }
                    }
                    pc += 1;
                }
                Op::End => return Some((End::Ok, c.now, c.used(c.now))),
                Op::EndItem | Op::BatchTriggerAndWait { .. } => return None,
            }
        }
    }
}

/// Promise.all items sorted by [`sort_network`] (more go through the general loop).
const SORTED: usize = 8;

/// Sorts 8 times ascending without branches: Knuth's 19-comparator network (six rounds of
/// compare-exchanges, each a min and a max), on locals so that it compiles to `minsd` and
/// `maxsd` in registers. (Through an array of index pairs it compiled to a loop of branches
/// and stores.)
#[inline(always)]
fn sort_network(t: &mut [f64; SORTED]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *t;
    macro_rules! ce {
        ($x:ident, $y:ident) => {
            let (lo, hi) = if $y < $x { ($y, $x) } else { ($x, $y) };
            $x = lo;
            $y = hi;
        };
    }
    ce!(a, c);
    ce!(b, d);
    ce!(e, g);
    ce!(f, h);
    ce!(a, e);
    ce!(b, f);
    ce!(c, g);
    ce!(d, h);
    ce!(a, b);
    ce!(c, d);
    ce!(e, f);
    ce!(g, h);
    ce!(c, e);
    ce!(d, f);
    ce!(b, e);
    ce!(d, g);
    ce!(b, c);
    ce!(d, e);
    ce!(f, g);
    *t = [a, b, c, d, e, f, g, h];
}

impl Direct<'_> {
    /// Promise.all (the op at `pc`) over `n` items of its plain-work body, at most its `limit`
    /// at once, from `now`, the attempt executing throughout (deadline `dl`). `Ok(t)`: all items done
    /// at `t`; `Err`: the attempt ended (an item threw, or maxDuration).
    fn parallel(&mut self, a: &Attempt, pc: u32, n: u32, dl: f64, now: f64) -> Option<Result<f64, (End, f64)>> {
        let Op::Parallel { limit, prog, .. } = self.m.ops[pc as usize] else { return None };
        let body = pc + 1;
        self.d.items.clear();
        let first = n.min(limit);
        if first > MAX_LIMIT {
            return None;
        }
        for i in 0..first {
            let it = self.item(a, body, item_key(i + 1), now)?;
            self.d.items.push(it);
        }
        if first == n && n as usize <= SORTED {
            // All items at once and none threw: the events are the items' ends in time order,
            // so sort them (without branches: a network) instead of picking each next one.
            // With none at or past the deadline the loop below would do just this.
            let mut t = [f64::INFINITY; SORTED];
            let mut threw = false;
            for (x, it) in t.iter_mut().zip(&self.d.items) {
                *x = it.t;
                threw |= it.threw;
            }
            sort_network(&mut t);
            let last = t[n as usize - 1];
            if !threw && last < dl {
                if prog.is_some() {
                    for (done, &e) in t.iter().take(n as usize).enumerate() {
                        let done = done as u32 + 1;
                        self.task_progress(a.task, prog.lo + (prog.hi - prog.lo) * done as f64 / n as f64, e);
                    }
                }
                return Some(Ok(last));
            }
        }
        let (mut started, mut done) = (first, 0);
        loop {
            // The next item event; a tie where order matters goes to the event engine.
            let items = &self.d.items;
            let mut j = 0;
            for i in 1..items.len() {
                if items[i].t < items[j].t {
                    j = i;
                }
            }
            let e = items[j];
            if items.iter().enumerate().any(|(i, x)| i != j && x.t == e.t && (x.threw || e.threw)) {
                return None;
            }
            if deadline_first(dl, e.t)? {
                return Some(Err((End::TimedOut, dl)));
            }
            if e.threw {
                // Promise.all rejects at once: the attempt throws.
                return Some(Err((End::Threw { retryable: e.retryable }, e.t)));
            }
            done += 1;
            if prog.is_some() {
                self.task_progress(a.task, prog.lo + (prog.hi - prog.lo) * done as f64 / n as f64, e.t);
            }
            if done == n {
                return Some(Ok(e.t));
            }
            if started < n {
                // The freed place takes the next item at once.
                self.d.items[j] = self.item(a, body, item_key(started + 1), e.t)?;
                started += 1;
            } else {
                self.d.items.swap_remove(j);
            }
        }
    }

    /// One Promise.all item from `now`: its end, or when and how it throws. (Inline: returned
    /// through memory, its result stalled the caller.)
    #[inline(always)]
    fn item(&mut self, a: &Attempt, body: u32, ikey: u64, mut now: f64) -> Option<Item> {
        let m = self.m;
        let mut pc = body;
        loop {
            self.steps += 1;
            let Op::Work { spec, .. } = m.ops[pc as usize] else {
                return Some(Item { t: now, threw: false, retryable: false });
            };
            let w = &m.works[spec as usize];
            let DurSpec::Dist(d) = w.duration else { return None };
            let mut tries = 0u32;
            loop {
                let mut rng = stream(step_key(a.akey, purpose::WORK, pc, tries, ikey));
                let dur = m.dists[d as usize].sample(&mut rng) * w.scale[a.machine as usize];
                let fail = w.failure > 0.0 && rng.random::<f64>() < w.failure;
                let end = if fail && w.fail_uniform { now + dur * rng.random::<f64>() } else { now + dur };
                now = end;
                if !fail {
                    break;
                }
                if let Some(delay) = on_throw_delay(w, a.akey, pc, tries, ikey) {
                    tries += 1;
                    now += delay;
                    self.step(1)?;
                    continue;
                }
                return Some(Item { t: now, threw: true, retryable: w.retryable });
            }
            pc += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_sorts_every_input() {
        // Zero-one principle: a comparator network that sorts every 0/1 input sorts all inputs.
        for bits in 0u32..1 << SORTED {
            let mut t = [0.0; SORTED];
            for (i, x) in t.iter_mut().enumerate() {
                *x = (bits >> i & 1) as f64;
            }
            sort_network(&mut t);
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "{bits:08b} -> {t:?}");
        }
        let mut t = [3.0, f64::INFINITY, 1.0, 2.0, 1.0, 0.5, f64::INFINITY, 7.0];
        sort_network(&mut t);
        assert_eq!(t, [0.5, 1.0, 1.0, 2.0, 3.0, 7.0, f64::INFINITY, f64::INFINITY]);
    }
}
