//! Scenario files: YAML text to a validated, compiled [`Model`].
//!
//! The YAML is read into a tree of located nodes (`yaml`), then compiled here by hand
//! rather than through `#[derive(Deserialize)]`: the language has polymorphic values (a
//! duration is `2s` or `{ lognormal: ... }`, a step is a one-key mapping), and compiling by
//! hand lets every problem be reported at once, each with its file, line, column, the
//! dotted key to fix, what was expected and the closest valid key.

mod environment;
mod lint;
pub mod units;
pub mod yaml;

use crate::dist::{Dist, Shape};
use crate::error::{Diagnostic, LoadError, Severity, closest};
use crate::model::*;
use crate::platform::{self, MachineId, PRESETS, RetryPolicy, cpu_scale};
use units::parse_duration;
use yaml::{Kind, Node};

/// A compiled scenario and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
    /// Per task (by [`TaskId`]): where its `maxDuration` is written, the task's own key or
    /// `defaults.maxDuration` (`None` without one). The warnings that need a simulation
    /// ([`simulated_warnings`]) point there.
    pub max_duration_at: Vec<Option<Site>>,
}

/// A place in the scenario file: what a [`Diagnostic`] needs to point at a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Dotted key path, e.g. `tasks.transcribe.maxDuration`.
    pub key: String,
    pub source_line: Option<String>,
}

pub use lint::{TIMED_OUT_SHARE, simulated_warnings};

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

pub fn load_str(src: &str, file: &str) -> Result<Loaded, LoadError> {
    load_str_with(src, file, &[])
}

/// Loads a scenario with some values replaced first: each override is a key path as
/// diagnostics print it (`tasks.ocr-pdf.machine`, `tasks.t.steps[0].parallel.limit`,
/// `input.pages`) and a YAML value (`large-1x`, `8`, `{ uniform: [1, 3] }`). A missing last
/// key of a mapping is added; anything else that does not exist is an error.
pub fn load_str_with(src: &str, file: &str, overrides: &[(String, String)]) -> Result<Loaded, LoadError> {
    let mut cx = Cx::new(src, file);
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

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    /// Seconds; strings may carry units.
    Seconds,
    /// A plain number (counts, megabytes, attribute values).
    Plain,
    /// Milliseconds (retry timeouts); strings may carry units.
    Millis,
}

impl Unit {
    /// A value of this unit for a message: `5s`, `250ms`, `12`.
    fn show(self, v: f64) -> String {
        match self {
            Unit::Seconds => units::format_duration(v),
            Unit::Millis => format!("{v}ms"),
            Unit::Plain => format!("{v}"),
        }
    }
}

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "platform",
    "startLatency",
    "prices",
    "input",
    "entry",
    "tasks",
    "load",
    "environment",
    "coldStart",
    "keepWarm",
    "slo",
    "defaults",
    "limits",
];
const TASK_KEYS: &[&str] = &[
    "machine",
    "retry",
    "maxDuration",
    "progress",
    "steps",
    "queue",
    "baseMemoryMb",
    "description",
    "concurrencyKey",
    "priority",
    "ttl",
    "delay",
];
const RETRY_KEYS: &[&str] = &["maxAttempts", "factor", "minTimeoutInMs", "maxTimeoutInMs", "randomize", "outOfMemory"];
const STEP_KINDS: &[&str] =
    &["work", "wait", "branch", "parallel", "triggerAndWait", "trigger", "batchTrigger", "batchTriggerAndWait", "poll"];
const WORK_KEYS: &[&str] = &[
    "name",
    "duration",
    "failure",
    "failAt",
    "cpuBound",
    "measuredOn",
    "parallelFraction",
    "mainThread",
    "memoryMb",
    "retry",
];
const SHAPES: &[&str] =
    &["fixed", "uniform", "triangular", "normal", "lognormal", "exponential", "bernoulli", "choice", "empirical"];
const MODIFIERS: &[&str] = &["min", "max", "round"];

/// Largest duration wfsim accepts, seconds (about 31.7 years): anything longer is a unit
/// mistake, and a bound keeps every sum of times finite. Draws of unbounded distributions
/// (normal, lognormal, exponential tails) are capped here too.
pub const MAX_SECONDS: f64 = 1e9;
/// Largest plain number (counts, megabytes, prices, attribute values).
pub const MAX_PLAIN: f64 = 1e15;
/// A count or a number of checks is judged by the value its distribution exceeds once in a
/// billion draws (its maximum when it has one): z of a standard normal at that level.
const Z_1E9: f64 = 6.0;
/// ln(1e9): the exponential's once-in-a-billion multiple of its mean.
const LN_1E9: f64 = 20.723_265_836_946_41;

struct Cx<'s> {
    file: String,
    lines: Vec<&'s str>,
    diags: Vec<Diagnostic>,
    ops: Vec<Op>,
    works: Vec<WorkSpec>,
    dists: Vec<Dist>,
    counts: Vec<Count>,
    conds: Vec<Cond>,
    inputs: Vec<InputAttr>,
    task_names: Vec<String>,
    task_slices: Vec<bool>,
    /// Trigger edges between tasks.
    edges: Vec<Edge>,
    repeats: Vec<Repeat>,
    locs: Vec<Loc>,
    /// Per task: where its maxDuration is written.
    max_duration_at: Vec<Option<Site>>,
    /// While compiling a task's steps: product of the enclosing `parallel` counts' reach.
    mult: f64,
    /// ... no random count that can be 0 encloses the step.
    sure: bool,
    /// ... a step before this one, or the task's maxDuration, can end the attempt.
    may_throw: bool,
    /// ... memory the task's preset leaves for its work steps, MB.
    room_mb: f64,
    limits: Limits,
}

/// A trigger step: an edge of the task graph.
#[derive(Clone)]
struct Edge {
    from: TaskId,
    to: TaskId,
    waits: bool,
    line: u32,
    column: u32,
    key: String,
    /// Most child runs one run of `from` triggers through this step (enclosing `parallel`
    /// counts and the batch count, each at its once-in-a-billion value).
    mult: f64,
    /// Once a run of `from` got here, its next run does too: no random count that can be 0
    /// on the way and nothing before it that can throw (branch conditions and input
    /// attributes are drawn once per workflow run, so they hold for every run of a chain).
    sure: bool,
}

/// A step that repeats (a count, a poll's checks, a triggered run), for the load-time bound on
/// the events of one workflow run.
struct Repeat {
    task: TaskId,
    /// Product of the enclosing `parallel` counts.
    mult: f64,
    /// Most repetitions of the step itself.
    reach: f64,
    /// Events per repetition, at least.
    per: f64,
    line: u32,
    column: u32,
    key: String,
    /// What repeats, `{}` standing for `reach`.
    what: &'static str,
}

/// Where a step (or one of its fields) is written, for warnings about its compiled op.
struct Loc {
    /// The step's op.
    pc: u32,
    /// `step` (the step's kind key), `memoryMb`, `wait` (its duration) or `every`.
    field: &'static str,
    line: u32,
    column: u32,
    key: String,
}

/// What a count can be, for the limit checks.
#[derive(Clone, Copy)]
struct CountInfo {
    idx: u32,
    /// Largest value (infinite when unbounded).
    bound: f64,
    /// Largest value but once in a billion draws.
    reach: f64,
    /// Drawn anew for each run (a distribution), and can be 0.
    may_be_zero: bool,
}

struct Defaults {
    machine: MachineId,
    retry: RetryPolicy,
    max_duration: Option<f64>,
    /// Where `defaults.maxDuration` is written.
    max_duration_at: Option<Site>,
}

impl<'s> Cx<'s> {
    fn new(src: &'s str, file: &str) -> Self {
        Cx {
            file: file.to_owned(),
            lines: src.lines().collect(),
            diags: Vec::new(),
            ops: Vec::new(),
            works: Vec::new(),
            dists: Vec::new(),
            counts: Vec::new(),
            conds: Vec::new(),
            inputs: Vec::new(),
            task_names: Vec::new(),
            task_slices: Vec::new(),
            edges: Vec::new(),
            repeats: Vec::new(),
            locs: Vec::new(),
            max_duration_at: Vec::new(),
            mult: 1.0,
            sure: true,
            may_throw: false,
            room_mb: f64::INFINITY,
            limits: Limits::default(),
        }
    }

