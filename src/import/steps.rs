//! The steps of a task's `run`, in order: trigger calls with their options, waits, parallel
//! work, branches, loops, progress updates and the awaited calls between them.

use super::Note;
use super::parse::{Call, Expr, Func, Loc, Stmt, children};
use super::tasks::{Program, QueueDef, RetryDef};
use super::yaml_text::fmt_num;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TriggerAndWait,
    Trigger,
    BatchTriggerAndWait,
    BatchTrigger,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::TriggerAndWait => "triggerAndWait",
            Kind::Trigger => "trigger",
            Kind::BatchTriggerAndWait => "batchTriggerAndWait",
            Kind::BatchTrigger => "batchTrigger",
        }
    }
    pub fn waits(self) -> bool {
        matches!(self, Kind::TriggerAndWait | Kind::BatchTriggerAndWait)
    }
    pub fn batch(self) -> bool {
        matches!(self, Kind::BatchTriggerAndWait | Kind::BatchTrigger)
    }
}

/// A number the code fixes, or one it leaves to run time (a placeholder in the draft).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Count {
    Known(f64),
    Unknown,
}

/// Per-trigger options that the scenario language writes on the child task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Opts {
    pub idempotency_key: bool,
    pub queue: Option<QueueDef>,
    pub concurrency_key: bool,
    pub machine: Option<String>,
    pub delay: Option<String>,
    pub ttl: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub kind: Kind,
    pub task: String,
    pub count: Count,
    pub opts: Opts,
    /// `.unwrap()` chained (or the batch's results unwrapped): a failed child throws.
    pub unwrap: bool,
    pub loc: Loc,
    /// Set when the call is one group of a mixed `batch.*` call.
    pub group_of: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    /// A `case` label, when it is a literal.
    pub label: Option<String>,
    pub steps: Vec<Step>,
    pub otherwise: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `retry`: a `retry.onThrow` around it.
    Work {
        name: String,
        loc: Loc,
        retry: Option<RetryDef>,
    },
    Trigger(Trigger),
    /// `wait.for` / `wait.until`: seconds when literal.
    Wait {
        secs: Option<f64>,
        loc: Loc,
    },
    /// `Promise.all`: `count` items of `steps`, at most `limit` at once.
    Parallel {
        count: Count,
        limit: Option<f64>,
        steps: Vec<Step>,
        loc: Loc,
    },
    /// A loop: `count` times `steps`, one after another.
    Loop {
        count: Count,
        steps: Vec<Step>,
        loc: Loc,
    },
    /// A loop around `wait.for(every)`: a polling loop.
    /// `check`: the loop awaits work besides the wait (the check's duration is a placeholder).
    Poll {
        every: f64,
        max_checks: Count,
        check: bool,
        loc: Loc,
    },
    Branch {
        arms: Vec<Arm>,
        loc: Loc,
    },
    /// `metadata.set("progress", value)` (or on `metadata.parent` / `metadata.root`).
    Progress {
        value: f64,
        loc: Loc,
    },
    /// `throw new AbortTaskRunError(...)`.
    Abort {
        loc: Loc,
    },
}

/// Does `e` read `name.ok`?
fn reads_ok(e: &Expr, name: &str) -> bool {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        if let Expr::Member(o, p) = x
            && p == "ok"
            && matches!(&**o, Expr::Ident(n) if n == name)
        {
            return true;
        }
        children(x, &mut stack);
    }
    false
}

/// Does a list hold steps the scenario writes (progress updates only set the task's slice)?
pub fn drafted(steps: &[Step]) -> bool {
    steps.iter().any(|s| !matches!(s, Step::Progress { .. }))
}

const TRIGGER_METHODS: &[&str] =
    &["triggerAndWait", "trigger", "batchTriggerAndWait", "batchTrigger", "triggerByTask", "triggerByTaskAndWait"];

