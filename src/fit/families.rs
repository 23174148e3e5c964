//! Fitting a distribution of the scenario language to observed values (durations in seconds).
//!
//! Each family's parameters are its maximum-likelihood estimates: `uniform` the sample's
//! range, `normal` its mean and standard deviation (only when the mean is at least 3 standard
//! deviations above 0, where wfsim's truncation at 0 changes nothing that matters), `lognormal`
//! the mean and standard deviation of the logarithms, `exponential` the mean. The criterion:
//! the family with the lowest AIC (2k - 2 ln L, k its number of parameters) is chosen; its
//! Kolmogorov-Smirnov distance D to the sample gives the verdict: `good` when D is below the
//! 5% critical value 1.358/sqrt(n) (the test does not reject the family; with estimated
//! parameters it is lenient), else `rejected`, and then the sample itself is written as an
//! `empirical` distribution (at most 200 of its quantiles): a family the data reject would
//! bias the predictions by more than the data's own uncertainty. Values that are all equal are
//! `fixed`.

use crate::stats::quantile_sorted;

/// Most values an `empirical` distribution is written with.
pub const EMPIRICAL_POINTS: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Family {
    Fixed(f64),
    Uniform {
        lo: f64,
        hi: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Exponential {
        mean: f64,
    },
    /// Sorted values.
    Empirical(Vec<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Good,
    Poor,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Good => "good",
            Verdict::Poor => "rejected",
        }
    }
}

/// One family tried: its AIC (infinite where the sample is outside its support) and KS distance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    pub family: &'static str,
    pub aic: f64,
    pub ks: f64,
}

/// The result of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub family: Family,
    pub n: usize,
    /// KS distance of the written distribution to the sample.
    pub ks: f64,
    /// The 5% critical value 1.358/sqrt(n).
    pub ks_crit: f64,
    /// The verdict on the best named family (`rejected`: the empirical one was written instead).
    pub verdict: Verdict,
    /// Every family tried, best AIC first.
    pub candidates: Vec<Candidate>,
    /// The sample, sorted (for the report's quantiles and CDF).
    pub sorted: Vec<f64>,
}

impl Family {
    pub fn name(&self) -> &'static str {
        match self {
            Family::Fixed(_) => "fixed",
            Family::Uniform { .. } => "uniform",
            Family::Normal { .. } => "normal",
            Family::LogNormal { .. } => "lognormal",
            Family::Exponential { .. } => "exponential",
            Family::Empirical(_) => "empirical",
        }
    }

    pub fn cdf(&self, x: f64) -> f64 {
        match self {
            Family::Fixed(v) => f64::from(x >= *v),
            Family::Uniform { lo, hi } => ((x - lo) / (hi - lo)).clamp(0.0, 1.0),
            Family::Normal { mean, sd } => {
                // Truncated at 0, as wfsim draws it.
                let z0 = phi(-mean / sd);
                if x <= 0.0 { 0.0 } else { ((phi((x - mean) / sd) - z0) / (1.0 - z0)).clamp(0.0, 1.0) }
            }
            Family::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    0.0
                } else {
                    phi((x.ln() - mu) / sigma)
                }
            }
            Family::Exponential { mean } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / mean).exp()
                }
            }
            Family::Empirical(v) => v.partition_point(|&y| y <= x) as f64 / v.len().max(1) as f64,
        }
    }

    pub fn quantile(&self, p: f64) -> f64 {
        match self {
            Family::Fixed(v) => *v,
            Family::Uniform { lo, hi } => lo + p * (hi - lo),
            Family::Normal { mean, sd } => {
                let z0 = phi(-mean / sd);
                (mean + sd * phi_inv(z0 + p * (1.0 - z0))).max(0.0)
            }
            Family::LogNormal { mu, sigma } => (mu + sigma * phi_inv(p)).exp(),
            Family::Exponential { mean } => -mean * (1.0 - p).ln(),
            Family::Empirical(v) => quantile_sorted(v, p).unwrap_or(0.0),
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Family::Fixed(v) => *v,
            Family::Uniform { lo, hi } => (lo + hi) / 2.0,
            Family::Normal { mean, .. } => *mean,
            Family::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Family::Exponential { mean } => *mean,
            Family::Empirical(v) => v.iter().sum::<f64>() / v.len().max(1) as f64,
        }
    }
}

