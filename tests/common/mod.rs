//! Helpers shared by the test files that check simulated outcomes.

use wfsim::engine::RunOutcome;

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
