//! Design warnings: designs that load and simulate, but that Trigger.dev punishes. Each is a
//! [`Severity::Warning`] located at the key to change, saying why and what to do instead.
//!
//! The checks read the compiled ops (what runs where: the enclosing `parallel`s, the task's
//! machine and retry policy, the children) and find each step's place in the file through the
//! locations the compiler recorded. They run only on a scenario without errors.
//!
//! - `triggerAndWait` / `batchTriggerAndWait` inside a `parallel` that runs items at once
//!   (Promise.all around a wait; `repeat` and `limit: 1` run them one after the other).
//! - A `wait` or a poll's `every` that can be under 60 s: the run keeps its concurrency slot.
//! - A `memoryMb` that can take the attempt past its preset's RAM, with no usable
//!   `retry.outOfMemory`.
//! - A task that retries and triggers children without `idempotencyKey`, where a retry can
//!   come after a child was triggered: the retry triggers (and pays for) it again.
//! - A task that waits on a child in its own named queue with a `concurrencyLimit`: parents
//!   and children compete for its slots (a deadlock where a waiting run keeps its slot).
//!
//! - A fan-out whose calls to a service at once can exceed its limit (the bucket, the window's
//!   quota, its concurrency or its tokens per minute), and a load whose mean offered calls or
//!   tokens exceed a service's rate (or, by Little's law, its concurrency).
//!
//! One warning needs a simulation (a `maxDuration` below the task's p99 compute time): it is
//! made from the simulation's per-task totals by `analysis::simulated_warnings`. (Batches
//! over 1,000 items are errors, not warnings.)

use super::context::Compiler;
use super::values::{lower, reach, upper};
use crate::error::Severity;
use crate::format;
use crate::model::{Count, DurSpec, Model, NONE, Op, Refill, TaskId};
use crate::platform::{self, MachineId, PRESETS};

/// Trigger.dev releases a waiting run's concurrency slot when it checkpoints the run, about
/// 60 s into a wait (PR #4405); a shorter wait keeps it.
const SLOT_RELEASE_S: f64 = 60.0;

pub(super) fn run(cx: &mut Compiler, m: &Model) {
    let p = Programs::new(m);
    promise_all_around_waits(cx, m, &p);
    short_waits(cx, m);
    memory(cx, m, &p);
    retried_children(cx, m, &p);
    same_queue(cx, m, &p);
    services(cx, m, &p);
}

/// Each op's task and the `parallel`s around it.
struct Programs {
    /// Task of each op.
    task: Vec<TaskId>,
    /// pcs of the `Parallel` ops enclosing each op, outermost first.
    parents: Vec<Vec<u32>>,
    /// The `branch` arms enclosing each op: (branch, arm).
    arms: Vec<Vec<(u32, u32)>>,
    /// Per task: can one of its runs end other than COMPLETED?
    can_fail: Vec<bool>,
    /// Per task: the smallest preset (by memory) its runs can start on: its own, or a trigger
    /// step's `machine:`.
    preset: Vec<MachineId>,
}

