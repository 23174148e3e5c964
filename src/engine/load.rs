//! Load: many workflow runs over time, sharing the environment's concurrency and the queues.
//!
//! A run needs a concurrency slot to execute. It waits for one in its queue (a copy per
//! `concurrencyKey` value) when it is triggered, when it resumes after releasing its slot at a
//! checkpoint, and when a retry re-queues it. The dispatcher grants a slot to the queued run
//! with the earliest effective time (enqueue time minus priority) among the queues below
//! their cap, while the environment is below its cap: each queue is capped at
//! min(concurrencyLimit, environment limit), the environment at limit x burst factor. A run
//! releases its slot when it ends, when a retry's delay re-queues it, at once when it pauses
//! on triggerAndWait / batchTriggerAndWait, and 60 s into a checkpointed wait.for.
//!
//! Kept in one file (about 1,100 lines) on purpose: the dispatcher, the slot accounting and the
//! warm pool change the same queue state in an order the one-queue path and the direct path
//! must reproduce exactly; split apart, that order would be spread over several files.

use super::events::EventKind;
use super::interpreter::Engine;
use super::observer::{AttemptEnd, AttemptRecord, NoObserver, Observer};
use super::outcome::{LoadOutcome, QueueStats, SimError, Status, TaskAcc};
use super::rules::start_latency_of;
use super::run_state::{QEntry, QState, Ready, SubQueue, UNINDEXED};
use super::run_state::{Scratch, Waiter};
use crate::model::*;
use crate::rng::{mix, purpose, stream};

mod one_queue;

/// Seconds into a checkpointed wait.for after which the run gives its slot back.
pub const SLOT_RELEASE_S: f64 = 60.0;

