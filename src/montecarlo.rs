//! Many runs of one model: fixed chunks of run indices simulated on rayon's threads and
//! merged in chunk order, so the result is the same for any thread count.

use crate::engine::{EMPTY_OUTCOME, NoObserver, RunOutcome, Scratch, SimError, TaskAcc, simulate_into};
use crate::model::Model;
use crate::rng::run_key;
use rayon::prelude::*;

/// Runs per chunk: the unit of work handed to a thread and of merging.
pub const CHUNK: u64 = 1024;

/// The seed every command uses unless `--seed` is given.
pub const DEFAULT_SEED: u64 = 1;

/// How many runs to simulate, from which seed, on how many threads.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Workflow runs to simulate (alone; under load the period decides).
    pub runs: u64,
    /// The seed: the same seed and scenario give the same result, on any number of threads.
    pub seed: u64,
    /// None: all cores.
    pub threads: Option<usize>,
}

type Chunk = (RunStats, Vec<TaskAcc>);
/// Chunks a rayon split simulated, by their first run, with the split's histograms.
type Split = (Vec<(u64, Result<Chunk, SimError>)>, RunStats);

/// Chunks simulated in parallel before their results are merged, in order: bounds memory
/// (a chunk's result is its sums and per-task totals, about 1 KB; outcomes are written in
/// place and histograms kept per split). Few batches, few points where all threads wait.
const BATCH: u64 = 1024;

/// The runs of one model: the outcomes kept one by one and the mergeable statistics of all.
pub struct McResult {
    /// One outcome per run, in run order, for the first `EXACT_RUNS` runs (all of them when
    /// there are no more): exact statistics, charts, comparisons.
    pub outcomes: Vec<RunOutcome>,
    /// Mergeable statistics of every run.
    pub stats: RunStats,
    /// Per-task totals over all runs.
    pub tasks: Vec<TaskAcc>,
}

impl McResult {
    /// From outcomes kept in full (a load's workflow runs).
    pub fn from_outcomes(outcomes: Vec<RunOutcome>, tasks: Vec<TaskAcc>) -> McResult {
        let mut stats = RunStats::default();
        for o in &outcomes {
            stats.add(o);
        }
        McResult { outcomes, stats, tasks }
    }

    /// Are all runs' outcomes kept (so statistics can be exact)?
    pub fn exact(&self) -> bool {
        self.outcomes.len() as u64 == self.stats.n
    }
}

/// Runs whose outcomes are kept one by one; past them, statistics come from `RunStats`'
/// histograms (quantiles within 0.39%), so memory stays flat in the number of runs.
pub const EXACT_RUNS: u64 = 100_000;

/// Sums and histograms of run outcomes, merged in chunk order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStats {
    /// Runs counted.
    pub n: u64,
    /// Runs by final status, in the order of `engine::Status` (completed, failed, crashed, timed out, expired).
    pub statuses: [u64; 5],
    /// Per quantity (duration, cost, usage, makespan): sum, sum of squares, min, max, histogram.
    pub duration: Moments,
    /// Cost of a workflow run, US dollars.
    pub cost: Moments,
    /// Billed compute time of a workflow run, seconds.
    pub usage: Moments,
    /// Until the last task run ends, seconds.
    pub makespan: Moments,
    /// Sum over runs of the compute cost, US dollars.
    pub compute_usd: f64,
    /// Sum over runs of the invocation cost, US dollars.
    pub invocation_usd: f64,
    /// Sum over runs of the entry task run's billed seconds.
    pub root_usage_s: f64,
    /// Sum over runs of the task attempts.
    pub attempts: f64,
    /// Sum over runs of the task runs.
    pub task_runs: f64,
    /// Time each progress level was reached, over successful runs.
    pub progress: Vec<crate::stats::LogHistogram>,
}

/// Sums, extremes and histogram of one quantity over runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moments {
    /// Sum of the values.
    pub sum: f64,
    /// Sum of their squares.
    pub sumsq: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Log-bucketed histogram (quantiles within 0.39%).
    pub hist: crate::stats::LogHistogram,
}

