//! The summary of a load: queue waits, utilisation, throughput, backlog, warm starts.

use crate::engine::LoadOutcome;
use crate::model::Model;
use crate::montecarlo::LoadResult;
use crate::stats::mean_ci95_t;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Waits for a slot, seconds (JSON: `queue_wait_s`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Waits {
    /// Mean wait, seconds.
    pub mean: f64,
    /// Half-width of the 95% interval of the mean: Student's t over the replication means
    /// (null from one replication).
    pub mean_ci95: f64,
    /// Median wait, seconds.
    pub p50: f64,
    /// 95th percentile, seconds.
    pub p95: f64,
    /// 99th percentile, seconds.
    pub p99: f64,
    /// Share of grants that waited at all.
    pub share_waiting: f64,
    /// Slots granted (each a wait, zero or not), all replications.
    pub grants: u64,
}

/// One queue under load (JSON: `load.queues`, keyed by queue name).
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    /// The queue's name (the key of the JSON map).
    #[serde(skip)]
    pub name: String,
    /// Slots: min(concurrencyLimit, environment limit), times the concurrencyKey values.
    pub cap: u32,
    /// Waits for this queue's slots, seconds.
    pub queue_wait_s: Waits,
    /// Mean slots in use over the queue's slots (0 to 1).
    pub utilisation: f64,
    /// Triggers refused because the queue was full.
    pub rejected: u64,
    /// With a concurrencyKey: waits per key value, the longest mean first (at most 20).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyWaits>,
    /// Runs waiting in this queue at each point of [`LoadSummary::backlog`], mean over
    /// replications (drawn in the backlog chart, not in the JSON).
    #[serde(skip)]
    pub backlog: Vec<f64>,
}

/// Waits of one concurrencyKey value of a queue.
#[derive(Debug, Clone, Serialize)]
pub struct KeyWaits {
    /// The key value.
    pub key: String,
    /// Slots granted to it.
    pub grants: u64,
    /// Mean wait, seconds.
    pub mean_s: f64,
    /// 95th percentile of the wait, seconds.
    pub p95_s: f64,
}

/// Mean share of slots in use (JSON: `load.utilisation`).
#[derive(Debug, Clone, Serialize)]
pub struct Utilisation {
    /// Mean slots in use over the environment's base limit (may pass 1 with the burst factor).
    pub environment: f64,
    /// Per queue, mean slots in use over its slots (a map by queue name in JSON).
    #[serde(serialize_with = "queue_map")]
    pub queues: Vec<(String, f64)>,
}

/// One point of the backlog series (JSON: `load.backlog`).
#[derive(Debug, Clone, Serialize)]
pub struct BacklogPoint {
    /// Time since the start of the period, seconds.
    pub t_s: f64,
    /// Runs waiting for a slot, mean over replications.
    pub queued: f64,
}

/// The summary of a `load:` block (JSON: `load`, present only with one).
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    /// Independent replications of the period.
    pub replications: u64,
    /// Arrivals stop after this many seconds; the statistics cover the runs arriving between `warmup_s` and it.
    pub duration_s: f64,
    /// Runs arriving before this many seconds are left out of the statistics.
    pub warmup_s: f64,
    /// The environment's concurrency limit (slots).
    pub environment_concurrency: u32,
    /// The environment's burst factor.
    pub burst_factor: f64,
    /// Workflow runs that arrived in the measured window, all replications.
    pub arrived: u64,
    /// Workflow runs completed per minute in the measured window, mean over replications.
    pub throughput_per_min: f64,
    /// Half-width of its 95% interval (Student's t over replications; null from one).
    pub throughput_per_min_ci95: f64,
    /// Every wait for a slot (first start, resume after a checkpoint, re-queued retry).
    pub queue_wait_s: Waits,
    /// Per queue (a map by queue name in JSON).
    #[serde(serialize_with = "queues_map")]
    pub queues: Vec<QueueRow>,
    /// Mean share of slots in use.
    pub utilisation: Utilisation,
    /// Share of starts on a machine still warm from an earlier run.
    pub warm_share: f64,
    /// Starts on a machine, all replications (the denominator of `warm_share`).
    pub runs_started: u64,
    /// Task runs expired (not started within their ttl).
    pub expired: u64,
    /// Triggers refused by full queues.
    pub rejected: u64,
    /// Workflow runs that could never finish: deadlocked on slots.
    pub deadlocked: u64,
    /// Little's law on the simulated series: time-average number of workflow runs in the
    /// system (L) against throughput x mean time in system (lambda W).
    pub littles_law: LittlesLaw,
    /// Runs waiting for a slot over time.
    pub backlog: Vec<BacklogPoint>,
}

