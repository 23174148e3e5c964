//! Many runs of one model: fixed chunks of run indices simulated on rayon's threads and
//! merged in chunk order, so the result is the same for any thread count.

use crate::engine::{NoObserver, RunOutcome, Scratch, SimError, TaskAcc, simulate};
use crate::model::Model;
use crate::rng::run_key;
use rayon::prelude::*;

/// Runs per chunk: the unit of work handed to a thread and of merging.
pub const CHUNK: u64 = 1024;

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub runs: u64,
    pub seed: u64,
    /// None: all cores.
    pub threads: Option<usize>,
}

type Chunk = (Vec<RunOutcome>, Vec<TaskAcc>);

pub struct McResult {
    /// One outcome per run, in run order.
    pub outcomes: Vec<RunOutcome>,
    /// Per-task totals over all runs.
    pub tasks: Vec<TaskAcc>,
}

/// Simulates `cfg.runs` runs of `model`. Run i always draws from the stream of
/// `(seed, i)`, whichever thread simulates it.
pub fn run(model: &Model, cfg: Config) -> Result<McResult, SimError> {
    run_with(model, cfg, &|_| {})
}

/// Like [`run`], calling `on_chunk(runs_done_in_chunk)` as each chunk finishes (for
/// progress bars; called from worker threads).
pub fn run_with(model: &Model, cfg: Config, on_chunk: &(dyn Fn(u64) + Sync)) -> Result<McResult, SimError> {
    let go = || simulate_all(model, cfg, on_chunk);
    match cfg.threads {
        Some(t) => match rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        None => go(),
    }
}

fn simulate_all(model: &Model, cfg: Config, on_chunk: &(dyn Fn(u64) + Sync)) -> Result<McResult, SimError> {
    let chunks = cfg.runs.div_ceil(CHUNK);
    let parts: Vec<Result<Chunk, SimError>> = (0..chunks)
        .into_par_iter()
        .map_init(Scratch::new, |scratch, c| {
            let lo = c * CHUNK;
            let hi = (lo + CHUNK).min(cfg.runs);
            let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
            let mut out = Vec::with_capacity((hi - lo) as usize);
            for i in lo..hi {
                out.push(simulate(model, run_key(cfg.seed, i), scratch, &mut tasks, &mut NoObserver)?);
            }
            on_chunk(hi - lo);
            Ok((out, tasks))
        })
        .collect();
    let mut outcomes = Vec::with_capacity(cfg.runs as usize);
    let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
    for p in parts {
        let (o, t) = p?;
        outcomes.extend(o);
        for (a, b) in tasks.iter_mut().zip(&t) {
            a.merge(b);
        }
    }
    Ok(McResult { outcomes, tasks })
}

/// Replications of a scenario's load, each an independent simulation of the whole period.
pub struct LoadResult {
    pub reps: Vec<crate::engine::LoadOutcome>,
    pub tasks: Vec<TaskAcc>,
}

/// Simulates `replications` replications of the load on rayon's threads; replication r
/// draws from streams keyed by (seed, r) only, so the result does not depend on threads.
pub fn run_load(model: &Model, seed: u64, replications: u64, threads: Option<usize>) -> Result<LoadResult, SimError> {
    let go = || {
        let parts: Vec<Result<(crate::engine::LoadOutcome, Vec<TaskAcc>), SimError>> = (0..replications)
            .into_par_iter()
            .map(|r| {
                let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
                crate::engine::simulate_load(model, seed, r, &mut tasks).map(|o| (o, tasks))
            })
            .collect();
        let mut reps = Vec::new();
        let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
        for p in parts {
            let (o, t) = p?;
            reps.push(o);
            for (a, b) in tasks.iter_mut().zip(&t) {
                a.merge(b);
            }
        }
        Ok(LoadResult { reps, tasks })
    };
    match threads {
        Some(t) => match rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        None => go(),
    }
}
