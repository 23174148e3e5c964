//! Simulated runs written as a TRQL `runs` export: the same columns, names and formats a
//! team downloads from the dashboard, so a scenario's predictions can be fitted and set beside
//! real exports (the round trip simulate -> export -> fit -> simulate is how `fit` is tested).
//!
//! Workflow run i is the Monte Carlo's run i (the same key), simulated alone; its root run is
//! triggered at `start` plus the arrival times of a Poisson stream of `per_minute` (or evenly
//! spaced), so the export also carries arrivals. Children of one parent of one task triggered
//! at the same instant are written as one batch (a `batch_id`): that is how the engine
//! triggers a batch, and two `triggerAndWait` steps never trigger at the same instant.

use super::csv::escape;
use super::export::format_time;
use crate::engine::{AttemptEnd, AttemptRecord, Observer, Scratch, Status, TaskAcc, simulate_events};
use crate::model::{Model, TaskId};
use crate::platform::PRESETS;

#[derive(Debug, Clone, Default)]
struct Rec {
    task: TaskId,
    parent: u32,
    triggered: f64,
    /// First slot: (at, waited, warm).
    granted: Option<(f64, f64, bool)>,
    attempts: u32,
    machine: u8,
    first_start: Option<f64>,
    usage: f64,
    compute_usd: f64,
    end: f64,
    status: Option<Status>,
    oom: bool,
}

#[derive(Default)]
struct Recorder {
    runs: Vec<Rec>,
    usd_per_s: [f64; 7],
}

impl Observer for Recorder {
    fn triggered(&mut self, run: u32, task: TaskId, parent: u32, at: f64) {
        debug_assert_eq!(run as usize, self.runs.len());
        self.runs.push(Rec { task, parent, triggered: at, end: at, ..Rec::default() });
    }
    fn granted(&mut self, run: u32, at: f64, waited: f64, warm: bool, _latency: f64, _resume: bool) {
        if let Some(r) = self.runs.get_mut(run as usize)
            && r.granted.is_none()
        {
            r.granted = Some((at, waited, warm));
        }
    }
    fn attempt(&mut self, a: &AttemptRecord) {
        if let Some(r) = self.runs.get_mut(a.run as usize) {
            r.attempts += 1;
            r.machine = a.machine;
            r.first_start.get_or_insert(a.start);
            r.usage += a.usage_s;
            r.compute_usd += a.usage_s * self.usd_per_s[a.machine as usize];
            r.oom |= a.outcome == AttemptEnd::OutOfMemory;
        }
    }
    fn run_end(&mut self, run: u32, status: Status, at: f64) {
        if let Some(r) = self.runs.get_mut(run as usize) {
            r.end = at;
            r.status = Some(status);
        }
    }
}

/// The columns written, in the query's names.
pub const COLUMNS: [&str; 27] = [
    "run_id",
    "task_identifier",
    "status",
    "queue",
    "machine",
    "attempt_count",
    "batch_id",
    "root_run_id",
    "parent_run_id",
    "depth",
    "triggered_at",
    "queued_at",
    "dequeued_at",
    "executed_at",
    "completed_at",
    "queued_duration",
    "execution_duration",
    "total_duration",
    "usage_duration",
    "compute_cost",
    "invocation_cost",
    "total_cost",
    "is_warm_start",
    "max_duration",
    "error",
    "is_test",
    "idempotency_key",
];

/// How the simulated workflow runs arrive in the export.
#[derive(Debug, Clone, Copy)]
pub struct Spacing {
    /// Unix seconds of the first arrival.
    pub start: f64,
    pub per_minute: f64,
    pub poisson: bool,
}

/// Status names as the query gives them.
fn status_name(s: Status) -> &'static str {
    match s {
        Status::Completed => "Completed",
        Status::Failed => "Failed",
        Status::Crashed => "Crashed",
        Status::TimedOut => "Timed out",
        Status::Expired => "Expired",
    }
}

/// One row per task run of `runs` workflow runs (seed `seed`), CSV with a header.
pub fn export_csv(m: &Model, runs: u64, seed: u64, spacing: Spacing) -> Result<String, crate::engine::SimError> {
    let rows = rows(m, runs, seed, spacing)?;
    let mut s = COLUMNS.join(",");
    s.push('\n');
    for r in rows {
        s.push_str(&r.iter().map(|c| escape(c)).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    Ok(s)
}

/// The same rows as the query API's JSON (`{"format": "json", "results": [...]}`), numbers as
/// numbers and empty values as null.
pub fn export_json(m: &Model, runs: u64, seed: u64, spacing: Spacing) -> Result<String, crate::engine::SimError> {
    let rows = rows(m, runs, seed, spacing)?;
    let numeric = |c: &str| {
        c.ends_with("_duration")
            || c.ends_with("_cost")
            || matches!(c, "attempt_count" | "depth" | "is_warm_start" | "max_duration" | "is_test")
    };
    let results: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            for (c, v) in COLUMNS.iter().zip(r) {
                let val = if v.is_empty() {
                    serde_json::Value::Null
                } else if numeric(c) {
                    v.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number)
                } else {
                    serde_json::Value::String(v)
                };
                o.insert((*c).to_owned(), val);
            }
            serde_json::Value::Object(o)
        })
        .collect();
    let doc = serde_json::json!({ "format": "json", "results": results });
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

