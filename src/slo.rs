//! Service-level objectives a design review asserts, e.g. `p95(duration) < 5m`.

use crate::platform;
use crate::units::parse_duration_unit;

#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    /// `pNN(duration|costUsd)`, `mean(..)`, `max(..)`.
    Stat {
        stat: Stat,
        of: Of,
    },
    SuccessRate,
    /// `rate(TIMED_OUT)`: share of runs that ended with this status.
    StatusRate(String),
    /// `rate(429)`: the share of calls to services answered 429 (over every service).
    Limited,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    Quantile(f64),
    Mean,
    Max,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Of {
    Duration,
    CostUsd,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub expr: String,
    pub metric: Metric,
    pub cmp: Cmp,
    pub threshold: f64,
    /// The unit the threshold was written in, to show the measured value in.
    pub unit: Unit,
    /// `p95(duration | tier == pro)`: only the runs whose inputs meet a condition count.
    pub filter: Option<Filter>,
}

/// The runs an SLO is about: those whose inputs meet a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The condition as written (`tier == pro`).
    pub text: String,
    /// The bits of `RunOutcome::marks` a run meeting it has; 0 until the SLO is bound to a
    /// model (`scenario::bind_slos`).
    pub mask: u64,
}

/// The unit of an SLO's threshold: values are shown in it (`p95(duration) < 10m (value 9.3m)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// A duration; seconds per unit of its largest unit (60 for `10m`, 1 for `300`).
    Duration(f64),
    /// US dollars (`costUsd`).
    Usd,
    /// A fraction or a plain number (`successRate`, `rate(..)`).
    Plain,
}

impl Slo {
    pub fn holds(&self, value: f64) -> bool {
        match self.cmp {
            Cmp::Lt => value < self.threshold,
            Cmp::Le => value <= self.threshold,
            Cmp::Gt => value > self.threshold,
            Cmp::Ge => value >= self.threshold,
        }
    }

    /// A value of this SLO's quantity in the unit of its threshold, with as many decimals as
    /// it takes to tell it from the threshold (`9.3m`, `$0.0027`, `0.9987`).
    pub fn show(&self, value: f64) -> String {
        let (scale, suffix, dollar, min) = match self.unit {
            Unit::Duration(u) => (u, unit_suffix(u), false, if u < 1.0 { 0 } else { 1 }),
            Unit::Usd => (1.0, "", true, 4),
            Unit::Plain => (1.0, "", false, 4),
        };
        let (v, t) = (value / scale, self.threshold / scale);
        let mut d = min;
        while d < 9 && value != self.threshold && format!("{v:.d$}") == format!("{t:.d$}") {
            d += 1;
        }
        if dollar && v < 0.01 && d < 6 {
            d = 6;
        }
        format!("{}{v:.d$}{suffix}", if dollar { "$" } else { "" })
    }
}

fn unit_suffix(seconds: f64) -> &'static str {
    match seconds {
        s if s < 1.0 => "ms",
        s if s < 60.0 => "s",
        s if s < 3600.0 => "m",
        s if s < 86400.0 => "h",
        _ => "d",
    }
}

/// Parses one SLO expression; the error says what was expected.
pub fn parse(expr: &str) -> Result<Slo, String> {
    let e = expr.trim();
    // A filter's own comparison sits inside the parentheses: the SLO's comes after them.
    let from = e.rfind(')').map_or(0, |p| p + 1);
    let (pos, op_len, cmp) = ["<=", ">=", "<", ">"]
        .iter()
        .filter_map(|op| e[from..].find(op).map(|p| (from + p, *op)))
        .min_by_key(|(p, op)| (*p, std::cmp::Reverse(op.len())))
        .map(|(p, op)| {
            let c = match op {
                "<=" => Cmp::Le,
                ">=" => Cmp::Ge,
                "<" => Cmp::Lt,
                _ => Cmp::Gt,
            };
            (p, op.len(), c)
        })
        .ok_or_else(|| format!("`{e}` has no comparison: write e.g. `p95(duration) < 5m`"))?;
    let lhs = e[..pos].trim();
    let rhs = e[pos + op_len..].trim();
    let (metric, filter) = parse_metric(lhs)?;
    let (threshold, unit) = match &metric {
        Metric::Stat { of: Of::Duration, .. } => parse_duration_unit(rhs)
            .map(|(v, u)| (v, Unit::Duration(u)))
            .map_err(|m| format!("threshold `{rhs}`: {m}"))?,
        _ => rhs
            .trim_start_matches('$')
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(|v| (v, if matches!(metric, Metric::Stat { of: Of::CostUsd, .. }) { Unit::Usd } else { Unit::Plain }))
            .ok_or_else(|| format!("threshold `{rhs}` is not a number"))?,
    };
    Ok(Slo { expr: e.to_owned(), metric, cmp, threshold, unit, filter })
}

