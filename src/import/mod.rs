//! `wfsim import`: a draft scenario from existing Trigger.dev v4 task code.
//!
//! [`discover`] lists the source files, [`parse`] turns each into a small owned syntax tree
//! (oxc does the parsing), [`tasks`] finds the task definitions and follows names across
//! files, [`steps`] reads each task's `run` into steps, [`durations`] fills placeholders from
//! a fitted scenario, and [`write`] prints the scenario YAML with a `# TODO` comment on every
//! value the code cannot tell (durations, shares, counts), naming the source line.

pub mod discover;
pub mod durations;
pub mod parse;
pub mod steps;
pub mod tasks;
pub mod write;
pub mod yaml_text;

use crate::error::Failure;
use parse::Loc;
use std::path::{Path, PathBuf};
use steps::{Count, Step};
use tasks::{Program, Source, TaskDef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoteKind {
    /// A file that could not be parsed.
    Error,
    /// Something the code does wrong on the platform.
    Design,
    /// Code the importer cannot follow; the draft leaves it out or holds a placeholder.
    Unread,
}

/// A located message about the source code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub file: usize,
    pub loc: Loc,
    pub kind: NoteKind,
    pub message: String,
}

impl Note {
    pub fn unread(file: usize, loc: Loc, message: &str) -> Note {
        Note { file, loc, kind: NoteKind::Unread, message: message.to_owned() }
    }
    pub fn design(file: usize, loc: Loc, message: &str) -> Note {
        Note { file, loc, kind: NoteKind::Design, message: message.to_owned() }
    }
}

/// A task of the draft: its definition (none for a task id no file defines) and its steps.
pub struct DraftTask<'p> {
    pub id: String,
    pub def: Option<TaskDef<'p>>,
    pub steps: Vec<Step>,
    pub progress: Option<(f64, f64)>,
    /// Trigger options written on the child: (option, value, where).
    pub from_triggers: Vec<(&'static str, String, usize, Loc)>,
    pub concurrency_key: Option<(usize, Loc)>,
    /// Where it is first triggered, for a task no file defines.
    pub first_trigger: Option<(usize, Loc)>,
}

pub struct Draft<'p> {
    pub name: String,
    pub config: Option<tasks::ConfigDef>,
    pub entry: String,
    pub other_roots: Vec<String>,
    pub tasks: Vec<DraftTask<'p>>,
    pub files: Vec<String>,
}

/// The result of an import: the YAML and every message, rendered.
pub struct Outcome {
    pub yaml: String,
    /// Located messages, `file:line:col: kind: message`, sorted by file and line.
    pub messages: Vec<String>,
    pub syntax_errors: usize,
    pub tasks: usize,
}

/// Imports the task code under `paths`; `fitted` fills placeholders from a scenario.
pub fn import(paths: &[PathBuf], fitted: Option<&Path>) -> Result<Outcome, String> {
    let files = discover::files(paths)?;
    if files.is_empty() {
        return Err("no .ts, .tsx, .js or .mjs files found".into());
    }
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        let shown = f.display().to_string();
        let src = match std::fs::read(f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                errors.push(format!("{shown}: error: cannot read: {e}"));
                continue;
            }
        };
        match parse::parse(f, &src) {
            Ok(module) => sources.push(Source { path: f.clone(), shown, module }),
            Err(e) => errors.push(format!("{shown}:{}:{}: error: {}", e.loc.line, e.loc.col, e.message)),
        }
    }
    let fitted = match fitted {
        Some(p) => Some(durations::Fitted::load(p)?),
        None => None,
    };
    let name = paths
        .first()
        .and_then(|p| p.file_stem().or_else(|| p.file_name()))
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    let prog = Program::new(&sources);
    let mut notes = Vec::new();
    let draft = assemble(&prog, &mut notes, name);
    if draft.tasks.is_empty() {
        let mut msg = String::from("no Trigger.dev task (`task({ id, run })` or `schemaTask`) found");
        for e in &errors {
            msg.push('\n');
            msg.push_str(e);
        }
        return Err(msg);
    }
    let yaml = write::yaml(&draft, &notes, fitted.as_ref(), &errors);
    notes.sort();
    notes.dedup();
    let mut messages: Vec<String> =
        errors.iter().map(|e| format!("{e} (this file is left out; the others are imported)")).collect();
    for n in &notes {
        let kind = match n.kind {
            NoteKind::Error => "error",
            NoteKind::Design => "warning",
            NoteKind::Unread => "not followed",
        };
        messages.push(format!("{}:{}:{}: {kind}: {}", draft.files[n.file], n.loc.line, n.loc.col, n.message));
    }
    Ok(Outcome { yaml, messages, syntax_errors: errors.len(), tasks: draft.tasks.len() })
}

