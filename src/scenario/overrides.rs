//! `--set` overrides: a value replaced (or added) at a dotted key path before compiling.

use super::yaml::{Kind, Node};

/// Replaces (or adds, as the last key of a mapping) the value at a dotted key path.
pub fn set_path(root: &mut Node, path: &str, value: &str) -> Result<(), String> {
    let new = super::yaml::parse(value).map_err(|e| format!("the value `{value}` is not YAML: {}", e.message))?;
    let mut node = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (key, indices) = match part.find('[') {
            Some(b) => (&part[..b], &part[b..]),
            None => (*part, ""),
        };
        let last = i + 1 == parts.len() && indices.is_empty();
        if !key.is_empty() {
            let (line, column) = (node.line, node.column);
            let Kind::Map(m) = &mut node.kind else { return Err(format!("`{key}` is not inside a mapping")) };
            match m.iter().position(|(k, _)| k.as_str() == Some(key)) {
                Some(pos) => node = &mut m[pos].1,
                None if last => {
                    let k = Node { line, column, kind: Kind::Str(key.to_owned()) };
                    m.push((k, Node { line, column, kind: Kind::Null }));
                    let n = m.len() - 1;
                    node = &mut m[n].1;
                }
                None => {
                    let keys: Vec<&str> = m.iter().filter_map(|(k, _)| k.as_str()).collect();
                    let hint =
                        crate::error::closest(key, &keys).map_or(String::new(), |c| format!("; did you mean `{c}`?"));
                    return Err(format!("there is no key `{key}`{hint}"));
                }
            }
        }
        for idx in indices.split('[').filter(|x| !x.is_empty()) {
            let n: usize = idx.trim_end_matches(']').parse().map_err(|_| format!("`[{idx}` is not an index"))?;
            let Kind::Seq(v) = &mut node.kind else { return Err(format!("`{key}` is not a list")) };
            let len = v.len();
            node = v.get_mut(n).ok_or_else(|| format!("`{key}` has {len} items, no [{n}]"))?;
        }
    }
    // Keep the old location, so errors in the new value point at the key it replaced.
    let (line, column) = (node.line, node.column);
    *node = relocate(new, line, column);
    Ok(())
}

fn relocate(mut n: Node, line: u32, column: u32) -> Node {
    n.line = line;
    n.column = column;
    n.kind = match n.kind {
        Kind::Seq(v) => Kind::Seq(v.into_iter().map(|x| relocate(x, line, column)).collect()),
        Kind::Map(m) => {
            Kind::Map(m.into_iter().map(|(k, v)| (relocate(k, line, column), relocate(v, line, column))).collect())
        }
        k => k,
    };
    n
}
