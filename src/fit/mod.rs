//! `wfsim fit`: a scenario calibrated from a team's real Trigger.dev runs (TRQL `runs`
//! exports), the fit report, and the backtest of a scenario against the observed runs.
//!
//! export.rs (typed runs from CSV and JSON, located errors) -> tree.rs (who triggered whom) ->
//! families.rs (a distribution per observed quantity, by AIC, with its KS distance) ->
//! arrivals.rs (root runs over time to a `load:` block) -> write.rs (the scenario YAML, a
//! comment beside every fitted number) -> report.rs (observed against fitted).

pub mod arrivals;
pub mod chart;
pub mod check;
pub mod cmd;
pub mod csv;
pub mod export;
pub mod families;
pub mod report;
pub mod simulated;
pub mod table;
pub mod traces;
pub mod tree;
pub mod write;

use export::{Export, Run, RunStatus};
use families::Fitted;
use std::collections::HashMap;

/// What the fit was asked for.
#[derive(Debug, Default)]
pub struct Options {
    /// The task the app triggers (default: the task of most root runs).
    pub entry: Option<String>,
    /// The scenario's name (default: the entry task's).
    pub name: Option<String>,
    /// Keep `is_test` runs.
    pub include_tests: bool,
    /// Run traces: steps inside tasks.
    pub traces: Option<traces::Traces>,
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
    /// `retry.minTimeoutInMs` and `factor`, from the retried runs' gaps.
    pub delays: Option<RetryDelay>,
    pub timed_out: usize,
    pub edges: Vec<tree::Edge>,
    /// Time a run was neither computing nor waiting for its children (`wait.for`, polling),
    /// net of the start latencies of its resumes: written as a `wait` step when its median is
    /// above [`MIN_IDLE_S`].
    pub idle: Option<Fitted>,
    /// Steps from the traces (`logger.trace` spans), in order, each with its fitted duration;
    /// the last one, `untraced`, the attempts' time outside them. Empty without traces.
    pub steps: Vec<(String, Fitted)>,
}

/// Fewest traced attempts of a task for its steps to be fitted.
pub const MIN_TRACED: usize = 20;

