//! Pure statistics: quantiles, means with confidence intervals. No simulation types here.

/// Quantile `q` in [0, 1] of sorted data, linear interpolation between order statistics
/// (Hyndman and Fan type 7, numpy's default). `None` for no data.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Sum in a fixed order (the caller's), so results do not depend on threads.
pub fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) }
}

/// Mean and the half-width of its 95% confidence interval (normal approximation,
/// 1.96 standard errors).
pub fn mean_ci95(v: &[f64]) -> Option<(f64, f64)> {
    let m = mean(v)?;
    if v.len() < 2 {
        return Some((m, 0.0));
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    Some((m, 1.96 * (var / v.len() as f64).sqrt()))
}

/// The usual summary of a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub ci95: f64,
    pub min: f64,
    pub max: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Summary {
    /// Summarises `v` (sorted in place). `None` for no data.
    pub fn of(v: &mut [f64]) -> Option<Summary> {
        let (mean, ci95) = mean_ci95(v)?;
        v.sort_unstable_by(f64::total_cmp);
        let q = |p| quantile_sorted(v, p).unwrap_or(f64::NAN);
        Some(Summary {
            n: v.len(),
            mean,
            ci95,
            min: v[0],
            max: v[v.len() - 1],
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn type7_quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert_eq!(quantile_sorted(&v, 0.0), Some(1.0));
        assert_eq!(quantile_sorted(&v, 1.0), Some(4.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
        let mut w = vec![3.0, 1.0, 2.0];
        let s = Summary::of(&mut w).unwrap();
        assert_eq!((s.min, s.p50, s.max, s.mean), (1.0, 2.0, 3.0, 2.0));
    }
}
