//! The one-queue path of a load. It applies when every workflow run is one run of a one-step
//! task that can only complete (see `simple_work`), without a concurrencyKey of its own (its
//! queue may have copies that another task's key makes; its runs all wait in copy 0),
//! triggered without delay or ttl, with slots granted as soon as they are free (no dequeue
//! loop). That is the M/G/c queue with warm and cold starts: sizing one task's
//! concurrencyLimit, and the M/M/4 of issue 6.
//!
//! It is the event engine's schedule without the event engine: the same events (arrivals,
//! rate changes, bursts, backlog samples, attempt starts, work ends) under the same (time,
//! sequence) keys, the same draws from the same streams, and the same sums in the same order.
//! A replication therefore comes out bit for bit as the general engine gives it
//! (`simulate_load_general`; tests/load.rs compares them on ties, bursts, rate schedules,
//! full queues, random start latencies and warm-ups, and tests/load_properties.rs on random
//! designs and, with the fibers as a third, on a grid of quarter seconds where events tie). What it leaves out is what such a load never needs: fibers, frames, the full
//! per-run state, sub-queue heaps and their index, generation checks on events, the
//! observer. The queue is a FIFO: with one task every queued run's effective time is its
//! enqueue time minus the same priority, and subtracting one number never reorders times
//! (ties fall back to the sequence, which is the enqueue order too).

use super::super::events::{Event, EventKind, EventQueue};
use super::super::interpreter::Engine;
use super::super::observer::Observer;
use super::super::outcome::{EMPTY_OUTCOME, LEVELS, LoadOutcome, RunOutcome, SimError, Status, TaskAcc};
use super::super::rules::{reach_levels_fill, start_latency_of};
use super::{
    ARRIVAL_BURST, ARRIVAL_NEXT, ARRIVAL_RATE_CHANGE, BACKLOG_SAMPLES, arrival_gap, first_events, simple_work,
    window_span,
};
use crate::dist::Dist;
use crate::model::*;
use crate::rng::{attempt_key, mix, purpose, stream};

/// Can replications of this load take the one-queue path?
pub(super) fn eligible(m: &Model, _l: &Load) -> bool {
    let t = &m.tasks[m.entry as usize];
    // Runs that record marks (SLO filters, segments) draw their inputs: the general path.
    m.marks.is_empty()
        && m.environment.dequeue_every_s == 0.0
        && simple_work(m, t) != NONE
        && t.concurrency_key.is_none_or(|(_, n)| n <= 1)
        && t.delay_s <= 0.0
        && t.ttl_s.is_none()
}

/// A workflow run in the system (its entry run is the only task run).
#[derive(Clone, Copy)]
struct Run {
    key: u64,
    arrival: f64,
    /// Start of its attempt (executing from then until its work ends).
    start: f64,
    /// Progress levels reached when it started (measured runs with a slice starting above 0).
    level: u32,
    /// Its outcome in `outs` (measured) or its (arrival, duration) in `warm_runs`.
    out: u32,
    measured: bool,
}

