//! The environment every run is simulated in: the `environment:` block, the platform keys
//! `coldStart` and `keepWarm` beside `startLatency`, and the same settings written in the
//! `load:` block (`environmentConcurrency`, `burstFactor`, `maxQueueSize`, `batchTokens`,
//! `dequeueInterval`, `dequeueIdleInterval`, `keepWarm`, `coldStart`), which keep their meaning.
//! A setting written in both places must agree; with neither, the default plan applies.

use super::context::{Compiler, get};
use super::values::Unit;
use super::yaml::Node;
use crate::dist::Dist;
use crate::model::{EnvSource, Environment, Plan, TokenBucket};

pub(super) const ENVIRONMENT_KEYS: &[&str] = &[
    "plan",
    "concurrencyLimit",
    "burstFactor",
    "maxQueueSize",
    "batchTokens",
    "dequeueInterval",
    "dequeueIdleInterval",
];

/// The default cold start: the docs give no number ("a few seconds"), so this is an
/// assumption docs/semantics.md states.
pub(super) fn default_cold_start() -> Dist {
    Dist::plain(Dist::lognormal_median_p95(2.0, 6.0))
}

/// The default keep-warm time of a machine after a run (the CLI's warm-start keepalive).
pub(super) const DEFAULT_KEEP_WARM_S: f64 = 300.0;

/// What the platform settings compiled to.
pub(super) struct Platform {
    pub environment: Environment,
    pub cold_start: Dist,
    pub keep_warm_s: f64,
}

/// A setting read from one place: its value and where it is written.
struct Given<'n, T> {
    value: T,
    node: &'n Node,
    key: String,
}

