//! The summary of a Monte Carlo: durations, cost, per-task figures, progress, statuses,
//! the environment and the SLO verdicts, as every output format reads them.

pub use super::distribution::Dur;
use crate::engine::RunOutcome;
use crate::engine::{LEVEL_STEP, LEVELS, Status};
use crate::model::Model;
use crate::montecarlo::{McResult, Moments};
use crate::slo::{Metric, Of, Stat};
use crate::stats::{Summary, mean};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// Distribution of the cost of a workflow run, US dollars (JSON: `cost_usd`).
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    /// Mean cost of a workflow run, US dollars.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean, US dollars.
    pub mean_ci95: f64,
    /// Median, US dollars.
    pub p50: f64,
    /// 95th percentile, US dollars.
    pub p95: f64,
    /// Most expensive run, US dollars.
    pub max: f64,
    /// Mean cost of 1,000 workflow runs, US dollars.
    pub per_1000_runs: f64,
    /// Mean compute cost per workflow run (Trigger.dev's compute_cost).
    pub compute_cost: f64,
    /// Mean invocation cost per workflow run (invocation_cost).
    pub invocation_cost: f64,
}

/// One task's figures over all workflow runs (JSON: `tasks`, keyed by task name, in the scenario's order).
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    /// The task's id in the scenario.
    pub name: String,
    /// The machine preset the task asks for (`small-1x`, ...).
    pub machine: &'static str,
    /// Task runs over all workflow runs.
    pub runs: u64,
    /// Mean task runs per workflow run.
    pub runs_per_workflow: f64,
    /// Attempts over all workflow runs (first tries and retries).
    pub attempts: u64,
    /// Retries over all workflow runs (attempts after the first).
    pub retries: u64,
    /// Attempts that ran out of memory.
    pub out_of_memory: u64,
    /// Task runs by final status.
    pub statuses: Statuses,
    /// Mean start latency before the first attempt (queued_duration).
    pub queued_duration_s_mean: f64,
    /// Mean first-attempt start to end of run (execution_duration).
    pub duration_s_mean: f64,
    /// Mean billed compute per task run (usage_duration).
    pub usage_duration_s_mean: f64,
    /// Mean cost per task run, compute plus invocation.
    pub cost_usd_mean: f64,
    /// Mean cost of this task per workflow run.
    pub cost_usd_per_workflow: f64,
    /// Share of the workflow's total cost.
    pub cost_share: f64,
    /// Per machine preset the task's attempts ran on (two when an out-of-memory retry
    /// upgraded it), in preset order.
    #[serde(serialize_with = "machines_in_order")]
    pub machines: Vec<MachineSummary>,
}

/// A task's attempts on one machine preset.
#[derive(Debug, Clone, Serialize)]
pub struct MachineSummary {
    /// The preset (the key of the JSON's `machines` map).
    #[serde(skip)]
    pub machine: &'static str,
    /// Attempts on this preset, over all workflow runs.
    pub attempts: u64,
    /// Of them, attempts that ran out of memory.
    pub out_of_memory: u64,
    /// Mean billed seconds per attempt on this preset.
    pub usage_duration_s_mean: f64,
    /// Compute cost of these attempts per workflow run (invocations are per run, not per
    /// attempt, and stay in the task's `cost_usd_per_workflow`).
    pub compute_cost_per_workflow: f64,
}

/// Runs by final status, as Trigger.dev names them (JSON keys `COMPLETED`, `FAILED`, ...).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Statuses {
    /// Runs that completed.
    #[serde(rename = "COMPLETED")]
    pub completed: u64,
    /// Runs that failed (attempts exhausted, or a trigger rejected by a full queue).
    #[serde(rename = "FAILED")]
    pub failed: u64,
    /// Runs that crashed (out of memory with no retry left).
    #[serde(rename = "CRASHED")]
    pub crashed: u64,
    /// Runs stopped by their `maxDuration`.
    #[serde(rename = "TIMED_OUT")]
    pub timed_out: u64,
    /// Load only: not started within the task's ttl.
    #[serde(rename = "EXPIRED", skip_serializing_if = "is_zero")]
    pub expired: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Statuses {
    fn from(c: [u64; 5]) -> Self {
        Statuses { completed: c[0], failed: c[1], crashed: c[2], timed_out: c[3], expired: c[4] }
    }
    /// The count of status `s`.
    pub fn get(&self, s: Status) -> u64 {
        [self.completed, self.failed, self.crashed, self.timed_out, self.expired][s as usize]
    }
}