/// Every task and its steps; the entry; the options triggers set on children; progress
/// slices; the design warnings that need the whole program.
pub fn assemble<'p>(prog: &Program<'p>, notes: &mut Vec<Note>, name: String) -> Draft<'p> {
    let defs = prog.tasks(notes);
    let config = prog.config(notes);
    let mut tasks: Vec<DraftTask<'p>> = Vec::new();
    for d in defs {
        if let Some(prev) = tasks.iter().find(|t| t.id == d.id) {
            let at = prev.def.as_ref().map(|p| (prog.files[p.file].shown.clone(), p.loc)).unwrap();
            notes.push(Note::unread(
                d.file,
                d.loc,
                &format!("task id `{}` is defined twice (first at {}:{}): this one is left out", d.id, at.0, at.1.line),
            ));
            continue;
        }
        let steps = match d.run {
            Some(f) => steps::Extractor::new(prog, d.file, notes).run(f),
            None => Vec::new(),
        };
        tasks.push(DraftTask {
            id: d.id.clone(),
            def: Some(d),
            steps,
            progress: None,
            from_triggers: Vec::new(),
            concurrency_key: None,
            first_trigger: None,
        });
    }
    // Triggers: unknown targets become stubs; options go on the child.
    let mut calls: Vec<(usize, steps::Trigger)> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let file = t.def.as_ref().map(|d| d.file).unwrap_or(0);
        visit(&t.steps, &mut |s| {
            if let Step::Trigger(tr) = s {
                calls.push((file, tr.clone()));
            }
        });
        let _ = i;
    }
    for (file, tr) in &calls {
        let idx = match tasks.iter().position(|t| t.id == tr.task) {
            Some(i) => i,
            None => {
                notes.push(Note::design(
                    *file,
                    tr.loc,
                    &format!(
                        "{} of task id `{}`, which no imported file defines: drafted as a stub",
                        tr.kind.key(),
                        tr.task
                    ),
                ));
                tasks.push(DraftTask {
                    id: tr.task.clone(),
                    def: None,
                    steps: Vec::new(),
                    progress: None,
                    from_triggers: Vec::new(),
                    concurrency_key: None,
                    first_trigger: Some((*file, tr.loc)),
                });
                tasks.len() - 1
            }
        };
        let child = &mut tasks[idx];
        let o = &tr.opts;
        let mut set = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v
                && !child.from_triggers.iter().any(|(kk, _, _, _)| *kk == k)
            {
                child.from_triggers.push((k, v.clone(), *file, tr.loc));
            }
        };
        set("machine", &o.machine);
        set("delay", &o.delay);
        set("ttl", &o.ttl);
        if let Some(q) = &o.queue {
            let text = match q.limit {
                Some(l) => {
                    format!("{{ name: {}, concurrencyLimit: {} }}", yaml_text::scalar(&q.name), yaml_text::fmt_num(l))
                }
                None => format!("{{ name: {} }}", yaml_text::scalar(&q.name)),
            };
            let child = &mut tasks[idx];
            if !child.from_triggers.iter().any(|(k, _, _, _)| *k == "queue") {
                child.from_triggers.push(("queue", text, *file, tr.loc));
            }
        }
        if o.concurrency_key && tasks[idx].concurrency_key.is_none() {
            tasks[idx].concurrency_key = Some((*file, tr.loc));
        }
    }
    // A retried task that triggers children without an idempotency key.
    for t in &tasks {
        let Some(d) = &t.def else { continue };
        let retry = d.retry.as_ref().or(config.as_ref().and_then(|c| c.retry.as_ref()));
        let retries = retry.is_some_and(|r| r.max_attempts.unwrap_or(3.0) > 1.0);
        if !retries {
            continue;
        }
        visit(&t.steps, &mut |s| {
            if let Step::Trigger(tr) = s
                && !tr.opts.idempotency_key
            {
                notes.push(Note::design(
                    d.file,
                    tr.loc,
                    &format!(
                        "`{}` retries (maxAttempts {}) and triggers `{}` without an idempotencyKey: a retry triggers it again and pays for it again",
                        t.id,
                        yaml_text::fmt_num(retry.and_then(|r| r.max_attempts).unwrap_or(3.0)),
                        tr.task
                    ),
                ));
            }
        });
    }
    // Progress: each task's slice from the literal values it sets.
    let mut values: Vec<Vec<f64>> = tasks
        .iter()
        .map(|t| {
            let mut v = Vec::new();
            visit(&t.steps, &mut |s| {
                if let Step::Progress { value, .. } = s {
                    v.push(*value);
                }
            });
            v
        })
        .collect();
    let scale = if values.iter().flatten().all(|v| *v <= 1.0) && values.iter().flatten().any(|v| *v > 0.0 && *v < 1.0) {
        100.0
    } else {
        1.0
    };
    for v in values.iter_mut() {
        for x in v.iter_mut() {
            *x = (*x * scale).clamp(0.0, 100.0);
        }
    }
    let all: Vec<f64> = values.iter().flatten().copied().collect();
    for (t, v) in tasks.iter_mut().zip(&values) {
        if v.is_empty() {
            continue;
        }
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let from = if lo < hi { lo } else { all.iter().copied().filter(|x| *x < hi).fold(0.0, f64::max) };
        t.progress = Some((from, hi));
    }
    if tasks.is_empty() {
        return Draft {
            name,
            config,
            entry: String::new(),
            other_roots: Vec::new(),
            tasks,
            files: prog.files.iter().map(|f| f.shown.clone()).collect(),
        };
    }
    // Entry: the task nothing triggers that reaches the most tasks.
    let triggered: Vec<&str> = calls.iter().map(|(_, c)| c.task.as_str()).collect();
    let roots: Vec<usize> = (0..tasks.len()).filter(|&i| !triggered.contains(&tasks[i].id.as_str())).collect();
    let reach = |start: usize| order_from(&tasks, start).len();
    let entry = roots.iter().copied().max_by_key(|&r| (reach(r), std::cmp::Reverse(r))).unwrap_or(0);
    // Reading order: depth first from the entry, then the rest as defined.
    let mut order = order_from(&tasks, entry);
    for r in &roots {
        for i in order_from(&tasks, *r) {
            if !order.contains(&i) {
                order.push(i);
            }
        }
    }
    for i in 0..tasks.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let entry_id = tasks.get(entry).map(|t| t.id.clone()).unwrap_or_default();
    let other_roots = roots.iter().filter(|&&r| r != entry).map(|&r| tasks[r].id.clone()).collect();
    let mut slots: Vec<Option<DraftTask<'p>>> = tasks.into_iter().map(Some).collect();
    let tasks = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Draft {
        name,
        config,
        entry: entry_id,
        other_roots,
        tasks,
        files: prog.files.iter().map(|f| f.shown.clone()).collect(),
    }
}

