//! Which files to read: the files named, and the source files under the folders named.

use std::path::{Path, PathBuf};

/// Extensions of the files `wfsim import` reads.
pub const EXTENSIONS: &[&str] = &["ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs"];

/// Folders never entered: dependencies, build output and hidden folders.
const SKIP: &[&str] = &["node_modules", "dist", "build", "out"];

pub fn is_source(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".d.ts") {
        return false;
    }
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e))
}

/// The source files of `paths`, each once, in a stable order (folders walked in name order).
/// A path that does not exist is an error naming it.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if !SKIP.contains(&name) {
                walk(&p, out)?;
            }
        } else if is_source(&p) {
            out.push(p);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_files_and_other_extensions_are_not_sources() {
        assert!(is_source(Path::new("a/b.ts")));
        assert!(is_source(Path::new("b.mjs")));
        assert!(!is_source(Path::new("b.d.ts")));
        assert!(!is_source(Path::new("b.json")));
    }
}
