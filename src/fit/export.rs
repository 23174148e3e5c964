//! Typed runs from the rows of TRQL `runs` exports: the columns wfsim reads, their values
//! checked (a bad one is an error at its file, line and column), several files merged (exports
//! paged by time window may overlap: a run seen twice is kept once).

use super::table::{Cell, Table, Value};
use crate::error::Diagnostic;

/// How a run ended, in the export's terms (`status`, upper case or the query's friendly names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Completed,
    Failed,
    Crashed,
    TimedOut,
    Expired,
    Canceled,
    SystemFailure,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Completed => "COMPLETED",
            RunStatus::Failed => "FAILED",
            RunStatus::Crashed => "CRASHED",
            RunStatus::TimedOut => "TIMED_OUT",
            RunStatus::Expired => "EXPIRED",
            RunStatus::Canceled => "CANCELED",
            RunStatus::SystemFailure => "SYSTEM_FAILURE",
        }
    }
}

/// One run of one task, as exported. Times are seconds (Unix time for the timestamps).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: String,
    pub task: String,
    pub status: RunStatus,
    pub queue: Option<String>,
    pub machine: Option<String>,
    pub attempts: u32,
    pub batch_id: Option<String>,
    pub root_id: Option<String>,
    pub parent_id: Option<String>,
    pub depth: Option<u32>,
    pub triggered_at: Option<f64>,
    pub queued_at: Option<f64>,
    pub dequeued_at: Option<f64>,
    pub executed_at: Option<f64>,
    pub completed_at: Option<f64>,
    pub queued_s: Option<f64>,
    pub execution_s: Option<f64>,
    pub total_s: Option<f64>,
    pub usage_s: Option<f64>,
    pub compute_cost: Option<f64>,
    pub invocation_cost: Option<f64>,
    pub total_cost: Option<f64>,
    pub warm: Option<bool>,
    pub max_duration_s: Option<f64>,
    pub error: Option<String>,
    pub idempotency_key: Option<String>,
    pub is_test: bool,
    /// Where the run's row is: file and line.
    pub file: String,
    pub line: u32,
}

impl Run {
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }
    /// The run died of running out of memory (its error names it).
    pub fn out_of_memory(&self) -> bool {
        self.error.as_deref().is_some_and(|e| e.contains("OUT_OF_MEMORY") || e.contains("out of memory"))
    }
}

/// Columns without which nothing can be fitted.
pub const REQUIRED: [&str; 4] = ["run_id", "task_identifier", "status", "usage_duration"];

/// The columns the fit reads; `REQUIRED` first.
pub const READ: [&str; 28] = [
    "run_id",
    "task_identifier",
    "status",
    "usage_duration",
    "queue",
    "machine",
    "attempt_count",
    "batch_id",
    "root_run_id",
    "parent_run_id",
    "depth",
    "triggered_at",
    "queued_at",
    "dequeued_at",
    "executed_at",
    "completed_at",
    "queued_duration",
    "execution_duration",
    "total_duration",
    "compute_cost",
    "invocation_cost",
    "total_cost",
    "is_warm_start",
    "max_duration",
    "error",
    "is_test",
    "is_root_run",
    "idempotency_key",
];

/// The TRQL query that exports them (the docs show it with paging).
pub fn query() -> String {
    format!("SELECT {} FROM runs", READ.join(", "))
}

/// All runs of all files, and what was left out.
#[derive(Debug, Default)]
pub struct Export {
    pub runs: Vec<Run>,
    /// Runs still in flight (QUEUED, EXECUTING, WAITING, ...): nothing to fit yet.
    pub in_flight: usize,
    /// `is_test` runs left out (unless asked for).
    pub tests_left_out: usize,
    /// Runs seen in more than one file (overlapping pages), kept once.
    pub duplicates: usize,
    /// Columns no file had (the fits that need them are left out, and say so).
    pub missing: Vec<&'static str>,
    pub files: Vec<String>,
}

impl Export {
    pub fn has(&self, column: &str) -> bool {
        !self.missing.contains(&column)
    }
}