struct OneQueue<'a> {
    m: &'a Model,
    l: &'a Load,
    ev: &'a mut EventQueue,
    seq: u64,
    now: f64,
    events: u64,
    /// Runs in the system, by slot (freed slots are reused).
    runs: Vec<Run>,
    free: Vec<u32>,
    /// Runs waiting for a slot, first in first out.
    waiting: std::collections::VecDeque<u32>,
    active: u32,
    /// min(queue cap, environment cap): the queue is the environment's only user.
    cap: u32,
    max_queue: u32,
    in_system: u32,
    /// Until when each idle machine of the task's preset stays warm (time order).
    warm: std::collections::VecDeque<f64>,
    warm_fixed: Option<f64>,
    cold_fixed: Option<f64>,
    keep_warm_s: f64,
    // The arrival stream (see `LoadRt`).
    arrival_key: u64,
    run_base: u64,
    arrival_gen: u32,
    gap_mean: (f64, f64),
    // The task.
    dist: &'a Dist,
    scale: f64,
    part: u64,
    usd_per_s: f64,
    /// The task's preset (its runs never move: the work always completes).
    machine: usize,
    invocation_usd: f64,
    progress: Option<(f64, f64)>,
    /// The task's totals (measured runs only; the general engine sends the others to a sink).
    acc: &'a mut TaskAcc,
    outs: &'a mut Vec<RunOutcome>,
    /// (arrival, duration) of the warm-up's workflow runs, in arrival order.
    warm_runs: Vec<(f64, f64)>,
    // Statistics (as `LoadOutcome`'s fields).
    w0: f64,
    w1: f64,
    last_t: f64,
    env_busy_area: f64,
    queue_busy_area: f64,
    in_system_area: f64,
    in_system_terms: u64,
    waits: &'a mut Vec<f64>,
    rejected: u64,
    arrived: u64,
    completed_in_window: u64,
    starts: u64,
    warm_starts: u64,
    arrivals: &'a mut Vec<f64>,
    backlog: &'a mut Vec<(f64, f64)>,
}

impl<O: Observer> Engine<'_, O> {
    /// Runs a whole load on the one-queue path (the caller checked [`eligible`]) and returns
    /// what `simulate_load_in` returns for it.
    pub(super) fn load_one_queue(&mut self, l: &Load, key: u64) -> Result<LoadOutcome, SimError> {
        self.platform_setup(Some(l));
        let m = self.m;
        let entry = m.entry as usize;
        let t = &m.tasks[entry];
        let spec = simple_work(m, t);
        let work = &m.works[spec as usize];
        let DurSpec::Dist(d) = work.duration else { unreachable!("simple work has a duration distribution") };
        let lr = &mut self.s.lr;
        let (sq, _, _) = m.queues.task_subq[entry];
        let q = &lr.subqs[sq as usize];
        let (qi, qkey) = (q.queue as usize, q.key as usize);
        let mut stats = std::mem::take(&mut lr.stats);
        let mut waits = std::mem::take(&mut stats.queues[qi].waits);
        let mut sim = OneQueue {
            m,
            l,
            ev: &mut self.s.heap,
            seq: 0,
            now: 0.0,
            events: 0,
            runs: Vec::with_capacity(64),
            free: Vec::with_capacity(64),
            waiting: std::collections::VecDeque::with_capacity(64),
            active: 0,
            cap: q.cap.min(lr.env_cap),
            max_queue: m.environment.max_queue_size.unwrap_or(u32::MAX),
            in_system: 0,
            warm: std::collections::VecDeque::with_capacity(64),
            warm_fixed: lr.warm_fixed,
            cold_fixed: lr.cold_fixed,
            keep_warm_s: lr.keep_warm_s,
            arrival_key: mix(key, purpose::ARRIVAL),
            run_base: crate::rng::splitmix(key),
            arrival_gen: 0,
            gap_mean: (f64::NAN, f64::NAN),
            dist: &m.dists[d as usize],
            scale: work.scale[t.machine as usize],
            part: lr.simple[entry].1,
            usd_per_s: m.usd_per_s[t.machine as usize],
            machine: t.machine as usize,
            invocation_usd: m.invocation_usd,
            progress: t.progress,
            acc: &mut self.tasks[entry],
            outs: &mut self.s.outs,
            warm_runs: Vec::new(),
            w0: stats.window.0,
            w1: stats.window.1,
            last_t: 0.0,
            env_busy_area: 0.0,
            queue_busy_area: 0.0,
            in_system_area: 0.0,
            in_system_terms: 0,
            waits: &mut waits,
            rejected: 0,
            arrived: 0,
            completed_in_window: 0,
            starts: 0,
            warm_starts: 0,
            arrivals: &mut stats.arrivals,
            backlog: &mut stats.backlog,
        };
        sim.run(key)?;
        sim.tick();
        debug_assert_eq!(sim.in_system, 0, "every run of a one-step task that cannot fail ends");
        let (w0, warm_runs) = (sim.w0, std::mem::take(&mut sim.warm_runs));
        stats.env_busy_area = sim.env_busy_area;
        stats.in_system_area = sim.in_system_area;
        stats.in_system_terms = sim.in_system_terms;
        stats.arrived = sim.arrived;
        stats.completed_in_window = sim.completed_in_window;
        stats.starts = sim.starts;
        stats.warm_starts = sim.warm_starts;
        let qs = &mut stats.queues[qi];
        qs.busy_area = sim.queue_busy_area;
        qs.rejected = sim.rejected;
        // When another task gives the queue concurrencyKey copies, the waits are also kept per
        // key: the entry's runs all wait in the copy of key 0, and no other run waits.
        if let Some(k) = qs.by_key.get_mut(qkey) {
            k.clone_from(&waits);
        }
        qs.waits = waits;
        // Every waiting run is the entry task's, in its queue: that queue's backlog is the
        // total, the other queues' none.
        for (i, q) in stats.queues.iter_mut().enumerate() {
            q.backlog =
                if i == qi { stats.backlog.iter().map(|p| p.1).collect() } else { vec![0.0; stats.backlog.len()] };
        }
        stats.outcomes = std::mem::take(&mut self.s.outs);
        self.s.outs_hint = stats.outcomes.len();
        debug_assert_eq!(stats.arrivals.len(), stats.outcomes.len());
        stats.carried_in = warm_runs.into_iter().filter(|&(a, d)| a < w0 && a + d > w0).collect();
        Ok(stats)
    }
}

