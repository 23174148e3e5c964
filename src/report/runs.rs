//! `run --runs-csv FILE`: one row per simulated task run, with the columns of Trigger.dev's
//! `runs` query table, so a simulation can be set beside an export of real runs. Durations
//! in milliseconds and costs in dollars, as that table has them.

use super::grid::{csv_cell, num};
use crate::engine::{AttemptRecord, Observer, Scratch, Status, TaskAcc, simulate};
use crate::model::Model;
use crate::model::TaskId;
use crate::montecarlo::McResult;
use crate::rng::run_key;

pub const COLUMNS: [&str; 15] = [
    "run_id",
    "task_identifier",
    "status",
    "machine",
    "attempt_count",
    "queued_duration",
    "execution_duration",
    "total_duration",
    "usage_duration",
    "compute_cost",
    "invocation_cost",
    "total_cost",
    "parent_run_id",
    "root_run_id",
    "depth",
];

/// One task run of a workflow run, as an observer sees it.
#[derive(Debug, Clone)]
struct TaskRun {
    task: TaskId,
    parent: u32,
    trigger: f64,
    first_start: f64,
    end: f64,
    status: Option<Status>,
    attempts: u32,
    machine: Option<u8>,
    usage_s: f64,
    compute_usd: f64,
}

/// Records the task runs of one workflow run.
struct Rows<'a> {
    usd_per_s: &'a [f64; 7],
    runs: Vec<TaskRun>,
}

impl Observer for Rows<'_> {
    fn triggered(&mut self, run: u32, task: TaskId, parent: u32, at: f64) {
        debug_assert_eq!(run as usize, self.runs.len());
        self.runs.push(TaskRun {
            task,
            parent,
            trigger: at,
            first_start: f64::NAN,
            end: f64::NAN,
            status: None,
            attempts: 0,
            machine: None,
            usage_s: 0.0,
            compute_usd: 0.0,
        });
    }
    fn attempt(&mut self, a: &AttemptRecord) {
        if let Some(r) = self.runs.get_mut(a.run as usize) {
            if a.attempt == 1 {
                r.first_start = a.start;
            }
            r.attempts = r.attempts.max(a.attempt);
            r.machine = Some(a.machine);
            r.usage_s += a.usage_s;
            r.compute_usd += a.usage_s * self.usd_per_s[a.machine as usize];
        }
    }
    fn run_end(&mut self, run: u32, status: Status, at: f64) {
        if let Some(r) = self.runs.get_mut(run as usize) {
            r.end = at;
            r.status = Some(status);
        }
    }
}

fn ms(s: f64) -> String {
    num(s * 1000.0)
}

fn push_row(o: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    o.push_str(&line.join(","));
    o.push('\n');
}

/// The CSV of a simulation, and whether its rows are per workflow run (`load`: runs under
/// load shared the platform and are not simulated again alone, so each row is a workflow
/// run: its entry task, all its attempts, billed compute and cost) rather than per task run
/// (each workflow run simulated again with an observer: same seed, same run, the same
/// numbers as the summary).
pub fn csv(model: &Model, mc: &McResult, seed: u64, load: bool) -> (String, bool) {
    let mut o = String::new();
    push_row(&mut o, &COLUMNS.map(String::from));
    let entry = &model.tasks[model.entry as usize];
    if load {
        for (i, r) in mc.outcomes.iter().enumerate() {
            let id = format!("run_{i}");
            push_row(
                &mut o,
                &[
                    id.clone(),
                    entry.name.clone(),
                    r.status.name().into(),
                    crate::engine::preset_name(entry.machine).into(),
                    r.attempts.to_string(),
                    String::new(),
                    String::new(),
                    ms(r.duration_s),
                    ms(r.usage_s),
                    num(r.compute_usd),
                    num(r.invocation_usd),
                    num(r.cost_usd),
                    String::new(),
                    id,
                    "0".into(),
                ],
            );
        }
        return (o, true);
    }
    let mut scratch = Scratch::new();
    let mut tasks = vec![TaskAcc::default(); model.tasks.len()];
    let mut rec = Rows { usd_per_s: &model.usd_per_s, runs: Vec::new() };
    let mut depth: Vec<u32> = Vec::new();
    for i in 0..mc.stats.n {
        rec.runs.clear();
        // The same run as the summary's (same key); an error was the summary's to report.
        if simulate(model, run_key(seed, i), &mut scratch, &mut tasks, &mut rec).is_err() {
            continue;
        }
        depth.clear();
        for (k, r) in rec.runs.iter().enumerate() {
            let d = if k == 0 { 0 } else { depth.get(r.parent as usize).map_or(0, |p| p + 1) };
            depth.push(d);
            let machine = r.machine.unwrap_or(model.tasks[r.task as usize].machine);
            let started = r.first_start.is_finite();
            push_row(
                &mut o,
                &[
                    format!("run_{i}_{k}"),
                    model.tasks[r.task as usize].name.clone(),
                    r.status.map_or(String::new(), |s| s.name().to_owned()),
                    crate::engine::preset_name(machine).into(),
                    r.attempts.to_string(),
                    if started { ms(r.first_start - r.trigger) } else { String::new() },
                    if started && r.end.is_finite() { ms(r.end - r.first_start) } else { String::new() },
                    if r.end.is_finite() { ms(r.end - r.trigger) } else { String::new() },
                    ms(r.usage_s),
                    num(r.compute_usd),
                    num(model.invocation_usd),
                    num(r.compute_usd + model.invocation_usd),
                    if k == 0 { String::new() } else { format!("run_{i}_{}", r.parent) },
                    format!("run_{i}_0"),
                    d.to_string(),
                ],
            );
        }
    }
    (o, false)
}
