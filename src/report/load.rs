//! The load block of the human table: queue waits, utilisation, throughput and backlog.

use crate::analysis::LoadSummary;

/// The load block of the human table.
pub fn table(s: &LoadSummary) -> String {
    use crate::format::secs;
    use std::fmt::Write;
    let mut o = String::new();
    let w = &s.queue_wait_s;
    let _ = writeln!(
        o,
        "load       {} replication(s) of {} (warm-up {}), environment limit {} x burst {}: {} workflow runs measured",
        s.replications,
        secs(s.duration_s),
        secs(s.warmup_s),
        s.environment_concurrency,
        s.burst_factor,
        s.arrived
    );
    let _ = writeln!(
        o,
        "slot wait  p50 {}  p95 {}  p99 {}  mean {}{}  ({:.1}% of {} grants waited)",
        secs(w.p50),
        secs(w.p95),
        secs(w.p99),
        secs(w.mean),
        if s.replications > 1 { format!(" ± {}", secs(w.mean_ci95)) } else { String::new() },
        w.share_waiting * 100.0,
        w.grants
    );
    let _ = writeln!(
        o,
        "platform   environment utilisation {:.1}%  throughput {:.1}{} per min  warm starts {:.1}%  expired {}  deadlocked {}",
        s.utilisation.environment * 100.0,
        s.throughput_per_min,
        if s.replications > 1 { format!(" ± {:.1}", s.throughput_per_min_ci95) } else { String::new() },
        s.warm_share * 100.0,
        s.expired,
        s.deadlocked
    );
    let width = s.queues.iter().map(|q| q.name.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        o,
        "{:width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>6}",
        "queue", "slots", "wait p50", "wait p95", "wait mean", "busy"
    );
    for q in &s.queues {
        let _ = writeln!(
            o,
            "{:width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>5.1}%",
            q.name,
            q.cap,
            secs(q.queue_wait_s.p50),
            secs(q.queue_wait_s.p95),
            secs(q.queue_wait_s.mean),
            q.utilisation * 100.0
        );
        for k in q.keys.iter().take(5) {
            let _ = writeln!(
                o,
                "  key {:>w$}  {:>6}  {:>9}  {:>9}  {:>9}",
                k.key,
                k.grants,
                "",
                secs(k.p95_s),
                secs(k.mean_s),
                w = width.saturating_sub(6)
            );
        }
    }
    if s.rejected > 0 {
        let _ = writeln!(o, "rejected   {} triggers refused by full queues", s.rejected);
    }
    o
}