impl Compiler<'_> {
    /// Compiles the environment and the cold-start settings from the top level (`top`) and
    /// the `load:` block, if any.
    pub(super) fn platform(&mut self, top: &[(Node, Node)]) -> Option<Platform> {
        let env = match get(top, "environment") {
            Some(n) => Some((n, self.fields(n, "environment", ENVIRONMENT_KEYS)?)),
            None => None,
        };
        let load = get(top, "load").and_then(|n| n.as_map());
        let mut ok = true;

        // Concurrency: `environment.plan` / `environment.concurrencyLimit`, or
        // `load.environmentConcurrency` (a plan name or a number).
        let mut env_plan = None;
        let mut env_conc: Option<Given<u32>> = None;
        if let Some((n, m)) = env {
            if let Some(v) = get(m, "plan") {
                match self.plan(v, "environment.plan") {
                    Some(p) => env_plan = Some(p),
                    None => ok = false,
                }
            }
            if let Some(v) = get(m, "concurrencyLimit") {
                match self.integer(v, "environment.concurrencyLimit", 1) {
                    Some(c) => env_conc = Some(Given { value: c, node: v, key: "environment.concurrencyLimit".into() }),
                    None => ok = false,
                }
            } else if let Some(p) = env_plan {
                let v = get(m, "plan").unwrap_or(n);
                env_conc = Some(Given { value: p.concurrency(), node: v, key: "environment.plan".into() });
            }
        }
        let mut load_plan = None;
        let mut load_conc: Option<Given<u32>> = None;
        if let Some(v) = load.and_then(|m| get(m, "environmentConcurrency")) {
            let key = "load.environmentConcurrency";
            let c = match v.as_str() {
                Some(s) => match Plan::from_name(s) {
                    Some(p) => {
                        load_plan = Some(p);
                        Some(p.concurrency())
                    }
                    None => {
                        self.err(
                            v,
                            key,
                            format!("unknown plan `{s}`"),
                            Some("free, hobby, pro, or a whole number of concurrent runs".into()),
                        );
                        None
                    }
                },
                None => self.integer(v, key, 1),
            };
            match c {
                Some(c) => load_conc = Some(Given { value: c, node: v, key: key.into() }),
                None => ok = false,
            }
        }
        let concurrency = self.agree(env_conc, load_conc, "the concurrency").map(|g| g.value);
        let plan = env_plan.or(load_plan);
        let source = if env.is_some() {
            EnvSource::Environment
        } else if load_conc_given(load) {
            EnvSource::Load
        } else {
            EnvSource::Default
        };
        // Neither a plan nor a number of slots: the default plan. A number without a plan sets
        // the slots only (no queue size or batch rate limit), as `environmentConcurrency` did.
        let plan = match (plan, concurrency) {
            (None, None) => Some(Environment::DEFAULT_PLAN),
            (p, _) => p,
        };
        let concurrency = concurrency.or(plan.map(|p| p.concurrency())).unwrap_or(1);

        let burst = self.setting(env, load, "burstFactor", |c, v, k| match c.number(v, k, Unit::Plain) {
            Some(b) if b >= 1.0 => Some(b),
            Some(_) => {
                c.err(v, k, "the burst factor must be at least 1", None);
                None
            }
            None => None,
        });
        let max_queue = self.setting(env, load, "maxQueueSize", |c, v, k| c.integer(v, k, 1));
        let tokens = self.setting(env, load, "batchTokens", |c, v, k| c.token_bucket(v, k));
        let every = self.setting(env, load, "dequeueInterval", |c, v, k| c.number(v, k, Unit::Seconds));
        let idle = self.setting(env, load, "dequeueIdleInterval", |c, v, k| c.number(v, k, Unit::Seconds));
        let cold = self.platform_key(top, load, "coldStart", |c, v, k| c.dist(v, k, Unit::Seconds, false));
        let keep_warm = self.platform_key(top, load, "keepWarm", |c, v, k| c.number(v, k, Unit::Seconds));
        let (burst, max_queue, tokens, every, idle, cold, keep_warm) =
            (burst.ok()?, max_queue.ok()?, tokens.ok()?, every.ok()?, idle.ok()?, cold.ok()?, keep_warm.ok()?);
        let dequeue_every_s = every.as_ref().map_or(0.0, |g| g.value);
        let dequeue_idle_s = idle.as_ref().map_or(dequeue_every_s, |g| g.value);
        if let Some(g) = &idle {
            if dequeue_every_s == 0.0 && g.value > 0.0 {
                let set = g.key.replace("dequeueIdleInterval", "dequeueInterval");
                self.err(
                    g.node,
                    &g.key,
                    "an idle interval needs a dequeueInterval",
                    Some(format!("set {set} too (self-hosted: 250ms and 1s)")),
                );
                ok = false;
            } else if dequeue_every_s > 0.0 && g.value <= 0.0 {
                self.err(
                    g.node,
                    &g.key,
                    "the dequeue loop's idle interval must be positive",
                    Some("leave it out to poll every dequeueInterval, or give e.g. 1s".into()),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let environment = Environment {
            plan,
            source,
            concurrency,
            burst_factor: burst.map_or(2.0, |g| g.value),
            max_queue_size: max_queue.map(|g| g.value).or(plan.map(|p| p.max_queue_size())),
            batch_tokens: tokens.map(|g| g.value).or(plan.map(|p| p.batch_tokens())),
            dequeue_every_s,
            dequeue_idle_s,
        };
        Some(Platform {
            environment,
            cold_start: cold.map_or_else(default_cold_start, |g| g.value),
            keep_warm_s: keep_warm.map_or(DEFAULT_KEEP_WARM_S, |g| g.value),
        })
    }

    fn plan(&mut self, v: &Node, key: &str) -> Option<Plan> {
        let s = self.string(v, key)?;
        let p = Plan::from_name(&s);
        if p.is_none() {
            self.err(v, key, format!("unknown plan `{s}`"), Some("free, hobby or pro".into()));
        }
        p
    }

    /// `{ bucket, refill, every }`.
    fn token_bucket(&mut self, v: &Node, k: &str) -> Option<TokenBucket> {
        let tm = self.fields(v, k, &["bucket", "refill", "every"])?;
        let bucket = self.req(v, tm, k, "bucket", |c, n, k| c.number(n, k, Unit::Plain));
        let refill = self.req(v, tm, k, "refill", |c, n, k| c.number(n, k, Unit::Plain));
        let every = self.req(v, tm, k, "every", |c, n, k| c.number(n, k, Unit::Seconds));
        match (bucket, refill, every) {
            (Some(b), Some(r), Some(e)) if b >= 1.0 && r > 0.0 && e > 0.0 => {
                Some(TokenBucket { bucket: b, refill: r, every_s: e })
            }
            (Some(_), Some(_), Some(_)) => {
                self.err(v, k, "bucket must be at least 1, refill and every above 0", None);
                None
            }
            _ => None,
        }
    }

    /// A setting of the environment, written as `environment.NAME` or `load.NAME` (or both,
    /// if they agree). `Err` when it is written wrongly (already reported).
    fn setting<'n, T: PartialEq + std::fmt::Debug>(
        &mut self,
        env: Option<(&'n Node, &'n [(Node, Node)])>,
        load: Option<&'n [(Node, Node)]>,
        name: &str,
        read: impl Fn(&mut Self, &Node, &str) -> Option<T>,
    ) -> Result<Option<Given<'n, T>>, ()> {
        let a = env.and_then(|(_, m)| get(m, name)).map(|v| (v, format!("environment.{name}")));
        let b = load.and_then(|m| get(m, name)).map(|v| (v, format!("load.{name}")));
        self.read_both(a, b, name, read)
    }

    /// A platform key written at the top level (`NAME`) or in the load (`load.NAME`).
    fn platform_key<'n, T: PartialEq + std::fmt::Debug>(
        &mut self,
        top: &'n [(Node, Node)],
        load: Option<&'n [(Node, Node)]>,
        name: &str,
        read: impl Fn(&mut Self, &Node, &str) -> Option<T>,
    ) -> Result<Option<Given<'n, T>>, ()> {
        let a = get(top, name).map(|v| (v, name.to_string()));
        let b = load.and_then(|m| get(m, name)).map(|v| (v, format!("load.{name}")));
        self.read_both(a, b, name, read)
    }

    fn read_both<'n, T: PartialEq + std::fmt::Debug>(
        &mut self,
        a: Option<(&'n Node, String)>,
        b: Option<(&'n Node, String)>,
        what: &str,
        read: impl Fn(&mut Self, &Node, &str) -> Option<T>,
    ) -> Result<Option<Given<'n, T>>, ()> {
        let read_one = |c: &mut Self, x: Option<(&'n Node, String)>| match x {
            Some((node, key)) => match read(c, node, &key) {
                Some(value) => Ok(Some(Given { value, node, key })),
                None => Err(()),
            },
            None => Ok(None),
        };
        let (a, b) = (read_one(self, a), read_one(self, b));
        let (a, b) = (a?, b?);
        Ok(self.agree(a, b, &format!("`{what}`")))
    }

    /// One value from two places: both given must agree (else a located error at the second).
    fn agree<'n, T: PartialEq>(
        &mut self,
        a: Option<Given<'n, T>>,
        b: Option<Given<'n, T>>,
        what: &str,
    ) -> Option<Given<'n, T>> {
        match (a, b) {
            (Some(a), Some(b)) => {
                if a.value != b.value {
                    self.err(
                        b.node,
                        &b.key,
                        format!("{} disagrees with `{}` (line {}) for {what}", b.key, a.key, a.node.line),
                        Some(format!("write it once, in `{}`, or give both the same value", a.key)),
                    );
                }
                Some(a)
            }
            (a, b) => a.or(b),
        }
    }
}

fn load_conc_given(load: Option<&[(Node, Node)]>) -> bool {
    load.is_some_and(|m| get(m, "environmentConcurrency").is_some())
}
