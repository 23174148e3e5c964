//! The text tables of `sweep` and `sensitivity` (their Markdown and CSV come from the same
//! grids).

use super::grid::{Align, Grid};
use crate::format::{secs, usd};
use crate::paired;
use crate::sweep::{Effect, Pick, Row, SUCCESS_SE, Sensitivity, Sweep, pct, short_path, variant_name};

/// A rate for the table: `-` for none, else e.g. `OOM 85%` (one decimal under 10%).
fn rate_cell(label: &str, x: f64) -> String {
    if x <= 0.0 {
        "-".into()
    } else if x < 0.1 {
        format!("{label} {}", pct(x, 1))
    } else {
        format!("{label} {}", pct(x, 0))
    }
}

/// The variants of a sweep as a table (text, Markdown and HTML draw it).
pub fn grid(sw: &Sweep) -> Grid {
    let set_paths: Vec<&str> =
        sw.rows.first().map(|r| r.set.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    let mut columns: Vec<(&str, Align)> = Vec::new();
    if sw.task.is_some() {
        columns.push(("machine", Align::Left));
    }
    columns.extend(set_paths.iter().map(|p| (short_path(p), Align::Left)));
    columns
        .extend(["p50", "p95", "cost/run", "per 1,000 runs", "success", "OOM", "TIMED_OUT"].map(|h| (h, Align::Right)));
    let limited = sw.rows.iter().any(|r| r.limited_share.is_some());
    if limited {
        columns.push(("429s", Align::Right));
    }
    columns.push(("verdict", Align::Left));
    let mut g = Grid::new(&columns);
    for (i, r) in sw.rows.iter().enumerate() {
        let mut cells: Vec<String> = Vec::new();
        if sw.task.is_some() {
            cells.push(r.machine.unwrap_or("-").to_owned());
        }
        cells.extend(r.set.0.iter().map(|(_, v)| v.clone()));
        let picks: Vec<&str> =
            [("cost", &sw.recommended.cost), ("speed", &sw.recommended.speed), ("balanced", &sw.recommended.balanced)]
                .iter()
                .filter(|(_, p)| p.as_ref().is_some_and(|p| p.row == i))
                .map(|(n, _)| *n)
                .collect();
        let mut verdict = match &r.infeasible_because {
            Some(w) => format!("infeasible: {w}"),
            None if r.rescued && !sw.allow_oom_rescue => format!("OOM-rescued: {}", rescue_text(r)),
            None if r.pareto => "front".into(),
            None => match r.dominated_by {
                Some(j) => format!("dominated by {}", variant_name(&sw.rows[j])),
                None => "dominated".into(),
            },
        };
        if r.rescued && sw.allow_oom_rescue && r.infeasible_because.is_none() {
            verdict.push_str(&format!(" (OOM-rescued: {})", rescue_text(r)));
        }
        if !picks.is_empty() {
            verdict.push_str(&format!("  <- {}", picks.join(", ")));
        }
        cells.extend([
            secs(r.duration_s.p50),
            with_ci(secs(r.duration_s.p95), r.duration_s.p95_ci95, secs),
            with_ci(usd(r.cost_usd.mean), r.cost_usd.mean_ci95, usd),
            usd(r.cost_usd.per_1000_runs),
            pct(r.success_rate, 2),
            rate_cell("OOM", r.oom_rate),
            rate_cell("TIMED_OUT", r.timed_out_rate),
        ]);
        if limited {
            cells.push(pct(r.limited_share.unwrap_or(0.0), 1));
        }
        cells.push(verdict);
        g.push(cells);
    }
    g
}

/// The human table of a sweep.
pub fn table(sw: &Sweep) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let what = match &sw.task {
        Some(t) => format!("{}, task {t}", sw.scenario),
        None => sw.scenario.clone(),
    };
    let each = match sw.load {
        Some(r) => format!("{r} replications of the load each"),
        None => format!("{} runs each", sw.runs),
    };
    let _ = writeln!(o, "sweep of {what}; {}", sw.environment);
    let _ =
        writeln!(o, "{} variants, {each}, seed {} (the same random numbers in every variant)", sw.rows.len(), sw.seed);
    if sw.isolated {
        let _ = writeln!(
            o,
            "--isolated: the scenario's load: block is ignored; each workflow run has the platform to itself"
        );
    }
    if let (Some(t), Some(m)) = (&sw.task, sw.scenario_machine) {
        let _ = writeln!(o, "the scenario has {t} on {m}; OOM and TIMED_OUT are shares of {t}'s runs");
    }
    let set_paths: Vec<&str> =
        sw.rows.first().map(|r| r.set.0.iter().map(|(k, _)| k.as_str()).collect()).unwrap_or_default();
    for p in &set_paths {
        let _ = writeln!(o, "{}: {p}", short_path(p));
    }
    let _ = writeln!(o);
    o.push_str(&grid(sw).text(3));
    let _ = writeln!(o);
    if let Some(note) = pinned_note(sw) {
        let _ = writeln!(o, "{note}\n");
    }
    if sw.identical {
        let _ = writeln!(
            o,
            "all {} variants came out the same (p50, p95, mean duration, mean cost, success): what is swept does not change the outcome here\n",
            sw.rows.len()
        );
    }
    let rescued_only = sw.rows.iter().any(|r| r.feasible) && !sw.rows.iter().any(|r| r.feasible && !r.rescued);
    let line = |name: &str, p: &Option<Pick>| match p {
        Some(p) => {
            let r = &sw.rows[p.row];
            format!(
                "  {name:<9} {}  (p95 {}, {} per run, {} per 1,000 runs): {}",
                variant_name(r),
                secs(r.duration_s.p95),
                usd(r.cost_usd.mean),
                usd(r.cost_usd.per_1000_runs),
                p.why
            )
        }
        None if rescued_only && !sw.allow_oom_rescue => {
            format!("  {name:<9} none: every feasible variant is OOM-rescued (--allow-oom-rescue to consider them)")
        }
        None => format!("  {name:<9} none: no variant is feasible"),
    };
    let _ = writeln!(o, "recommended");
    let _ = writeln!(o, "{}", line("cost", &sw.recommended.cost));
    let _ = writeln!(o, "{}", line("speed", &sw.recommended.speed));
    let _ = writeln!(o, "{}", line("balanced", &sw.recommended.balanced));
    let _ = writeln!(o);
    let slos = if sw.slos.is_empty() { "none given".to_owned() } else { sw.slos.join(", ") };
    let _ = writeln!(
        o,
        "feasible: every SLO passes and the success rate is within {SUCCESS_SE} standard errors of the best"
    );
    let _ = writeln!(o, "SLOs:     {slos}");
    let _ = writeln!(
        o,
        "front:    feasible variants no other beats beyond the noise (paired 95% interval) on mean cost or p95 without losing on the other"
    );
    let _ = writeln!(
        o,
        "noise:    {}",
        match sw.load {
            Some(r) => format!(
                "intervals over the {r} replications (paired: replication r of every variant has the same arrivals)"
            ),
            None => format!(
                "intervals over {} batches of runs (paired: batch j of every variant has the same runs)",
                paired::BATCHES
            ),
        }
    );
    if sw.rows.iter().any(|r| r.rescued) {
        let _ = writeln!(
            o,
            "rescued:  runs of the swept task that ran out of memory and finished on retry.outOfMemory.machine; {}",
            if sw.allow_oom_rescue {
                "allowed by --allow-oom-rescue"
            } else {
                "never recommended without --allow-oom-rescue"
            }
        );
    }
    let _ = writeln!(
        o,
        "balanced: lowest {:.2} x cost / cheapest + {:.2} x p95 / fastest, over the feasible variants",
        sw.balance,
        1.0 - sw.balance
    );
    o
}

