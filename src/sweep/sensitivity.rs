//! Sensitivity: each work step's duration and failure rate, input attributes, counts, queue
//! limits, maxAttempts and presets moved down and up one at a time, ranked by their effect on
//! one metric with a paired 95% interval.

use super::labels::step_label;
use super::outcome::SweepError;
use crate::model::Model;
use crate::montecarlo::Config;
use crate::paired;
use crate::platform::{MachineId, PRESETS};
use crate::sim;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A work step's duration, scaled.
    Duration,
    /// A work step's failure probability, scaled and clamped to [0, 1].
    Failure,
    /// An `input:` attribute, every draw scaled (a whole-number attribute stays whole).
    Input,
    /// A count (fan-out size) written as a number or a distribution, scaled and rounded.
    Count,
    /// A queue's `concurrencyLimit`, one step at least each way.
    QueueLimit,
    /// A task's `retry.maxAttempts`, one step at least each way.
    MaxAttempts,
    /// A task's machine preset: the next smaller and the next larger.
    Machine,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Duration => "duration",
            Kind::Failure => "failure",
            Kind::Input => "input",
            Kind::Count => "count",
            Kind::QueueLimit => "queue_limit",
            Kind::MaxAttempts => "max_attempts",
            Kind::Machine => "machine",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Base {
    pub p95_duration_s: f64,
    pub mean_cost_usd: f64,
    /// The ranking metric's value in the scenario as written.
    pub value: f64,
    pub success_rate: f64,
}

/// A relative effect (0.1 = 10% more than the base) and the half-width of its paired 95%
/// interval (null when it cannot be estimated).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Effect {
    pub value: f64,
    pub ci95: f64,
}

impl Effect {
    /// Inside the noise: the interval holds 0.
    pub fn noise(&self) -> bool {
        !self.ci95.is_nan() && self.value.abs() <= self.ci95
    }
}

/// One parameter moved down and up: the relative change of the ranking metric (with its
/// interval), of p95 duration and of mean cost.
#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub key: String,
    pub kind: Kind,
    /// The step's task and name (`generate-summary/gpt-4o`), the task, queue or attribute.
    pub label: String,
    /// The value as written and the two it moved to (`10`, `8`, `12`; `x1`, `x0.8`, `x1.2`).
    pub values: [String; 3],
    pub down: Effect,
    pub up: Effect,
    /// Both effects inside the noise.
    pub noise: bool,
    /// Success rate of the down and up variants (the base's is `Base::success_rate`): a
    /// parameter that makes runs cheaper or faster by failing them shows here.
    pub success_down: f64,
    pub success_up: f64,
    pub p95_down: f64,
    pub p95_up: f64,
    pub cost_down: f64,
    pub cost_up: f64,
}