/// Little's law check: the two sides should agree within noise.
#[derive(Debug, Clone, Serialize)]
pub struct LittlesLaw {
    /// Time-average number of workflow runs in the system (L).
    pub l: f64,
    /// Throughput times mean time in system (lambda W).
    pub lambda_w: f64,
}

fn queue_map<S: Serializer>(q: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(q.len()))?;
    for (k, v) in q {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

fn queues_map<S: Serializer>(q: &[QueueRow], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(q.len()))?;
    for r in q {
        m.serialize_entry(&r.name, r)?;
    }
    m.end()
}

fn waits(per_rep: &[&[f64]]) -> Waits {
    let mut all: Vec<f64> = per_rep.iter().flat_map(|w| w.iter().copied()).collect();
    if all.is_empty() {
        return Waits::default();
    }
    let means: Vec<f64> =
        per_rep.iter().filter(|w| !w.is_empty()).map(|w| w.iter().sum::<f64>() / w.len() as f64).collect();
    // Student's t over the replication means (NaN, null in JSON, from one replication).
    let ci = mean_ci95_t(&means).map_or(f64::NAN, |x| x.1);
    let waiting = all.iter().filter(|&&x| x > 1e-9).count() as f64 / all.len() as f64;
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let q = crate::stats::quantiles_select(&mut all, &[0.5, 0.95, 0.99]);
    let q = |i: usize| q[i].unwrap_or(0.0);
    Waits { mean, mean_ci95: ci, p50: q(0), p95: q(1), p99: q(2), share_waiting: waiting, grants: all.len() as u64 }
}

/// Waits per concurrencyKey value of queue `qi`, named by the key attribute's values.
fn key_waits(model: &Model, queue: &str, reps: &[LoadOutcome], qi: usize) -> Vec<KeyWaits> {
    let nk = reps.first().map_or(0, |o| o.queues[qi].by_key.len());
    if nk == 0 {
        return Vec::new();
    }
    let attr = model
        .tasks
        .iter()
        .filter(|t| t.queue.as_ref().map_or(t.name.as_str(), |q| q.name.as_str()) == queue)
        .find_map(|t| t.concurrency_key)
        .map(|(a, _)| &model.inputs[a as usize]);
    let mut out: Vec<KeyWaits> = (0..nk)
        .filter_map(|k| {
            let mut w: Vec<f64> = reps.iter().flat_map(|o| o.queues[qi].by_key[k].iter().copied()).collect();
            if w.is_empty() {
                return None;
            }
            let key = attr.and_then(|a| a.categories.get(k).cloned()).unwrap_or_else(|| k.to_string());
            // The mean in grant order, then the p95 by selection (which reorders `w`).
            let mean_s = w.iter().sum::<f64>() / w.len() as f64;
            let p95_s = crate::stats::quantiles_select(&mut w, &[0.95])[0].unwrap_or(0.0);
            Some(KeyWaits { key, grants: w.len() as u64, mean_s, p95_s })
        })
        .collect();
    out.sort_by(|a, b| b.mean_s.total_cmp(&a.mean_s).then(a.key.cmp(&b.key)));
    out.truncate(20);
    out
}

