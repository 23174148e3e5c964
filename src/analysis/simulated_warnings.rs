//! Design warnings that need a simulation: a `maxDuration` below the task's p99 compute
//! time, located at the `maxDuration` the task gets.

use crate::engine::{Status, TaskAcc};
use crate::error::{Diagnostic, Severity};
use crate::format;
use crate::platform::PRESETS;
use crate::scenario::Loaded;

/// A `maxDuration` is below the task's p99 compute time when more than this share of its
/// attempts reach it.
pub const TIMED_OUT_SHARE: f64 = 0.01;

/// Warnings from a simulation's per-task totals (`tasks`, over `runs` workflow runs with
/// `seed`): each task whose `maxDuration` is below its p99 compute time, located at the
/// `maxDuration` it gets (its own, or `defaults.maxDuration`).
///
/// The engine stops an attempt when its compute time reaches `maxDuration` and the run ends
/// TIMED_OUT (it is not retried), so each TIMED_OUT run is one attempt that would have
/// computed for `maxDuration` or longer: the share of attempts that timed out is
/// P(compute >= maxDuration), and the limit is below the p99 exactly when that share is over
/// 1%.
pub fn simulated_warnings(loaded: &Loaded, tasks: &[TaskAcc], runs: u64, seed: u64) -> Vec<Diagnostic> {
    let m = &loaded.model;
    let mut out = Vec::new();
    for (t, task) in m.tasks.iter().enumerate() {
        let (Some(max), Some(acc), Some(Some(site))) =
            (task.max_duration_s, tasks.get(t), loaded.max_duration_at.get(t))
        else {
            continue;
        };
        let timed_out = acc.statuses[Status::TimedOut as usize];
        if acc.attempts == 0 || (timed_out as f64) <= TIMED_OUT_SHARE * acc.attempts as f64 {
            continue;
        }
        let share = timed_out as f64 / acc.attempts as f64;
        let limit = format::limit(max);
        let inherited = if site.key.starts_with("defaults.") { " (from defaults.maxDuration)" } else { "" };
        out.push(Diagnostic {
            severity: Severity::Warning,
            file: site.file.clone(),
            line: site.line,
            column: site.column,
            key: site.key.clone(),
            message: format!(
                "maxDuration {limit} of `{}`{inherited} is below the task's p99 compute time (TIMED_OUT risk): {:.1}% of its attempts ({} of {}) hit maxDuration {limit} and ended TIMED_OUT (simulated over {} runs, seed {seed})",
                task.name,
                share * 100.0,
                format::count(timed_out as f64),
                format::count(acc.attempts as f64),
                format::count(runs as f64),
            ),
            help: Some(format!(
                "raise maxDuration above the compute time of nearly every attempt (it counts compute seconds per attempt, not checkpointed waits, and a timed-out run is not retried); or shorten the attempt: a bigger machine if its work is cpuBound (now `{}`), fewer items per run, or the work split into child runs",
                PRESETS[task.machine as usize].name
            )),
            source_line: site.source_line.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::simulated_warnings;
    use crate::error::{Diagnostic, Severity};
    use crate::scenario::load_str;

    /// The warnings of `yaml` made from a simulation of `runs` runs.
    fn simulated(yaml: &str, runs: u64) -> Vec<Diagnostic> {
        let l = load_str(yaml, "t.yaml").expect("loads");
        let mc = crate::montecarlo::run(&l.model, crate::montecarlo::Config { runs, seed: 3, threads: Some(1) })
            .expect("simulates");
        simulated_warnings(&l, &mc.tasks, runs, 3)
    }

    #[test]
    fn max_duration_below_the_p99_compute_time() {
        // `a` computes 5 to 15 s (its wait on `b` is paused, not compute): half its attempts
        // reach the default 10 s. `b` computes 9 s against its own 1m: no warning.
        let y = "defaults:\n  maxDuration: 10s\nentry: a\ntasks:\n  a:\n    steps:\n      - triggerAndWait: b\n      - work: { duration: { uniform: [5s, 15s] } }\n  b:\n    maxDuration: 1m\n    steps:\n      - work: { duration: 9s }\n";
        let w = simulated(y, 1000);
        assert_eq!(w.len(), 1, "{w:#?}");
        let w = &w[0];
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!((w.line, w.column, w.key.as_str()), (2, 16, "defaults.maxDuration"), "{w}");
        let text = w.to_string();
        for h in [
            "maxDuration 10s of `a` (from defaults.maxDuration)",
            "p99 compute time",
            "TIMED_OUT",
            "of 1,000)",
            "simulated over 1,000 runs, seed 3",
            "raise maxDuration",
        ] {
            assert!(text.contains(h), "`{h}` missing in:\n{text}");
        }
        // The timed-out share over 20,000 attempts, against P(U[5, 15] >= 10) = 0.5 within 4
        // standard errors of a share (sqrt(p (1 - p) / n), from the counts): a 5% error fails.
        let w = simulated(y, 20_000);
        let text = w[0].to_string();
        let count = |s: &str| s.replace(',', "").parse::<f64>().unwrap();
        let counts = text.split("% of its attempts (").nth(1).and_then(|r| r.split(')').next()).unwrap();
        let (timed_out, attempts) = counts.split_once(" of ").map(|(a, b)| (count(a), count(b))).unwrap();
        let share = timed_out / attempts;
        let se = (share * (1.0 - share) / attempts).sqrt();
        assert!(4.0 * se < 0.05 * 0.5, "se {se}");
        assert!((share - 0.5).abs() < 4.0 * se, "{share} ± {se} in:\n{text}");
        assert!(text.contains(&format!("{:.1}% of its attempts", share * 100.0)), "{text}");
        // A task's own key: 3 s of 100 s past it, 3% over the 1% line.
        let y = "entry: a\ntasks:\n  a:\n    maxDuration: 97s\n    steps:\n      - work: { duration: { uniform: [0s, 100s] } }\n";
        let w = simulated(y, 2000);
        assert_eq!(w.len(), 1, "{w:#?}");
        assert_eq!((w[0].line, w[0].column, w[0].key.as_str()), (4, 18, "tasks.a.maxDuration"));
        assert!(w[0].message.contains("maxDuration 97s of `a` is below"), "{}", w[0]);
        assert!(simulated(&y.replace("97s", "2m"), 2000).is_empty());
        // A task that never runs in the simulation says nothing.
        assert!(simulated("entry: a\ntasks:\n  a:\n    steps: [ { wait: 1s } ]\n  b:\n    maxDuration: 5s\n    steps: [ { work: { duration: 1m } } ]\n", 100).is_empty());
    }
}
