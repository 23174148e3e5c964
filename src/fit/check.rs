//! The backtest: a scenario's predictions beside the observed root runs of an export.
//!
//! Observed: the entry task's root runs (end-to-end duration = completed_at - triggered_at,
//! success = COMPLETED), the cost of each workflow run (total_cost summed over its tree, by
//! `root_run_id`), and each task's compute per run (usage_duration). Predicted: the scenario's
//! runs simulated alone, or with `load` its `load:` block in replications. Each line has both values with
//! standard errors (quantiles: half the distance between the order statistics one binomial
//! standard deviation of the rank either side; means and shares: the usual ones; a task's
//! predicted compute: the observed standard deviation over the simulated runs' square root, as
//! the simulation keeps only sums) and passes when the two differ by at most the tolerance
//! (relative to the observed value) or by at most 4 combined standard errors.

use super::export::{Export, Run, RunStatus};
use crate::model::Model;
use crate::stats::quantile_sorted;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub what: String,
    pub observed: f64,
    pub observed_se: f64,
    pub predicted: f64,
    pub predicted_se: f64,
    /// predicted / observed - 1.
    pub difference: f64,
    pub pass: bool,
    /// How many observed values the line is from.
    pub n: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Drift {
    pub machine: String,
    /// Median of compute_cost / usage over the runs on the preset, USD per second.
    pub observed_usd_per_s: f64,
    pub scenario_usd_per_s: f64,
    /// observed / scenario - 1.
    pub drift: f64,
    pub runs: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Backtest {
    pub scenario: String,
    pub entry: String,
    pub observed_root_runs: usize,
    /// Workflow runs simulated (under load: the runs that arrived in the measured windows).
    pub simulated_runs: u64,
    pub seed: u64,
    pub tolerance: f64,
    pub lines: Vec<Line>,
    pub price_drift: Vec<Drift>,
    pub notes: Vec<String>,
}

impl Backtest {
    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.pass)
    }
}

/// The standard error of the p-quantile of `sorted` (see the module's comment).
pub fn quantile_se(sorted: &[f64], p: f64) -> f64 {
    let s = (p * (1.0 - p) / sorted.len().max(1) as f64).sqrt();
    let q = |x: f64| quantile_sorted(sorted, x.clamp(0.0, 1.0)).unwrap_or(0.0);
    (q(p + s) - q(p - s)) / 2.0
}

fn mean_se(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    (m, sd / n.sqrt(), sd)
}

