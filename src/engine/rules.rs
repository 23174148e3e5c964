//! Platform rules the event engine and the direct path share, so both compute them the same
//! way bit for bit: progress levels, random-stream keys of a step, start latency, counts and
//! retry delays.

use super::outcome::LEVELS;
use crate::dist::Dist;
use crate::model::*;
use crate::platform::{self};
use crate::rng::{mix, mix3, purpose, stream};
use rand::RngExt;

/// Levels reached when the bar is at `v` percent (see [`reach_levels`]): x's integer part, at
/// most LEVELS, and none for a NaN or negative x. Through u32, which saturates: converting to a
/// 64-bit integer costs a longer sequence.
#[inline]
pub(super) fn levels_reached(v: f64) -> u32 {
    let x = v * (LEVELS as f64 / 100.0) + 1e-9;
    if x >= LEVELS as f64 { LEVELS as u32 } else { x as u32 }
}

/// The bar moved up to `v` percent at `t`: the levels not reached before (from `level`) that
/// `v` reaches get `t`. Level l (0-based) is reached at (l + 1) * LEVEL_STEP percent, that is
/// once x = v * LEVELS / 100 >= l + 1 (a multiplication, not a division by LEVEL_STEP: this
/// runs at every progress move; 1e-9 absorbs the rounding of slices such as 100 / 3): for l
/// below x's integer part, x being positive and finite.
#[inline]
pub(super) fn reach_levels(progress: &mut [f64; LEVELS], level: &mut u32, v: f64, t: f64) {
    let x = v * (LEVELS as f64 / 100.0) + 1e-9;
    // One level at a time: a move reaches one or two levels, and a fill loop over a range
    // is vectorised into a prologue and an epilogue that cost more than the stores.
    let mut l = *level as usize;
    while l < LEVELS && (l + 1) as f64 <= x {
        progress[l] = t;
        l += 1;
    }
    *level = l as u32;
}

/// [`reach_levels`] as one fill of the levels reached: the event engine's moves include a
/// run without progress jumping from 0 to 100% as it ends (every customer of a load), where a
/// vectorised fill beats twenty steps of the loop. The same levels get the same time.
#[inline]
pub(super) fn reach_levels_fill(progress: &mut [f64; LEVELS], level: &mut u32, v: f64, t: f64) {
    let (from, to) = (*level as usize, levels_reached(v) as usize);
    if to > from {
        progress[from..to].fill(t);
        *level = to as u32;
    }
}

/// Key of the stream of a step: the attempt's key, purpose, step, try and item.
#[inline]
pub(super) fn step_key(akey: u64, what: u64, pc: u32, tries: u32, ikey: u64) -> u64 {
    mix3(akey, what, (pc as u64) << 32 | tries as u64, ikey)
}

/// A start latency drawn from `d`: before attempt `attempt` (0-based) of task run `key`
/// (`nth` 0), or, under load, before resume `nth` (1-based) of attempt `attempt`.
pub(super) fn start_latency_of(d: &Dist, key: u64, attempt: u32, nth: u32) -> f64 {
    if let Some(v) = d.as_fixed() {
        return v;
    }
    d.sample(&mut stream(mix3(key, purpose::START_LATENCY, attempt as u64, nth as u64)))
}

/// How many of count `c` a step at `key` makes, given its workflow run's inputs.
pub(super) fn draw_count(m: &Model, c: u32, key: u64, inputs: &[f64]) -> u32 {
    match m.counts[c as usize] {
        Count::Fixed(n) => n,
        Count::Attr(a) => clamp_count(inputs[a as usize]),
        Count::Dist(d) => {
            let mut rng = stream(mix(key, purpose::COUNT));
            clamp_count(m.dists[d as usize].sample(&mut rng).round())
        }
    }
}

/// The task-level delay after attempt `attempt` of task run `key` threw.
pub(super) fn retry_delay(policy: &platform::RetryPolicy, key: u64, attempt: u32) -> f64 {
    let mut rng = stream(mix3(key, purpose::RETRY_DELAY, attempt as u64, 0));
    policy.delay_s(attempt, rng.random::<f64>())
}

pub(super) fn clamp_count(v: f64) -> u32 {
    if v.is_nan() || v <= 0.0 { 0 } else { v.min(u32::MAX as f64) as u32 }
}
