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

use crate::model::*;

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

mod events;
mod interpreter;
mod observer;
mod outcome;
mod rules;
mod run_state;

pub use direct::supported as direct_supported;
use interpreter::*;
pub use load::{BACKLOG_SAMPLES, SLOT_RELEASE_S, load_takes_one_queue, simulate_load, simulate_load_observed};
pub use observer::{AttemptEnd, AttemptRecord, NoObserver, Observer};
pub use outcome::*;
use rules::*;
pub use run_state::Scratch;

/// Promise.all items started in line (no event) when a step starts at most this many.
const DIRECT_ITEMS: u32 = 64;

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
    use super::events::{Event, EventKind, EventQueue};
    use crate::rng::stream;
    use rand::RngExt;

    /// The event queue pops every event in (time, seq) order, in both of its modes and across
    /// the switch from the sorted vector to the heap, against a sort of what was pushed. Pushes
    /// and pops interleave, times repeat (ties broken by the sequence), and later times are
    /// pushed after earlier ones are popped, as in a simulation.
    #[test]
    fn the_event_queue_pops_in_time_then_sequence_order() {
        let mut rng = stream(3);
        for round in 0..200 {
            let mut q = EventQueue::default();
            let (mut seq, mut now) = (0u64, 0.0f64);
            let mut popped = Vec::new();
            let mut pending: Vec<(u64, u64)> = Vec::new();
            let pushes = if round % 2 == 0 { 40 } else { 3000 };
            for _ in 0..pushes {
                for _ in 0..rng.random_range(1..4) {
                    seq += 1;
                    // Quarter seconds ahead of now: many ties.
                    let t = now + f64::from(rng.random_range(0u32..40)) * 0.25;
                    q.push(Event::new(t, seq, EventKind::Wake, 0, 0, 0));
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