/// `85% finish on large-1x`: where a rescued row's runs finished, other than its own preset.
fn rescue_text(r: &Row) -> String {
    let mut parts: Vec<String> = r
        .finished_on
        .iter()
        .filter(|(m, _)| Some(**m) != r.machine)
        .map(|(m, x)| format!("{} finish on {m}", pct(*x, if *x < 0.1 { 1 } else { 0 })))
        .collect();
    if parts.is_empty() {
        parts.push(format!("{} finish on another preset", pct(r.rescued_share, 1)));
    }
    parts.join(", ")
}

/// `value ± half-width`, or the value alone when there is no interval.
fn with_ci(v: String, half: f64, fmt: fn(f64) -> String) -> String {
    if half.is_nan() { v } else { format!("{v} ± {}", fmt(half)) }
}

/// Each task's picks of `--task all`.
pub fn all_grid(sweeps: &[Sweep]) -> Grid {
    let mut g = Grid::new(&[
        ("task", Align::Left),
        ("scenario has", Align::Left),
        ("cost", Align::Left),
        ("speed", Align::Left),
        ("balanced", Align::Left),
    ]);
    for sw in sweeps {
        let name = |p: &Option<Pick>| p.as_ref().map_or("none".to_owned(), |p| variant_name(&sw.rows[p.row]));
        g.push(vec![
            sw.task.clone().unwrap_or_default(),
            sw.scenario_machine.unwrap_or("-").to_owned(),
            name(&sw.recommended.cost),
            name(&sw.recommended.speed),
            name(&sw.recommended.balanced),
        ]);
    }
    g
}