/// Compares `model` (simulated with `cfg`) with the runs of `ex`.
pub fn backtest(
    model: &Model,
    ex: &Export,
    cfg: crate::montecarlo::Config,
    tolerance: f64,
    load: Option<u64>,
) -> Result<Backtest, String> {
    let entry = model.tasks[model.entry as usize].name.clone();
    let roots: Vec<&Run> = ex.runs.iter().filter(|r| r.is_root() && r.task == entry).collect();
    if roots.is_empty() {
        let mut tasks: Vec<&str> = ex.runs.iter().filter(|r| r.is_root()).map(|r| r.task.as_str()).collect();
        tasks.sort_unstable();
        tasks.dedup();
        return Err(format!(
            "no root runs of the scenario's entry task `{entry}` in the export (its root tasks: {})",
            if tasks.is_empty() { "none".into() } else { tasks.join(", ") }
        ));
    }
    let under_load = load.filter(|_| model.load.is_some());
    let mode = match under_load {
        Some(r) => crate::sim::Mode::Load { replications: r.max(1) },
        None => crate::sim::Mode::Alone,
    };
    let sim = crate::sim::simulate(model, mode, cfg, true, Vec::new(), &|_| {}).map_err(|e| e.to_string())?;
    // Under load, the runs of one replication share queues and are not independent: standard
    // errors come from the spread of the replications' values (from 2 of them).
    let reps: Vec<&[crate::engine::RunOutcome]> = sim.replications();
    let by_reps = under_load.is_some() && reps.len() >= 2;
    let rep_se = |stat: &dyn Fn(&[crate::engine::RunOutcome]) -> f64| -> f64 {
        let v: Vec<f64> = reps.iter().map(|r| stat(r)).collect();
        let (_, se, _) = mean_se(&v);
        se
    };
    let mc = &sim.mc;
    let mut notes = vec![match under_load {
        Some(r) => format!(
            "predicted: the scenario's load: block simulated ({} replication(s){})",
            r.max(1),
            if by_reps {
                "; standard errors from the spread of the replications"
            } else {
                "; with one replication the standard errors ignore that runs under load are not independent: use --replications 5 or more"
            }
        ),
        None if model.load.is_some() => {
            "predicted: the scenario's runs simulated alone (--load simulates its load: block)".to_owned()
        }
        None => "predicted: the scenario's runs simulated alone".to_owned(),
    }];
    let mut lines = Vec::new();
    let line = |what: String, (o, ose): (f64, f64), (p, pse): (f64, f64), n: usize| {
        let se = (ose * ose + pse * pse).sqrt();
        let diff = (p - o).abs();
        Line {
            what,
            observed: o,
            observed_se: ose,
            predicted: p,
            predicted_se: pse,
            difference: if o != 0.0 { p / o - 1.0 } else { 0.0 },
            pass: diff <= tolerance * o.abs() || diff <= 4.0 * se,
            n,
        }
    };
    // End-to-end duration.
    let mut dobs: Vec<f64> = roots
        .iter()
        .filter(|r| r.status == RunStatus::Completed)
        .filter_map(|r| r.total_s.or_else(|| Some(r.completed_at? - r.triggered_at?)))
        .collect();
    dobs.sort_by(f64::total_cmp);
    let mut dsim: Vec<f64> =
        mc.outcomes.iter().filter(|o| o.status == crate::engine::Status::Completed).map(|o| o.duration_s).collect();
    dsim.sort_by(f64::total_cmp);
    if dobs.is_empty() {
        notes.push("no duration: the export has neither total_duration nor triggered_at and completed_at".into());
    } else {
        for p in [0.5, 0.9, 0.95, 0.99] {
            let q = |v: &[f64]| quantile_sorted(v, p).unwrap_or(0.0);
            let se = if by_reps {
                rep_se(&|r| {
                    let mut d: Vec<f64> = r
                        .iter()
                        .filter(|o| o.status == crate::engine::Status::Completed)
                        .map(|o| o.duration_s)
                        .collect();
                    d.sort_by(f64::total_cmp);
                    q(&d)
                })
            } else {
                quantile_se(&dsim, p)
            };
            lines.push(line(
                format!("p{} duration (s), completed runs", (p * 100.0) as u32),
                (q(&dobs), quantile_se(&dobs, p)),
                (q(&dsim), se),
                dobs.len(),
            ));
        }
    }
    // Cost per workflow run: the sum over each root's tree.
    let mut by_root: std::collections::HashMap<&str, f64> = roots.iter().map(|r| (r.id.as_str(), 0.0)).collect();
    let mut costed = true;
    for r in &ex.runs {
        let root = r.root_id.as_deref().unwrap_or(&r.id);
        if let Some(c) = by_root.get_mut(root) {
            match r.total_cost.or_else(|| Some(r.compute_cost? + r.invocation_cost?)) {
                Some(v) => *c += v,
                None => costed = false,
            }
        }
    }
    if costed {
        let cobs: Vec<f64> = by_root.values().copied().collect();
        let csim: Vec<f64> = mc.outcomes.iter().map(|o| o.cost_usd).collect();
        let (mo, so, _) = mean_se(&cobs);
        let (mp, mut sp, _) = mean_se(&csim);
        if by_reps {
            sp = rep_se(&|r| r.iter().map(|o| o.cost_usd).sum::<f64>() / r.len().max(1) as f64);
        }
        lines.push(line("mean cost per workflow run (USD)".into(), (mo, so), (mp, sp), cobs.len()));
    } else {
        notes.push("no cost: the export has no total_cost (or compute_cost and invocation_cost)".into());
    }
    // Success rate.
    let n = roots.len() as f64;
    let ok = roots.iter().filter(|r| r.status == RunStatus::Completed).count() as f64 / n;
    let sims = mc.outcomes.len() as f64;
    let okp = mc.outcomes.iter().filter(|o| o.status == crate::engine::Status::Completed).count() as f64 / sims;
    let okp_se = if by_reps {
        rep_se(&|r| {
            r.iter().filter(|o| o.status == crate::engine::Status::Completed).count() as f64 / r.len().max(1) as f64
        })
    } else {
        (okp * (1.0 - okp) / sims).sqrt()
    };
    lines.push(line("success rate".into(), (ok, (ok * (1.0 - ok) / n).sqrt()), (okp, okp_se), roots.len()));
    // Compute per task run.
    for (i, t) in model.tasks.iter().enumerate() {
        let obs: Vec<f64> = ex.runs.iter().filter(|r| r.task == t.name).filter_map(|r| r.usage_s).collect();
        let acc = &mc.tasks[i];
        if obs.is_empty() || acc.runs == 0 {
            if obs.is_empty() != (acc.runs == 0) {
                notes.push(format!("{}: {} observed runs, {} simulated: no compute line", t.name, obs.len(), acc.runs));
            }
            continue;
        }
        let (mo, so, sd) = mean_se(&obs);
        let mp = acc.usage_s / acc.runs as f64;
        lines.push(line(
            format!("{}: compute per run (s)", t.name),
            (mo, so),
            (mp, sd / (acc.runs as f64).sqrt()),
            obs.len(),
        ));
    }
    // Price drift: what the runs were billed per second against the scenario's prices.
    let mut price_drift = Vec::new();
    for (mi, p) in crate::platform::PRESETS.iter().enumerate() {
        let mut per_s: Vec<f64> = ex
            .runs
            .iter()
            .filter(|r| r.machine.as_deref() == Some(p.name) && r.attempts == 1)
            .filter_map(|r| {
                let u = r.usage_s?;
                (u >= 1.0).then_some(r.compute_cost? / u)
            })
            .collect();
        if per_s.is_empty() {
            continue;
        }
        per_s.sort_by(f64::total_cmp);
        let obs = quantile_sorted(&per_s, 0.5).unwrap_or(0.0);
        let price = model.usd_per_s[mi];
        price_drift.push(Drift {
            machine: p.name.into(),
            observed_usd_per_s: obs,
            scenario_usd_per_s: price,
            drift: if price > 0.0 { obs / price - 1.0 } else { 0.0 },
            runs: per_s.len(),
        });
    }
    Ok(Backtest {
        scenario: model.name.clone(),
        entry,
        observed_root_runs: roots.len(),
        simulated_runs: mc.outcomes.len() as u64,
        seed: cfg.seed,
        tolerance,
        lines,
        price_drift,
        notes,
    })
}

