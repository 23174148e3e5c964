//! Run traces (`GET /api/v1/runs/{id}/trace`, one JSON file per run in a folder) to steps
//! inside a task: the `logger.trace("name", fn)` spans of each attempt become `work` steps with
//! a fitted duration, in the order they start, and the attempt's remaining time one more step.
//!
//! A trace is `{"trace": {"traceId", "rootSpan"}}` (or the root span alone); a span has `id`,
//! `runId`, `message`, `data { startTime, duration, isError, taskSlug, events }` and
//! `children`. Durations are read as milliseconds. The spans of a run are those with its
//! `runId` (a child run's spans are left to the child's own trace); its attempts are the spans
//! named `Attempt N`; inside an attempt that did not fail (no `isError`, no `attempt_failed`
//! event), every span below it that is not a trigger (`trigger`/`batchTrigger` in the message)
//! or a wait (`wait.` in the message) is a traced step, by its message.

use super::export::parse_time;
use crate::error::{Diagnostic, Severity};
use std::collections::HashMap;

/// One traced step of a task: its durations over the attempts that ran it, and its mean
/// start offset within the attempt (for the order).
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub name: String,
    pub durations: Vec<f64>,
    pub offsets: Vec<f64>,
}

/// What the traces say about one task.
#[derive(Debug, Clone, Default)]
pub struct TaskTraces {
    /// Attempts that did not fail: their durations (seconds).
    pub attempts: Vec<f64>,
    /// Their time outside every traced step.
    pub untraced: Vec<f64>,
    pub steps: Vec<Step>,
}

/// Per task, from every `.json` file in `dir`.
#[derive(Debug, Default)]
pub struct Traces {
    pub tasks: HashMap<String, TaskTraces>,
    pub files: usize,
}

fn err(file: &str, line: u32, column: u32, message: String, help: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_owned(),
        line,
        column,
        key: String::new(),
        message,
        help,
        source_line: None,
    }
}

/// Reads the traces in `dir`.
pub fn read_dir(dir: &std::path::Path) -> Result<Traces, Vec<Diagnostic>> {
    let name = dir.display().to_string();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| vec![err(&name, 1, 1, format!("cannot read the traces folder: {e}"), None)])?;
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(vec![err(
            &name,
            1,
            1,
            "no .json files in the traces folder".into(),
            Some("save each run's GET /api/v1/runs/{id}/trace response as <run_id>.json there".into()),
        )]);
    }
    let mut t = Traces::default();
    let mut errors = Vec::new();
    for p in &paths {
        let file = p.display().to_string();
        let text = match std::fs::read_to_string(p) {
            Ok(s) => s,
            Err(e) => {
                errors.push(err(&file, 1, 1, format!("cannot read the file: {e}"), None));
                continue;
            }
        };
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let root = v.get("trace").and_then(|t| t.get("rootSpan")).unwrap_or(&v);
                if root.get("data").is_none() {
                    errors.push(err(
                        &file,
                        1,
                        1,
                        "not a run trace: expected {\"trace\": {\"rootSpan\": {...}}}".into(),
                        Some("save the body of GET /api/v1/runs/{id}/trace".into()),
                    ));
                    continue;
                }
                add_run(&mut t, root);
                t.files += 1;
            }
            Err(e) => errors.push(err(&file, e.line() as u32, e.column() as u32, format!("not valid JSON: {e}"), None)),
        }
    }
    if errors.is_empty() { Ok(t) } else { Err(errors) }
}

fn s<'a>(v: &'a serde_json::Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(|x| x.as_str())
}

fn data_f(v: &serde_json::Value, k: &str) -> Option<f64> {
    v.get("data").and_then(|d| d.get(k)).and_then(|x| x.as_f64())
}

fn start(v: &serde_json::Value) -> Option<f64> {
    let d = v.get("data")?.get("startTime")?;
    d.as_str().and_then(parse_time).or_else(|| d.as_f64().map(|ms| ms / 1000.0))
}

fn message(v: &serde_json::Value) -> &str {
    s(v, "message").or_else(|| v.get("data").and_then(|d| s(d, "message"))).unwrap_or("")
}

fn failed(v: &serde_json::Value) -> bool {
    let d = v.get("data");
    d.and_then(|d| d.get("isError")).and_then(|x| x.as_bool()).unwrap_or(false)
        || d.and_then(|d| d.get("events")).and_then(|e| e.as_array()).is_some_and(|ev| {
            ev.iter().any(|e| s(e, "name") == Some("attempt_failed") || e.to_string().contains("attempt_failed"))
        })
}

fn children(v: &serde_json::Value) -> &[serde_json::Value] {
    v.get("children").and_then(|c| c.as_array()).map_or(&[], |a| a.as_slice())
}

/// The spans of one run's trace.
fn add_run(t: &mut Traces, root: &serde_json::Value) {
    let run = s(root, "runId").unwrap_or_default().to_owned();
    let task = root.get("data").and_then(|d| s(d, "taskSlug")).unwrap_or(message(root)).to_owned();
    let mut attempts = Vec::new();
    find_attempts(root, &run, &mut attempts);
    let tt = t.tasks.entry(task).or_default();
    for a in attempts {
        if failed(a) {
            continue;
        }
        let (Some(a0), Some(ad)) = (start(a), data_f(a, "duration")) else { continue };
        let ad = ad / 1000.0;
        let mut spans: Vec<(String, f64, f64)> = Vec::new();
        traced(a, &run, &mut spans);
        let mut seen: HashMap<String, (f64, f64)> = HashMap::new();
        for (name, st, d) in spans {
            let e = seen.entry(name).or_insert((st, 0.0));
            e.0 = e.0.min(st);
            e.1 += d;
        }
        let covered: f64 = seen.values().map(|v| v.1).sum();
        tt.attempts.push(ad);
        tt.untraced.push((ad - covered).max(0.0));
        for (name, (st, d)) in seen {
            let i = match tt.steps.iter().position(|x| x.name == name) {
                Some(i) => i,
                None => {
                    tt.steps.push(Step { name, ..Step::default() });
                    tt.steps.len() - 1
                }
            };
            tt.steps[i].durations.push(d);
            tt.steps[i].offsets.push(st - a0);
        }
    }
}

fn find_attempts<'a>(v: &'a serde_json::Value, run: &str, out: &mut Vec<&'a serde_json::Value>) {
    for c in children(v) {
        if s(c, "runId").is_some_and(|r| r != run) {
            continue;
        }
        let m = message(c);
        if m.starts_with("Attempt ") && m[8..].trim().parse::<u32>().is_ok() {
            out.push(c);
        } else {
            find_attempts(c, run, out);
        }
    }
}

/// Traced spans below an attempt: (name, start, duration seconds); a traced span's own
/// children are part of it.
fn traced(v: &serde_json::Value, run: &str, out: &mut Vec<(String, f64, f64)>) {
    for c in children(v) {
        if s(c, "runId").is_some_and(|r| r != run) {
            continue;
        }
        let m = message(c);
        let lower = m.to_ascii_lowercase();
        if lower.contains("trigger") || lower.contains("wait.") || lower.contains("wait for") {
            continue;
        }
        match (start(c), data_f(c, "duration")) {
            // A log line is a span of no duration: not a step.
            (Some(st), Some(d)) if !m.is_empty() && d > 0.0 => out.push((m.to_owned(), st, d / 1000.0)),
            _ => traced(c, run, out),
        }
    }
}
