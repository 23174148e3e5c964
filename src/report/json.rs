//! `--format json`: one stable object, snake_case keys, tasks in scenario order.

use super::{Render, RunSummary, TaskSummary};
use serde::ser::{SerializeMap, Serializer};

pub struct Json;

impl Render for Json {
    fn render(&self, s: &RunSummary) -> String {
        // Serialising plain structs of finite numbers cannot fail.
        let mut out = serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        out.push('\n');
        out
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