/// Reads and merges the files. `include_tests`: keep `is_test` runs.
pub fn read_files(paths: &[std::path::PathBuf], include_tests: bool) -> Result<Export, Vec<Diagnostic>> {
    let mut ex = Export::default();
    let mut seen = std::collections::HashSet::new();
    let mut errors = Vec::new();
    let mut present = [false; READ.len()];
    for p in paths {
        let name = p.display().to_string();
        let src = match std::fs::read(p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                errors.push(Diagnostic {
                    severity: crate::error::Severity::Error,
                    file: name,
                    line: 1,
                    column: 1,
                    key: String::new(),
                    message: format!("cannot read the file: {e}"),
                    help: None,
                    source_line: None,
                });
                continue;
            }
        };
        match super::table::read(&name, &src).and_then(|t| read_table(&t, include_tests, &mut present)) {
            Ok((runs, counts)) => {
                ex.in_flight += counts.0;
                ex.tests_left_out += counts.1;
                for r in runs {
                    if seen.insert(r.id.clone()) {
                        ex.runs.push(r);
                    } else {
                        ex.duplicates += 1;
                    }
                }
            }
            Err(d) => errors.push(*d),
        }
        ex.files.push(name);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    ex.missing = READ.iter().zip(present).filter(|(_, p)| !p).map(|(c, _)| *c).collect();
    Ok(ex)
}

/// The runs of one table, and (runs in flight, test runs left out).
pub type TableRuns = (Vec<Run>, (usize, usize));

/// The runs of one table, and (in flight, tests left out).
pub fn read_table(
    t: &Table,
    include_tests: bool,
    present: &mut [bool; READ.len()],
) -> Result<TableRuns, Box<Diagnostic>> {
    for c in REQUIRED {
        if t.column(c).is_none() {
            return Err(t.error(
                t.header_at,
                c,
                format!("the export has no `{c}` column"),
                Some(format!(
                    "export the runs with the query `{}` (columns found: {})",
                    query(),
                    if t.columns.is_empty() { "none".into() } else { t.columns.join(", ") }
                )),
            ));
        }
    }
    let idx: Vec<Option<usize>> = READ.iter().map(|c| t.column(c)).collect();
    for (p, i) in present.iter_mut().zip(&idx) {
        *p |= i.is_some();
    }
    let col = |name: &str| READ.iter().position(|c| *c == name).and_then(|i| idx[i]);
    let mut runs = Vec::with_capacity(t.rows.len());
    let (mut in_flight, mut tests) = (0, 0);
    for row in &t.rows {
        let get = |name: &'static str| col(name).map(|i| (name, &row[i]));
        let r = RowReader { t };
        let status = match r.status(get("status").expect("required"))? {
            Some(s) => s,
            None => {
                in_flight += 1;
                continue;
            }
        };
        let is_test = get("is_test").map(|c| r.flag(c)).transpose()?.flatten().unwrap_or(false);
        if is_test && !include_tests {
            tests += 1;
            continue;
        }
        let id = r.text(get("run_id").expect("required")).ok_or_else(|| {
            let c = &row[col("run_id").expect("required")];
            t.error((c.line, c.column), "run_id", "a run without a `run_id`".into(), None)
        })?;
        let task = r.text(get("task_identifier").expect("required")).ok_or_else(|| {
            let c = &row[col("task_identifier").expect("required")];
            t.error((c.line, c.column), "task_identifier", "a run without a `task_identifier`".into(), None)
        })?;
        let ms = |name: &'static str| -> Result<Option<f64>, Box<Diagnostic>> {
            Ok(get(name).map(|c| r.number(c, "milliseconds, e.g. 1234")).transpose()?.flatten().map(|v| v / 1000.0))
        };
        let usd = |name: &'static str| -> Result<Option<f64>, Box<Diagnostic>> {
            get(name).map(|c| r.number(c, "dollars, e.g. 0.000123")).transpose().map(Option::flatten)
        };
        let ts = |name: &'static str| -> Result<Option<f64>, Box<Diagnostic>> {
            get(name).map(|c| r.timestamp(c)).transpose().map(Option::flatten)
        };
        let txt = |name: &'static str| get(name).and_then(|c| r.text(c));
        let attempts = get("attempt_count").map(|c| r.count(c)).transpose()?.flatten().unwrap_or(1);
        let depth = get("depth").map(|c| r.count(c)).transpose()?.flatten();
        let mut parent_id = txt("parent_run_id");
        // A root run may carry its own id as its root and no parent; `is_root_run` settles it.
        if get("is_root_run").map(|c| r.flag(c)).transpose()?.flatten() == Some(true) {
            parent_id = None;
        }
        runs.push(Run {
            id,
            task,
            status,
            queue: txt("queue"),
            machine: txt("machine"),
            attempts: attempts.max(1),
            batch_id: txt("batch_id"),
            root_id: txt("root_run_id"),
            parent_id,
            depth,
            triggered_at: ts("triggered_at")?,
            queued_at: ts("queued_at")?,
            dequeued_at: ts("dequeued_at")?,
            executed_at: ts("executed_at")?,
            completed_at: ts("completed_at")?,
            queued_s: ms("queued_duration")?,
            execution_s: ms("execution_duration")?,
            total_s: ms("total_duration")?,
            usage_s: ms("usage_duration")?,
            compute_cost: usd("compute_cost")?,
            invocation_cost: usd("invocation_cost")?,
            total_cost: usd("total_cost")?,
            warm: get("is_warm_start").map(|c| r.flag(c)).transpose()?.flatten(),
            max_duration_s: get("max_duration").map(|c| r.number(c, "seconds, e.g. 300")).transpose()?.flatten(),
            error: txt("error").filter(|e| e != "{}" && e != "null"),
            idempotency_key: txt("idempotency_key"),
            is_test,
            file: t.file.clone(),
            line: row.first().map_or(0, |c| c.line),
        });
    }
    Ok((runs, (in_flight, tests)))
}

