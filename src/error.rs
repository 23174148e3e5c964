//! Located diagnostics for scenario files.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The scenario cannot be simulated until it is fixed.
    Error,
    /// The scenario loads, but probably not as meant.
    Warning,
}

/// One problem in a scenario file, with where it is and which key to fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The scenario file, as given (or the name passed to `load_str`).
    pub file: String,
    /// Line of the problem, from 1.
    pub line: u32,
    /// Column of the problem, from 1, in characters.
    pub column: u32,
    /// Dotted path of the key to fix, e.g. `tasks.ocr-pdf.machine`.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What was expected, or a suggestion.
    pub help: Option<String>,
    /// The source line, for the snippet.
    pub source_line: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{sev}: {}", self.message)?;
        write!(f, "  --> {}:{}:{}", self.file, self.line, self.column)?;
        if let Some(src) = &self.source_line {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            write!(f, "\n{pad} |\n{num} | {src}\n{pad} | {}^", " ".repeat(self.column.saturating_sub(1) as usize))?;
        }
        if !self.key.is_empty() {
            write!(f, "\n  = key: {}", self.key)?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("error: cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid scenario: every problem found, errors and warnings.
    #[error("{}", render_all(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_all(d: &[Diagnostic]) -> String {
    let errors = d.iter().filter(|d| d.severity == Severity::Error).count();
    let mut s = String::new();
    for x in d {
        s.push_str(&x.to_string());
        s.push_str("\n\n");
    }
    s.push_str(&format!("{errors} error(s) in the scenario"));
    s
}

/// Edit distance, for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a small edit distance (case-insensitive).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A command that could not finish: its exit code (2 bad input, 3 internal error) and the
/// message the command line prints, once, on stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// What went wrong, located where it can be; may span lines.
    pub message: String,
}

impl Failure {
    /// Bad input (exit 2).
    pub fn input(message: impl Into<String>) -> Failure {
        Failure { code: 2, message: message.into() }
    }

    /// wfsim's own fault or the system's (exit 3).
    pub fn internal(message: impl Into<String>) -> Failure {
        Failure { code: 3, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn suggestions() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(closest("maxAttempt", &["maxAttempts", "factor"]), Some("maxAttempts"));
        assert_eq!(closest("small-3x", &["small-1x", "small-2x", "micro"]), Some("small-1x"));
        assert_eq!(closest("zzzzzz", &["factor"]), None);
    }
}