/// When a successful run's progress bar reaches one level (JSON: `progress_curve`).
#[derive(Debug, Clone, Serialize)]
pub struct ProgressLevel {
    /// The level, percent of the workflow's progress.
    pub percent: f64,
    /// Seconds by which 10% of successful runs reached it.
    pub p10: f64,
    /// Seconds by which half of them reached it.
    pub p50: f64,
    /// Seconds by which 90% of them reached it.
    pub p90: f64,
}

/// One SLO of the scenario's `slo:` list and its verdict (JSON: `slo`).
#[derive(Debug, Clone, Serialize)]
pub struct SloResult {
    /// The SLO as written (`p95(duration) < 10m`).
    pub expr: String,
    /// The simulated value: seconds, US dollars or a rate from 0 to 1 (null when there is none,
    /// e.g. no run to take it from).
    pub value: Option<f64>,
    /// Whether the simulated value meets the threshold.
    pub pass: bool,
    /// The value in the unit of the SLO's threshold (`9.3m`, `$0.002672`), `-` when there is
    /// none; for the tables and pages (the JSON keeps seconds and dollars).
    #[serde(skip)]
    pub shown: String,
}

/// The environment of a simulation, as the JSON's `environment` object holds it.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentSummary {
    /// `free`, `hobby`, `pro`, or null for a number of slots without a plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<&'static str>,
    /// `default` (the scenario names no environment), `environment` (its `environment:`
    /// block) or `load` (`load.environmentConcurrency`).
    pub source: &'static str,
    /// Environment concurrency: runs executing at once.
    pub concurrency: u32,
    /// Trigger.dev's burst factor: the environment as a whole may run this many times its limit
    /// (one queue stays capped at the base limit).
    pub burst_factor: f64,
    /// Runs the environment's queue holds before triggers are rejected (null: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queue_size: Option<u32>,
    /// Batch items the rate limit's bucket holds, and refills per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_bucket: Option<f64>,
    /// Batch items the bucket refills per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_refill_per_s: Option<f64>,
    /// Mean cold start of a task run, seconds (null when the scenario sets none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_start_s_mean: Option<f64>,
    /// Seconds a machine stays warm after a run ends or checkpoints (`keepWarm`); a start that
    /// finds it warm has no cold start.
    pub keep_warm_s: f64,
    /// The line every command prints first.
    pub description: String,
}

impl EnvironmentSummary {
    /// The environment `m` is simulated in.
    pub fn of(m: &Model) -> EnvironmentSummary {
        let e = &m.environment;
        EnvironmentSummary {
            plan: e.plan.map(|p| p.name()),
            source: match e.source {
                crate::model::EnvSource::Default => "default",
                crate::model::EnvSource::Environment => "environment",
                crate::model::EnvSource::Load => "load",
            },
            concurrency: e.concurrency,
            burst_factor: e.burst_factor,
            max_queue_size: e.max_queue_size,
            batch_bucket: e.batch_tokens.map(|b| b.bucket),
            batch_refill_per_s: e.batch_tokens.map(|b| b.refill / b.every_s),
            cold_start_s_mean: m.cold_start.shape_mean(),
            keep_warm_s: m.keep_warm_s,
            description: e.describe(),
        }
    }
}

