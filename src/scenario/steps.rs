//! A task's steps compiled into its program: work, waits, polls, triggers, batches,
//! branches, parallel blocks and their conditions, with the trigger edges and repeats that
//! the graph and limit checks read.

use super::context::{Compiler, CountInfo, Edge, Loc, Repeat, get, join};
use super::values::{Unit, reach};
use super::yaml::{Kind, Node};
use crate::dist::Shape;
use crate::error::closest;
use crate::model::*;
use crate::platform::{self, PRESETS, cpu_scale};

pub(super) const STEP_KINDS: &[&str] = &[
    "work",
    "wait",
    "branch",
    "parallel",
    "repeat",
    "triggerAndWait",
    "trigger",
    "batchTrigger",
    "batchTriggerAndWait",
    "poll",
];
pub(super) const WORK_KEYS: &[&str] = &[
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
    "service",
    "tokens",
];

impl Compiler<'_> {
    pub(super) fn locate(&mut self, pc: u32, field: &'static str, n: &Node, key: &str) {
        self.locs.push(Loc { pc, field, line: n.line, column: n.column, key: key.to_owned() });
    }

    /// Records a step that repeats `reach` times, for [`Compiler::check_limits`].
    pub(super) fn repeat(&mut self, task: TaskId, n: &Node, key: &str, reach: f64, per: f64, what: &'static str) {
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

    pub(super) fn task_ref(&mut self, n: &Node, key: &str) -> Option<TaskId> {
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

    /// Does this step move the task's own progress bar? Steps that only wait on a child
    /// with its own slice do not (the child moves the bar), nor do fire-and-forget triggers.
    pub(super) fn counts_progress(&self, step: &Node) -> bool {
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

    pub(super) fn block(&mut self, n: &Node, key: &str, task: TaskId, prog: Prog) {
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

    pub(super) fn step(&mut self, n: &Node, key: &str, task: TaskId, prog: Prog) {
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
            "parallel" | "repeat" => {
                let repeat = kind == "repeat";
                let limit_key = v.as_map().and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("limit")));
                if repeat && let Some((l, _)) = limit_key {
                    self.err(
                        l,
                        &join(&key, "limit"),
                        "a `repeat` runs one iteration at a time: it has no `limit`",
                        Some("leave out `limit`, or use `parallel: { count, limit, steps }` for items at once".into()),
                    );
                    return;
                }
                let allowed: &[&str] = if repeat { &["count", "steps"] } else { &["count", "limit", "steps"] };
                let Some(pm) = self.fields(v, &key, allowed) else {
                    return;
                };
                let count = self.req(v, pm, &key, "count", |c, n, k| c.count(n, k));
                // A loop runs one iteration after the other: one item at a time.
                let limit = match get(pm, "limit") {
                    Some(l) => self.integer(l, &join(&key, "limit"), 1),
                    None if repeat => Some(1),
                    None => Some(u32::MAX),
                };
                let at = self.ops.len();
                self.ops.push(Op::End);
                let (outer_mult, outer_sure) = (self.mult, self.sure);
                if let Some(c) = count {
                    let n = get(pm, "count").unwrap_or(v);
                    let what = if repeat {
                        "the `repeat` count can reach {} iterations"
                    } else {
                        "the `parallel` count can reach {} items"
                    };
                    self.repeat(task, n, &join(&key, "count"), c.reach, 1.0, what);
                    self.mult *= c.reach;
                    self.sure &= !c.may_be_zero;
                }
                match get(pm, "steps") {
                    Some(s) => self.block(s, &join(&key, "steps"), task, Prog::NONE),
                    None => {
                        let each = if repeat { "iteration" } else { "item" };
                        let help = format!(
                            "add `steps:`, the steps each {each} runs, e.g. `steps: [ {{ work: {{ duration: 2s }} }} ]`"
                        );
                        self.err(v, &key, "missing key `steps`", Some(help))
                    }
                }
                (self.mult, self.sure) = (outer_mult, outer_sure);
                self.ops.push(Op::EndItem);
                if let (Some(c), Some(limit)) = (count, limit) {
                    self.ops[at] = Op::Parallel { count: c.idx, limit, cont: self.ops.len() as u32, prog, repeat };
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

    pub(super) fn work(&mut self, v: &Node, key: &str, task: TaskId, prog: Prog) {
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
        let service = match get(m, "service") {
            Some(sn) => {
                let c = self.service_call(sn, get(m, "tokens"), key);
                if c.is_some() {
                    self.locate(self.ops.len() as u32, "service", sn, &join(key, "service"));
                }
                c
            }
            None => {
                if let Some(t) = get(m, "tokens") {
                    self.warn(t, &join(key, "tokens"), "tokens has no effect without service:", None);
                }
                None
            }
        };
        if failure > 0.0
            || service.is_some()
            || memory_mb.is_some_and(|d| reach(&self.dists[d as usize]) > self.room_mb)
        {
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
                service,
            });
            self.ops.push(Op::Work { spec: (self.works.len() - 1) as u32, prog });
        }
    }

    pub(super) fn duration(&mut self, n: &Node, key: &str, task: TaskId) -> Option<DurSpec> {
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

    pub(super) fn trigger(&mut self, kind: &str, v: &Node, key: &str, task: TaskId, prog: Prog) {
        let batch = kind.starts_with("batch");
        let waits = kind.ends_with("AndWait");
        let (child, count, idem, unwrap, machine) = if v.as_map().is_some() {
            let mut allowed = vec!["task", "idempotencyKey", "machine"];
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
            let machine = match get(m, "machine") {
                Some(n) => match self.machine(n, &join(key, "machine")) {
                    Some(p) => Some(p),
                    None => return,
                },
                None => None,
            };
            (child, count, idem, unwrap, machine)
        } else {
            if batch {
                self.err(v, key, format!("expected {{ task, count }}, found {}", v.type_name()), None);
                return;
            }
            (self.task_ref(v, key), None, false, true, None)
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
            (false, true) => Op::TriggerAndWait { task: child, idempotent: idem, unwrap, prog, machine },
            (true, true) => match count {
                Some(count) => {
                    Op::BatchTriggerAndWait { task: child, count: count.idx, idempotent: idem, unwrap, prog, machine }
                }
                None => return,
            },
            (false, false) => {
                self.counts.push(Count::Fixed(1));
                let count = (self.counts.len() - 1) as u32;
                Op::Trigger { task: child, count, batch: false, idempotent: idem, machine }
            }
            (true, false) => match count {
                Some(count) => Op::Trigger { task: child, count: count.idx, batch: true, idempotent: idem, machine },
                None => return,
            },
        };
        self.ops.push(op);
    }

    pub(super) fn branch(&mut self, v: &Node, key: &str, task: TaskId, prog: Prog) {
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
    pub(super) fn cond(&mut self, n: &Node, key: &str) -> Option<u32> {
        let Kind::Str(text) = &n.kind else {
            self.err(
                n,
                key,
                format!("expected a condition like `scanned` or `tier == pro`, found {}", n.type_name()),
                None,
            );
            return None;
        };
        match super::condition::parse(text, &self.inputs) {
            Ok(cond) => {
                self.conds.push(cond);
                Some((self.conds.len() - 1) as u32)
            }
            Err(e) => {
                self.err(n, key, e.message, e.hint);
                None
            }
        }
    }

    /// `concurrencyKey: tenant`: a choice of names, or whole numbers 0..n (at most 100,000).
    pub(super) fn concurrency_key(&mut self, v: &Node, key: &str) -> Option<(AttrId, u32)> {
        self.key_attr(v, key, "a concurrency key")
    }

    /// An input attribute whose values each get their own copy of something (a queue, a
    /// service's limit): a choice of names, or whole numbers 0..n (at most 100,000).
    pub(super) fn key_attr(&mut self, v: &Node, key: &str, what: &str) -> Option<(AttrId, u32)> {
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
                    format!("`{name}` must take whole values from 0 to 99,999 to be {what}"),
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
}