impl<O: Observer> Engine<'_, O> {
    /// Sets up the environment for a run alone (`load` None) or a load: every slot free,
    /// every queue empty, no machine warm; a load's statistics too. A run alone reuses the
    /// vectors of the last one: no allocation once they have their size.
    pub(super) fn platform_setup(&mut self, load: Option<&Load>) {
        let m = self.m;
        let env = &m.environment;
        let lr = &mut self.s.lr;
        lr.isolated = load.is_none();
        self.services_setup();
        let lr = &mut self.s.lr;
        lr.env_base = env.concurrency;
        lr.env_cap = env.cap();
        lr.env_active = 0;
        let n = m.queues.subqs as usize;
        lr.subqs.truncate(n);
        let mut i = 0;
        for (qi, q) in m.queues.queues.iter().enumerate() {
            for k in 0..q.keys {
                let fresh =
                    SubQueue { cap: q.cap, queue: qi as u32, key: k, ready_seq: UNINDEXED, ..SubQueue::default() };
                match lr.subqs.get_mut(i) {
                    Some(sq) => {
                        sq.heap.clear();
                        let heap = std::mem::take(&mut sq.heap);
                        *sq = SubQueue { heap, ..fresh };
                    }
                    None => lr.subqs.push(fresh),
                }
                i += 1;
            }
        }
        lr.ready.clear();
        lr.single = n == 1;
        lr.scan = false;
        let nq = m.queues.queues.len();
        lr.queue_active.clear();
        lr.queue_active.resize(nq, 0);
        lr.queue_len.clear();
        lr.queue_len.resize(nq, 0);
        lr.simple.clear();
        lr.simple.extend(
            m.tasks
                .iter()
                .map(|t| (simple_work(m, t), crate::rng::mix3_part(purpose::WORK, (t.entry_pc as u64) << 32, 0))),
        );
        for pool in &mut lr.warm {
            pool.clear();
        }
        lr.keep_warm_s = m.keep_warm_s;
        lr.warm_fixed = m.start_latency.as_fixed();
        lr.cold_fixed = m.cold_start.as_fixed();
        lr.dq_every = env.dequeue_every_s;
        lr.dq_idle = env.dequeue_idle_s;
        lr.dq_pending = false;
        lr.dq_last = 0.0;
        lr.dq_busy = false;
        lr.queued = 0;
        lr.arrival_gen = 0;
        lr.gap_mean = (0.0, 0.0);
        lr.tokens = env.batch_tokens.map_or(f64::INFINITY, |b| b.bucket);
        lr.tokens_t = 0.0;
        lr.last_t = 0.0;
        lr.in_system = 0;
        let Some(l) = load else {
            // Alone: no statistics (an empty window, so nothing is ever inside it).
            lr.stats.window = (f64::INFINITY, f64::NEG_INFINITY);
            return;
        };
        lr.stats = LoadOutcome::default();
        for q in &m.queues.queues {
            let by_key = if q.keys > 1 { vec![Vec::new(); q.keys as usize] } else { Vec::new() };
            lr.stats.queues.push(QueueStats {
                name: q.name.clone(),
                cap: q.cap * q.keys,
                by_key,
                backlog: Vec::with_capacity(BACKLOG_SAMPLES + 1),
                ..QueueStats::default()
            });
        }
        // At most one live entry per sub-queue; superseded ones come from priorities only.
        lr.ready.reserve(n + 64);
        lr.stats.env_base = lr.env_base;
        lr.stats.env_cap = lr.env_cap;
        lr.stats.window = (l.warmup_s, l.duration_s);
        lr.stats.arrivals.reserve(self.s.outs.capacity());
    }

    /// Adds the time since the last change to the time integrals, clipped to the window.
    /// Called several times per instant (arrival, enqueue, grant, release, end): after the
    /// first there is nothing to add, and that check is all it costs.
    #[inline]
    fn load_tick(&mut self) {
        if self.s.now != self.s.lr.last_t {
            self.load_tick_add();
        }
    }

    fn load_tick_add(&mut self) {
        let now = self.s.now;
        let lr = &mut self.s.lr;
        if let Some(dt) = window_span(lr.last_t, now, lr.stats.window) {
            lr.stats.env_busy_area += lr.env_active as f64 * dt;
            lr.stats.in_system_area += lr.in_system as f64 * dt;
            lr.stats.in_system_terms += 1;
            for (qs, &active) in lr.stats.queues.iter_mut().zip(&lr.queue_active) {
                if active > 0 {
                    qs.busy_area += active as f64 * dt;
                }
            }
        }
        lr.last_t = now;
    }

    /// The sub-queue of a task run (its queue's copy for its concurrencyKey value).
    fn subq_of(&self, run: u32) -> u32 {
        let r = &self.s.runs[run as usize];
        let (first, keys, attr) = self.m.queues.task_subq[r.task as usize];
        if attr == NONE {
            return first;
        }
        let v = self.s.inputs[self.inputs_of(run) + attr as usize];
        first + (v.max(0.0) as u32).min(keys - 1)
    }

    /// Puts run `run` in its queue, waiting for a slot.
    #[inline]
    pub(super) fn enqueue(&mut self, run: u32, why: QState) {
        self.load_tick();
        let now = self.s.now;
        let sq = self.subq_of(run);
        let prio = self.m.tasks[self.s.runs[run as usize].task as usize].priority_s;
        let r = &mut self.s.runs[run as usize];
        r.qstate = why;
        r.qgen = r.qgen.wrapping_add(1);
        r.enqueued = now;
        let qgen = r.qgen;
        self.s.seq += 1;
        let seq = self.s.seq;
        let eff = now - prio;
        let lr = &mut self.s.lr;
        let q = &mut lr.subqs[sq as usize];
        if lr.queued == 0 && lr.env_active < lr.env_cap && q.active < q.cap && lr.dq_every == 0.0 {
            // Nobody else waits and there is room: dispatch would pick this run at once, so
            // grant it without going through the sub-queue and the index.
            let qi = q.queue as usize;
            lr.queue_len[qi] += 1;
            lr.queued += 1;
            self.grant(run, sq);
            return;
        }
        q.heap.push(QEntry { eff, seq, run, qgen });
        // Index the sub-queue if it can take a slot and this run goes before its indexed head
        // (or it has none).
        if !lr.single
            && q.active < q.cap
            && (q.ready_seq == UNINDEXED || q.ready_eff.total_cmp(&eff).then(q.ready_seq.cmp(&seq)).is_gt())
        {
            q.ready_seq = seq;
            q.ready_eff = eff;
            lr.ready.push(Ready { eff, seq, sq });
        }
        let qi = q.queue as usize;
        lr.queue_len[qi] += 1;
        lr.queued += 1;
        self.request_dispatch();
    }

    /// Slots may be granted now: at once, or at the dequeue loop's next poll.
    fn request_dispatch(&mut self) {
        let lr = &mut self.s.lr;
        if lr.dq_every == 0.0 {
            self.dispatch();
            return;
        }
        if lr.dq_pending {
            return;
        }
        // The loop polls every `dq_every` while runs wait and every `dq_idle` after a poll
        // that found none; every poll since the last one found the same (nothing changed
        // the queues without asking for a dispatch), so the next poll is on that cadence.
        let step = if lr.dq_busy { lr.dq_every } else { lr.dq_idle };
        let now = self.s.now;
        let k = ((now - lr.dq_last) / step).ceil().max(1.0);
        lr.dq_pending = true;
        let t = lr.dq_last + k * step;
        self.push(t, EventKind::Dequeue, 0, 0, 0);
    }

    /// The dequeue loop polls: slots go to queued runs as `dispatch` picks them.
    pub(super) fn dequeue_poll(&mut self) {
        let lr = &mut self.s.lr;
        lr.dq_pending = false;
        lr.dq_last = self.s.now;
        lr.dq_busy = lr.queued > 0;
        self.dispatch();
    }

    /// Drops the stale heads of sub-queue `sq` (runs that expired, ended or queued again).
    fn drop_stale(&mut self, sq: u32) {
        let q = &mut self.s.lr.subqs[sq as usize];
        while let Some(h) = q.heap.peek() {
            let r = &self.s.runs[h.run as usize];
            if r.qgen == h.qgen && r.qstate != QState::None && !r.done {
                break;
            }
            q.heap.pop();
        }
    }

    /// Indexes sub-queue `sq` under its current head if it has one and a free slot and is
    /// not indexed yet.
    fn index(&mut self, sq: u32) {
        let lr = &mut self.s.lr;
        if lr.single {
            return;
        }
        let q = &mut lr.subqs[sq as usize];
        if q.ready_seq != UNINDEXED || q.active >= q.cap {
            return;
        }
        if let Some(h) = q.heap.peek() {
            q.ready_seq = h.seq;
            q.ready_eff = h.eff;
            lr.ready.push(Ready { eff: h.eff, seq: h.seq, sq });
        }
    }

    /// Grants free slots to queued runs, earliest effective time first: the run at the head
    /// of the sub-queue with the earliest head among those below their cap. The index
    /// `ready` holds those sub-queues keyed by a lower bound of their head; a top whose key
    /// is no longer its sub-queue's head is re-keyed and looked at again, so the first top
    /// whose key is exact is the earliest head of all. The cost is in the sub-queues that
    /// can take a slot and have runs waiting, not in the number of concurrencyKey values.
    #[inline]
    fn dispatch(&mut self) {
        if self.s.lr.single {
            // The same choice without the index: the one sub-queue's live head, while the
            // environment and the queue have room.
            loop {
                let lr = &self.s.lr;
                if lr.env_active >= lr.env_cap || lr.subqs[0].active >= lr.subqs[0].cap {
                    return;
                }
                self.drop_stale(0);
                let Some(h) = self.s.lr.subqs[0].heap.pop() else { return };
                self.grant(h.run, 0);
            }
        }
        if self.s.lr.scan {
            return self.dispatch_scan();
        }
        loop {
            if self.s.lr.env_active >= self.s.lr.env_cap {
                return;
            }
            let Some(&top) = self.s.lr.ready.peek() else { return };
            let sq = top.sq;
            if self.s.lr.subqs[sq as usize].ready_seq != top.seq {
                // Superseded by an earlier entry of the same sub-queue.
                self.s.lr.ready.pop();
                continue;
            }
            self.drop_stale(sq);
            let lr = &mut self.s.lr;
            let q = &mut lr.subqs[sq as usize];
            let head = q.heap.peek().map(|h| (h.eff, h.seq));
            match head {
                Some((eff, seq)) if q.active < q.cap => {
                    if seq != top.seq {
                        // The indexed head went stale: index the sub-queue under its new head.
                        q.ready_seq = seq;
                        q.ready_eff = eff;
                        if let Some(mut t) = lr.ready.peek_mut() {
                            *t = Ready { eff, seq, sq };
                        }
                        continue;
                    }
                    lr.ready.pop();
                    q.ready_seq = UNINDEXED;
                    let Some(h) = q.heap.pop() else { return };
                    self.grant(h.run, sq);
                    self.index(sq);
                }
                _ => {
                    // Empty (every run in it stale) or at its cap: out of the index.
                    lr.ready.pop();
                    q.ready_seq = UNINDEXED;
                }
            }
        }
    }

    /// [`Self::dispatch`] by looking at every sub-queue per grant, the way it was before the
    /// index: the reference the index must match grant for grant (tests/load.rs).
    fn dispatch_scan(&mut self) {
        while self.s.lr.env_active < self.s.lr.env_cap {
            let mut best: Option<(f64, u64, u32)> = None;
            for sq in 0..self.s.lr.subqs.len() as u32 {
                if self.s.lr.subqs[sq as usize].active >= self.s.lr.subqs[sq as usize].cap {
                    continue;
                }
                self.drop_stale(sq);
                if let Some(h) = self.s.lr.subqs[sq as usize].heap.peek()
                    && best.is_none_or(|(eff, seq, _)| h.eff.total_cmp(&eff).then(h.seq.cmp(&seq)).is_lt())
                {
                    best = Some((h.eff, h.seq, sq));
                }
            }
            let Some((_, _, sq)) = best else { return };
            let Some(h) = self.s.lr.subqs[sq as usize].heap.pop() else { return };
            self.grant(h.run, sq);
        }
    }

    /// In line in its callers on the hot path (enqueue, dispatch): as a call it costs about
    /// 60 instructions per M/M/4 customer.
    #[inline(always)]
    fn grant(&mut self, run: u32, sq: u32) {
        self.load_tick();
        let now = self.s.now;
        let lr = &mut self.s.lr;
        lr.env_active += 1;
        lr.queued -= 1;
        let q = &mut lr.subqs[sq as usize];
        q.active += 1;
        let (qi, key) = (q.queue as usize, q.key as usize);
        lr.queue_len[qi] -= 1;
        lr.queue_active[qi] += 1;
        let r = &mut self.s.runs[run as usize];
        let why = r.qstate;
        r.qstate = QState::None;
        r.slot = sq;
        let wait = now - r.enqueued;
        let (w0, w1) = lr.stats.window;
        if now >= w0 && now <= w1 {
            let qs = &mut lr.stats.queues[qi];
            qs.waits.push(wait);
            if let Some(k) = qs.by_key.get_mut(key) {
                k.push(wait);
            }
        }
        // A machine that ended a run within keepWarm seconds starts warm.
        let preset = r.machine as usize;
        let pool = &mut lr.warm[preset];
        while pool.front().is_some_and(|&until| until < now) {
            pool.pop_front();
        }
        let warm = pool.pop_back().is_some();
        lr.stats.starts += 1;
        lr.stats.warm_starts += u64::from(warm);
        // Each resume of an attempt draws a latency of its own (resume 1, 2, ...); a start
        // draws the attempt's (0), the same as a run alone would.
        let nth = if why == QState::Resume {
            r.resumes += 1;
            r.resumes
        } else {
            0
        };
        let (key, attempt) = (r.key, r.attempt);
        let lat = match if warm { lr.warm_fixed } else { lr.cold_fixed } {
            Some(v) => v,
            None if warm => start_latency_of(&self.m.start_latency, key, attempt, nth),
            None => self.cold_latency(key, attempt, nth),
        };
        self.obs.granted(run, now, wait, warm, lat, why == QState::Resume);
        match why {
            // Through an event even at zero latency: an attempt started in line here would
            // take its work-end's sequence number before the events already due at this
            // instant and before the rest of this one (the next arrival), so a work end tying
            // exactly with such an event would come first, where every run through the fibers
            // has it after (fixed durations with constant arrivals show the difference).
            QState::Start => {
                let g = self.s.runs[run as usize].gn;
                self.push(now + lat, EventKind::AttemptStart, run, g, 0);
            }
            QState::Resume => {
                let g = self.s.runs[run as usize].gn;
                self.push(now + lat, EventKind::Resumed, run, g, 0);
            }
            QState::None => {}
        }
    }

    /// An attempt of a one-step task starts its work (`start_attempt` calls it once the
    /// attempt is open; false: not such a task). It does what the attempt's root fiber would:
    /// start executing, draw the duration from the same stream, push one event at the end,
    /// but without the fiber and the op dispatch around it. Same numbers, same events.
    pub(super) fn start_simple(&mut self, run: u32, task: TaskId) -> bool {
        let (spec, part) = self.s.lr.simple[task as usize];
        if spec == NONE {
            return false;
        }
        let now = self.s.now;
        let w = &self.m.works[spec as usize];
        let DurSpec::Dist(d) = w.duration else { unreachable!("simple work has a duration distribution") };
        let r = &mut self.s.runs[run as usize];
        // set_active(root fiber, true) on the attempt start_attempt just opened (busy 0).
        r.busy += 1;
        r.cgen = r.cgen.wrapping_add(1);
        r.exec_since = now;
        // start_work: the root fiber's stream, mix3(akey, WORK, entry_pc << 32 | try 0, item
        // key 0), with the components' half precomputed.
        let mut rng = stream(crate::rng::mix_pre(r.akey, part));
        let scale = w.scale[r.machine as usize];
        let end = now + self.m.dists[d as usize].sample(&mut rng) * scale;
        let g = r.gn;
        self.obs.work(run, NONE, spec, now, end, false);
        self.push(end, EventKind::WorkEnd, run, g, 0);
        true
    }

    /// The work of a one-step task's attempt ended: the fiber would go on to the task's end,
    /// so the attempt ends OK and the run completes.
    pub(super) fn work_end(&mut self, run: u32) {
        debug_assert!(self.s.runs[run as usize].slot != NONE, "a one-step run never gives its slot back while working");
        let r = &self.s.runs[run as usize];
        let wf = r.wf;
        if r.waiter != Waiter::None || self.s.wfs[wf as usize].root != run {
            self.end_attempt(run, AttemptEnd::Ok);
            self.finish_run(run, Status::Completed);
            return;
        }
        // An entry run (nobody waits for it): end_attempt(run, Ok) then finish_run(run,
        // Completed), the same steps in the same order with the lookups done once.
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        let usage = r.close_attempt(now);
        let usd = usage * self.m.usd_per_s[r.machine as usize];
        let (task, attempt, start, machine, t_start) = (r.task, r.attempt, r.attempt_start, r.machine, r.t_start);
        r.done = true;
        r.status = Status::Completed;
        let acc = self.acc(run);
        acc.usage_s += usage;
        acc.compute_usd += usd;
        acc.attempt_on(machine, usage, usd, false);
        acc.statuses[Status::Completed as usize] += 1;
        acc.finished_on[machine as usize] += 1;
        if t_start.is_finite() {
            acc.execution_s += now - t_start;
        }
        let out = self.s.out_mut(wf);
        out.usage_s += usage;
        out.compute_usd += usd;
        out.cost_usd = out.compute_usd + out.invocation_usd;
        out.root_usage_s += usage;
        let outcome = AttemptEnd::Ok;
        self.obs.attempt(&AttemptRecord { run, task, attempt, machine, start, end: now, usage_s: usage, outcome });
        self.s.live -= 1;
        self.task_progress(run, 1.0);
        self.release(run);
        self.workflow_done(wf);
        self.set_progress(wf, 100.0);
        let w = &mut self.s.wfs[wf as usize];
        w.done = true;
        let d = now - w.arrival;
        let out = self.s.out_mut(wf);
        out.duration_s = d;
        out.status = Status::Completed;
        out.makespan_s = out.makespan_s.max(d);
        self.obs.run_end(run, Status::Completed, now);
    }

    /// Run `run` gives its slot back; its machine stays warm for a while.
    #[inline(always)]
    pub(super) fn release(&mut self, run: u32) {
        let sq = self.s.runs[run as usize].slot;
        if sq == NONE {
            return;
        }
        self.load_tick();
        let now = self.s.now;
        let r = &mut self.s.runs[run as usize];
        r.slot = NONE;
        r.cgen = r.cgen.wrapping_add(1);
        let preset = r.machine as usize;
        let lr = &mut self.s.lr;
        lr.env_active -= 1;
        let q = &mut lr.subqs[sq as usize];
        q.active -= 1;
        lr.queue_active[q.queue as usize] -= 1;
        let until = now + lr.keep_warm_s;
        lr.warm[preset].push_back(until);
        self.index(sq);
        self.request_dispatch();
    }

    /// The attempt of `run` just paused (every fiber waits): at once on a child, 60 s into a
    /// checkpointed wait.for.
    pub(super) fn paused(&mut self, run: u32) {
        let r = &mut self.s.runs[run as usize];
        if r.slot == NONE || r.done {
            return;
        }
        if r.child_waits > 0 {
            self.release(run);
        } else {
            r.cgen = r.cgen.wrapping_add(1);
            let g = r.cgen;
            self.push(self.s.now + SLOT_RELEASE_S, EventKind::Release, run, g, 0);
        }
    }

    /// A fiber of a run without a slot wants to go on: it waits until the run has one again.
    pub(super) fn defer_wake(&mut self, f: u32) {
        let run = self.s.fibers[f as usize].run;
        let head = self.s.runs[run as usize].pending;
        self.s.fibers[f as usize].next = head;
        self.s.runs[run as usize].pending = f;
        if self.s.runs[run as usize].qstate == QState::None {
            self.enqueue(run, QState::Resume);
        }
    }

    /// The run has a slot again after a checkpoint: its waiting fibers go on.
    pub(super) fn resumed(&mut self, run: u32) {
        let mut f = std::mem::replace(&mut self.s.runs[run as usize].pending, NONE);
        while f != NONE {
            let next = self.s.fibers[f as usize].next;
            let g = self.s.fibers[f as usize].gn;
            // Only this run's fibers (a fiber of an ended attempt may have been freed).
            if self.s.fibers[f as usize].run == run && self.live(f, g) {
                self.wake(f);
            }
            f = next;
        }
    }

    /// A run triggered with a ttl that has not started by then ends EXPIRED.
    pub(super) fn expire(&mut self, run: u32) {
        let r = &self.s.runs[run as usize];
        if r.qstate == QState::Start && r.attempt == 0 && !r.done {
            self.s.runs[run as usize].qstate = QState::None;
            self.s.lr.queued -= 1;
            let qi = self.s.lr.subqs[self.subq_of(run) as usize].queue as usize;
            self.s.lr.queue_len[qi] -= 1;
            self.s.lr.stats.expired += 1;
            self.finish_run(run, Status::Expired);
        }
    }

    /// Is the queue of a new run at its size limit?
    pub(super) fn queue_full(&self, run: u32) -> bool {
        let Some(max) = self.m.environment.max_queue_size else { return false };
        let qi = self.s.lr.subqs[self.subq_of(run) as usize].queue as usize;
        self.s.lr.queue_len[qi] >= max
    }

    /// A trigger into a full queue fails: the run ends FAILED without starting.
    pub(super) fn reject(&mut self, run: u32) {
        let qi = self.s.lr.subqs[self.subq_of(run) as usize].queue as usize;
        if let Some(q) = self.s.lr.stats.queues.get_mut(qi) {
            q.rejected += 1;
        }
        self.finish_run(run, Status::Failed);
    }

    /// Takes `n` batch items' tokens; returns the tokens that were available (items past
    /// them wait for the refill). Without a rate limit: infinity.
    pub(super) fn take_tokens(&mut self, n: u32) -> f64 {
        let Some(b) = self.m.environment.batch_tokens else { return f64::INFINITY };
        let now = self.s.now;
        let lr = &mut self.s.lr;
        let avail = (lr.tokens + (now - lr.tokens_t) * b.refill / b.every_s).min(b.bucket);
        lr.tokens = avail - n as f64;
        lr.tokens_t = now;
        avail
    }

    /// Seconds batch item `i` waits for a token, given the tokens available when its batch
    /// was triggered (refilled continuously at refill / every per second).
    pub(super) fn token_wait(&self, i: u32, avail: f64) -> f64 {
        let need = i as f64 + 1.0 - avail;
        if need <= 0.0 {
            return 0.0;
        }
        match self.m.environment.batch_tokens {
            Some(b) => need * b.every_s / b.refill,
            None => 0.0,
        }
    }

    fn cold_latency(&self, key: u64, attempt: u32, nth: u32) -> f64 {
        start_latency_of(&self.m.cold_start, key, attempt, nth)
    }

    /// Runs a whole load: arrivals over `duration`, then until every run has ended.
    fn load_run(&mut self, l: &Load, key: u64, one_step: bool, scan: bool) -> Result<(), SimError> {
        self.platform_setup(Some(l));
        self.s.lr.scan = scan;
        if !one_step {
            self.s.lr.simple.iter_mut().for_each(|s| s.0 = NONE);
        }
        self.s.lr.arrival_key = mix(key, purpose::ARRIVAL);
        self.s.lr.run_base = crate::rng::splitmix(key);
        self.next_arrival(l);
        first_events(l, |t, kind, gn, aux| self.push(t, kind, 0, gn, aux));
        self.event_loop(key)
    }

    /// Schedules the next arrival of the Poisson or constant stream, from now.
    fn next_arrival(&mut self, l: &Load) {
        let g = self.s.lr.arrival_gen.wrapping_add(1);
        let gap = self.arrival_gap(l, self.s.lr.stats.arrived, g);
        self.schedule_arrival(gap, g);
    }

    /// The gap to arrival `i` of the stream drawn under generation `g` (see [`arrival_gap`]).
    #[inline(always)]
    fn arrival_gap(&mut self, l: &Load, i: u64, g: u32) -> Option<f64> {
        arrival_gap(l, self.s.now, &mut self.s.lr.gap_mean, self.s.lr.arrival_key, i, g)
    }

    /// Pushes the stream's next arrival `gap` seconds from now under generation `g`.
    #[inline]
    fn schedule_arrival(&mut self, gap: Option<f64>, g: u32) {
        if let Some(gap) = gap {
            self.s.lr.arrival_gen = g;
            self.push(self.s.now + gap, EventKind::Arrival, 0, ARRIVAL_NEXT, g);
        }
    }

    /// An Arrival event: the next run of the stream, a rate change, or a burst.
    pub(super) fn arrival(&mut self, l: &Load, kind: u32, aux: u32) {
        if self.s.now > l.duration_s {
            return;
        }
        match kind {
            ARRIVAL_NEXT if aux == self.s.lr.arrival_gen => {
                // The next gap is drawn first (it is arrival `arrived + 1`, the one after this
                // run) but pushed after this run's events, as before: same numbers, same order.
                let g = self.s.lr.arrival_gen.wrapping_add(1);
                let gap = self.arrival_gap(l, self.s.lr.stats.arrived + 1, g);
                self.workflow_arrives();
                self.schedule_arrival(gap, g);
            }
            ARRIVAL_RATE_CHANGE => self.next_arrival(l),
            ARRIVAL_BURST => {
                for _ in 0..l.bursts[aux as usize].runs {
                    self.workflow_arrives();
                }
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn workflow_arrives(&mut self) {
        let i = self.s.lr.stats.arrived;
        self.s.lr.stats.arrived += 1;
        self.load_tick();
        self.s.lr.in_system += 1;
        let wf = self.new_workflow(crate::rng::mix3(self.s.lr.run_base, i, 0, 0));
        if self.s.wfs[wf as usize].measured {
            let now = self.s.now;
            self.s.lr.stats.arrivals.push(now);
        }
    }

    /// Records the backlog and schedules the next sample (one pending at a time).
    pub(super) fn sample_backlog(&mut self, l: &Load) {
        let q = self.s.lr.queued as f64;
        self.s.lr.stats.backlog.push((self.s.now, q));
        let lr = &mut self.s.lr;
        for (qs, &len) in lr.stats.queues.iter_mut().zip(&lr.queue_len) {
            qs.backlog.push(len as f64);
        }
        let i = self.s.lr.stats.backlog.len();
        if i <= BACKLOG_SAMPLES {
            self.push(l.duration_s * i as f64 / BACKLOG_SAMPLES as f64, EventKind::Sample, 0, 0, 0);
        }
    }

    /// An entry run ended: the workflow leaves the system.
    pub(super) fn workflow_done(&mut self, wf: u32) {
        if self.s.lr.isolated {
            return;
        }
        self.load_tick();
        let now = self.s.now;
        let lr = &mut self.s.lr;
        lr.in_system -= 1;
        let (w0, w1) = lr.stats.window;
        if now >= w0 && now <= w1 {
            lr.stats.completed_in_window += 1;
        }
        let _ = wf;
    }
}

/// The work step of task `t` when its program is that one step and an attempt of it can only
/// complete: a duration distribution, no failure, no memory (no out-of-memory), no
/// maxDuration. Else NONE. With a progress slice the step is followed by its progress report,
/// which moves the bar to the slice's end (fraction 1 of the slice, the one step being the
/// whole of it); the run's completion moves it there again at the same instant
/// (`finish_run`), so leaving the report out changes nothing.
fn simple_work(m: &Model, t: &Task) -> u32 {
    let pc = t.entry_pc as usize;
    let Some(&Op::Work { spec, .. }) = m.ops.get(pc) else { return NONE };
    let end = match m.ops.get(pc + 1) {
        Some(&Op::Progress { frac: 1.0 }) => pc + 2,
        _ => pc + 1,
    };
    let Some(Op::End) = m.ops.get(end) else { return NONE };
    let w = &m.works[spec as usize];
    let always_completes = matches!(w.duration, DurSpec::Dist(_))
        && w.failure <= 0.0
        && w.service.is_none()
        && w.memory_mb.is_none()
        && t.max_duration_s.is_none();
    if always_completes { spec } else { NONE }
}

/// The length of the part of [from, to] inside the measured window `(w0, w1)`, if it has any:
/// what the time integrals add since their last change.
#[inline(always)]
fn window_span(from: f64, to: f64, (w0, w1): (f64, f64)) -> Option<f64> {
    let (a, b) = (from.max(w0), to.min(w1));
    (b > a).then_some(b - a)
}

/// The gap from `now` to arrival `i` of the stream keyed `arrival_key`, drawn under
/// generation `g` (None: the rate is zero now, no arrival). `gap_mean` caches (rate per
/// minute, mean gap). Pure but for that cache, so a caller can draw it before the work of the
/// current arrival and let its latency (a mix and a draw) overlap that work.
#[inline(always)]
fn arrival_gap(l: &Load, now: f64, gap_mean: &mut (f64, f64), arrival_key: u64, i: u64, g: u32) -> Option<f64> {
    let per_minute = l.rate_at(now);
    if per_minute <= 0.0 {
        return None;
    }
    // The mean gap, kept while the rate stays: a division per arrival sat on the path to the
    // next event.
    if per_minute != gap_mean.0 {
        *gap_mean = (per_minute, 1.0 / (per_minute / 60.0));
    }
    let mean = gap_mean.1;
    Some(if l.poisson {
        // Keyed by the arrival and the pending arrival's generation (each scheduled arrival
        // takes the next one; a rate change makes the pending one stale).
        let mut rng = stream(crate::rng::mix3(arrival_key, i, g as u64, 0));
        crate::dist::exp1(&mut rng) * mean
    } else {
        mean
    })
}

/// Pushes (time, kind, generation, aux) the events a load starts with after its first
/// arrival: the rate changes, the bursts and the first backlog sample. A rate change redraws
/// the next arrival from the new rate (for Poisson arrivals this is exact: the process is
/// memoryless; constant arrivals restart their spacing).
fn first_events(l: &Load, mut push: impl FnMut(f64, EventKind, u32, u32)) {
    for &(until, _) in &l.schedule {
        if until < l.duration_s {
            push(until, EventKind::Arrival, ARRIVAL_RATE_CHANGE, 0);
        }
    }
    for (i, b) in l.bursts.iter().enumerate() {
        push(b.at_s, EventKind::Arrival, ARRIVAL_BURST, i as u32);
    }
    push(0.0, EventKind::Sample, 0, 0);
}

/// Backlog samples over the arrivals' duration.
pub const BACKLOG_SAMPLES: usize = 240;

/// Kinds of Arrival events (in the event's generation field).
const ARRIVAL_NEXT: u32 = 0;
const ARRIVAL_BURST: u32 = 1;
const ARRIVAL_RATE_CHANGE: u32 = 2;

thread_local! {
    /// The engine's state, reused by the replications a thread runs: its vectors keep their
    /// capacity, so a replication does not grow them again from empty.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::new());
}

/// Task runs above which a thread does not keep the engine's state for its next replication
/// (a huge one would otherwise hold its memory after it ends).
const KEEP_SCRATCH_RUNS: usize = 1 << 20;

/// Simulates replication `rep` of the scenario's load (a `load:` block is required).
pub fn simulate_load(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    simulate_load_on(m, seed, rep, tasks, Path::Auto)
}

/// [`simulate_load`] along `path`, in the thread's engine state.
fn simulate_load_on(
    m: &Model,
    seed: u64,
    rep: u64,
    tasks: &mut [TaskAcc],
    path: Path,
) -> Result<LoadOutcome, SimError> {
    if m.load.is_none() {
        return Ok(LoadOutcome::default());
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let out = simulate_load_in(m, seed, rep, tasks, &mut s, path, &mut NoObserver);
            if s.runs.capacity() > KEEP_SCRATCH_RUNS {
                *s = Scratch::new();
            }
            out
        }
        Err(_) => simulate_load_in(m, seed, rep, tasks, &mut Scratch::new(), path, &mut NoObserver),
    })
}

