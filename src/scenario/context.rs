//! The compiler's state: what has been compiled so far, where each piece is written, and
//! the diagnostics found, with the helpers that record a diagnostic at a node.

use super::Site;
use super::yaml::{Kind, Node};
use crate::dist::Dist;
use crate::error::{Diagnostic, Severity};
use crate::model::*;
use crate::platform::{MachineId, RetryPolicy};

pub(super) struct Cx<'s> {
    pub(super) file: String,
    pub(super) lines: Vec<&'s str>,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) ops: Vec<Op>,
    pub(super) works: Vec<WorkSpec>,
    pub(super) dists: Vec<Dist>,
    pub(super) counts: Vec<Count>,
    pub(super) conds: Vec<Cond>,
    pub(super) inputs: Vec<InputAttr>,
    pub(super) task_names: Vec<String>,
    pub(super) task_slices: Vec<bool>,
    /// Trigger edges between tasks.
    pub(super) edges: Vec<Edge>,
    pub(super) repeats: Vec<Repeat>,
    pub(super) locs: Vec<Loc>,
    /// Per task: where its maxDuration is written.
    pub(super) max_duration_at: Vec<Option<Site>>,
    /// While compiling a task's steps: product of the enclosing `parallel` counts' reach.
    pub(super) mult: f64,
    /// ... no random count that can be 0 encloses the step.
    pub(super) sure: bool,
    /// ... a step before this one, or the task's maxDuration, can end the attempt.
    pub(super) may_throw: bool,
    /// ... memory the task's preset leaves for its work steps, MB.
    pub(super) room_mb: f64,
    pub(super) limits: Limits,
    pub(super) services: Vec<Service>,
    pub(super) service_sites: Vec<ServiceSite>,
}

/// A trigger step: an edge of the task graph.
#[derive(Clone)]
pub(super) struct Edge {
    pub(super) from: TaskId,
    pub(super) to: TaskId,
    pub(super) waits: bool,
    pub(super) line: u32,
    pub(super) column: u32,
    pub(super) key: String,
    /// Most child runs one run of `from` triggers through this step (enclosing `parallel`
    /// counts and the batch count, each at its once-in-a-billion value).
    pub(super) mult: f64,
    /// Once a run of `from` got here, its next run does too: no random count that can be 0
    /// on the way and nothing before it that can throw (branch conditions and input
    /// attributes are drawn once per workflow run, so they hold for every run of a chain).
    pub(super) sure: bool,
}

/// A step that repeats (a count, a poll's checks, a triggered run), for the load-time bound on
/// the events of one workflow run.
pub(super) struct Repeat {
    pub(super) task: TaskId,
    /// Product of the enclosing `parallel` counts.
    pub(super) mult: f64,
    /// Most repetitions of the step itself.
    pub(super) reach: f64,
    /// Events per repetition, at least.
    pub(super) per: f64,
    pub(super) line: u32,
    pub(super) column: u32,
    pub(super) key: String,
    /// What repeats, `{}` standing for `reach`.
    pub(super) what: &'static str,
}

/// Where a step (or one of its fields) is written, for warnings about its compiled op.
pub(super) struct Loc {
    /// The step's op.
    pub(super) pc: u32,
    /// `step` (the step's kind key), `memoryMb`, `wait` (its duration) or `every`.
    pub(super) field: &'static str,
    pub(super) line: u32,
    pub(super) column: u32,
    pub(super) key: String,
}

/// What a count can be, for the limit checks.
#[derive(Clone, Copy)]
pub(super) struct CountInfo {
    pub(super) idx: u32,
    /// Largest value (infinite when unbounded).
    pub(super) bound: f64,
    /// Largest value but once in a billion draws.
    pub(super) reach: f64,
    /// Drawn anew for each run (a distribution), and can be 0.
    pub(super) may_be_zero: bool,
}

pub(super) struct Defaults {
    pub(super) machine: MachineId,
    pub(super) retry: RetryPolicy,
    pub(super) max_duration: Option<f64>,
    /// Where `defaults.maxDuration` is written.
    pub(super) max_duration_at: Option<Site>,
}

impl<'s> Cx<'s> {
    pub(super) fn new(src: &'s str, file: &str) -> Self {
        Cx {
            file: file.to_owned(),
            lines: src.lines().collect(),
            diags: Vec::new(),
            ops: Vec::new(),
            works: Vec::new(),
            dists: Vec::new(),
            counts: Vec::new(),
            conds: Vec::new(),
            inputs: Vec::new(),
            task_names: Vec::new(),
            task_slices: Vec::new(),
            edges: Vec::new(),
            repeats: Vec::new(),
            locs: Vec::new(),
            max_duration_at: Vec::new(),
            mult: 1.0,
            sure: true,
            may_throw: false,
            room_mb: f64::INFINITY,
            limits: Limits::default(),
            services: Vec::new(),
            service_sites: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        severity: Severity,
        line: u32,
        column: u32,
        key: &str,
        message: String,
        help: Option<String>,
    ) {
        let source_line = line.checked_sub(1).and_then(|i| self.lines.get(i as usize)).map(|s| s.to_string());
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message,
            help,
            source_line,
        });
    }

    /// Where node `n` (the value of `key`) is.
    pub(super) fn site(&self, n: &Node, key: &str) -> Site {
        let source_line = n.line.checked_sub(1).and_then(|i| self.lines.get(i as usize)).map(|s| s.to_string());
        Site { file: self.file.clone(), line: n.line, column: n.column, key: key.to_owned(), source_line }
    }

    pub(super) fn err(&mut self, n: &Node, key: &str, message: impl Into<String>, help: Option<String>) {
        self.push(Severity::Error, n.line, n.column, key, message.into(), help);
    }

    pub(super) fn warn(&mut self, n: &Node, key: &str, message: impl Into<String>, help: Option<String>) {
        self.push(Severity::Warning, n.line, n.column, key, message.into(), help);
    }
}

pub(super) fn get<'n>(m: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    m.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

pub(super) fn join(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_owned() } else { format!("{a}.{b}") }
}

pub(super) fn numeric_key(k: &Node) -> Option<f64> {
    k.as_f64().or_else(|| k.as_str().and_then(|s| s.parse::<f64>().ok())).filter(|v| v.is_finite())
}

pub(super) fn scalar_text(k: &Node) -> String {
    match &k.kind {
        Kind::Str(s) => s.clone(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        Kind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Where a service is written, for design warnings.
pub(super) struct ServiceSite {
    pub(super) line: u32,
    pub(super) column: u32,
    pub(super) key: String,
}
