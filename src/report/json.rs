//! `--format json`: one stable object, snake_case keys, tasks in scenario order.

use super::Render;
use crate::analysis::RunSummary;

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
    fn compare(&self, c: &crate::analysis::Comparison) -> String {
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