fn parse_metric(s: &str) -> Result<(Metric, Option<Filter>), String> {
    if s == "successRate" {
        return Ok((Metric::SuccessRate, None));
    }
    let expected = "expected pNN(duration|costUsd), mean(..), max(..), successRate, rate(STATUS) or rate(429)";
    let (f, arg) = s
        .strip_suffix(')')
        .and_then(|x| x.split_once('('))
        .ok_or_else(|| format!("unknown metric `{s}`: {expected}"))?;
    let (arg, filter) = match arg.split_once('|') {
        Some((a, c)) if c.trim().is_empty() => {
            return Err(format!("`{s}` has an empty filter: write e.g. `{f}({} | tier == pro)`", a.trim()));
        }
        Some((a, c)) => (a.trim(), Some(Filter { text: c.trim().to_owned(), mask: 0 })),
        None => (arg.trim(), None),
    };
    if f == "rate" && arg == "429" {
        return match filter {
            Some(_) => Err("rate(429) counts every call of every run: it takes no filter".to_owned()),
            None => Ok((Metric::Limited, None)),
        };
    }
    if f == "rate" {
        return if platform::STATUSES.contains(&arg) {
            Ok((Metric::StatusRate(arg.to_owned()), filter))
        } else {
            Err(format!("unknown status `{arg}`: expected one of {}", platform::STATUSES.join(", ")))
        };
    }
    let of = match arg {
        "duration" => Of::Duration,
        "costUsd" => Of::CostUsd,
        _ => {
            return Err(format!("unknown quantity `{arg}`: expected duration or costUsd"));
        }
    };
    let stat = match f {
        "mean" => Stat::Mean,
        "max" => Stat::Max,
        _ => match f.strip_prefix('p').and_then(|n| n.parse::<f64>().ok()) {
            Some(q) if q > 0.0 && q < 100.0 => Stat::Quantile(q / 100.0),
            _ => return Err(format!("unknown statistic `{f}`: {expected}")),
        },
    };
    Ok((Metric::Stat { stat, of }, filter))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_the_example_slos() {
        let a = parse("p95(duration) < 5m").unwrap();
        assert_eq!(a.metric, Metric::Stat { stat: Stat::Quantile(0.95), of: Of::Duration });
        assert_eq!(a.threshold, 300.0);
        assert!(a.holds(299.0) && !a.holds(300.0));
        let b = parse("mean(costUsd) < 0.01").unwrap();
        assert_eq!(b.threshold, 0.01);
        let c = parse("successRate > 0.99").unwrap();
        assert_eq!(c.metric, Metric::SuccessRate);
        assert!(parse("rate(TIMED_OUT) <= 0.001").is_ok());
        assert!(parse("p95(duration)").is_err());
        assert!(parse("p95(latency) < 1s").is_err());
        assert!(parse("rate(LOST) < 1").is_err());
        assert_eq!(parse("rate(429) < 0.01").unwrap().metric, Metric::Limited);
        assert_eq!(parse("mean(costUsd) < $0.01").unwrap().threshold, 0.01);
    }

    #[test]
    fn values_are_shown_in_the_thresholds_unit() {
        let s = |e: &str, v: f64| parse(e).unwrap().show(v);
        assert_eq!(s("p95(duration) < 10m", 558.0), "9.3m");
        assert_eq!(s("p95(duration) < 10m", 33478.924813), "558.0m");
        assert_eq!(s("p95(duration) < 1m30s", 96.0), "1.6m");
        assert_eq!(s("p95(duration) < 300", 33.24), "33.2s");
        assert_eq!(s("p99(duration) < 1h", 4000.0), "1.1h");
        assert_eq!(s("p50(duration) < 500ms", 0.4321), "432ms");
        assert_eq!(s("mean(costUsd) < 0.01", 0.0026724), "$0.002672");
        assert_eq!(s("mean(costUsd) < 0.5", 0.125), "$0.1250");
        assert_eq!(s("successRate > 0.99", 0.9987), "0.9987");
        // Never rounded onto the threshold it is compared with.
        assert_eq!(s("p95(duration) < 5m", 299.9), "4.998m");
        assert_eq!(s("successRate > 0.99", 0.98996), "0.98996");
    }
}