impl Param {
    /// The largest absolute effect on the ranking metric.
    pub fn effect(&self) -> f64 {
        self.down.value.abs().max(self.up.value.abs())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    pub scenario: String,
    /// The environment the variants were simulated in (`Environment::describe`).
    pub environment: String,
    /// Replications of the scenario's load per variant; null: runs alone.
    pub load: Option<u64>,
    /// The scenario has a load but `--isolated` simulated runs alone.
    pub isolated: bool,
    pub runs: u64,
    pub seed: u64,
    pub delta: f64,
    /// What parameters are ranked by.
    pub metric: paired::Metric,
    pub base: Base,
    /// Largest effect on the metric first.
    pub parameters: Vec<Param>,
}

/// One parameter a sensitivity analysis moves, and how.
#[derive(Debug, Clone)]
pub(super) struct Knob {
    key: String,
    kind: Kind,
    label: String,
    values: [String; 3],
    what: Move,
}

#[derive(Debug, Clone)]
pub(super) enum Move {
    Work(usize),
    Failure(usize),
    Input(usize),
    /// A count: fixed (index into `counts`) or a distribution (index into `dists`).
    CountFixed(usize, [u32; 2]),
    CountDist(usize),
    /// Tasks sharing the queue, and the two limits.
    Queue(Vec<usize>, [u32; 2]),
    Attempts(usize, [u32; 2]),
    Machine(usize, [MachineId; 2]),
}

/// An integer moved by x(1 - delta) and x(1 + delta), rounded, and at least one step each
/// way (not below 1). None when it cannot move down.
pub(super) fn int_steps(v: u32, delta: f64) -> Option<[u32; 2]> {
    let x = v as f64;
    let down = ((x * (1.0 - delta)).round() as u32).min(v.saturating_sub(1));
    let up = ((x * (1.0 + delta)).round() as u32).max(v + 1);
    (down >= 1).then_some([down, up])
}

pub(super) fn knobs(model: &Model, delta: f64) -> Vec<Knob> {
    let f = |x: f64| format!("x{}", (x * 1000.0).round() / 1000.0);
    let scaled = [f(1.0), f(1.0 - delta), f(1.0 + delta)];
    let mut out = Vec::new();
    for (i, w) in model.works.iter().enumerate() {
        let label = step_label(&w.key, &w.name);
        out.push(Knob {
            key: w.key.clone(),
            kind: Kind::Duration,
            label: label.clone(),
            values: scaled.clone(),
            what: Move::Work(i),
        });
        if w.failure > 0.0 {
            out.push(Knob {
                key: format!("{}.failure", w.key),
                kind: Kind::Failure,
                label,
                values: scaled.clone(),
                what: Move::Failure(i),
            });
        }
    }
    for (i, a) in model.inputs.iter().enumerate() {
        if a.categories.is_empty() && a.dist.scaled(1.0).is_some() && a.dist.as_fixed() != Some(0.0) {
            out.push(Knob {
                key: format!("input.{}", a.name),
                kind: Kind::Input,
                label: format!("input {}", a.name),
                values: scaled.clone(),
                what: Move::Input(i),
            });
        }
    }
    for (i, c) in model.counts.iter().enumerate() {
        let label = count_label(model, i as u32);
        match *c {
            crate::model::Count::Fixed(n) => {
                if let Some(st) = int_steps(n, delta) {
                    out.push(Knob {
                        key: format!("counts[{i}]"),
                        kind: Kind::Count,
                        label,
                        values: [n.to_string(), st[0].to_string(), st[1].to_string()],
                        what: Move::CountFixed(i, st),
                    });
                }
            }
            crate::model::Count::Dist(d) => out.push(Knob {
                key: format!("counts[{i}]"),
                kind: Kind::Count,
                label,
                values: scaled.clone(),
                what: Move::CountDist(d as usize),
            }),
            crate::model::Count::Attr(_) => {}
        }
    }
    let mut queues_seen: Vec<&str> = Vec::new();
    for t in &model.tasks {
        if let Some(q) = &t.queue
            && let Some(l) = q.concurrency_limit
            && !queues_seen.contains(&q.name.as_str())
        {
            queues_seen.push(&q.name);
            let tasks: Vec<usize> = (0..model.tasks.len())
                .filter(|&j| model.tasks[j].queue.as_ref().is_some_and(|o| o.name == q.name))
                .collect();
            if let Some(st) = int_steps(l, delta) {
                out.push(Knob {
                    key: format!("tasks.{}.queue.concurrencyLimit", t.name),
                    kind: Kind::QueueLimit,
                    label: format!("queue {}", q.name),
                    values: [l.to_string(), st[0].to_string(), st[1].to_string()],
                    what: Move::Queue(tasks, st),
                });
            }
        }
    }
    for (i, t) in model.tasks.iter().enumerate() {
        if let Some(st) = int_steps(t.retry.max_attempts, delta) {
            out.push(Knob {
                key: format!("tasks.{}.retry.maxAttempts", t.name),
                kind: Kind::MaxAttempts,
                label: format!("{} maxAttempts", t.name),
                values: [t.retry.max_attempts.to_string(), st[0].to_string(), st[1].to_string()],
                what: Move::Attempts(i, st),
            });
        }
    }
    for (i, t) in model.tasks.iter().enumerate() {
        let m = t.machine as usize;
        if m > 0 && m + 1 < PRESETS.len() {
            let pair = [(m - 1) as MachineId, (m + 1) as MachineId];
            out.push(Knob {
                key: format!("tasks.{}.machine", t.name),
                kind: Kind::Machine,
                label: format!("{} machine", t.name),
                values: [PRESETS[m].name.into(), PRESETS[m - 1].name.into(), PRESETS[m + 1].name.into()],
                what: Move::Machine(i, pair),
            });
        }
    }
    out
}

/// What count `c` counts, e.g. `ocr-pdf parallel count`, `fan-out batch of fetch`.
pub(super) fn count_label(model: &Model, c: u32) -> String {
    use crate::model::{DurSpec, Op};
    let task_at = |pc: usize| {
        model.tasks.iter().filter(|t| t.entry_pc as usize <= pc).max_by_key(|t| t.entry_pc).map_or("?", |t| &t.name)
    };
    for (pc, op) in model.ops.iter().enumerate() {
        let what = match op {
            Op::Parallel { count, repeat, .. } if *count == c => {
                if *repeat { "repeat count" } else { "parallel count" }.to_owned()
            }
            Op::Trigger { task, count, .. } | Op::BatchTriggerAndWait { task, count, .. } if *count == c => {
                format!("batch of {}", model.tasks[*task as usize].name)
            }
            _ => continue,
        };
        return format!("{} {what}", task_at(pc));
    }
    for w in &model.works {
        if let DurSpec::PerUnit { count, .. } = w.duration
            && count == c
        {
            return format!("{} units", step_label(&w.key, &w.name));
        }
    }
    format!("count {c}")
}

/// The model with one knob moved (`k` 0: down, 1: up), its derived parts (queue layout, the
/// choice of engine path) recomputed as the scenario loader computes them.
pub(super) fn moved(model: &Model, knob: &Knob, k: usize, delta: f64) -> Model {
    let f = [1.0 - delta, 1.0 + delta][k];
    let mut m = model.clone();
    match &knob.what {
        Move::Work(i) => m.works[*i].scale.iter_mut().for_each(|s| *s *= f),
        Move::Failure(i) => m.works[*i].failure = (m.works[*i].failure * f).clamp(0.0, 1.0),
        Move::Input(i) => {
            if let Some(d) = m.inputs[*i].dist.scaled(f) {
                m.inputs[*i].dist = d;
            }
        }
        Move::CountFixed(i, st) => m.counts[*i] = crate::model::Count::Fixed(st[k]),
        Move::CountDist(d) => {
            if let Some(x) = m.dists[*d].scaled(f) {
                m.dists[*d] = x;
            }
        }
        Move::Queue(tasks, st) => {
            for &t in tasks {
                if let Some(q) = &mut m.tasks[t].queue {
                    q.concurrency_limit = Some(st[k]);
                }
            }
        }
        Move::Attempts(t, st) => m.tasks[*t].retry.max_attempts = st[k],
        Move::Machine(t, pair) => m.tasks[*t].machine = pair[k],
    }
    m.queues = m.queue_layout();
    m.direct = std::sync::OnceLock::new();
    m
}

/// How many simulations [`sensitivity`] runs for a model: the base, and two per parameter.
pub fn sensitivity_variants(model: &Model, delta: f64) -> u64 {
    1 + 2 * knobs(model, delta).len() as u64
}

/// What [`sensitivity`] simulates and ranks by.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct SensitivityOptions {
    pub delta: f64,
    pub metric: paired::Metric,
    pub isolated: bool,
    pub replications: u64,
}

