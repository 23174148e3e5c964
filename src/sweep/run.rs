//! The sweep itself: every variant (machine presets of a task, values at key paths) simulated
//! on the same seed, isolated or under the scenario's load, one row each.

use super::decide::decide;
use super::set::{SetSpec, SetValues, check_set_paths, cross};
use crate::analysis::summary::Statuses;
use crate::engine::SimError;
use crate::error::{LoadError, closest};
use crate::model::{Model, TaskId};
use crate::montecarlo::Config;
use crate::paired;
use crate::platform::{MachineId, PRESETS, machine_by_name, machine_names};
use crate::scenario;
use crate::sim;
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

pub(super) fn row(
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