/// [`simulate_load`] with every run going through the fibers, the one-step shortcut
/// (`start_simple`) off: the same result bit for bit (tests/load.rs checks it).
#[doc(hidden)]
pub fn simulate_load_fibers(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    if m.load.is_none() {
        return Ok(LoadOutcome::default());
    }
    simulate_load_in(m, seed, rep, tasks, &mut Scratch::new(), Path::Fibers, &mut NoObserver)
}

/// [`simulate_load`] with `dispatch` scanning every sub-queue per grant instead of using the
/// index of those that can take a slot: the same result bit for bit (tests/load.rs checks it).
#[doc(hidden)]
pub fn simulate_load_scan(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    if m.load.is_none() {
        return Ok(LoadOutcome::default());
    }
    simulate_load_in(m, seed, rep, tasks, &mut Scratch::new(), Path::Scan, &mut NoObserver)
}

/// [`simulate_load`] through the general engine even where the one-queue path applies (see
/// `one_queue`): the same result bit for bit (tests/load.rs checks it).
#[doc(hidden)]
pub fn simulate_load_general(m: &Model, seed: u64, rep: u64, tasks: &mut [TaskAcc]) -> Result<LoadOutcome, SimError> {
    simulate_load_on(m, seed, rep, tasks, Path::General)
}

