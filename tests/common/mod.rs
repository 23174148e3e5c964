//! Helpers shared by the test files that check simulated outcomes and generate scenarios.
//! (Each test file uses a part of them.)
#![allow(dead_code)]

use wfsim::engine::RunOutcome;

/// The `wfsim` binary of this build, ready to take arguments.
pub fn wfsim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("wfsim").expect("binary built")
}

/// The times, costs and usage of a workflow run's outcome, by name: each must be finite and
/// at least 0.
pub fn quantities(o: &RunOutcome) -> [(&'static str, f64); 7] {
    [
        ("duration_s", o.duration_s),
        ("cost_usd", o.cost_usd),
        ("compute_usd", o.compute_usd),
        ("invocation_usd", o.invocation_usd),
        ("usage_s", o.usage_s),
        ("root_usage_s", o.root_usage_s),
        ("makespan_s", o.makespan_s),
    ]
}

/// Cases of a property test: the environment variable `var` when set (longer campaigns),
/// else 256.
pub fn cases(var: &str) -> u32 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// A property test's configuration: `cases` cases from the generator seeded by
/// [`proptest_seed`], and no regression file.
pub fn config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(proptest_seed()),
        ..proptest::test_runner::Config::default()
    }
}

/// The seed of the property tests' generator: `WFSIM_PROPTEST_SEED` when set (another value
/// explores other cases), else 1, so that every CI run tries the same cases. Printed with the
/// test's output, which cargo shows when the test fails.
pub fn proptest_seed() -> u64 {
    let seed = std::env::var("WFSIM_PROPTEST_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    eprintln!("proptest seed {seed} (WFSIM_PROPTEST_SEED={seed} gives these cases again)");
    seed
}

/// Seconds with a unit, as people write them.
pub fn secs(x: f64) -> String {
    if x > 0.0 && x < 1.0 { format!("{}ms", (x * 1000.0).round()) } else { format!("{x}s") }
}

/// `x` rounded to the millisecond (what `secs` writes).
pub fn ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Every number of a JSON value passes `ok`; no null anywhere (a NaN or infinity serialises
/// as null). The error names the path of the first offender.
pub fn json_numbers(v: &serde_json::Value, path: &str, ok: &dyn Fn(f64) -> bool) -> Result<(), String> {
    match v {
        serde_json::Value::Null => Err(format!("null (NaN or infinity?) at {path}")),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if ok(x) => Ok(()),
            _ => Err(format!("{n} at {path}")),
        },
        serde_json::Value::Array(a) => {
            a.iter().enumerate().try_for_each(|(i, x)| json_numbers(x, &format!("{path}[{i}]"), ok))
        }
        serde_json::Value::Object(o) => o.iter().try_for_each(|(k, x)| json_numbers(x, &format!("{path}.{k}"), ok)),
        _ => Ok(()),
    }
}