/// The summary table of `--task all`: each task's picks.
pub fn all_table(sweeps: &[Sweep]) -> String {
    format!("recommended per task (each swept with the others as written)\n\n{}", all_grid(sweeps).text(3))
}

// ---------------------------------------------------------------------------------------
// Sensitivity

/// The parameters of a sensitivity analysis as a table, largest effect first.
pub fn sensitivity_grid(s: &Sensitivity) -> Grid {
    let signed = |x: f64| {
        if x == 0.0 {
            "0.0%".to_owned()
        } else if (x * 100.0).abs() < 0.05 {
            // Too small to show but not nothing: the sign says which way.
            if x > 0.0 { "+0.0%".to_owned() } else { "-0.0%".to_owned() }
        } else {
            format!("{:+.1}%", x * 100.0)
        }
    };
    let eff = |e: &Effect| {
        let ci = if e.ci95.is_nan() { String::new() } else { format!(" ± {:.1}%", e.ci95 * 100.0) };
        format!("{}{ci}", signed(e.value))
    };
    let m = s.metric.name();
    let heads = [format!("{m} down"), format!("{m} up")];
    let mut g = Grid::new(&[
        ("rank", Align::Left),
        ("parameter", Align::Left),
        ("kind", Align::Left),
        ("as written", Align::Left),
        ("down / up", Align::Left),
        (&heads[0], Align::Right),
        (&heads[1], Align::Right),
        ("", Align::Left),
    ]);
    for (i, p) in s.parameters.iter().enumerate() {
        g.push(vec![
            (i + 1).to_string(),
            p.label.clone(),
            p.kind.name().to_owned(),
            p.values[0].clone(),
            format!("{} / {}", p.values[1], p.values[2]),
            eff(&p.down),
            eff(&p.up),
            {
                let mut note: Vec<String> = Vec::new();
                if p.noise {
                    note.push("noise".into());
                }
                let b = s.base.success_rate;
                if p.success_down != b || p.success_up != b {
                    note.push(format!("success {} / {}", pct(p.success_down, 2), pct(p.success_up, 2)));
                }
                note.join("; ")
            },
        ]);
    }
    g
}

/// The human table of a sensitivity analysis.
pub fn sensitivity_table(s: &Sensitivity) -> String {
    let d = (s.delta * 100.0).round();
    let m = s.metric.name();
    let t = if s.parameters.is_empty() {
        "the scenario has nothing to vary\n".to_owned()
    } else {
        sensitivity_grid(s).text(3)
    };
    let base = match s.metric {
        paired::Metric::Cost => usd(s.base.value),
        _ => secs(s.base.value),
    };
    let each = match s.load {
        Some(r) => format!("{r} replications of the load each"),
        None => format!("{} runs each", s.runs),
    };
    let noise = match s.load {
        Some(r) => format!("over the {r} replications"),
        None => format!("over {} batches of runs", paired::BATCHES),
    };
    let isolated = if s.isolated {
        "--isolated: the scenario's load: block is ignored; each workflow run has the platform to itself\n"
    } else {
        ""
    };
    format!(
        "sensitivity of {}; {}\n\
         each parameter down and up in turn ({d}%, at least one step for whole numbers, neighbouring presets), {each}, seed {} (the same random numbers)\n\
         {isolated}base: {m} {base} (p95 duration {}, mean cost {} per run)\n\
         columns: change of the {m} against the scenario as written, ± a paired 95% interval {noise}; noise: both inside it;\n\
         success: the down / up variants' success rates where they differ from the base's ({})\n\n{t}",
        s.scenario,
        s.environment,
        s.seed,
        secs(s.base.p95_duration_s),
        usd(s.base.mean_cost_usd),
        pct(s.base.success_rate, 2),
    )
}

/// Says that trigger steps keep some of the swept task's runs on presets of their own.
pub fn pinned_note(sw: &Sweep) -> Option<String> {
    let task = sw.task.as_deref()?;
    (!sw.pinned_by_triggers.is_empty()).then(|| {
        format!(
            "note: trigger steps start `{task}` with machine: {p}; those runs keep that preset whatever a row sets (the rows differ only in the other runs), and runs finishing on {p} do not count as out-of-memory rescues",
            p = sw.pinned_by_triggers.join(", ")
        )
    })
}