impl Moments {
    fn add(&mut self, x: f64, first: bool) {
        self.sum += x;
        self.sumsq += x * x;
        self.min = if first { x } else { self.min.min(x) };
        self.max = if first { x } else { self.max.max(x) };
    }
    /// Merges the sums and extremes (the histogram is merged by `RunStats::merge_histograms`).
    fn merge_sums(&mut self, o: &Moments, first: bool) {
        self.sum += o.sum;
        self.sumsq += o.sumsq;
        self.min = if first { o.min } else { self.min.min(o.min) };
        self.max = if first { o.max } else { self.max.max(o.max) };
    }
    /// Mean and the half-width of its 95% interval.
    pub fn mean_ci95(&self, n: u64) -> (f64, f64) {
        if n == 0 {
            return (0.0, 0.0);
        }
        let nf = n as f64;
        let mean = self.sum / nf;
        if n < 2 {
            return (mean, 0.0);
        }
        let var = ((self.sumsq - nf * mean * mean) / (nf - 1.0)).max(0.0);
        (mean, 1.96 * (var / nf).sqrt())
    }
}

impl RunStats {
    /// Adds one run: its sums, counts, extremes and histogram entries.
    pub fn add(&mut self, o: &RunOutcome) {
        self.add_sums(o);
        self.add_histograms(o);
    }

    /// Adds a run's sums, counts and extremes (its histogram entries are `add_histograms`:
    /// they are needed only when there are more runs than outcomes kept).
    pub fn add_sums(&mut self, o: &RunOutcome) {
        let first = self.n == 0;
        self.n += 1;
        self.statuses[o.status as usize] += 1;
        self.duration.add(o.duration_s, first);
        self.cost.add(o.cost_usd, first);
        self.usage.add(o.usage_s, first);
        self.makespan.add(o.makespan_s, first);
        self.compute_usd += o.compute_usd;
        self.invocation_usd += o.invocation_usd;
        self.root_usage_s += o.root_usage_s;
        self.attempts += o.attempts as f64;
        self.task_runs += o.task_runs as f64;
    }

    /// The histogram entries of one run.
    pub fn add_histograms(&mut self, o: &RunOutcome) {
        if self.progress.is_empty() {
            self.progress = vec![crate::stats::LogHistogram::default(); crate::engine::LEVELS];
        }
        self.duration.hist.insert(o.duration_s);
        self.cost.hist.insert(o.cost_usd);
        self.usage.hist.insert(o.usage_s);
        self.makespan.hist.insert(o.makespan_s);
        if o.status == crate::engine::Status::Completed {
            for (h, &t) in self.progress.iter_mut().zip(&o.progress) {
                if t.is_finite() {
                    h.insert(t);
                }
            }
        }
    }

    /// Adds the histograms of `o` (counts: the same whatever the order of merging).
    pub fn merge_histograms(&mut self, o: &RunStats) {
        for (a, b) in [
            (&mut self.duration.hist, &o.duration.hist),
            (&mut self.cost.hist, &o.cost.hist),
            (&mut self.usage.hist, &o.usage.hist),
            (&mut self.makespan.hist, &o.makespan.hist),
        ] {
            a.merge(b);
        }
        if self.progress.is_empty() {
            self.progress = o.progress.clone();
        } else {
            for (a, b) in self.progress.iter_mut().zip(&o.progress) {
                a.merge(b);
            }
        }
    }

    /// Adds the sums, counts and extremes of `o` (a later chunk); histograms are merged by [`RunStats::merge_histograms`].
    pub fn merge(&mut self, o: &RunStats) {
        if o.n == 0 {
            return;
        }
        let first = self.n == 0;
        self.n += o.n;
        for i in 0..5 {
            self.statuses[i] += o.statuses[i];
        }
        self.duration.merge_sums(&o.duration, first);
        self.cost.merge_sums(&o.cost, first);
        self.usage.merge_sums(&o.usage, first);
        self.makespan.merge_sums(&o.makespan, first);
        self.compute_usd += o.compute_usd;
        self.invocation_usd += o.invocation_usd;
        self.root_usage_s += o.root_usage_s;
        self.attempts += o.attempts;
        self.task_runs += o.task_runs;
        self.merge_histograms(o);
    }
}

