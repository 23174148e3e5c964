//! Trigger.dev v4 platform facts: machine presets, prices, retry delays.
//! Every number here has its source in `docs/semantics.md` ("Rule by rule").

/// A machine preset as Trigger.dev names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub name: &'static str,
    pub vcpu: f64,
    pub ram_gb: f64,
    /// Published (or formula-derived) compute price, USD per second.
    pub usd_per_s: f64,
}

/// The seven presets, smallest first. Index into this array is a `MachineId`.
pub const PRESETS: [Preset; 7] = [
    Preset { name: "micro", vcpu: 0.25, ram_gb: 0.25, usd_per_s: 0.0000169 },
    Preset { name: "small-1x", vcpu: 0.5, ram_gb: 0.5, usd_per_s: 0.0000338 },
    Preset { name: "small-2x", vcpu: 1.0, ram_gb: 1.0, usd_per_s: 0.0000675 },
    Preset { name: "medium-1x", vcpu: 1.0, ram_gb: 2.0, usd_per_s: 0.0000850 },
    Preset { name: "medium-2x", vcpu: 2.0, ram_gb: 4.0, usd_per_s: 0.0001700 },
    Preset { name: "large-1x", vcpu: 4.0, ram_gb: 8.0, usd_per_s: 0.0003400 },
    Preset { name: "large-2x", vcpu: 8.0, ram_gb: 16.0, usd_per_s: 0.0006800 },
];

pub type MachineId = u8;
/// `small-1x`, Trigger.dev's default machine.
pub const DEFAULT_MACHINE: MachineId = 1;
/// Invocation price, charged once per run (retries do not add another).
pub const INVOCATION_USD: f64 = 0.000025;
/// A wait.for longer than this pauses billing and maxDuration (checkpoint).
pub const CHECKPOINT_WAIT_S: f64 = 5.0;
/// A task-level retry whose delay is under this stays warm on the same machine.
pub const WARM_RETRY_S: f64 = 30.0;
/// Largest batch a `batchTriggerAndWait` accepts.
pub const MAX_BATCH_ITEMS: f64 = 1000.0;
/// Smallest maxDuration Trigger.dev accepts, seconds.
pub const MIN_MAX_DURATION_S: f64 = 5.0;

pub fn machine_by_name(name: &str) -> Option<MachineId> {
    PRESETS.iter().position(|p| p.name == name).map(|i| i as MachineId)
}

pub fn machine_names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

/// Memory of a preset in MB (1 GB = 1024 MB).
pub fn ram_mb(m: MachineId) -> f64 {
    PRESETS[m as usize].ram_gb * 1024.0
}

/// A task's (or a `retry.onThrow` block's) retry policy, in Trigger.dev's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Counts the first attempt: 1 means no retries.
    pub max_attempts: u32,
    pub factor: f64,
    pub min_timeout_ms: f64,
    pub max_timeout_ms: f64,
    pub randomize: bool,
    /// `retry.outOfMemory.machine`: one retry on this bigger preset after an OOM.
    pub oom_machine: Option<MachineId>,
}

impl RetryPolicy {
    /// No retry block on a task: a single attempt.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        factor: 2.0,
        min_timeout_ms: 1000.0,
        max_timeout_ms: 60000.0,
        randomize: true,
        oom_machine: None,
    };
    /// The SDK's values for fields left out of a retry block.
    pub const SDK_DEFAULTS: RetryPolicy = RetryPolicy { max_attempts: 3, ..RetryPolicy::NONE };

    /// Delay in seconds before attempt `attempts_so_far + 1`:
    /// `round(min(maxTimeoutInMs, r * minTimeoutInMs * factor^(n-1)))` ms, with
    /// `r = 1 + u` (u uniform in [0,1)) when randomize, else 1. `u` is passed in so the
    /// caller owns the random stream.
    pub fn delay_s(&self, attempts_so_far: u32, u: f64) -> f64 {
        let n = attempts_so_far.max(1) as i32;
        let r = if self.randomize { 1.0 + u } else { 1.0 };
        let ms = (r * self.min_timeout_ms * self.factor.powi(n - 1)).min(self.max_timeout_ms);
        ms.round() / 1000.0
    }
}

/// Duration multiplier of CPU-bound work moved from a preset with `from_vcpu` to one
/// with `to_vcpu`. Node.js runs JavaScript on one thread, so the serial share of the work
/// gets at most one core: `T(v) = (1 - f) / min(v, 1) + f / v` with `f` the parallel
/// fraction (Amdahl's law, capped at one core for the serial part).
pub fn cpu_scale(from_vcpu: f64, to_vcpu: f64, parallel_fraction: f64) -> f64 {
    let t = |v: f64| (1.0 - parallel_fraction) / v.min(1.0) + parallel_fraction / v;
    t(to_vcpu) / t(from_vcpu)
}

