//! The interpreter: an [`Engine`] runs a workflow's task programs as fibers on the event
//! queue, with attempts, retries, waits, children, queues, billing and progress.
//!
//! One `impl` of about 1,100 lines, kept whole on purpose: its methods share the engine's
//! borrowed state and the order in which they touch it is the event order the direct and
//! load paths reproduce bit for bit; split by step kind, that order would be spread over
//! several files.

use super::DIRECT_ITEMS;
use super::events::{Event, EventKind};
use super::observer::{AttemptEnd, AttemptRecord, Observer};
use super::outcome::{EMPTY_OUTCOME, RunOutcome, SimError, Status, TaskAcc};
use super::rules::{draw_count, reach_levels_fill, retry_delay, step_key};
use super::run_state::QState;
use super::run_state::{ChildState, Fiber, Frame, IdemGroup, Phase, RunState, Scratch, Waiter, WorkflowRun};
use crate::dist::Dist;
use crate::model::*;
use crate::platform::{self, MachineId};
use crate::rng::{SimRng, attempt_key, mix, mix3, purpose, stream};
use rand::RngExt;

pub(super) struct Engine<'a, O: Observer> {
    pub(super) m: &'a Model,
    pub(super) s: &'a mut Scratch,
    pub(super) tasks: &'a mut [TaskAcc],
    pub(super) obs: &'a mut O,
}