/// Median idle time per run (seconds) above which a task gets a `wait` step.
pub const MIN_IDLE_S: f64 = 1.0;

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
    /// The start latencies came from `queued_duration` (no timestamps to split it).
    pub start_from_queued: bool,
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
    // The median start latency: what each resume after waiting for children costs.
    let mut lat: Vec<f64> =
        runs.iter().filter_map(|r| Some(r.executed_at? - r.dequeued_at?)).filter(|d| *d >= 0.0).collect();
    lat.sort_by(f64::total_cmp);
    let latency = crate::stats::quantile_sorted(&lat, 0.5).unwrap_or(0.0);
    let mut i = 0;
    while i < order.len() {
        let name = order[i].clone();
        let idx = by_task.get(name.as_str()).cloned().unwrap_or_default();
        let mut t = task_fit(runs, &tree, &name, &idx, latency, &mut notes);
        if let Some(tt) = opts.traces.as_ref().and_then(|tr| tr.tasks.get(&name)) {
            t.steps = traced_steps(tt);
            if t.steps.is_empty() && !tt.attempts.is_empty() {
                notes.push(format!(
                    "{name}: {} traced attempts (at least {MIN_TRACED} with a logger.trace span are needed for steps)",
                    tt.attempts.len()
                ));
            }
        }
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
    let mut start_from_queued = false;
    let mut warm_start = start_latency(runs, true, false);
    let mut cold_start = start_latency(runs, false, false);
    if warm_start.is_none() && cold_start.is_none() {
        // Without the timestamps, queued_duration: it holds the wait for a slot as well.
        warm_start = start_latency(runs, true, true);
        cold_start = start_latency(runs, false, true);
        start_from_queued = warm_start.is_some() || cold_start.is_some();
        if start_from_queued {
            notes.push(
                "start latency from queued_duration (no dequeued_at and executed_at): it includes any wait for a slot"
                    .into(),
            );
        }
    }
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
        start_from_queued,
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

fn task_fit(
    runs: &[Run],
    tree: &tree::Tree,
    name: &str,
    idx: &[usize],
    latency: f64,
    notes: &mut Vec<String>,
) -> TaskFit {
    let rs: Vec<&Run> = idx.iter().map(|&i| &runs[i]).collect();
    // The preset a run starts on: the runs with one attempt that did not run out of memory
    // show it (an out-of-memory retry moves a run to a bigger preset).
    let machine = mode(rs.iter().filter(|r| r.attempts == 1 && !r.out_of_memory()).filter_map(|r| r.machine.clone()))
        .or_else(|| mode(rs.iter().filter_map(|r| r.machine.clone())));
    let base = machine.as_ref().map(|m| m.0.clone());
    // Out of memory: the error says so, or the run ended on another preset after a retry.
    let oom_of = |r: &Run| r.out_of_memory() || (r.attempts > 1 && r.machine.is_some() && r.machine != base);
    let oom: Vec<&&Run> = rs.iter().filter(|r| oom_of(r)).collect();
    let oom_machine = mode(oom.iter().filter_map(|r| r.machine.clone()).filter(|m| base.as_ref() != Some(m)));
    // Runs that started on it: those on it, and those that moved off it after running out of memory.
    let machine = machine.map(|(m, _)| {
        let n = rs.iter().filter(|r| r.machine.as_ref() == Some(&m) || oom_of(r)).count();
        (m, n)
    });
    let queue = mode(rs.iter().filter_map(|r| r.queue.clone()));
    let max_duration_s =
        mode(rs.iter().filter_map(|r| r.max_duration_s.map(|v| v.to_bits()))).map(|(b, n)| (f64::from_bits(b), n));
    // Compute of one attempt: runs that completed in one attempt, when there are enough;
    // else every run's compute divided by its attempts (timed-out runs are cut short: left out).
    let clean: Vec<f64> = rs
        .iter()
        .filter(|r| r.attempts == 1 && r.status == RunStatus::Completed && !oom_of(r))
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
    // A child the run waited for that failed throws in the parent (unwrap): that attempt's
    // failure is the child's, not the task's own.
    let child_failed = |i: usize| {
        tree.children[i]
            .iter()
            .filter(|&&c| {
                matches!(
                    runs[c].status,
                    RunStatus::Failed | RunStatus::Crashed | RunStatus::SystemFailure | RunStatus::TimedOut
                ) && runs[c].completed_at.zip(runs[i].completed_at).is_none_or(|(a, b)| a <= b + 0.001)
            })
            .count() as u64
    };
    for (&i, r) in idx.iter().zip(&rs) {
        if r.status == RunStatus::Expired || r.status == RunStatus::Canceled {
            continue;
        }
        let by_children = child_failed(i);
        // The attempt that ran out of memory was not a trial of the task's own failure.
        let oom_here = u64::from(oom_of(r));
        let last_trial = u64::from(r.status != RunStatus::TimedOut);
        let att = u64::from(r.attempts);
        let own_trials = (att - 1 + last_trial).saturating_sub(oom_here);
        let mut own_fails = (att - 1).saturating_sub(oom_here);
        let mut abort = 0;
        if failed_final(r) && !oom_of(r) {
            if r.attempts < max_att { abort = 1 } else { own_fails += 1 }
        }
        // Failures the children explain come off the task's own, then off its aborts.
        let from_children = by_children.min(own_fails + abort);
        let off_fails = from_children.min(own_fails);
        own_fails -= off_fails;
        abort -= (from_children - off_fails).min(abort);
        trials += own_trials.saturating_sub(from_children);
        fails += own_fails;
        aborts += abort;
    }
    let se = |k: u64, n: u64| {
        let p = k as f64 / n as f64;
        (p, (p * (1.0 - p) / n as f64).sqrt(), n)
    };
    let failure = (trials > 0 && fails > 0).then(|| se(fails, trials));
    let abort = (trials > 0 && aborts > 0 && max_att > 1).then(|| se(aborts, trials));
    let max_attempts = (max_att > 1).then(|| (max_att, rs.iter().filter(|r| r.attempts == max_att).count()));
    let edges = tree::edges(runs, tree, idx);
    let idle = idle_time(runs, tree, idx, &edges, latency);
    // A task that waits (polls) mixes its waits into the gaps between attempts: no delays then.
    let delays =
        if max_att > 1 && idle.is_none() { retry_delays(runs, tree, idx, &edges, latency, &oom_of) } else { None };
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
        delays,
        timed_out: rs.iter().filter(|r| r.status == RunStatus::TimedOut).count(),
        edges,
        idle,
        steps: Vec::new(),
    }
}

