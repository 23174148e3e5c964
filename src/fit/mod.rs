//! `wfsim fit`: a scenario calibrated from a team's real Trigger.dev runs (TRQL `runs`
//! exports), the fit report, and the backtest of a scenario against the observed runs.
//!
//! export.rs (typed runs from CSV and JSON, located errors) -> tree.rs (who triggered whom) ->
//! families.rs (a distribution per observed quantity, by AIC, with its KS distance) ->
//! arrivals.rs (root runs over time to a `load:` block) -> write.rs (the scenario YAML, a
//! comment beside every fitted number) -> report.rs (observed against fitted).

pub mod arrivals;
pub mod cmd;
pub mod csv;
pub mod export;
pub mod families;
pub mod table;
pub mod tree;
pub mod write;

use export::{Export, Run, RunStatus};
use families::Fitted;
use std::collections::HashMap;

/// What the fit was asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The task the app triggers (default: the task of most root runs).
    pub entry: Option<String>,
    /// The scenario's name (default: the entry task's).
    pub name: Option<String>,
    /// Keep `is_test` runs.
    pub include_tests: bool,
}

/// Fewest clean runs (one attempt, completed) for the compute time to be fitted on them alone;
/// below it every run's compute per attempt is used.
pub const MIN_CLEAN: usize = 20;

/// One task's fitted numbers.
#[derive(Debug, Clone)]
pub struct TaskFit {
    pub name: String,
    pub runs: usize,
    /// The preset most runs started on, and how many runs it is from.
    pub machine: Option<(String, usize)>,
    /// A bigger preset that runs moved to after running out of memory, with the count.
    pub oom_machine: Option<(String, usize)>,
    /// Runs that ran out of memory (upgraded or crashed).
    pub oom_runs: usize,
    pub queue: Option<(String, usize)>,
    pub max_duration_s: Option<(f64, usize)>,
    /// Compute seconds of one attempt.
    pub compute: Option<Fitted>,
    /// Which runs the compute time came from.
    pub compute_from: &'static str,
    /// Per-attempt failure probability (retryable), its standard error, and the attempts it is from.
    pub failure: Option<(f64, f64, u64)>,
    /// Failures that ended a run before its attempts ran out (not retried), per attempt.
    pub abort: Option<(f64, f64, u64)>,
    /// `retry.maxAttempts`, with how many runs show it.
    pub max_attempts: Option<(u32, usize)>,
    pub timed_out: usize,
    pub edges: Vec<tree::Edge>,
}