impl Programs {
    fn new(m: &Model) -> Self {
        let n = m.ops.len();
        let mut task = vec![0; n];
        let mut parents = vec![Vec::new(); n];
        for t in 0..m.tasks.len() {
            let mut stack: Vec<(u32, u32)> = Vec::new();
            for pc in m.program(t as TaskId) {
                while stack.last().is_some_and(|&(_, cont)| cont as usize <= pc) {
                    stack.pop();
                }
                task[pc] = t as TaskId;
                parents[pc] = stack.iter().map(|&(q, _)| q).collect();
                if let Op::Parallel { cont, .. } = m.ops[pc] {
                    stack.push((pc as u32, cont));
                }
            }
        }
        let mut arms = vec![Vec::new(); n];
        let mut branches = 0;
        for t in 0..m.tasks.len() {
            let r = m.program(t as TaskId);
            mark_arms(m, r.start, r.end, &[], &mut arms, &mut branches);
        }
        let preset = start_presets(m);
        let mut p = Programs { task, parents, arms, can_fail: vec![false; m.tasks.len()], preset };
        // A task can fail if one of its steps can throw, it can time out, or a child it waits
        // on (unwrapped) can fail: iterate to the fixpoint (waiting edges have no cycle).
        for _ in 0..=m.tasks.len() {
            let mut changed = false;
            for t in 0..m.tasks.len() {
                let fails =
                    m.tasks[t].max_duration_s.is_some() || m.program(t as TaskId).any(|pc| p.throws(m, pc, false));
                if fails != p.can_fail[t] {
                    p.can_fail[t] = fails;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        p
    }

    /// Can the ops at `a` and `b` both run in one attempt (not in two arms of one branch)?
    fn together(&self, a: usize, b: usize) -> bool {
        !self.arms[a].iter().any(|(br, arm)| self.arms[b].iter().any(|(br2, arm2)| br == br2 && arm != arm2))
    }

    /// Items of the enclosing `parallel`s that can run at once.
    fn at_once(&self, m: &Model, pc: usize) -> f64 {
        self.parents[pc]
            .iter()
            .map(|&q| match m.ops[q as usize] {
                Op::Parallel { count, limit, .. } => count_reach(m, count).min(f64::from(limit)),
                _ => 1.0,
            })
            .product()
    }

    /// Peak memory of the attempt while the work op at `pc` runs, MB (`None` without memoryMb).
    fn peak_mb(&self, m: &Model, pc: usize) -> Option<f64> {
        let Op::Work { spec, .. } = m.ops[pc] else { return None };
        let d = m.works[spec as usize].memory_mb?;
        let t = &m.tasks[self.task[pc] as usize];
        Some(t.base_memory_mb + reach(&m.dists[d as usize]) * self.at_once(m, pc))
    }

    /// Can the op at `pc` throw? `retried`: only errors that the task retries (not
    /// AbortTaskRunError, and out of memory only with an out-of-memory retry).
    fn throws(&self, m: &Model, pc: usize, retried: bool) -> bool {
        let t = &m.tasks[self.task[pc] as usize];
        match m.ops[pc] {
            Op::Work { spec, .. } => {
                let w = &m.works[spec as usize];
                let fails = w.failure > 0.0 && (w.retryable || !retried);
                let oom =
                    self.peak_mb(m, pc).is_some_and(|p| p > platform::ram_mb(self.preset[self.task[pc] as usize]))
                        && (!retried || t.retry.oom_machine.is_some());
                fails || oom
            }
            Op::Poll { success, .. } => success < 1.0,
            Op::TriggerAndWait { task, unwrap, .. } | Op::BatchTriggerAndWait { task, unwrap, .. } => {
                unwrap && self.can_fail[task as usize]
            }
            _ => false,
        }
    }
}

/// Per task, the smallest preset (by memory) one of its runs can start on: the task's own
/// preset where the entry or a trigger step without `machine:` starts it, and each trigger
/// step's `machine:` for it.
fn start_presets(m: &Model) -> Vec<MachineId> {
    let mut own = vec![false; m.tasks.len()];
    own[m.entry as usize] = true;
    let mut smallest: Vec<Option<MachineId>> = vec![None; m.tasks.len()];
    for op in &m.ops {
        let (Op::TriggerAndWait { task, machine, .. }
        | Op::Trigger { task, machine, .. }
        | Op::BatchTriggerAndWait { task, machine, .. }) = *op
        else {
            continue;
        };
        match machine {
            None => own[task as usize] = true,
            Some(x) => {
                let s = &mut smallest[task as usize];
                if s.is_none_or(|y| platform::ram_mb(x) < platform::ram_mb(y)) {
                    *s = Some(x);
                }
            }
        }
    }
    m.tasks
        .iter()
        .enumerate()
        .map(|(i, t)| match smallest[i] {
            Some(x) if !own[i] || platform::ram_mb(x) < platform::ram_mb(t.machine) => x,
            _ => t.machine,
        })
        .collect()
}

/// Records the `branch` arms around the ops of `start..end`. A branch compiles to, per arm
/// with a condition, `If { else_pc }`, the arm's ops and `Jump { end }` (at `else_pc - 1`),
/// then the `otherwise` arm's ops up to `end`.
fn mark_arms(m: &Model, start: usize, end: usize, path: &[(u32, u32)], arms: &mut [Vec<(u32, u32)>], next: &mut u32) {
    let jump_to = |j: usize| match m.ops.get(j) {
        Some(Op::Jump { pc }) => Some(*pc as usize),
        _ => None,
    };
    let mut q = start;
    while q < end {
        match m.ops[q] {
            Op::If { else_pc, .. }
                if (q + 1..=end).contains(&(else_pc as usize))
                    && jump_to(else_pc as usize - 1).is_some_and(|b| b <= end && b >= else_pc as usize) =>
            {
                let b = *next;
                *next += 1;
                let branch_end = jump_to(else_pc as usize - 1).unwrap_or(end);
                let (mut k, mut arm, mut e) = (q, 0u32, else_pc as usize);
                loop {
                    let mut inner = path.to_vec();
                    inner.push((b, arm));
                    arms[k] = inner.clone();
                    mark_arms(m, k + 1, e, &inner, arms, next);
                    arm += 1;
                    k = e;
                    match m.ops.get(k) {
                        Some(Op::If { else_pc, .. })
                            if k < branch_end
                                && (k + 1..=branch_end).contains(&(*else_pc as usize))
                                && jump_to(*else_pc as usize - 1) == Some(branch_end) =>
                        {
                            e = *else_pc as usize;
                        }
                        _ => break,
                    }
                }
                // The otherwise arm, if any.
                if k < branch_end {
                    let mut inner = path.to_vec();
                    inner.push((b, arm));
                    mark_arms(m, k, branch_end, &inner, arms, next);
                }
                q = branch_end.max(q + 1);
            }
            Op::Parallel { cont, .. } if (q + 1..=end).contains(&(cont as usize)) => {
                arms[q] = path.to_vec();
                mark_arms(m, q + 1, cont as usize, path, arms, next);
                q = cont as usize;
            }
            _ => {
                arms[q] = path.to_vec();
                q += 1;
            }
        }
    }
}

/// Most items a count gives, but once in a billion draws.
fn count_reach(m: &Model, c: u32) -> f64 {
    match m.counts[c as usize] {
        Count::Fixed(n) => f64::from(n),
        Count::Attr(a) => reach(&m.inputs[a as usize].dist).floor(),
        Count::Dist(d) => reach(&m.dists[d as usize]).round(),
    }
}

fn warn(cx: &mut Compiler, pc: usize, field: &str, message: String, help: String) {
    let Some(l) = cx.locs.iter().find(|l| l.pc as usize == pc && l.field == field) else { return };
    let (line, column, key) = (l.line, l.column, l.key.clone());
    cx.push(Severity::Warning, line, column, &key, message, Some(help));
}

/// `Promise.all` around `triggerAndWait` / `batchTriggerAndWait`: waits that can be in flight
/// together. Inside `repeat` or a `parallel` with `limit: 1` (a loop, p-limit(1)) they run one
/// after the other, which Trigger.dev supports.
fn promise_all_around_waits(cx: &mut Compiler, m: &Model, p: &Programs) {
    for pc in 0..m.ops.len() {
        if p.at_once(m, pc) <= 1.0 {
            continue;
        }
        let (message, help) = match m.ops[pc] {
            Op::TriggerAndWait { task, .. } => (
                format!(
                    "triggerAndWait inside `parallel` (Promise.all around triggerAndWait): Trigger.dev does not support waiting on runs in parallel this way (`{}`)",
                    m.tasks[task as usize].name
                ),
                "trigger the children with one batchTriggerAndWait (count: the number of items) and wait for them together",
            ),
            Op::BatchTriggerAndWait { .. } => (
                "batchTriggerAndWait inside `parallel` (Promise.all around batchTriggerAndWait): Trigger.dev does not support waiting on batches in parallel this way".to_owned(),
                "send one batchTriggerAndWait with all the items (at most 1,000) instead of one batch per item",
            ),
            _ => continue,
        };
        warn(cx, pc, "step", message, help.to_owned());
    }
}

/// A `wait.for` or a poll interval that can be under 60 s.
fn short_waits(cx: &mut Compiler, m: &Model) {
    for pc in 0..m.ops.len() {
        let (d, field) = match m.ops[pc] {
            Op::Wait { dur, .. } => (dur, "wait"),
            Op::Poll { every, .. } => (every, "every"),
            _ => continue,
        };
        let lo = lower(&m.dists[d as usize]);
        if lo >= SLOT_RELEASE_S {
            continue;
        }
        let fixed = upper(&m.dists[d as usize]) == lo;
        let len = if fixed { format::exact_secs(lo) } else { format!("as short as {}", format::exact_secs(lo)) };
        let (message, help) = if field == "wait" {
            (
                format!(
                    "this wait.for is {len}, under 60 s: the run keeps its concurrency slot through it (Trigger.dev releases the slot when it checkpoints a waiting run, about 60 s in)"
                ),
                "fine while concurrency is plentiful; to free the slot, wait 60 s or more",
            )
        } else {
            (
                format!(
                    "the poll waits {len} between checks, under 60 s: the run keeps its concurrency slot for the whole loop (Trigger.dev releases the slot about 60 s into a wait)"
                ),
                "fine while concurrency is plentiful; to free the slot between checks, poll every 60 s or more",
            )
        };
        warn(cx, pc, field, message, help.to_owned());
    }
}

/// `memoryMb` that can pass the preset's RAM with no out-of-memory retry that helps.
fn memory(cx: &mut Compiler, m: &Model, p: &Programs) {
    for pc in 0..m.ops.len() {
        let Some(peak) = p.peak_mb(m, pc) else { continue };
        let t = &m.tasks[p.task[pc] as usize];
        let preset = p.preset[p.task[pc] as usize];
        let ram = platform::ram_mb(preset);
        if peak <= ram {
            continue;
        }
        let at_once = p.at_once(m, pc);
        let mut how = String::new();
        if at_once > 1.0 {
            how += &format!(" with {at_once} items at once");
        }
        if t.base_memory_mb > 0.0 {
            how += &format!(" and baseMemoryMb {}", t.base_memory_mb);
        }
        let machine = PRESETS[preset as usize].name;
        let fits = PRESETS.iter().find(|x| x.ram_gb * 1024.0 >= peak).map(|x| x.name);
        let bigger = fits
            .map_or("no preset has that much memory: lower memoryMb or the `parallel` limit".to_owned(), |f| {
                format!("e.g. `retry: {{ maxAttempts: 2, outOfMemory: {{ machine: {f} }} }}`, or `machine: {f}`")
            });
        let (message, help) = match t.retry.oom_machine {
            None => (
                format!(
                    "the attempt can need {peak:.0} MB here{how}, over the {ram:.0} MB of `{machine}`, and the task has no retry.outOfMemory: such runs end CRASHED"
                ),
                format!("set retry.outOfMemory.machine to a preset with enough memory, {bigger}"),
            ),
            Some(_) if t.retry.max_attempts < 2 => (
                format!(
                    "the attempt can need {peak:.0} MB here{how}, over the {ram:.0} MB of `{machine}`, and retry.outOfMemory cannot act: it needs an attempt left (maxAttempts is 1)"
                ),
                "set retry.maxAttempts to 2 or more".to_owned(),
            ),
            Some(om) if peak > platform::ram_mb(om) => (
                format!(
                    "the attempt can need {peak:.0} MB here{how}, over the {ram:.0} MB of `{machine}` and also over the {:.0} MB of its out-of-memory machine `{}`: such runs end CRASHED",
                    platform::ram_mb(om),
                    PRESETS[om as usize].name
                ),
                format!("pick a bigger out-of-memory machine, {bigger}"),
            ),
            Some(_) => continue,
        };
        warn(cx, pc, "memoryMb", message, help);
    }
}

/// A retried task whose children are triggered again (and paid again) by a retry.
fn retried_children(cx: &mut Compiler, m: &Model, p: &Programs) {
    for pc in 0..m.ops.len() {
        let t = p.task[pc];
        let task = &m.tasks[t as usize];
        if task.retry.max_attempts < 2 {
            continue;
        }
        let (child, kind, idempotent, batch_fails) = match m.ops[pc] {
            Op::TriggerAndWait { task, idempotent, .. } => (task, "triggerAndWait", idempotent, false),
            Op::BatchTriggerAndWait { task, idempotent, unwrap, .. } => {
                (task, "batchTriggerAndWait", idempotent, unwrap && p.can_fail[task as usize])
            }
            Op::Trigger { task, idempotent, batch, .. } => {
                (task, if batch { "batchTrigger" } else { "trigger" }, idempotent, false)
            }
            _ => continue,
        };
        if idempotent {
            continue;
        }
        // What can throw once the children exist: a later step, another item of the
        // enclosing `parallel`s, or (a batch) one failed child, which fails the others' parent.
        let from = p.parents[pc].first().map_or(pc, |&q| q as usize);
        let later = m
            .program(t)
            .filter(|&q| (q > pc || q >= from) && q != pc && p.together(pc, q))
            .find(|&q| p.throws(m, q, true));
        if later.is_none() && !batch_fails {
            continue;
        }
        let child_name = &m.tasks[child as usize].name;
        let why = if batch_fails && later.is_none() {
            "a child that fails fails the batch, and the retry triggers every child again, the completed ones too"
                .to_owned()
        } else {
            format!(
                "a retry of `{}` (maxAttempts {}) after this step triggers `{child_name}` again, and pays for it again",
                task.name, task.retry.max_attempts
            )
        };
        let help = if kind == "trigger" || kind == "batchTrigger" {
            format!(
                "add `idempotencyKey: true` to the {kind} so that a retry does not trigger `{child_name}` again where it completed or still runs, or trigger after the steps that can fail"
            )
        } else {
            format!(
                "add `idempotencyKey: true`: {kind} {{ task: {child_name}, idempotencyKey: true }} reuses the children that completed"
            )
        };
        warn(cx, pc, "step", format!("{kind} without idempotencyKey in a task that retries: {why}"), help);
    }
}

/// A task that waits on a child run in its own named queue, which has a concurrency limit.
fn same_queue(cx: &mut Compiler, m: &Model, p: &Programs) {
    let limit_of = |name: &str| {
        m.tasks
            .iter()
            .filter_map(|t| t.queue.as_ref())
            .filter(|q| q.name == name)
            .filter_map(|q| q.concurrency_limit)
            .min()
    };
    // Children each task waits on.
    let waits: Vec<Vec<TaskId>> = (0..m.tasks.len())
        .map(|t| {
            m.program(t as TaskId)
                .filter_map(|pc| match m.ops[pc] {
                    Op::TriggerAndWait { task, .. } | Op::BatchTriggerAndWait { task, .. } => Some(task),
                    _ => None,
                })
                .collect()
        })
        .collect();
    for pc in 0..m.ops.len() {
        let (Op::TriggerAndWait { task: child, .. } | Op::BatchTriggerAndWait { task: child, .. }) = m.ops[pc] else {
            continue;
        };
        let parent = &m.tasks[p.task[pc] as usize];
        let Some(q) = &parent.queue else { continue };
        let Some(limit) = limit_of(&q.name) else { continue };
        // The child, or a task it waits on in turn, in the same queue.
        let mut seen = vec![false; m.tasks.len()];
        let mut todo = vec![(child, vec![child])];
        let mut found = None;
        while let Some((t, path)) = todo.pop() {
            if seen[t as usize] {
                continue;
            }
            seen[t as usize] = true;
            if m.tasks[t as usize].queue.as_ref().is_some_and(|x| x.name == q.name) {
                found = Some(path);
                break;
            }
            for &c in &waits[t as usize] {
                let mut next = path.clone();
                next.push(c);
                todo.push((c, next));
            }
        }
        let Some(path) = found else { continue };
        let names: Vec<&str> = path.iter().map(|&t| m.tasks[t as usize].name.as_str()).collect();
        let target = names[names.len() - 1];
        let through = if names.len() > 1 {
            format!(" (through {})", names[..names.len() - 1].join(" -> "))
        } else {
            String::new()
        };
        warn(
            cx,
            pc,
            "step",
            format!(
                "`{}` waits for `{target}`{through}, and both run in queue `{}` (concurrencyLimit {limit}): the children compete with their parents for the queue's {limit} slot(s); a parent gives its slot back while it waits, but queued parents can take the slots before the children and need them again to resume (a deadlock where a waiting run keeps its slot, as in Trigger.dev v3)",
                parent.name, q.name
            ),
            format!("put `{target}` on another queue, or give queue `{}` room for parents and children", q.name),
        );
    }
}

/// Mean of a count (its shape's mean, clamped at 0; the bound where none is known).
fn count_mean(m: &Model, c: u32) -> f64 {
    let d = match m.counts[c as usize] {
        Count::Fixed(n) => return f64::from(n),
        Count::Attr(a) => &m.inputs[a as usize].dist,
        Count::Dist(d) => &m.dists[d as usize],
    };
    d.shape_mean().unwrap_or_else(|| reach(d)).clamp(lower(d).max(0.0), upper(d))
}

/// Mean runs of each task per workflow run, every branch taken (an upper bound where the
/// design branches): the entry runs once; a trigger step adds its count times the mean items
/// of the `parallel`s around it, times its task's runs.
fn runs_per_workflow(m: &Model, p: &Programs) -> Vec<f64> {
    let n = m.tasks.len();
    let mut runs = vec![0.0; n];
    runs[m.entry as usize] = 1.0;
    // Waiting edges have no cycle; fire-and-forget recursion is cut after n rounds.
    for _ in 0..n {
        let mut next = vec![0.0; n];
        next[m.entry as usize] = 1.0;
        for (pc, op) in m.ops.iter().enumerate() {
            let (child, count) = match *op {
                Op::TriggerAndWait { task, .. } => (task, 1.0),
                Op::Trigger { task, count, .. } | Op::BatchTriggerAndWait { task, count, .. } => {
                    (task, count_mean(m, count))
                }
                _ => continue,
            };
            next[child as usize] += runs[p.task[pc] as usize] * count * items_mean(m, p, pc);
        }
        runs = next.iter().map(|r| r.min(1e12)).collect();
    }
    runs
}

/// Mean items of the `parallel`s around the op at `pc`, multiplied.
fn items_mean(m: &Model, p: &Programs, pc: usize) -> f64 {
    p.parents[pc]
        .iter()
        .map(|&q| match m.ops[q as usize] {
            Op::Parallel { count, .. } => count_mean(m, count),
            _ => 1.0,
        })
        .product()
}

/// A fan-out that can offer a service more calls at once than its limit, and a load whose
/// mean offered rate exceeds it.
fn services(cx: &mut Compiler, m: &Model, p: &Programs) {
    if m.services.is_empty() {
        return;
    }
    let mut per_run = vec![0.0; m.services.len()];
    // Mean seconds of calls in flight per workflow run, per service (Little's law).
    let mut busy_per_run = vec![0.0; m.services.len()];
    // Mean tokens per workflow run, per service.
    let mut tokens_per_run = vec![0.0; m.services.len()];
    let runs = runs_per_workflow(m, p);
    for pc in 0..m.ops.len() {
        let Op::Work { spec, .. } = m.ops[pc] else { continue };
        let w = &m.works[spec as usize];
        let Some(call) = w.service else { continue };
        let s = &m.services[call.service as usize];
        let calls = runs[p.task[pc] as usize] * items_mean(m, p, pc);
        per_run[call.service as usize] += calls;
        if call.tokens != NONE {
            let d = &m.dists[call.tokens as usize];
            tokens_per_run[call.service as usize] += calls * d.shape_mean().unwrap_or_else(|| reach(d));
        }
        if let DurSpec::Dist(d) = w.duration {
            let d = &m.dists[d as usize];
            busy_per_run[call.service as usize] += calls * d.shape_mean().unwrap_or_else(|| upper(d).min(reach(d)));
        }
        let at_once = p.at_once(m, pc);
        let tokens = (call.tokens != NONE).then(|| reach(&m.dists[call.tokens as usize]));
        let limit = format::count(s.limit);
        let per = if s.window_s == 60.0 { "minute" } else { "second" };
        let over = if tokens.zip(s.tokens_per_minute).is_some_and(|(t, tpm)| t > tpm) {
            Some(format!(
                "a call to `{}` can need {} tokens, more than its {} tokens per minute: such a call is always answered 429",
                s.name,
                format::count(tokens.unwrap_or(0.0)),
                format::count(s.tokens_per_minute.unwrap_or(0.0))
            ))
        } else if at_once > 1.0 && s.limit.is_finite() && at_once > s.limit {
            Some(format!(
                "up to {} calls to `{}` start at once, more than its limit of {limit} a {per}: {} of them are answered 429 when the {} is full",
                format::count(at_once),
                s.name,
                format::count(at_once - s.limit),
                if s.refill == Refill::TokenBucket { "bucket" } else { "window" },
            ))
        } else if let Some(c) = s.concurrency.filter(|&c| at_once > f64::from(c)) {
            Some(format!(
                "up to {} calls to `{}` run at once, more than its concurrency of {c}: the others are answered 429",
                format::count(at_once),
                s.name
            ))
        } else if let (Some(t), Some(tpm)) = (tokens, s.tokens_per_minute)
            && at_once > 1.0
            && at_once * t > tpm
        {
            Some(format!(
                "up to {} calls to `{}` at once can need {} tokens, more than its {} tokens per minute",
                format::count(at_once),
                s.name,
                format::count(at_once * t),
                format::count(tpm)
            ))
        } else {
            None
        };
        if let Some(msg) = over {
            warn(
                cx,
                pc,
                "service",
                msg,
                "pace the calls: a `limit:` on the parallel, or a queue with a concurrencyLimit for the task that calls it; give the step a retry: that waits for the limit to refill".to_owned(),
            );
        }
    }
    let Some(l) = &m.load else { return };
    let peak = l.schedule.iter().fold(l.per_minute, |r, &(_, x)| r.max(x));
    for (i, s) in m.services.iter().enumerate() {
        let keys = f64::from(s.slots());
        let offered = peak * per_run[i];
        let site = &cx.service_sites[i];
        let (line, column, key) = (site.line, site.column, site.key.clone());
        let what = if keys > 1.0 { format!(" (over its {} keys)", format::count(keys)) } else { String::new() };
        if s.limit.is_finite() && offered > s.per_minute() * keys {
            cx.push(
                Severity::Warning,
                line,
                column,
                &key,
                format!(
                    "the load offers `{}` about {} calls a minute at its peak rate, more than its limit of {} a minute{what}: calls will be answered 429 and retried",
                    s.name,
                    format::count(offered.round()),
                    format::count(s.per_minute() * keys)
                ),
                Some("raise the limit, or pace the calls with a queue's concurrencyLimit (try `wfsim sweep --set`)".into()),
            );
        } else if let Some(tpm) = s.tokens_per_minute
            && peak * tokens_per_run[i] > tpm * keys
        {
            cx.push(
                Severity::Warning,
                line,
                column,
                &key,
                format!(
                    "the load offers `{}` about {} tokens a minute at its peak rate, more than its {} tokens per minute{what}: calls will be answered 429 and retried",
                    s.name,
                    format::count(peak * tokens_per_run[i]),
                    format::count(tpm * keys)
                ),
                Some("raise the limit, or pace the calls with a queue's concurrencyLimit (try `wfsim sweep --set`)".into()),
            );
        } else if let Some(c) = s.concurrency
            && peak / 60.0 * busy_per_run[i] > f64::from(c) * keys
        {
            cx.push(
                Severity::Warning,
                line,
                column,
                &key,
                format!(
                    "the load keeps about {:.0} calls to `{}` in flight at its peak rate (Little's law), more than its concurrency of {}{what}",
                    peak / 60.0 * busy_per_run[i],
                    s.name,
                    format::count(f64::from(c) * keys)
                ),
                Some("pace the calls with a queue's concurrencyLimit at or below the service's concurrency".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::{Diagnostic, Severity};
    use crate::scenario::load_str;

    fn warnings(yaml: &str) -> Vec<Diagnostic> {
        match load_str(yaml, "t.yaml") {
            Ok(l) => l.warnings,
            Err(e) => panic!("does not load:\n{e}"),
        }
    }

    /// The one warning of `yaml`, at `line:column` on `key`, its text containing `has`.
    fn one(yaml: &str, line: u32, column: u32, key: &str, has: &[&str]) {
        let w = warnings(yaml);
        assert_eq!(w.len(), 1, "{w:#?}");
        let w = &w[0];
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!((w.line, w.column, w.key.as_str()), (line, column, key), "{w}");
        let text = w.to_string();
        for h in has {
            assert!(text.contains(h), "`{h}` missing in:\n{text}");
        }
    }

    fn none(yaml: &str) {
        let w = warnings(yaml);
        assert!(w.is_empty(), "{w:#?}");
    }

    #[test]
    fn trigger_and_wait_inside_parallel() {
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 5\n          steps:\n            - triggerAndWait: b\n  b:\n    steps:\n      - work: { duration: 1s }\n";
        one(y, 8, 15, "tasks.a.steps[0].parallel.steps[0].triggerAndWait", &["Promise.all", "batchTriggerAndWait"]);
        let y = y.replace("- triggerAndWait: b", "- batchTriggerAndWait: { task: b, count: 3 }");
        one(&y, 8, 15, "tasks.a.steps[0].parallel.steps[0].batchTriggerAndWait", &["one batchTriggerAndWait"]);
        // The fix: one batch, outside any parallel.
        none(
            "entry: a\ntasks:\n  a:\n    steps:\n      - batchTriggerAndWait: { task: b, count: 5 }\n  b:\n    steps:\n      - work: { duration: 1s }\n",
        );
    }

    #[test]
    fn waits_one_after_the_other_are_not_promise_all() {
        let child = "  b:\n    steps:\n      - work: { duration: 1s }\n";
        // A loop (`repeat`) or p-limit(1) around triggerAndWait: one child at a time.
        none(&format!(
            "entry: a\ntasks:\n  a:\n    steps:\n      - repeat:\n          count: 4\n          steps:\n            - triggerAndWait: b\n{child}"
        ));
        none(&format!(
            "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 4\n          limit: 1\n          steps:\n            - batchTriggerAndWait: {{ task: b, count: 2 }}\n{child}"
        ));
        // A loop inside a Promise.all of 3 still waits on 3 children at once.
        let y = format!(
            "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 3\n          steps:\n            - repeat:\n                count: 2\n                steps:\n                  - triggerAndWait: b\n{child}"
        );
        one(
            &y,
            11,
            21,
            "tasks.a.steps[0].parallel.steps[0].repeat.steps[0].triggerAndWait",
            &["Promise.all around triggerAndWait"],
        );
        // p-limit(2): two at once.
        let y = format!(
            "entry: a\ntasks:\n  a:\n    steps:\n      - parallel:\n          count: 4\n          limit: 2\n          steps:\n            - triggerAndWait: b\n{child}"
        );
        one(&y, 9, 15, "tasks.a.steps[0].parallel.steps[0].triggerAndWait", &["Promise.all"]);
    }

    #[test]
    fn a_loop_holds_one_iterations_memory_at_a_time() {
        // 10 iterations of 400 MB on small-1x (512 MB): one at a time, it fits.
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - repeat:\n          count: 10\n          steps:\n            - work: { duration: 1s, memoryMb: 400 }\n";
        none(y);
        // Two at once do not.
        let y = y.replace("- repeat:\n          count: 10", "- parallel:\n          count: 10\n          limit: 2");
        one(&y, 9, 47, "tasks.a.steps[0].parallel.steps[0].work.memoryMb", &["800 MB", "2 items at once"]);
    }

    #[test]
    fn memory_is_checked_on_the_machine_a_trigger_step_chooses() {
        // b fits its own large-1x (8 GB), not the micro a trigger step starts it on.
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - triggerAndWait: { task: b, machine: micro }\n  b:\n    machine: large-1x\n    steps:\n      - work: { duration: 1s, memoryMb: 1000 }\n";
        one(y, 9, 41, "tasks.b.steps[0].work.memoryMb", &["1000 MB", "256 MB of `micro`", "CRASHED"]);
        // Started on its own preset, or on a bigger one: no warning.
        none(&y.replace("machine: micro", "machine: large-2x"));
        none(&y.replace("{ task: b, machine: micro }", "b"));
        // And the other way round: a small task started on a big preset.
        none(&y.replace("machine: micro", "machine: large-2x").replace("machine: large-1x", "machine: micro"));
    }

    #[test]
    fn wait_under_60_seconds() {
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - wait: 30s\n";
        one(y, 5, 15, "tasks.a.steps[0].wait", &["30s, under 60 s", "concurrency slot", "60 s or more"]);
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - wait: { for: { uniform: [45s, 2m] } }\n";
        one(y, 5, 22, "tasks.a.steps[0].wait.for", &["as short as 45s"]);
        none("entry: a\ntasks:\n  a:\n    steps:\n      - wait: { for: { uniform: [60s, 2m] } }\n");
        // A max below the shape's range lowers every draw.
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - wait: { uniform: [90s, 2m], max: 30s }\n";
        one(y, 5, 15, "tasks.a.steps[0].wait", &["this wait.for is 30s"]);
    }

    #[test]
    fn poll_every_under_60_seconds() {
        let y = "entry: a\ntasks:\n  a:\n    steps:\n      - poll: { every: 20s, success: 0.5, maxChecks: 10 }\n";
        one(y, 5, 24, "tasks.a.steps[0].poll.every", &["waits 20s between checks", "whole loop"]);
        none(&y.replace("20s", "90s"));
    }

    #[test]
    fn memory_over_the_preset_without_out_of_memory_retry() {
        // 3 items at once of up to 200 MB, plus 100 MB: 700 MB on small-1x's 512 MB.
        let y = "entry: a\ntasks:\n  a:\n    machine: small-1x\n    baseMemoryMb: 100\n    steps:\n      - parallel:\n          count: 10\n          limit: 3\n          steps:\n            - work: { duration: 1s, memoryMb: { uniform: [50, 200] } }\n";
        one(
            y,
            11,
            47,
            "tasks.a.steps[0].parallel.steps[0].work.memoryMb",
            &["700 MB", "3 items at once", "baseMemoryMb 100", "512 MB of `small-1x`", "CRASHED", "small-2x"],
        );
        // An out-of-memory retry that cannot act (no attempt left), or that is too small.
        let r = y.replace(
            "machine: small-1x",
            "machine: small-1x\n    retry: { maxAttempts: 1, outOfMemory: { machine: medium-1x } }",
        );
        one(&r, 12, 47, "tasks.a.steps[0].parallel.steps[0].work.memoryMb", &["needs an attempt left"]);
        let r = y.replace(
            "machine: small-1x",
            "machine: micro\n    retry: { maxAttempts: 2, outOfMemory: { machine: small-1x } }",
        );
        one(&r, 12, 47, "tasks.a.steps[0].parallel.steps[0].work.memoryMb", &["out-of-memory machine `small-1x`"]);
        // With an out-of-memory retry to a preset that has room, or with room: no warning.
        none(&y.replace(
            "machine: small-1x",
            "machine: small-1x\n    retry: { maxAttempts: 2, outOfMemory: { machine: small-2x } }",
        ));
        none(&y.replace("limit: 3", "limit: 2"));
    }

    #[test]
    fn retried_children_without_idempotency_key() {
        let y = "entry: a\ntasks:\n  a:\n    retry: { maxAttempts: 3 }\n    steps:\n      - triggerAndWait: b\n      - work: { duration: 1s, failure: 0.1 }\n  b:\n    steps:\n      - work: { duration: 1s }\n";
        one(
            y,
            6,
            9,
            "tasks.a.steps[0].triggerAndWait",
            &["retry of `a` (maxAttempts 3)", "pays for it again", "idempotencyKey: true"],
        );
        // With the key, with no retry, or with nothing that can fail after the trigger: none.
        none(&y.replace("triggerAndWait: b", "triggerAndWait: { task: b, idempotencyKey: true }"));
        none(&y.replace("maxAttempts: 3", "maxAttempts: 1"));
        none(&y.replace("failure: 0.1", "failure: 0"));
        // A failure that is not retried (AbortTaskRunError) triggers nothing again.
        none(&y.replace("failure: 0.1", "failure: { probability: 0.1, retryable: false }"));
        // A batch whose children can fail: one failure re-runs them all.
        let y = "entry: a\ntasks:\n  a:\n    retry: { maxAttempts: 2 }\n    steps:\n      - batchTriggerAndWait: { task: b, count: 10 }\n  b:\n    steps:\n      - work: { duration: 1s, failure: 0.01 }\n";
        one(y, 6, 9, "tasks.a.steps[0].batchTriggerAndWait", &["fails the batch", "completed ones too"]);
        // Fire-and-forget, before a poll that can give up.
        let y = "entry: a\ntasks:\n  a:\n    retry: { maxAttempts: 2 }\n    steps:\n      - trigger: b\n      - poll: { every: 2m, success: 0.5, maxChecks: 3 }\n  b:\n    steps:\n      - work: { duration: 1s }\n";
        one(y, 6, 9, "tasks.a.steps[0].trigger", &["triggers `b` again"]);
        none(&y.replace("trigger: b", "trigger: { task: b, idempotencyKey: true }"));
    }

    #[test]
    fn an_other_arm_of_the_branch_is_not_after_the_trigger() {
        // Only one arm runs: a failure in the other arm cannot retry this one's child.
        let y = "input:\n  f: { bernoulli: 0.5 }\nentry: a\ntasks:\n  a:\n    retry: { maxAttempts: 3 }\n    steps:\n      - branch:\n          - when: f\n            then: [ { triggerAndWait: b } ]\n          - otherwise: [ { work: { duration: 1s, failure: 0.5 } } ]\n  b:\n    steps:\n      - work: { duration: 1s }\n";
        none(y);
    }

    #[test]
    fn waiting_on_a_child_in_the_same_queue() {
        let y = "entry: a\ntasks:\n  a:\n    queue: { name: db, concurrencyLimit: 2 }\n    steps:\n      - triggerAndWait: b\n  b:\n    steps:\n      - triggerAndWait: c\n  c:\n    queue: { name: db }\n    steps:\n      - work: { duration: 1s }\n";
        one(
            y,
            6,
            9,
            "tasks.a.steps[0].triggerAndWait",
            &["`a` waits for `c` (through b)", "queue `db` (concurrencyLimit 2)", "deadlock"],
        );
        none(&y.replace("name: db }", "name: other }"));
        // No limit on the queue: only the environment's.
        none(&y.replace("{ name: db, concurrencyLimit: 2 }", "{ name: db }"));
    }
}