/// Simulates `cfg.runs` runs of `model`. Run i always draws from the stream of
/// `(seed, i)`, whichever thread simulates it.
pub fn run(model: &Model, cfg: Config) -> Result<McResult, SimError> {
    run_with(model, cfg, &|_| {})
}

/// Like [`run`], calling `on_chunk(runs_done_in_chunk)` as each chunk finishes (for
/// progress bars; called from worker threads).
pub fn run_with(model: &Model, cfg: Config, on_chunk: &(dyn Fn(u64) + Sync)) -> Result<McResult, SimError> {
    run_keeping(model, cfg, true, on_chunk)
}

/// Like [`run_with`]; without `keep`, no outcome is kept when there are more runs than
/// [`EXACT_RUNS`] (their statistics come from the histograms then: only charts and paired
/// comparisons need the outcomes themselves).
pub fn run_keeping(
    model: &Model,
    cfg: Config,
    keep: bool,
    on_chunk: &(dyn Fn(u64) + Sync),
) -> Result<McResult, SimError> {
    let go = || simulate_all(model, cfg, keeps(model, cfg, keep), on_chunk);
    match cfg.threads {
        Some(t) => match rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        None => go(),
    }
}

/// Are outcomes kept? When asked, when every run's is (exact statistics), and when the model
/// records marks: segments and filtered SLOs are computed from the kept outcomes.
fn keeps(model: &Model, cfg: Config, keep: bool) -> bool {
    keep || cfg.runs <= EXACT_RUNS || !model.marks.is_empty()
}

fn simulate_all(model: &Model, cfg: Config, keep: bool, on_chunk: &(dyn Fn(u64) + Sync)) -> Result<McResult, SimError> {
    let mut stats = RunStats::default();
    let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
    let (outcomes, hists) = simulate_chunks(model, cfg, keep, 0..cfg.runs.div_ceil(CHUNK), on_chunk, &mut |st, t| {
        stats.merge(&st);
        for (a, b) in tasks.iter_mut().zip(&t) {
            a.merge(b);
        }
    })?;
    stats.merge_histograms(&hists);
    Ok(McResult { outcomes, stats, tasks })
}

/// The chunks of run indices a part of a Monte Carlo holds (`wfsim run --shard`): each
/// chunk's sums and per-task totals, in chunk order, the histograms of all its runs, and the
/// outcomes it keeps. Parts covering every chunk merge into the [`McResult`] of one process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkPart {
    /// Chunks `chunks.start..chunks.end` (runs `start * CHUNK..` up to `end * CHUNK`).
    pub chunks: std::ops::Range<u64>,
    /// Sums, counts and extremes of each chunk (no histograms), in chunk order.
    pub sums: Vec<(RunStats, Vec<TaskAcc>)>,
    /// Histograms of the part's runs (empty when the run count keeps every outcome).
    pub hists: RunStats,
    /// The kept outcomes of the part's runs, in run order.
    pub outcomes: Vec<RunOutcome>,
}

/// Simulates the chunks `chunks` of the Monte Carlo `cfg` describes, as [`run_keeping`]
/// would inside its single process.
pub fn run_part(model: &Model, cfg: Config, keep: bool, chunks: std::ops::Range<u64>) -> Result<ChunkPart, SimError> {
    let go = || {
        let mut sums = Vec::with_capacity((chunks.end - chunks.start) as usize);
        let keep = keeps(model, cfg, keep);
        let (outcomes, hists) =
            simulate_chunks(model, cfg, keep, chunks.clone(), &|_| {}, &mut |st, t| sums.push((st, t)))?;
        Ok(ChunkPart { chunks: chunks.clone(), sums, hists, outcomes })
    };
    match cfg.threads {
        Some(t) => match rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        None => go(),
    }
}

