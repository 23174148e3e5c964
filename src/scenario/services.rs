//! The `services:` block: external services with rate limits, and the work steps' calls to
//! them.

use super::context::{Cx, ServiceSite, get, join};
use super::values::Unit;
use super::yaml::Node;
use crate::error::closest;
use crate::model::*;

pub(super) const SERVICE_KEYS: &[&str] =
    &["rateLimit", "tokensPerMinute", "concurrency", "refill", "key", "description"];

impl Cx<'_> {
    /// `services:` (after `input:`, whose attributes a `key:` names).
    pub(super) fn services(&mut self, n: &Node) {
        let Some(m) = n.as_map() else {
            self.err(
                n,
                "services",
                format!("expected a mapping of service name: limits, found {}", n.type_name()),
                None,
            );
            return;
        };
        let mut first = 0u32;
        for (k, v) in m {
            let Some(name) = self.string(k, "services") else { continue };
            let key = join("services", &name);
            let Some(s) = self.service(&name, v, &key, first) else { continue };
            first += s.slots();
            self.service_sites.push(ServiceSite { line: k.line, column: k.column, key });
            self.services.push(s);
        }
    }

    fn service(&mut self, name: &str, n: &Node, key: &str, first: u32) -> Option<Service> {
        let m = self.fields(n, key, SERVICE_KEYS)?;
        let mut ok = true;
        let (mut limit, mut window_s) = (f64::INFINITY, 60.0);
        if let Some(r) = get(m, "rateLimit") {
            let rk = join(key, "rateLimit");
            match self.fields(r, &rk, &["perMinute", "perSecond"]) {
                Some(rm) => match (get(rm, "perMinute"), get(rm, "perSecond")) {
                    (Some(_), Some(b)) => {
                        self.err(b, &join(&rk, "perSecond"), "give perMinute or perSecond, not both", None);
                        ok = false;
                    }
                    (Some(x), None) | (None, Some(x)) => {
                        let per_minute = get(rm, "perMinute").is_some();
                        let kk = join(&rk, if per_minute { "perMinute" } else { "perSecond" });
                        match self.number(x, &kk, Unit::Plain) {
                            Some(v) if v >= 1.0 => {
                                limit = v;
                                window_s = if per_minute { 60.0 } else { 1.0 };
                            }
                            Some(v) => {
                                self.err(x, &kk, format!("a rate limit must allow at least 1 call, found {v}"), None);
                                ok = false;
                            }
                            None => ok = false,
                        }
                    }
                    (None, None) => {
                        self.err(r, &rk, "missing key `perMinute` (or `perSecond`)", None);
                        ok = false;
                    }
                },
                None => ok = false,
            }
        }
        let tokens_per_minute = match get(m, "tokensPerMinute") {
            Some(x) => match self.number(x, &join(key, "tokensPerMinute"), Unit::Plain) {
                Some(v) if v >= 1.0 => Some(v),
                Some(v) => {
                    self.err(x, &join(key, "tokensPerMinute"), format!("expected at least 1 token, found {v}"), None);
                    ok = false;
                    None
                }
                None => {
                    ok = false;
                    None
                }
            },
            None => None,
        };
        let concurrency = match get(m, "concurrency") {
            Some(x) => {
                let c = self.integer(x, &join(key, "concurrency"), 1);
                ok &= c.is_some();
                c
            }
            None => None,
        };
        let refill = match get(m, "refill") {
            None => Refill::TokenBucket,
            Some(x) => {
                match x.as_str() {
                    Some("tokenBucket") => Refill::TokenBucket,
                    Some("fixedWindow") => Refill::FixedWindow,
                    _ => {
                        self.err(
                        x,
                        &join(key, "refill"),
                        "expected `tokenBucket` or `fixedWindow`",
                        Some("tokenBucket (the default) refills continuously; fixedWindow resets a counter every window".into()),
                    );
                        ok = false;
                        Refill::TokenBucket
                    }
                }
            }
        };
        let key_attr = match get(m, "key") {
            Some(x) => {
                let k = self.key_attr(x, &join(key, "key"), "a service key");
                ok &= k.is_some();
                k
            }
            None => None,
        };
        if limit.is_infinite() && tokens_per_minute.is_none() && concurrency.is_none() {
            self.err(
                n,
                key,
                format!("service `{name}` has no limit"),
                Some("give rateLimit: { perMinute: N }, tokensPerMinute or concurrency".into()),
            );
            ok = false;
        }
        ok.then(|| Service {
            name: name.to_owned(),
            limit,
            window_s,
            tokens_per_minute,
            concurrency,
            refill,
            key: key_attr,
            first,
        })
    }

    /// A work step's `service:` and `tokens:`.
    pub(super) fn service_call(&mut self, sn: &Node, tokens: Option<&Node>, key: &str) -> Option<ServiceCall> {
        let name = self.string(sn, &join(key, "service"))?;
        let Some(i) = self.services.iter().position(|s| s.name == name) else {
            let names: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
            let hint = match closest(&name, &names) {
                Some(c) => format!("did you mean `{c}`? services: {}", names.join(", ")),
                None if names.is_empty() => "declare it under `services:` at the top level".to_owned(),
                None => format!("services: {}", names.join(", ")),
            };
            self.err(sn, &join(key, "service"), format!("unknown service `{name}`"), Some(hint));
            return None;
        };
        let s = &self.services[i];
        let has_tpm = s.tokens_per_minute.is_some();
        let tokens = match tokens {
            Some(t) => {
                let tk = join(key, "tokens");
                let d = self.dist(t, &tk, Unit::Plain, true)?;
                if !has_tpm {
                    self.warn(
                        t,
                        &tk,
                        format!("service `{name}` sets no tokensPerMinute: the tokens are not limited"),
                        None,
                    );
                }
                self.add_dist(d)
            }
            None => {
                if has_tpm {
                    self.warn(
                        sn,
                        &join(key, "service"),
                        format!("service `{name}` limits tokens per minute but the step gives no `tokens:`"),
                        Some(
                            "add tokens: (a number or a distribution per call); without it the call counts none".into(),
                        ),
                    );
                }
                NONE
            }
        };
        Some(ServiceCall { service: i as u32, tokens })
    }
}