/// Speed, relative to running alone, of CPU-bound work with parallel fraction `f` while `k`
/// CPU-bound items run at once in one attempt on a preset with `vcpu` vCPUs, `m` of them on
/// the JavaScript main thread (`main_thread`: this one is). The items share the vCPUs
/// equally (processor sharing): each gets `vcpu / k`, through the same Amdahl curve as
/// [`cpu_scale`]; the main thread's items share one thread besides, `1 / m` of it each. With
/// `k` 1 the speed is 1.
pub fn shared_speed(vcpu: f64, k: u32, m: u32, f: f64, main_thread: bool) -> f64 {
    let share = vcpu / f64::from(k.max(1));
    if main_thread {
        let share = share.min(1.0 / f64::from(m.max(1)));
        share.min(1.0) / vcpu.min(1.0)
    } else {
        let t = |v: f64| (1.0 - f) / v.min(1.0) + f / v;
        t(vcpu) / t(share)
    }
}

/// The final statuses of a run that wfsim simulates, by Trigger.dev's names (SDK API schema),
/// in the order of `engine::Status`.
pub const STATUSES: [&str; 5] = ["COMPLETED", "FAILED", "CRASHED", "TIMED_OUT", "EXPIRED"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_formula_reproduces_published_rows() {
        for p in PRESETS {
            let formula = 0.00005 * p.vcpu + 0.0000175 * p.ram_gb;
            assert!((formula - p.usd_per_s).abs() < 1e-7, "{}: {formula} vs {}", p.name, p.usd_per_s);
        }
    }

    #[test]
    fn retry_delay_formula_exact_without_randomize() {
        let p = RetryPolicy {
            randomize: false,
            max_attempts: 5,
            factor: 2.0,
            min_timeout_ms: 1000.0,
            max_timeout_ms: 10000.0,
            oom_machine: None,
        };
        let got: Vec<f64> = (1..=5).map(|n| p.delay_s(n, 0.7)).collect();
        assert_eq!(got, vec![1.0, 2.0, 4.0, 8.0, 10.0]);
    }

    #[test]
    fn retry_delay_randomize_range() {
        let p = RetryPolicy { randomize: true, ..RetryPolicy::SDK_DEFAULTS };
        assert_eq!(p.delay_s(2, 0.0), 2.0);
        assert_eq!(p.delay_s(2, 0.999_999), 4.0);
        assert_eq!(p.delay_s(2, 0.5), 3.0);
    }

    #[test]
    fn shared_speed_divides_the_vcpus() {
        // Alone: full speed, on any preset.
        for v in [0.25, 0.5, 1.0, 8.0] {
            assert_eq!(shared_speed(v, 1, 0, 0.3, false), 1.0);
            assert_eq!(shared_speed(v, 1, 1, 0.0, true), 1.0);
        }
        // Four single-threaded items on 0.5 vCPU: each gets 0.125, a quarter of the speed.
        assert!((shared_speed(0.5, 4, 0, 0.0, false) - 0.25).abs() < 1e-12);
        // On 4 vCPUs each gets a whole one: no slowdown; eight get half of one each.
        assert!((shared_speed(4.0, 4, 0, 0.0, false) - 1.0).abs() < 1e-12);
        assert!((shared_speed(4.0, 8, 0, 0.0, false) - 0.5).abs() < 1e-12);
        // Fully parallel work on 4 vCPUs shared by two: half the vCPUs, half the speed.
        assert!((shared_speed(4.0, 2, 0, 1.0, false) - 0.5).abs() < 1e-12);
        // Four items on the main thread share one thread, however many vCPUs.
        assert!((shared_speed(4.0, 4, 4, 0.0, true) - 0.25).abs() < 1e-12);
        assert!((shared_speed(0.5, 2, 2, 0.0, true) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn cpu_scaling_single_thread_caps_at_one_core() {
        assert!((cpu_scale(0.5, 1.0, 0.0) - 0.5).abs() < 1e-12);
        assert!((cpu_scale(0.5, 8.0, 0.0) - 0.5).abs() < 1e-12);
        assert!((cpu_scale(0.5, 0.25, 0.0) - 2.0).abs() < 1e-12);
        // Fully parallel work scales linearly with vCPU.
        assert!((cpu_scale(0.5, 4.0, 1.0) - 0.125).abs() < 1e-12);
    }
}