/// Does code (looked at without following calls) contain a trigger call?
pub fn mentions_trigger(stmts: &[Stmt]) -> Option<Loc> {
    fn expr(e: &Expr) -> Option<Loc> {
        let mut stack = vec![e];
        while let Some(x) = stack.pop() {
            if let Expr::Call(c) = x
                && let Expr::Member(_, m) = &c.callee
                && TRIGGER_METHODS.contains(&m.as_str())
            {
                return Some(c.loc);
            }
            if let Expr::Func(f) = x
                && let Some(l) = mentions_trigger(&f.body)
            {
                return Some(l);
            }
            children(x, &mut stack);
        }
        None
    }
    for s in stmts {
        let found = match s {
            Stmt::Expr(e, _) | Stmt::Throw(e, _) => expr(e),
            Stmt::Var { init: Some(e), .. } | Stmt::Return(Some(e), _) => expr(e),
            Stmt::If { test, then, els, .. } => {
                expr(test).or_else(|| mentions_trigger(then)).or_else(|| els.as_deref().and_then(mentions_trigger))
            }
            Stmt::Switch { disc, cases, .. } => {
                expr(disc).or_else(|| cases.iter().find_map(|(_, b)| mentions_trigger(b)))
            }
            Stmt::Loop { head, body, .. } => head.iter().find_map(expr).or_else(|| mentions_trigger(body)),
            Stmt::Block(b) => mentions_trigger(b),
            Stmt::Try { block, handler, finalizer } => {
                mentions_trigger(block).or_else(|| mentions_trigger(handler)).or_else(|| mentions_trigger(finalizer))
            }
            Stmt::Function { func, .. } => mentions_trigger(&func.body),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Reads the steps of one task's `run`.
pub struct Extractor<'a, 'p> {
    pub prog: &'a Program<'p>,
    pub notes: &'a mut Vec<Note>,
    /// The file being read (changes while a helper from another file is followed).
    file: usize,
    /// Functions declared inside the code being read, innermost last.
    locals: Vec<(&'p str, &'p Func, usize)>,
    /// `const limit = pLimit(n)` constants in scope.
    limiters: Vec<(&'p str, f64)>,
    /// Helpers being followed (against recursion).
    following: Vec<*const Func>,
}

const MAX_FOLLOW: usize = 6;

impl<'a, 'p> Extractor<'a, 'p> {
    pub fn new(prog: &'a Program<'p>, file: usize, notes: &'a mut Vec<Note>) -> Self {
        Extractor { prog, notes, file, locals: Vec::new(), limiters: Vec::new(), following: Vec::new() }
    }

    pub fn run(&mut self, f: &'p Func) -> Vec<Step> {
        let mut out = Vec::new();
        self.stmts(&f.body, &mut out);
        out
    }

    fn unread(&mut self, loc: Loc, what: &str) {
        self.notes.push(Note::unread(self.file, loc, what));
    }

    fn stmts(&mut self, stmts: &'p [Stmt], out: &mut Vec<Step>) {
        let (nl, nm) = (self.locals.len(), self.limiters.len());
        // Function declarations are hoisted.
        for s in stmts {
            if let Stmt::Function { name, func } = s {
                self.locals.push((name, func, self.file));
            }
        }
        // `const r = await X.triggerAndWait(...)` then `if (!r.ok) throw ...` unwraps by hand.
        let mut results: Vec<(&str, usize)> = Vec::new();
        for s in stmts {
            let before = out.len();
            self.stmt(s, out);
            if let Stmt::Var { name: Some(n), .. } = s
                && out.len() == before + 1
                && matches!(out.last(), Some(Step::Trigger(t)) if t.kind.waits())
            {
                results.push((n, before));
            }
            if let Stmt::If { test, then, .. } = s
                && then.iter().any(|x| matches!(x, Stmt::Throw(..)))
            {
                for (n, i) in &results {
                    if reads_ok(test, n)
                        && let Some(Step::Trigger(t)) = out.get_mut(*i)
                    {
                        t.unwrap = true;
                    }
                }
            }
        }
        self.locals.truncate(nl);
        self.limiters.truncate(nm);
    }

    fn stmt(&mut self, s: &'p Stmt, out: &mut Vec<Step>) {
        match s {
            Stmt::Expr(e, _) => self.expr(e, out),
            // A promise returned from an async function is awaited by its caller.
            Stmt::Return(Some(e), _) => self.expr_in(e, true, out),
            Stmt::Var { name, init: Some(e), .. } => {
                if let (Some(n), Expr::Func(f)) = (name, e) {
                    self.locals.push((n, f, self.file));
                    return;
                }
                if let (Some(n), Expr::Call(c)) = (name, e)
                    && c.callee.path().is_some_and(|p| p == "pLimit" || p == "limit" || p.ends_with("pLimit"))
                    && let Some(Expr::Num(k)) = c.args.first()
                {
                    self.limiters.push((n, *k));
                    return;
                }
                self.expr(e, out)
            }
            Stmt::Throw(e, loc) => {
                if let Expr::New(c) = e
                    && c.callee.path().is_some_and(|p| p.ends_with("AbortTaskRunError"))
                {
                    out.push(Step::Abort { loc: *loc });
                } else {
                    self.expr(e, out);
                }
            }
            Stmt::If { loc, .. } => {
                let mut arms = Vec::new();
                let mut cur = s;
                while let Stmt::If { test, then, els, .. } = cur {
                    self.expr(test, out);
                    arms.push(Arm { label: None, steps: self.block(then), otherwise: false });
                    match els.as_deref() {
                        Some([next @ Stmt::If { .. }]) => cur = next,
                        Some(b) => {
                            arms.push(Arm { label: None, steps: self.block(b), otherwise: true });
                            break;
                        }
                        None => {
                            arms.push(Arm { label: None, steps: Vec::new(), otherwise: true });
                            break;
                        }
                    }
                }
                self.branch(arms, *loc, out);
            }
            Stmt::Switch { disc, cases, loc } => {
                self.expr(disc, out);
                let mut arms: Vec<Arm> = Vec::new();
                let mut pending: Vec<String> = Vec::new();
                for (test, body) in cases {
                    let label = match test {
                        Some(t) => match self.prog.resolve(self.file, t).expr {
                            Expr::Str(s) => Some(s.clone()),
                            Expr::Num(n) => Some(fmt_num(*n)),
                            _ => None,
                        },
                        None => None,
                    };
                    let body: &'p [Stmt] = match body.as_slice() {
                        [Stmt::Block(b)] => b,
                        b => b,
                    };
                    if body.is_empty() && test.is_some() {
                        pending.extend(label);
                        continue;
                    }
                    let mut label = label;
                    if !pending.is_empty() {
                        pending.extend(label.take());
                        label = Some(pending.join("|"));
                        pending.clear();
                    }
                    arms.push(Arm { label, steps: self.block(body), otherwise: test.is_none() });
                }
                if let Some(i) = arms.iter().position(|a| a.otherwise) {
                    let d = arms.remove(i);
                    arms.push(d);
                } else {
                    arms.push(Arm { label: None, steps: Vec::new(), otherwise: true });
                }
                self.branch(arms, *loc, out);
            }
            Stmt::Loop { head, body, loc } => {
                for h in head {
                    self.expr(h, out);
                }
                let mut steps = self.block(body);
                if !drafted(&steps) {
                    out.append(&mut steps);
                    return;
                }
                let count = loop_count(self.prog, self.file, head);
                let wait = steps.iter().find_map(|s| match s {
                    Step::Wait { secs, .. } => Some(*secs),
                    _ => None,
                });
                if let Some(secs) = wait
                    && !steps
                        .iter()
                        .any(|s| matches!(s, Step::Trigger(_) | Step::Parallel { .. } | Step::Branch { .. }))
                {
                    let every = secs.unwrap_or(60.0);
                    if secs.is_some_and(|s| s < 60.0) {
                        self.notes.push(Note::design(
                            self.file,
                            *loc,
                            &format!(
                                "a polling loop waits {}s between checks: waits under 60 s never release the run's concurrency slot",
                                fmt_num(every)
                            ),
                        ));
                    }
                    let check = steps.iter().any(|s| matches!(s, Step::Work { .. }));
                    out.push(Step::Poll { every, max_checks: count, check, loc: *loc });
                    return;
                }
                out.push(Step::Loop { count, steps, loc: *loc });
            }
            Stmt::Block(b) => self.stmts(b, out),
            Stmt::Try { block, handler, finalizer } => {
                self.stmts(block, out);
                if let Some(l) = mentions_trigger(handler) {
                    self.unread(l, "a trigger inside a `catch` block (runs only after an error) is not drafted");
                }
                self.stmts(finalizer, out);
            }
            Stmt::Function { .. } | Stmt::Var { init: None, .. } | Stmt::Return(None, _) => {}
            Stmt::Import { .. } | Stmt::ExportNames { .. } | Stmt::Other => {}
        }
    }

    fn block(&mut self, b: &'p [Stmt]) -> Vec<Step> {
        let mut v = Vec::new();
        self.stmts(b, &mut v);
        v
    }

    fn branch(&mut self, mut arms: Vec<Arm>, loc: Loc, out: &mut Vec<Step>) {
        let filled: Vec<usize> = (0..arms.len()).filter(|&i| drafted(&arms[i].steps)).collect();
        if filled.is_empty() {
            // Progress updates inside the arms still count for the task's slice.
            for a in arms {
                out.extend(a.steps);
            }
            return;
        }
        // `if (bad) throw new AbortTaskRunError(...)`: the abort is the step (its probability
        // is the branch's share).
        if filled.len() == 1 && matches!(arms[filled[0]].steps.as_slice(), [Step::Abort { .. }]) {
            out.append(&mut arms[filled[0]].steps);
            return;
        }
        out.push(Step::Branch { arms, loc });
    }

    fn expr(&mut self, e: &'p Expr, out: &mut Vec<Step>) {
        self.expr_in(e, false, out)
    }

    fn expr_in(&mut self, e: &'p Expr, awaited: bool, out: &mut Vec<Step>) {
        match e {
            Expr::Await(x) => self.expr_in(x, true, out),
            Expr::Call(c) => self.call(c, awaited, out),
            Expr::Func(f) => {
                if let Some(l) = mentions_trigger(&f.body) {
                    self.unread(l, "a trigger inside a callback that is not awaited in place is not drafted");
                }
            }
            Expr::Cond(t, a, b) => {
                self.expr(t, out);
                let arms = vec![
                    Arm { label: None, steps: self.sub(a, awaited), otherwise: false },
                    Arm { label: None, steps: self.sub(b, awaited), otherwise: true },
                ];
                self.branch(arms, Loc::default(), out);
            }
            other => {
                let mut kids = Vec::new();
                children(other, &mut kids);
                for k in kids {
                    self.expr_in(k, awaited && matches!(other, Expr::Other(_)), out);
                }
            }
        }
    }

    fn sub(&mut self, e: &'p Expr, awaited: bool) -> Vec<Step> {
        let mut v = Vec::new();
        self.expr_in(e, awaited, &mut v);
        v
    }

    fn call(&mut self, c: &'p Call, awaited: bool, out: &mut Vec<Step>) {
        // `.unwrap()` on a trigger result.
        if let Expr::Member(inner, m) = &c.callee
            && m == "unwrap"
            && let Expr::Call(ic) = inner.unawait()
            && self.trigger(ic, true, out)
        {
            return;
        }
        if self.trigger(c, false, out) {
            return;
        }
        let path = c.callee.path();
        let p = path.as_deref().unwrap_or("");
        match p {
            "wait.for" | "wait.until" | "wait.forToken" => {
                let secs = c.args.first().and_then(|a| wait_secs(self.prog, self.file, p, a));
                if p == "wait.forToken" {
                    self.unread(c.loc, "wait.forToken: how long until the token completes is a placeholder");
                } else if secs.is_none() {
                    self.unread(c.loc, &format!("{p} with a duration that is not a literal: drafted as a placeholder"));
                }
                out.push(Step::Wait { secs, loc: c.loc });
                return;
            }
            _ if p.starts_with("metadata.") => {
                let m = p.rsplit('.').next().unwrap_or("");
                if m == "set"
                    && matches!(c.args.first(), Some(Expr::Str(k)) if k == "progress")
                    && let Some(v) = c.args.get(1)
                {
                    match self.prog.number(self.file, v) {
                        Some(v) => out.push(Step::Progress { value: v, loc: c.loc }),
                        None => self.unread(c.loc, "a progress value that is not a literal number is not drafted"),
                    }
                }
                return;
            }
            "logger.trace" => {
                let name = c.args.first().and_then(|a| self.prog.string(self.file, a));
                if let Some(Expr::Func(f)) = c.args.get(1) {
                    let mut inner = Vec::new();
                    self.stmts(&f.body, &mut inner);
                    if inner.iter().any(|s| !matches!(s, Step::Work { .. } | Step::Progress { .. })) {
                        out.append(&mut inner);
                    } else {
                        out.push(Step::Work { name: name.unwrap_or_else(|| "trace".into()), loc: c.loc, retry: None });
                        out.extend(inner.into_iter().filter(|s| matches!(s, Step::Progress { .. })));
                    }
                }
                return;
            }
            "retry.onThrow" => {
                // The work of the callback, each step retried as the options say.
                if let Some(Expr::Func(f)) = c.args.first() {
                    let mut inner = Vec::new();
                    self.stmts(&f.body, &mut inner);
                    if inner.is_empty() {
                        inner.push(Step::Work { name: "retry.onThrow".into(), loc: c.loc, retry: None });
                    }
                    let r = c.args.get(1).map(|o| self.prog.retry(self.file, o, self.notes));
                    for s in inner.iter_mut() {
                        if let Step::Work { retry, .. } = s {
                            *retry = r.clone();
                        }
                    }
                    out.append(&mut inner);
                }
                return;
            }
            "Promise.all" | "Promise.allSettled" => {
                if let Some(a) = c.args.first() {
                    self.promise_all(a, c.loc, out);
                }
                return;
            }
            _ if p.starts_with("logger.") || p.starts_with("console.") || p.starts_with("wait.") => return,
            _ => {}
        }
        // Arguments are evaluated first.
        for a in &c.args {
            if !matches!(a, Expr::Func(_)) {
                self.expr(a, out);
            }
        }
        if let Expr::Member(o, _) = &c.callee {
            self.expr(o, out);
        }
        // A helper function: followed when it is defined in these files.
        if let Expr::Ident(name) = &c.callee
            && let Some((f, file)) = self.helper(name)
        {
            if self.following.len() < MAX_FOLLOW && !self.following.contains(&(f as *const Func)) {
                self.following.push(f as *const Func);
                let saved = std::mem::replace(&mut self.file, file);
                let mut inner = Vec::new();
                self.stmts(&f.body, &mut inner);
                self.file = saved;
                self.following.pop();
                if !inner.is_empty() {
                    out.append(&mut inner);
                    return;
                }
            } else if let Some(l) = mentions_trigger(&f.body) {
                self.unread(l, &format!("`{name}` calls itself (or nests too deep) around a trigger: not followed"));
            }
        }
        for a in &c.args {
            if let Expr::Func(f) = a
                && let Some(l) = mentions_trigger(&f.body)
            {
                self.unread(
                    l,
                    &format!("a trigger inside a callback passed to `{}` is not drafted", callee_name(&c.callee)),
                );
            }
        }
        if awaited {
            out.push(Step::Work { name: work_name(p), loc: c.loc, retry: None });
        }
    }

    fn helper(&self, name: &str) -> Option<(&'p Func, usize)> {
        if let Some(&(_, f, file)) = self.locals.iter().rev().find(|(n, _, _)| *n == name) {
            return Some((f, file));
        }
        self.prog.function(self.file, name)
    }

    /// A trigger call, if `c` is one: pushes its step and returns true.
    fn trigger(&mut self, c: &'p Call, unwrap: bool, out: &mut Vec<Step>) -> bool {
        let Expr::Member(obj, method) = &c.callee else { return false };
        if !TRIGGER_METHODS.contains(&method.as_str()) {
            return false;
        }
        let on = obj.path();
        let on = on.as_deref().unwrap_or("");
        match on {
            "batch" => {
                self.batch(c, method, unwrap, out);
                true
            }
            "tasks" => {
                let kind = match method.as_str() {
                    "triggerAndWait" => Kind::TriggerAndWait,
                    "trigger" => Kind::Trigger,
                    "batchTriggerAndWait" => Kind::BatchTriggerAndWait,
                    "batchTrigger" => Kind::BatchTrigger,
                    _ => return false,
                };
                let id = c
                    .args
                    .first()
                    .and_then(|a| self.prog.string(self.file, a))
                    .or_else(|| c.type_of.as_ref().and_then(|t| self.prog.task_id_of(self.file, self.ident(t))));
                let Some(id) = id else {
                    self.unread(c.loc, &format!("tasks.{method} with a task id that is not a literal: not drafted"));
                    return true;
                };
                let (count, opts_at) =
                    if kind.batch() { (self.count_items(c.args.get(1)), 2) } else { (Count::Known(1.0), 2) };
                let opts = self.opts(c.args.get(opts_at), c.args.get(1), kind);
                out.push(Step::Trigger(Trigger { kind, task: id, count, opts, unwrap, loc: c.loc, group_of: None }));
                true
            }
            _ => {
                let kind = match method.as_str() {
                    "triggerAndWait" => Kind::TriggerAndWait,
                    "trigger" => Kind::Trigger,
                    "batchTriggerAndWait" => Kind::BatchTriggerAndWait,
                    "batchTrigger" => Kind::BatchTrigger,
                    _ => return false,
                };
                let Some(id) = self.prog.task_id_of(self.file, obj) else {
                    self.unread(c.loc, &format!("`{on}.{method}`: `{on}` is not a task defined in these files"));
                    return true;
                };
                let count = if kind.batch() { self.count_items(c.args.first()) } else { Count::Known(1.0) };
                let opts = self.opts(c.args.get(1), c.args.first(), kind);
                out.push(Step::Trigger(Trigger { kind, task: id, count, opts, unwrap, loc: c.loc, group_of: None }));
                true
            }
        }
    }

    fn ident(&self, name: &str) -> &'p Expr {
        // A name from a `typeof X` type argument: look it up as a value.
        match self.prog.lookup(self.file, name) {
            Some((super::tasks::Decl::Value(v, _), _)) => v,
            _ => &NOTHING,
        }
    }

    /// `batch.triggerAndWait([{ id, payload }, ...])` and `batch.triggerByTaskAndWait([{ task, payload }, ...])`.
    fn batch(&mut self, c: &'p Call, method: &str, unwrap: bool, out: &mut Vec<Step>) {
        let kind = if method.ends_with("AndWait") { Kind::BatchTriggerAndWait } else { Kind::BatchTrigger };
        let by_task = method.starts_with("triggerByTask");
        let items = c.args.first().map(|a| self.prog.resolve(self.file, a).expr);
        let Some(Expr::Arr(items)) = items else {
            self.unread(c.loc, &format!("batch.{method} over items that are not an array literal: not drafted"));
            return;
        };
        let mut groups: Vec<(String, f64, Opts)> = Vec::new();
        for it in items {
            let id = if by_task {
                it.get("task").and_then(|t| self.prog.task_id_of(self.file, t))
            } else {
                it.get("id").and_then(|t| self.prog.string(self.file, t))
            };
            let Some(id) = id else {
                self.unread(c.loc, &format!("an item of batch.{method} whose task is not a literal: not drafted"));
                continue;
            };
            let opts = self.opts(it.get("options"), None, kind);
            match groups.iter_mut().find(|g| g.0 == id) {
                Some(g) => g.1 += 1.0,
                None => groups.push((id, 1.0, opts)),
            }
        }
        let n = groups.len();
        for (id, k, opts) in groups {
            out.push(Step::Trigger(Trigger {
                kind,
                task: id,
                count: Count::Known(k),
                opts,
                unwrap,
                loc: c.loc,
                group_of: (n > 1).then_some(n),
            }));
        }
    }

    fn count_items(&self, items: Option<&'p Expr>) -> Count {
        match items.map(|i| self.prog.resolve(self.file, i).expr) {
            Some(Expr::Arr(xs)) if xs.iter().all(|x| !matches!(x, Expr::Other(_))) => Count::Known(xs.len() as f64),
            _ => Count::Unknown,
        }
    }

    /// Trigger options (`{ idempotencyKey, queue, concurrencyKey, machine, delay, ttl }`), and
    /// for batches the per-item options.
    fn opts(&mut self, o: Option<&'p Expr>, items: Option<&'p Expr>, kind: Kind) -> Opts {
        let mut r = Opts::default();
        let file = self.file;
        let mut read = |this: &mut Self, o: &'p Expr| {
            let o = this.prog.resolve(file, o);
            if o.expr.get("idempotencyKey").is_some() {
                r.idempotency_key = true;
            }
            if o.expr.get("concurrencyKey").is_some() {
                r.concurrency_key = true;
            }
            if let Some(q) = o.expr.get("queue") {
                r.queue = this.prog.queue(o.file, q, o.expr.loc_of("queue").unwrap_or_default(), this.notes);
            }
            if let Some(m) = o.expr.get("machine") {
                r.machine = this.prog.machine(o.file, m, o.expr.loc_of("machine"), this.notes);
            }
            if let Some(d) = o.expr.get("delay") {
                r.delay = this.prog.duration_text(o.file, d);
            }
            if let Some(t) = o.expr.get("ttl") {
                r.ttl = this.prog.duration_text(o.file, t);
            }
        };
        if let Some(o) = o {
            read(self, o);
        }
        if kind.batch()
            && let Some(Expr::Arr(xs)) = items.map(|i| self.prog.resolve(file, i).expr)
        {
            for x in xs {
                if let Some(o) = x.get("options") {
                    read(self, o);
                }
            }
        }
        r
    }

    /// `Promise.all(xs.map(fn))`, `Promise.all([a(), b()])`.
    fn promise_all(&mut self, a: &'p Expr, loc: Loc, out: &mut Vec<Step>) {
        let (count, limit, steps) = match a {
            Expr::Call(m) if matches!(&m.callee, Expr::Member(_, name) if name == "map") => {
                let Expr::Member(xs, _) = &m.callee else { unreachable!() };
                let count = match self.prog.resolve(self.file, xs).expr {
                    Expr::Arr(v) => Count::Known(v.len() as f64),
                    _ => Count::Unknown,
                };
                let (limit, steps) = match m.args.first() {
                    Some(f) => self.item(f),
                    None => (None, Vec::new()),
                };
                (count, limit, steps)
            }
            Expr::Arr(items) => {
                let per: Vec<(Option<f64>, Vec<Step>)> = items.iter().map(|i| self.item(i)).collect();
                let same = per.windows(2).all(|w| same_shape(&w[0].1, &w[1].1));
                if !same {
                    // Different calls at once: the language repeats one list of steps, so the
                    // calls are drafted one after another, and said so.
                    self.unread(loc, "Promise.all over different calls: drafted one after another (a `parallel` step repeats one list of steps)");
                    for (_, mut s) in per {
                        out.append(&mut s);
                    }
                    return;
                }
                let limit = per.first().and_then(|p| p.0);
                let steps = per.into_iter().next().map(|p| p.1).unwrap_or_default();
                (Count::Known(items.len() as f64), limit, steps)
            }
            other => {
                self.expr(other, out);
                self.unread(
                    loc,
                    "Promise.all over something that is neither `xs.map(fn)` nor an array literal: not drafted",
                );
                return;
            }
        };
        if !drafted(&steps) {
            return;
        }
        if let Some(l) = concurrent_wait(&steps) {
            self.notes.push(Note::design(
                self.file,
                l,
                "Promise.all around triggerAndWait or wait fails at run time with TASK_DID_CONCURRENT_WAIT: use batchTriggerAndWait",
            ));
        }
        out.push(Step::Parallel { count, limit, steps, loc });
    }

    /// One item of a `Promise.all`: a callback, a call, or a `limit(() => ...)` wrapper.
    fn item(&mut self, e: &'p Expr) -> (Option<f64>, Vec<Step>) {
        match e {
            Expr::Func(f) => {
                // `x => limit(() => work(x))`
                if let [Stmt::Return(Some(r), _)] = f.body.as_slice()
                    && let Some((k, inner)) = self.limited(r)
                {
                    return (Some(k), self.item(inner).1);
                }
                (None, self.block(&f.body))
            }
            Expr::Ident(name) => match self.helper(name) {
                Some((f, _)) => (None, self.block(&f.body)),
                None => (None, Vec::new()),
            },
            other => {
                if let Some((k, inner)) = self.limited(other) {
                    return (Some(k), self.item(inner).1);
                }
                (None, self.sub(other, true))
            }
        }
    }

    fn limited(&self, e: &'p Expr) -> Option<(f64, &'p Expr)> {
        let Expr::Call(c) = e.unawait() else { return None };
        let Expr::Ident(n) = &c.callee else { return None };
        let k = self.limiters.iter().rev().find(|(m, _)| m == n)?.1;
        Some((k, c.args.first()?))
    }
}

static NOTHING: Expr = Expr::Other(Vec::new());

fn same_shape(a: &[Step], b: &[Step]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Step::Work { name: n, .. }, Step::Work { name: m, .. }) => n == m,
            (Step::Trigger(t), Step::Trigger(u)) => t.task == u.task && t.kind == u.kind,
            _ => std::mem::discriminant(x) == std::mem::discriminant(y),
        })
}