/// Merges parts holding every chunk once, in chunk order, into what one process computes:
/// the same sums added in the same order, the same histogram counts, the same outcomes.
/// `None` when the parts do not cover the chunks of `runs` runs exactly once.
pub fn merge_parts(parts: &[&ChunkPart], runs: u64, n_tasks: usize) -> Option<McResult> {
    let mut order: Vec<&ChunkPart> = parts.to_vec();
    order.sort_by_key(|p| p.chunks.start);
    let mut next = 0;
    let mut stats = RunStats::default();
    let mut hists = RunStats::default();
    let mut tasks = vec![TaskAcc::default(); n_tasks];
    let mut outcomes = Vec::new();
    for p in order {
        if p.chunks.start != next || p.sums.len() as u64 != p.chunks.end - p.chunks.start {
            return None;
        }
        next = p.chunks.end;
        for (st, t) in &p.sums {
            stats.merge(st);
            for (a, b) in tasks.iter_mut().zip(t) {
                a.merge(b);
            }
        }
        hists.merge_histograms(&p.hists);
        outcomes.extend_from_slice(&p.outcomes);
    }
    if next != runs.div_ceil(CHUNK) {
        return None;
    }
    stats.merge_histograms(&hists);
    Some(McResult { outcomes, stats, tasks })
}

/// Simulates the chunks `range` and hands each chunk's sums and per-task totals to `sink` in
/// chunk order; returns the kept outcomes of those chunks (the runs below
/// `min(runs, EXACT_RUNS)` when `keep`) and the histograms of all their runs (only when there
/// are more runs than are kept).
fn simulate_chunks(
    model: &Model,
    cfg: Config,
    keep: bool,
    range: std::ops::Range<u64>,
    on_chunk: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(RunStats, Vec<TaskAcc>),
) -> Result<(Vec<RunOutcome>, RunStats), SimError> {
    let keep = if keep { cfg.runs.min(EXACT_RUNS) } else { 0 };
    let first_run = range.start * CHUNK;
    let end_run = (range.end * CHUNK).min(cfg.runs);
    // Kept outcomes are written in place by the chunk that simulates them: no per-chunk
    // vectors to allocate, copy and free.
    let mut outcomes = vec![EMPTY_OUTCOME; end_run.min(keep).saturating_sub(first_run) as usize];
    // With more runs than are kept, every run (kept or not) goes into the histograms too.
    let hist = cfg.runs > EXACT_RUNS;
    let mut all_hists = RunStats::default();
    let mut rest: &mut [RunOutcome] = &mut outcomes;
    let mut first = range.start;
    while first < range.end {
        let last = (first + BATCH).min(range.end);
        let mut work = Vec::with_capacity((last - first) as usize);
        for c in first..last {
            let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(cfg.runs));
            let kept = (hi.min(keep)).saturating_sub(lo) as usize;
            let (slot, tail) = std::mem::take(&mut rest).split_at_mut(kept);
            rest = tail;
            work.push((lo, hi, slot));
        }
        // Each rayon split keeps its engine state and its histograms across the chunks it
        // takes (histogram counts add up the same in any grouping); sums, whose rounding
        // depends on their order, are kept per chunk and merged in chunk order.
        let splits: Vec<Split> = work
            .into_par_iter()
            .fold(
                || (Scratch::new(), Vec::new(), RunStats::default()),
                |(mut scratch, mut done, mut hists), (lo, hi, slot)| {
                    let mut chunk = || {
                        let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
                        let mut stats = RunStats::default();
                        let mut spare = EMPTY_OUTCOME;
                        for i in lo..hi {
                            // Straight into its place when the outcome is kept.
                            let o = slot.get_mut((i - lo) as usize).unwrap_or(&mut spare);
                            simulate_into(model, run_key(cfg.seed, i), &mut scratch, &mut tasks, &mut NoObserver, o)
                                .map_err(|e| e.at("run", i))?;
                            stats.add_sums(o);
                            if hist {
                                hists.add_histograms(o);
                            }
                        }
                        on_chunk(hi - lo);
                        Ok((stats, tasks))
                    };
                    let r = chunk();
                    done.push((lo, r));
                    (scratch, done, hists)
                },
            )
            .map(|(_, done, hists)| (done, hists))
            .collect();
        let mut parts: Vec<(u64, Result<Chunk, SimError>)> = Vec::with_capacity((last - first) as usize);
        for (done, hists) in splits {
            parts.extend(done);
            all_hists.merge_histograms(&hists);
        }
        parts.sort_unstable_by_key(|(lo, _)| *lo);
        for (_, p) in parts {
            let (st, t) = p?;
            sink(st, t);
        }
        first = last;
    }
    Ok((outcomes, all_hists))
}

