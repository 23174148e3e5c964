//! The fitted scenario as YAML, with a comment beside every fitted number: how many runs it
//! came from and how well it fits.

use super::families::{Family, Fitted, Verdict};
use super::{Fit, TaskFit, tree::Edge};
use std::fmt::Write;

/// `x` with `sig` significant digits, without an exponent or trailing zeros.
pub fn num(x: f64, sig: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let dec = (sig - 1 - mag).max(0) as usize;
    let s = format!("{x:.dec$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// Seconds as a duration of the scenario language.
pub fn secs(x: f64) -> String {
    format!("{}s", num(x, 4))
}

/// A fitted family in the scenario language (durations in seconds).
pub fn dist(f: &Family) -> String {
    match f {
        Family::Fixed(v) => secs(*v),
        Family::Uniform { lo, hi } => format!("{{ uniform: [{}, {}] }}", secs(*lo), secs(*hi)),
        Family::Normal { mean, sd } => format!("{{ normal: {{ mean: {}, sd: {} }} }}", secs(*mean), secs(*sd)),
        Family::LogNormal { mu, sigma } => format!(
            "{{ lognormal: {{ median: {}, p95: {} }} }}",
            secs(mu.exp()),
            secs((mu + sigma * crate::dist::Z95).exp())
        ),
        Family::Exponential { mean } => format!("{{ exponential: {{ mean: {} }} }}", secs(*mean)),
        Family::Empirical(v) => {
            let vals: Vec<String> = v.iter().map(|x| num(*x, 4)).collect();
            format!("{{ empirical: [{}] }}", vals.join(", "))
        }
    }
}

/// The comment on a fitted distribution: n, what was chosen and why, KS.
pub fn fit_comment(f: &Fitted, from: &str) -> String {
    let best = f.candidates.first().map_or("fixed", |c| c.family);
    let how = match f.verdict {
        Verdict::Poor => format!(
            "empirical: the best family by AIC ({best}) is rejected (KS {} > {} at 5%)",
            num(f.candidates[0].ks, 2),
            num(f.ks_crit, 2)
        ),
        _ if matches!(f.family, Family::Fixed(_)) => "every value equal".to_owned(),
        v => format!("{best} by AIC, KS {} vs {} at 5%: {}", num(f.ks, 2), num(f.ks_crit, 2), v.name()),
    };
    format!("n {} {from}; {how}", f.n)
}

/// The whole scenario.
pub fn scenario(fit: &Fit, plan: Option<&str>) -> String {
    let mut s = String::new();
    let ex = &fit.export;
    let _ = writeln!(s, "# Fitted by `wfsim fit` from {}:", ex.files.join(", "));
    let mut left = Vec::new();
    if ex.in_flight > 0 {
        left.push(format!("{} in flight", ex.in_flight));
    }
    if ex.tests_left_out > 0 {
        left.push(format!("{} test runs", ex.tests_left_out));
    }
    if ex.duplicates > 0 {
        left.push(format!("{} seen twice", ex.duplicates));
    }
    let left = if left.is_empty() { String::new() } else { format!(" (left out: {})", left.join(", ")) };
    let _ = writeln!(s, "# {} finished runs{left}, {} root runs of `{}`.", ex.runs, fit.root_runs, fit.entry);
    if let Some((a, b)) = ex.span {
        let _ = writeln!(s, "# Triggered from {} to {}.", super::export::format_time(a), super::export::format_time(b));
    }
    s.push_str(
        "# Distributions: the lowest AIC among uniform, normal, lognormal and exponential (fixed when all\n\
         # values are equal); KS = the Kolmogorov-Smirnov distance to the data against its 5% critical\n\
         # value 1.358/sqrt(n): good below it, else the data itself is written (empirical).\n",
    );
    for n in &fit.notes {
        let _ = writeln!(s, "# note: {n}");
    }
    if !ex.missing.is_empty() {
        let _ = writeln!(s, "# columns not in the export: {}", ex.missing.join(", "));
    }
    s.push('\n');
    let _ = writeln!(s, "name: {}", yaml_str(&fit.name));
    let _ = writeln!(s, "platform: trigger-dev-v4");
    let plan_comment = match fit.peak_concurrency {
        Some(p) => format!(
            "not in the export: the smallest plan whose limit covers the {p} runs seen executing at once (waiting parents included); set yours"
        ),
        None => "not in the export: set yours".into(),
    };
    let plan = plan.map(str::to_owned).unwrap_or_else(|| {
        let p = fit.peak_concurrency.unwrap_or(0);
        (if p <= 10 {
            "free"
        } else if p <= 25 {
            "hobby"
        } else {
            "pro"
        })
        .to_owned()
    });
    let _ = writeln!(s, "environment: {{ plan: {plan} }}   # {plan_comment}");
    let from = if fit.start_from_queued { "queued_duration" } else { "dequeued -> executed" };
    if let Some(f) = &fit.warm_start {
        let _ =
            writeln!(s, "startLatency: {}   # {}", dist(&f.family), fit_comment(f, &format!("warm starts ({from})")));
    }
    if let Some(f) = &fit.cold_start {
        let _ = writeln!(s, "coldStart: {}   # {}", dist(&f.family), fit_comment(f, &format!("cold starts ({from})")));
    }
    let _ = writeln!(s, "entry: {}", yaml_str(&fit.entry));
    s.push_str("tasks:\n");
    for t in &fit.tasks {
        task(&mut s, t);
    }
    if let Some(a) = &fit.arrivals {
        load(&mut s, a);
    }
    s
}

fn task(s: &mut String, t: &TaskFit) {
    let _ = writeln!(s, "  {}:   # {} runs", yaml_str(&t.name), t.runs);
    if let Some((m, n)) = &t.machine {
        let _ = writeln!(s, "    machine: {m}   # {n} of {} runs started on it", t.runs);
    }
    if let Some((q, n)) = &t.queue
        && *q != format!("task/{}", t.name)
    {
        let _ = writeln!(
            s,
            "    queue: {{ name: {} }}   # {n} runs; its concurrencyLimit is not in the export (set it)",
            yaml_str(q)
        );
    }
    if let Some((d, n)) = t.max_duration_s
        && d >= 5.0
    {
        let _ = writeln!(s, "    maxDuration: {}   # {n} runs; {} timed out", secs(d), t.timed_out);
    }
    if let Some((k, n)) = t.max_attempts {
        let oom = match &t.oom_machine {
            Some((m, _)) => format!(", outOfMemory: {{ machine: {m} }}"),
            None => String::new(),
        };
        let delay = match &t.delays {
            Some(d) => format!(
                ", minTimeoutInMs: {}{}",
                d.min_ms,
                d.factor.map_or(String::new(), |f| format!(", factor: {}", num(f, 3)))
            ),
            None => String::new(),
        };
        let _ = write!(
            s,
            "    retry: {{ maxAttempts: {k}{delay}{oom} }}   # the most attempts seen (at least this many allowed): {n} runs used {k}"
        );
        if let Some((m, c)) = &t.oom_machine {
            let _ = write!(s, "; {c} runs out of memory moved to {m}");
        }
        match &t.delays {
            Some(d) => {
                let _ = writeln!(
                    s,
                    "; minTimeoutInMs from {} runs with 2 attempts (their gap between attempts averages 1.5 x it; standard error {} ms){}",
                    d.n2,
                    num(d.min_se_ms, 2),
                    match d.factor {
                        Some(_) => format!(", factor from {} runs with 3", d.n3),
                        None => ", factor the SDK default".into(),
                    }
                );
            }
            None => s.push_str(
                "; the delays: not told apart from the runs' other waits (or too few retried runs), the SDK defaults\n",
            ),
        }
    }
    s.push_str("    steps:\n");
    if t.steps.is_empty() {
        s.push_str("      - work:\n");
        s.push_str("          name: compute\n");
        match &t.compute {
            Some(f) => {
                let _ = writeln!(s, "          duration: {}   # {}", dist(&f.family), fit_comment(f, t.compute_from));
            }
            None => s.push_str("          duration: 0s   # no compute time in the export\n"),
        }
    }
    // Traced steps: the first carries the memory and the failures, then the rest.
    for (i, (name, f)) in t.steps.iter().enumerate() {
        if i == 1 {
            break;
        }
        s.push_str("      - work:\n");
        let _ = writeln!(s, "          name: {}", yaml_str(name));
        let _ = writeln!(s, "          duration: {}   # {}", dist(&f.family), fit_comment(f, "traced attempts"));
    }
    if t.oom_runs > 0 {
        let ram = |m: &str| crate::platform::PRESETS.iter().find(|p| p.name == m).map(|p| p.ram_gb * 1024.0);
        if let Some(base) = t.machine.as_ref().and_then(|m| ram(&m.0)) {
            let high = t.oom_machine.as_ref().and_then(|m| ram(&m.0)).map_or(1.5 * base, |big| (base + big) / 2.0);
            let q = t.oom_runs as f64 / t.runs as f64;
            let _ = writeln!(
                s,
                "          memoryMb: {{ choice: {{ {}: {}, {}: {} }} }}   # {} of {} runs ran out of memory on {}: that share of attempts needs more than its RAM",
                num(base / 2.0, 4),
                num(1.0 - q, 4),
                num(high, 4),
                num(q, 4),
                t.oom_runs,
                t.runs,
                t.machine.as_ref().map_or("", |m| m.0.as_str())
            );
        }
    }
    if let Some((p, se, n)) = t.failure {
        let _ = writeln!(
            s,
            "          failure: {}   # per attempt: {} of {n} attempts failed (standard error {})",
            num(p, 4),
            (p * n as f64).round(),
            num(se, 2)
        );
    }
    for (name, f) in t.steps.iter().skip(1) {
        s.push_str("      - work:\n");
        let _ = writeln!(s, "          name: {}", yaml_str(name));
        let _ = writeln!(s, "          duration: {}   # {}", dist(&f.family), fit_comment(f, "traced attempts"));
    }
    if let Some((p, se, n)) = t.abort {
        s.push_str("      - work:\n");
        s.push_str("          name: not-retried\n");
        s.push_str("          duration: 0s\n");
        let _ = writeln!(
            s,
            "          failure: {{ probability: {}, retryable: false }}   # {} of {n} attempts ended their run before its attempts ran out (standard error {})",
            num(p, 4),
            (p * n as f64).round(),
            num(se, 2)
        );
    }
    if let Some(f) = &t.idle {
        let _ = writeln!(
            s,
            "      - wait: {{ for: {} }}   # idle, neither computing nor waiting for children (wait.for, polling): {}",
            dist(&f.family),
            fit_comment(f, "runs completed in one attempt")
        );
    }
    for e in &t.edges {
        edge(s, t, e);
    }
}

fn edge(s: &mut String, t: &TaskFit, e: &Edge) {
    let n = e.counts.len();
    let mut dist: Vec<(u32, usize)> = Vec::new();
    for &c in &e.counts {
        match dist.iter_mut().find(|(v, _)| *v == c) {
            Some(d) => d.1 += 1,
            None => dist.push((c, 1)),
        }
    }
    dist.sort();
    let total: u64 = e.counts.iter().map(|&c| u64::from(c)).sum();
    let mean = total as f64 / n.max(1) as f64;
    let mut count = count_dist(&dist, n, &e.counts);
    // A parent's children over several batches are written as one batch, which holds at most
    // 1,000 items.
    let over = e.batch && dist.last().is_some_and(|d| d.0 > 1000);
    if over {
        count = if count.starts_with('{') {
            format!("{}, max: 1000 }}", count.trim_end_matches('}').trim_end())
        } else {
            "1000".to_owned()
        };
    }
    let (yes, m) = e.wait_evidence;
    let waited = e.waited();
    let why = if m == 0 {
        "waited: assumed (no completed_at / execution_duration to tell)".to_owned()
    } else if waited {
        format!("waited: {yes} of {m} children ended before their parent, which was idle meanwhile")
    } else {
        format!("not waited: only {yes} of {m} children ended before their parent while it was idle")
    };
    let mut comment = format!("{} per run of {} (mean {}, {n} parent runs); {why}", e.child, t.name, num(mean, 3));
    if over {
        comment.push_str("; more than 1,000 children in some runs (several batches), capped at one batch of 1,000");
    }
    let task = yaml_str(&e.child);
    let fixed = (dist.len() == 1).then(|| dist[0].0);
    let key = if e.keyed { ", idempotencyKey: true" } else { "" };
    let comment = if e.keyed {
        format!("{comment}; idempotency keys: a retried parent reuses completed children")
    } else {
        comment
    };
    // A single child: `task` alone, or a map with its key.
    let one = if e.keyed { format!("{{ task: {task}{key} }}") } else { task.clone() };
    match (e.batch, waited, fixed) {
        (true, true, _) => {
            let _ = writeln!(s, "      - batchTriggerAndWait: {{ task: {task}, count: {count}{key} }}   # {comment}");
        }
        (true, false, _) => {
            let _ = writeln!(s, "      - batchTrigger: {{ task: {task}, count: {count}{key} }}   # {comment}");
        }
        (false, w, Some(k)) if k <= 4 => {
            let verb = if w { "triggerAndWait" } else { "trigger" };
            for _ in 0..k {
                let _ = writeln!(s, "      - {verb}: {one}   # {comment}");
            }
        }
        (false, w, _) => {
            let verb = if w { "triggerAndWait" } else { "trigger" };
            let _ = writeln!(
                s,
                "      - parallel: {{ count: {count}, limit: 1, steps: [ {{ {verb}: {one} }} ] }}   # one after the other: {comment}"
            );
        }
    }
}

/// A count's distribution: fixed, a `choice` of at most 12 values by their shares, else the
/// counts' quantiles (`empirical`).
fn count_dist(dist: &[(u32, usize)], n: usize, counts: &[u32]) -> String {
    if dist.len() == 1 {
        return dist[0].0.to_string();
    }
    if dist.len() <= 12 {
        let w: Vec<String> = dist.iter().map(|(v, c)| format!("{v}: {}", num(*c as f64 / n as f64, 4))).collect();
        return format!("{{ choice: {{ {} }} }}", w.join(", "));
    }
    let mut sorted: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
    sorted.sort_by(f64::total_cmp);
    let pts: Vec<String> = super::families::empirical_points(&sorted).iter().map(|x| num(x.round(), 6)).collect();
    format!("{{ empirical: [{}], round: true }}", pts.join(", "))
}

fn load(s: &mut String, a: &super::arrivals::Arrivals) {
    let kind = if a.poisson { "poisson" } else { "constant" };
    s.push_str("load:\n");
    let _ = writeln!(
        s,
        "  arrivals: {{ {kind}: {{ perMinute: {} }} }}   # {} root runs over {}; gaps' coefficient of variation {} ({})",
        num(a.per_minute, 4),
        a.n,
        secs(a.span_s),
        num(a.cv, 2),
        if a.poisson { "about 1: Poisson" } else { "below 0.5: evenly spaced" }
    );
    let _ = writeln!(s, "  duration: {}   # the span of the export's root runs", secs(a.span_s));
    let (chi2, df, crit) = a.chi2;
    if a.schedule.is_empty() {
        let _ = writeln!(
            s,
            "  # one rate: the counts per window are even enough (chi-square {} on {df} degrees of freedom, 1% critical value {})",
            num(chi2, 3),
            num(crit, 3)
        );
    } else {
        let _ = writeln!(
            s,
            "  schedule:   # the rate varies: chi-square {} on {df} degrees of freedom > {} (1% level)",
            num(chi2, 3),
            num(crit, 3)
        );
        for (until, r) in &a.schedule {
            let _ = writeln!(s, "    - {{ until: {}, perMinute: {} }}", secs(*until), num(*r, 4));
        }
    }
}

/// A YAML plain scalar when safe, else double-quoted.
fn yaml_str(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !v.starts_with(['-', '.'])
        && v.parse::<f64>().is_err()
        && !matches!(v, "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~");
    if plain { v.to_owned() } else { serde_json::to_string(v).unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(1.23456, 4), "1.235");
        assert_eq!(num(0.000123456, 3), "0.000123");
        assert_eq!(num(12345.6, 4), "12346");
        assert_eq!(num(2.0, 4), "2");
        assert_eq!(secs(0.25), "0.25s");
        assert_eq!(yaml_str("extract-text"), "extract-text");
        assert_eq!(yaml_str("a b"), "\"a b\"");
        assert_eq!(yaml_str("123"), "\"123\"");
    }
}