/// The traced steps of a task, ordered by their median start in the attempt, and the
/// attempts' untraced time last (when its median is at least 1 ms).
fn traced_steps(tt: &traces::TaskTraces) -> Vec<(String, Fitted)> {
    if tt.attempts.len() < MIN_TRACED || tt.steps.is_empty() {
        return Vec::new();
    }
    let mut steps: Vec<(f64, String, Fitted)> = tt
        .steps
        .iter()
        .filter(|s| s.durations.len() >= MIN_TRACED)
        .filter_map(|s| {
            let mut o = s.offsets.clone();
            o.sort_by(f64::total_cmp);
            Some((crate::stats::quantile_sorted(&o, 0.5)?, s.name.clone(), families::fit(&s.durations)?))
        })
        .collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<(String, Fitted)> = steps.into_iter().map(|(_, n, f)| (n, f)).collect();
    if out.is_empty() {
        return out;
    }
    let mut u = tt.untraced.clone();
    u.sort_by(f64::total_cmp);
    if crate::stats::quantile_sorted(&u, 0.5).is_some_and(|m| m >= 0.001)
        && let Some(f) = families::fit(&u)
    {
        out.push(("untraced".into(), f));
    }
    out
}

/// Per run: its time not computing (execution_duration - usage_duration) less the time
/// covered by the children it waited for and one start latency per resume (per group of
/// waited children: a batch, or one child). `None` without the columns.
fn unexplained(runs: &[Run], tree: &tree::Tree, i: usize, waited: &[&str], latency: f64) -> Option<f64> {
    let r = &runs[i];
    let (ex, u) = (r.execution_s?, r.usage_s?);
    let mut spans: Vec<(f64, f64)> = Vec::new();
    let mut groups: Vec<Option<&str>> = Vec::new();
    for &c in &tree.children[i] {
        let k = &runs[c];
        if !waited.contains(&k.task.as_str()) {
            continue;
        }
        let (Some(a), Some(b)) = (k.triggered_at, k.completed_at) else { continue };
        spans.push((a, b));
        let g = k.batch_id.as_deref();
        if g.is_none() || !groups.contains(&g) {
            groups.push(g);
        }
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut covered = 0.0;
    let mut cur: Option<(f64, f64)> = None;
    for (a, b) in spans {
        cur = match cur {
            Some((s, e)) if a <= e => Some((s, e.max(b))),
            Some((s, e)) => {
                covered += e - s;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((s, e)) = cur {
        covered += e - s;
    }
    Some((ex - u - covered - groups.len() as f64 * latency).max(0.0))
}

/// Idle time of the task's completed one-attempt runs ([`unexplained`]); `None` when its
/// median is at most [`MIN_IDLE_S`].
fn idle_time(runs: &[Run], tree: &tree::Tree, idx: &[usize], edges: &[tree::Edge], latency: f64) -> Option<Fitted> {
    let waited: Vec<&str> = edges.iter().filter(|e| e.waited()).map(|e| e.child.as_str()).collect();
    let mut xs: Vec<f64> = idx
        .iter()
        .filter(|&&i| runs[i].attempts == 1 && runs[i].status == RunStatus::Completed)
        .filter_map(|&i| unexplained(runs, tree, i, &waited, latency))
        .collect();
    xs.sort_by(f64::total_cmp);
    let med = crate::stats::quantile_sorted(&xs, 0.5)?;
    if med <= MIN_IDLE_S {
        return None;
    }
    families::fit(&xs)
}

/// Fewest runs with two attempts for the retry delay to be estimated.
pub const MIN_RETRIED: usize = 10;

/// The retry delays: `minTimeoutInMs` from the runs with two attempts, `factor` from those
/// with three (when at least [`MIN_RETRIED`]). A run's delays are its unexplained time
/// ([`unexplained`]) less the median of the one-attempt runs' (their idle time; a retry under
/// 30 s stays on its warm machine, with no start latency); with the SDK's `randomize` (a factor uniform in [1, 2)) the first delay
/// averages 1.5 x minTimeoutInMs and the first two 1.5 x minTimeoutInMs x (1 + factor).
/// Out-of-memory retries are left out (they re-queue without a delay).
fn retry_delays(
    runs: &[Run],
    tree: &tree::Tree,
    idx: &[usize],
    edges: &[tree::Edge],
    latency: f64,
    oom: &dyn Fn(&Run) -> bool,
) -> Option<RetryDelay> {
    let waited: Vec<&str> = edges.iter().filter(|e| e.waited()).map(|e| e.child.as_str()).collect();
    let mut base: Vec<f64> = idx
        .iter()
        .filter(|&&i| runs[i].attempts == 1 && runs[i].status == RunStatus::Completed)
        .filter_map(|&i| unexplained(runs, tree, i, &waited, latency))
        .collect();
    base.sort_by(f64::total_cmp);
    let idle = crate::stats::quantile_sorted(&base, 0.5).unwrap_or(0.0);
    let gaps = |k: u32| -> Vec<f64> {
        idx.iter()
            .filter(|&&i| runs[i].attempts == k && !oom(&runs[i]) && runs[i].status != RunStatus::TimedOut)
            .filter_map(|&i| unexplained(runs, tree, i, &waited, latency))
            .map(|g| (g - idle).max(0.0))
            .collect()
    };
    let two = gaps(2);
    if two.len() < MIN_RETRIED {
        return None;
    }
    let n2 = two.len() as f64;
    let m2 = two.iter().sum::<f64>() / n2;
    let sd2 = (two.iter().map(|g| (g - m2).powi(2)).sum::<f64>() / (n2 - 1.0)).sqrt();
    let min_s = m2 / 1.5;
    let three = gaps(3);
    // Above the SDK's default maxTimeoutInMs (60 s) the gaps are not retry delays alone.
    if !(min_s > 0.0 && min_s <= 60.0) {
        return None;
    }
    let min_se = sd2 / n2.sqrt() / 1.5;
    // factor = m3 / (1.5 min) - 1: its standard error from both means' (first order).
    let factor = (three.len() >= MIN_RETRIED && min_s > 0.0).then(|| {
        let n3 = three.len() as f64;
        let m3 = three.iter().sum::<f64>() / n3;
        let se3 = (three.iter().map(|g| (g - m3).powi(2)).sum::<f64>() / (n3 - 1.0)).sqrt() / n3.sqrt();
        let f = m3 / (1.5 * min_s);
        let se = f * ((se3 / m3).powi(2) + (min_se / min_s).powi(2)).sqrt();
        ((f - 1.0).clamp(1.0, 10.0), se)
    });
    Some(RetryDelay {
        min_ms: (min_s * 1000.0).round(),
        min_se_ms: min_se * 1000.0,
        n2: two.len(),
        factor: factor.map(|f| f.0),
        factor_se: factor.map_or(0.0, |f| f.1),
        n3: three.len(),
    })
}

/// Fitted retry delays.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryDelay {
    pub min_ms: f64,
    pub min_se_ms: f64,
    pub n2: usize,
    pub factor: Option<f64>,
    pub factor_se: f64,
    pub n3: usize,
}

/// Start latency (dequeued -> executed, seconds; `queued`: queued_duration) of warm or cold
/// starts.
fn start_latency(runs: &[Run], warm: bool, queued: bool) -> Option<Fitted> {
    let xs: Vec<f64> = runs
        .iter()
        .filter(|r| r.warm == Some(warm))
        .filter_map(|r| if queued { r.queued_s } else { Some(r.executed_at? - r.dequeued_at?) })
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
        "{:<24} {:>7} {:<10} {:<12} {:>9} {:>9} {:>6} {:<9} {:>8}\n",
        "task", "runs", "machine", "compute", "p50", "p95", "KS", "family", "fail/att"
    ));
    for t in &fit.tasks {
        let (fam, p50, p95, ks, v) = match &t.compute {
            Some(f) => (
                f.family.name(),
                write::secs(f.family.quantile(0.5)),
                write::secs(f.family.quantile(0.95)),
                // The named family's distance: the one the verdict is about.
                num(f.candidates.first().map_or(f.ks, |c| c.ks), 2),
                f.verdict.name(),
            ),
            None => ("-", "-".into(), "-".into(), "-".into(), "-"),
        };
        s.push_str(&format!(
            "{:<24} {:>7} {:<10} {:<12} {:>9} {:>9} {:>6} {:<9} {:>8}\n",
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