fn order_from(tasks: &[DraftTask], start: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        if out.contains(&i) {
            continue;
        }
        out.push(i);
        let mut kids = Vec::new();
        visit(&tasks[i].steps, &mut |s| {
            if let Step::Trigger(t) = s
                && let Some(j) = tasks.iter().position(|x| x.id == t.task)
            {
                kids.push(j);
            }
        });
        for k in kids.into_iter().rev() {
            stack.push(k);
        }
    }
    out
}

/// Calls `f` on every step, nested ones included, in order.
pub fn visit(steps: &[Step], f: &mut dyn FnMut(&Step)) {
    for s in steps {
        f(s);
        match s {
            Step::Parallel { steps, .. } | Step::Loop { steps, .. } => visit(steps, f),
            Step::Branch { arms, .. } => {
                for a in arms {
                    visit(&a.steps, f);
                }
            }
            _ => {}
        }
    }
}

/// The count a placeholder takes when the code does not say.
pub fn count_or(c: Count, placeholder: f64) -> (f64, bool) {
    match c {
        Count::Known(n) => (n, false),
        Count::Unknown => (placeholder, true),
    }
}

/// `wfsim import`: writes the draft (to `out` or stdout), its messages to stderr; `Ok` with
/// the exit code (0, or 2 when a file could not be parsed, each named in the messages), `Err`
/// when nothing was imported (2) or the draft does not load (3, a bug).
pub fn command(paths: &[PathBuf], out: Option<&Path>, fitted: Option<&Path>) -> Result<u8, Failure> {
    let o = import(paths, fitted).map_err(|e| Failure::input(format!("error: {e}")))?;
    for m in &o.messages {
        eprintln!("{m}");
    }
    let shown = out.map(|p| p.display().to_string()).unwrap_or_else(|| "the draft".into());
    let loaded = crate::scenario::load_str(&o.yaml, &shown);
    match out {
        Some(p) => {
            crate::output::write_file_atomic(p, o.yaml.as_bytes())
                .map_err(|e| Failure::input(format!("error: cannot write {}: {e}", p.display())))?;
        }
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(o.yaml.as_bytes());
        }
    }
    if let Err(e) = loaded {
        return Err(Failure::internal(format!(
            "{e}\ninternal error: the drafted scenario does not load; please report it with the source"
        )));
    }
    let todos = o.yaml.lines().filter(|l| l.contains("# TODO")).count();
    eprintln!("{shown}: {} task(s), {todos} placeholder(s) marked TODO; check it with `wfsim validate`", o.tasks);
    Ok(if o.syntax_errors > 0 { 2 } else { 0 })
}
