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

/// Quantiles `qs` (ascending, in [0, 1]) of unsorted data, the same numbers as
/// [`quantile_sorted`] on the sorted data, found by selection instead of a sort: each needs
/// the order statistics at `floor(h)` and `ceil(h)`, and each selection works on the part
/// of the data above the previous one (O(n) per quantile instead of O(n log n) in all,
/// which matters for the 20 progress levels of a million runs). Reorders `v`.
pub fn quantiles_select(v: &mut [f64], qs: &[f64]) -> Vec<Option<f64>> {
    let n = v.len();
    if n == 0 {
        return vec![None; qs.len()];
    }
    let mut out = Vec::with_capacity(qs.len());
    // Everything before `from` is at or below v[from - 1] and already placed.
    let mut from = 0;
    for &q in qs {
        let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        debug_assert!(lo + 1 >= from, "quantiles must be ascending");
        let start = from.min(lo);
        let (_, x_lo, _) = v[start..].select_nth_unstable_by(lo - start, f64::total_cmp);
        let x_lo = *x_lo;
        // After the selection, v[lo + 1..] holds the larger values: its minimum is v[hi].
        let x_hi = if hi == lo { x_lo } else { v[lo + 1..].iter().copied().fold(f64::INFINITY, f64::min) };
        out.push(Some(x_lo + (h - lo as f64) * (x_hi - x_lo)));
        from = lo + 1;
    }
    out
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

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the multiplier of a
/// two-sided 95% interval): exact to 3 decimals for 1 to 30 (tabulated), then the
/// Cornish-Fisher expansion in 1/df (error under 1e-4), tending to 1.95996.
pub fn t975(df: u64) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df as usize - 1],
        _ => {
            let (z, n) = (1.959_963_985, df as f64);
            let (z3, z5) = (z * z * z, z * z * z * z * z);
            z + (z3 + z) / (4.0 * n) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        }
    }
}

/// Mean and the half-width of its 95% interval by Student's t, for a few independent
/// observations (replication means): `t975(n - 1) * sd / sqrt(n)`. One observation: the
/// half-width is NaN (no spread to estimate it from).
pub fn mean_ci95_t(v: &[f64]) -> Option<(f64, f64)> {
    let m = mean(v)?;
    if v.len() < 2 {
        return Some((m, f64::NAN));
    }
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64;
    Some((m, t975(v.len() as u64 - 1) * (var / v.len() as f64).sqrt()))
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
    /// Summarises `v` (reordered in place). `None` for no data.
    pub fn of(v: &mut [f64]) -> Option<Summary> {
        let (mean, ci95) = mean_ci95(v)?;
        let min = v.iter().copied().min_by(f64::total_cmp)?;
        let max = v.iter().copied().max_by(f64::total_cmp)?;
        let q = quantiles_select(v, &[0.5, 0.9, 0.95, 0.99]);
        let q = |i: usize| q[i].unwrap_or(f64::NAN);
        Some(Summary { n: v.len(), mean, ci95, min, max, p50: q(0), p90: q(1), p95: q(2), p99: q(3) })
    }
}

#[cfg(test)]
mod tests {
    use super::{mean_ci95_t, t975};

    /// Student's t 0.975 quantiles against a printed table (1: 12.706, 4: 2.776, 30: 2.042;
    /// 40: 2.021, 120: 1.980 from the expansion past the tabulated range) and the interval by
    /// hand: [0, 6, 6] has mean 4, standard error 2, so t(2) x 2 = 4.303 x 2 = 8.606.
    #[test]
    fn t_quantiles_and_the_t_interval_by_hand() {
        for (df, want) in [(1, 12.706), (4, 2.776), (30, 2.042), (40, 2.021), (120, 1.980)] {
            assert!((t975(df) - want).abs() < 6e-4, "df {df}: {} vs {want}", t975(df));
        }
        assert!(t975(0).is_nan());
        assert!((t975(1_000_000) - 1.959_964).abs() < 1e-5);
        let (m, h) = mean_ci95_t(&[0.0, 6.0, 6.0]).unwrap();
        assert_eq!(m, 4.0);
        assert!((h - 8.606).abs() < 1e-9, "{h}");
        assert!(mean_ci95_t(&[3.0]).unwrap().1.is_nan());
        assert!(mean_ci95_t(&[]).is_none());
    }

    use super::*;

