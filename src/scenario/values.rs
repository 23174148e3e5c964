//! Reading values: mappings with known keys, strings, numbers with units, probabilities,
//! counts, machine presets and distributions, each checked and located; and the bounds a
//! distribution's draws can reach, for the limit checks.

use super::context::{Compiler, CountInfo, get, join, numeric_key, scalar_text};
use super::yaml::{Kind, Node};
use crate::dist::{Dist, Shape};
use crate::error::closest;
use crate::model::*;
use crate::platform::{self, MachineId};
use crate::units::parse_duration;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Unit {
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
            Unit::Seconds => crate::units::format_duration(v),
            Unit::Millis => format!("{v}ms"),
            Unit::Plain => format!("{v}"),
        }
    }
}

pub(super) const SHAPES: &[&str] =
    &["fixed", "uniform", "triangular", "normal", "lognormal", "exponential", "bernoulli", "choice", "empirical"];
pub(super) const MODIFIERS: &[&str] = &["min", "max", "round"];

/// Largest duration wfsim accepts, seconds (about 31.7 years): anything longer is a unit
/// mistake, and a bound keeps every sum of times finite. Draws of unbounded distributions
/// (normal, lognormal, exponential tails) are capped here too.
pub const MAX_SECONDS: f64 = 1e9;
/// Largest plain number (counts, megabytes, prices, attribute values).
pub const MAX_PLAIN: f64 = 1e15;
/// A count or a number of checks is judged by the value its distribution exceeds once in a
/// billion draws (its maximum when it has one): z of a standard normal at that level.
pub(super) const Z_1E9: f64 = 6.0;
/// ln(1e9): the exponential's once-in-a-billion multiple of its mean.
pub(super) const LN_1E9: f64 = 20.723_265_836_946_41;

impl Compiler<'_> {
    /// The entries of a mapping whose keys must all be in `allowed`.
    pub(super) fn fields<'n>(&mut self, n: &'n Node, key: &str, allowed: &[&str]) -> Option<&'n [(Node, Node)]> {
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

    pub(super) fn string(&mut self, n: &Node, key: &str) -> Option<String> {
        match &n.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.err(n, key, format!("expected a string, found {}", n.type_name()), None);
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, n: &Node, key: &str) -> Option<bool> {
        match n.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.err(n, key, format!("expected true or false, found {}", n.type_name()), None);
                None
            }
        }
    }

    /// A single non-negative finite number, in the unit of the context.
    pub(super) fn number(&mut self, n: &Node, key: &str, unit: Unit) -> Option<f64> {
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

    pub(super) fn probability(&mut self, n: &Node, key: &str) -> Option<f64> {
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

    pub(super) fn integer(&mut self, n: &Node, key: &str, min: i64) -> Option<u32> {
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

    pub(super) fn machine(&mut self, n: &Node, key: &str) -> Option<MachineId> {
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
    pub(super) fn dist(&mut self, n: &Node, key: &str, unit: Unit, count: bool) -> Option<Dist> {
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

    pub(super) fn pair_or_triple(&mut self, v: &Node, key: &str, unit: Unit, len: usize) -> Option<Vec<f64>> {
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

    pub(super) fn shape(&mut self, name: &str, v: &Node, key: &str, unit: Unit, count: bool) -> Option<Shape> {
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
    pub(super) fn req<T>(
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

    pub(super) fn add_dist(&mut self, d: Dist) -> u32 {
        self.dists.push(d);
        (self.dists.len() - 1) as u32
    }

    pub(super) fn attr(&mut self, n: &Node, key: &str, name: &str) -> Option<AttrId> {
        match super::condition::attribute(name, &self.inputs) {
            Ok(a) => Some(a),
            Err(e) => {
                self.err(n, key, e.message, e.hint);
                None
            }
        }
    }

    /// How many: a whole number, an input attribute's name, or a distribution.
    pub(super) fn count(&mut self, n: &Node, key: &str) -> Option<CountInfo> {
        let (c, bound, reach, may_be_zero) = match &n.kind {
            Kind::Int(i) if *i < 0 => {
                self.err(
                    n,
                    key,
                    format!("a count cannot be negative, found {i}"),
                    Some("use a whole number of 0 or more (0 skips the step)".into()),
                );
                return None;
            }
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
}

/// The value a draw of `d` exceeds at most once in a billion draws: its upper bound when it
/// has one, else the once-in-a-billion quantile of its tail (normal, lognormal, exponential).
pub(super) fn reach(d: &Dist) -> f64 {
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
pub(super) fn upper(d: &Dist) -> f64 {
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
pub(super) fn lower(d: &Dist) -> f64 {
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