fn rows(m: &Model, runs: u64, seed: u64, sp: Spacing) -> Result<Vec<Vec<String>>, crate::engine::SimError> {
    let mut scratch = Scratch::new();
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    let mut out = Vec::new();
    let mut arrival = sp.start;
    let mut gaps = crate::rng::stream(crate::rng::run_key(seed ^ 0x5eed_a771_0a15, 0));
    let mean_gap = 60.0 / sp.per_minute.max(1e-9);
    for i in 0..runs {
        let mut rec = Recorder { runs: Vec::new(), usd_per_s: m.usd_per_s };
        simulate_events(m, crate::rng::run_key(seed, i), &mut scratch, &mut tasks, &mut rec)
            .map_err(|e| e.at("run", i))?;
        write_workflow(m, i, arrival, &rec.runs, &mut out);
        arrival += if sp.poisson { crate::dist::exp1(&mut gaps) * mean_gap } else { mean_gap };
    }
    Ok(out)
}

/// Tasks some step triggers with `idempotencyKey`: their runs carry a key in the export.
fn keyed_tasks(m: &Model) -> Vec<bool> {
    use crate::model::Op;
    let mut keyed = vec![false; m.tasks.len()];
    for op in &m.ops {
        match op {
            Op::TriggerAndWait { task, idempotent: true, .. }
            | Op::Trigger { task, idempotent: true, .. }
            | Op::BatchTriggerAndWait { task, idempotent: true, .. } => keyed[*task as usize] = true,
            _ => {}
        }
    }
    keyed
}

fn write_workflow(m: &Model, wf: u64, t0: f64, runs: &[Rec], out: &mut Vec<Vec<String>>) {
    let id = |i: usize| format!("run_{wf}_{i}");
    let ms = |s: f64| format!("{}", (s * 1000.0).round());
    // Batches: children of one parent and task triggered at the same instant, two or more.
    let mut batch: Vec<Option<String>> = vec![None; runs.len()];
    for (i, r) in runs.iter().enumerate() {
        if r.parent == u32::MAX || batch[i].is_some() {
            continue;
        }
        let same: Vec<usize> = (i..runs.len())
            .filter(|&j| runs[j].parent == r.parent && runs[j].task == r.task && runs[j].triggered == r.triggered)
            .collect();
        if same.len() > 1 {
            for j in same {
                batch[j] = Some(format!("batch_{wf}_{i}"));
            }
        }
    }
    let keyed = keyed_tasks(m);
    // A child's key: new for each child its parent triggers, except that a child triggered
    // again after one of the same parent and task failed (the parent's retry) takes that
    // one's key, as Trigger.dev reruns a failed keyed child.
    let mut keys: Vec<String> = vec![String::new(); runs.len()];
    let mut order: Vec<usize> =
        (0..runs.len()).filter(|&i| runs[i].parent != u32::MAX && keyed[runs[i].task as usize]).collect();
    order.sort_by(|&a, &b| runs[a].triggered.total_cmp(&runs[b].triggered).then(a.cmp(&b)));
    let mut fresh = 0usize;
    let mut reusable: Vec<usize> = Vec::new();
    for &i in &order {
        let r = &runs[i];
        let reuse = reusable
            .iter()
            .position(|&j| runs[j].parent == r.parent && runs[j].task == r.task && runs[j].end <= r.triggered);
        keys[i] = match reuse {
            Some(k) => keys[reusable.remove(k)].clone(),
            None => {
                fresh += 1;
                format!("key-{wf}-{fresh}")
            }
        };
        if r.status.is_some_and(|s| s != Status::Completed) {
            reusable.push(i);
        }
    }
    for (i, r) in runs.iter().enumerate() {
        let Some(status) = r.status else { continue };
        let t = &m.tasks[r.task as usize];
        let mut depth = 0;
        let mut p = r.parent;
        while p != u32::MAX {
            depth += 1;
            p = runs[p as usize].parent;
        }
        let (g_at, waited, warm) = r.granted.unwrap_or((r.triggered, 0.0, false));
        let exec = r.first_start.unwrap_or(r.end);
        let inv = if r.attempts > 0 || status == Status::Completed { m.invocation_usd } else { 0.0 };
        let error = match status {
            Status::Completed => String::new(),
            _ if r.oom => "{\"name\":\"OUT_OF_MEMORY\",\"message\":\"the machine ran out of memory\"}".into(),
            s => format!("{{\"name\":\"{}\"}}", s.name()),
        };
        out.push(vec![
            id(i),
            t.name.clone(),
            status_name(status).into(),
            t.queue.as_ref().map_or_else(|| format!("task/{}", t.name), |q| q.name.clone()),
            PRESETS[r.machine as usize].name.into(),
            r.attempts.max(1).to_string(),
            batch[i].clone().unwrap_or_default(),
            if r.parent == u32::MAX { String::new() } else { id(0) },
            if r.parent == u32::MAX { String::new() } else { id(r.parent as usize) },
            depth.to_string(),
            format_time(t0 + r.triggered),
            format_time(t0 + g_at - waited),
            format_time(t0 + g_at),
            format_time(t0 + exec),
            format_time(t0 + r.end),
            ms(waited),
            ms(r.end - exec),
            ms(r.end - r.triggered),
            ms(r.usage),
            format!("{:.9}", r.compute_usd),
            format!("{inv}"),
            format!("{:.9}", r.compute_usd + inv),
            u8::from(warm).to_string(),
            t.max_duration_s.map_or(String::new(), |d| format!("{d}")),
            error,
            "0".into(),
            keys[i].clone(),
        ]);
    }
}