    fn push(&mut self, severity: Severity, line: u32, column: u32, key: &str, message: String, help: Option<String>) {
        let source_line = line.checked_sub(1).and_then(|i| self.lines.get(i as usize)).map(|s| s.to_string());
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message,
            help,
            source_line,
        });
    }

    /// Where node `n` (the value of `key`) is.
    fn site(&self, n: &Node, key: &str) -> Site {
        let source_line = n.line.checked_sub(1).and_then(|i| self.lines.get(i as usize)).map(|s| s.to_string());
        Site { file: self.file.clone(), line: n.line, column: n.column, key: key.to_owned(), source_line }
    }

    fn err(&mut self, n: &Node, key: &str, message: impl Into<String>, help: Option<String>) {
        self.push(Severity::Error, n.line, n.column, key, message.into(), help);
    }

    fn warn(&mut self, n: &Node, key: &str, message: impl Into<String>, help: Option<String>) {
        self.push(Severity::Warning, n.line, n.column, key, message.into(), help);
    }

    /// The entries of a mapping whose keys must all be in `allowed`.
    fn fields<'n>(&mut self, n: &'n Node, key: &str, allowed: &[&str]) -> Option<&'n [(Node, Node)]> {
        let Some(m) = n.as_map() else {
            self.err(
                n,
                key,
                format!("expected a mapping, found {}", n.type_name()),
                Some(format!("keys: {}", allowed.join(", "))),
            );
            return None;
        };
        for (k, _) in m {
            match k.as_str() {
                Some(s) if allowed.contains(&s) => {}
                Some(s) => {
                    let hint = match closest(s, allowed) {
                        Some(c) => format!("did you mean `{c}`? expected one of: {}", allowed.join(", ")),
                        None => format!("expected one of: {}", allowed.join(", ")),
                    };
                    self.err(k, &join(key, s), format!("unknown key `{s}`"), Some(hint));
                }
                None => self.err(k, key, format!("a key must be a name, found {}", k.type_name()), None),
            }
        }
        Some(m)
    }

    fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match &n.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.err(n, key, format!("expected a string, found {}", n.type_name()), None);
                None
            }
        }
    }

    fn boolean(&mut self, n: &Node, key: &str) -> Option<bool> {
        match n.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.err(n, key, format!("expected true or false, found {}", n.type_name()), None);
                None
            }
        }
    }

    /// A single non-negative finite number, in the unit of the context.
    fn number(&mut self, n: &Node, key: &str, unit: Unit) -> Option<f64> {
        let v = match (&n.kind, unit) {
            (Kind::Int(_) | Kind::Float(_), Unit::Seconds | Unit::Plain | Unit::Millis) => n.as_f64(),
            (Kind::Str(s), Unit::Seconds | Unit::Millis)
                if s.trim().strip_prefix('-').is_some_and(|r| parse_duration(r).is_ok()) =>
            {
                self.err(n, key, format!("the value must not be negative, found `{}`", s.trim()), None);
                return None;
            }
            (Kind::Str(s), Unit::Seconds) => match parse_duration(s) {
                Ok(v) => Some(v),
                Err(m) => {
                    self.err(n, key, m, Some("durations look like 500ms, 2s, 10m, 1h".into()));
                    return None;
                }
            },
            (Kind::Str(s), Unit::Millis) => match parse_duration(s) {
                Ok(v) => Some(v * 1000.0),
                Err(m) => {
                    self.err(n, key, m, Some("a number of milliseconds, or a duration like 2s".into()));
                    return None;
                }
            },
            _ => {
                let what =
                    if unit == Unit::Seconds { "a duration (e.g. 2s) or a number of seconds" } else { "a number" };
                self.err(n, key, format!("expected {what}, found {}", n.type_name()), None);
                return None;
            }
        }?;
        if !v.is_finite() {
            self.err(n, key, "the value must be finite", None);
            None
        } else if v < 0.0 {
            self.err(n, key, format!("the value must not be negative, found {v}"), None);
            None
        } else if let Some((limit, what)) = match unit {
            Unit::Seconds if v > MAX_SECONDS => Some((MAX_SECONDS, "a duration")),
            Unit::Millis if v > MAX_SECONDS * 1000.0 => Some((MAX_SECONDS * 1000.0, "a number of milliseconds")),
            Unit::Plain if v > MAX_PLAIN => Some((MAX_PLAIN, "a number")),
            _ => None,
        } {
            let shown = if unit == Unit::Plain { format!("{v}") } else { format!("{v}s") };
            let shown = if unit == Unit::Millis { format!("{v}ms") } else { shown };
            self.err(
                n,
                key,
                format!("{shown} is too large for {what}"),
                Some(format!(
                    "wfsim accepts at most {limit:e}{}; is the unit right?",
                    match unit {
                        Unit::Seconds => " s (about 31 years)",
                        Unit::Millis => " ms (about 31 years)",
                        Unit::Plain => "",
                    }
                )),
            );
            None
        } else {
            Some(v)
        }
    }

    fn probability(&mut self, n: &Node, key: &str) -> Option<f64> {
        let p = match n.as_f64() {
            Some(p) => p,
            None => {
                self.err(n, key, format!("expected a probability between 0 and 1, found {}", n.type_name()), None);
                return None;
            }
        };
        if !(0.0..=1.0).contains(&p) || !p.is_finite() {
            self.err(n, key, format!("a probability must be between 0 and 1, found {p}"), None);
            return None;
        }
        Some(p)
    }

    fn integer(&mut self, n: &Node, key: &str, min: i64) -> Option<u32> {
        match n.kind {
            Kind::Int(i) if i >= min && i <= u32::MAX as i64 => Some(i as u32),
            Kind::Int(i) => {
                self.err(n, key, format!("expected a whole number from {min} to {}, found {i}", u32::MAX), None);
                None
            }
            _ => {
                self.err(n, key, format!("expected a whole number, found {}", n.type_name()), None);
                None
            }
        }
    }

    fn machine(&mut self, n: &Node, key: &str) -> Option<MachineId> {
        let s = self.string(n, key)?;
        match platform::machine_by_name(&s) {
            Some(m) => Some(m),
            None => {
                let names = platform::machine_names();
                let hint = match closest(&s, &names) {
                    Some(c) => format!("did you mean `{c}`? presets: {}", names.join(", ")),
                    None => format!("presets: {}", names.join(", ")),
                };
                self.err(n, key, format!("unknown machine preset `{s}`"), Some(hint));
                None
            }
        }
    }

    // ---------------------------------------------------------------- distributions

    /// A distribution, or a bare value meaning a fixed one. `count` makes `uniform` with
    /// whole-number ends draw whole numbers; `names` allows a `choice` of names.
    fn dist(&mut self, n: &Node, key: &str, unit: Unit, count: bool) -> Option<Dist> {
        if n.as_map().is_none() {
            return self.number(n, key, unit).map(Dist::fixed);
        }
        let mut allowed: Vec<&str> = SHAPES.to_vec();
        allowed.extend_from_slice(MODIFIERS);
        let m = self.fields(n, key, &allowed)?;
        let shapes: Vec<&(Node, Node)> =
            m.iter().filter(|(k, _)| k.as_str().is_some_and(|s| SHAPES.contains(&s))).collect();
        if shapes.len() != 1 {
            let msg = if shapes.is_empty() { "no distribution given" } else { "more than one distribution given" };
            self.err(n, key, msg, Some(format!("give exactly one of: {}", SHAPES.join(", "))));
            return None;
        }
        let (kn, v) = shapes[0];
        let name = kn.as_str().unwrap_or_default();
        let k = join(key, name);
        let shape = self.shape(name, v, &k, unit, count)?;
        if matches!(shape, Shape::Choice { .. })
            && v.as_map().is_some_and(|c| c.iter().any(|(k, _)| numeric_key(k).is_none()))
        {
            self.err(
                v,
                &k,
                "a choice of names is only allowed for an input attribute",
                Some("use numbers as keys here".into()),
            );
            return None;
        }
        let mut d = Dist::plain(shape);
        for (kn, v) in m {
            match kn.as_str() {
                Some("min") => d.min = self.number(v, &join(key, "min"), unit),
                Some("max") => d.max = self.number(v, &join(key, "max"), unit),
                Some("round") => d.round = self.boolean(v, &join(key, "round")).unwrap_or(false),
                _ => {}
            }
        }
        if let (Some(lo), Some(hi)) = (d.min, d.max)
            && lo > hi
        {
            self.err(n, &join(key, "min"), format!("min ({lo}) is above max ({hi})"), None);
        }
        // A time drawn from an unbounded tail is capped, so that every sum of times stays
        // finite. (Plain numbers are not: a count is bounded by the limit checks, and an
        // infinite memory draw is simply out of memory.)
        let cap = match unit {
            Unit::Seconds => MAX_SECONDS,
            Unit::Millis => MAX_SECONDS * 1000.0,
            Unit::Plain => f64::INFINITY,
        };
        if d.upper_bound() > cap {
            d.max = Some(cap);
        }
        Some(d)
    }

    fn pair_or_triple(&mut self, v: &Node, key: &str, unit: Unit, len: usize) -> Option<Vec<f64>> {
        match v.as_seq() {
            Some(s) if s.len() == len => {
                let vals: Vec<Option<f64>> = s.iter().map(|x| self.number(x, key, unit)).collect();
                vals.into_iter().collect()
            }
            _ => {
                let form = if len == 2 { "[low, high]" } else { "[low, mode, high]" };
                self.err(v, key, format!("expected a list {form}, found {}", v.type_name()), None);
                None
            }
        }
    }

    fn shape(&mut self, name: &str, v: &Node, key: &str, unit: Unit, count: bool) -> Option<Shape> {
        Some(match name {
            "fixed" => Shape::Fixed(self.number(v, key, unit)?),
            "uniform" => {
                let p = self.pair_or_triple(v, key, unit, 2)?;
                if p[0] > p[1] {
                    self.err(v, key, format!("low ({}) is above high ({})", unit.show(p[0]), unit.show(p[1])), None);
                    return None;
                }
                if count && p[0].fract() == 0.0 && p[1].fract() == 0.0 {
                    Shape::UniformInt { lo: p[0] as i64, hi: p[1] as i64 }
                } else {
                    Shape::Uniform { lo: p[0], hi: p[1] }
                }
            }
            "triangular" => {
                let p = self.pair_or_triple(v, key, unit, 3)?;
                if !(p[0] <= p[1] && p[1] <= p[2]) {
                    self.err(v, key, "expected low <= mode <= high", None);
                    return None;
                }
                Shape::Triangular { lo: p[0], mode: p[1], hi: p[2] }
            }
            "normal" => {
                let m = self.fields(v, key, &["mean", "sd"])?;
                let mean = self.req(v, m, key, "mean", |c, n, k| c.number(n, k, unit))?;
                let sd = self.req(v, m, key, "sd", |c, n, k| c.number(n, k, unit))?;
                Shape::Normal { mean, sd }
            }
            "lognormal" => {
                let m = self.fields(v, key, &["median", "p95", "mu", "sigma"])?;
                if get(m, "median").is_some() || get(m, "p95").is_some() {
                    let median = self.req(v, m, key, "median", |c, n, k| c.number(n, k, unit))?;
                    let p95 = self.req(v, m, key, "p95", |c, n, k| c.number(n, k, unit))?;
                    if median <= 0.0 {
                        self.err(get(m, "median").unwrap_or(v), &join(key, "median"), "median must be above 0", None);
                        return None;
                    }
                    if p95 <= median {
                        self.err(
                            get(m, "p95").unwrap_or(v),
                            &join(key, "p95"),
                            format!("p95 ({}) must be above the median ({})", unit.show(p95), unit.show(median)),
                            Some("a lognormal is right-skewed: its p95 lies above its median".into()),
                        );
                        return None;
                    }
                    Dist::lognormal_median_p95(median, p95)
                } else {
                    let mu = match get(m, "mu").map(|n| (n, n.as_f64())) {
                        Some((_, Some(x))) if x.is_finite() => x,
                        Some((n, _)) => {
                            self.err(n, &join(key, "mu"), "mu must be a finite number", None);
                            return None;
                        }
                        None => {
                            self.err(v, key, "a lognormal needs median and p95, or mu and sigma", None);
                            return None;
                        }
                    };
                    let sigma = self.req(v, m, key, "sigma", |c, n, k| c.number(n, k, Unit::Plain))?;
                    Shape::LogNormal { mu, sigma }
                }
            }
            "exponential" => {
                let m = self.fields(v, key, &["mean"])?;
                let mean = self.req(v, m, key, "mean", |c, n, k| c.number(n, k, unit))?;
                if mean <= 0.0 {
                    self.err(v, &join(key, "mean"), "mean must be above 0", None);
                    return None;
                }
                Shape::Exponential { mean }
            }
            "bernoulli" => Shape::Bernoulli { p: self.probability(v, key)? },
            "choice" => {
                let Some(m) = v.as_map() else {
                    self.err(v, key, format!("expected a mapping of value: weight, found {}", v.type_name()), None);
                    return None;
                };
                if m.is_empty() {
                    self.err(v, key, "a choice needs at least one value", Some("e.g. { free: 0.7, pro: 0.3 }".into()));
                    return None;
                }
                let mut weights = Vec::new();
                let mut values = Vec::new();
                for (i, (k, w)) in m.iter().enumerate() {
                    let wk = join(key, &scalar_text(k));
                    let w = self.number(w, &wk, Unit::Plain)?;
                    weights.push(w);
                    values.push(numeric_key(k).unwrap_or(i as f64));
                }
                let total: f64 = weights.iter().sum();
                if total <= 0.0 {
                    self.err(v, key, "the weights of a choice must not all be 0", None);
                    return None;
                }
                let mut acc = 0.0;
                let cum = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                Shape::Choice { cum, values }
            }
            "empirical" => {
                let Some(s) = v.as_seq().filter(|s| !s.is_empty()) else {
                    self.err(v, key, "expected a non-empty list of observed values", None);
                    return None;
                };
                let vals: Option<Vec<f64>> = s.iter().map(|x| self.number(x, key, unit)).collect();
                Shape::Empirical(vals?)
            }
            _ => return None,
        })
    }

    /// A required key of a mapping.
    fn req<T>(
        &mut self,
        parent: &Node,
        m: &[(Node, Node)],
        key: &str,
        name: &str,
        f: impl FnOnce(&mut Self, &Node, &str) -> Option<T>,
    ) -> Option<T> {
        match get(m, name) {
            Some(n) => f(self, n, &join(key, name)),
            None => {
                self.err(parent, key, format!("missing key `{name}`"), None);
                None
            }
        }
    }

    fn add_dist(&mut self, d: Dist) -> u32 {
        self.dists.push(d);
        (self.dists.len() - 1) as u32
    }

    fn attr(&mut self, n: &Node, key: &str, name: &str) -> Option<AttrId> {
        match self.inputs.iter().position(|a| a.name == name) {
            Some(i) => Some(i as AttrId),
            None => {
                let names: Vec<&str> = self.inputs.iter().map(|a| a.name.as_str()).collect();
                let hint = match closest(name, &names) {
                    Some(c) => {
                        format!("did you mean `{c}`? input attributes: {}", names.join(", "))
                    }
                    None if names.is_empty() => "declare it under `input:`".to_owned(),
                    None => format!("input attributes: {}", names.join(", ")),
                };
                self.err(n, key, format!("unknown input attribute `{name}`"), Some(hint));
                None
            }
        }
    }

    /// How many: a whole number, an input attribute's name, or a distribution.
    fn count(&mut self, n: &Node, key: &str) -> Option<CountInfo> {
        let (c, bound, reach, may_be_zero) = match &n.kind {
            Kind::Int(_) => {
                let v = self.integer(n, key, 0)?;
                (Count::Fixed(v), v as f64, v as f64, false)
            }
            Kind::Str(s) => {
                let a = self.attr(n, key, s)?;
                if !self.inputs[a as usize].categories.is_empty() {
                    self.err(
                        n,
                        key,
                        format!("`{s}` is a choice of names, not a number"),
                        Some("count with a numeric input attribute or a distribution".into()),
                    );
                    return None;
                }
                // The engine truncates an attribute's value to a whole count.
                let d = &self.inputs[a as usize].dist;
                (Count::Attr(a), upper(d), reach(d).floor(), false)
            }
            Kind::Map(_) => {
                let d = self.dist(n, key, Unit::Plain, true)?;
                let (b, r, zero) = (upper(&d), reach(&d).round(), lower(&d) < 0.5);
                (Count::Dist(self.add_dist(d)), b, r, zero)
            }
            _ => {
                self.err(
                    n,
                    key,
                    format!(
                        "expected a count: a whole number, an input attribute or a distribution, found {}",
                        n.type_name()
                    ),
                    None,
                );
                return None;
            }
        };
        self.counts.push(c);
        Some(CountInfo { idx: (self.counts.len() - 1) as u32, bound, reach, may_be_zero })
    }

    fn locate(&mut self, pc: u32, field: &'static str, n: &Node, key: &str) {
        self.locs.push(Loc { pc, field, line: n.line, column: n.column, key: key.to_owned() });
    }

    /// Records a step that repeats `reach` times, for [`Cx::check_limits`].
    fn repeat(&mut self, task: TaskId, n: &Node, key: &str, reach: f64, per: f64, what: &'static str) {
        self.repeats.push(Repeat {
            task,
            mult: self.mult,
            reach,
            per,
            line: n.line,
            column: n.column,
            key: key.to_owned(),
            what,
        });
    }

    fn task_ref(&mut self, n: &Node, key: &str) -> Option<TaskId> {
        let name = self.string(n, key)?;
        match self.task_names.iter().position(|t| *t == name) {
            Some(i) => Some(i as TaskId),
            None => {
                let names: Vec<&str> = self.task_names.iter().map(|s| s.as_str()).collect();
                let hint = match closest(&name, &names) {
                    Some(c) => format!("did you mean `{c}`? tasks: {}", names.join(", ")),
                    None => format!("tasks: {}", names.join(", ")),
                };
                self.err(n, key, format!("unknown task `{name}`"), Some(hint));
                None
            }
        }
    }

    // ---------------------------------------------------------------- top level

    fn compile(&mut self, root: &Node) -> Option<Model> {
        let top = self.fields(root, "", TOP_KEYS)?;
        let name = match get(top, "name") {
            Some(n) => self.string(n, "name").unwrap_or_default(),
            None => std::path::Path::new(&self.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let description = get(top, "description").and_then(|n| self.string(n, "description")).unwrap_or_default();
        if let Some(p) = get(top, "platform")
            && let Some(s) = self.string(p, "platform")
            && s != "trigger-dev-v4"
        {
            self.err(
                p,
                "platform",
                format!("unknown platform `{s}`"),
                Some("the only platform is trigger-dev-v4".into()),
            );
        }
        let start_latency = match get(top, "startLatency") {
            Some(n) => self.dist(n, "startLatency", Unit::Seconds, false),
            None => Some(Dist::plain(Shape::Uniform { lo: 0.1, hi: 0.3 })),
        };
        let (invocation_usd, usd_per_s) = self.prices(get(top, "prices"));
        if let Some(n) = get(top, "input") {
            self.input(n);
        }
        let limits = self.limits(get(top, "limits"));
        let defaults = self.defaults(get(top, "defaults"));

        let Some(tasks_node) = get(top, "tasks") else {
            self.err(root, "tasks", "missing key `tasks`", Some("a scenario needs at least one task".into()));
            return None;
        };
        let Some(task_map) = tasks_node.as_map().filter(|m| !m.is_empty()) else {
            self.err(tasks_node, "tasks", "expected a mapping of task id: task", None);
            return None;
        };
        for (k, v) in task_map {
            let name = self.string(k, "tasks")?;
            self.task_names.push(name);
            self.task_slices.push(v.get("progress").is_some());
        }
        let mut tasks = Vec::new();
        for (i, (k, v)) in task_map.iter().enumerate() {
            let name = self.task_names[i].clone();
            tasks.push(self.task(i as TaskId, &name, k, v, &defaults));
        }
        let entry = match get(top, "entry") {
            Some(n) => self.task_ref(n, "entry"),
            None => {
                self.err(root, "entry", "missing key `entry`", Some("name the task the app triggers".into()));
                None
            }
        };
        let load = get(top, "load").and_then(|n| self.load(n));
        let platform = self.platform(top);
        let slos = get(top, "slo").map(|n| self.slos(n)).unwrap_or_default();
        let tasks: Option<Vec<Task>> = tasks.into_iter().collect();
        let (tasks, entry, start_latency, platform) = (tasks?, entry?, start_latency?, platform?);
        self.check_graph(entry, task_map);
        self.check_limits(entry);
        let mut model = Model {
            name,
            description,
            inputs: std::mem::take(&mut self.inputs),
            tasks,
            entry,
            ops: std::mem::take(&mut self.ops),
            works: std::mem::take(&mut self.works),
            dists: std::mem::take(&mut self.dists),
            counts: std::mem::take(&mut self.counts),
            conds: std::mem::take(&mut self.conds),
            start_latency,
            cold_start: platform.cold_start,
            keep_warm_s: platform.keep_warm_s,
            environment: platform.environment,
            queues: QueueLayout::default(),
            invocation_usd,
            usd_per_s,
            limits,
            load,
            slos,
            direct: false,
        };
        model.queues = model.queue_layout();
        model.direct = crate::engine::direct_supported(&model);
        if !self.diags.iter().any(|d| d.severity == Severity::Error) {
            lint::run(self, &model);
        }
        Some(model)
    }

    fn prices(&mut self, n: Option<&Node>) -> (f64, [f64; 7]) {
        let mut per_s = PRESETS.map(|p| p.usd_per_s);
        let mut inv = platform::INVOCATION_USD;
        if let Some(n) = n {
            let mut allowed = vec!["invocationUsd"];
            allowed.extend(platform::machine_names());
            if let Some(m) = self.fields(n, "prices", &allowed) {
                for (k, v) in m {
                    let Some(name) = k.as_str() else { continue };
                    let key = join("prices", name);
                    if name == "invocationUsd" {
                        inv = self.number(v, &key, Unit::Plain).unwrap_or(inv);
                    } else if let Some(id) = platform::machine_by_name(name) {
                        per_s[id as usize] = self.number(v, &key, Unit::Plain).unwrap_or(per_s[id as usize]);
                    }
                }
            }
        }
        (inv, per_s)
    }

    fn limits(&mut self, n: Option<&Node>) -> Limits {
        let mut l = Limits::default();
        if let Some(n) = n
            && let Some(m) = self.fields(n, "limits", &["maxEventsPerRun"])
            && let Some(v) = get(m, "maxEventsPerRun")
        {
            l.max_events_per_run = self.integer(v, "limits.maxEventsPerRun", 1).map_or(l.max_events_per_run, u64::from);
        }
        self.limits = l;
        l
    }

    fn defaults(&mut self, n: Option<&Node>) -> Defaults {
        let mut d = Defaults {
            machine: platform::DEFAULT_MACHINE,
            retry: RetryPolicy::NONE,
            max_duration: None,
            max_duration_at: None,
        };
        let Some(n) = n else { return d };
        let Some(m) = self.fields(n, "defaults", &["machine", "retry", "maxDuration"]) else {
            return d;
        };
        if let Some(v) = get(m, "machine") {
            d.machine = self.machine(v, "defaults.machine").unwrap_or(d.machine);
        }
        if let Some(v) = get(m, "retry") {
            d.retry = self.retry(v, "defaults.retry", true).unwrap_or(d.retry);
            // trigger.config's retries.default is copied onto tasks without being merged with
            // the SDK's defaults: without maxAttempts the engine makes no retry at all.
            if v.get("maxAttempts").is_none() {
                d.retry.max_attempts = 1;
                self.warn(
                    v,
                    "defaults.retry",
                    "without maxAttempts, a config-level retry default disables retries",
                    Some("Trigger.dev does not merge retries.default with the SDK defaults: add maxAttempts".into()),
                );
            }
        }
        if let Some(v) = get(m, "maxDuration") {
            d.max_duration = self.max_duration(v, "defaults.maxDuration");
            d.max_duration_at = Some(self.site(v, "defaults.maxDuration"));
        }
        d
    }

    fn max_duration(&mut self, n: &Node, key: &str) -> Option<f64> {
        let v = self.number(n, key, Unit::Seconds)?;
        if v < platform::MIN_MAX_DURATION_S {
            self.err(
                n,
                key,
                format!("maxDuration must be at least 5s, found {v}s"),
                Some("Trigger.dev's minimum is 5 seconds".into()),
            );
            return None;
        }
        Some(v)
    }

    fn input(&mut self, n: &Node) {
        let Some(m) = n.as_map() else {
            self.err(
                n,
                "input",
                format!("expected a mapping of attribute: distribution, found {}", n.type_name()),
                None,
            );
            return;
        };
        for (k, v) in m {
            let Some(name) = self.string(k, "input") else {
                continue;
            };
            let key = join("input", &name);
            let categories: Vec<String> = match v.get("choice").and_then(|c| c.as_map()) {
                Some(c) if c.iter().any(|(k, _)| numeric_key(k).is_none()) => {
                    c.iter().map(|(k, _)| scalar_text(k)).collect()
                }
                _ => Vec::new(),
            };
            let d = if categories.is_empty() {
                self.dist(v, &key, Unit::Plain, true)
            } else {
                // A choice of names: its value is the index of the name drawn.
                let Some(cm) = self.fields(v, &key, &["choice"]) else {
                    continue;
                };
                let c = get(cm, "choice").unwrap_or(v);
                self.shape("choice", c, &join(&key, "choice"), Unit::Plain, false).map(Dist::plain)
            };
            if let Some(dist) = d {
                self.inputs.push(InputAttr { name, dist, categories });
            }
        }
    }

    fn retry(&mut self, n: &Node, key: &str, allow_oom: bool) -> Option<RetryPolicy> {
        let allowed = if allow_oom { RETRY_KEYS } else { &RETRY_KEYS[..5] };
        let m = self.fields(n, key, allowed)?;
        let mut r = RetryPolicy::SDK_DEFAULTS;
        // Every field is checked before giving up, so all of the block's errors are reported.
        let mut ok = true;
        for (k, v) in m {
            let Some(name) = k.as_str() else { continue };
            let kk = join(key, name);
            let good = match name {
                "maxAttempts" => self.integer(v, &kk, 1).map(|x| r.max_attempts = x),
                "factor" => match self.number(v, &kk, Unit::Plain) {
                    Some(f) if f > 0.0 => {
                        r.factor = f;
                        Some(())
                    }
                    Some(_) => {
                        self.err(v, &kk, "factor must be above 0", None);
                        None
                    }
                    None => None,
                },
                "minTimeoutInMs" => self.number(v, &kk, Unit::Millis).map(|x| r.min_timeout_ms = x),
                "maxTimeoutInMs" => self.number(v, &kk, Unit::Millis).map(|x| r.max_timeout_ms = x),
                "randomize" => self.boolean(v, &kk).map(|x| r.randomize = x),
                "outOfMemory" => self
                    .fields(v, &kk, &["machine"])
                    .and_then(|om| self.req(v, om, &kk, "machine", |c, n, k| c.machine(n, k)))
                    .map(|x| r.oom_machine = Some(x)),
                _ => Some(()),
            };
            ok &= good.is_some();
        }
        if r.max_timeout_ms < r.min_timeout_ms {
            self.err(n, &join(key, "maxTimeoutInMs"), "maxTimeoutInMs is below minTimeoutInMs", None);
        }
        ok.then_some(r)
    }

    fn task(&mut self, id: TaskId, name: &str, kn: &Node, n: &Node, d: &Defaults) -> Option<Task> {
        let key = join("tasks", name);
        let m = self.fields(n, &key, TASK_KEYS)?;
        let machine = match get(m, "machine") {
            Some(v) => self.machine(v, &join(&key, "machine")),
            None => Some(d.machine),
        };
        let retry = match get(m, "retry") {
            Some(v) => self.retry(v, &join(&key, "retry"), true),
            None => Some(d.retry),
        };
        if let (Some(r), Some(mc)) = (retry, machine)
            && let Some(om) = r.oom_machine
            && platform::ram_mb(om) <= platform::ram_mb(mc)
        {
            let v = get(m, "retry").unwrap_or(n);
            self.warn(
                v,
                &join(&key, "retry.outOfMemory.machine"),
                format!(
                    "the out-of-memory machine `{}` has no more memory than `{}`",
                    PRESETS[om as usize].name, PRESETS[mc as usize].name
                ),
                None,
            );
        }
        // Each field is checked even when an earlier one is wrong, so that every error of the
        // task (its steps included) is reported in one go.
        let max_duration_s = match get(m, "maxDuration") {
            Some(v) => self.max_duration(v, &join(&key, "maxDuration")).map(Some),
            None => Some(d.max_duration),
        };
        let site = match get(m, "maxDuration") {
            Some(v) => Some(self.site(v, &join(&key, "maxDuration"))),
            None => d.max_duration_at.clone(),
        };
        self.max_duration_at.resize(id as usize + 1, None);
        self.max_duration_at[id as usize] = site;
        let progress = match get(m, "progress") {
            Some(v) => self.progress(v, &join(&key, "progress")).map(Some),
            None => Some(None),
        };
        let base_memory_mb = match get(m, "baseMemoryMb") {
            Some(v) => self.number(v, &join(&key, "baseMemoryMb"), Unit::Plain),
            None => Some(0.0),
        };
        let queue = match get(m, "queue") {
            Some(v) => self.queue(v, &join(&key, "queue")).map(Some),
            None => Some(None),
        };
        let entry_pc = self.ops.len() as u32;
        self.mult = 1.0;
        self.sure = true;
        self.may_throw = matches!(max_duration_s, Some(Some(_)));
        self.room_mb = match machine {
            Some(mc) => platform::ram_mb(mc) - base_memory_mb.unwrap_or(0.0),
            None => f64::INFINITY,
        };
        match get(m, "steps") {
            Some(s) => {
                let prog = if matches!(progress, Some(Some(_))) { Prog { lo: 0.0, hi: 1.0 } } else { Prog::NONE };
                self.block(s, &join(&key, "steps"), id, prog);
            }
            None => self.err(
                kn,
                &key,
                "missing key `steps`",
                Some("list what the task does, e.g. - work: { duration: 2s }".into()),
            ),
        }
        self.ops.push(Op::End);
        // How the task's runs are triggered (trigger options; they matter under load).
        let concurrency_key = match get(m, "concurrencyKey") {
            Some(v) => self.concurrency_key(v, &join(&key, "concurrencyKey")).map(Some),
            None => Some(None),
        };
        let secs = |c: &mut Self, k: &str| match get(m, k) {
            Some(v) => c.number(v, &join(&key, k), Unit::Seconds).map(Some),
            None => Some(None),
        };
        let priority_s = secs(self, "priority");
        let ttl_s = secs(self, "ttl");
        let delay_s = secs(self, "delay");
        Some(Task {
            name: name.to_owned(),
            machine: machine?,
            retry: retry?,
            max_duration_s: max_duration_s?,
            progress: progress?,
            base_memory_mb: base_memory_mb?,
            entry_pc,
            queue: queue?,
            concurrency_key: concurrency_key?,
            priority_s: priority_s?.unwrap_or(0.0),
            ttl_s: ttl_s?,
            delay_s: delay_s?.unwrap_or(0.0),
        })
    }

    fn progress(&mut self, n: &Node, key: &str) -> Option<(f64, f64)> {
        let p = self.pair_or_triple(n, key, Unit::Plain, 2)?;
        if !(p[0] <= p[1] && p[1] <= 100.0) {
            self.err(
                n,
                key,
                format!("expected [from, to] with 0 <= from <= to <= 100, found [{}, {}]", p[0], p[1]),
                None,
            );
            return None;
        }
        Some((p[0], p[1]))
    }

    fn queue(&mut self, n: &Node, key: &str) -> Option<QueueSpec> {
        let m = self.fields(n, key, &["name", "concurrencyLimit"])?;
        let name = self.req(n, m, key, "name", |c, n, k| c.string(n, k))?;
        let concurrency_limit = match get(m, "concurrencyLimit") {
            Some(v) => Some(self.integer(v, &join(key, "concurrencyLimit"), 1)?),
            None => None,
        };
        Some(QueueSpec { name, concurrency_limit })
    }

    // ---------------------------------------------------------------- steps

    /// Does this step move the task's own progress bar? Steps that only wait on a child
    /// with its own slice do not (the child moves the bar), nor do fire-and-forget triggers.
    fn counts_progress(&self, step: &Node) -> bool {
        let Some([(k, v)]) = step.as_map() else {
            return true;
        };
        match k.as_str() {
            Some("trigger" | "batchTrigger") => false,
            Some("triggerAndWait" | "batchTriggerAndWait") => {
                let t = v.as_str().or_else(|| v.get("task").and_then(Node::as_str));
                !t.and_then(|t| self.task_names.iter().position(|n| n == t)).is_some_and(|i| self.task_slices[i])
            }
            Some("branch") => v.as_seq().is_some_and(|arms| {
                arms.iter().any(|a| {
                    a.as_map().is_some_and(|m| {
                        m.iter()
                            .filter(|(k, _)| matches!(k.as_str(), Some("then" | "otherwise")))
                            .any(|(_, s)| s.as_seq().is_some_and(|s| s.iter().any(|x| self.counts_progress(x))))
                    })
                })
            }),
            _ => true,
        }
    }

    fn block(&mut self, n: &Node, key: &str, task: TaskId, prog: Prog) {
        let Some(steps) = n.as_seq() else {
            self.err(n, key, format!("expected a list of steps, found {}", n.type_name()), None);
            return;
        };
        let counted = if prog.is_some() { steps.iter().filter(|s| self.counts_progress(s)).count() } else { 0 };
        let mut k = 0;
        for (i, s) in steps.iter().enumerate() {
            let skey = format!("{key}[{i}]");
            let p = if prog.is_some() && self.counts_progress(s) {
                k += 1;
                let w = (prog.hi - prog.lo) / counted as f64;
                Prog { lo: prog.lo + w * (k - 1) as f64, hi: prog.lo + w * k as f64 }
            } else {
                Prog::NONE
            };
            self.step(s, &skey, task, p);
            if p.is_some() {
                self.ops.push(Op::Progress { frac: p.hi });
            }
        }
    }

    fn step(&mut self, n: &Node, key: &str, task: TaskId, prog: Prog) {
        let Some(m) = n.as_map() else {
            self.err(
                n,
                key,
                format!("expected a step (a mapping with one key), found {}", n.type_name()),
                Some(format!("step kinds: {}", STEP_KINDS.join(", "))),
            );
            return;
        };
        if m.len() != 1 {
            self.err(
                n,
                key,
                format!("a step has exactly one key, found {}", m.len()),
                Some(format!("step kinds: {}", STEP_KINDS.join(", "))),
            );
            return;
        }
        let (kn, v) = &m[0];
        let Some(kind) = kn.as_str() else {
            self.err(
                kn,
                key,
                format!("a step kind must be a name, found {}", kn.type_name()),
                Some(format!("step kinds: {}", STEP_KINDS.join(", "))),
            );
            return;
        };
        let key = join(key, kind);
        let pc = self.ops.len() as u32;
        self.locate(pc, "step", kn, &key);
        let field = match kind {
            "work" => v.get("memoryMb").map(|n| ("memoryMb", n, join(&key, "memoryMb"))),
            "wait" => match v.get("for") {
                Some(f) if v.as_map().is_some_and(|m| m.len() == 1) => Some(("wait", f, join(&key, "for"))),
                _ => Some(("wait", v, key.clone())),
            },
            "poll" => v.get("every").map(|n| ("every", n, join(&key, "every"))),
            _ => None,
        };
        if let Some((field, n, k)) = field {
            self.locate(pc, field, n, &k);
        }
        match kind {
            "work" => self.work(v, &key, task, prog),
            "wait" => {
                let d = match v.get("for") {
                    Some(f) if v.as_map().is_some_and(|m| m.len() == 1) => {
                        self.dist(f, &join(&key, "for"), Unit::Seconds, false)
                    }
                    _ => self.dist(v, &key, Unit::Seconds, false),
                };
                if let Some(d) = d {
                    let dur = self.add_dist(d);
                    self.ops.push(Op::Wait { dur, prog });
                }
            }
            "branch" => self.branch(v, &key, task, prog),
            "parallel" => {
                let Some(pm) = self.fields(v, &key, &["count", "limit", "steps"]) else {
                    return;
                };
                let count = self.req(v, pm, &key, "count", |c, n, k| c.count(n, k));
                let limit = match get(pm, "limit") {
                    Some(l) => self.integer(l, &join(&key, "limit"), 1),
                    None => Some(u32::MAX),
                };
                let at = self.ops.len();
                self.ops.push(Op::End);
                let (outer_mult, outer_sure) = (self.mult, self.sure);
                if let Some(c) = count {
                    let n = get(pm, "count").unwrap_or(v);
                    self.repeat(task, n, &join(&key, "count"), c.reach, 1.0, "the `parallel` count can reach {} items");
                    self.mult *= c.reach;
                    self.sure &= !c.may_be_zero;
                }
                match get(pm, "steps") {
                    Some(s) => self.block(s, &join(&key, "steps"), task, Prog::NONE),
                    None => self.err(v, &key, "missing key `steps`", None),
                }
                (self.mult, self.sure) = (outer_mult, outer_sure);
                self.ops.push(Op::EndItem);
                if let (Some(c), Some(limit)) = (count, limit) {
                    self.ops[at] = Op::Parallel { count: c.idx, limit, cont: self.ops.len() as u32, prog };
                }
            }
            "triggerAndWait" | "trigger" | "batchTrigger" | "batchTriggerAndWait" => {
                self.trigger(kind, v, &key, task, prog)
            }
            "poll" => {
                let Some(pm) = self.fields(v, &key, &["every", "success", "maxChecks", "check"]) else {
                    return;
                };
                let every = self.req(v, pm, &key, "every", |c, n, k| c.dist(n, k, Unit::Seconds, false));
                let success = self.req(v, pm, &key, "success", |c, n, k| c.probability(n, k));
                let max_checks = self.req(v, pm, &key, "maxChecks", |c, n, k| c.integer(n, k, 1));
                let check = match get(pm, "check") {
                    Some(c) => self.dist(c, &join(&key, "check"), Unit::Seconds, false).map(|d| self.add_dist(d)),
                    None => Some(NONE),
                };
                if let (Some(success), Some(max_checks)) = (success, max_checks) {
                    // Checks that can happen: all of them when a check can fail every time up
                    // to the last, else those that happen more than once in a billion polls.
                    let likely = if success > 0.0 { (1e-9f64).ln() / (1.0 - success).ln() } else { f64::INFINITY };
                    let checks = f64::from(max_checks).min(likely.ceil());
                    let per_check = if check == Some(NONE) { 1.0 } else { 2.0 };
                    let at = get(pm, "maxChecks").unwrap_or(v);
                    self.repeat(task, at, &join(&key, "maxChecks"), checks, per_check, "the poll can make {} checks");
                    if success < 1.0 {
                        self.may_throw = true;
                    }
                }
                if let (Some(e), Some(success), Some(max_checks), Some(check)) = (every, success, max_checks, check) {
                    let every = self.add_dist(e);
                    self.ops.push(Op::Poll { every, success, max_checks, check, prog });
                }
            }
            other => {
                let hint = match closest(other, STEP_KINDS) {
                    Some(c) => format!("did you mean `{c}`? step kinds: {}", STEP_KINDS.join(", ")),
                    None => format!("step kinds: {}", STEP_KINDS.join(", ")),
                };
                self.err(kn, &key, format!("unknown step kind `{other}`"), Some(hint));
            }
        }
    }

    fn work(&mut self, v: &Node, key: &str, task: TaskId, prog: Prog) {
        let Some(m) = self.fields(v, key, WORK_KEYS) else {
            return;
        };
        let name = get(m, "name").and_then(|n| self.string(n, &join(key, "name"))).unwrap_or_default();
        let duration = self.req(v, m, key, "duration", |c, n, k| c.duration(n, k, task));
        let (failure, retryable) = match get(m, "failure") {
            None => (0.0, true),
            Some(f) if f.as_map().is_some() => {
                let fk = join(key, "failure");
                let Some(fm) = self.fields(f, &fk, &["probability", "retryable"]) else {
                    return;
                };
                let p = self.req(f, fm, &fk, "probability", |c, n, k| c.probability(n, k)).unwrap_or(0.0);
                let r = get(fm, "retryable").and_then(|r| self.boolean(r, &join(&fk, "retryable"))).unwrap_or(true);
                (p, r)
            }
            Some(f) => (self.probability(f, &join(key, "failure")).unwrap_or(0.0), true),
        };
        let fail_uniform = match get(m, "failAt") {
            None => false,
            Some(f) => match f.as_str() {
                Some("end") => false,
                Some("uniform") => true,
                _ => {
                    self.err(
                        f,
                        &join(key, "failAt"),
                        "expected `end` or `uniform`",
                        Some("when in the step a failure happens".into()),
                    );
                    false
                }
            },
        };
        let cpu_bound = get(m, "cpuBound").and_then(|c| self.boolean(c, &join(key, "cpuBound"))).unwrap_or(false);
        let measured_on = match get(m, "measuredOn") {
            Some(x) => self.machine(x, &join(key, "measuredOn")).unwrap_or(platform::DEFAULT_MACHINE),
            None => platform::DEFAULT_MACHINE,
        };
        let pf = match get(m, "parallelFraction") {
            Some(x) => {
                let p = self.probability(x, &join(key, "parallelFraction")).unwrap_or(0.0);
                if !cpu_bound {
                    self.warn(
                        x,
                        &join(key, "parallelFraction"),
                        "parallelFraction has no effect without cpuBound: true",
                        None,
                    );
                }
                p
            }
            None => 0.0,
        };
        let scale = std::array::from_fn(|i| {
            if cpu_bound { cpu_scale(PRESETS[measured_on as usize].vcpu, PRESETS[i].vcpu, pf) } else { 1.0 }
        });
        let main_thread = match get(m, "mainThread") {
            Some(x) => {
                let k = join(key, "mainThread");
                let v = self.boolean(x, &k).unwrap_or(false);
                if v && !cpu_bound {
                    self.warn(x, &k, "mainThread has no effect without cpuBound: true", None);
                }
                if v && pf > 0.0 {
                    self.err(
                        x,
                        &k,
                        "work on the JavaScript main thread runs on one thread: it has no parallel fraction",
                        Some(
                            "leave out parallelFraction, or mainThread for work in worker threads or native code"
                                .into(),
                        ),
                    );
                }
                v
            }
            None => false,
        };
        let cpu = cpu_bound.then_some(CpuWork { parallel_fraction: pf, main_thread });
        let memory_mb = get(m, "memoryMb")
            .and_then(|x| self.dist(x, &join(key, "memoryMb"), Unit::Plain, false))
            .map(|d| self.add_dist(d));
        let retry = match get(m, "retry") {
            Some(r) => self.retry(r, &join(key, "retry"), false),
            None => None,
        };
        if failure > 0.0 || memory_mb.is_some_and(|d| reach(&self.dists[d as usize]) > self.room_mb) {
            self.may_throw = true;
        }
        if let Some(duration) = duration {
            self.works.push(WorkSpec {
                name,
                key: key.to_owned(),
                duration,
                failure,
                retryable,
                fail_uniform,
                scale,
                cpu,
                memory_mb,
                retry,
            });
            self.ops.push(Op::Work { spec: (self.works.len() - 1) as u32, prog });
        }
    }

    fn duration(&mut self, n: &Node, key: &str, task: TaskId) -> Option<DurSpec> {
        if let Some(m) = n.as_map()
            && get(m, "perUnit").is_some()
        {
            let m = self.fields(n, key, &["perUnit", "each"])?;
            let c = self.req(n, m, key, "perUnit", |c, n, k| c.count(n, k))?;
            let count = c.idx;
            self.repeat(
                task,
                get(m, "perUnit").unwrap_or(n),
                &join(key, "perUnit"),
                c.reach,
                1.0,
                "the `perUnit` count can reach {} units",
            );
            let each = self.req(n, m, key, "each", |c, n, k| c.dist(n, k, Unit::Seconds, false))?;
            return Some(DurSpec::PerUnit { count, each: self.add_dist(each) });
        }
        let d = self.dist(n, key, Unit::Seconds, false)?;
        Some(DurSpec::Dist(self.add_dist(d)))
    }

    fn trigger(&mut self, kind: &str, v: &Node, key: &str, task: TaskId, prog: Prog) {
        let batch = kind.starts_with("batch");
        let waits = kind.ends_with("AndWait");
        let (child, count, idem, unwrap) = if v.as_map().is_some() {
            let mut allowed = vec!["task", "idempotencyKey"];
            if batch {
                allowed.push("count");
            }
            if waits {
                allowed.push("unwrap");
            }
            let Some(m) = self.fields(v, key, &allowed) else {
                return;
            };
            let child = self.req(v, m, key, "task", |c, n, k| c.task_ref(n, k));
            let count = if batch { self.req(v, m, key, "count", |c, n, k| c.count(n, k)) } else { None };
            if batch
                && let Some(CountInfo { bound, .. }) = count
                && bound > platform::MAX_BATCH_ITEMS
            {
                let at = get(m, "count").unwrap_or(v);
                let shown = if bound.is_finite() { format!("{bound}") } else { "an unbounded number of".into() };
                let help = match &at.kind {
                    Kind::Str(a) => format!("add `max: 1000` to input attribute `{a}`, or split the batch"),
                    Kind::Int(_) => "use at most 1000 items per batch, or split the batch".into(),
                    _ => "add `max: 1000` to the count, or split the batch".into(),
                };
                self.err(
                    at,
                    &join(key, "count"),
                    format!("the batch can hold {shown} items; Trigger.dev allows at most 1,000 per batch"),
                    Some(help),
                );
            }
            let idem =
                get(m, "idempotencyKey").and_then(|n| self.boolean(n, &join(key, "idempotencyKey"))).unwrap_or(false);
            let unwrap = get(m, "unwrap").and_then(|n| self.boolean(n, &join(key, "unwrap"))).unwrap_or(true);
            (child, count, idem, unwrap)
        } else {
            if batch {
                self.err(v, key, format!("expected {{ task, count }}, found {}", v.type_name()), None);
                return;
            }
            (self.task_ref(v, key), None, false, true)
        };
        let Some(child) = child else { return };
        let (reach, may_be_zero) = count.map_or((1.0, false), |c| (c.reach, c.may_be_zero));
        let at = v.get("count").unwrap_or(v);
        let (k, what) = if batch {
            (join(key, "count"), "the batch can trigger {} runs")
        } else {
            (key.to_owned(), "the step triggers {} run")
        };
        self.repeat(task, at, &k, reach, 1.0, what);
        self.edges.push(Edge {
            from: task,
            to: child,
            waits,
            line: v.line,
            column: v.column,
            key: key.to_owned(),
            mult: self.mult * reach,
            sure: self.sure && !may_be_zero && !self.may_throw,
        });
        if waits && unwrap {
            // A failed child throws here.
            self.may_throw = true;
        }
        let op = match (batch, waits) {
            (false, true) => Op::TriggerAndWait { task: child, idempotent: idem, unwrap, prog },
            (true, true) => match count {
                Some(count) => {
                    Op::BatchTriggerAndWait { task: child, count: count.idx, idempotent: idem, unwrap, prog }
                }
                None => return,
            },
            (false, false) => {
                self.counts.push(Count::Fixed(1));
                Op::Trigger { task: child, count: (self.counts.len() - 1) as u32, batch: false, idempotent: idem }
            }
            (true, false) => match count {
                Some(count) => Op::Trigger { task: child, count: count.idx, batch: true, idempotent: idem },
                None => return,
            },
        };
        self.ops.push(op);
    }

    fn branch(&mut self, v: &Node, key: &str, task: TaskId, prog: Prog) {
        let Some(arms) = v.as_seq().filter(|a| !a.is_empty()) else {
            self.err(
                v,
                key,
                "expected a list of arms: - when: COND then: [steps], ending with an optional - otherwise: [steps]",
                None,
            );
            return;
        };
        let mut jumps_to_end = Vec::new();
        for (i, arm) in arms.iter().enumerate() {
            let akey = format!("{key}[{i}]");
            let Some(m) = self.fields(arm, &akey, &["when", "then", "otherwise"]) else {
                continue;
            };
            if let Some(o) = get(m, "otherwise") {
                if m.len() != 1 {
                    self.err(arm, &akey, "an `otherwise` arm has no `when` or `then`", None);
                }
                if i + 1 != arms.len() {
                    self.err(arm, &akey, "`otherwise` must be the last arm", None);
                }
                self.block(o, &join(&akey, "otherwise"), task, prog);
                continue;
            }
            let cond = self.req(arm, m, &akey, "when", |c, n, k| c.cond(n, k));
            let at = self.ops.len();
            self.ops.push(Op::End);
            match get(m, "then") {
                Some(t) => self.block(t, &join(&akey, "then"), task, prog),
                None => self.err(arm, &akey, "missing key `then`", None),
            }
            jumps_to_end.push(self.ops.len());
            self.ops.push(Op::End);
            if let Some(cond) = cond {
                self.ops[at] = Op::If { cond, else_pc: self.ops.len() as u32 };
            }
        }
        let end = self.ops.len() as u32;
        for j in jumps_to_end {
            self.ops[j] = Op::Jump { pc: end };
        }
    }

    /// `scanned`, `!scanned`, `tier == pro`, `pages > 50`.
    fn cond(&mut self, n: &Node, key: &str) -> Option<u32> {
        let text = match &n.kind {
            Kind::Str(s) => s.trim().to_owned(),
            _ => {
                self.err(
                    n,
                    key,
                    format!("expected a condition like `scanned` or `tier == pro`, found {}", n.type_name()),
                    None,
                );
                return None;
            }
        };
        let ops = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        let found = ops
            .iter()
            .filter_map(|(s, op)| text.find(s).map(|p| (p, *s, *op)))
            .min_by_key(|(p, s, _)| (*p, std::cmp::Reverse(s.len())));
        let cond = match found {
            None => {
                let (negate, name) = match text.strip_prefix('!').or_else(|| text.strip_prefix("not ")) {
                    Some(r) => (true, r.trim()),
                    None => (false, text.as_str()),
                };
                let attr = self.attr(n, key, name)?;
                if let Some(first) = self.inputs[attr as usize].categories.first() {
                    let hint = format!("e.g. `{name} == {first}`");
                    self.err(n, key, format!("`{name}` is a choice of names: compare it with == or !="), Some(hint));
                    return None;
                }
                Cond { attr, cmp: None, negate }
            }
            Some((p, s, op)) => {
                let name = text[..p].trim();
                let rhs = text[p + s.len()..].trim();
                let attr = self.attr(n, key, name)?;
                let a = &self.inputs[attr as usize];
                let value = if a.categories.is_empty() {
                    match rhs.parse::<f64>() {
                        Ok(x) if x.is_finite() => x,
                        _ => match rhs {
                            "true" => 1.0,
                            "false" => 0.0,
                            _ => {
                                self.err(
                                    n,
                                    key,
                                    format!("`{name}` is a number: compare it with a number, found `{rhs}`"),
                                    None,
                                );
                                return None;
                            }
                        },
                    }
                } else {
                    match a.categories.iter().position(|c| c == rhs) {
                        Some(i) if matches!(op, CmpOp::Eq | CmpOp::Ne) => i as f64,
                        Some(_) => {
                            self.err(n, key, format!("`{name}` is a choice of names: compare it with == or !="), None);
                            return None;
                        }
                        None => {
                            let cats: Vec<&str> = a.categories.iter().map(|s| s.as_str()).collect();
                            let hint = match closest(rhs, &cats) {
                                Some(c) => {
                                    format!("did you mean `{c}`? values: {}", cats.join(", "))
                                }
                                None => format!("values: {}", cats.join(", ")),
                            };
                            self.err(n, key, format!("`{rhs}` is not a value of `{name}`"), Some(hint));
                            return None;
                        }
                    }
                };
                Cond { attr, cmp: Some((op, value)), negate: false }
            }
        };
        self.conds.push(cond);
        Some((self.conds.len() - 1) as u32)
    }

    /// `concurrencyKey: tenant`: a choice of names, or whole numbers 0..n (at most 100,000).
    fn concurrency_key(&mut self, v: &Node, key: &str) -> Option<(AttrId, u32)> {
        let name = self.string(v, key)?;
        let a = self.attr(v, key, &name)?;
        let attr = &self.inputs[a as usize];
        let n = if attr.categories.is_empty() {
            let (lo, hi) = (attr.dist.lower_bound(), attr.dist.upper_bound());
            if lo < 0.0
                || !hi.is_finite()
                || hi >= 100_000.0
                || !attr.dist.round && !matches!(attr.dist.shape, Shape::UniformInt { .. } | Shape::Fixed(_))
            {
                self.err(
                    v,
                    key,
                    format!("`{name}` must take whole values from 0 to 99,999 to be a concurrency key"),
                    Some("use a choice of names, or add round: true and max: to the attribute".into()),
                );
                return None;
            }
            hi as u32 + 1
        } else {
            attr.categories.len() as u32
        };
        Some((a, n))
    }

    fn load(&mut self, n: &Node) -> Option<Load> {
        // The environment keys are read with the environment (`environment.rs`).
        const LOAD_KEYS: &[&str] = &[
            "arrivals",
            "duration",
            "environmentConcurrency",
            "warmup",
            "burstFactor",
            "schedule",
            "bursts",
            "keepWarm",
            "coldStart",
            "maxQueueSize",
            "batchTokens",
            "dequeueInterval",
            "dequeueIdleInterval",
        ];
        let m = self.fields(n, "load", LOAD_KEYS)?;
        let arrivals = match get(m, "arrivals") {
            Some(v) => {
                let k = "load.arrivals";
                let am = self.fields(v, k, &["poisson", "constant"]);
                am.and_then(|am| {
                    let Some((kind, rv)) = am.first() else {
                        self.err(v, k, "no arrival process given", Some("give one of poisson, constant".into()));
                        return None;
                    };
                    if am.len() > 1 {
                        self.err(v, k, "give exactly one of poisson, constant", None);
                    }
                    let kk = join(k, kind.as_str().unwrap_or_default());
                    let pm = self.fields(rv, &kk, &["perMinute"])?;
                    let rate = self.req(rv, pm, &kk, "perMinute", |c, n, k| c.number(n, k, Unit::Plain))?;
                    Some((rate, kind.as_str() == Some("poisson")))
                })
            }
            // A load of bursts only: no steady stream.
            None if get(m, "bursts").is_some() => Some((0.0, true)),
            None => {
                self.err(
                    n,
                    "load.arrivals",
                    "missing key `arrivals`",
                    Some("give arrivals: { poisson: { perMinute: 30 } }, or bursts: [ { at: 0s, runs: 100 } ]".into()),
                );
                None
            }
        };
        let duration_s = self.req(n, m, "load", "duration", |c, n, k| c.number(n, k, Unit::Seconds));
        let warmup_s = match get(m, "warmup") {
            Some(v) => self.number(v, "load.warmup", Unit::Seconds),
            None => Some(0.0),
        };
        let mut schedule = Vec::new();
        if let Some(v) = get(m, "schedule") {
            for (i, e) in v.as_seq().unwrap_or_default().iter().enumerate() {
                let k = format!("load.schedule[{i}]");
                let Some(em) = self.fields(e, &k, &["until", "perMinute"]) else { continue };
                let until = self.req(e, em, &k, "until", |c, n, k| c.number(n, k, Unit::Seconds));
                let rate = self.req(e, em, &k, "perMinute", |c, n, k| c.number(n, k, Unit::Plain));
                if let (Some(u), Some(r)) = (until, rate) {
                    if schedule.last().is_some_and(|(p, _): &(f64, f64)| *p >= u) {
                        self.err(e, &join(&k, "until"), "schedule entries must be in increasing `until` order", None);
                    }
                    schedule.push((u, r));
                }
            }
            if v.as_seq().is_none() {
                self.err(v, "load.schedule", "expected a list of { until, perMinute }", None);
            }
        }
        let mut bursts = Vec::new();
        if let Some(v) = get(m, "bursts") {
            for (i, e) in v.as_seq().unwrap_or_default().iter().enumerate() {
                let k = format!("load.bursts[{i}]");
                let Some(em) = self.fields(e, &k, &["at", "runs"]) else { continue };
                let at = self.req(e, em, &k, "at", |c, n, k| c.number(n, k, Unit::Seconds));
                let runs = self.req(e, em, &k, "runs", |c, n, k| c.integer(n, k, 1));
                if let (Some(at_s), Some(runs)) = (at, runs) {
                    if runs > 1_000_000 {
                        self.err(e, &join(&k, "runs"), "at most 1,000,000 runs in a burst", None);
                    }
                    bursts.push(crate::model::Burst { at_s, runs });
                }
            }
            if v.as_seq().is_none() {
                self.err(v, "load.bursts", "expected a list of { at, runs }", None);
            }
        }
        let ((per_minute, poisson), duration_s, warmup_s) = (arrivals?, duration_s?, warmup_s?);
        if warmup_s >= duration_s {
            self.err(
                get(m, "warmup").unwrap_or(n),
                "load.warmup",
                "the warm-up must end before the load's duration",
                None,
            );
            return None;
        }
        Some(Load { per_minute, poisson, schedule, bursts, duration_s, warmup_s })
    }

    fn slos(&mut self, n: &Node) -> Vec<crate::slo::Slo> {
        let Some(s) = n.as_seq() else {
            self.err(n, "slo", format!("expected a list of expressions, found {}", n.type_name()), None);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, e) in s.iter().enumerate() {
            let key = format!("slo[{i}]");
            let Some(text) = self.string(e, &key) else {
                continue;
            };
            match crate::slo::parse(&text) {
                Ok(slo) => out.push(slo),
                Err(m) => self.err(
                    e,
                    &key,
                    m,
                    Some("e.g. p95(duration) < 5m, mean(costUsd) < 0.01, successRate > 0.99".into()),
                ),
            }
        }
        out
    }

    /// triggerAndWait cycles (a run that can never finish) and tasks nothing triggers.
    fn check_graph(&mut self, entry: TaskId, task_map: &[(Node, Node)]) {
        let n = self.task_names.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, e) in self.edges.iter().enumerate() {
            if e.waits {
                adj[e.from as usize].push(i);
            }
        }
        // Depth-first search with colours; a grey target closes a cycle.
        let mut colour = vec![0u8; n];
        let mut reported = false;
        for start in 0..n {
            if colour[start] != 0 || reported {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            colour[start] = 1;
            while let Some(&mut (t, ref mut next)) = stack.last_mut() {
                if let Some(&ei) = adj[t].get(*next) {
                    *next += 1;
                    let to = self.edges[ei].to as usize;
                    if colour[to] == 1 {
                        let path: Vec<&str> = stack
                            .iter()
                            .skip_while(|(x, _)| *x != to)
                            .map(|(x, _)| self.task_names[*x].as_str())
                            .collect();
                        let e = self.edges[ei].clone();
                        let cycle = format!("{} -> {}", path.join(" -> "), self.task_names[to]);
                        self.push(
                            Severity::Error,
                            e.line,
                            e.column,
                            &e.key,
                            format!("triggerAndWait cycle: {cycle}; the run could never finish"),
                            Some("break the cycle: a run cannot wait for itself".into()),
                        );
                        reported = true;
                        break;
                    } else if colour[to] == 0 {
                        colour[to] = 1;
                        stack.push((to, 0));
                    }
                } else {
                    colour[t] = 2;
                    stack.pop();
                }
            }
        }
        let mut reach = vec![false; n];
        let mut todo = vec![entry as usize];
        reach[entry as usize] = true;
        while let Some(t) = todo.pop() {
            for e in self.edges.iter().filter(|e| e.from as usize == t) {
                if !reach[e.to as usize] {
                    reach[e.to as usize] = true;
                    todo.push(e.to as usize);
                }
            }
        }
        if !reported {
            self.check_recursion();
        }
        // A misspelt step already reported as an error would also leave its target untriggered.
        let has_errors = self.diags.iter().any(|d| d.severity == Severity::Error);
        for (i, (k, _)) in task_map.iter().enumerate() {
            if !reach[i] && !has_errors {
                let name = self.task_names[i].clone();
                self.warn(
                    k,
                    &join("tasks", &name),
                    format!("task `{name}` is never triggered from the entry task"),
                    None,
                );
            }
        }
    }

    /// Recursion through triggers (a cycle of the task graph with a fire-and-forget step; a
    /// cycle of triggerAndWait alone is reported above): an error when the runs of the cycle
    /// can multiply (the number of runs would grow without end), or when every run of the
    /// cycle surely triggers the next one (a workflow run would never end). A chain that ends
    /// by chance (a random count that can be 0, a step that can fail) is simulated, under the
    /// event budget.
    fn check_recursion(&mut self) {
        let n = self.task_names.len();
        let comp = components(n, &self.edges);
        let internal = |e: &Edge| comp[e.from as usize] == comp[e.to as usize] && e.mult > 0.0;
        let mut out = vec![0.0f64; n];
        for e in self.edges.iter().filter(|e| internal(e)) {
            out[e.from as usize] += e.mult;
        }
        let mut done = vec![false; n];
        let mut found = Vec::new();
        for (i, e) in self.edges.iter().enumerate() {
            let c = comp[e.from as usize];
            if !internal(e) || done[c] {
                continue;
            }
            let members: Vec<usize> = (0..n).filter(|&t| comp[t] == c).collect();
            // The task whose runs trigger the most runs of the cycle, and its largest step.
            let Some(&worst) = members.iter().max_by(|a, b| out[**a].total_cmp(&out[**b])) else { continue };
            if out[worst] > 1.0 {
                let j = self
                    .edges
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.from as usize == worst && internal(f))
                    .rev() // the first of equal ones
                    .max_by(|a, b| a.1.mult.total_cmp(&b.1.mult))
                    .map_or(i, |(j, _)| j);
                done[c] = true;
                found.push((j, out[worst], false));
            } else if self.edges.iter().filter(|f| internal(f) && comp[f.from as usize] == c).all(|f| f.sure) {
                done[c] = true;
                found.push((i, 1.0, true));
            }
        }
        for (j, mult, never_ends) in found {
            let e = self.edges[j].clone();
            let cycle = self.cycle_through(&e, &comp);
            let from = self.task_names[e.from as usize].clone();
            let (message, help) = if never_ends {
                (
                    format!(
                        "trigger cycle {cycle}: every run of the cycle triggers the next one, so a workflow run never ends"
                    ),
                    "end the chain by chance, e.g. `batchTrigger: { task, count: { bernoulli: 0.8 } }`, or break the cycle",
                )
            } else {
                let shown = if mult.is_finite() { show_count(mult) } else { "an unbounded number of".into() };
                (
                    format!(
                        "trigger cycle {cycle}: a run of `{from}` can trigger {shown} runs of the cycle here, so their number can grow without end"
                    ),
                    "let each run of the cycle trigger at most one next run (a count of at most 1, e.g. { bernoulli: 0.8 }), or break the cycle",
                )
            };
            self.push(Severity::Error, e.line, e.column, &e.key, message, Some(help.into()));
        }
    }

    /// `a -> b -> a`: the edge `e` and a shortest way back within its component.
    fn cycle_through(&self, e: &Edge, comp: &[usize]) -> String {
        let n = self.task_names.len();
        let (from, to) = (e.from as usize, e.to as usize);
        let mut prev = vec![usize::MAX; n];
        let mut queue = std::collections::VecDeque::from([to]);
        prev[to] = to;
        while let Some(t) = queue.pop_front() {
            if t == from {
                break;
            }
            for f in self.edges.iter().filter(|f| f.from as usize == t && comp[f.to as usize] == comp[from]) {
                if prev[f.to as usize] == usize::MAX {
                    prev[f.to as usize] = t;
                    queue.push_back(f.to as usize);
                }
            }
        }
        let mut path = vec![from];
        let mut t = from;
        while t != to && prev[t] != usize::MAX && path.len() <= n {
            t = prev[t];
            path.push(t);
        }
        path.reverse();
        let mut names: Vec<&str> = std::iter::once(from).chain(path).map(|t| self.task_names[t].as_str()).collect();
        names.dedup();
        if names.len() == 1 {
            names.push(names[0]);
        }
        names.join(" -> ")
    }

    /// Counts whose work per workflow run can pass `limits.maxEventsPerRun`: a located error
    /// at load time instead of a run stopped by the budget (or a long stall first: the items
    /// of a `parallel`, the units of a `perUnit` duration and the runs of a batch are set up
    /// in one go). Each item, unit, check or task run is counted as one event (a lower bound),
    /// with every count at its once-in-a-billion value and every task at its most runs per
    /// workflow run (outside cycles).
    fn check_limits(&mut self, entry: TaskId) {
        if self.diags.iter().any(|d| d.severity == Severity::Error) {
            return;
        }
        let n = self.task_names.len();
        let comp = components(n, &self.edges);
        // Most runs of each task per workflow run, components in topological order (Tarjan's
        // numbering is reverse topological: a component's successors have lower numbers).
        let order = {
            let mut o: Vec<usize> = (0..n).collect();
            o.sort_by_key(|&t| std::cmp::Reverse(comp[t]));
            o
        };
        let mut runs = vec![0.0f64; n];
        runs[entry as usize] = 1.0;
        for &t in &order {
            for e in self.edges.iter().filter(|e| e.to as usize == t && comp[e.from as usize] != comp[t]) {
                runs[t] += runs[e.from as usize] * e.mult;
            }
        }
        let budget = self.limits.max_events_per_run as f64;
        let mut errors = Vec::new();
        for r in &self.repeats {
            let runs_t = runs[r.task as usize];
            let total = runs_t * r.mult * r.reach * r.per;
            if total > budget && runs_t > 0.0 {
                let task = &self.task_names[r.task as usize];
                let mut within = Vec::new();
                if r.mult > 1.0 {
                    within.push(format!("{} parallel items", show_count(r.mult)));
                }
                if runs_t > 1.0 {
                    within.push(format!("{} runs of `{task}`", show_count(runs_t)));
                }
                let each =
                    if within.is_empty() { String::new() } else { format!(" in each of {}", within.join(" x ")) };
                errors.push((
                    r.line,
                    r.column,
                    r.key.clone(),
                    format!(
                        "task `{task}`: {}{each}, so a workflow run can take {} events, over limits.maxEventsPerRun ({}): the simulation would stop",
                        r.what.replace("{}", &show_count(r.reach)),
                        show_count(total),
                        show_count(budget)
                    ),
                ));
            }
        }
        for (line, column, key, message) in errors {
            self.push(
                Severity::Error,
                line,
                column,
                &key,
                message,
                Some(
                    "lower the count, or bound it with `max:` (an unbounded distribution is taken at the value one draw in a billion exceeds); raise limits.maxEventsPerRun if it is meant"
                        .into(),
                ),
            );
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

fn get<'n>(m: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    m.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() { b.to_owned() } else { format!("{a}.{b}") }
}

fn numeric_key(k: &Node) -> Option<f64> {
    k.as_f64().or_else(|| k.as_str().and_then(|s| s.parse::<f64>().ok())).filter(|v| v.is_finite())
}

fn scalar_text(k: &Node) -> String {
    match &k.kind {
        Kind::Str(s) => s.clone(),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => f.to_string(),
        Kind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Replaces (or adds, as the last key of a mapping) the value at a dotted key path.
pub fn set_path(root: &mut Node, path: &str, value: &str) -> Result<(), String> {
    let new = yaml::parse(value).map_err(|e| format!("the value `{value}` is not YAML: {}", e.message))?;
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

/// The value a draw of `d` exceeds at most once in a billion draws: its upper bound when it
/// has one, else the once-in-a-billion quantile of its tail (normal, lognormal, exponential).
fn reach(d: &Dist) -> f64 {
    let b = upper(d);
    if b.is_finite() {
        return b;
    }
    let raw = match d.shape {
        Shape::Normal { mean, sd } => mean + Z_1E9 * sd,
        Shape::LogNormal { mu, sigma } => (mu + Z_1E9 * sigma).exp(),
        Shape::Exponential { mean } => mean * LN_1E9,
        _ => f64::INFINITY,
    };
    let r = d.max.map_or(raw, |m| raw.min(m)).max(d.min.unwrap_or(0.0));
    if d.round { r.round() } else { r }
}

/// Largest value of a draw, `min` included: a `min` above the shape's range lifts every draw
/// to it (`Dist::upper_bound` leaves `min` out).
fn upper(d: &Dist) -> f64 {
    let b = d.upper_bound();
    match d.min {
        Some(m) if m > b => {
            if d.round {
                m.round()
            } else {
                m
            }
        }
        _ => b,
    }
}

/// Smallest value of a draw, `max` included (`Dist::lower_bound` leaves `max` out).
fn lower(d: &Dist) -> f64 {
    let b = d.lower_bound();
    match d.max {
        Some(m) if m < b => {
            if d.round {
                m.round()
            } else {
                m
            }
        }
        _ => b,
    }
}

/// Strongly connected components of the task graph (Tarjan), numbered in reverse
/// topological order. Edges that trigger no run (count 0) are left out.
fn components(n: usize, edges: &[Edge]) -> Vec<usize> {
    let mut adj = vec![Vec::new(); n];
    for e in edges.iter().filter(|e| e.mult > 0.0) {
        adj[e.from as usize].push(e.to as usize);
    }
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut comp, mut stack, mut next, mut ncomp) = (vec![usize::MAX; n], Vec::new(), 0, 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // Iterative DFS: (task, next neighbour to visit).
        let mut dfs = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on[root] = true;
        while let Some(&mut (v, ref mut i)) = dfs.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on[w] = true;
                    dfs.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                dfs.pop();
                if let Some(&(u, _)) = dfs.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on[w] = false;
                        comp[w] = ncomp;
                        if w == v {
                            break;
                        }
                    }
                    ncomp += 1;
                }
            }
        }
    }
    comp
}

/// 5000000 -> "5,000,000"; huge values in scientific notation.
pub(crate) fn show_count(x: f64) -> String {
    if !x.is_finite() {
        return "unboundedly many".into();
    }
    if x >= 1e15 {
        return format!("{x:.1e}");
    }
    let digits = format!("{}", x.round() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