/// [`simulate_load`] with `obs` watching every task run of the replication (run indices are
/// the replication's, in trigger order; times since the start of the load): through the
/// general engine, the same replication bit for bit. The report's load timeline records one
/// workflow run of it.
pub fn simulate_load_observed<O: Observer>(
    m: &Model,
    seed: u64,
    rep: u64,
    tasks: &mut [TaskAcc],
    obs: &mut O,
) -> Result<LoadOutcome, SimError> {
    if m.load.is_none() {
        return Ok(LoadOutcome::default());
    }
    simulate_load_in(m, seed, rep, tasks, &mut Scratch::new(), Path::General, obs)
}

/// Do replications of `m`'s load take the one-queue path? (Tests check that the cases they
/// compare with the general engine do.)
#[doc(hidden)]
pub fn load_takes_one_queue(m: &Model) -> bool {
    m.load.as_ref().is_some_and(|l| one_queue::eligible(m, l))
}

/// How a replication is simulated: all give the same result, bit for bit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The one-queue path where it applies, else the general engine with the one-step
    /// shortcut.
    Auto,
    /// The general engine with the one-step shortcut.
    General,
    /// The general engine, every run through the fibers.
    Fibers,
    /// The general engine with the reference dispatcher.
    Scan,
}

/// About how many workflow runs arrive in a load's measured window (a capacity hint).
fn expected_runs(l: &Load) -> usize {
    let rate = l.schedule.iter().fold(l.per_minute, |r, &(_, x)| r.max(x)) / 60.0;
    let burst: u64 = l.bursts.iter().map(|b| b.runs as u64).sum();
    let n = rate * (l.duration_s - l.warmup_s).max(0.0) + burst as f64;
    if n.is_finite() { (n as usize).min(1 << 20) } else { 0 }
}