/// The summary of a simulation: what `wfsim run --json` prints, field by field.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The scenario's name: its `name:` key, else the file name without its extension.
    pub scenario: String,
    /// The wfsim version that simulated it.
    pub wfsim_version: &'static str,
    /// Workflow runs summarised (under load: measured runs of all replications).
    pub runs: u64,
    /// The seed of the simulation.
    pub seed: u64,
    /// The environment the runs were simulated in (slots, limits), and where it came from.
    pub environment: EnvironmentSummary,
    /// Entry task's trigger to the end of its run, seconds.
    pub duration_s: Dur,
    /// Cost of a workflow run (every task run it caused, compute and invocations), US dollars.
    pub cost_usd: Cost,
    /// Share of workflow runs whose entry task run completed (0 to 1).
    pub success_rate: f64,
    /// Workflow runs by the final status of their entry task run.
    pub statuses: Statuses,
    /// Mean task attempts per workflow run.
    pub attempts_per_run: f64,
    /// Mean task runs per workflow run.
    pub task_runs_per_run: f64,
    /// Billed compute seconds over all task runs of a workflow (usage_duration).
    pub usage_duration_s: Dur,
    /// Of the entry run's duration: seconds executing, and the rest (starting, checkpointed
    /// waits for children and long wait.for, retry delays).
    pub entry_run: EntryRun,
    /// Until the last task run ends, fire-and-forget children included.
    pub makespan_s: Dur,
    /// Seconds at which the median successful run's progress bar reaches each level.
    /// Keyed by percent, in numeric order ("10", "25", ... "100").
    pub progress: std::collections::BTreeMap<u32, f64>,
    /// When successful runs reach each progress level: 10th, 50th and 90th percentiles.
    pub progress_curve: Vec<ProgressLevel>,
    /// Per task, in the scenario's order.
    #[serde(serialize_with = "tasks_in_order")]
    pub tasks: Vec<TaskSummary>,
    /// The scenario's SLOs and their verdicts.
    pub slo: Vec<SloResult>,
    /// Notes about the simulation (e.g. assumptions made), printed under the table.
    pub notes: Vec<String>,
    /// With a `load:` block: queueing for slots, utilisation, throughput, backlog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<super::LoadSummary>,
    /// External services (`services:`): calls, 429s, retries, peak offered rate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceSummary>,
    /// With services: per workflow run, the time some call of it waited to try a service
    /// again after a 429 (calls waiting together count once), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_wait_s: Option<Dur>,
    /// With `--by`: the runs split by their inputs, one summary per segment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<super::segments::SegmentSummary>,
}

impl RunSummary {
    /// With services: the share of all their calls answered 429 (0 without calls); `None`
    /// when the scenario calls no service.
    pub fn limited_share(&self) -> Option<f64> {
        (!self.services.is_empty()).then(|| {
            let calls: u64 = self.services.iter().map(|v| v.calls).sum();
            let limited: u64 = self.services.iter().map(|v| v.limited).sum();
            if calls > 0 { limited as f64 / calls as f64 } else { 0.0 }
        })
    }
}

/// One external service's calls over all runs.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSummary {
    /// The service's name under `services:`.
    pub name: String,
    /// `tokenBucket` or `fixedWindow`.
    pub refill: &'static str,
    /// Calls a minute the limit allows (per key value with `key:`); null without a call limit.
    pub limit_per_minute: Option<f64>,
    /// Tokens a minute the limit allows (per key value with `key:`), when it has a token limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<f64>,
    /// Most calls in flight at once, when the service limits them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Limit states: values of its `key:` attribute (1 without a key).
    pub keys: u32,
    /// Calls offered: every try, 429s included.
    pub calls: u64,
    /// Calls offered per workflow run (the mean).
    pub calls_per_workflow: f64,
    /// Calls answered 429, and their share of the calls.
    pub limited: u64,
    /// `limited` over `calls` (0 to 1).
    pub limited_share: f64,
    /// 429s after which the step tried again (its `retry:`).
    pub retries: u64,
    /// 429s with no retry left: the attempt threw.
    pub exhausted: u64,
    /// Most calls offered in one window (minute or second, from time 0) of a run alone or a
    /// load replication, as a rate per minute: to set against `limit_per_minute`.
    pub peak_offered_per_minute: f64,
    /// Under load: calls offered and served per minute, window by window (the mean over the
    /// replications), for the rate chart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<ServiceRate>,
}

/// Calls to a service in one window under load: its start, and calls a minute offered and
/// served.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServiceRate {
    /// Start of the window, seconds from the start of the replication.
    pub t_s: f64,
    /// Calls offered in the window (429s included), as a rate per minute.
    pub offered_per_minute: f64,
    /// Calls the service answered (not 429) in the window, as a rate per minute.
    pub served_per_minute: f64,
}