    #[test]
    fn selection_gives_the_same_quantiles_as_sorting() {
        let qs = [0.0, 0.1, 0.25, 0.5, 0.5, 0.9, 0.95, 0.99, 1.0];
        for n in [1usize, 2, 3, 10, 101, 1000, 4097] {
            // Ties and a spread of values, in a scrambled order.
            let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 613) as f64 * 0.25 + (i % 3) as f64).collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let mut w = v.clone();
            let got = quantiles_select(&mut w, &qs);
            for (q, g) in qs.iter().zip(got) {
                assert_eq!(g, quantile_sorted(&sorted, *q), "n {n} q {q}");
            }
        }
        assert_eq!(quantiles_select(&mut [], &[0.5]), vec![None]);
    }
    /// Hand-computed: [0, 6, 6] has mean 4, sample variance ((-4)^2 + 2^2 + 2^2) / (3 - 1) =
    /// 12, standard error sqrt(12 / 3) = 2, so the half-width is 1.96 x 2 = 3.92. (With the
    /// population variance, 8, it would be 1.96 x sqrt(8 / 3) = 3.20; without the square
    /// root 7.84.)
    #[test]
    fn mean_ci95_by_hand() {
        let (m, h) = mean_ci95(&[0.0, 6.0, 6.0]).unwrap();
        assert_eq!(m, 4.0);
        assert!((h - 3.92).abs() < 1e-12, "{h}");
        // [1, 2, 3, 4, 10]: mean 4, squared deviations 9 + 4 + 1 + 0 + 36 = 50, variance 12.5,
        // standard error sqrt(2.5) = 1.5811388.
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 10.0]).unwrap();
        assert_eq!(m, 4.0);
        assert!((h - 1.96 * 1.581_138_830_084_19).abs() < 1e-12, "{h}");
        // One value: no spread to estimate, a zero half-width; none: nothing.
        assert_eq!(mean_ci95(&[7.5]), Some((7.5, 0.0)));
        assert_eq!(mean_ci95(&[]), None);
        let mut v = vec![6.0, 0.0, 6.0];
        let s = Summary::of(&mut v).unwrap();
        assert_eq!((s.n, s.mean), (3, 4.0));
        assert!((s.ci95 - 3.92).abs() < 1e-12, "{}", s.ci95);
    }

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

/// A mergeable histogram with logarithmic buckets: any quantile it returns is within a
/// relative error of `ALPHA` of a value of the sample at that rank (the DDSketch idea).
///
/// Buckets come straight from the bits of an `f64`: each power of two is cut into
/// `SUB` = 128 equal slices of its mantissa, so a bucket `[lo, hi)` has `hi / lo <= 1 + 1/128`
/// and its representative `2 lo hi / (lo + hi)` is within `ALPHA` = 1 / (2 SUB + 1) = 0.39% of
/// any value in it. No logarithm is taken per value. Memory grows with the
/// range of the values (about 425 buckets per factor of ten), not with their number;
/// merging adds counts, so results do not depend on merge order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogHistogram {
    /// Index of `counts[0]`.
    lo: i32,
    counts: Vec<u64>,
    /// Values at or below `TINY` (zeros included).
    zeros: u64,
    n: u64,
}

impl LogHistogram {
    /// The histogram's state: index of the first bucket, bucket counts, values at or below
    /// the smallest bucket, and the count of all values (for storing it, e.g. in a shard file).
    pub fn raw(&self) -> (i32, &[u64], u64, u64) {
        (self.lo, &self.counts, self.zeros, self.n)
    }

    /// A histogram from the state [`LogHistogram::raw`] gave.
    pub fn from_raw(lo: i32, counts: Vec<u64>, zeros: u64, n: u64) -> LogHistogram {
        LogHistogram { lo, counts, zeros, n }
    }

    /// Slices per power of two (a power of two: the index is a shift of the mantissa).
    const SUB_BITS: u32 = 7;
    const SUB: i32 = 1 << Self::SUB_BITS;
    /// Relative accuracy of quantiles: 1 / (2 SUB + 1) = 1/257, about 0.39%.
    pub const ALPHA: f64 = 1.0 / (2 * Self::SUB + 1) as f64;
    const TINY: f64 = 1e-9;

    pub fn count(&self) -> u64 {
        self.n
    }

    /// Bucket of a positive, finite, normal `x`: exponent * SUB + top mantissa bits. The
    /// biased exponent and the mantissa sit side by side in the bits (the sign is 0), so one
    /// shift gives both, and removing the bias gives the index.
    #[inline]
    fn index(x: f64) -> i32 {
        ((x.to_bits() >> (52 - Self::SUB_BITS)) as i32) - (1023 << Self::SUB_BITS)
    }

