//! The draft as scenario YAML: every value the code does not fix is a placeholder with a
//! `# TODO` comment naming the source line it stands for.

use super::durations::{Fitted, WorkFill, cond_attr};
use super::parse::Loc;
use super::steps::{Count, Step, Trigger, drafted};
use super::yaml_text::{flow, fmt_num, scalar};
use super::{Draft, DraftTask, Note, NoteKind};
use std::fmt::Write as _;

/// Placeholders: what a value is when the code does not tell.
const WORK_PLACEHOLDER: &str = "1s";
const COUNT_PLACEHOLDER: f64 = 3.0;
const WAIT_PLACEHOLDER: &str = "1m";
const ABORT_PLACEHOLDER: f64 = 0.01;
const POLL_SUCCESS_PLACEHOLDER: f64 = 0.5;
const POLL_CHECKS_PLACEHOLDER: f64 = 10.0;

struct W<'a> {
    out: String,
    files: &'a [String],
    fitted: Option<&'a Fitted>,
    inputs: Vec<(String, String, String)>,
    /// Per task being written: fills of its work steps, and the next ones by kind.
    works: Vec<Option<WorkFill>>,
    next_work: usize,
    next_parallel: usize,
    next_branch: usize,
    next_poll: usize,
    task: String,
}

impl W<'_> {
    fn at(&self, file: usize, loc: Loc) -> String {
        format!("{}:{}", self.files.get(file).map(String::as_str).unwrap_or("?"), loc.line)
    }

    fn line(&mut self, indent: usize, text: &str, comment: Option<String>) {
        let _ = write!(self.out, "{:indent$}{text}", "");
        if let Some(c) = comment {
            let _ = write!(self.out, "  # {c}");
        }
        self.out.push('\n');
    }

    fn fitted_note(&self) -> String {
        format!("from {}", self.fitted.map(|f| f.file.as_str()).unwrap_or("?"))
    }

    fn input(&mut self, name: String, dist: String, comment: String) -> String {
        let mut n = name.clone();
        let mut k = 2;
        while self.inputs.iter().any(|(x, _, _)| *x == n) {
            n = format!("{name}_{k}");
            k += 1;
        }
        self.inputs.push((n.clone(), dist, comment));
        n
    }

    fn steps(&mut self, file: usize, steps: &[Step], indent: usize) {
        for s in steps {
            self.step(file, s, indent);
        }
    }

    fn step(&mut self, file: usize, s: &Step, ind: usize) {
        match s {
            Step::Work { name, loc, retry } => {
                let fill = self.works.get(self.next_work).cloned().flatten();
                self.next_work += 1;
                let own_retry = retry.as_ref().map(|r| format!(", retry: {}", retry_text(r))).unwrap_or_default();
                match fill {
                    Some(WorkFill::Step(node)) => {
                        let mut node = node;
                        if let crate::scenario::yaml::Kind::Map(m) = &mut node.kind {
                            m.retain(|(k, _)| {
                                k.as_str() != Some("name") && !(retry.is_some() && k.as_str() == Some("retry"))
                            });
                        }
                        let rest = flow(&node);
                        let rest = rest.strip_prefix("{ ").and_then(|r| r.strip_suffix(" }")).unwrap_or("");
                        let body = if rest.is_empty() || rest == "{}" {
                            format!("{{ name: {}{own_retry} }}", scalar(name))
                        } else {
                            format!("{{ name: {}, {rest}{own_retry} }}", scalar(name))
                        };
                        let c = format!("{}; {}", self.fitted_note(), self.at(file, *loc));
                        self.line(ind, &format!("- work: {body}"), Some(c));
                    }
                    Some(WorkFill::Folded(into)) => {
                        let c = format!("{} (its time is in `{into}`); {}", self.fitted_note(), self.at(file, *loc));
                        self.line(
                            ind,
                            &format!("- work: {{ name: {}, duration: 0s{own_retry} }}", scalar(name)),
                            Some(c),
                        );
                    }
                    None => {
                        let c = format!("TODO duration (and failure rate): {}", self.at(file, *loc));
                        self.line(
                            ind,
                            &format!("- work: {{ name: {}, duration: {WORK_PLACEHOLDER}{own_retry} }}", scalar(name)),
                            Some(c),
                        );
                    }
                }
            }
            Step::Trigger(t) => self.trigger(file, t, ind),
            Step::Wait { secs, loc } => match secs {
                Some(s) => self.line(ind, &format!("- wait: {}", secs_text(*s)), Some(self.at(file, *loc))),
                None => {
                    let c = format!("TODO wait: not a literal duration at {}", self.at(file, *loc));
                    self.line(ind, &format!("- wait: {WAIT_PLACEHOLDER}"), Some(c))
                }
            },
            Step::Parallel { count, limit, steps, loc } => {
                let fitted = self.fitted_parallel();
                self.line(ind, "- parallel:", Some(format!("Promise.all at {}", self.at(file, *loc))));
                self.count_line(file, *count, fitted.as_ref().and_then(|f| get(f, "count")), *loc, ind + 4);
                match (limit, fitted.as_ref().and_then(|f| get(f, "limit"))) {
                    (Some(l), _) => self.line(ind + 4, &format!("limit: {}", fmt_num(*l)), Some("p-limit".into())),
                    (None, Some(l)) => {
                        let c = self.fitted_note();
                        self.line(ind + 4, &format!("limit: {}", flow(l)), Some(c))
                    }
                    (None, None) => {}
                }
                self.line(ind + 4, "steps:", None);
                self.steps(file, steps, ind + 6);
            }
            Step::Loop { count, steps, loc } => {
                let fitted = self.fitted_parallel();
                self.line(ind, "- repeat:", Some(format!("a loop: {}", self.at(file, *loc))));
                self.count_line(file, *count, fitted.as_ref().and_then(|f| get(f, "count")), *loc, ind + 4);
                self.line(ind + 4, "steps:", None);
                self.steps(file, steps, ind + 6);
            }
            Step::Poll { every, max_checks, check, loc } => {
                let fitted = self
                    .fitted
                    .and_then(|f| f.tasks.get(&self.task))
                    .and_then(|t| t.polls.get(self.next_poll))
                    .cloned();
                self.next_poll += 1;
                let mut parts = vec![format!("every: {}", secs_text(*every))];
                let mut todo = Vec::new();
                match fitted.as_ref().and_then(|f| get(f, "success")) {
                    Some(s) => parts.push(format!("success: {}", flow(s))),
                    None => {
                        parts.push(format!("success: {}", fmt_num(POLL_SUCCESS_PLACEHOLDER)));
                        todo.push("success");
                    }
                }
                match (max_checks, fitted.as_ref().and_then(|f| get(f, "maxChecks"))) {
                    (Count::Known(n), _) => parts.push(format!("maxChecks: {}", fmt_num(*n))),
                    (Count::Unknown, Some(m)) => parts.push(format!("maxChecks: {}", flow(m))),
                    (Count::Unknown, None) => {
                        parts.push(format!("maxChecks: {}", fmt_num(POLL_CHECKS_PLACEHOLDER)));
                        todo.push("maxChecks");
                    }
                }
                match fitted.as_ref().and_then(|f| get(f, "check")) {
                    Some(c) => parts.push(format!("check: {}", flow(c))),
                    None if *check => {
                        parts.push(format!("check: {WORK_PLACEHOLDER}"));
                        todo.push("check");
                    }
                    None => {}
                }
                let c = if todo.is_empty() {
                    format!("polling loop at {}", self.at(file, *loc))
                } else {
                    format!("TODO {}: polling loop at {}", todo.join(", "), self.at(file, *loc))
                };
                self.line(ind, &format!("- poll: {{ {} }}", parts.join(", ")), Some(c));
            }
            Step::Branch { arms, loc } => self.branch(file, arms, *loc, ind),
            Step::Progress { .. } => {}
            Step::Abort { loc } => {
                let c = format!("TODO probability: AbortTaskRunError at {}", self.at(file, *loc));
                self.line(
                    ind,
                    &format!(
                        "- work: {{ name: AbortTaskRunError, duration: 0s, failure: {{ probability: {}, retryable: false }} }}",
                        fmt_num(ABORT_PLACEHOLDER)
                    ),
                    Some(c),
                );
            }
        }
    }

    fn fitted_parallel(&mut self) -> Option<crate::scenario::yaml::Node> {
        let f = self
            .fitted
            .and_then(|f| f.tasks.get(&self.task))
            .and_then(|t| t.parallels.get(self.next_parallel))
            .cloned();
        self.next_parallel += 1;
        f
    }

    fn count_line(
        &mut self,
        file: usize,
        count: Count,
        fitted: Option<&crate::scenario::yaml::Node>,
        loc: Loc,
        ind: usize,
    ) {
        match (count, fitted) {
            (Count::Known(n), _) => self.line(ind, &format!("count: {}", fmt_num(n)), None),
            (Count::Unknown, Some(f)) => {
                let c = self.fitted_note();
                self.line(ind, &format!("count: {}", flow(f)), Some(c))
            }
            (Count::Unknown, None) => {
                let c = format!("TODO count: {}", self.at(file, loc));
                self.line(ind, &format!("count: {}", fmt_num(COUNT_PLACEHOLDER)), Some(c))
            }
        }
    }

    fn trigger(&mut self, file: usize, t: &Trigger, ind: usize) {
        let mut parts = vec![format!("task: {}", scalar(&t.task))];
        let mut comment = vec![self.at(file, t.loc)];
        if t.kind.batch() {
            match t.count {
                Count::Known(n) => parts.push(format!("count: {}", fmt_num(n))),
                Count::Unknown => {
                    parts.push(format!("count: {}", fmt_num(COUNT_PLACEHOLDER)));
                    comment.insert(0, "TODO count".into());
                }
            }
        }
        if t.opts.idempotency_key {
            parts.push("idempotencyKey: true".into());
        }
        if t.kind.waits() && !t.unwrap {
            parts.push("unwrap: false".into());
            comment.push(if t.kind.batch() {
                "a failed child does not throw here (per-run results)".into()
            } else {
                "no .unwrap(): a failed child does not throw here".into()
            });
        }
        if let Some(n) = t.group_of {
            comment.push(format!("one of {n} task groups of one batch call, drafted one after another"));
        }
        let text = if parts.len() == 1 {
            format!("- {}: {}", t.kind.key(), scalar(&t.task))
        } else {
            format!("- {}: {{ {} }}", t.kind.key(), parts.join(", "))
        };
        self.line(ind, &text, Some(comment.join("; ")));
    }

    fn branch(&mut self, file: usize, arms: &[super::steps::Arm], loc: Loc, ind: usize) {
        let fitted =
            self.fitted.and_then(|f| f.tasks.get(&self.task)).and_then(|t| t.branches.get(self.next_branch)).cloned();
        self.next_branch += 1;
        // Empty `otherwise` arms are left out: no arm matching does nothing.
        let shown: Vec<&super::steps::Arm> = arms.iter().filter(|a| !a.otherwise || drafted(&a.steps)).collect();
        let whens = arms.iter().filter(|a| !a.otherwise).count();
        // Conditions from the fitted scenario when its branch has as many `when` arms.
        let fitted_whens: Option<Vec<String>> = fitted.and_then(|f| {
            let w: Vec<String> = f.into_iter().flatten().collect();
            (w.len() == whens).then_some(w)
        });
        let conds: Vec<String> = match fitted_whens {
            Some(w) => {
                for c in &w {
                    let a = cond_attr(c).to_owned();
                    if let Some(d) = self.fitted.and_then(|f| f.input(&a)).cloned()
                        && !self.inputs.iter().any(|(n, _, _)| *n == a)
                    {
                        let note = self.fitted_note();
                        self.inputs.push((a, flow(&d), note));
                    }
                }
                w
            }
            None => {
                let base = format!("{}_branch_{}", ident(&self.task), loc.line);
                let at = self.at(file, loc);
                if arms.len() == 2 && whens == 1 {
                    let n = self.input(base, "{ bernoulli: 0.5 }".into(), format!("TODO share of the first arm: {at}"));
                    vec![n]
                } else {
                    let mut labels: Vec<String> = Vec::new();
                    for (i, a) in arms.iter().enumerate() {
                        let mut l = a
                            .label
                            .as_deref()
                            .map(ident)
                            .filter(|l| !l.is_empty())
                            .unwrap_or_else(|| format!("arm{}", i + 1));
                        if a.otherwise {
                            l = "otherwise".into();
                        }
                        while labels.contains(&l) {
                            l.push('_');
                        }
                        labels.push(l);
                    }
                    let weights: Vec<String> = labels.iter().map(|l| format!("{l}: 1")).collect();
                    let n = self.input(
                        base,
                        format!("{{ choice: {{ {} }} }}", weights.join(", ")),
                        format!("TODO shares of the arms: {at}"),
                    );
                    arms.iter().zip(&labels).filter(|(a, _)| !a.otherwise).map(|(_, l)| format!("{n} == {l}")).collect()
                }
            }
        };
        self.line(ind, "- branch:", Some(self.at(file, loc)));
        let mut conds = conds.into_iter();
        for a in shown {
            if a.otherwise {
                self.line(ind + 4, "- otherwise:", None);
            } else {
                let c = conds.next().unwrap_or_default();
                self.line(ind + 4, &format!("- when: {}", scalar(&c)), None);
                if !drafted(&a.steps) {
                    self.line(ind + 6, "then: []", None);
                    continue;
                }
                self.line(ind + 6, "then:", None);
            }
            self.steps(file, &a.steps, ind + 8);
        }
    }
}

