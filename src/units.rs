//! Durations with units: `500ms`, `2s`, `10m`, `1h`, `1d`, `1m30s`; a bare number is seconds.

pub fn parse_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(v) = t.parse::<f64>() {
        return check(v, t);
    }
    let mut total = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("`{t}` is not a duration: expected e.g. 500ms, 2s, 10m, 1h"));
        }
        let v: f64 = rest[..num_len].parse().map_err(|_| format!("`{t}` has a malformed number"))?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "" => return Err(format!("`{t}` needs a unit after {v}: ms, s, m, h or d")),
            u => {
                return Err(format!("unknown unit `{u}` in `{t}`: expected ms, s, m, h or d"));
            }
        };
        total += v * mult;
        rest = rest[unit_len..].trim_start();
    }
    check(total, t)
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
}