/// Summarises the replications `r` of `model`'s load; `None` without a `load:` block.
pub fn summarise(model: &Model, r: &LoadResult) -> Option<LoadSummary> {
    let l = model.load.as_ref()?;
    let reps: &[LoadOutcome] = &r.reps;
    let first = reps.first()?;
    let span = |o: &LoadOutcome| (o.window.1 - o.window.0).max(1e-9);
    let nq = first.queues.len();
    let queues: Vec<QueueRow> = (0..nq)
        .map(|qi| {
            let per: Vec<&[f64]> = reps.iter().map(|o| o.queues[qi].waits.as_slice()).collect();
            let cap = first.queues[qi].cap;
            let u =
                reps.iter().map(|o| o.queues[qi].busy_area / (cap as f64 * span(o))).sum::<f64>() / reps.len() as f64;
            let name = first.queues[qi].name.clone();
            let rejected = reps.iter().map(|o| o.queues[qi].rejected).sum();
            let backlog = (0..first.backlog.len())
                .map(|i| {
                    reps.iter().map(|o| o.queues[qi].backlog.get(i).copied().unwrap_or(0.0)).sum::<f64>()
                        / reps.len() as f64
                })
                .collect();
            QueueRow {
                backlog,
                keys: key_waits(model, &name, reps, qi),
                name,
                cap,
                queue_wait_s: waits(&per),
                utilisation: u,
                rejected,
            }
        })
        .collect();
    let all: Vec<&[f64]> = reps.iter().flat_map(|o| o.queues.iter().map(|q| q.waits.as_slice())).collect();
    // Overall: concatenate per replication so the interval is across replications.
    let per_rep: Vec<Vec<f64>> =
        reps.iter().map(|o| o.queues.iter().flat_map(|q| q.waits.iter().copied()).collect()).collect();
    let per_rep_refs: Vec<&[f64]> = per_rep.iter().map(|v| v.as_slice()).collect();
    let mut overall = waits(&per_rep_refs);
    overall.grants = all.iter().map(|w| w.len() as u64).sum();
    let tput: Vec<f64> = reps.iter().map(|o| o.completed_in_window as f64 / span(o) * 60.0).collect();
    let (tm, tci) = mean_ci95_t(&tput).unwrap_or((0.0, f64::NAN));
    let env = reps.iter().map(|o| o.env_busy_area / (o.env_base as f64 * span(o))).sum::<f64>() / reps.len() as f64;
    let starts: u64 = reps.iter().map(|o| o.starts).sum();
    let warm: u64 = reps.iter().map(|o| o.warm_starts).sum();
    let l_avg = reps.iter().map(|o| o.in_system_area / span(o)).sum::<f64>() / reps.len() as f64;
    let lw = reps
        .iter()
        .map(|o| {
            let w = o.outcomes.iter().map(|x| x.duration_s).sum::<f64>() / o.outcomes.len().max(1) as f64;
            o.completed_in_window as f64 / span(o) * w
        })
        .sum::<f64>()
        / reps.len() as f64;
    let samples = first.backlog.len();
    let backlog = (0..samples)
        .map(|i| BacklogPoint {
            t_s: first.backlog[i].0,
            queued: reps.iter().map(|o| o.backlog.get(i).map_or(0.0, |p| p.1)).sum::<f64>() / reps.len() as f64,
        })
        .collect();
    Some(LoadSummary {
        replications: reps.len() as u64,
        duration_s: l.duration_s,
        warmup_s: l.warmup_s,
        environment_concurrency: model.environment.concurrency,
        burst_factor: model.environment.burst_factor,
        arrived: reps.iter().map(|o| o.outcomes.len() as u64).sum(),
        throughput_per_min: tm,
        throughput_per_min_ci95: tci,
        queue_wait_s: overall,
        utilisation: Utilisation {
            environment: env,
            queues: queues.iter().map(|q| (q.name.clone(), q.utilisation)).collect(),
        },
        queues,
        warm_share: if starts > 0 { warm as f64 / starts as f64 } else { 0.0 },
        runs_started: starts,
        expired: reps.iter().map(|o| o.expired).sum(),
        deadlocked: reps.iter().map(|o| o.deadlocked).sum(),
        rejected: reps.iter().flat_map(|o| o.queues.iter().map(|q| q.rejected)).sum(),
        littles_law: LittlesLaw { l: l_avg, lambda_w: lw },
        backlog,
    })
}