/// A wait inside steps that run at once: where it is.
fn concurrent_wait(steps: &[Step]) -> Option<Loc> {
    steps.iter().find_map(|s| match s {
        Step::Trigger(t) if t.kind.waits() => Some(t.loc),
        Step::Wait { loc, .. } | Step::Poll { loc, .. } => Some(*loc),
        Step::Loop { steps, .. } | Step::Parallel { steps, .. } => concurrent_wait(steps),
        Step::Branch { arms, .. } => arms.iter().find_map(|a| concurrent_wait(&a.steps)),
        _ => None,
    })
}

/// How many times a loop runs, when the code says: `for (const x of [a, b])`,
/// `for (let i = 0; i < 5; i++)`.
fn loop_count(prog: &Program, file: usize, head: &[Expr]) -> Count {
    match head {
        [x] => match prog.resolve(file, x).expr {
            Expr::Arr(v) => Count::Known(v.len() as f64),
            _ => Count::Unknown,
        },
        [init, Expr::Other(test)] => {
            let start = prog.number(file, init);
            let end = test.get(1).and_then(|e| prog.number(file, e));
            match (start, end) {
                (Some(s), Some(e)) if e >= s => Count::Known((e - s).ceil()),
                _ => Count::Unknown,
            }
        }
        _ => Count::Unknown,
    }
}

