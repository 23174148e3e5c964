//! `--format json`: one stable object, snake_case keys, tasks in scenario order.

use super::{MachineSummary, Render, RunSummary, TaskSummary};
use serde::ser::{SerializeMap, Serializer};

pub struct Json;

/// Pretty JSON and a final line break. Serialising plain structs of finite numbers cannot
/// fail.
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut out = serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

impl Render for Json {
    fn run(&self, s: &RunSummary) -> String {
        to_json(s)
    }
    fn compare(&self, c: &super::bundle::Comparison) -> String {
        to_json(c)
    }
    fn sweep(&self, sweeps: &[crate::sweep::Sweep], all: bool) -> String {
        match (all, sweeps.first()) {
            (false, Some(sw)) => to_json(sw),
            (_, first) => to_json(&crate::sweep::AllSweeps {
                scenario: first.map(|s| s.scenario.clone()).unwrap_or_default(),
                task: "all",
                runs: first.map_or(0, |s| s.runs),
                seed: first.map_or(0, |s| s.seed),
                balance: first.map_or(0.0, |s| s.balance),
                sweeps: sweeps.to_vec(),
            }),
        }
    }
    fn sensitivity(&self, s: &crate::sweep::Sensitivity) -> String {
        to_json(s)
    }
}

/// Tasks as an object keyed by task name, in the order the scenario declares them.
pub fn tasks_in_order<S: Serializer>(tasks: &[TaskSummary], ser: S) -> Result<S::Ok, S::Error> {
    let mut m = ser.serialize_map(Some(tasks.len()))?;
    for t in tasks {
        m.serialize_entry(&t.name, t)?;
    }
    m.end()
}

/// A task's machines as an object keyed by preset name, in preset order.
pub fn machines_in_order<S: Serializer>(machines: &[MachineSummary], ser: S) -> Result<S::Ok, S::Error> {
    let mut m = ser.serialize_map(Some(machines.len()))?;
    for x in machines {
        m.serialize_entry(x.machine, x)?;
    }
    m.end()
}