impl OneQueue<'_> {
    fn run(&mut self, key: u64) -> Result<(), SimError> {
        let l = self.l;
        // As `load_run` sets up.
        self.next_arrival();
        first_events(l, |t, kind, gn, aux| self.push(t, kind, 0, gn, aux));
        let limit = self.m.limits.max_events_per_run;
        while let Some(ev) = self.ev.pop() {
            self.now = ev.t();
            self.events += 1;
            if self.events > limit {
                return Err(SimError::EventBudget {
                    scope: "run",
                    run: key,
                    limit,
                    task: self.m.tasks[self.m.entry as usize].name.clone(),
                });
            }
            match ev.kind {
                EventKind::WorkEnd => self.work_end(ev.id),
                EventKind::Arrival => self.arrival(ev.gn, ev.aux),
                EventKind::AttemptStart => self.start(ev.id),
                EventKind::Sample => {
                    self.backlog.push((self.now, self.waiting.len() as f64));
                    let i = self.backlog.len();
                    if i <= BACKLOG_SAMPLES {
                        self.push(l.duration_s * i as f64 / BACKLOG_SAMPLES as f64, EventKind::Sample, 0, 0, 0);
                    }
                }
                _ => unreachable!("the one-queue path pushes no other event"),
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn push(&mut self, t: f64, kind: EventKind, id: u32, gn: u32, aux: u32) {
        self.seq += 1;
        self.ev.push(Event::new(t, self.seq, kind, id, gn, aux));
    }

    /// `load_tick`: the time since the last change into the time integrals.
    #[inline(always)]
    fn tick(&mut self) {
        if self.now != self.last_t {
            if let Some(dt) = window_span(self.last_t, self.now, (self.w0, self.w1)) {
                self.env_busy_area += self.active as f64 * dt;
                self.in_system_area += self.in_system as f64 * dt;
                self.in_system_terms += 1;
                if self.active > 0 {
                    self.queue_busy_area += self.active as f64 * dt;
                }
            }
            self.last_t = self.now;
        }
    }

    fn in_window(&self) -> bool {
        self.now >= self.w0 && self.now <= self.w1
    }

    fn next_arrival(&mut self) {
        let g = self.arrival_gen.wrapping_add(1);
        let gap = self.gap(self.arrived, g);
        self.schedule_arrival(gap, g);
    }

    #[inline(always)]
    fn gap(&mut self, i: u64, g: u32) -> Option<f64> {
        arrival_gap(self.l, self.now, &mut self.gap_mean, self.arrival_key, i, g)
    }

    #[inline(always)]
    fn schedule_arrival(&mut self, gap: Option<f64>, g: u32) {
        if let Some(gap) = gap {
            self.arrival_gen = g;
            self.push(self.now + gap, EventKind::Arrival, 0, ARRIVAL_NEXT, g);
        }
    }

    /// `LoadRt::arrival`.
    #[inline(always)]
    fn arrival(&mut self, kind: u32, aux: u32) {
        if self.now > self.l.duration_s {
            return;
        }
        match kind {
            ARRIVAL_NEXT if aux == self.arrival_gen => {
                let g = self.arrival_gen.wrapping_add(1);
                let gap = self.gap(self.arrived + 1, g);
                self.arrive();
                self.schedule_arrival(gap, g);
            }
            ARRIVAL_RATE_CHANGE => self.next_arrival(),
            ARRIVAL_BURST => {
                for _ in 0..self.l.bursts[aux as usize].runs {
                    self.arrive();
                }
            }
            _ => {}
        }
    }

    /// A workflow run arrives and its entry run is triggered (`workflow_arrives`,
    /// `new_workflow`, `trigger_run`): into the queue, or rejected if it is full.
    #[inline(always)]
    fn arrive(&mut self) {
        let i = self.arrived;
        self.arrived += 1;
        self.tick();
        self.in_system += 1;
        let key = crate::rng::mix3(self.run_base, i, 0, 0);
        let now = self.now;
        let measured = self.in_window();
        let inv = self.invocation_usd;
        let out = if measured {
            let mut o = EMPTY_OUTCOME;
            o.invocation_usd += inv;
            o.cost_usd = o.compute_usd + o.invocation_usd;
            o.task_runs += 1;
            self.outs.push(o);
            self.acc.runs += 1;
            self.acc.invocation_usd += inv;
            self.outs.len() - 1
        } else {
            self.warm_runs.push((now, 0.0));
            self.warm_runs.len() - 1
        } as u32;
        if self.waiting.len() >= self.max_queue as usize {
            // `reject`, then `finish_run(Failed)` of a run that never started: it holds no
            // slot, and its workflow run ends at once.
            self.rejected += 1;
            if measured {
                self.acc.statuses[Status::Failed as usize] += 1;
                self.acc.finished_on[self.machine] += 1;
            }
            self.workflow_done();
            if measured {
                // Its duration and makespan stay 0: it ended as it arrived.
                self.outs[out as usize].status = Status::Failed;
            }
        } else {
            let r = Run { key, arrival: now, start: 0.0, level: 0, out, measured };
            let id = match self.free.pop() {
                Some(id) => {
                    self.runs[id as usize] = r;
                    id
                }
                None => {
                    self.runs.push(r);
                    (self.runs.len() - 1) as u32
                }
            };
            self.enqueue(id);
        }
        if measured {
            self.arrivals.push(now);
        }
    }

    /// `enqueue` then `dispatch`: a run that finds nobody waiting and a free slot gets it now.
    #[inline(always)]
    fn enqueue(&mut self, id: u32) {
        // (The general engine also numbers the queue entry; only the order of the numbers
        // matters, and that does not change it.)
        self.tick();
        if self.waiting.is_empty() && self.active < self.cap {
            self.grant(id);
        } else {
            self.waiting.push_back(id);
            self.dispatch();
        }
    }

    #[inline(always)]
    fn dispatch(&mut self) {
        while self.active < self.cap {
            let Some(id) = self.waiting.pop_front() else { return };
            self.grant(id);
        }
    }

    /// `grant`: the run takes a slot, on a warm machine if one is idle, and starts after its
    /// start latency.
    #[inline(always)]
    fn grant(&mut self, id: u32) {
        self.tick();
        self.active += 1;
        let now = self.now;
        let r = self.runs[id as usize];
        if self.in_window() {
            self.waits.push(now - r.arrival);
        }
        while self.warm.front().is_some_and(|&until| until < now) {
            self.warm.pop_front();
        }
        let warm = self.warm.pop_back().is_some();
        self.starts += 1;
        self.warm_starts += u64::from(warm);
        let lat = match if warm { self.warm_fixed } else { self.cold_fixed } {
            Some(v) => v,
            None if warm => start_latency_of(&self.m.start_latency, r.key, 0, 0),
            None => start_latency_of(&self.m.cold_start, r.key, 0, 0),
        };
        // Through an event even at zero latency, as `grant` does (so ties order as in the
        // fibers).
        self.push(now + lat, EventKind::AttemptStart, id, 0, 0);
    }

    /// `start_attempt` and `start_simple`: the first attempt starts its work.
    #[inline(always)]
    fn start(&mut self, id: u32) {
        let now = self.now;
        let r = &mut self.runs[id as usize];
        r.start = now;
        let (key, arrival, out, measured) = (r.key, r.arrival, r.out, r.measured);
        if measured {
            self.acc.queued_s += now - arrival;
            self.acc.attempts += 1;
            let o = &mut self.outs[out as usize];
            o.attempts += 1;
            // `task_progress(0)`: a slice starting above 0 moves the bar to its start.
            if let Some((a, b)) = self.progress {
                reach_levels_fill(&mut o.progress, &mut r.level, a + (b - a) * 0.0, now - arrival);
            }
        }
        let mut rng = stream(crate::rng::mix_pre(attempt_key(key, 1), self.part));
        let end = now + self.dist.sample(&mut rng) * self.scale;
        self.push(end, EventKind::WorkEnd, id, 0, 0);
    }

    /// `work_end` of an entry run: the attempt ends OK, the run completes, its slot goes to
    /// the next run waiting, and its workflow run leaves the system.
    #[inline(always)]
    fn work_end(&mut self, id: u32) {
        let now = self.now;
        let r = self.runs[id as usize];
        // `close_attempt`: the attempt's one executing span (0 + span in the general engine,
        // the same number: the span is never -0).
        let usage = now - r.start;
        let usd = usage * self.usd_per_s;
        if r.measured {
            let acc = &mut *self.acc;
            acc.usage_s += usage;
            acc.compute_usd += usd;
            acc.statuses[Status::Completed as usize] += 1;
            acc.finished_on[self.machine] += 1;
            acc.attempt_on(self.machine as u8, usage, usd, false);
            // Execution from the first attempt's start, which is this one's.
            acc.execution_s += usage;
            let o = &mut self.outs[r.out as usize];
            o.usage_s += usage;
            o.compute_usd += usd;
            o.cost_usd = o.compute_usd + o.invocation_usd;
            o.root_usage_s += usage;
        }
        // `release`.
        self.tick();
        self.active -= 1;
        self.warm.push_back(now + self.keep_warm_s);
        self.dispatch();
        self.workflow_done();
        let d = now - r.arrival;
        if r.measured {
            let o = &mut self.outs[r.out as usize];
            // `task_progress(1)` and `set_progress(100)`: every level not reached at the start
            // is reached now.
            if r.level == 0 {
                // (The usual case, as twenty stores of one constant length.)
                o.progress = [d; LEVELS];
            } else {
                o.progress[r.level as usize..].fill(d);
            }
            o.duration_s = d;
            o.status = Status::Completed;
            o.makespan_s = o.makespan_s.max(d);
        } else {
            self.warm_runs[r.out as usize].1 = d;
        }
        self.free.push(id);
    }

    #[inline(always)]
    fn workflow_done(&mut self) {
        self.tick();
        self.in_system -= 1;
        if self.in_window() {
            self.completed_in_window += 1;
        }
    }
}