fn get<'a>(n: &'a crate::scenario::yaml::Node, key: &str) -> Option<&'a crate::scenario::yaml::Node> {
    n.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

/// A name usable as an input attribute: lower case letters, digits and `_`.
fn ident(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let out = out.trim_matches('_').to_owned();
    if out.starts_with(|c: char| c.is_ascii_digit()) { format!("v{out}") } else { out }
}

fn retry_text(r: &super::tasks::RetryDef) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("maxAttempts", r.max_attempts),
        ("factor", r.factor),
        ("minTimeoutInMs", r.min_timeout),
        ("maxTimeoutInMs", r.max_timeout),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}: {}", fmt_num(v)));
        }
    }
    if let Some(b) = r.randomize {
        parts.push(format!("randomize: {b}"));
    }
    if let Some(m) = &r.oom_machine {
        parts.push(format!("outOfMemory: {{ machine: {m} }}"));
    }
    if parts.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", parts.join(", ")) }
}

fn secs_text(s: f64) -> String {
    if s >= 3600.0 && (s / 3600.0).fract() == 0.0 {
        format!("{}h", fmt_num(s / 3600.0))
    } else if s >= 60.0 && (s / 60.0).fract() == 0.0 {
        format!("{}m", fmt_num(s / 60.0))
    } else if s < 1.0 && s > 0.0 {
        format!("{}ms", fmt_num((s * 1000.0).round()))
    } else {
        format!("{}s", fmt_num(s))
    }
}