/// The services' summaries from the per-task totals.
pub fn services(model: &Model, mc: &McResult) -> Vec<ServiceSummary> {
    let n = mc.stats.n.max(1) as f64;
    model
        .services
        .iter()
        .enumerate()
        .map(|(i, sv)| {
            let mut a = crate::engine::SvcAcc::default();
            for t in &mc.tasks {
                if let Some(x) = t.svc.get(i) {
                    a.merge(x);
                }
            }
            ServiceSummary {
                name: sv.name.clone(),
                refill: sv.refill.name(),
                limit_per_minute: sv.limit.is_finite().then(|| sv.per_minute()),
                tokens_per_minute: sv.tokens_per_minute,
                concurrency: sv.concurrency,
                keys: sv.slots(),
                calls: a.calls,
                calls_per_workflow: a.calls as f64 / n,
                limited: a.limited,
                limited_share: if a.calls > 0 { a.limited as f64 / a.calls as f64 } else { 0.0 },
                retries: a.retries,
                exhausted: a.exhausted,
                peak_offered_per_minute: a.peak as f64 * 60.0 / sv.window_s,
                rates: Vec::new(),
            }
        })
        .collect()
}

/// Under load: each service's calls offered and served per minute, window by window, the
/// mean over the replications' `rates` (per service, (offered, served) per window).
pub fn service_rates(model: &Model, reps: &[&[Vec<[u32; 2]>]]) -> Vec<Vec<ServiceRate>> {
    model
        .services
        .iter()
        .enumerate()
        .map(|(i, sv)| {
            let len = reps.iter().map(|r| r.get(i).map_or(0, Vec::len)).max().unwrap_or(0);
            let k = reps.len().max(1) as f64;
            let per_min = 60.0 / sv.window_s;
            (0..len)
                .map(|b| {
                    let (mut o, mut s) = (0.0, 0.0);
                    for r in reps {
                        if let Some(x) = r.get(i).and_then(|v| v.get(b)) {
                            o += f64::from(x[0]);
                            s += f64::from(x[1]);
                        }
                    }
                    ServiceRate {
                        t_s: b as f64 * sv.window_s,
                        offered_per_minute: o / k * per_min,
                        served_per_minute: s / k * per_min,
                    }
                })
                .collect()
        })
        .collect()
}

/// How the entry task run's duration splits (JSON: `entry_run`).
#[derive(Debug, Clone, Serialize)]
pub struct EntryRun {
    /// Mean seconds executing (billed), per workflow run.
    pub executing_s_mean: f64,
    /// Mean seconds not executing: starting, checkpointed waits, retry delays.
    pub waiting_s_mean: f64,
}

fn summary(mut v: Vec<f64>) -> Dur {
    Summary::of(&mut v).map(Dur::from).unwrap_or(Dur {
        mean: 0.0,
        mean_ci95: 0.0,
        p50: 0.0,
        p90: 0.0,
        p95: 0.0,
        p99: 0.0,
        min: 0.0,
        max: 0.0,
    })
}

/// A quantity's summary: exact from every run's outcome when they are all kept, else from
/// the mergeable statistics (quantiles within `LogHistogram::ALPHA`).
fn quantity(mc: &McResult, pick: fn(&RunOutcome) -> f64, m: &Moments) -> Dur {
    if mc.exact() {
        return summary(mc.outcomes.iter().map(pick).collect());
    }
    let (mean, mean_ci95) = m.mean_ci95(mc.stats.n);
    let q = |p| m.hist.quantile(p).unwrap_or(0.0);
    Dur { mean, mean_ci95, p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), min: m.min, max: m.max }
}

