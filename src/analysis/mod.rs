//! What the simulated runs say: the summary of a Monte Carlo ([`summary`]), of a load
//! ([`load`]), designs compared on common random numbers ([`compare`]), and warnings that
//! need a simulation ([`simulated_warnings`]). Every output format reads these types. The run a
//! report draws as its timeline (the one nearest the median, recorded) is chosen here too
//! (`median_run`, internal).

pub mod compare;
mod distribution;
pub mod load;
#[doc(hidden)]
pub mod median_run;
pub mod segments;
mod simulated_warnings;
pub mod summary;

pub use compare::{Comparison, Ratio, VariantRow};
pub use load::LoadSummary;
pub use segments::SegmentSummary;
pub use simulated_warnings::{TIMED_OUT_SHARE, simulated_warnings};
pub use summary::{RunSummary, ServiceRate, ServiceSummary, TaskSummary, service_rates, summarise};
