//! Service-level objectives a design review asserts, e.g. `p95(duration) < 5m`.

use crate::platform;
use crate::units::parse_duration;

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
}

/// Parses one SLO expression; the error says what was expected.
pub fn parse(expr: &str) -> Result<Slo, String> {
    let e = expr.trim();
    let (pos, op_len, cmp) = ["<=", ">=", "<", ">"]
        .iter()
        .filter_map(|op| e.find(op).map(|p| (p, *op)))
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
    let metric = parse_metric(lhs)?;
    let threshold = match &metric {
        Metric::Stat { of: Of::Duration, .. } => parse_duration(rhs).map_err(|m| format!("threshold `{rhs}`: {m}"))?,
        _ => rhs
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("threshold `{rhs}` is not a number"))?,
    };
    Ok(Slo { expr: e.to_owned(), metric, cmp, threshold })
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    if s == "successRate" {
        return Ok(Metric::SuccessRate);
    }
    let expected = "expected pNN(duration|costUsd), mean(..), max(..), successRate or rate(STATUS)";
    let (f, arg) = s
        .strip_suffix(')')
        .and_then(|x| x.split_once('('))
        .ok_or_else(|| format!("unknown metric `{s}`: {expected}"))?;
    let arg = arg.trim();
    if f == "rate" {
        return if platform::STATUSES.contains(&arg) {
            Ok(Metric::StatusRate(arg.to_owned()))
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
    Ok(Metric::Stat { stat, of })
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
    }
}
