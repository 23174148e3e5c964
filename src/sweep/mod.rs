//! Sizing and sensitivity.
//!
//! [`sweep`] runs one scenario in several variants (machine presets of a task, values at key
//! paths) with the same seed, so every variant sees the same random numbers for the same
//! work, and keeps the variants worth having: the feasible ones (every SLO passes and the
//! success rate is close to the best), their Pareto front of mean cost against p95 duration,
//! and a pick per strategy (`cost`, `speed`, `balanced`). `sensitivity` moves each work
//! step's duration and failure probability down and up one at a time and ranks them by their
//! effect on p95 duration and mean cost.

mod decide;
mod labels;
mod outcome;
mod run;
mod sensitivity;
mod set;

pub use decide::{balanced_score, decide, pareto_front};
pub use outcome::{
    AllSweeps, DEFAULT_BALANCE, DEFAULT_REPLICATIONS, Pick, Recommended, Row, RowCost, RowDuration, SUCCESS_SE, Sweep,
    SweepError, SweepOptions,
};

pub use labels::{failures, pct, short_path, step_label, variant_label, variant_name};
pub use run::{Plan, plan, sweep};
pub use sensitivity::{
    Base, Effect, Kind, Param, Sensitivity, SensitivityOptions, sensitivity, sensitivity_assemble, sensitivity_check,
    sensitivity_part, sensitivity_variants,
};
pub use set::{SetSpec, SetValues, parse_set};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_split_outside_brackets() {
        let s = parse_set("tasks.t.steps[0].work.duration={ uniform: [1s, 3s] },2s").unwrap();
        assert_eq!(s.path, "tasks.t.steps[0].work.duration");
        assert_eq!(s.values, vec!["{ uniform: [1s, 3s] }", "2s"]);
        assert_eq!(parse_set("a.b=1, 2,3").unwrap().values, vec!["1", "2", "3"]);
        assert!(parse_set("a.b").is_err());
        assert!(parse_set("=1").is_err());
        assert!(parse_set("a.b=1,,2").is_err());
    }

    #[test]
    fn pareto_front_of_a_few_points() {
        let p = [(1.0, 10.0), (2.0, 5.0), (2.0, 6.0), (3.0, 5.0), (0.5, 20.0), (0.1, 1.0)];
        let e = [true, true, true, true, true, false];
        assert_eq!(pareto_front(&p, &e), vec![true, true, false, false, true, false]);
    }

    #[test]
    fn labels() {
        assert_eq!(step_label("tasks.a.steps[0].work", "dl"), "a/dl");
        assert_eq!(step_label("tasks.a.steps[0].parallel.steps[0].work", ""), "a.steps[0].parallel.steps[0]");
    }
}
