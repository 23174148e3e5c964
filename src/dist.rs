//! Probability distributions of durations, counts, memory and input attributes.
//! Parameters are validated and precomputed by `scenario::compile`; sampling never fails.

use crate::rng::SimRng;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal};

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Fixed(f64),
    Uniform {
        lo: f64,
        hi: f64,
    },
    /// Integers lo..=hi, each equally likely (a `uniform` whose ends are whole numbers,
    /// used where the value is a count).
    UniformInt {
        lo: i64,
        hi: i64,
    },
    Triangular {
        lo: f64,
        mode: f64,
        hi: f64,
    },
    /// Normal truncated at 0 (rejection sampling; `mean >= 0` is enforced, so at least
    /// half of all draws are accepted).
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
    Bernoulli {
        p: f64,
    },
    /// Cumulative weights (normalised to 1) and the value of each choice.
    Choice {
        cum: Vec<f64>,
        values: Vec<f64>,
    },
    Empirical(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dist {
    pub shape: Shape,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub round: bool,
}

/// A standard exponential draw by ziggurat (rand_distr's `Exp1`: most draws take a table
/// lookup and a multiplication instead of a logarithm). Its tail step takes the logarithm of
/// a uniform that can be 0 (probability about 2^-61), which would be an infinite draw; it is
/// capped at 1,000, which an Exp(1) exceeds with probability e^-1000.
#[inline]
pub fn exp1(rng: &mut SimRng) -> f64 {
    let e: f64 = Exp1.sample(rng);
    e.min(1000.0)
}

/// z such that P(Z <= z) = 0.95 for a standard normal.
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// `x.round()` out of line: inline, LLVM turns `if self.round { x.round() }` into an
/// unconditional call to libm's `round` (it may speculate the intrinsic, and without
/// SSE4.1 it is a call), paid by every draw. Behind a call it cannot speculate, only the
/// draws that round pay for it.
#[cold]
#[inline(never)]
fn round_cold(x: f64) -> f64 {
    x.round()
}

impl Dist {
    pub fn fixed(v: f64) -> Dist {
        Dist { shape: Shape::Fixed(v), min: None, max: None, round: false }
    }

    pub fn plain(shape: Shape) -> Dist {
        Dist { shape, min: None, max: None, round: false }
    }

    /// A lognormal from its median and 95th percentile.
    pub fn lognormal_median_p95(median: f64, p95: f64) -> Shape {
        let mu = median.ln();
        Shape::LogNormal { mu, sigma: (p95.ln() - mu) / Z95 }
    }

    /// The distribution of `f` times a draw (before `min`/`max` and rounding, which scale
    /// too: a rounded attribute stays whole). None for a 0/1 draw (`bernoulli`), which has no
    /// scale. Draws from the same random numbers as the original: a draw of the result is
    /// `f` times the unclamped draw of `self` (up to rounding; a uniform of whole numbers
    /// keeps whole ends, scaled and rounded).
    pub fn scaled(&self, f: f64) -> Option<Dist> {
        let shape = match &self.shape {
            Shape::Fixed(v) => Shape::Fixed(v * f),
            Shape::Uniform { lo, hi } => Shape::Uniform { lo: lo * f, hi: hi * f },
            // Whole numbers stay whole: the ends scaled and rounded.
            Shape::UniformInt { lo, hi } => {
                Shape::UniformInt { lo: (*lo as f64 * f).round() as i64, hi: (*hi as f64 * f).round() as i64 }
            }
            Shape::Triangular { lo, mode, hi } => Shape::Triangular { lo: lo * f, mode: mode * f, hi: hi * f },
            Shape::Normal { mean, sd } => Shape::Normal { mean: mean * f, sd: sd * f },
            Shape::LogNormal { mu, sigma } => Shape::LogNormal { mu: mu + f.ln(), sigma: *sigma },
            Shape::Exponential { mean } => Shape::Exponential { mean: mean * f },
            Shape::Bernoulli { .. } => return None,
            Shape::Choice { cum, values } => {
                Shape::Choice { cum: cum.clone(), values: values.iter().map(|v| v * f).collect() }
            }
            Shape::Empirical(v) => Shape::Empirical(v.iter().map(|x| x * f).collect()),
        };
        Some(Dist { shape, min: self.min.map(|x| x * f), max: self.max.map(|x| x * f), round: self.round })
    }

    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        let mut x = match &self.shape {
            Shape::Fixed(v) => *v,
            Shape::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
            Shape::UniformInt { lo, hi } => rng.random_range(*lo..=*hi) as f64,
            Shape::Triangular { lo, mode, hi } => {
                let u: f64 = rng.random();
                let span = hi - lo;
                if span <= 0.0 {
                    *lo
                } else {
                    let fc = (mode - lo) / span;
                    if u < fc {
                        lo + (u * span * (mode - lo)).sqrt()
                    } else {
                        hi - ((1.0 - u) * span * (hi - mode)).sqrt()
                    }
                }
            }
            Shape::Normal { mean, sd } => {
                let mut v;
                loop {
                    let z: f64 = StandardNormal.sample(rng);
                    v = mean + sd * z;
                    if v >= 0.0 {
                        break;
                    }
                }
                v
            }
            Shape::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            Shape::Exponential { mean } => mean * exp1(rng),
            Shape::Bernoulli { p } => {
                if rng.random::<f64>() < *p {
                    1.0
                } else {
                    0.0
                }
            }
            Shape::Choice { cum, values } => {
                let u: f64 = rng.random();
                let i = cum.iter().position(|&c| u < c).unwrap_or(values.len() - 1);
                values[i]
            }
            Shape::Empirical(v) => v[rng.random_range(0..v.len())],
        };
        if let Some(lo) = self.min {
            x = x.max(lo);
        }
        if let Some(hi) = self.max {
            x = x.min(hi);
        }
        if self.round {
            x = round_cold(x);
        }
        x
    }

    /// The value every draw takes, when the shape is fixed (a draw then uses no randomness,
    /// so callers can skip opening its stream).
    #[inline]
    pub fn as_fixed(&self) -> Option<f64> {
        match self.shape {
            Shape::Fixed(v) => Some(self.clamp(v)),
            _ => None,
        }
    }

    /// Largest value a draw can take (`f64::INFINITY` when unbounded).
    pub fn upper_bound(&self) -> f64 {
        let raw = match &self.shape {
            Shape::Fixed(v) => *v,
            Shape::Uniform { hi, .. } | Shape::Triangular { hi, .. } => *hi,
            Shape::UniformInt { hi, .. } => *hi as f64,
            Shape::Bernoulli { .. } => 1.0,
            Shape::Choice { values, .. } | Shape::Empirical(values) => {
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            }
            Shape::Normal { .. } | Shape::LogNormal { .. } | Shape::Exponential { .. } => f64::INFINITY,
        };
        self.clamp(raw)
    }

    /// `x` through the modifiers, in the order `sample` applies them (min, max, round):
    /// monotone, so it maps the bounds of the shape to the bounds of the draws.
    fn clamp(&self, mut x: f64) -> f64 {
        if let Some(lo) = self.min {
            x = x.max(lo);
        }
        if let Some(hi) = self.max {
            x = x.min(hi);
        }
        if self.round { round_cold(x) } else { x }
    }

    /// Smallest value a draw can take.
    pub fn lower_bound(&self) -> f64 {
        let raw = match &self.shape {
            Shape::Fixed(v) => *v,
            Shape::Uniform { lo, .. } | Shape::Triangular { lo, .. } => *lo,
            Shape::UniformInt { lo, .. } => *lo as f64,
            Shape::Choice { values, .. } | Shape::Empirical(values) => {
                values.iter().copied().fold(f64::INFINITY, f64::min)
            }
            Shape::Bernoulli { .. } | Shape::Normal { .. } | Shape::LogNormal { .. } | Shape::Exponential { .. } => 0.0,
        };
        self.clamp(raw)
    }

    /// Mean of the unclamped, unrounded shape where it has a closed form.
    pub fn shape_mean(&self) -> Option<f64> {
        Some(match &self.shape {
            Shape::Fixed(v) => *v,
            Shape::Uniform { lo, hi } => (lo + hi) / 2.0,
            Shape::UniformInt { lo, hi } => (*lo + *hi) as f64 / 2.0,
            Shape::Triangular { lo, mode, hi } => (lo + mode + hi) / 3.0,
            Shape::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Shape::Exponential { mean } => *mean,
            Shape::Bernoulli { p } => *p,
            Shape::Empirical(v) => v.iter().sum::<f64>() / v.len() as f64,
            Shape::Choice { cum, values } => {
                let mut prev = 0.0;
                let mut m = 0.0;
                for (c, v) in cum.iter().zip(values) {
                    m += (c - prev) * v;
                    prev = *c;
                }
                m
            }
            Shape::Normal { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn sample_n(d: &Dist, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = stream(seed);
        (0..n).map(|_| d.sample(&mut rng)).collect()
    }

    fn mean_sd(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, var.sqrt())
    }

    /// Sample mean within 4 standard errors of the closed-form mean.
    fn check_mean(d: &Dist, expected: f64, seed: u64) {
        let v = sample_n(d, 200_000, seed);
        let (m, sd) = mean_sd(&v);
        let se = sd / (v.len() as f64).sqrt();
        assert!((m - expected).abs() < 4.0 * se, "{:?}: mean {m} vs {expected} (se {se})", d.shape);
    }

    #[test]
    fn closed_form_means() {
        check_mean(&Dist::plain(Shape::Uniform { lo: 2.0, hi: 6.0 }), 4.0, 1);
        check_mean(&Dist::plain(Shape::Triangular { lo: 1.0, mode: 2.0, hi: 6.0 }), 3.0, 2);
        check_mean(&Dist::plain(Shape::Exponential { mean: 1.5 }), 1.5, 3);
        check_mean(&Dist::plain(Shape::UniformInt { lo: 5, hi: 40 }), 22.5, 4);
        // docs/scenario-language.md: sigma = ln(p95 / median) / 1.6448536 (the normal's 95% point), and a
        // lognormal's mean is median x e^(sigma^2 / 2): 24.998 for median 20, p95 60.
        let sigma = (60.0f64 / 20.0).ln() / 1.644_853_6;
        check_mean(&Dist::plain(Dist::lognormal_median_p95(20.0, 60.0)), 20.0 * (sigma * sigma / 2.0).exp(), 5);
        check_mean(&Dist::plain(Shape::Bernoulli { p: 0.2 }), 0.2, 6);
    }

    #[test]
    fn lognormal_median_and_p95_round_trip() {
        let d = Dist::plain(Dist::lognormal_median_p95(2.0, 8.0));
        let n = 200_000;
        let mut v = sample_n(&d, n, 9);
        v.sort_by(f64::total_cmp);
        // The empirical q-quantile's count below the true quantile is Binomial(n, q): within
        // 4 sigma of n q the sample quantile lies between these order statistics.
        for (q, truth) in [(0.5, 2.0), (0.95, 8.0)] {
            let sd = (n as f64 * q * (1.0 - q)).sqrt();
            let lo = v[(n as f64 * q - 4.0 * sd) as usize];
            let hi = v[(n as f64 * q + 4.0 * sd) as usize];
            assert!(lo <= truth && truth <= hi, "q{q}: truth {truth} outside [{lo}, {hi}]");
        }
    }

    #[test]
    fn truncated_normal_is_non_negative() {
        let d = Dist::plain(Shape::Normal { mean: 0.5, sd: 2.0 });
        assert!(sample_n(&d, 10_000, 3).iter().all(|&x| x >= 0.0));
    }

    #[test]
    fn bounds_follow_the_modifiers_even_outside_the_shape() {
        // A min above the whole range: every draw is the min, so it is also the upper bound.
        let d = Dist { shape: Shape::Uniform { lo: 1.0, hi: 2.0 }, min: Some(5.0), max: None, round: false };
        assert_eq!((d.lower_bound(), d.upper_bound()), (5.0, 5.0));
        assert_eq!(d.sample(&mut stream(3)), 5.0);
        // A max below the whole range.
        let d = Dist { shape: Shape::Uniform { lo: 10.0, hi: 20.0 }, min: None, max: Some(4.4), round: true };
        assert_eq!((d.lower_bound(), d.upper_bound()), (4.0, 4.0));
        assert_eq!(d.sample(&mut stream(3)), 4.0);
    }

    #[test]
    fn modifiers_clamp_and_round() {
        let d = Dist { shape: Shape::Exponential { mean: 10.0 }, min: Some(1.0), max: Some(20.0), round: true };
        let v = sample_n(&d, 10_000, 4);
        assert!(v.iter().all(|&x| (1.0..=20.0).contains(&x) && x.fract() == 0.0));
        assert_eq!(d.upper_bound(), 20.0);
        assert_eq!(d.lower_bound(), 1.0);
    }
}