struct RowReader<'a> {
    t: &'a Table,
}

impl RowReader<'_> {
    fn bad(&self, (name, c): (&str, &Cell), what: &str, help: &str) -> Box<Diagnostic> {
        let shown = match &c.value {
            Value::Text(s) => format!("`{s}`"),
            Value::Num(v) => format!("{v}"),
            Value::Bool(b) => format!("{b}"),
            Value::Null => "empty".into(),
        };
        self.t.error((c.line, c.column), name, format!("{name}: {shown} is not {what}"), Some(help.to_owned()))
    }

    fn text(&self, (_, c): (&str, &Cell)) -> Option<String> {
        match &c.value {
            Value::Null => None,
            Value::Text(s) if s.trim().is_empty() => None,
            Value::Text(s) => Some(s.trim().to_owned()),
            Value::Num(v) => Some(format!("{v}")),
            Value::Bool(b) => Some(format!("{b}")),
        }
    }

    fn number(&self, (name, c): (&str, &Cell), help: &str) -> Result<Option<f64>, Box<Diagnostic>> {
        let v = match &c.value {
            Value::Null => return Ok(None),
            Value::Num(v) => *v,
            Value::Text(s) if s.trim().is_empty() => return Ok(None),
            Value::Text(s) => s.trim().parse::<f64>().map_err(|_| self.bad((name, c), "a number", help))?,
            Value::Bool(_) => return Err(self.bad((name, c), "a number", help)),
        };
        if !v.is_finite() || v < 0.0 {
            return Err(self.bad((name, c), "a number of at least 0", help));
        }
        Ok(Some(v))
    }

    fn count(&self, (name, c): (&str, &Cell)) -> Result<Option<u32>, Box<Diagnostic>> {
        match self.number((name, c), "a whole number, e.g. 2")? {
            None => Ok(None),
            Some(v) if v.fract() == 0.0 && v <= u32::MAX as f64 => Ok(Some(v as u32)),
            Some(_) => Err(self.bad((name, c), "a whole number", "a whole number, e.g. 2")),
        }
    }

    fn flag(&self, (name, c): (&str, &Cell)) -> Result<Option<bool>, Box<Diagnostic>> {
        let help = "0 or 1 (or true / false)";
        match &c.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::Num(v) if *v == 0.0 || *v == 1.0 => Ok(Some(*v == 1.0)),
            Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "1" | "true" => Ok(Some(true)),
                "0" | "false" => Ok(Some(false)),
                _ => Err(self.bad((name, c), "a flag", help)),
            },
            Value::Num(_) => Err(self.bad((name, c), "a flag", help)),
        }
    }

    fn timestamp(&self, (name, c): (&str, &Cell)) -> Result<Option<f64>, Box<Diagnostic>> {
        let help = "an ISO 8601 time, e.g. 2026-11-20T14:03:22.123Z (or Unix milliseconds)";
        match &c.value {
            Value::Null => Ok(None),
            Value::Num(v) => Ok(Some(v / 1000.0)),
            Value::Text(s) if s.trim().is_empty() => Ok(None),
            Value::Text(s) => match s.trim().parse::<f64>() {
                Ok(v) => Ok(Some(v / 1000.0)),
                Err(_) => parse_time(s.trim()).map(Some).ok_or_else(|| self.bad((name, c), "a time", help)),
            },
            Value::Bool(_) => Err(self.bad((name, c), "a time", help)),
        }
    }

    /// A final status, `None` for a run still in flight.
    fn status(&self, (name, c): (&str, &Cell)) -> Result<Option<RunStatus>, Box<Diagnostic>> {
        let s = self.text((name, c)).unwrap_or_default().to_ascii_uppercase().replace([' ', '-'], "_");
        Ok(Some(match s.as_str() {
            "COMPLETED" | "COMPLETED_SUCCESSFULLY" => RunStatus::Completed,
            "FAILED" | "COMPLETED_WITH_ERRORS" => RunStatus::Failed,
            "CRASHED" => RunStatus::Crashed,
            "TIMED_OUT" | "TIMEDOUT" => RunStatus::TimedOut,
            "EXPIRED" => RunStatus::Expired,
            "CANCELED" | "CANCELLED" | "INTERRUPTED" => RunStatus::Canceled,
            "SYSTEM_FAILURE" => RunStatus::SystemFailure,
            "DELAYED" | "QUEUED" | "PENDING" | "PENDING_VERSION" | "DEQUEUED" | "EXECUTING" | "WAITING"
            | "REATTEMPTING" | "PAUSED" | "WAITING_FOR_DEPLOY" | "WAITING_TO_RESUME" => return Ok(None),
            _ => {
                return Err(self.bad(
                    (name, c),
                    "a run status",
                    "Completed, Failed, Crashed, Timed out, Expired, Canceled, System failure (or a status in flight: Queued, Executing, Waiting, ...)",
                ));
            }
        }))
    }
}

/// Unix seconds of `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]` (no zone: UTC, as the query
/// gives it).
pub fn parse_time(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) { t.parse().ok() } else { None }
    };
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = format!("0.{}", &s[start..i]).parse().ok()?;
    }
    let offset = match &s[i..] {
        "" | "Z" | "z" => 0,
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 6 && &z[3..4] == ":" => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86400 + h * 3600 + mi * 60 + sec - offset) as f64 + frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The ISO 8601 form of Unix seconds, to the millisecond (for exports wfsim writes).
pub fn format_time(t: f64) -> String {
    let ms = (t * 1000.0).round() as i64;
    let (secs, milli) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil from days (the inverse of days_from_civil).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_time("2000-03-01 00:00:01"), Some(951_868_801.0));
        assert_eq!(parse_time("2026-11-20T14:03:22.250+01:00"), Some(1_795_183_402.25 - 3600.0));
        assert_eq!(parse_time("2026-11-20"), None);
        assert_eq!(parse_time("2026-13-20T00:00:00Z"), None);
        for t in [0.0, 951_868_801.5, 1_795_183_402.25, 4_102_444_800.0] {
            assert_eq!(parse_time(&format_time(t)), Some(t));
        }
    }
}
