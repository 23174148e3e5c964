//! Scenario files: YAML text to a validated, compiled [`Model`].
//!
//! The YAML is read into a tree of located nodes (`yaml`), then compiled here by hand
//! rather than through `#[derive(Deserialize)]`: the language has polymorphic values (a
//! duration is `2s` or `{ lognormal: ... }`, a step is a one-key mapping), and compiling by
//! hand lets every problem be reported at once, each with its file, line, column, the
//! dotted key to fix, what was expected and the closest valid key.

mod compile;
mod condition;
mod context;
mod environment;
mod graph;
mod lint;
mod load;
mod overrides;
mod services;
mod steps;

mod values;
#[doc(hidden)]
pub mod yaml;

use crate::error::{Diagnostic, LoadError, Severity};
use crate::model::*;
pub use condition::{CondError, add_segments, bind_slos};
use context::Compiler;
pub use overrides::set_path;
pub use values::{MAX_PLAIN, MAX_SECONDS};

/// A compiled scenario and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled model: what [`crate::sim::simulate`] takes.
    pub model: Model,
    /// Problems that do not stop the simulation (each a [`Severity::Warning`]).
    pub warnings: Vec<Diagnostic>,
    /// Per task (by [`TaskId`]): where its `maxDuration` is written, the task's own key or
    /// `defaults.maxDuration` (`None` without one). The warnings that need a simulation
    /// (`analysis::simulated_warnings`) point there.
    pub max_duration_at: Vec<Option<Site>>,
}

/// A place in the scenario file: what a [`Diagnostic`] needs to point at a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The scenario file.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
    /// Dotted key path, e.g. `tasks.transcribe.maxDuration`.
    pub key: String,
    /// The source line, for the snippet.
    pub source_line: Option<String>,
}

/// Reads and compiles the scenario file at `path`. A file that cannot be read is
/// [`LoadError::Io`]; one that is not UTF-8 or not a valid scenario is [`LoadError::Invalid`]
/// with every problem located (file, line, column, key, help).
pub fn load_file(path: &std::path::Path) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io { path: path.display().to_string(), source })?;
    let name = path.display().to_string();
    match std::str::from_utf8(&bytes) {
        Ok(src) => load_str(src, &name),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            // The bytes before `valid_up_to` are valid UTF-8, so this counts characters.
            let column = std::str::from_utf8(&good[line_start..]).map_or(0, |s| s.chars().count()) as u32 + 1;
            let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
            let help = if utf16 {
                "the file looks like UTF-16: save the scenario as UTF-8"
            } else {
                "save the scenario as UTF-8"
            };
            Err(LoadError::Invalid(vec![Diagnostic {
                severity: Severity::Error,
                file: name,
                line,
                column,
                key: String::new(),
                message: format!("the file is not UTF-8 text (invalid byte at offset {})", e.valid_up_to()),
                help: Some(help.into()),
                source_line: None,
            }]))
        }
    }
}

/// Compiles a scenario from its YAML text; `file` is the name diagnostics print. Errors as
/// [`load_file`]'s, without the I/O case.
pub fn load_str(src: &str, file: &str) -> Result<Loaded, LoadError> {
    load_str_with(src, file, &[])
}

/// Loads a scenario with some values replaced first: each override is a key path as
/// diagnostics print it (`tasks.ocr-pdf.machine`, `tasks.t.steps[0].parallel.limit`,
/// `input.pages`) and a YAML value (`large-1x`, `8`, `{ uniform: [1, 3] }`). A missing last
/// key of a mapping is added; anything else that does not exist is an error.
pub fn load_str_with(src: &str, file: &str, overrides: &[(String, String)]) -> Result<Loaded, LoadError> {
    let mut cx = Compiler::new(src, file);
    let mut root = match yaml::parse(src) {
        Ok(n) => n,
        Err(e) => {
            let (message, help) = tidy_yaml_message(&e.message);
            cx.push(Severity::Error, e.line, e.column, "", message, help);
            return Err(LoadError::Invalid(cx.diags));
        }
    };
    for (path, value) in overrides {
        if let Err(m) = set_path(&mut root, path, value) {
            cx.push(Severity::Error, 1, 1, path, format!("cannot set `{path}`: {m}"), None);
        }
    }
    if !cx.diags.is_empty() {
        return Err(LoadError::Invalid(cx.diags));
    }
    let model = cx.compile(&root);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        std::mem::take(&mut cx.diags).into_iter().partition(|d| d.severity == Severity::Error);
    match model {
        Some(model) if errors.is_empty() => {
            let mut max_duration_at = cx.max_duration_at;
            max_duration_at.resize(model.tasks.len(), None);
            Ok(Loaded { model, warnings, max_duration_at })
        }
        _ => {
            let mut all = errors;
            all.extend(warnings);
            Err(LoadError::Invalid(all))
        }
    }
}

/// serde-saphyr's developer-facing wording, made user-facing: no repeated location, no
/// advice about parser options.
fn tidy_yaml_message(m: &str) -> (String, Option<String>) {
    let mut m = m.trim();
    if let Some((base, at)) = m.rsplit_once(" at line ")
        && at.split_once(", column ").is_some_and(|(l, c)| {
            !l.is_empty() && !c.is_empty() && l.bytes().chain(c.bytes()).all(|b| b.is_ascii_digit())
        })
    {
        m = base;
    }
    if let Some(rest) = m.strip_prefix("duplicate mapping key") {
        let k = rest.split(", set DuplicateKeyPolicy").next().unwrap_or("").trim_start_matches(':').trim();
        let message = if k.is_empty() { "duplicate key".to_owned() } else { format!("duplicate key `{k}`") };
        return (message, Some("a key may appear only once in a mapping".into()));
    }
    if let Some(v) = m.strip_prefix("non-finite float `").and_then(|r| r.split_once('`')).map(|(v, _)| v) {
        return (format!("`{v}` is not a finite number"), Some("use a finite number".into()));
    }
    (format!("YAML syntax: {m}"), None)
}
