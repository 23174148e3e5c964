//! `--set PATH=V1,V2,...`: the argument read into a path and its values, and the cross
//! product of several `--set`s.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// One `--set PATH=V1,V2,...`: the key path and the values it takes, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSpec {
    pub path: String,
    pub values: Vec<String>,
}

/// Parses `PATH=V1,V2,...`. Values are YAML; a comma inside brackets, braces or quotes does
/// not split (`tasks.t.steps[0].work.duration={ uniform: [1s, 3s] },2s`).
pub fn parse_set(arg: &str) -> Result<SetSpec, String> {
    let example = "expected PATH=V1,V2,... e.g. tasks.transcribe-audio.steps[0].parallel.limit=1,2,3,6";
    let (path, vals) = arg.split_once('=').ok_or_else(|| format!("`{arg}` has no `=`: {example}"))?;
    let path = path.trim();
    if path.is_empty() || path.split('.').any(|p| p.trim().is_empty()) {
        return Err(format!("`{arg}` has no key path before `=`: {example}"));
    }
    let values = split_values(vals);
    if values.is_empty() || values.iter().any(|v| v.is_empty()) {
        return Err(format!("`{arg}` has an empty value: {example}"));
    }
    Ok(SetSpec { path: path.to_owned(), values })
}

pub(super) fn split_values(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quote) = (0i32, None::<char>);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth -= 1,
            (None, ',') if depth <= 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_owned());
    out
}

/// Set values of a variant, in `--set` order; serialised as a map whose numeric values are
/// numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetValues(pub Vec<(String, String)>);

impl Serialize for SetValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, &json_value(v))?;
        }
        m.end()
    }
}

pub(super) fn json_value(v: &str) -> serde_json::Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => f.into(),
        _ => v.into(),
    }
}

/// Every combination of the set values, the first `--set` varying slowest.
pub(super) fn cross(sets: &[SetSpec]) -> Vec<SetValues> {
    let mut out = vec![SetValues::default()];
    for s in sets {
        let mut next = Vec::with_capacity(out.len() * s.values.len());
        for prefix in &out {
            for v in &s.values {
                let mut p = prefix.clone();
                p.0.push((s.path.clone(), v.clone()));
                next.push(p);
            }
        }
        out = next;
    }
    out
}