    /// Bounds `[lo, hi)` of bucket `i`.
    fn bounds(i: i32) -> (f64, f64) {
        let (e, j) = (i.div_euclid(Self::SUB), i.rem_euclid(Self::SUB));
        let p = 2f64.powi(e);
        let s = Self::SUB as f64;
        (p * (1.0 + j as f64 / s), p * (1.0 + (j + 1) as f64 / s))
    }

    #[inline]
    pub fn insert(&mut self, x: f64) {
        self.n += 1;
        // Also catches NaN (every comparison with it is false) and infinities.
        if !(x > Self::TINY && x < f64::INFINITY) {
            self.zeros += 1;
            return;
        }
        self.add_at(Self::index(x), 1);
    }

    /// Adds `c` to bucket `i`, growing the bucket range as needed.
    #[inline]
    fn add_at(&mut self, i: i32, c: u64) {
        // One unsigned comparison: below `lo`, k wraps to a huge number.
        let k = i.wrapping_sub(self.lo) as u32 as usize;
        if let Some(slot) = self.counts.get_mut(k) {
            *slot += c;
            return;
        }
        self.grow(i);
        self.counts[(i - self.lo) as usize] += c;
    }

    #[cold]
    fn grow(&mut self, i: i32) {
        if self.counts.is_empty() {
            self.lo = i;
            self.counts.push(0);
        } else if i < self.lo {
            let grow = (self.lo - i) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.lo = i;
        } else {
            self.counts.resize((i - self.lo + 1) as usize, 0);
        }
    }

    pub fn merge(&mut self, o: &LogHistogram) {
        for (k, &c) in o.counts.iter().enumerate() {
            if c > 0 {
                self.add_at(o.lo + k as i32, c);
            }
        }
        self.zeros += o.zeros;
        self.n += o.n;
    }

    /// The value at rank `q (n - 1)` (nearest rank), within relative error `ALPHA`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.n - 1) as f64).round() as u64;
        if rank < self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (k, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                // The point of least relative error within the bucket.
                let (lo, hi) = Self::bounds(self.lo + k as i32);
                return Some(2.0 * lo * hi / (lo + hi));
            }
        }
        None
    }
}

#[cfg(test)]
mod sketch_tests {
    use super::*;

    #[test]
    fn quantiles_within_the_stated_relative_error() {
        let mut h = LogHistogram::default();
        let mut v: Vec<f64> =
            (1..=100_000).map(|i| (i as f64 * 0.37).sin().abs() * 1000.0 + 0.001 * i as f64).collect();
        for &x in &v {
            h.insert(x);
        }
        v.sort_by(f64::total_cmp);
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let exact = v[(q * (v.len() - 1) as f64).round() as usize];
            let got = h.quantile(q).unwrap();
            assert!((got - exact).abs() <= LogHistogram::ALPHA * exact * 1.000001, "q{q}: {got} vs {exact}");
        }
    }

    #[test]
    fn every_bucket_is_within_the_bound_over_a_wide_range() {
        // Values from 1e-8 to 1e12, including exact powers of two and bucket edges.
        let mut x: f64 = 1.1e-8;
        while x < 1e12 {
            for v in [x, 2f64.powi(x.log2().floor() as i32), x.next_up()] {
                let mut h = LogHistogram::default();
                h.insert(v);
                let got = h.quantile(0.5).unwrap();
                assert!((got - v).abs() <= v * LogHistogram::ALPHA * 1.000001, "{v}: {got}");
            }
            x *= 1.37;
        }
    }

    #[test]
    fn zeros_nan_and_infinities_count_as_zero() {
        let mut h = LogHistogram::default();
        for v in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-12] {
            h.insert(v);
        }
        h.insert(5.0);
        assert_eq!(h.count(), 6);
        assert_eq!(h.quantile(0.5), Some(0.0));
        assert!((h.quantile(1.0).unwrap() - 5.0).abs() < 5.0 / 257.0);
    }

    #[test]
    fn merging_equals_inserting_everything() {
        let (mut a, mut b, mut all) = (LogHistogram::default(), LogHistogram::default(), LogHistogram::default());
        for i in 0..1000 {
            let x = (i as f64).powf(1.7) * 1e-3;
            if i % 3 == 0 {
                a.insert(x)
            } else {
                b.insert(x)
            }
            all.insert(x);
        }
        a.merge(&b);
        for q in [0.0, 0.3, 0.5, 0.99] {
            assert_eq!(a.quantile(q), all.quantile(q));
        }
        assert_eq!(a.count(), 1000);
    }
}
