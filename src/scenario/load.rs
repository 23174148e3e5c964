//! The `load:` block: arrivals, bursts, replications and the simulated window.

use super::context::{Compiler, get, join};
use super::values::Unit;
use super::yaml::Node;
use crate::model::*;

impl Compiler<'_> {
    pub(super) fn load(&mut self, n: &Node) -> Option<Load> {
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
}
