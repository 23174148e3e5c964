//! Sizing and sensitivity.
//!
//! [`sweep`] runs one scenario in several variants (machine presets of a task, values at key
//! paths) with the same seed, so every variant sees the same random numbers for the same
//! work, and keeps the variants worth having: the feasible ones (every SLO passes and the
//! success rate is close to the best), their Pareto front of mean cost against p95 duration,
//! and a pick per strategy (`cost`, `speed`, `balanced`). [`sensitivity`] moves each work
//! step's duration and failure probability down and up one at a time and ranks them by their
//! effect on p95 duration and mean cost.

use crate::analysis::summary::Statuses;
use crate::engine::SimError;
use crate::error::{LoadError, closest};
use crate::model::{Model, TaskId};
use crate::montecarlo::Config;
use crate::paired;
use crate::platform::{MachineId, PRESETS, machine_by_name, machine_names};
use crate::report::grid::{Align, Grid};
use crate::scenario;
use crate::sim;
use crate::slo::Slo;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// A variant is infeasible when its success rate is below the best variant's by more than
/// this many standard errors of the difference.
pub const SUCCESS_SE: f64 = 4.0;
/// The value `--balance` takes when not given: cost and p95 duration weigh the same.
pub const DEFAULT_BALANCE: f64 = 0.5;
/// Replications of a scenario's load per variant when `--replications` is not given: enough
/// for Student's t intervals (t = 2.26 with 9 degrees of freedom) at little cost.
pub const DEFAULT_REPLICATIONS: u64 = 10;

/// One `--set PATH=V1,V2,...`: the key path and the values it takes, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSpec {
    pub path: String,
    pub values: Vec<String>,
}

/// Parses `PATH=V1,V2,...`. Values are YAML; a comma inside brackets, braces or quotes does
/// not split (`tasks.t.steps[0].work.duration={ uniform: [1s, 3s] },2s`).
pub fn parse_set(arg: &str) -> Result<SetSpec, String> {
    let example = "expected PATH=V1,V2,... e.g. tasks.transcribe-audio.steps[0].parallel.limit=1,2,3,6";
    let (path, vals) = arg.split_once('=').ok_or_else(|| format!("`{arg}` has no `=`: {example}"))?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(|p| p.trim().is_empty()) {
        return Err(format!("`{arg}` has no key path before `=`: {example}"));
    }
    let values = split_values(vals);
    if values.is_empty() || values.iter().any(|v| v.is_empty()) {
        return Err(format!("`{arg}` has an empty value: {example}"));
    }
    Ok(SetSpec { path: path.to_owned(), values })
}

fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote) = (0i32, None::<char>);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth -= 1,
            (None, ',') if depth <= 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_owned());
    out
}

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

/// Set values of a variant, in `--set` order; serialised as a map whose numeric values are
/// numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetValues(pub Vec<(String, String)>);

impl Serialize for SetValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, &json_value(v))?;
        }
        m.end()
    }
}

fn json_value(v: &str) -> serde_json::Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => f.into(),
        _ => v.into(),
    }
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

