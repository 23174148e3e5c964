//! YAML text the importer writes: scalars quoted only when they would read back otherwise,
//! numbers without a trailing `.0`, nodes in flow style on one line.

use crate::scenario::yaml::{Kind, Node};

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./ ".contains(c))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.parse::<f64>().is_err()
        && !s.starts_with("0x")
        && !s.starts_with("0o")
        && !s.ends_with(' ')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain { s.to_owned() } else { serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\"")) }
}

pub fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// A node as one line of flow YAML.
pub fn flow(n: &Node) -> String {
    match &n.kind {
        Kind::Null => "null".into(),
        Kind::Bool(b) => b.to_string(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => fmt_num(*f),
        Kind::Str(s) => scalar(s),
        Kind::Seq(v) => format!("[{}]", v.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Kind::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", k.as_str().map(scalar).unwrap_or_else(|| flow(k)), flow(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar("extract-audio"), "extract-audio");
        assert_eq!(scalar("db.insert"), "db.insert");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("12"), "\"12\"");
        assert_eq!(scalar("1e3"), "\"1e3\"");
        assert_eq!(scalar("2m"), "2m");
        assert_eq!(scalar(""), "\"\"");
    }
}
