//! Deterministic random streams.
//!
//! Every random draw of a simulated run comes from a stream keyed by the logical position
//! of the event that needs it (run, task run, attempt, step, item, try), never from a
//! shared generator. Results are then independent of thread count and of event order,
//! and two variants of a design see the same numbers for the same work (common random
//! numbers). The generator is SplitMix64 (Steele, Lea and Flood 2014; Java's
//! SplittableRandom): its output is fixed by its published definition, it passes BigCrush,
//! and a stream costs nothing to start, which matters because the engine opens one per step.

use rand::rand_core::TryRng;
use std::convert::Infallible;

/// SplitMix64: a 64-bit state advanced by the golden-ratio increment, output mixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng(u64);

impl TryRng for SimRng {
    type Error = Infallible;
    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }
    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let out = splitmix(self.0);
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        Ok(out)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// SplitMix64's finaliser: a bijective 64-bit mixer.
#[inline]
pub const fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derives a child key from a parent key and a component.
#[inline]
pub const fn mix(key: u64, part: u64) -> u64 {
    mix_pre(key, mix_part(part))
}

/// The half of [`mix`] that depends on the component only: `mix(key, part)` is
/// `mix_pre(key, mix_part(part))`, so a caller that mixes many keys with one component (or
/// one component twice) computes it once.
#[inline]
pub const fn mix_part(part: u64) -> u64 {
    splitmix(part.wrapping_add(0x632B_E59B_D9B4_E019))
}

/// [`mix`] given [`mix_part`] of its component.
#[inline]
pub const fn mix_pre(key: u64, pre: u64) -> u64 {
    splitmix(key ^ pre)
}

/// Derives a child key from a parent key and three components at the cost of one
/// finaliser: the components are folded by multiply, rotate and xor into the key, and
/// SplitMix64's finaliser mixes the result. The components need only be distinct, not
/// random: the key is already a finaliser's output. (The fold itself is not passed through a
/// finaliser first: that doubled the cost of a step's stream, the engine's largest single
/// cost after the draws themselves.) So a step's stream costs what the hand-written floor's
/// does.
#[inline]
pub fn mix3(key: u64, a: u64, b: u64, c: u64) -> u64 {
    mix_pre(key, mix3_part(a, b, c))
}

/// The half of [`mix3`] that depends on the components only: `mix3(key, a, b, c)` is
/// `mix_pre(key, mix3_part(a, b, c))`.
#[inline]
pub const fn mix3_part(a: u64, b: u64, c: u64) -> u64 {
    a.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F).rotate_left(21)
        ^ c.wrapping_mul(0x1656_67B1_9E37_79F9).rotate_left(42)
}

/// Key of attempt `attempt` (1-based) of the task run keyed `key`.
#[inline]
pub fn attempt_key(key: u64, attempt: u32) -> u64 {
    mix3(key, purpose::ATTEMPT, attempt as u64, 0)
}

#[inline]
pub fn stream(key: u64) -> SimRng {
    SimRng(key)
}

/// Key of run `index` of a Monte Carlo with seed `seed`.
#[inline]
pub fn run_key(seed: u64, index: u64) -> u64 {
    mix(splitmix(seed), index)
}

/// Purposes that separate streams drawn at the same position.
pub mod purpose {
    pub const INPUT: u64 = 1;
    pub const START_LATENCY: u64 = 2;
    pub const RETRY_DELAY: u64 = 3;
    pub const WORK: u64 = 4;
    pub const COUNT: u64 = 5;
    pub const POLL: u64 = 6;
    pub const WAIT: u64 = 7;
    pub const CHILD: u64 = 8;
    pub const ARRIVAL: u64 = 9;
    pub const ATTEMPT: u64 = 10;
    pub const SERVICE: u64 = 11;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs of SplitMix64 seeded with 0, from its published reference code.
        let mut r = stream(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn split_mixes_equal_the_whole() {
        for (k, p) in [(0u64, 0u64), (1, 2), (u64::MAX, 7), (0x1234_5678_9ABC_DEF0, u64::MAX)] {
            assert_eq!(mix_pre(k, mix_part(p)), mix(k, p));
            assert_eq!(mix_pre(k, mix3_part(p, 3, k)), mix3(k, p, 3, k));
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = stream(mix(run_key(42, 7), purpose::WORK)).next_u64();
        let b = stream(mix(run_key(42, 7), purpose::WORK)).next_u64();
        let c = stream(mix(run_key(42, 8), purpose::WORK)).next_u64();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
