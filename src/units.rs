//! Durations with units: `500ms`, `2s`, `10m`, `1h`, `1d`, `1m30s`, `2 minutes`, `1h 30min`;
//! a bare number is seconds.

/// Every unit spelling a duration accepts, with its length in seconds (listed in errors).
pub const UNITS: &[(&[&str], f64)] = &[
    (&["ms", "msec", "msecs", "millisecond", "milliseconds"], 0.001),
    (&["s", "sec", "secs", "second", "seconds"], 1.0),
    (&["m", "min", "mins", "minute", "minutes"], 60.0),
    (&["h", "hr", "hrs", "hour", "hours"], 3600.0),
    (&["d", "day", "days"], 86400.0),
];

/// The accepted spellings, for error messages: `ms (msec, ...), s (sec, ...), ...`.
pub fn accepted_units() -> String {
    UNITS.iter().map(|(names, _)| format!("{} ({})", names[0], names[1..].join(", "))).collect::<Vec<_>>().join("; ")
}

/// Seconds per unit of `name` (one of [`UNITS`], lower case).
pub fn unit_seconds(name: &str) -> Option<f64> {
    UNITS.iter().find(|(names, _)| names.contains(&name)).map(|(_, s)| *s)
}

pub fn parse_duration(s: &str) -> Result<f64, String> {
    parse_duration_unit(s).map(|(v, _)| v)
}

/// A duration in seconds and the largest unit it was written in (seconds per unit: 60 for
/// `10m` or `1m30s`, 1 for a bare number), so a value can be shown back in that unit.
pub fn parse_duration_unit(s: &str) -> Result<(f64, f64), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(v) = t.parse::<f64>() {
        return check(v, t).map(|v| (v, 1.0));
    }
    let mut total = 0.0;
    let mut largest: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("`{t}` is not a duration: expected e.g. 500ms, 2s, 10m, 1h, 2 minutes"));
        }
        let v: f64 = rest[..num_len].parse().map_err(|_| format!("`{t}` has a malformed number"))?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "" => return Err(format!("`{t}` needs a unit after {v}; accepted units: {}", accepted_units())),
            u => unit_seconds(u)
                .ok_or_else(|| format!("unknown unit `{u}` in `{t}`; accepted units: {}", accepted_units()))?,
        };
        total += v * mult;
        largest = largest.max(mult);
        rest = rest[unit_len..].trim_start();
    }
    check(total, t).map(|v| (v, largest))
}

/// Seconds written back with a unit, as short as it is exact: `500ms`, `10s`, `90s`, `2m`,
/// `2.5m`, `1h` (for messages about values the scenario gave).
pub fn format_duration(s: f64) -> String {
    if !s.is_finite() {
        return format!("{s}s");
    }
    let exact = |unit: f64| {
        let x = s / unit;
        ((x * 1000.0).round() - x * 1000.0).abs() < 1e-9 * x.abs().max(1.0)
    };
    if s >= 86400.0 && exact(86400.0) {
        format!("{}d", trim(s / 86400.0))
    } else if s >= 3600.0 && exact(3600.0) {
        format!("{}h", trim(s / 3600.0))
    } else if s >= 120.0 && exact(60.0) {
        format!("{}m", trim(s / 60.0))
    } else if s != 0.0 && s.abs() < 1.0 {
        format!("{}ms", trim(s * 1000.0))
    } else {
        format!("{}s", trim(s))
    }
}

/// A number with at most three decimals, trailing zeros dropped.
fn trim(x: f64) -> String {
    let t = format!("{x:.3}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" { "0".into() } else { t.to_owned() }
}

fn check(v: f64, t: &str) -> Result<f64, String> {
    if !v.is_finite() {
        Err(format!("`{t}` is not finite"))
    } else if v < 0.0 {
        Err(format!("`{t}` is negative"))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn units() {
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert_eq!(parse_duration("2s"), Ok(2.0));
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert_eq!(parse_duration("1h"), Ok(3600.0));
        assert_eq!(parse_duration("1m30s"), Ok(90.0));
        assert_eq!(parse_duration("1.5"), Ok(1.5));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("10").is_ok());
        assert!(parse_duration("inf").is_err());
    }

    #[test]
    fn every_spelling_with_and_without_a_space() {
        for (names, secs) in UNITS {
            for n in *names {
                assert_eq!(parse_duration(&format!("2{n}")), Ok(2.0 * secs), "2{n}");
                assert_eq!(parse_duration(&format!("2 {n}")), Ok(2.0 * secs), "2 {n}");
            }
        }
        assert_eq!(parse_duration("1 hour 30 minutes"), Ok(5400.0));
        assert_eq!(parse_duration("1h 30min"), Ok(5400.0));
        assert_eq!(parse_duration_unit("1m30s"), Ok((90.0, 60.0)));
        assert_eq!(parse_duration_unit("300"), Ok((300.0, 1.0)));
        let e = parse_duration("2 fortnights").unwrap_err();
        assert!(e.contains("unknown unit `fortnights`") && e.contains("minutes") && e.contains("hrs"), "{e}");
        let e = parse_duration("2").map(|_| ()).and(parse_duration("2 3s").map(|_| ()));
        assert!(e.unwrap_err().contains("needs a unit after 2"));
    }

    #[test]
    fn formats_back_exactly() {
        assert_eq!(format_duration(5.0), "5s");
        assert_eq!(format_duration(10.0), "10s");
        assert_eq!(format_duration(90.0), "90s");
        assert_eq!(format_duration(120.0), "2m");
        assert_eq!(format_duration(150.0), "2.5m");
        assert_eq!(format_duration(3600.0), "1h");
        assert_eq!(format_duration(0.5), "500ms");
        assert_eq!(format_duration(0.0), "0s");
        assert_eq!(format_duration(1.25), "1.25s");
        assert_eq!(format_duration(86400.0 * 2.0), "2d");
    }
}
