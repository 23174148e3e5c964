//! How numbers are shown to people: durations, dollars and counts, the same in tables,
//! charts, reports and diagnostics. A leaf: it knows nothing of scenarios or results.

/// Seconds as a short human duration.
pub fn secs(s: f64) -> String {
    if !s.is_finite() {
        "-".into()
    } else if s < 1.0 {
        format!("{:.0}ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1}s")
    } else if s < 7200.0 {
        format!("{:.1}m", s / 60.0)
    } else {
        format!("{:.1}h", s / 3600.0)
    }
}

/// Dollars: six decimals under a cent, four above.
pub fn usd(v: f64) -> String {
    if v == 0.0 {
        "$0".into()
    } else if v < 0.01 {
        format!("${v:.6}")
    } else {
        format!("${v:.4}")
    }
}

/// 5000000 -> "5,000,000"; huge values in scientific notation.
pub fn count(x: f64) -> String {
    if !x.is_finite() {
        return "unboundedly many".into();
    }
    if x >= 1e15 {
        return format!("{x:.1e}");
    }
    let digits = format!("{}", x.round() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds as written in a scenario: `250ms`, `2.5s` (to the millisecond).
pub fn exact_secs(s: f64) -> String {
    if s < 1.0 && s > 0.0 { format!("{:.0}ms", s * 1000.0) } else { format!("{}s", (s * 1000.0).round() / 1000.0) }
}

/// A limit as it would be written: `5m`, `1h`, `90s`, `2.5s`.
pub fn limit(s: f64) -> String {
    if s >= 3600.0 && s % 3600.0 == 0.0 {
        format!("{}h", s / 3600.0)
    } else if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        exact_secs(s)
    }
}
