//! What the simulated runs say beyond their summaries: warnings that need a simulation.

mod simulated_warnings;

pub use simulated_warnings::{TIMED_OUT_SHARE, simulated_warnings};
