//! Names of variants, steps and failure counts as the tables and reasons print them.

use super::outcome::{Row, Sweep};
use crate::analysis::summary::Statuses;

/// Non-completed statuses with their counts, e.g. `CRASHED 8500, FAILED 12`.
pub fn failures(st: &Statuses) -> String {
    let v = serde_json::to_value(st).unwrap_or_default();
    let parts: Vec<String> = v
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, n)| k.as_str() != "COMPLETED" && n.as_u64().unwrap_or(0) > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() { "none failed".into() } else { parts.join(", ") }
}

/// A share as a percentage with `digits` decimals.
pub fn pct(x: f64, digits: usize) -> String {
    format!("{:.*}%", digits, x * 100.0)
}

/// The last part of a key path, for a column header (`limit` for `...parallel.limit`).
pub fn short_path(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// A variant's name: its machine and set values (`medium-2x limit=4`).
pub fn variant_name(r: &Row) -> String {
    let mut parts: Vec<String> = r.machine.iter().map(|m| m.to_string()).collect();
    parts.extend(r.set.0.iter().map(|(k, v)| format!("{}={v}", short_path(k))));
    if parts.is_empty() { "base".into() } else { parts.join(" ") }
}

/// A variant's name without the set values every variant of the sweep shares (for charts).
pub fn variant_label(sw: &Sweep, r: &Row) -> String {
    let varies = |k: usize| sw.rows.iter().any(|o| o.set.0.get(k) != r.set.0.get(k));
    let mut parts: Vec<String> = r.machine.iter().map(|m| m.to_string()).collect();
    parts.extend(
        r.set.0.iter().enumerate().filter(|(k, _)| varies(*k)).map(|(_, (k, v))| format!("{}={v}", short_path(k))),
    );
    if parts.is_empty() { "base".into() } else { parts.join(" ") }
}

/// The label of a work step: `task/name`, or its key without `tasks.` and `.work`.
pub fn step_label(key: &str, name: &str) -> String {
    let rest = key.strip_prefix("tasks.").unwrap_or(key);
    if name.is_empty() {
        return rest.strip_suffix(".work").unwrap_or(rest).to_owned();
    }
    let task = rest.split(".steps[").next().unwrap_or(rest);
    format!("{task}/{name}")
}