/// The backtest as a table.
pub fn table(b: &Backtest) -> String {
    use super::write::num;
    let mut s = format!(
        "backtest of {} against {} observed root runs of {} ({} simulated runs, seed {}); a line passes within {}% or 4 standard errors\n\n",
        b.scenario,
        b.observed_root_runs,
        b.entry,
        b.simulated_runs,
        b.seed,
        num(b.tolerance * 100.0, 3)
    );
    s.push_str(&format!("{:<44} {:>22} {:>22} {:>8}  {}\n", "", "observed ± se", "predicted ± se", "diff", "verdict"));
    for l in &b.lines {
        let v = |x: f64, se: f64| format!("{} ± {}", num(x, 4), num(se, 2));
        s.push_str(&format!(
            "{:<44} {:>22} {:>22} {:>7}%  {}\n",
            l.what,
            v(l.observed, l.observed_se),
            v(l.predicted, l.predicted_se),
            num(l.difference * 100.0, 2),
            if l.pass { "pass" } else { "FAIL" }
        ));
    }
    if !b.price_drift.is_empty() {
        s.push_str("\nUSD per second     observed (median)   scenario      drift   runs\n");
        for d in &b.price_drift {
            s.push_str(&format!(
                "{:<18} {:>17} {:>10} {:>+9.1}% {:>6}\n",
                d.machine,
                num(d.observed_usd_per_s, 4),
                num(d.scenario_usd_per_s, 4),
                d.drift * 100.0,
                d.runs
            ));
        }
    }
    for n in &b.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    let failed = b.lines.iter().filter(|l| !l.pass).count();
    s.push_str(&if failed == 0 { "\nall lines pass\n".to_owned() } else { format!("\n{failed} line(s) FAIL\n") });
    s
}