/// The whole fit.
#[derive(Debug)]
pub struct Fit {
    pub name: String,
    pub entry: String,
    /// Tasks reachable from the entry, in the order they are written.
    pub tasks: Vec<TaskFit>,
    /// Start latency (dequeued -> executed) of warm and of cold starts.
    pub warm_start: Option<Fitted>,
    pub cold_start: Option<Fitted>,
    pub arrivals: Option<arrivals::Arrivals>,
    /// Root runs of the entry task.
    pub root_runs: usize,
    /// Root runs of other tasks (left out), by task.
    pub other_roots: Vec<(String, usize)>,
    pub orphans: usize,
    pub export: ExportInfo,
    /// What could not be fitted, and why.
    pub notes: Vec<String>,
    /// The most runs executing at once (from executed_at / completed_at), a lower bound of
    /// the environment's concurrency limit.
    pub peak_concurrency: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct ExportInfo {
    pub files: Vec<String>,
    pub runs: usize,
    pub in_flight: usize,
    pub tests_left_out: usize,
    pub duplicates: usize,
    pub missing: Vec<&'static str>,
    /// First and last trigger time (Unix seconds).
    pub span: Option<(f64, f64)>,
}

/// An error with what to do about it (no located row: e.g. an export without root runs).
#[derive(Debug)]
pub struct FitError(pub String);

/// Fits a scenario to the runs.
pub fn fit(ex: &Export, opts: &Options) -> Result<Fit, FitError> {
    let runs = &ex.runs;
    if runs.is_empty() {
        return Err(FitError(format!(
            "no finished runs in {} ({} in flight, {} test runs left out{})",
            ex.files.join(", "),
            ex.in_flight,
            ex.tests_left_out,
            if ex.tests_left_out > 0 { "; --include-tests keeps them" } else { "" }
        )));
    }
    let tree = tree::build(runs);
    let mut notes = Vec::new();
    // The entry: the task of most root runs, or the one asked for.
    let mut roots_by_task: Vec<(String, usize)> = Vec::new();
    for &r in &tree.roots {
        match roots_by_task.iter_mut().find(|(t, _)| *t == runs[r].task) {
            Some(e) => e.1 += 1,
            None => roots_by_task.push((runs[r].task.clone(), 1)),
        }
    }
    roots_by_task.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let entry = match &opts.entry {
        Some(e) => {
            if !runs.iter().any(|r| &r.task == e) {
                let names: Vec<&str> = roots_by_task.iter().map(|(t, _)| t.as_str()).collect();
                return Err(FitError(format!(
                    "--entry {e}: no run of that task in the export (root tasks: {})",
                    names.join(", ")
                )));
            }
            e.clone()
        }
        None => match roots_by_task.first() {
            Some((t, _)) => t.clone(),
            None => {
                return Err(FitError(
                    "no root runs in the export (every run has a parent_run_id): export a wider time window, or name the entry task with --entry".into(),
                ));
            }
        },
    };
    let root_runs = roots_by_task.iter().find(|(t, _)| *t == entry).map_or(0, |x| x.1);
    let other_roots: Vec<(String, usize)> = roots_by_task.iter().filter(|(t, _)| *t != entry).cloned().collect();
    if !other_roots.is_empty() {
        notes.push(format!(
            "root runs of other tasks left out (fit each with --entry): {}",
            other_roots.iter().map(|(t, n)| format!("{t} ({n})")).collect::<Vec<_>>().join(", ")
        ));
    }
    if !tree.orphans.is_empty() {
        notes.push(format!(
            "{} run(s) whose parent is not in the export (outside its time window?): left out of the tree, kept for their task's numbers",
            tree.orphans.len()
        ));
    }
    // Runs per task.
    let mut by_task: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in runs.iter().enumerate() {
        by_task.entry(r.task.as_str()).or_default().push(i);
    }
    // Tasks reachable from the entry, breadth first; an edge back to a task on the path is
    // dropped (a triggerAndWait cycle cannot be simulated).
    let mut order: Vec<String> = vec![entry.clone()];
    let mut fits: Vec<TaskFit> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let name = order[i].clone();
        let idx = by_task.get(name.as_str()).cloned().unwrap_or_default();
        let mut t = task_fit(runs, &tree, &name, &idx, &mut notes);
        let ancestors = ancestors_of(&fits, &name, &entry);
        t.edges.retain(|e| {
            let cyc = e.child == name || ancestors.contains(&e.child);
            if cyc {
                notes.push(format!("{name} -> {}: a cycle in the run tree, left out", e.child));
            }
            !cyc
        });
        for e in &t.edges {
            if !order.contains(&e.child) {
                order.push(e.child.clone());
            }
        }
        fits.push(t);
        i += 1;
    }
    let warm_start = start_latency(runs, true);
    let cold_start = start_latency(runs, false);
    if warm_start.is_none() && cold_start.is_none() {
        notes.push(
            "start latency not fitted (needs dequeued_at, executed_at and is_warm_start): the defaults apply".into(),
        );
    }
    let root_times: Vec<f64> =
        tree.roots.iter().filter(|&&r| runs[r].task == entry).filter_map(|&r| runs[r].triggered_at).collect();
    let arrivals = arrivals::fit(&root_times);
    if arrivals.is_none() {
        notes.push("no load: block (needs triggered_at on at least 2 root runs over a positive time span)".into());
    }
    let span = runs.iter().filter_map(|r| r.triggered_at).fold(None, |acc: Option<(f64, f64)>, t| match acc {
        None => Some((t, t)),
        Some((a, b)) => Some((a.min(t), b.max(t))),
    });
    Ok(Fit {
        name: opts.name.clone().unwrap_or_else(|| entry.clone()),
        entry,
        tasks: fits,
        warm_start,
        cold_start,
        arrivals,
        root_runs,
        other_roots,
        orphans: tree.orphans.len(),
        export: ExportInfo {
            files: ex.files.clone(),
            runs: runs.len(),
            in_flight: ex.in_flight,
            tests_left_out: ex.tests_left_out,
            duplicates: ex.duplicates,
            missing: ex.missing.clone(),
            span,
        },
        notes,
        peak_concurrency: peak_concurrency(runs),
    })
}

