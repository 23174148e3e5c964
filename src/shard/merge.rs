//! Which shards belong together: the same job (command, options, scenario texts, seed, shard
//! count, wfsim version), each index from 0 to N - 1 present. A shard given twice (a retried
//! job writes the same file) counts once.

use super::{Shard, ShardError};

/// Checks that `shards` (any order, duplicates allowed) are every shard of one job, and
/// returns one per index, by index.
pub fn check(shards: Vec<Shard>) -> Result<Vec<Shard>, ShardError> {
    let Some(first) = shards.first().cloned() else {
        return Err(ShardError::Missing { missing: "all".into(), of: 0, given: "none".into() });
    };
    let a = &first.manifest;
    let version = env!("CARGO_PKG_VERSION");
    let mut by_index: Vec<Option<Shard>> = vec![None; a.of.min(1 << 20) as usize];
    for s in shards {
        let b = &s.manifest;
        let foreign = |why: String| ShardError::Foreign { path: s.path.clone(), first: first.path.clone(), why };
        if b.wfsim != version {
            return Err(foreign(format!("it was made by wfsim {}, this is wfsim {version}", b.wfsim)));
        }
        if b.job != a.job {
            return Err(foreign(difference(a, b)));
        }
        let i = b.shard as usize;
        if i >= by_index.len() {
            return Err(ShardError::Corrupt { path: s.path.clone(), why: format!("shard {}/{}", b.shard, b.of) });
        }
        match &by_index[i] {
            Some(o) if o.manifest.body_hash != b.body_hash => {
                return Err(ShardError::Conflict {
                    path: s.path.clone(),
                    other: o.path.clone(),
                    index: b.shard,
                    of: b.of,
                });
            }
            Some(_) => {}
            None => by_index[i] = Some(s),
        }
    }
    let missing: Vec<String> =
        by_index.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(i, _)| format!("{i}/{}", a.of)).collect();
    if !missing.is_empty() {
        let given: Vec<String> = by_index.iter().flatten().map(|s| format!("{}/{}", s.manifest.shard, a.of)).collect();
        return Err(ShardError::Missing { missing: missing.join(", "), of: a.of, given: given.join(", ") });
    }
    Ok(by_index.into_iter().flatten().collect())
}

/// What makes two manifests' jobs differ, in words.
fn difference(a: &super::Manifest, b: &super::Manifest) -> String {
    if a.command != b.command {
        return format!("it is a shard of `{}`, not `{}`", b.command, a.command);
    }
    if a.of != b.of {
        return format!("it is one of {} shards, not {}", b.of, a.of);
    }
    if a.seed != b.seed {
        return format!("it was simulated with seed {}, not {}", b.seed, a.seed);
    }
    let paths = |m: &super::Manifest| m.scenarios.iter().map(|s| s.path.clone()).collect::<Vec<_>>().join(", ");
    if paths(a) != paths(b) {
        return format!("it simulated {}, not {}", paths(b), paths(a));
    }
    if let Some((x, _)) = a.scenarios.iter().zip(&b.scenarios).find(|(x, y)| x.text != y.text) {
        return format!("the text of {} differs (the scenario changed between the shards' runs)", x.path);
    }
    if a.args != b.args {
        return format!("its options differ: {} against {}", b.args, a.args);
    }
    "its job hash differs".into()
}