fn work_names(steps: &[Step], out: &mut Vec<String>) {
    for s in steps {
        match s {
            Step::Work { name, .. } => out.push(name.clone()),
            Step::Parallel { steps, .. } | Step::Loop { steps, .. } => work_names(steps, out),
            Step::Branch { arms, .. } => {
                for a in arms.iter().filter(|a| !a.otherwise || drafted(&a.steps)) {
                    work_names(&a.steps, out);
                }
            }
            _ => {}
        }
    }
}

/// The scenario YAML of a draft.
pub fn yaml(d: &Draft, notes: &[Note], fitted: Option<&Fitted>, left_out: &[String]) -> String {
    let mut w = W {
        out: String::new(),
        files: &d.files,
        fitted,
        inputs: Vec::new(),
        works: Vec::new(),
        next_work: 0,
        next_parallel: 0,
        next_branch: 0,
        next_poll: 0,
        task: String::new(),
    };
    for t in &d.tasks {
        task(&mut w, t);
    }
    let body = std::mem::take(&mut w.out);
    let mut out = String::new();
    let _ = writeln!(out, "# Drafted by `wfsim import` from {} file(s):", d.files.len());
    for f in &d.files {
        let _ = writeln!(out, "#   {f}");
    }
    for e in left_out {
        let _ = writeln!(out, "#   left out: {e}");
    }
    out.push_str(
        "# Values marked TODO are placeholders the code cannot tell (durations, failure rates, branch\n\
         # shares, loop counts): replace them with measurements, or pass --durations FITTED.yaml.\n",
    );
    let mut listed: Vec<&Note> = notes.iter().filter(|n| n.kind != NoteKind::Error).collect();
    listed.sort();
    listed.dedup();
    if !listed.is_empty() {
        out.push_str("# Read with care:\n");
        for n in listed {
            let kind = if n.kind == NoteKind::Design { "warning" } else { "not followed" };
            let _ = writeln!(out, "#   {}:{}:{}: {kind}: {}", d.files[n.file], n.loc.line, n.loc.col, n.message);
        }
    }
    out.push('\n');
    let _ = writeln!(out, "name: {}", scalar(&d.name));
    if let Some(f) = fitted {
        for (k, v) in &f.top {
            let _ = writeln!(out, "{k}: {}  # from {}", flow(v), f.file);
        }
    }
    if let Some(c) = &d.config {
        let at = format!("{}:{}", d.files[c.file], c.loc.line);
        let mut parts = Vec::new();
        if let Some(m) = &c.machine {
            parts.push(format!("machine: {m}"));
        }
        if let Some(r) = &c.retry {
            parts.push(format!("retry: {}", retry_text(r)));
        }
        if let Some(m) = c.max_duration {
            parts.push(format!("maxDuration: {}", secs_text(m.max(5.0))));
        }
        if !parts.is_empty() {
            let _ = writeln!(out, "defaults: {{ {} }}  # defineConfig at {at}", parts.join(", "));
        }
    }
    if !w.inputs.is_empty() {
        out.push_str("\ninput:\n");
        for (n, dist, c) in &w.inputs {
            let _ = writeln!(out, "  {}: {dist}  # {c}", scalar(n));
        }
    }
    out.push('\n');
    let roots = if d.other_roots.is_empty() {
        String::new()
    } else {
        format!("  # also triggered by nothing here: {}", d.other_roots.join(", "))
    };
    let _ = writeln!(out, "entry: {}{roots}", scalar(&d.entry));
    out.push_str("\ntasks:\n");
    out.push_str(&body);
    out
}

