//! The sweep itself: every variant (machine presets of a task, values at key paths) simulated
//! on the same seed, isolated or under the scenario's load, one row each.

use super::decide::decide;
use super::set::{SetSpec, SetValues, cross};
use crate::error::closest;
use crate::model::{Model, Op, TaskId};
use crate::montecarlo::Config;
use crate::paired;
use crate::platform::{MachineId, PRESETS, machine_by_name, machine_names};
use crate::scenario;
use crate::sim;

use super::outcome::{Recommended, Row, RowCost, RowDuration, Sweep, SweepError, SweepOptions};

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
        scenario::bind_slos(&mut vm, opts.slos.clone())
            .map_err(|(i, e)| SweepError::Usage(format!("--slo '{}': {e}", opts.slos[i].expr)))?;
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
                pinned_by_triggers: tid.map_or_else(Vec::new, |t| pinned_by_triggers(model, t)),
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

/// The presets trigger steps choose (`machine:`) for the runs of task `t` they start, each once.
fn pinned_by_triggers(model: &Model, t: TaskId) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for op in &model.ops {
        let (task, machine) = match *op {
            Op::TriggerAndWait { task, machine, .. }
            | Op::Trigger { task, machine, .. }
            | Op::BatchTriggerAndWait { task, machine, .. } => (task, machine),
            _ => continue,
        };
        if let Some(m) = machine.filter(|_| task == t) {
            let name = PRESETS[m as usize].name;
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
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
            // Runs a trigger step started on a preset of its own (`machine:`) finish there
            // without being rescued: only the other presets count. A rescue onto one of those
            // presets cannot be told apart from them (the sweep's note says so).
            let pinned = pinned_by_triggers(model, t);
            let elsewhere: u64 = (0..acc.finished_on.len())
                .filter(|&m| m != own && !pinned.contains(&PRESETS[m].name))
                .map(|m| acc.finished_on[m])
                .sum();
            (map, share(elsewhere))
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
        limited_share: s.limited_share(),
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