/// `wait.for({ seconds: 30 })`, `wait.for({ minutes: 2 })`; `wait.until({ date })` is not literal.
fn wait_secs(prog: &Program, file: usize, method: &str, a: &Expr) -> Option<f64> {
    if method != "wait.for" {
        return None;
    }
    let o = prog.resolve(file, a);
    let Expr::Obj(props) = o.expr else { return None };
    let mut total = 0.0;
    let mut any = false;
    for p in props {
        let unit = match p.key.as_deref()? {
            "seconds" | "second" => 1.0,
            "minutes" | "minute" => 60.0,
            "hours" | "hour" => 3600.0,
            "days" | "day" => 86400.0,
            "weeks" | "week" => 604800.0,
            _ => return None,
        };
        total += prog.number(o.file, &p.value)? * unit;
        any = true;
    }
    any.then_some(total)
}

/// How a message names a callee: `items.forEach`, `[...].forEach` -> `.forEach`.
fn callee_name(e: &Expr) -> String {
    match (e.path(), e) {
        (Some(p), _) => p,
        (None, Expr::Member(_, m)) => format!(".{m}"),
        _ => "a call".to_owned(),
    }
}

/// A work step's name from the function it awaits: `db.insert`, `downloadFile`.
fn work_name(path: &str) -> String {
    if path.is_empty() { "work".to_owned() } else { path.to_owned() }
}
