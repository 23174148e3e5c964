//! One model simulated the way every command simulates it: runs alone (a Monte Carlo of
//! independent workflow runs), or its `load:` in independent replications of the whole
//! period. Under load, every mean's 95% interval comes from the replication means (runs that
//! share queues are not independent); see [`replication_intervals`].

use crate::analysis::{self, RunSummary};
use crate::engine::{RunOutcome, SimError};
use crate::model::Model;
use crate::montecarlo::{self, Config, McResult};

/// How a model is simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each workflow run alone on an otherwise idle environment (`Config::runs` of them).
    Alone,
    /// The model's `load:` block, in this many replications (at least 1).
    Load {
        /// Independent replications of the whole load period.
        replications: u64,
    },
}

impl Mode {
    /// The load when the model has one and `isolated` is not asked for, else runs alone.
    pub fn of(model: &Model, isolated: bool, replications: u64) -> Mode {
        if model.load.is_some() && !isolated { Mode::Load { replications: replications.max(1) } } else { Mode::Alone }
    }
}

/// A simulated model: every outcome, the summary, and under load which outcomes belong to
/// which replication.
pub struct Simulation {
    /// Every run's outcome (the first [`montecarlo::EXACT_RUNS`]) and the merged statistics.
    pub mc: McResult,
    /// What `wfsim run --json` prints: durations, cost, tasks, progress, SLOs, load.
    pub summary: RunSummary,
    /// Under load: the number of measured workflow runs of each replication, in order (the
    /// outcomes of replication r follow those of r - 1 in `mc.outcomes`). Empty alone.
    pub reps: Vec<usize>,
}

impl Simulation {
    /// The outcomes of each replication (under load), in order.
    pub fn replications(&self) -> Vec<&[RunOutcome]> {
        let mut out = Vec::with_capacity(self.reps.len());
        let mut at = 0;
        for &n in &self.reps {
            out.push(&self.mc.outcomes[at..at + n]);
            at += n;
        }
        out
    }
}

/// Why a simulation has nothing to report.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// A run processed more events than the scenario's `limits.maxEventsPerRun` (a runaway scenario).
    #[error("{0}")]
    Sim(#[from] SimError),
    /// Under load, no workflow run arrived after the warm-up.
    #[error("no workflow run arrived in the measured window; raise the arrival rate or the duration")]
    NoArrivals,
}

/// Simulates `model` in `mode`. Alone, `cfg.runs` runs (`keep`: keep every outcome even past
/// `EXACT_RUNS`); under load, `cfg.runs` does not apply. `on_runs` is called as runs finish
/// (alone) or once per replication with `cfg.runs / replications` (under load), for a
/// progress bar.
pub fn simulate(
    model: &Model,
    mode: Mode,
    cfg: Config,
    keep: bool,
    notes: Vec<String>,
    on_runs: &(dyn Fn(u64) + Sync),
) -> Result<Simulation, SimulateError> {
    let Mode::Load { replications } = mode else {
        let mc = montecarlo::run_keeping(model, cfg, keep, on_runs)?;
        return Ok(alone(model, mc, cfg.seed, notes));
    };
    let r = montecarlo::run_load(model, cfg.seed, replications.max(1), cfg.threads)?;
    on_runs(cfg.runs);
    under_load(model, r, cfg.seed, notes)
}

/// The simulation of runs alone, from their Monte Carlo result.
pub fn alone(model: &Model, mc: McResult, seed: u64, notes: Vec<String>) -> Simulation {
    let summary = analysis::summarise(model, &mc, seed, notes);
    Simulation { mc, summary, reps: Vec::new() }
}

/// The simulation of a load, from its replications.
pub fn under_load(
    model: &Model,
    mut r: montecarlo::LoadResult,
    seed: u64,
    notes: Vec<String>,
) -> Result<Simulation, SimulateError> {
    let load = analysis::load::summarise(model, &r);
    let rates = if model.services.is_empty() {
        Vec::new()
    } else {
        let reps: Vec<&[Vec<[u32; 2]>]> = r.reps.iter().map(|o| o.service_rates.as_slice()).collect();
        analysis::service_rates(model, &reps)
    };
    // All replications' outcomes in one vector, allocated once, each replication's freed as
    // it is moved in (collected from a flat_map, every outcome was held twice).
    let reps: Vec<usize> = r.reps.iter().map(|o| o.outcomes.len()).collect();
    let mut all = Vec::with_capacity(reps.iter().sum());
    for o in &mut r.reps {
        all.extend_from_slice(&std::mem::take(&mut o.outcomes));
    }
    let mc = McResult::from_outcomes(all, std::mem::take(&mut r.tasks));
    if mc.outcomes.is_empty() {
        return Err(SimulateError::NoArrivals);
    }
    let mut summary = analysis::summarise(model, &mc, seed, notes);
    summary.load = load;
    for (sv, r) in summary.services.iter_mut().zip(rates) {
        sv.rates = r;
    }
    let s = Simulation { mc, summary, reps };
    let iv = replication_intervals(&s.replications());
    let mut s = s;
    s.summary.duration_s.mean_ci95 = iv.duration;
    s.summary.cost_usd.mean_ci95 = iv.cost;
    s.summary.usage_duration_s.mean_ci95 = iv.usage;
    s.summary.makespan_s.mean_ci95 = iv.makespan;
    // A segment's runs of one replication share queues too: its intervals come from its
    // replication means.
    let mut segments = std::mem::take(&mut s.summary.segments);
    let reps = s.replications();
    for (seg, out) in model.segments.iter().zip(&mut segments) {
        let parts: Vec<Vec<RunOutcome>> = reps
            .iter()
            .map(|r| r.iter().filter(|o| analysis::segments::selects(seg.mask, o)).copied().collect())
            .collect();
        let parts: Vec<&[RunOutcome]> = parts.iter().map(|p| p.as_slice()).collect();
        let iv = replication_intervals(&parts);
        if let Some(d) = &mut out.duration_s {
            d.mean_ci95 = iv.duration;
        }
        if out.cost_usd_mean_ci95.is_some() {
            out.cost_usd_mean_ci95 = Some(iv.cost);
        }
    }
    s.summary.segments = segments;
    Ok(s)
}

/// Half-widths of the 95% intervals of the means under load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepIntervals {
    /// Mean workflow run duration, seconds.
    pub duration: f64,
    /// Mean cost of a workflow run, US dollars.
    pub cost: f64,
    /// Mean billed compute time of a workflow run, seconds.
    pub usage: f64,
    /// Mean makespan (until the last task run ends), seconds.
    pub makespan: f64,
}

/// The 95% intervals of the mean duration, cost, usage and makespan under load: Student's t
/// over the replication means (each replication is one independent observation; the runs
/// inside one share queues and slots, so they are not). Fewer than two replications with
/// runs: no interval can be estimated, and the half-widths are NaN (null in JSON).
pub fn replication_intervals(reps: &[&[RunOutcome]]) -> RepIntervals {
    let reps: Vec<&[RunOutcome]> = reps.iter().copied().filter(|r| !r.is_empty()).collect();
    let ci = |f: fn(&RunOutcome) -> f64| {
        let means: Vec<f64> = reps.iter().map(|r| r.iter().map(f).sum::<f64>() / r.len() as f64).collect();
        crate::stats::mean_ci95_t(&means).map_or(f64::NAN, |x| x.1)
    };
    RepIntervals {
        duration: ci(|o| o.duration_s),
        cost: ci(|o| o.cost_usd),
        usage: ci(|o| o.usage_s),
        makespan: ci(|o| o.makespan_s),
    }
}