/// Summarises the runs `mc` of `model` simulated with `seed`; `notes` are printed with it.
/// Under load, [`crate::sim::simulate`] adds the load summary and the intervals.
pub fn summarise(model: &Model, mc: &McResult, seed: u64, notes: Vec<String>) -> RunSummary {
    let o = &mc.outcomes;
    let st = &mc.stats;
    let n = st.n.max(1) as f64;
    let duration_s = quantity(mc, |r| r.duration_s, &st.duration);
    let cost_sum = quantity(mc, |r| r.cost_usd, &st.cost);
    let counts = st.statuses;
    let success_rate = counts[0] as f64 / n;
    let compute = st.compute_usd / n;
    let invocation = st.invocation_usd / n;
    let cost_usd = Cost {
        mean: cost_sum.mean,
        mean_ci95: cost_sum.mean_ci95,
        p50: cost_sum.p50,
        p95: cost_sum.p95,
        max: cost_sum.max,
        per_1000_runs: cost_sum.mean * 1000.0,
        compute_cost: compute,
        invocation_cost: invocation,
    };
    let root_usage = st.root_usage_s / n;
    let entry_run = EntryRun { executing_s_mean: root_usage, waiting_s_mean: (duration_s.mean - root_usage).max(0.0) };

    // Progress: per level, the distribution over successful runs of the time to reach it.
    // One pass over the outcomes fills every level's sample (a pass per level re-read every
    // outcome 20 times, a cache miss each for a load's hundreds of thousands of runs).
    let completed = if mc.exact() { st.statuses[Status::Completed as usize] as usize } else { 0 };
    let mut times: Vec<Vec<f64>> =
        (0..if mc.exact() { LEVELS } else { 0 }).map(|_| Vec::with_capacity(completed)).collect();
    if mc.exact() {
        for r in o.iter().filter(|r| r.status == Status::Completed) {
            for (t, &x) in times.iter_mut().zip(&r.progress) {
                if x.is_finite() {
                    t.push(x);
                }
            }
        }
    }
    let mut progress = std::collections::BTreeMap::new();
    let mut curve = Vec::new();
    for l in 0..LEVELS {
        let pct = (l + 1) as f64 * LEVEL_STEP;
        let levels = if let Some(t) = times.get_mut(l) {
            let q = crate::stats::quantiles_select(t, &[0.1, 0.5, 0.9]);
            (q[0], q[1], q[2])
        } else {
            let h = st.progress.get(l);
            (h.and_then(|h| h.quantile(0.1)), h.and_then(|h| h.quantile(0.5)), h.and_then(|h| h.quantile(0.9)))
        };
        if let (Some(p10), Some(p50), Some(p90)) = levels {
            curve.push(ProgressLevel { percent: pct, p10, p50, p90 });
            if [10.0, 25.0, 50.0, 75.0, 90.0, 100.0].contains(&pct) {
                progress.insert(pct as u32, p50);
            }
        }
    }

    let total_cost: f64 = mc.tasks.iter().map(|t| t.compute_usd + t.invocation_usd).sum();
    let tasks = model
        .tasks
        .iter()
        .zip(&mc.tasks)
        .map(|(t, a)| {
            let runs = a.runs.max(1) as f64;
            let cost = a.compute_usd + a.invocation_usd;
            TaskSummary {
                name: t.name.clone(),
                machine: crate::engine::preset_name(t.machine),
                runs: a.runs,
                runs_per_workflow: a.runs as f64 / n,
                attempts: a.attempts,
                retries: a.attempts.saturating_sub(a.runs),
                out_of_memory: a.oom,
                statuses: Statuses::from(a.statuses),
                queued_duration_s_mean: a.queued_s / runs,
                duration_s_mean: a.execution_s / runs,
                usage_duration_s_mean: a.usage_s / runs,
                cost_usd_mean: cost / runs,
                cost_usd_per_workflow: cost / n,
                cost_share: if total_cost > 0.0 { cost / total_cost } else { 0.0 },
                machines: a
                    .by_machine
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.attempts > 0)
                    .map(|(i, m)| MachineSummary {
                        machine: crate::engine::preset_name(i as u8),
                        attempts: m.attempts,
                        out_of_memory: m.oom,
                        usage_duration_s_mean: m.usage_s / m.attempts as f64,
                        compute_cost_per_workflow: m.compute_usd / n,
                    })
                    .collect(),
            }
        })
        .collect();

    let mut s = RunSummary {
        scenario: model.name.clone(),
        wfsim_version: env!("CARGO_PKG_VERSION"),
        runs: st.n,
        seed,
        environment: EnvironmentSummary::of(model),
        duration_s,
        cost_usd,
        success_rate,
        statuses: Statuses::from(counts),
        attempts_per_run: st.attempts / n,
        task_runs_per_run: st.task_runs / n,
        usage_duration_s: quantity(mc, |r| r.usage_s, &st.usage),
        entry_run,
        makespan_s: quantity(mc, |r| r.makespan_s, &st.makespan),
        progress,
        progress_curve: curve,
        tasks,
        slo: Vec::new(),
        notes,
        load: None,
        services: services(model, mc),
        limit_wait_s: (!model.services.is_empty()).then(|| {
            if mc.exact() {
                summary(mc.outcomes.iter().map(|r| r.limit_wait_s).collect())
            } else {
                let nan = f64::NAN;
                Dur { mean: nan, mean_ci95: nan, p50: nan, p90: nan, p95: nan, p99: nan, min: nan, max: nan }
            }
        }),
        segments: super::segments::summarise(model, &mc.outcomes),
    };
    if !model.marks.is_empty() && !mc.exact() {
        let note = format!(
            "segments and filtered SLOs: from the first {} runs of {} (the runs kept one by one)",
            mc.outcomes.len(),
            st.n
        );
        s.notes.push(note);
    }
    s.slo = model
        .slos
        .iter()
        .map(|slo| {
            let value = match &slo.filter {
                Some(f) => filtered_value(&slo.metric, f.mask, &mc.outcomes),
                None => slo_value(&slo.metric, mc, &s),
            };
            let shown = value.map_or_else(|| "-".to_owned(), |v| slo.show(v));
            SloResult { expr: slo.expr.clone(), value, pass: value.is_some_and(|v| slo.holds(v)), shown }
        })
        .collect();
    s
}