impl<O: Observer> Engine<'_, O> {
    /// One workflow run alone: triggered at 0 on an otherwise idle environment.
    pub(super) fn run(&mut self, key: u64) -> Result<RunOutcome, SimError> {
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
    pub(super) fn new_workflow(&mut self, key: u64) -> u32 {
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
        if !self.m.marks.is_empty() {
            let at = inputs as usize;
            let marks = self.m.marks_of(&self.s.inputs[at..at + self.m.inputs.len()]);
            let outs = if measured { &mut self.s.outs } else { &mut self.s.outs_warm };
            if let Some(o) = outs.last_mut() {
                o.marks = marks;
            }
        }
        self.s.wfs.push(WorkflowRun {
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
        self.trigger_run(self.m.entry, None, key, Waiter::None, u32::MAX, wf, 0.0);
        wf
    }

    pub(super) fn event_loop(&mut self, key: u64) -> Result<(), SimError> {
        let limit = self.m.limits.max_events_per_run;
        while let Some(ev) = self.pop() {
            self.s.now = ev.t();
            self.s.events += 1;
            if self.s.events > limit {
                let task = match ev.kind {
                    EventKind::Wake | EventKind::Tick => self.s.runs[self.s.fibers[ev.id as usize].run as usize].task,
                    EventKind::Arrival | EventKind::Sample | EventKind::Dequeue | EventKind::SvcDone => self.m.entry,
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
                EventKind::AttemptStart => {
                    if self.s.runs[ev.id as usize].gn == ev.gn {
                        self.start_attempt(ev.id);
                    }
                }
                EventKind::Deadline => {
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
                                self.push(due, EventKind::Deadline, ev.id, g, 0);
                            }
                        }
                    }
                }
                EventKind::Wake => {
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
                EventKind::Arrival => {
                    if let Some(l) = &self.m.load {
                        self.arrival(l, ev.gn, ev.aux);
                    }
                }
                EventKind::Enqueue => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.gn == ev.gn && !r.done {
                        self.enqueue(ev.id, QState::Start);
                    }
                }
                EventKind::Release => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.cgen == ev.gn && r.busy == 0 && !r.done {
                        self.release(ev.id);
                    }
                }
                EventKind::Resumed => {
                    if self.s.runs[ev.id as usize].gn == ev.gn {
                        self.resumed(ev.id);
                    }
                }
                EventKind::Expire => self.expire(ev.id),
                EventKind::Sample => {
                    if let Some(l) = &self.m.load {
                        self.sample_backlog(l);
                    }
                }
                EventKind::Dequeue => self.dequeue_poll(),
                EventKind::WorkEnd => {
                    let r = &self.s.runs[ev.id as usize];
                    if r.gn == ev.gn && !r.done {
                        self.work_end(ev.id);
                    }
                }
                EventKind::Tick => {
                    if self.live(ev.id, ev.gn) {
                        self.tick(ev.id, ev.aux);
                    }
                }
                EventKind::SvcDone => self.svc_done(ev.id),
            }
            if self.s.live == 0 && self.s.lr.isolated {
                break;
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------- bookkeeping

    pub(super) fn push(&mut self, t: f64, kind: EventKind, id: u32, gn: u32, aux: u32) {
        self.s.seq += 1;
        let ev = Event::new(t, self.s.seq, kind, id, gn, aux);
        if t == self.s.now {
            self.s.now_q.push_back(ev);
        } else {
            self.s.heap.push(ev);
        }
    }

    /// The next event by (time, seq), from the heap or the queue of events due now.
    pub(super) fn pop(&mut self) -> Option<Event> {
        match (self.s.now_q.front(), self.s.heap.peek()) {
            // The heap's order is reversed: `h > n` means h comes first.
            (Some(n), Some(h)) if h > n => self.s.heap.pop(),
            (Some(_), _) => self.s.now_q.pop_front(),
            (None, _) => self.s.heap.pop(),
        }
    }

    /// Is fiber `f` at generation `gn`, and its attempt still current? A stale fiber of an
    /// ended attempt is released here.
    pub(super) fn live(&mut self, f: u32, gn: u32) -> bool {
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

    pub(super) fn alloc_fiber(&mut self, run: u32, pc: u32, frame: u32, ikey: u64) -> u32 {
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

    pub(super) fn free_fiber(&mut self, f: u32) {
        let fb = &mut self.s.fibers[f as usize];
        fb.gn = fb.gn.wrapping_add(1);
        fb.run = u32::MAX;
        // `run` is only read through live(); a freed fiber never matches a generation again.
        fb.rgen = u32::MAX;
        self.s.free_fibers.push(f);
    }

    /// Schedules fiber `f` to be woken at `t` (only its latest wake counts).
    pub(super) fn wake_at(&mut self, f: u32, t: f64) {
        let fb = &mut self.s.fibers[f as usize];
        fb.gn = fb.gn.wrapping_add(1);
        let g = fb.gn;
        self.push(t, EventKind::Wake, f, g, 0);
    }

    /// Marks fiber `f` as executing (counts toward billing and maxDuration) or not.
    pub(super) fn set_active(&mut self, f: u32, active: bool) {
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
                    self.push(t, EventKind::Deadline, run, g, 0);
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
    pub(super) fn set_progress(&mut self, wf: u32, v: f64) {
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
    pub(super) fn task_progress(&mut self, run: u32, frac: f64) {
        let r = &self.s.runs[run as usize];
        let (t, wf) = (r.task, r.wf);
        if let Some((a, b)) = self.m.tasks[t as usize].progress {
            self.set_progress(wf, a + (b - a) * frac);
        }
    }

    pub(super) fn count(&self, c: u32, key: u64, run: u32) -> u32 {
        let off = self.inputs_of(run);
        draw_count(self.m, c, key, &self.s.inputs[off..off + self.m.inputs.len()])
    }

    /// The per-task totals a run counts in: its task's, or nowhere for a workflow run outside
    /// a load's measured window.
    pub(super) fn acc(&mut self, run: u32) -> &mut TaskAcc {
        let r = &self.s.runs[run as usize];
        if r.measured { &mut self.tasks[r.task as usize] } else { &mut self.s.sink }
    }

    /// Offset of the input attributes of the workflow of task run `run`.
    pub(super) fn inputs_of(&self, run: u32) -> usize {
        self.s.wfs[self.s.runs[run as usize].wf as usize].inputs as usize
    }

    /// The random stream of a step of a fiber: keyed by run and attempt (the attempt's
    /// key), purpose, step, try and item.
    #[inline]
    pub(super) fn step_rng(&self, f: u32, what: u64) -> SimRng {
        let fb = &self.s.fibers[f as usize];
        let r = &self.s.runs[fb.run as usize];
        stream(step_key(r.akey, what, fb.pc, fb.tries, fb.ikey))
    }

    // -------------------------------------------------------------- runs and attempts

    /// Triggers a run of `task` on preset `machine` (`None`: the task's); under load it is
    /// queued after `wait` more seconds (a batch item waiting for rate-limit tokens).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn trigger_run(
        &mut self,
        task: TaskId,
        machine: Option<MachineId>,
        key: u64,
        waiter: Waiter,
        parent: u32,
        wf: u32,
        wait: f64,
    ) -> u32 {
        let id = self.s.runs.len() as u32;
        let now = self.s.now;
        let t = &self.m.tasks[task as usize];
        self.s.runs.push(RunState {
            task,
            key,
            akey: key,
            resumes: 0,
            waiter,
            machine: machine.unwrap_or(t.machine),
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
            self.push(now + delay + ttl, EventKind::Expire, id, 0, 0);
        }
        if delay > 0.0 {
            self.push(now + delay, EventKind::Enqueue, id, 0, 0);
        } else {
            self.enqueue(id, QState::Start);
        }
        id
    }

    pub(super) fn start_attempt(&mut self, run: u32) {
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
    pub(super) fn end_attempt(&mut self, run: u32, how: AttemptEnd) {
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

    pub(super) fn finish_run(&mut self, run: u32, status: Status) {
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
    pub(super) fn attempt_threw(&mut self, run: u32, retryable: bool) {
        self.end_attempt(run, AttemptEnd::Threw);
        let r = self.s.runs[run as usize];
        let policy = self.m.tasks[r.task as usize].retry;
        if retryable && r.attempt < policy.max_attempts {
            let delay = self.retry_delay(run, &policy);
            if delay < platform::WARM_RETRY_S {
                // Same warm machine, same slot.
                self.push(self.s.now + delay, EventKind::AttemptStart, run, r.gn, 0);
            } else {
                // Re-queued: the slot goes back, and the run queues for one after the delay.
                self.release(run);
                self.push(self.s.now + delay, EventKind::Enqueue, run, r.gn, 0);
            }
        } else {
            self.finish_run(run, Status::Failed);
        }
    }

    pub(super) fn retry_delay(&self, run: u32, policy: &platform::RetryPolicy) -> f64 {
        let r = &self.s.runs[run as usize];
        retry_delay(policy, r.key, r.attempt)
    }

    /// The attempt ran out of memory: one retry on `retry.outOfMemory.machine` when set and
    /// an attempt is left, else CRASHED.
    pub(super) fn out_of_memory(&mut self, run: u32) {
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
                self.push(self.s.now + delay, EventKind::Enqueue, run, g, 0);
            }
            _ => self.finish_run(run, Status::Crashed),
        }
    }

    // -------------------------------------------------------------- fibers

    pub(super) fn wake(&mut self, f: u32) {
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
    pub(super) fn throw(&mut self, f: u32, retryable: bool) {
        let run = self.s.fibers[f as usize].run;
        self.attempt_threw(run, retryable);
    }

    /// Runs fiber `f` until it blocks on an event or ends.
    pub(super) fn advance(&mut self, mut f: u32) {
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
                Op::TriggerAndWait { task, idempotent, machine, .. } => {
                    let w = Waiter::Fiber { id: f, gn: 0 };
                    match self.child(f, (task, machine), idempotent, 0, 1, w, 0.0) {
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
                Op::BatchTriggerAndWait { task, count, idempotent, unwrap, prog, machine } => {
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
                        let w = Waiter::Frame { id: fr, gn: fgen };
                        match self.child(f, (task, machine), idempotent, i as u64 + 1, n, w, wait) {
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
                Op::Trigger { task, count, batch, idempotent, machine } => {
                    let n = self.count(count, mix(self.s.runs[run as usize].key, mix(fb.pc as u64, fb.ikey)), run);
                    let avail = if batch { self.take_tokens(n) } else { f64::INFINITY };
                    for i in 0..n {
                        let wait = self.token_wait(i, avail);
                        if idempotent {
                            // With a key, as a waiting step's child: a child of an earlier attempt
                            // that completed or still runs is not triggered again (nobody waits
                            // for it, so there is nothing else to do); a failed one runs again.
                            self.child(f, (task, machine), true, i as u64 + 1, n, Waiter::None, wait);
                        } else {
                            let key = self.child_key(f, i as u64 + 1, false);
                            let wf = self.s.runs[run as usize].wf;
                            self.trigger_run(task, machine, key, Waiter::None, run, wf, wait);
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

    pub(super) fn child_key(&self, f: u32, item: u64, idempotent: bool) -> u64 {
        let fb = &self.s.fibers[f as usize];
        let r = &self.s.runs[fb.run as usize];
        // An idempotent child keeps its key across the parent's attempts.
        let attempt = if idempotent { 0 } else { r.attempt as u64 };
        mix3(r.key ^ purpose::CHILD, attempt << 32 | fb.pc as u64, fb.ikey, item)
    }

    /// Triggers (or, with an idempotency key, reuses or joins) the child of a trigger step:
    /// a waiting one's (`waiter` is told when it ends) or a fire-and-forget one's
    /// (`Waiter::None`).
    /// `item` is 0 for a `triggerAndWait`, 1..=`n` for the `n` children of a batch; `to` is the
    /// child's task and the step's `machine:`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn child(
        &mut self,
        f: u32,
        to: (TaskId, Option<MachineId>),
        idempotent: bool,
        item: u64,
        n: u32,
        waiter: Waiter,
        wait: f64,
    ) -> ChildState {
        let fb = self.s.fibers[f as usize];
        let (task, machine) = to;
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
            let c = self.trigger_run(task, machine, key, waiter, fb.run, self.s.runs[fb.run as usize].wf, wait);
            self.s.idem_kids[at] = c;
            return ChildState::Pending(c);
        }
        let key = self.child_key(f, item, idempotent);
        let c = self.trigger_run(task, machine, key, waiter, fb.run, self.s.runs[fb.run as usize].wf, wait);
        if let Some(at) = slot {
            self.s.idem_kids[at] = c;
        }
        ChildState::Pending(c)
    }

    pub(super) fn alloc_frame(
        &mut self,
        run: u32,
        parent: u32,
        total: u32,
        body: u32,
        prog: Prog,
        unwrap: bool,
    ) -> u32 {
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

    pub(super) fn free_frame(&mut self, fr: u32) {
        let f = &mut self.s.frames[fr as usize];
        f.gn = f.gn.wrapping_add(1);
        self.s.free_frames.push(fr);
    }

    /// A child of a batchTriggerAndWait ended.
    pub(super) fn frame_child_done(&mut self, fr: u32, gn: u32, failed: bool) {
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
            self.push(self.s.now, EventKind::Wake, fv.parent, g, 0);
        }
    }

    pub(super) fn start_work(&mut self, f: u32) {
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
                        self.push(now + t, EventKind::Tick, f, gn, u);
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
                self.push(now, EventKind::Wake, f, gn, 0);
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
        self.push(end, EventKind::Wake, f, gn, 0);
        if let Some(cpu) = w.cpu {
            // Timed as if alone; joining the attempt's other CPU-bound work re-times it.
            let fm = &mut self.s.fibers[f as usize];
            fm.cpu_end = end;
            fm.cpu_rate = 1.0;
            fm.cpu_total = end - now;
            self.cpu_join(f, cpu.main_thread);
        }
    }

    pub(super) fn work_failed(&mut self, f: u32) {
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

    pub(super) fn tick(&mut self, f: u32, units: u32) {
        let fb = self.s.fibers[f as usize];
        let Op::Work { prog, .. } = self.m.ops[fb.pc as usize] else {
            return;
        };
        if fb.aux > 0 {
            self.task_progress(fb.run, prog.lo + (prog.hi - prog.lo) * units as f64 / fb.aux as f64);
        }
    }

    pub(super) fn poll_wait(&mut self, f: u32, every: u32) {
        let mut rng = self.step_rng(f, mix(purpose::POLL, self.s.fibers[f as usize].aux as u64));
        let d = self.m.dists[every as usize].sample(&mut rng);
        self.wait_for(f, d, Phase::PollWait);
    }

    /// wait.for(d): over 5 s the attempt may checkpoint (the fiber stops counting as
    /// executing); 5 s or less the machine stays up, billed.
    pub(super) fn wait_for(&mut self, f: u32, d: f64, phase: Phase) {
        self.s.fibers[f as usize].phase = phase;
        let paused = d > platform::CHECKPOINT_WAIT_S;
        if paused {
            self.set_active(f, false);
        }
        let (now, run) = (self.s.now, self.s.fibers[f as usize].run);
        self.obs.wait(run, f, now, now + d, paused);
        self.wake_at(f, now + d);
    }

    pub(super) fn poll_check(&mut self, f: u32) {
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