fn task(w: &mut W, t: &DraftTask) {
    w.task = t.id.clone();
    let mut names = Vec::new();
    work_names(&t.steps, &mut names);
    w.works = match w.fitted {
        Some(f) => f.works(&t.id, &names),
        None => vec![None; names.len()],
    };
    w.next_work = 0;
    w.next_parallel = 0;
    w.next_branch = 0;
    w.next_poll = 0;
    let (file, where_) = match (&t.def, t.first_trigger) {
        (Some(d), _) => (d.file, format!("{}{}", w.at(d.file, d.loc), if d.schema { " (schemaTask)" } else { "" })),
        (None, Some((f, l))) => (f, format!("TODO: no file defines this task; triggered at {}", w.at(f, l))),
        (None, None) => (0, String::new()),
    };
    w.out.push('\n');
    w.line(2, &format!("{}:", scalar(&t.id)), Some(where_));
    let from_trigger = |k: &str| t.from_triggers.iter().find(|(kk, _, _, _)| *kk == k);
    if let Some(d) = &t.def {
        match (&d.machine, from_trigger("machine")) {
            (Some(m), _) => w.line(4, &format!("machine: {m}"), None),
            (None, Some((_, v, f, l))) => {
                let c = format!("from the trigger options at {}", w.at(*f, *l));
                w.line(4, &format!("machine: {v}"), Some(c))
            }
            (None, None) => {
                if let Some(m) = w.fitted.and_then(|f| f.tasks.get(&t.id)).and_then(|t| t.machine.clone()) {
                    let c = w.fitted_note();
                    w.line(4, &format!("machine: {}", flow(&m)), Some(c));
                }
            }
        }
        if let Some(r) = &d.retry {
            w.line(4, &format!("retry: {}", retry_text(r)), None);
        }
        if let Some(m) = d.max_duration {
            w.line(4, &format!("maxDuration: {}", secs_text(m.max(5.0))), None);
        }
        match (&d.queue, from_trigger("queue")) {
            (Some(q), _) => {
                let text = match q.limit {
                    Some(l) => format!("{{ name: {}, concurrencyLimit: {} }}", scalar(&q.name), fmt_num(l)),
                    None => format!("{{ name: {} }}", scalar(&q.name)),
                };
                w.line(4, &format!("queue: {text}"), None);
            }
            (None, Some((_, v, f, l))) => {
                let c = format!("from the trigger options at {}", w.at(*f, *l));
                w.line(4, &format!("queue: {v}"), Some(c));
            }
            (None, None) => {}
        }
        match (&d.ttl, from_trigger("ttl")) {
            (Some(v), _) => w.line(4, &format!("ttl: {}", scalar(v)), None),
            (None, Some((_, v, f, l))) => {
                let c = format!("from the trigger options at {}", w.at(*f, *l));
                w.line(4, &format!("ttl: {}", scalar(v)), Some(c));
            }
            (None, None) => {}
        }
    }
    if let Some((_, v, f, l)) = from_trigger("delay") {
        let c = format!("from the trigger options at {}", w.at(*f, *l));
        w.line(4, &format!("delay: {}", scalar(v)), Some(c));
    }
    if let Some((f, l)) = t.concurrency_key {
        let at = w.at(f, l);
        let n = w.input(
            format!("{}_key", ident(&t.id)),
            "{ uniform: [1, 10], round: true }".into(),
            format!("TODO how many distinct concurrencyKey values: {at}"),
        );
        w.line(4, &format!("concurrencyKey: {n}"), Some(format!("from the trigger options at {at}")));
    }
    if let Some((a, b)) = t.progress {
        w.line(4, &format!("progress: [{}, {}]", fmt_num(a), fmt_num(b)), Some("from metadata progress values".into()));
    }
    w.line(4, "steps:", None);
    if t.steps.iter().all(|s| matches!(s, Step::Progress { .. })) {
        let c = match &t.def {
            Some(d) => {
                format!("TODO duration: the run function at {} awaits nothing this tool reads", w.at(d.file, d.loc))
            }
            None => "TODO duration: what the task does".to_owned(),
        };
        w.line(6, &format!("- work: {{ name: run, duration: {WORK_PLACEHOLDER} }}"), Some(c));
    } else {
        w.steps(file, &t.steps, 6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_language_writes_them() {
        assert_eq!(secs_text(30.0), "30s");
        assert_eq!(secs_text(120.0), "2m");
        assert_eq!(secs_text(7200.0), "2h");
        assert_eq!(secs_text(0.5), "500ms");
        assert_eq!(secs_text(90.0), "90s");
    }

    #[test]
    fn input_names_are_identifiers() {
        assert_eq!(ident("Extract-Audio"), "extract_audio");
        assert_eq!(ident("3d--render"), "v3d_render");
    }
}
