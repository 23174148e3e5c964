//! The top level of a scenario: prices, limits, defaults, input attributes, tasks (machine,
//! retry, queue, maxDuration, progress) and SLOs, compiled into a [`Model`].

use super::context::{Compiler, Defaults, get, join, numeric_key, scalar_text};
use super::values::Unit;
use super::yaml::Node;
use crate::dist::{Dist, Shape};
use crate::error::Severity;
use crate::model::*;
use crate::platform::{self, PRESETS, RetryPolicy};

pub(super) const TOP_KEYS: &[&str] = &[
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
    "services",
];

pub(super) const TASK_KEYS: &[&str] = &[
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

pub(super) const RETRY_KEYS: &[&str] =
    &["maxAttempts", "factor", "minTimeoutInMs", "maxTimeoutInMs", "randomize", "outOfMemory"];

impl Compiler<'_> {
    pub(super) fn compile(&mut self, root: &Node) -> Option<Model> {
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
        if let Some(n) = get(top, "services") {
            self.services(n);
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
            slos: Vec::new(),
            marks: Vec::new(),
            segments: Vec::new(),
            service_slots: self.services.iter().map(Service::slots).sum(),
            services: std::mem::take(&mut self.services),
            direct: std::sync::OnceLock::new(),
        };
        model.queues = model.queue_layout();
        if let Err((i, e)) = super::condition::bind_slos(&mut model, slos) {
            let key = format!("slo[{i}]");
            match get(top, "slo").and_then(|n| n.as_seq()).and_then(|s| s.get(i)) {
                Some(n) => self.err(n, &key, format!("filter: {}", e.message), e.hint),
                None => self.err(root, &key, format!("filter: {}", e.message), e.hint),
            }
        }
        if !self.diags.iter().any(|d| d.severity == Severity::Error) {
            super::lint::run(self, &model);
        }
        Some(model)
    }

    pub(super) fn prices(&mut self, n: Option<&Node>) -> (f64, [f64; 7]) {
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

    pub(super) fn limits(&mut self, n: Option<&Node>) -> Limits {
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

    pub(super) fn defaults(&mut self, n: Option<&Node>) -> Defaults {
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

    pub(super) fn max_duration(&mut self, n: &Node, key: &str) -> Option<f64> {
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

    pub(super) fn input(&mut self, n: &Node) {
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

    pub(super) fn retry(&mut self, n: &Node, key: &str, allow_oom: bool) -> Option<RetryPolicy> {
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

    pub(super) fn task(&mut self, id: TaskId, name: &str, kn: &Node, n: &Node, d: &Defaults) -> Option<Task> {
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

    pub(super) fn progress(&mut self, n: &Node, key: &str) -> Option<(f64, f64)> {
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

    pub(super) fn queue(&mut self, n: &Node, key: &str) -> Option<QueueSpec> {
        let m = self.fields(n, key, &["name", "concurrencyLimit"])?;
        let name = self.req(n, m, key, "name", |c, n, k| c.string(n, k))?;
        let concurrency_limit = match get(m, "concurrencyLimit") {
            Some(v) => Some(self.integer(v, &join(key, "concurrencyLimit"), 1)?),
            None => None,
        };
        Some(QueueSpec { name, concurrency_limit })
    }

    // ---------------------------------------------------------------- steps

    pub(super) fn slos(&mut self, n: &Node) -> Vec<crate::slo::Slo> {
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
}
