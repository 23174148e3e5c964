//! The event queue: a binary heap keyed by (time, sequence), so events at the same time are
//! handled first in, first out.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum EvKind {
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
pub(super) struct Ev {
    pub(super) key: u128,
    pub(super) kind: EvKind,
    pub(super) id: u32,
    pub(super) gn: u32,
    pub(super) aux: u32,
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
    pub(super) fn new(t: f64, seq: u64, kind: EvKind, id: u32, gn: u32, aux: u32) -> Ev {
        debug_assert!(t >= 0.0, "event time {t}");
        // `+ 0.0` turns a -0.0 into 0.0.
        Ev { key: ((t + 0.0).to_bits() as u128) << 64 | seq as u128, kind, id, gn, aux }
    }
    #[inline]
    pub(super) fn t(&self) -> f64 {
        f64::from_bits((self.key >> 64) as u64)
    }
}

/// The future events: a sorted vector while there are few (one run alone keeps a dozen
/// or so; insertion moves a few cache lines, popping is free), a binary heap once there are
/// more (a load's thousands of runs). Both pop in the same (time, seq) order.
#[derive(Default)]
pub(super) struct EvQueue {
    /// Descending by key: the next event is last.
    pub(super) small: Vec<Ev>,
    pub(super) heap: BinaryHeap<Ev>,
    pub(super) big: bool,
}

impl EvQueue {
    const SMALL: usize = 48;

    pub(super) fn clear(&mut self) {
        self.small.clear();
        self.heap.clear();
        self.big = false;
    }

    /// In line: the sorted-vector case is a few instructions, and as a call the event was
    /// passed through memory (the heap's code made the whole too big for LLVM to inline).
    #[inline(always)]
    pub(super) fn push(&mut self, ev: Ev) {
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
    pub(super) fn push_heap(&mut self, ev: Ev) {
        if !self.big {
            self.big = true;
            self.heap.extend(self.small.drain(..));
        }
        self.heap.push(ev);
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<&Ev> {
        if self.big { self.heap.peek() } else { self.small.last() }
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<Ev> {
        if self.big { self.heap.pop() } else { self.small.pop() }
    }
}