/// Tasks on the path from the entry to `name` (through the edges fitted so far).
fn ancestors_of(fits: &[TaskFit], name: &str, entry: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = name.to_owned();
    while cur != entry {
        let Some(p) = fits.iter().find(|t| t.edges.iter().any(|e| e.child == cur)) else { break };
        if out.contains(&p.name) {
            break;
        }
        out.push(p.name.clone());
        cur = p.name.clone();
    }
    out
}

/// The most common value and its count.
fn mode<T: PartialEq + Clone>(xs: impl Iterator<Item = T>) -> Option<(T, usize)> {
    let mut counts: Vec<(T, usize)> = Vec::new();
    for x in xs {
        match counts.iter_mut().find(|(v, _)| *v == x) {
            Some(c) => c.1 += 1,
            None => counts.push((x, 1)),
        }
    }
    counts.into_iter().reduce(|a, b| if b.1 > a.1 { b } else { a })
}

fn task_fit(runs: &[Run], tree: &tree::Tree, name: &str, idx: &[usize], notes: &mut Vec<String>) -> TaskFit {
    let rs: Vec<&Run> = idx.iter().map(|&i| &runs[i]).collect();
    let oom: Vec<&&Run> = rs.iter().filter(|r| r.out_of_memory()).collect();
    // The preset a run starts on: the runs that did not run out of memory show it.
    let machine = mode(rs.iter().filter(|r| !r.out_of_memory()).filter_map(|r| r.machine.clone()))
        .or_else(|| mode(rs.iter().filter_map(|r| r.machine.clone())));
    let oom_machine = mode(
        oom.iter()
            .filter(|r| r.status == RunStatus::Completed || r.attempts > 1)
            .filter_map(|r| r.machine.clone())
            .filter(|m| machine.as_ref().is_none_or(|(b, _)| b != m)),
    );
    let queue = mode(rs.iter().filter_map(|r| r.queue.clone()));
    let max_duration_s =
        mode(rs.iter().filter_map(|r| r.max_duration_s.map(|v| v.to_bits()))).map(|(b, n)| (f64::from_bits(b), n));
    // Compute of one attempt: runs that completed in one attempt, when there are enough;
    // else every run's compute divided by its attempts (timed-out runs are cut short: left out).
    let clean: Vec<f64> = rs
        .iter()
        .filter(|r| r.attempts == 1 && r.status == RunStatus::Completed && !r.out_of_memory())
        .filter_map(|r| r.usage_s)
        .collect();
    let (sample, compute_from) = if clean.len() >= MIN_CLEAN {
        (clean, "runs completed in one attempt")
    } else {
        let all: Vec<f64> = rs
            .iter()
            .filter(|r| r.status != RunStatus::TimedOut && r.status != RunStatus::Expired)
            .filter_map(|r| r.usage_s.map(|u| u / f64::from(r.attempts)))
            .collect();
        (all, "every run's compute per attempt")
    };
    let compute = families::fit(&sample);
    if compute.is_none() {
        notes.push(format!("{name}: no compute time (usage_duration) to fit: a fixed 0s is written"));
    }
    // Failures: every attempt but the last of a run failed; the last failed when the run did
    // (a timed-out attempt is cut by maxDuration, not a failure: left out of the trials).
    let max_att = rs.iter().map(|r| r.attempts).max().unwrap_or(1);
    let failed_final = |r: &Run| matches!(r.status, RunStatus::Failed | RunStatus::Crashed | RunStatus::SystemFailure);
    let mut trials = 0u64;
    let mut fails = 0u64;
    let mut aborts = 0u64;
    for r in &rs {
        if r.status == RunStatus::Expired || r.status == RunStatus::Canceled {
            continue;
        }
        let oom_here = u64::from(r.out_of_memory());
        let last_trial = u64::from(r.status != RunStatus::TimedOut);
        trials += u64::from(r.attempts) - 1 + last_trial;
        fails += u64::from(r.attempts) - 1 - oom_here.min(u64::from(r.attempts) - 1);
        if failed_final(r) && !r.out_of_memory() {
            if r.attempts < max_att { aborts += 1 } else { fails += 1 }
        }
    }
    let se = |k: u64, n: u64| {
        let p = k as f64 / n as f64;
        (p, (p * (1.0 - p) / n as f64).sqrt(), n)
    };
    let failure = (trials > 0 && fails > 0).then(|| se(fails, trials));
    let abort = (trials > 0 && aborts > 0 && max_att > 1).then(|| se(aborts, trials));
    let max_attempts = (max_att > 1).then(|| (max_att, rs.iter().filter(|r| r.attempts == max_att).count()));
    let edges = tree::edges(runs, tree, idx);
    TaskFit {
        name: name.to_owned(),
        runs: rs.len(),
        machine,
        oom_machine,
        oom_runs: oom.len(),
        queue,
        max_duration_s,
        compute,
        compute_from,
        failure,
        abort,
        max_attempts,
        timed_out: rs.iter().filter(|r| r.status == RunStatus::TimedOut).count(),
        edges,
    }
}