fn simulate_load_in<O: Observer>(
    m: &Model,
    seed: u64,
    rep: u64,
    tasks: &mut [TaskAcc],
    s: &mut Scratch,
    path: Path,
    obs: &mut O,
) -> Result<LoadOutcome, SimError> {
    let Some(l) = &m.load else {
        return Ok(LoadOutcome::default());
    };
    s.clear();
    // The outcomes vector leaves with the result: size the next one for about as many runs
    // as the last replication had (or as the arrival rate suggests), so it does not grow.
    let want = if s.outs_hint > 0 { s.outs_hint } else { expected_runs(l) };
    s.outs.reserve(want + want / 16 + 16);
    let key = mix(crate::rng::splitmix(seed), rep.wrapping_add(0x10AD));
    let mut e = Engine { m, s, tasks, obs };
    // The one-queue path reports nothing to an observer: one that records takes the general
    // engine, which gives the same replication.
    if path == Path::Auto && O::DIRECT && one_queue::eligible(m, l) {
        return e.load_one_queue(l, key);
    }
    e.load_run(l, key, path != Path::Fibers, path == Path::Scan)?;
    e.load_tick();
    if !m.services.is_empty() {
        e.svc_peaks();
    }
    // A workflow run still unfinished when nothing is left to happen is deadlocked: every slot
    // it could use is held by runs that wait for it. It counts as FAILED at the last event.
    let end = e.s.now;
    let mut stuck = 0;
    let s = &mut *e.s;
    // Workflow runs not done are the ones still counted in the system.
    if s.lr.in_system > 0 {
        for w in s.wfs.iter_mut().filter(|w| !w.done) {
            w.done = true;
            let o = if w.measured { &mut s.outs[w.out as usize] } else { &mut s.outs_warm[w.out as usize] };
            o.status = Status::Failed;
            o.duration_s = end - w.arrival;
            stuck += 1;
        }
    }
    s.lr.stats.deadlocked = stuck;
    let mut out = std::mem::take(&mut s.lr.stats);
    out.service_rates = s.svc_bins.clone();
    let (w0, w1) = out.window;
    // The measured workflow runs (arrived in the window) kept their outcomes in `outs`, in
    // arrival order, with cost_usd current: the vector becomes the result as it is, without
    // copying the large outcomes. Their arrival times were recorded as they arrived.
    out.outcomes = std::mem::take(&mut s.outs);
    s.outs_hint = out.outcomes.len();
    let wfs = &s.wfs;
    debug_assert!(wfs.iter().all(|w| w.measured == (w.arrival >= w0 && w.arrival <= w1)));
    debug_assert_eq!(out.arrivals.len(), out.outcomes.len());
    // Warm-up runs arrived before the measured ones: they are the first outs_warm.len().
    let warm = &s.outs_warm;
    debug_assert!(wfs[..warm.len()].iter().all(|w| !w.measured));
    out.carried_in = wfs[..warm.len()]
        .iter()
        .filter(|w| !w.measured && w.arrival < w0 && w.arrival + warm[w.out as usize].duration_s > w0)
        .map(|w| (w.arrival, warm[w.out as usize].duration_s))
        .collect();
    Ok(out)
}
