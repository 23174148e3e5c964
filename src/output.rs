//! Writing reports safely: every file goes to a temporary folder beside its destination and
//! is renamed into place only when all are written, so an error or Ctrl-C never leaves a
//! half-written report. Ctrl-C removes the temporary folder. A single file (`-o FILE`,
//! `--runs-csv FILE`) is written to a temporary file beside it and renamed likewise.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Installs the Ctrl-C handler once: it removes pending temporary folders and exits 130.
pub fn install_interrupt_cleanup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if let Ok(p) = PENDING.lock() {
                for d in p.iter() {
                    if std::fs::remove_dir_all(d).is_err() {
                        let _ = std::fs::remove_file(d);
                    }
                }
            }
            eprintln!("\ninterrupted: no report written");
            std::process::exit(130);
        });
    });
}

/// Writes one file all at once: to a temporary file beside it, renamed into place, so the
/// file is never half-written (an error or Ctrl-C leaves the old one, or none).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = path.with_file_name(format!(".{}.wfsim-tmp-{}", name.to_string_lossy(), std::process::id()));
    if let Ok(mut p) = PENDING.lock() {
        p.push(tmp.clone());
    }
    let r = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    if let Ok(mut p) = PENDING.lock() {
        p.retain(|d| d != &tmp);
    }
    r
}

/// A set of files to be written into one folder at once.
pub struct OutDir {
    dest: PathBuf,
    tmp: PathBuf,
    names: Vec<String>,
}

impl OutDir {
    pub fn new(dest: &Path) -> std::io::Result<OutDir> {
        std::fs::create_dir_all(dest)?;
        let tmp = dest.join(format!(".wfsim-tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        if let Ok(mut p) = PENDING.lock() {
            p.push(tmp.clone());
        }
        Ok(OutDir { dest: dest.to_owned(), tmp, names: Vec::new() })
    }

    pub fn write(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        std::fs::write(self.tmp.join(name), bytes)?;
        self.names.push(name.to_owned());
        Ok(())
    }

    /// Moves every file into place; returns their final paths.
    pub fn commit(self) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for n in &self.names {
            let to = self.dest.join(n);
            std::fs::rename(self.tmp.join(n), &to)?;
            out.push(to);
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
        if let Ok(mut p) = PENDING.lock() {
            p.retain(|d| d != &self.tmp);
        }
        Ok(out)
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        // After commit the folder is gone already; on an error path this cleans up.
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}