/// Fits `xs` (finite, at least 0). `None` for an empty sample.
pub fn fit(xs: &[f64]) -> Option<Fitted> {
    let mut s: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite() && *x >= 0.0).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let nf = n as f64;
    let ks_crit = 1.358 / nf.sqrt();
    let (lo, hi) = (s[0], s[n - 1]);
    // Equal up to the rounding of differences of Unix times (about 2e-7 s).
    if hi - lo <= 1e-6 * hi.abs().max(1.0) {
        let family = Family::Fixed(lo);
        let c = Candidate { family: "fixed", aic: f64::NEG_INFINITY, ks: 0.0 };
        return Some(Fitted { family, n, ks: 0.0, ks_crit, verdict: Verdict::Good, candidates: vec![c], sorted: s });
    }
    let mean = s.iter().sum::<f64>() / nf;
    let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / nf;
    let sd = var.sqrt();
    let mut fams: Vec<(Family, f64)> = Vec::new();
    // uniform: L = (hi - lo)^-n
    fams.push((Family::Uniform { lo, hi }, 2.0 * 2.0 + 2.0 * nf * (hi - lo).ln()));
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    if sd > 0.0 && mean >= 3.0 * sd {
        let ll = -nf * sd.ln() - nf / 2.0 * ln2pi - nf / 2.0;
        fams.push((Family::Normal { mean, sd }, 4.0 - 2.0 * ll));
    }
    if lo > 0.0 {
        let logs: Vec<f64> = s.iter().map(|x| x.ln()).collect();
        let mu = logs.iter().sum::<f64>() / nf;
        let sigma = (logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / nf).sqrt();
        if sigma > 0.0 {
            let ll = -logs.iter().sum::<f64>() - nf * sigma.ln() - nf / 2.0 * ln2pi - nf / 2.0;
            fams.push((Family::LogNormal { mu, sigma }, 4.0 - 2.0 * ll));
        }
    }
    if mean > 0.0 {
        let ll = -nf * mean.ln() - nf;
        fams.push((Family::Exponential { mean }, 2.0 - 2.0 * ll));
    }
    let mut cands: Vec<(Family, Candidate)> = fams
        .into_iter()
        .map(|(f, aic)| {
            let c = Candidate { family: f.name(), aic, ks: ks_distance(&f, &s) };
            (f, c)
        })
        .collect();
    cands.sort_by(|a, b| a.1.aic.total_cmp(&b.1.aic));
    let (best, bc) = cands[0].clone();
    let verdict = if bc.ks <= ks_crit { Verdict::Good } else { Verdict::Poor };
    let (family, ks) = if verdict == Verdict::Poor {
        let e = Family::Empirical(empirical_points(&s));
        let d = ks_distance(&e, &s);
        (e, d)
    } else {
        (best, bc.ks)
    };
    Some(Fitted { family, n, ks, ks_crit, verdict, candidates: cands.into_iter().map(|c| c.1).collect(), sorted: s })
}

/// At most [`EMPIRICAL_POINTS`] values standing for a sorted sample: all of it when small,
/// else its quantiles at the midpoints (k + 0.5) / m.
pub fn empirical_points(sorted: &[f64]) -> Vec<f64> {
    if sorted.len() <= EMPIRICAL_POINTS {
        return sorted.to_vec();
    }
    let m = EMPIRICAL_POINTS;
    (0..m).filter_map(|k| quantile_sorted(sorted, (k as f64 + 0.5) / m as f64)).collect()
}

/// The Kolmogorov-Smirnov distance between a distribution and a sorted sample.
pub fn ks_distance(f: &Family, sorted: &[f64]) -> f64 {
    let n = sorted.len() as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        // Ties: the sample's CDF jumps once over all of them.
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[i] {
            j += 1;
        }
        let fx = f.cdf(sorted[i]);
        let below = {
            // The distribution just below x (its jump at x left out, for fixed and empirical).
            let x = sorted[i];
            let eps = x.abs() * 1e-12 + 1e-300;
            f.cdf(x - eps)
        };
        d = d.max(fx - (j + 1) as f64 / n).max(((j + 1) as f64 / n) - fx).max(below - i as f64 / n);
        d = d.max(i as f64 / n - below);
        i = j + 1;
    }
    d
}

/// The standard normal CDF.
pub fn phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function (a Chebyshev fit, as in Numerical Recipes' `erfcc`:
/// fractional error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal quantile (P. J. Acklam's rational approximation, relative error below
/// 1.2e-9).
pub fn phi_inv(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let pl = 0.024_25;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_against_tables() {
        // Phi(1.959964) = 0.975, Phi(1) = 0.841344746, Phi(-2.326348) = 0.01.
        assert!((phi(1.959_964) - 0.975).abs() < 2e-7);
        assert!((phi(1.0) - 0.841_344_746).abs() < 2e-7);
        assert!((phi(-2.326_348) - 0.01).abs() < 2e-7);
        assert!((phi_inv(0.975) - 1.959_964).abs() < 1e-6);
        assert!((phi_inv(0.01) + 2.326_348).abs() < 1e-6);
        assert!((phi_inv(0.95) - crate::dist::Z95).abs() < 1e-8);
    }

    #[test]
    fn fixed_and_ks_of_exact_fits() {
        let f = fit(&[2.0, 2.0, 2.0]).unwrap();
        assert_eq!(f.family, Family::Fixed(2.0));
        // Evenly spread points against the uniform they fill: D = 1/n.
        let xs: Vec<f64> = (0..100).map(|i| i as f64 + 0.5).collect();
        let d = ks_distance(&Family::Uniform { lo: 0.0, hi: 100.0 }, &xs);
        assert!((d - 0.005).abs() < 1e-12, "{d}");
        assert!(ks_distance(&Family::Empirical(xs.clone()), &xs) < 1e-12);
    }
}