/// Runs every variant the options describe: one [`Sweep`] per task (`--task all`), else one.
/// `on_runs` is called as runs finish (for a progress bar).
pub fn sweep(
    src: &str,
    file: &str,
    opts: &SweepOptions,
    cfg: Config,
    on_runs: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Sweep>, SweepError> {
    let p = plan(src, file, opts, cfg)?;
    let rows = (0..p.len()).map(|k| p.row(src, file, opts, cfg, k, on_runs)).collect::<Result<Vec<_>, _>>()?;
    Ok(p.assemble(opts, cfg, rows))
}

/// The variants of a sweep, in the order its rows list them: tasks (`--task all`), then
/// machines, then `--set` combinations (the first `--set` varying slowest).
pub struct Plan {
    model: Model,
    tasks: Vec<Option<String>>,
    combos: Vec<SetValues>,
    /// Each variant: its task (index in `tasks`), swept machine and combination.
    variants: Vec<(usize, Option<MachineId>, usize)>,
}

/// Checks the options against the scenario and lists the variants.
pub fn plan(src: &str, file: &str, opts: &SweepOptions, cfg: Config) -> Result<Plan, SweepError> {
    if !(0.0..=1.0).contains(&opts.balance) {
        return Err(SweepError::Usage(format!("--balance {} is not in [0, 1] (the weight of cost)", opts.balance)));
    }
    if cfg.runs == 0 {
        return Err(SweepError::Usage("--runs must be at least 1".into()));
    }
    let base = scenario::load_str(src, file).map_err(|source| SweepError::Load { context: String::new(), source })?;
    let model = &base.model;
    let task_names: Vec<&str> = model.tasks.iter().map(|t| t.name.as_str()).collect();
    let tasks: Vec<Option<String>> = match opts.task.as_deref() {
        None => {
            if !opts.machines.is_empty() {
                return Err(SweepError::Usage("--machines needs --task T (the task whose preset is swept)".into()));
            }
            if opts.sets.is_empty() {
                return Err(SweepError::Usage(
                    "nothing to sweep: give --task T (its machine presets) or --set PATH=V1,V2,...".into(),
                ));
            }
            vec![None]
        }
        Some(t) if model.task_id(t).is_some() => vec![Some(t.to_owned())],
        Some("all") => task_names.iter().map(|t| Some((*t).to_owned())).collect(),
        Some(t) => {
            let hint = match closest(t, &task_names) {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            return Err(SweepError::Usage(format!(
                "--task `{t}`: there is no such task; {hint}tasks: {}, or all",
                task_names.join(", ")
            )));
        }
    };
    let mut machines: Vec<MachineId> = Vec::new();
    for name in &opts.machines {
        let m = machine_by_name(name.trim()).ok_or_else(|| {
            let hint = match closest(name, &machine_names()) {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            SweepError::Usage(format!(
                "--machines: unknown preset `{name}`; {hint}presets: {}",
                machine_names().join(", ")
            ))
        })?;
        if !machines.contains(&m) {
            machines.push(m);
        }
    }
    if machines.is_empty() {
        machines = (0..PRESETS.len() as MachineId).collect();
    }
    check_set_paths(src, &opts.sets)?;
    let combos = cross(&opts.sets);
    let mut variants = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let tid = task.as_deref().and_then(|t| model.task_id(t));
        let swept: Vec<Option<MachineId>> =
            if tid.is_some() { machines.iter().map(|m| Some(*m)).collect() } else { vec![None] };
        for m in swept {
            for c in 0..combos.len() {
                variants.push((i, m, c));
            }
        }
    }
    Ok(Plan { model: base.model, tasks, combos, variants })
}

impl Plan {
    /// The number of variants (rows over all sweeps).
    pub fn len(&self) -> u64 {
        self.variants.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.variants.is_empty()
    }

    /// Simulates variant `k` and returns its row (undecided: feasibility against the other
    /// rows, the front and the picks come in [`Plan::assemble`]).
    pub fn row(
        &self,
        src: &str,
        file: &str,
        opts: &SweepOptions,
        cfg: Config,
        k: u64,
        on_runs: &(dyn Fn(u64) + Sync),
    ) -> Result<Row, SweepError> {
        let (ti, m, c) = self.variants[k as usize];
        let task = &self.tasks[ti];
        let combo = &self.combos[c];
        let tid = task.as_deref().and_then(|t| self.model.task_id(t));
        let mut overrides: Vec<(String, String)> = Vec::new();
        if let (Some(t), Some(m)) = (task, m) {
            overrides.push((format!("tasks.{t}.machine"), PRESETS[m as usize].name.to_owned()));
        }
        overrides.extend(combo.0.iter().cloned());
        let loaded = scenario::load_str_with(src, file, &overrides).map_err(|source| SweepError::Load {
            context: format!(
                "\n(in the variant {})",
                overrides.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
            source,
        })?;
        let mut vm = loaded.model;
        vm.slos.extend(opts.slos.iter().cloned());
        let mode = sim::Mode::of(&vm, opts.isolated, opts.replications);
        let s = sim::simulate(&vm, mode, cfg, true, Vec::new(), on_runs)?;
        let machine_task = tid.or_else(|| {
            combo.0.iter().find_map(|(k, _)| {
                k.strip_prefix("tasks.").and_then(|r| r.strip_suffix(".machine")).and_then(|t| vm.task_id(t))
            })
        });
        Ok(row(&vm, &s, tid, machine_task, combo.clone()))
    }

    /// The sweeps of the rows of every variant, in order: one per task (`--task all`), else
    /// one, each decided.
    pub fn assemble(&self, opts: &SweepOptions, cfg: Config, rows: Vec<Row>) -> Vec<Sweep> {
        let model = &self.model;
        let mut rows = rows.into_iter();
        let mut out = Vec::new();
        for (i, task) in self.tasks.iter().enumerate() {
            let tid = task.as_deref().and_then(|t| model.task_id(t));
            let n = self.variants.iter().filter(|v| v.0 == i).count();
            let rows: Vec<Row> = rows.by_ref().take(n).collect();
            let mut slos: Vec<String> = model.slos.iter().map(|s| s.expr.clone()).collect();
            slos.extend(opts.slos.iter().map(|s| s.expr.clone()));
            let mut sw = Sweep {
                scenario: model.name.clone(),
                environment: model.environment.describe(),
                load: match sim::Mode::of(model, opts.isolated, opts.replications) {
                    sim::Mode::Load { replications } => Some(replications),
                    sim::Mode::Alone => None,
                },
                isolated: opts.isolated && model.load.is_some(),
                identical: false,
                task: task.clone(),
                scenario_machine: tid.map(|t| PRESETS[model.tasks[t as usize].machine as usize].name),
                runs: cfg.runs,
                seed: cfg.seed,
                balance: opts.balance,
                allow_oom_rescue: opts.allow_oom_rescue,
                slos,
                rows,
                recommended: Recommended::default(),
            };
            decide(&mut sw);
            out.push(sw);
        }
        out
    }
}

/// Checks every `--set` path and value against the scenario's YAML before anything runs, so
/// a typo stops the sweep at once with a message naming the flag.
fn check_set_paths(src: &str, sets: &[SetSpec]) -> Result<(), SweepError> {
    if sets.is_empty() {
        return Ok(());
    }
    let root = scenario::yaml::parse(src)
        .map_err(|e| SweepError::Usage(format!("the scenario is not YAML: {}", e.message)))?;
    for s in sets {
        for v in &s.values {
            let mut r = root.clone();
            scenario::set_path(&mut r, &s.path, v)
                .map_err(|m| SweepError::Usage(format!("--set {}={}: {m}", s.path, s.values.join(","))))?;
        }
    }
    Ok(())
}

/// Every combination of the set values, the first `--set` varying slowest.
fn cross(sets: &[SetSpec]) -> Vec<SetValues> {
    let mut out = vec![SetValues::default()];
    for s in sets {
        let mut next = Vec::with_capacity(out.len() * s.values.len());
        for prefix in &out {
            for v in &s.values {
                let mut p = prefix.clone();
                p.0.push((s.path.clone(), v.clone()));
                next.push(p);
            }
        }
        out = next;
    }
    out
}

fn row(
    model: &Model,
    sim: &sim::Simulation,
    task: Option<TaskId>,
    machine_task: Option<TaskId>,
    set: SetValues,
) -> Row {
    let s = &sim.summary;
    let (runs, oom, timed_out) = match task {
        Some(t) => {
            let a = &s.tasks[t as usize];
            (a.runs, a.out_of_memory, a.statuses.timed_out)
        }
        None => {
            s.tasks.iter().fold((0, 0, 0), |(r, o, t), a| (r + a.runs, o + a.out_of_memory, t + a.statuses.timed_out))
        }
    };
    let rate = |x: u64| if runs > 0 { x as f64 / runs as f64 } else { 0.0 };
    let failed_slos: Vec<String> = s.slo.iter().filter(|r| !r.pass).map(|r| format!("fails {}", r.expr)).collect();
    let (finished_on, rescued_share) = match machine_task {
        Some(t) => {
            let acc = &sim.mc.tasks[t as usize];
            let total: u64 = acc.finished_on.iter().sum();
            let own = model.tasks[t as usize].machine as usize;
            let share = |n: u64| if total > 0 { n as f64 / total as f64 } else { 0.0 };
            let map = acc
                .finished_on
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(m, n)| (PRESETS[m].name, share(*n)))
                .collect();
            (map, share(total - acc.finished_on[own]))
        }
        None => (Default::default(), 0.0),
    };
    let blocks = paired::Blocks::of(sim);
    let self_half = |f: &dyn Fn(&paired::Values) -> f64| {
        let v: Vec<f64> = blocks.blocks.iter().map(f).collect();
        crate::stats::mean_ci95_t(&v).map_or(f64::NAN, |x| x.1)
    };
    Row {
        machine: task.map(|t| PRESETS[model.tasks[t as usize].machine as usize].name),
        set,
        duration_s: RowDuration {
            p50: s.duration_s.p50,
            p95: s.duration_s.p95,
            p95_ci95: self_half(&|v| v.p95),
            mean: s.duration_s.mean,
        },
        cost_usd: RowCost {
            mean: s.cost_usd.mean,
            mean_ci95: self_half(&|v| v.cost),
            per_1000_runs: s.cost_usd.per_1000_runs,
        },
        success_rate: s.success_rate,
        statuses: s.statuses.clone(),
        oom_rate: rate(oom),
        timed_out_rate: rate(timed_out),
        finished_on,
        rescued_share,
        feasible: failed_slos.is_empty(),
        rescued: rescued_share > 0.0,
        pareto: false,
        infeasible_because: if failed_slos.is_empty() { None } else { Some(failed_slos.join("; ")) },
        dominated_by: None,
        runs: sim.mc.outcomes.len() as u64,
        blocks,
    }
}

/// Feasibility, the Pareto front and the picks of a sweep's rows. Every comparison between
/// two rows is paired (common random numbers, see [`paired`]): a row is worse than another
/// only beyond the 95% interval of their difference; inside it they tie.
pub fn decide(sw: &mut Sweep) {
    sw.identical = sw.rows.len() > 1 && sw.rows.iter().all(|r| same_outcome(r, &sw.rows[0]));
    let best = (0..sw.rows.len()).max_by(|&a, &b| sw.rows[a].success_rate.total_cmp(&sw.rows[b].success_rate));
    if let Some(b) = best {
        let pb = sw.rows[b].success_rate;
        for i in 0..sw.rows.len() {
            let d = paired::diff_of(&sw.rows[i].blocks, &sw.rows[b].blocks, &|v| v.success);
            // The interval's standard error, from its half-width; no interval: none.
            let se = if d.half.is_nan() {
                0.0
            } else {
                d.half / crate::stats::t975(sw.rows[i].blocks.blocks.len() as u64 - 1)
            };
            let r = &mut sw.rows[i];
            let p = r.success_rate;
            let why = if p == 0.0 {
                Some(format!("no run completes ({})", failures(&r.statuses)))
            } else if p < pb - SUCCESS_SE * se {
                Some(format!("success {} vs best {} ({})", pct(p, 2), pct(pb, 2), failures(&r.statuses)))
            } else {
                None
            };
            if let Some(w) = why {
                r.feasible = false;
                r.infeasible_because = Some(match r.infeasible_because.take() {
                    Some(slo) => format!("{w}; {slo}"),
                    None => w,
                });
            }
        }
    }
    let n = sw.rows.len();
    let eligible: Vec<bool> = sw.rows.iter().map(|r| r.feasible && (!r.rescued || sw.allow_oom_rescue)).collect();
    let rows = &sw.rows;
    let cost = |v: &paired::Values| v.cost;
    let p95 = |v: &paired::Values| v.p95;
    let d =
        |i: usize, j: usize, f: &dyn Fn(&paired::Values) -> f64| paired::diff_of(&rows[i].blocks, &rows[j].blocks, f);
    // j dominates i: i is worse beyond the noise on one measure and not better on the other.
    let dominates = |j: usize, i: usize| {
        let (dc, dp) = (d(i, j, &cost), d(i, j, &p95));
        (dc.above() && !dp.below()) || (dp.above() && !dc.below())
    };
    let dominated_by: Vec<Option<usize>> =
        (0..n).map(|i| (0..n).find(|&j| j != i && eligible[j] && eligible[i] && dominates(j, i))).collect();
    // The picks are made among the front.
    let ok: Vec<usize> = (0..n).filter(|&i| eligible[i] && dominated_by[i].is_none()).collect();
    let min_cost = ok.iter().map(|&i| rows[i].blocks.pooled.cost).fold(f64::INFINITY, f64::min).max(f64::MIN_POSITIVE);
    let min_p95 = ok.iter().map(|&i| rows[i].blocks.pooled.p95).fold(f64::INFINITY, f64::min).max(f64::MIN_POSITIVE);
    let w = sw.balance;
    let score = move |v: &paired::Values| balanced_score(w, v.cost, v.p95, min_cost, min_p95);
    let name = |i: usize| variant_name(&rows[i]);
    // The pick on `first`: the lowest, or among the rows tied with it inside the noise, the
    // lowest on `then`; and why.
    let pick =
        |first: &dyn Fn(&paired::Values) -> f64, then: &dyn Fn(&paired::Values) -> f64, what: &str, other: &str| {
            let low = ok.iter().copied().min_by(|&a, &b| {
                first(&rows[a].blocks.pooled).total_cmp(&first(&rows[b].blocks.pooled)).then(a.cmp(&b))
            })?;
            let tied: Vec<usize> = ok.iter().copied().filter(|&i| i == low || !d(i, low, first).above()).collect();
            let win = tied
                .iter()
                .copied()
                .min_by(|&a, &b| {
                    then(&rows[a].blocks.pooled)
                        .total_cmp(&then(&rows[b].blocks.pooled))
                        .then(first(&rows[a].blocks.pooled).total_cmp(&first(&rows[b].blocks.pooled)))
                        .then(a.cmp(&b))
                })
                .unwrap_or(low);
            let others: Vec<String> = tied.iter().filter(|&&i| i != win).map(|&i| name(i)).collect();
            let why = if others.is_empty() {
                let beyond = if ok.len() > 1 {
                    " beyond the noise against every other variant on the front"
                } else if n > 1 {
                    ", the only variant on the front (it dominates the others)"
                } else {
                    ", the only variant"
                };
                format!("lowest {what}{beyond}")
            } else {
                format!("tied on {what} within the noise with {}; lowest {other} of them", others.join(", "))
            };
            Some(Pick { row: win, machine: rows[win].machine, set: rows[win].set.clone(), why })
        };
    let rec = Recommended {
        cost: pick(&cost, &p95, "mean cost", "p95"),
        speed: pick(&p95, &cost, "p95", "mean cost"),
        balanced: pick(&score, &cost, "balanced score", "mean cost"),
    };
    for (i, r) in sw.rows.iter_mut().enumerate() {
        r.pareto = eligible[i] && dominated_by[i].is_none();
        r.dominated_by = if eligible[i] { dominated_by[i] } else { None };
    }
    sw.recommended = rec;
}

/// Two rows with the same p50, p95 and mean duration, mean cost and success rate.
fn same_outcome(a: &Row, b: &Row) -> bool {
    a.duration_s.p50 == b.duration_s.p50
        && a.duration_s.p95 == b.duration_s.p95
        && a.duration_s.mean == b.duration_s.mean
        && a.cost_usd.mean == b.cost_usd.mean
        && a.success_rate == b.success_rate
}

/// `w * cost / min_cost + (1 - w) * p95 / min_p95`: 1 for a variant that is both the
/// cheapest and the fastest.
pub fn balanced_score(w: f64, cost: f64, p95: f64, min_cost: f64, min_p95: f64) -> f64 {
    w * cost / min_cost + (1.0 - w) * p95 / min_p95
}

/// Which points are on the Pareto front of (cost, duration), both to be minimised, among
/// those marked eligible: no eligible point is at least as good in both and better in one.
pub fn pareto_front(points: &[(f64, f64)], eligible: &[bool]) -> Vec<bool> {
    (0..points.len())
        .map(|i| {
            eligible[i]
                && !(0..points.len()).any(|j| {
                    let (a, b) = (points[j], points[i]);
                    eligible[j] && a.0 <= b.0 && a.1 <= b.1 && (a.0 < b.0 || a.1 < b.1)
                })
        })
        .collect()
}

/// Non-completed statuses with their counts, e.g. `CRASHED 8500, FAILED 12`.
pub fn failures(st: &Statuses) -> String {
    let v = serde_json::to_value(st).unwrap_or_default();
    let parts: Vec<String> = v
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, n)| k.as_str() != "COMPLETED" && n.as_u64().unwrap_or(0) > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() { "none failed".into() } else { parts.join(", ") }
}

/// A share as a percentage with `digits` decimals.
pub fn pct(x: f64, digits: usize) -> String {
    format!("{:.*}%", digits, x * 100.0)
}

/// A rate for the table: `-` for none, else e.g. `OOM 85%` (one decimal under 10%).
fn rate_cell(label: &str, x: f64) -> String {
    if x <= 0.0 {
        "-".into()
    } else if x < 0.1 {
        format!("{label} {}", pct(x, 1))
    } else {
        format!("{label} {}", pct(x, 0))
    }
}

/// The last part of a key path, for a column header (`limit` for `...parallel.limit`).
pub fn short_path(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// A variant's name: its machine and set values (`medium-2x limit=4`).
pub fn variant_name(r: &Row) -> String {
    let mut parts: Vec<String> = r.machine.iter().map(|m| m.to_string()).collect();
    parts.extend(r.set.0.iter().map(|(k, v)| format!("{}={v}", short_path(k))));
    if parts.is_empty() { "base".into() } else { parts.join(" ") }
}

/// A variant's name without the set values every variant of the sweep shares (for charts).
pub fn variant_label(sw: &Sweep, r: &Row) -> String {
    let varies = |k: usize| sw.rows.iter().any(|o| o.set.0.get(k) != r.set.0.get(k));
    let mut parts: Vec<String> = r.machine.iter().map(|m| m.to_string()).collect();
    parts.extend(
        r.set.0.iter().enumerate().filter(|(k, _)| varies(*k)).map(|(_, (k, v))| format!("{}={v}", short_path(k))),
    );
    if parts.is_empty() { "base".into() } else { parts.join(" ") }
}

/// The variants of a sweep as a table (text, Markdown and HTML draw it).
pub fn grid(sw: &Sweep) -> Grid {
    use crate::format::{secs, usd};
    let set_paths: Vec<&str> =
        sw.rows.first().map(|r| r.set.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    let mut columns: Vec<(&str, Align)> = Vec::new();
    if sw.task.is_some() {
        columns.push(("machine", Align::Left));
    }
    columns.extend(set_paths.iter().map(|p| (short_path(p), Align::Left)));
    columns
        .extend(["p50", "p95", "cost/run", "per 1,000 runs", "success", "OOM", "TIMED_OUT"].map(|h| (h, Align::Right)));
    columns.push(("verdict", Align::Left));
    let mut g = Grid::new(&columns);
    for (i, r) in sw.rows.iter().enumerate() {
        let mut cells: Vec<String> = Vec::new();
        if sw.task.is_some() {
            cells.push(r.machine.unwrap_or("-").to_owned());
        }
        cells.extend(r.set.0.iter().map(|(_, v)| v.clone()));
        let picks: Vec<&str> =
            [("cost", &sw.recommended.cost), ("speed", &sw.recommended.speed), ("balanced", &sw.recommended.balanced)]
                .iter()
                .filter(|(_, p)| p.as_ref().is_some_and(|p| p.row == i))
                .map(|(n, _)| *n)
                .collect();
        let mut verdict = match &r.infeasible_because {
            Some(w) => format!("infeasible: {w}"),
            None if r.rescued && !sw.allow_oom_rescue => format!("OOM-rescued: {}", rescue_text(r)),
            None if r.pareto => "front".into(),
            None => match r.dominated_by {
                Some(j) => format!("dominated by {}", variant_name(&sw.rows[j])),
                None => "dominated".into(),
            },
        };
        if r.rescued && sw.allow_oom_rescue && r.infeasible_because.is_none() {
            verdict.push_str(&format!(" (OOM-rescued: {})", rescue_text(r)));
        }
        if !picks.is_empty() {
            verdict.push_str(&format!("  <- {}", picks.join(", ")));
        }
        cells.extend([
            secs(r.duration_s.p50),
            with_ci(secs(r.duration_s.p95), r.duration_s.p95_ci95, secs),
            with_ci(usd(r.cost_usd.mean), r.cost_usd.mean_ci95, usd),
            usd(r.cost_usd.per_1000_runs),
            pct(r.success_rate, 2),
            rate_cell("OOM", r.oom_rate),
            rate_cell("TIMED_OUT", r.timed_out_rate),
            verdict,
        ]);
        g.push(cells);
    }
    g
}

/// The human table of a sweep.
pub fn table(sw: &Sweep) -> String {
    use crate::format::{secs, usd};
    use std::fmt::Write;
    let mut o = String::new();
    let what = match &sw.task {
        Some(t) => format!("{}, task {t}", sw.scenario),
        None => sw.scenario.clone(),
    };
    let each = match sw.load {
        Some(r) => format!("{r} replications of the load each"),
        None => format!("{} runs each", sw.runs),
    };
    let _ = writeln!(o, "sweep of {what}; {}", sw.environment);
    let _ =
        writeln!(o, "{} variants, {each}, seed {} (the same random numbers in every variant)", sw.rows.len(), sw.seed);
    if sw.isolated {
        let _ = writeln!(
            o,
            "--isolated: the scenario's load: block is ignored; each workflow run has the platform to itself"
        );
    }
    if let (Some(t), Some(m)) = (&sw.task, sw.scenario_machine) {
        let _ = writeln!(o, "the scenario has {t} on {m}; OOM and TIMED_OUT are shares of {t}'s runs");
    }
    let set_paths: Vec<&str> =
        sw.rows.first().map(|r| r.set.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    for p in &set_paths {
        let _ = writeln!(o, "{}: {p}", short_path(p));
    }
    let _ = writeln!(o);
    o.push_str(&grid(sw).text(3));
    let _ = writeln!(o);
    if sw.identical {
        let _ = writeln!(
            o,
            "all {} variants came out the same (p50, p95, mean duration, mean cost, success): what is swept does not change the outcome here\n",
            sw.rows.len()
        );
    }
    let rescued_only = sw.rows.iter().any(|r| r.feasible) && !sw.rows.iter().any(|r| r.feasible && !r.rescued);
    let line = |name: &str, p: &Option<Pick>| match p {
        Some(p) => {
            let r = &sw.rows[p.row];
            format!(
                "  {name:<9} {}  (p95 {}, {} per run, {} per 1,000 runs): {}",
                variant_name(r),
                secs(r.duration_s.p95),
                usd(r.cost_usd.mean),
                usd(r.cost_usd.per_1000_runs),
                p.why
            )
        }
        None if rescued_only && !sw.allow_oom_rescue => {
            format!("  {name:<9} none: every feasible variant is OOM-rescued (--allow-oom-rescue to consider them)")
        }
        None => format!("  {name:<9} none: no variant is feasible"),
    };
    let _ = writeln!(o, "recommended");
    let _ = writeln!(o, "{}", line("cost", &sw.recommended.cost));
    let _ = writeln!(o, "{}", line("speed", &sw.recommended.speed));
    let _ = writeln!(o, "{}", line("balanced", &sw.recommended.balanced));
    let _ = writeln!(o);
    let slos = if sw.slos.is_empty() { "none given".to_owned() } else { sw.slos.join(", ") };
    let _ = writeln!(
        o,
        "feasible: every SLO passes and the success rate is within {SUCCESS_SE} standard errors of the best"
    );
    let _ = writeln!(o, "SLOs:     {slos}");
    let _ = writeln!(
        o,
        "front:    feasible variants no other beats beyond the noise (paired 95% interval) on mean cost or p95 without losing on the other"
    );
    let _ = writeln!(
        o,
        "noise:    {}",
        match sw.load {
            Some(r) => format!(
                "intervals over the {r} replications (paired: replication r of every variant has the same arrivals)"
            ),
            None => format!(
                "intervals over {} batches of runs (paired: batch j of every variant has the same runs)",
                paired::BATCHES
            ),
        }
    );
    if sw.rows.iter().any(|r| r.rescued) {
        let _ = writeln!(
            o,
            "rescued:  runs of the swept task that ran out of memory and finished on retry.outOfMemory.machine; {}",
            if sw.allow_oom_rescue {
                "allowed by --allow-oom-rescue"
            } else {
                "never recommended without --allow-oom-rescue"
            }
        );
    }
    let _ = writeln!(
        o,
        "balanced: lowest {:.2} x cost / cheapest + {:.2} x p95 / fastest, over the feasible variants",
        sw.balance,
        1.0 - sw.balance
    );
    o
}

/// `85% finish on large-1x`: where a rescued row's runs finished, other than its own preset.
fn rescue_text(r: &Row) -> String {
    let mut parts: Vec<String> = r
        .finished_on
        .iter()
        .filter(|(m, _)| Some(**m) != r.machine)
        .map(|(m, x)| format!("{} finish on {m}", pct(*x, if *x < 0.1 { 1 } else { 0 })))
        .collect();
    if parts.is_empty() {
        parts.push(format!("{} finish on another preset", pct(r.rescued_share, 1)));
    }
    parts.join(", ")
}

/// `value ± half-width`, or the value alone when there is no interval.
fn with_ci(v: String, half: f64, fmt: fn(f64) -> String) -> String {
    if half.is_nan() { v } else { format!("{v} ± {}", fmt(half)) }
}

/// Each task's picks of `--task all`.
pub fn all_grid(sweeps: &[Sweep]) -> Grid {
    let mut g = Grid::new(&[
        ("task", Align::Left),
        ("scenario has", Align::Left),
        ("cost", Align::Left),
        ("speed", Align::Left),
        ("balanced", Align::Left),
    ]);
    for sw in sweeps {
        let name = |p: &Option<Pick>| p.as_ref().map_or("none".to_owned(), |p| variant_name(&sw.rows[p.row]));
        g.push(vec![
            sw.task.clone().unwrap_or_default(),
            sw.scenario_machine.unwrap_or("-").to_owned(),
            name(&sw.recommended.cost),
            name(&sw.recommended.speed),
            name(&sw.recommended.balanced),
        ]);
    }
    g
}

/// The summary table of `--task all`: each task's picks.
pub fn all_table(sweeps: &[Sweep]) -> String {
    format!("recommended per task (each swept with the others as written)\n\n{}", all_grid(sweeps).text(3))
}

// ---------------------------------------------------------------------------------------
// Sensitivity

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

/// The label of a work step: `task/name`, or its key without `tasks.` and `.work`.
pub fn step_label(key: &str, name: &str) -> String {
    let rest = key.strip_prefix("tasks.").unwrap_or(key);
    if name.is_empty() {
        return rest.strip_suffix(".work").unwrap_or(rest).to_owned();
    }
    let task = rest.split(".steps[").next().unwrap_or(rest);
    format!("{task}/{name}")
}

/// One parameter a sensitivity analysis moves, and how.
#[derive(Debug, Clone)]
struct Knob {
    key: String,
    kind: Kind,
    label: String,
    values: [String; 3],
    what: Move,
}

#[derive(Debug, Clone)]
enum Move {
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
fn int_steps(v: u32, delta: f64) -> Option<[u32; 2]> {
    let x = v as f64;
    let down = ((x * (1.0 - delta)).round() as u32).min(v.saturating_sub(1));
    let up = ((x * (1.0 + delta)).round() as u32).max(v + 1);
    (down >= 1).then_some([down, up])
}

fn knobs(model: &Model, delta: f64) -> Vec<Knob> {
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
fn count_label(model: &Model, c: u32) -> String {
    use crate::model::{DurSpec, Op};
    let task_at = |pc: usize| {
        model.tasks.iter().filter(|t| t.entry_pc as usize <= pc).max_by_key(|t| t.entry_pc).map_or("?", |t| &t.name)
    };
    for (pc, op) in model.ops.iter().enumerate() {
        let what = match op {
            Op::Parallel { count, .. } if *count == c => "parallel count".to_owned(),
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
fn moved(model: &Model, knob: &Knob, k: usize, delta: f64) -> Model {
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

/// The parameters of a sensitivity analysis as a table, largest effect first.
pub fn sensitivity_grid(s: &Sensitivity) -> Grid {
    let signed = |x: f64| {
        if x == 0.0 {
            "0.0%".to_owned()
        } else if (x * 100.0).abs() < 0.05 {
            // Too small to show but not nothing: the sign says which way.
            if x > 0.0 { "+0.0%".to_owned() } else { "-0.0%".to_owned() }
        } else {
            format!("{:+.1}%", x * 100.0)
        }
    };
    let eff = |e: &Effect| {
        let ci = if e.ci95.is_nan() { String::new() } else { format!(" ± {:.1}%", e.ci95 * 100.0) };
        format!("{}{ci}", signed(e.value))
    };
    let m = s.metric.name();
    let heads = [format!("{m} down"), format!("{m} up")];
    let mut g = Grid::new(&[
        ("rank", Align::Left),
        ("parameter", Align::Left),
        ("kind", Align::Left),
        ("as written", Align::Left),
        ("down / up", Align::Left),
        (&heads[0], Align::Right),
        (&heads[1], Align::Right),
        ("", Align::Left),
    ]);
    for (i, p) in s.parameters.iter().enumerate() {
        g.push(vec![
            (i + 1).to_string(),
            p.label.clone(),
            p.kind.name().to_owned(),
            p.values[0].clone(),
            format!("{} / {}", p.values[1], p.values[2]),
            eff(&p.down),
            eff(&p.up),
            {
                let mut note: Vec<String> = Vec::new();
                if p.noise {
                    note.push("noise".into());
                }
                let b = s.base.success_rate;
                if p.success_down != b || p.success_up != b {
                    note.push(format!("success {} / {}", pct(p.success_down, 2), pct(p.success_up, 2)));
                }
                note.join("; ")
            },
        ]);
    }
    g
}

/// The human table of a sensitivity analysis.
pub fn sensitivity_table(s: &Sensitivity) -> String {
    use crate::format::{secs, usd};
    let d = (s.delta * 100.0).round();
    let m = s.metric.name();
    let t = if s.parameters.is_empty() {
        "the scenario has nothing to vary\n".to_owned()
    } else {
        sensitivity_grid(s).text(3)
    };
    let base = match s.metric {
        paired::Metric::Cost => usd(s.base.value),
        _ => secs(s.base.value),
    };
    let each = match s.load {
        Some(r) => format!("{r} replications of the load each"),
        None => format!("{} runs each", s.runs),
    };
    let noise = match s.load {
        Some(r) => format!("over the {r} replications"),
        None => format!("over {} batches of runs", paired::BATCHES),
    };
    let isolated = if s.isolated {
        "--isolated: the scenario's load: block is ignored; each workflow run has the platform to itself\n"
    } else {
        ""
    };
    format!(
        "sensitivity of {}; {}\n\
         each parameter down and up in turn ({d}%, at least one step for whole numbers, neighbouring presets), {each}, seed {} (the same random numbers)\n\
         {isolated}base: {m} {base} (p95 duration {}, mean cost {} per run)\n\
         columns: change of the {m} against the scenario as written, ± a paired 95% interval {noise}; noise: both inside it;\n\
         success: the down / up variants' success rates where they differ from the base's ({})\n\n{t}",
        s.scenario,
        s.environment,
        s.seed,
        secs(s.base.p95_duration_s),
        usd(s.base.mean_cost_usd),
        pct(s.base.success_rate, 2),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_split_outside_brackets() {
        let s = parse_set("tasks.t.steps[0].work.duration={ uniform: [1s, 3s] },2s").unwrap();
        assert_eq!(s.path, "tasks.t.steps[0].work.duration");
        assert_eq!(s.values, vec!["{ uniform: [1s, 3s] }", "2s"]);
        assert_eq!(parse_set("a.b=1, 2,3").unwrap().values, vec!["1", "2", "3"]);
        assert!(parse_set("a.b").is_err());
        assert!(parse_set("=1").is_err());
        assert!(parse_set("a.b=1,,2").is_err());
    }

    #[test]
    fn pareto_front_of_a_few_points() {
        let p = [(1.0, 10.0), (2.0, 5.0), (2.0, 6.0), (3.0, 5.0), (0.5, 20.0), (0.1, 1.0)];
        let e = [true, true, true, true, true, false];
        assert_eq!(pareto_front(&p, &e), vec![true, true, false, false, true, false]);
    }

    #[test]
    fn labels() {
        assert_eq!(step_label("tasks.a.steps[0].work", "dl"), "a/dl");
        assert_eq!(step_label("tasks.a.steps[0].parallel.steps[0].work", ""), "a.steps[0].parallel.steps[0]");
    }
}
