//! What a sweep is asked and what it produces: its options, rows, picks and errors.

use super::set::{SetSpec, SetValues};
use crate::analysis::summary::Statuses;
use crate::engine::SimError;
use crate::error::LoadError;
use crate::paired;
use crate::slo::Slo;
use serde::Serialize;

/// A variant is infeasible when its success rate is below the best variant's by more than
/// this many standard errors of the difference.
pub const SUCCESS_SE: f64 = 4.0;
/// The value `--balance` takes when not given: cost and p95 duration weigh the same.
pub const DEFAULT_BALANCE: f64 = 0.5;
/// Replications of a scenario's load per variant when `--replications` is not given: enough
/// for Student's t intervals (t = 2.26 with 9 degrees of freedom) at little cost.
pub const DEFAULT_REPLICATIONS: u64 = 10;

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The task whose machine is swept and whose out-of-memory and TIMED_OUT rates are
    /// reported; `all`: each task in turn, the others fixed. None: only `sets` are swept.
    pub task: Option<String>,
    /// Presets to try for the task, by name. Empty: all seven.
    pub machines: Vec<String>,
    /// Values at key paths; several cross each other, and cross the machines.
    pub sets: Vec<SetSpec>,
    /// Weight of cost in the `balanced` score, in [0, 1].
    pub balance: f64,
    /// SLOs to check besides the scenario's `slo:` list.
    pub slos: Vec<Slo>,
    /// Simulate runs alone even when the scenario has a `load:` block.
    pub isolated: bool,
    /// Replications of the load per variant (their means give the intervals).
    pub replications: u64,
    /// Allow recommending a variant whose runs of a swept task finish on another preset
    /// (rescued by `retry.outOfMemory.machine`).
    pub allow_oom_rescue: bool,
}

/// Why a sweep or a sensitivity analysis stopped. All of them are bad input (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A bad argument; the message says what was expected.
    #[error("error: {0}")]
    Usage(String),
    /// The scenario, or one variant of it, does not load.
    #[error("{source}{context}")]
    Load { context: String, source: LoadError },
    #[error("error: {0}")]
    Sim(#[from] SimError),
    #[error("error: {0}")]
    Simulate(#[from] crate::sim::SimulateError),
}

#[derive(Debug, Clone, Serialize)]
pub struct RowDuration {
    pub p50: f64,
    pub p95: f64,
    /// Half-width of the 95% interval of the p95 (batch or replication quantiles; null when
    /// it cannot be estimated).
    pub p95_ci95: f64,
    pub mean: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowCost {
    pub mean: f64,
    /// Half-width of the 95% interval of the mean (replication means under load).
    pub mean_ci95: f64,
    pub per_1000_runs: f64,
}

/// One variant's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The swept task's preset in this variant (null when no task is named).
    pub machine: Option<&'static str>,
    pub set: SetValues,
    pub duration_s: RowDuration,
    pub cost_usd: RowCost,
    pub success_rate: f64,
    pub statuses: Statuses,
    /// Attempts that ran out of memory per task run of the swept task (of all tasks when no
    /// task is named): the share of its runs with an OOM, as a run has at most one unless
    /// its upgraded retry runs out of memory too.
    pub oom_rate: f64,
    /// Share of the swept task's runs (of all task runs when no task is named) that ended
    /// TIMED_OUT.
    pub timed_out_rate: f64,
    /// With services: the share of their calls answered 429.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limited_share: Option<f64>,
    /// The swept task's runs by the preset their last attempt ran on, as shares (only
    /// presets with runs); with `--set tasks.T.machine=...`, task T's.
    pub finished_on: std::collections::BTreeMap<&'static str, f64>,
    /// Share of those runs that finished on another preset than the one swept: rescued by
    /// `retry.outOfMemory.machine`, so the row is really partly that preset.
    pub rescued_share: f64,
    pub feasible: bool,
    /// Out-of-memory rescued runs keep the row from the front and the picks (unless
    /// `--allow-oom-rescue`).
    pub rescued: bool,
    /// On the Pareto front of (mean cost, p95 duration) over the eligible variants (feasible,
    /// not rescued): no eligible variant is better beyond the noise on one and not worse
    /// beyond the noise on the other.
    pub pareto: bool,
    /// What makes the variant infeasible (null when feasible).
    pub infeasible_because: Option<String>,
    /// The row that dominates this one, when it is dominated (not on the front).
    pub dominated_by: Option<usize>,
    #[serde(skip)]
    pub runs: u64,
    /// Per-block measures for paired comparisons.
    #[serde(skip)]
    pub blocks: paired::Blocks,
}

/// A strategy's pick: which row, and its machine and set values.
#[derive(Debug, Clone, Serialize)]
pub struct Pick {
    pub row: usize,
    pub machine: Option<&'static str>,
    pub set: SetValues,
    /// Why it won: beyond the noise, or a tie broken by the other measure.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Recommended {
    /// The cheapest feasible variant (mean cost per run).
    pub cost: Option<Pick>,
    /// The feasible variant with the lowest p95 duration.
    pub speed: Option<Pick>,
    /// The feasible variant with the lowest `w * cost / min cost + (1 - w) * p95 / min p95`.
    pub balanced: Option<Pick>,
}

/// The sweep of one task (or of values alone).
#[derive(Debug, Clone, Serialize)]
pub struct Sweep {
    pub scenario: String,
    /// The environment the variants were simulated in (`Environment::describe`).
    pub environment: String,
    /// Replications of the scenario's load per variant; null: runs alone.
    pub load: Option<u64>,
    /// The scenario has a load but `--isolated` simulated runs alone.
    pub isolated: bool,
    /// Every variant came out the same (p50, p95, mean duration, mean cost, success rate):
    /// what was swept does not matter here.
    pub identical: bool,
    pub task: Option<String>,
    /// The task's preset in the scenario as written.
    pub scenario_machine: Option<&'static str>,
    /// Presets that trigger steps choose for the swept task's runs (`machine:` on the step):
    /// those runs keep them whatever preset a row sets. Empty: every run takes the row's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pinned_by_triggers: Vec<&'static str>,
    pub runs: u64,
    pub seed: u64,
    pub balance: f64,
    pub allow_oom_rescue: bool,
    pub slos: Vec<String>,
    pub rows: Vec<Row>,
    pub recommended: Recommended,
}

/// `--task all`: one sweep per task.
#[derive(Debug, Clone, Serialize)]
pub struct AllSweeps {
    pub scenario: String,
    pub task: &'static str,
    pub runs: u64,
    pub seed: u64,
    pub balance: f64,
    pub sweeps: Vec<Sweep>,
}
