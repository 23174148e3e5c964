//! Root runs over time to a `load:` block: the mean rate per minute, Poisson or constant
//! spacing, and a schedule of rates per window where the rate varies.
//!
//! The spacing: the coefficient of variation of the gaps between root runs is 1 for Poisson
//! arrivals and 0 for evenly spaced ones; below 0.5 the arrivals are written `constant`. The
//! schedule: the period is cut into windows (one per 20 arrivals, 2 to 24 of them), and when
//! the counts per window are more uneven than a constant rate allows (a chi-square test of
//! equal counts at the 1% level), each window gets its own rate.

/// The fitted arrivals.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrivals {
    pub n: usize,
    /// From the first to the last root run, seconds.
    pub span_s: f64,
    /// Root runs per minute over the span.
    pub per_minute: f64,
    pub poisson: bool,
    /// Coefficient of variation of the gaps.
    pub cv: f64,
    /// (until, per minute) per window, seconds from the first root run; empty when the rate
    /// does not vary.
    pub schedule: Vec<(f64, f64)>,
    /// The chi-square statistic of the counts per window, its degrees of freedom and its
    /// 1% critical value.
    pub chi2: (f64, usize, f64),
}

/// `None` with fewer than 2 root runs or no time between them.
pub fn fit(times: &[f64]) -> Option<Arrivals> {
    let mut t: Vec<f64> = times.iter().copied().filter(|x| x.is_finite()).collect();
    if t.len() < 2 {
        return None;
    }
    t.sort_by(f64::total_cmp);
    let (t0, t1) = (t[0], t[t.len() - 1]);
    let span = t1 - t0;
    if span <= 0.0 {
        return None;
    }
    let n = t.len();
    // n arrivals in the span: the n - 1 gaps between them cover it.
    let per_minute = (n - 1) as f64 / span * 60.0;
    let gaps: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let gm = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let gsd = (gaps.iter().map(|g| (g - gm).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
    let cv = if gm > 0.0 { gsd / gm } else { 0.0 };
    let bins = (n / 20).clamp(2, 24);
    let width = span / bins as f64;
    let mut counts = vec![0usize; bins];
    for &x in &t {
        counts[(((x - t0) / width) as usize).min(bins - 1)] += 1;
    }
    let e = n as f64 / bins as f64;
    let chi2 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum::<f64>();
    let df = bins - 1;
    let crit = chi2_crit_99(df as f64);
    let schedule = if n >= 40 && chi2 > crit {
        counts.iter().enumerate().map(|(i, &c)| ((i + 1) as f64 * width, c as f64 / width * 60.0)).collect()
    } else {
        Vec::new()
    };
    Some(Arrivals { n, span_s: span, per_minute, poisson: cv >= 0.5, cv, schedule, chi2: (chi2, df, crit) })
}

/// The 99th percentile of a chi-square distribution with `k` degrees of freedom
/// (Wilson-Hilferty: within 2% of the table at k = 1, within 0.5% from k = 3).
pub fn chi2_crit_99(k: f64) -> f64 {
    let z = 2.326_347_874;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_quantiles_against_the_table() {
        // Table values: 6.635 (1), 11.345 (3), 23.209 (10), 41.638 (23).
        for (k, v) in [(3.0, 11.345), (10.0, 23.209), (23.0, 41.638)] {
            assert!((chi2_crit_99(k) / v - 1.0).abs() < 0.005, "{k}");
        }
        assert!((chi2_crit_99(1.0) / 6.635 - 1.0).abs() < 0.02);
    }

    #[test]
    fn a_rate_that_changes_gets_a_schedule() {
        // Poisson arrivals: 5 a minute for an hour, then 30 a minute for an hour (fixed seed).
        let mut rng = crate::rng::stream(3);
        let mut t = Vec::new();
        let mut now = 0.0;
        while now < 7200.0 {
            let rate = if now < 3600.0 { 5.0 } else { 30.0 };
            now += crate::dist::exp1(&mut rng) * 60.0 / rate;
            t.push(now);
        }
        let a = fit(&t).unwrap();
        assert!(a.poisson, "cv {}", a.cv);
        assert!(!a.schedule.is_empty(), "chi2 {:?}", a.chi2);
        // Each window's rate within 4 standard errors (count / width: sqrt(count) / width).
        for &(until, r) in &a.schedule {
            let width = a.span_s / a.schedule.len() as f64;
            let mid = until - width / 2.0 + t[0];
            let truth = if mid < 3600.0 { 5.0 } else { 30.0 };
            let se = (r * width / 60.0).sqrt() / (width / 60.0);
            // A window straddling the change holds a mix of both rates.
            if (mid - 3600.0).abs() > width / 2.0 {
                assert!((r - truth).abs() < 4.0 * se.max(1e-9), "{r} against {truth} at {mid}");
            }
        }
        // A constant rate over the same span is left without a schedule.
        let mut rng = crate::rng::stream(4);
        let (mut u, mut now) = (Vec::new(), 0.0);
        while now < 7200.0 {
            now += crate::dist::exp1(&mut rng) * 60.0 / 17.5;
            u.push(now);
        }
        assert!(fit(&u).unwrap().schedule.is_empty());
    }

    #[test]
    fn evenly_spaced_runs_are_constant_at_their_rate() {
        let t: Vec<f64> = (0..121).map(|i| 1000.0 + i as f64 * 2.0).collect();
        let a = fit(&t).unwrap();
        assert!((a.per_minute - 30.0).abs() < 1e-9);
        assert!(!a.poisson);
        assert!(a.schedule.is_empty());
    }
}