fn slo_value(m: &Metric, mc: &McResult, s: &RunSummary) -> Option<f64> {
    match m {
        Metric::SuccessRate => Some(s.success_rate),
        Metric::Limited => Some(s.limited_share().unwrap_or(0.0)),
        Metric::StatusRate(name) => {
            let st = Status::ALL.iter().find(|x| x.name() == name)?;
            Some(s.statuses.get(*st) as f64 / s.runs.max(1) as f64)
        }
        Metric::Stat { stat, of } => {
            let m = if *of == Of::Duration { &mc.stats.duration } else { &mc.stats.cost };
            if !mc.exact() {
                return match stat {
                    Stat::Mean => Some(m.sum / mc.stats.n.max(1) as f64),
                    Stat::Max => Some(m.max),
                    Stat::Quantile(q) => m.hist.quantile(*q),
                };
            }
            stat_of(*stat, *of, mc.outcomes.iter())
        }
    }
}

/// A statistic of the durations or costs of `runs` (`None` without runs).
fn stat_of<'a>(stat: Stat, of: Of, runs: impl Iterator<Item = &'a RunOutcome>) -> Option<f64> {
    let mut v: Vec<f64> = runs.map(|r| if of == Of::Duration { r.duration_s } else { r.cost_usd }).collect();
    match stat {
        Stat::Mean => mean(&v),
        Stat::Max => v.iter().copied().reduce(f64::max),
        Stat::Quantile(q) => crate::stats::quantiles_select(&mut v, &[q])[0],
    }
}

/// The value of an SLO over the kept runs that `mask` selects (`None` when it selects none).
fn filtered_value(m: &Metric, mask: u64, outcomes: &[RunOutcome]) -> Option<f64> {
    let runs = || outcomes.iter().filter(|o| super::segments::selects(mask, o));
    let n = runs().count();
    if n == 0 {
        return None;
    }
    match m {
        Metric::SuccessRate => Some(runs().filter(|o| o.status == Status::Completed).count() as f64 / n as f64),
        Metric::StatusRate(name) => {
            let st = Status::ALL.iter().find(|x| x.name() == name)?;
            Some(runs().filter(|o| o.status == *st).count() as f64 / n as f64)
        }
        // Not filterable (`slo::parse` refuses a filter on it): every run's calls count.
        Metric::Limited => None,
        Metric::Stat { stat, of } => stat_of(*stat, *of, runs()),
    }
}

/// Tasks as an object keyed by task name, in the order the scenario declares them.
fn tasks_in_order<S: Serializer>(tasks: &[TaskSummary], ser: S) -> Result<S::Ok, S::Error> {
    let mut m = ser.serialize_map(Some(tasks.len()))?;
    for t in tasks {
        m.serialize_entry(&t.name, t)?;
    }
    m.end()
}

/// A task's machines as an object keyed by preset name, in preset order.
fn machines_in_order<S: Serializer>(machines: &[MachineSummary], ser: S) -> Result<S::Ok, S::Error> {
    let mut m = ser.serialize_map(Some(machines.len()))?;
    for x in machines {
        m.serialize_entry(x.machine, x)?;
    }
    m.end()
}