/// Moves each parameter a designer can change or does not know down and up, one at a time,
/// with the same random numbers (see [`Kind`]): work durations and failure probabilities,
/// input attributes and counts by `x(1 - delta)` and `x(1 + delta)`; queue limits and
/// `maxAttempts` by as much and at least one step; machine presets to their neighbours. Each
/// effect on the metric is a paired difference against the scenario as written, with its
/// 95% interval; parameters are ranked by their largest effect.
pub fn sensitivity(
    model: &Model,
    o: SensitivityOptions,
    cfg: Config,
    on_runs: &(dyn Fn(u64) + Sync),
) -> Result<Sensitivity, SweepError> {
    sensitivity_check(o, cfg)?;
    let blocks = sensitivity_part(model, o, cfg, 0..sensitivity_variants(model, o.delta), on_runs)?;
    Ok(sensitivity_assemble(model, o, cfg, blocks))
}

/// Refuses a delta outside (0, 1) and zero runs.
pub fn sensitivity_check(o: SensitivityOptions, cfg: Config) -> Result<(), SweepError> {
    let delta = o.delta;
    if !(delta > 0.0 && delta < 1.0) {
        return Err(SweepError::Usage(format!("--delta {delta} is not in (0, 1) (0.2 moves each parameter by 20%)")));
    }
    if cfg.runs == 0 {
        return Err(SweepError::Usage("--runs must be at least 1".into()));
    }
    Ok(())
}