/// Replications of a scenario's load, each an independent simulation of the whole period.
pub struct LoadResult {
    /// Each replication's outcome, in order.
    pub reps: Vec<crate::engine::LoadOutcome>,
    /// Per-task totals over all replications.
    pub tasks: Vec<TaskAcc>,
}

/// Simulates `replications` replications of the load on rayon's threads; replication r
/// draws from streams keyed by (seed, r) only, so the result does not depend on threads.
pub fn run_load(model: &Model, seed: u64, replications: u64, threads: Option<usize>) -> Result<LoadResult, SimError> {
    let reps = run_load_part(model, seed, 0..replications, threads)?;
    Ok(LoadResult::from_replications(reps, model.tasks.len()))
}

/// One replication's outcome and its per-task totals.
pub type Replication = (crate::engine::LoadOutcome, Vec<TaskAcc>);

impl LoadResult {
    /// Replications in order, their per-task totals added in that order (as one process adds
    /// them, whichever processes simulated them).
    pub fn from_replications(parts: Vec<Replication>, n_tasks: usize) -> LoadResult {
        let mut reps = Vec::with_capacity(parts.len());
        let mut tasks = vec![TaskAcc::default(); n_tasks];
        for (o, t) in parts {
            reps.push(o);
            for (a, b) in tasks.iter_mut().zip(&t) {
                a.merge(b);
            }
        }
        LoadResult { reps, tasks }
    }
}

/// Simulates the replications `reps` of the load (each with its own per-task totals), in order.
pub fn run_load_part(
    model: &Model,
    seed: u64,
    reps: std::ops::Range<u64>,
    threads: Option<usize>,
) -> Result<Vec<Replication>, SimError> {
    let go = || {
        reps.clone()
            .into_par_iter()
            .map(|r| {
                let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
                crate::engine::simulate_load(model, seed, r, &mut tasks)
                    .map(|o| (o, tasks))
                    .map_err(|e| e.at("load replication", r))
            })
            .collect::<Vec<Result<Replication, SimError>>>()
            // The first failing replication in order, whichever thread failed first.
            .into_iter()
            .collect::<Result<Vec<Replication>, SimError>>()
    };
    match threads {
        Some(t) => match rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build() {
            Ok(pool) => pool.install(go),
            Err(_) => go(),
        },
        None => go(),
    }
}

#[cfg(test)]
mod tests {
    use super::Moments;

    fn moments(v: &[f64]) -> Moments {
        let mut m = Moments::default();
        for (i, &x) in v.iter().enumerate() {
            m.add(x, i == 0);
        }
        m
    }

    /// The interval from running sums, against hand-computed values: [0, 6, 6] has mean 4,
    /// sample variance 24 / 2 = 12 and standard error sqrt(12 / 3) = 2, so 1.96 x 2 = 3.92.
    #[test]
    fn mean_ci95_from_sums_by_hand() {
        let (m, h) = moments(&[0.0, 6.0, 6.0]).mean_ci95(3);
        assert_eq!(m, 4.0);
        assert!((h - 3.92).abs() < 1e-12, "{h}");
        // The same sample shifted by 1e6 s: the one-pass variance (sum of squares - n mean^2)
        // / (n - 1) subtracts two numbers near 3e12 whose rounding (a few ulp of 3e12, about
        // 2e-3) is small against their difference, 24.
        let (m, h) = moments(&[1e6, 1e6 + 6.0, 1e6 + 6.0]).mean_ci95(3);
        assert_eq!(m, 1e6 + 4.0);
        assert!((h - 3.92).abs() < 1e-3, "{h}");
        // Merged sums give the interval of the whole sample.
        let (mut a, b) = (moments(&[0.0]), moments(&[6.0, 6.0]));
        a.merge_sums(&b, false);
        assert_eq!(a.mean_ci95(3), moments(&[0.0, 6.0, 6.0]).mean_ci95(3));
        assert_eq!((a.min, a.max), (0.0, 6.0));
        // One run: no spread to estimate; no run: zeros.
        assert_eq!(moments(&[2.5]).mean_ci95(1), (2.5, 0.0));
        assert_eq!(Moments::default().mean_ci95(0), (0.0, 0.0));
    }
}