/// Start latency (dequeued -> executed, seconds) of warm or cold starts.
fn start_latency(runs: &[Run], warm: bool) -> Option<Fitted> {
    let xs: Vec<f64> = runs
        .iter()
        .filter(|r| r.warm == Some(warm))
        .filter_map(|r| Some(r.executed_at? - r.dequeued_at?))
        .filter(|d| *d >= 0.0)
        .collect();
    families::fit(&xs)
}

/// The most runs executing at once.
fn peak_concurrency(runs: &[Run]) -> Option<usize> {
    let mut ev: Vec<(f64, i32)> = Vec::new();
    for r in runs {
        if let (Some(a), Some(b)) = (r.executed_at, r.completed_at) {
            ev.push((a, 1));
            ev.push((b, -1));
        }
    }
    if ev.is_empty() {
        return None;
    }
    ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut cur, mut peak) = (0i32, 0i32);
    for (_, d) in ev {
        cur += d;
        peak = peak.max(cur);
    }
    Some(peak.max(0) as usize)
}

/// What the fit found, in a few lines (printed on stderr by `wfsim fit`).
pub fn summary(fit: &Fit) -> String {
    use write::num;
    let mut s = format!(
        "fitted {} from {} runs ({} root runs of {}{}{})\n",
        fit.name,
        fit.export.runs,
        fit.root_runs,
        fit.entry,
        if fit.orphans > 0 {
            format!(", {} with a parent missing from the export", fit.orphans)
        } else {
            String::new()
        },
        if fit.export.tests_left_out > 0 {
            format!(", {} test runs left out", fit.export.tests_left_out)
        } else {
            String::new()
        },
    );
    s.push_str(&format!(
        "{:<24} {:>7} {:<10} {:<12} {:>9} {:>9} {:>6} {:<5} {:>8}\n",
        "task", "runs", "machine", "compute", "p50", "p95", "KS", "fit", "fail/att"
    ));
    for t in &fit.tasks {
        let (fam, p50, p95, ks, v) = match &t.compute {
            Some(f) => (
                f.family.name(),
                write::secs(f.family.quantile(0.5)),
                write::secs(f.family.quantile(0.95)),
                num(f.ks, 2),
                f.verdict.name(),
            ),
            None => ("-", "-".into(), "-".into(), "-".into(), "-"),
        };
        s.push_str(&format!(
            "{:<24} {:>7} {:<10} {:<12} {:>9} {:>9} {:>6} {:<5} {:>8}\n",
            t.name,
            t.runs,
            t.machine.as_ref().map_or("-", |m| m.0.as_str()),
            fam,
            p50,
            p95,
            ks,
            v,
            t.failure.map_or("0".into(), |f| num(f.0, 3)),
        ));
    }
    if let Some(a) = &fit.arrivals {
        s.push_str(&format!(
            "arrivals: {} root runs per minute ({}){}\n",
            num(a.per_minute, 4),
            if a.poisson { "Poisson" } else { "constant" },
            if a.schedule.is_empty() {
                String::new()
            } else {
                format!(", {} windows of different rates", a.schedule.len())
            }
        ));
    }
    for n in &fit.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}