/// Simulates the variants `range` of a sensitivity analysis: variant 0 is the scenario as
/// written, variants `1 + 2 j` and `2 + 2 j` parameter j moved down and up.
pub fn sensitivity_part(
    model: &Model,
    o: SensitivityOptions,
    cfg: Config,
    range: std::ops::Range<u64>,
    on_runs: &(dyn Fn(u64) + Sync),
) -> Result<Vec<paired::Blocks>, SweepError> {
    let mode = sim::Mode::of(model, o.isolated, o.replications);
    let blocks = |m: &Model| -> Result<paired::Blocks, SweepError> {
        Ok(paired::Blocks::of(&sim::simulate(m, mode, cfg, true, Vec::new(), on_runs)?))
    };
    let knobs = knobs(model, o.delta);
    range
        .map(|k| match k {
            0 => blocks(model),
            k => blocks(&moved(model, &knobs[(k as usize - 1) / 2], (k as usize - 1) % 2, o.delta)),
        })
        .collect()
}

/// The analysis from the measures of every variant, in variant order.
pub fn sensitivity_assemble(
    model: &Model,
    o: SensitivityOptions,
    cfg: Config,
    variants: Vec<paired::Blocks>,
) -> Sensitivity {
    let delta = o.delta;
    let mode = sim::Mode::of(model, o.isolated, o.replications);
    let mut variants = variants.into_iter();
    let base = variants.next().unwrap_or_default();
    let rel = |v: f64, b: f64| if b != 0.0 { v / b - 1.0 } else { 0.0 };
    let metric = o.metric;
    let bv = base.pooled.get(metric);
    let mut params = Vec::new();
    for knob in knobs(model, delta) {
        let mut eff = [Effect { value: 0.0, ci95: f64::NAN }; 2];
        let mut pooled = [paired::Values::default(); 2];
        for (k, e) in eff.iter_mut().enumerate() {
            let b = variants.next().unwrap_or_default();
            let d = paired::diff(&b, &base, metric);
            *e = if bv != 0.0 {
                Effect { value: d.value / bv, ci95: d.half / bv.abs() }
            } else {
                Effect { value: 0.0, ci95: f64::NAN }
            };
            pooled[k] = b.pooled;
        }
        params.push(Param {
            key: knob.key,
            kind: knob.kind,
            label: knob.label,
            values: knob.values,
            noise: eff[0].noise() && eff[1].noise(),
            success_down: pooled[0].success,
            success_up: pooled[1].success,
            down: eff[0],
            up: eff[1],
            p95_down: rel(pooled[0].p95, base.pooled.p95),
            p95_up: rel(pooled[1].p95, base.pooled.p95),
            cost_down: rel(pooled[0].cost, base.pooled.cost),
            cost_up: rel(pooled[1].cost, base.pooled.cost),
        });
    }
    params.sort_by(|a, b| b.effect().total_cmp(&a.effect()));
    Sensitivity {
        scenario: model.name.clone(),
        environment: model.environment.describe(),
        load: match mode {
            sim::Mode::Load { replications } => Some(replications),
            sim::Mode::Alone => None,
        },
        isolated: o.isolated && model.load.is_some(),
        runs: cfg.runs,
        seed: cfg.seed,
        delta,
        metric,
        base: Base {
            p95_duration_s: base.pooled.p95,
            mean_cost_usd: base.pooled.cost,
            value: bv,
            success_rate: base.pooled.success,
        },
        parameters: params,
    }
}
