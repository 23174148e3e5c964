//! The load model against queueing theory and the platform's slot rules.

use wfsim::engine::{TaskAcc, simulate_load};
use wfsim::montecarlo::run_load;
use wfsim::scenario::load_str;

fn load(yaml: &str, reps: u64, seed: u64) -> wfsim::montecarlo::LoadResult {
    let m = match load_str(yaml, "load.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    };
    run_load(&m, seed, reps, None).expect("simulates")
}

/// Mean and standard error (sample standard deviation / sqrt(n)) of per-replication values.
fn mean_ci(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, sd / n.sqrt())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Of one replication: the share of grants of the first queue that waited, and its mean wait.
fn waited_and_mean_wait(o: &wfsim::engine::LoadOutcome) -> (f64, f64) {
    let w = &o.queues[0].waits;
    (w.iter().filter(|&&x| x > 1e-12).count() as f64 / w.len() as f64, mean(w))
}

/// Over the replications, with standard errors: P(wait) and Wq of the first queue.
fn wait_stats(r: &wfsim::montecarlo::LoadResult) -> ((f64, f64), (f64, f64)) {
    let v: Vec<(f64, f64)> = r.reps.iter().map(waited_and_mean_wait).collect();
    (mean_ci(&v.iter().map(|x| x.0).collect::<Vec<_>>()), mean_ci(&v.iter().map(|x| x.1).collect::<Vec<_>>()))
}

/// Replications 0..reps of `m` with `seed`, simulated one at a time and each reduced by `f`:
/// hundreds of replications of a busy load would not fit in memory all at once.
fn each_rep<T>(m: &wfsim::model::Model, seed: u64, reps: u64, f: impl Fn(&wfsim::engine::LoadOutcome) -> T) -> Vec<T> {
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    (0..reps).map(|r| f(&simulate_load(m, seed, r, &mut tasks).expect("simulates"))).collect()
}

/// Erlang C for an M/M/c queue: with a = lambda / mu and top = (a^c / c!) c / (c - a),
/// P(wait) = top / (sum_{k<c} a^k / k! + top) and Wq = P(wait) / (c mu - lambda).
fn erlang_c(lambda: f64, mu: f64, c: u32) -> (f64, f64) {
    let a = lambda / mu;
    let (mut sum, mut term) = (0.0, 1.0);
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    let p = top / (sum + top);
    (p, p / (f64::from(c) * mu - lambda))
}

const MMC: &str = "startLatency: 0\nentry: job\ntasks:\n  job:\n    steps:\n      - work: { duration: { exponential: { mean: 1s } } }\nload:\n  arrivals: { poisson: { perMinute: 192 } }\n  duration: 3000s\n  warmup: 200s\n  environmentConcurrency: 4\n  burstFactor: 1\n  coldStart: 0\n";

#[test]
fn m_m_4_matches_erlang_c() {
    // lambda 3.2/s, mu 1/s, c 4: Erlang C gives P(wait) 0.5964 and Wq 0.7455 s; utilisation
    // is rho = lambda / (c mu) = 0.8. 400 replications of 2,800 measured seconds (about a
    // millisecond each): each standard error comes from the spread of the per-replication
    // values, and must be small enough that a 5% error in the mean wait lies beyond 4 of them.
    let (p_th, wq_th) = erlang_c(3.2, 1.0, 4);
    let reps = each_rep(&model(MMC), 21, 400, |o| {
        let (waited, wq) = waited_and_mean_wait(o);
        (waited, wq, o.env_busy_area / (4.0 * (o.window.1 - o.window.0)))
    });
    let (pm, pse) = mean_ci(&reps.iter().map(|r| r.0).collect::<Vec<_>>());
    let (wm, wse) = mean_ci(&reps.iter().map(|r| r.1).collect::<Vec<_>>());
    let (um, use_) = mean_ci(&reps.iter().map(|r| r.2).collect::<Vec<_>>());
    eprintln!(
        "M/M/4: P(wait) {pm:.4} ± {pse:.4} ({p_th:.4}), Wq {wm:.4} ± {wse:.4} s ({wq_th:.4}), utilisation {um:.4} ± {use_:.4}"
    );
    assert!(4.0 * wse < 0.05 * wq_th, "too few replications to see a 5% error: se {wse}");
    assert!((pm - p_th).abs() < 4.0 * pse, "P(wait) {pm} ± {pse} vs {p_th}");
    assert!((wm - wq_th).abs() < 4.0 * wse, "Wq {wm} ± {wse} vs {wq_th}");
    assert!((um - 0.8).abs() < 4.0 * use_, "utilisation {um} ± {use_}");
}

#[test]
fn the_load_summary_intervals_are_across_replications() {
    // analysis::load::summarise: the mean wait pools every grant; its 95% half-width is Student's
    // t with 5 degrees of freedom (2.571, from a table) times the standard error of the 6
    // per-replication mean waits; throughput per minute is the runs completed in the window
    // over its length, its half-width likewise across replications. Recomputed here from the
    // replications.
    let m = model(MMC);
    let r = run_load(&m, 7, 6, None).expect("simulates");
    let s = wfsim::analysis::load::summarise(&m, &r).expect("a load");
    let half = |v: &[f64]| 2.571 * mean_ci(v).1;
    let waits: Vec<f64> = r.reps.iter().map(|o| mean(&o.queues[0].waits)).collect();
    let all: Vec<f64> = r.reps.iter().flat_map(|o| o.queues[0].waits.iter().copied()).collect();
    let tput: Vec<f64> =
        r.reps.iter().map(|o| o.completed_in_window as f64 / (o.window.1 - o.window.0) * 60.0).collect();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    for (what, w) in [("overall", &s.queue_wait_s), ("queue job", &s.queues[0].queue_wait_s)] {
        assert!(close(w.mean, mean(&all)), "{what}: mean {} vs {}", w.mean, mean(&all));
        assert!(close(w.mean_ci95, half(&waits)), "{what}: half-width {} vs {}", w.mean_ci95, half(&waits));
        assert_eq!(w.grants, all.len() as u64);
    }
    assert!(close(s.throughput_per_min, mean(&tput)), "{} vs {}", s.throughput_per_min, mean(&tput));
    assert!(close(s.throughput_per_min_ci95, half(&tput)), "{} vs {}", s.throughput_per_min_ci95, half(&tput));
}

/// Length of the overlap of [a, a + d] with the window [w0, w1].
fn overlap(a: f64, d: f64, (w0, w1): (f64, f64)) -> f64 {
    ((a + d).min(w1) - a.max(w0)).max(0.0)
}

#[test]
fn littles_law_holds_on_the_simulated_series() {
    let r = load(MMC, 100, 22);
    // Unit roundoff of f64.
    let u = f64::EPSILON / 2.0;
    let mut diff = Vec::new();
    for o in &r.reps {
        let (w0, w1) = o.window;
        let t = w1 - w0;
        assert_eq!(o.arrivals.len(), o.outcomes.len());
        // 1. Sample path, exactly: the integral over the window of the number of workflow runs
        //    in the system is the sum, over the runs that arrived in the window and the runs
        //    carried in from the warm-up, of the part of [arrival, arrival + duration] inside
        //    the window. Only rounding separates the two sides. The area sums
        //    `in_system_terms` products N x dt (each dt and product rounded once): at most
        //    (terms + 1) u of the area. Each overlap rebuilds its end as arrival + duration
        //    (duration itself rounded: u (a + 2d)) and subtracts (u of the overlap), and the
        //    n overlaps are summed: (n + 1) u of their sum. First-order bounds; the second-order
        //    terms are below 1e-20 of the area here.
        let mut sum = 0.0;
        let mut rebuild = 0.0;
        let runs =
            o.arrivals.iter().zip(&o.outcomes).map(|(&a, x)| (a, x.duration_s)).chain(o.carried_in.iter().copied());
        let mut n = 0;
        for (a, d) in runs {
            sum += overlap(a, d, o.window);
            rebuild += a + 2.0 * d;
            n += 1;
        }
        let area = o.in_system_area;
        let tol = u * ((o.in_system_terms as f64 + 1.0) * area + rebuild + (n as f64 + 1.0) * sum);
        assert!((area - sum).abs() <= tol, "area {area} vs sum of overlaps {sum}: {} > {tol}", (area - sum).abs());
        // 2. L against lambda W with lambda and W from the runs that arrived in the window.
        //    They differ by (carried-in overlap - the in-window runs' time past w1) / T: the
        //    boundary terms, zero on average in a stationary queue (FIFO: a run's sojourn does
        //    not depend on later arrivals, so the residuals at w0 and at w1 have the same law).
        let l = area / t;
        let lambda = o.outcomes.len() as f64 / t;
        let w = o.outcomes.iter().map(|x| x.duration_s).sum::<f64>() / o.outcomes.len() as f64;
        diff.push(l - lambda * w);
    }
    // Across replications: the mean of L - lambda W is within 4 standard errors of 0.
    let (dm, dse) = mean_ci(&diff);
    eprintln!("Little: mean L - lambda W {dm:.5} ± {dse:.5} (standard error, {} replications)", diff.len());
    assert!(dm.abs() < 4.0 * dse, "L - lambda W: {dm} ± {dse}");
}

/// Two workflow runs at t = 0 on an environment of one slot, no start latency.
fn two_runs(steps: &str) -> String {
    format!(
        "startLatency: 0\nentry: p\ntasks:\n  p:\n    steps:\n{steps}  c:\n    steps:\n      - work: {{ duration: 10s }}\nload:\n  arrivals: {{ constant: {{ perMinute: 0 }} }}\n  bursts: [ {{ at: 0, runs: 2 }} ]\n  duration: 1h\n  environmentConcurrency: 1\n  burstFactor: 1\n  coldStart: 0\n"
    )
}

fn durations(r: &wfsim::montecarlo::LoadResult) -> Vec<f64> {
    r.reps[0].outcomes.iter().map(|o| o.duration_s).collect()
}

#[test]
fn a_parent_in_trigger_and_wait_releases_its_slot_to_its_child() {
    // One slot: the parent would deadlock its child if it kept the slot while waiting.
    let r = load(&two_runs("      - triggerAndWait: c\n"), 1, 1);
    assert_eq!(r.reps[0].deadlocked, 0);
    assert!(r.reps[0].outcomes.iter().all(|o| o.status == wfsim::engine::Status::Completed));
    // Slots go to the earliest queued run: P1 starts, triggers C1 and releases; P2 (queued at
    // 0, before C1) starts, triggers C2 and releases; C1 runs 0-10 s, then C2 (queued before
    // P1 came back at 10 s) runs 10-20 s; both parents then end at 20 s.
    let d = durations(&r);
    assert!((d[0] - 20.0).abs() < 1e-9 && (d[1] - 20.0).abs() < 1e-9, "{d:?}");
}

#[test]
fn a_short_wait_keeps_the_slot_and_a_long_one_gives_it_back_after_60_s() {
    // wait.for 30 s (checkpointed, not billed, but under 60 s): the slot is held throughout, so
    // the second run starts only when the first ends at 31 s and ends at 62 s.
    let short = load(&two_runs("      - wait: 30s\n      - work: { duration: 1s }\n"), 1, 1);
    let d = durations(&short);
    assert!((d[0] - 31.0).abs() < 1e-9 && (d[1] - 62.0).abs() < 1e-9, "{d:?}");
    // work 1 s, wait.for 90 s, work 1 s. P1 gives the slot back 60 s into its wait (61 s); P2
    // works 61-62 s and waits, holding the slot until 122 s; P1, due back at 91 s, gets it then
    // and ends at 123 s; P2 resumes at 152 s on the free slot and ends at 153 s.
    let long =
        load(&two_runs("      - work: { duration: 1s }\n      - wait: 90s\n      - work: { duration: 1s }\n"), 1, 1);
    let d = durations(&long);
    assert!((d[0] - 123.0).abs() < 1e-9 && (d[1] - 153.0).abs() < 1e-9, "{d:?}");
}

fn model(yaml: &str) -> wfsim::model::Model {
    match load_str(yaml, "load.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_busy_tenant_waits_and_quiet_ones_do_not_with_a_concurrency_key() {
    // One busy tenant sends 80% of the runs; each tenant's copy of the queue has 2 slots.
    let base = "startLatency: 0\ninput:\n  tenant: { choice: { big: 0.8, a: 0.05, b: 0.05, c: 0.05, d: 0.05 } }\nentry: job\ntasks:\n  job:\n    queue: { name: jobs, concurrencyLimit: 2 }\n    KEY\n    steps:\n      - work: { duration: { exponential: { mean: 20s } } }\nload:\n  arrivals: { poisson: { perMinute: 5.4 } }\n  duration: 2h\n  warmup: 10m\n  environmentConcurrency: 100\n  coldStart: 0\n";
    let keyed = run_load(&model(&base.replace("KEY", "concurrencyKey: tenant")), 5, 16, None).unwrap();
    let s = wfsim::analysis::load::summarise(&model(&base.replace("KEY", "concurrencyKey: tenant")), &keyed).unwrap();
    let q = &s.queues[0];
    let big = q.keys.iter().find(|k| k.key == "big").unwrap();
    let quiet: Vec<_> = q.keys.iter().filter(|k| k.key != "big").collect();
    assert_eq!(quiet.len(), 4);
    // The busy tenant's copy is an M/M/2 at utilisation 0.8 * 5.4/min * 20 s / 2 = 0.72
    // (Erlang C: mean wait 21.5 s); the quiet tenants' copies at 0.045 hardly ever wait.
    for k in &quiet {
        assert!(big.mean_s > 10.0 * k.mean_s.max(0.01), "big {} vs {} {}", big.mean_s, k.key, k.mean_s);
    }
    // Without the key every tenant shares the same 2 slots at utilisation 0.9: the quiet
    // tenants now wait as long as the busy one, and longer than it did alone. (Erlang C gives
    // 85 s in the steady state; a 10-minute warm-up is shorter than the queue's relaxation
    // time of about 2,000 s, so a 2-hour replication averages less, about 76 s.) Both means
    // come from replications whose waits vary a lot at these utilisations, so the gap must
    // exceed 4 standard errors of the difference, each side's from its per-replication mean
    // waits: 16 replications of the keyed queue, 40 of the shared one.
    assert_eq!(q.keys[0].key, "big", "by_key[0] is the busy tenant's copy");
    let (big_mean, big_se) = mean_ci(
        &keyed
            .reps
            .iter()
            .map(|o| o.queues[0].by_key[0].iter().sum::<f64>() / o.queues[0].by_key[0].len() as f64)
            .collect::<Vec<_>>(),
    );
    let shared = run_load(&model(&base.replace("KEY", "")), 5, 40, None).unwrap();
    let (shared_mean, shared_se) = mean_ci(&shared.reps.iter().map(|o| mean(&o.queues[0].waits)).collect::<Vec<_>>());
    let margin = 4.0 * big_se.hypot(shared_se);
    assert!(
        shared_mean - big_mean > margin,
        "shared {shared_mean} (se {shared_se}) vs busy tenant {big_mean} (se {big_se}): margin {margin}"
    );
}

const BURST: &str = "startLatency: 0\nentry: job\ntasks:\n  job:\n    TTL\n    steps:\n      - work: { duration: 10s }\nload:\n  arrivals: { constant: { perMinute: 0 } }\n  bursts: [ { at: 0, runs: 20 } ]\n  duration: 1h\n  environmentConcurrency: 1\n  burstFactor: 1\n  coldStart: 0\n  EXTRA\n";

#[test]
fn a_full_queue_rejects_triggers() {
    let r = run_load(&model(&BURST.replace("TTL", "").replace("EXTRA", "maxQueueSize: 5")), 1, 1, None).unwrap();
    // One run starts at once, five wait, fourteen are refused.
    assert_eq!(r.reps[0].queues[0].rejected, 14);
    let failed = r.reps[0].outcomes.iter().filter(|o| o.status == wfsim::engine::Status::Failed).count();
    assert_eq!(failed, 14);
}

#[test]
fn runs_not_started_within_their_ttl_expire() {
    // One slot, 10 s runs, ttl 25 s: the runs queued behind start at 10, 20 s; the rest expire.
    let r = run_load(&model(&BURST.replace("TTL", "ttl: 25s").replace("EXTRA", "")), 1, 1, None).unwrap();
    let expired = r.reps[0].outcomes.iter().filter(|o| o.status == wfsim::engine::Status::Expired).count();
    assert_eq!(expired, 17);
    assert_eq!(r.reps[0].expired, 17);
}

#[test]
fn batch_items_past_the_rate_limit_wait_for_tokens() {
    // 300 items, a bucket of 100 refilled at 10 per second: item i >= 100 waits (i + 1 - 100) / 10 s.
    let y = "startLatency: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - batchTrigger: { task: c, count: 300 }\n  c:\n    steps:\n      - work: { duration: 0 }\nload:\n  arrivals: { constant: { perMinute: 0 } }\n  bursts: [ { at: 0, runs: 1 } ]\n  duration: 1h\n  environmentConcurrency: 1000\n  coldStart: 0\n  batchTokens: { bucket: 100, refill: 10, every: 1s }\n";
    let r = run_load(&model(y), 1, 1, None).unwrap();
    assert!((r.reps[0].outcomes[0].makespan_s - 20.0).abs() < 1e-9, "{}", r.reps[0].outcomes[0].makespan_s);
}

#[test]
fn the_warm_share_follows_keep_warm_and_the_run_length() {
    // One slot, runs of d = 20 s, Poisson arrivals at rate lambda, no start latency: an M/D/1
    // queue. A start is warm when a machine ended a run within keepWarm (k = 300 s) before
    // it. A run that queued starts as the run before it ends, on its machine: warm. A run
    // that finds the slot free ends an idle period, which is exponential with rate lambda
    // (memoryless arrivals), so it is cold when that period exceeds k; by PASTA a share
    // 1 - rho (rho = lambda d) of the arrivals find the slot free. So the warm share is
    // 1 - (1 - lambda d) e^(-lambda k). (The first run of a replication is cold whatever the
    // gap: about 0.0003 here, a tenth of a standard error.)
    let y = "startLatency: 0\nentry: job\ntasks:\n  job:\n    steps:\n      - work: { duration: 20s }\nload:\n  arrivals: { poisson: { perMinute: RATE } }\n  duration: SPAN\n  environmentConcurrency: 1\n  burstFactor: 1\n  coldStart: 0\n";
    // One run every 10 minutes (warm share 0.414; with keepWarm 200 s it would be 0.307, and
    // 0.393 if the run's 20 s did not count) and one a minute (0.9955: cold starts are rare),
    // 2,000 arrivals per replication, 20 replications.
    for per_minute in [0.1f64, 1.0] {
        let lambda = per_minute / 60.0;
        let span = format!("{}s", 2000.0 / lambda);
        let m = model(&y.replace("RATE", &per_minute.to_string()).replace("SPAN", &span));
        let share = each_rep(&m, 1, 20, |o| o.warm_starts as f64 / o.starts as f64);
        let (got, se) = mean_ci(&share);
        let want = 1.0 - (1.0 - lambda * 20.0) * (-lambda * 300.0).exp();
        eprintln!("{per_minute} per minute: warm share {got:.4} ± {se:.4}, expected {want:.4}");
        assert!(4.0 * se < 0.05 * want, "too few runs to see a 5% error: se {se}");
        assert!((got - want).abs() < 4.0 * se, "{per_minute} per minute: warm share {got} ± {se} vs {want}");
    }
}

#[test]
fn scheduled_rates_give_the_expected_number_of_arrivals() {
    // 1 per minute for 10 minutes, then 600 per minute for 10: 6,010 arrivals expected, a
    // Poisson count with variance 6,010.
    let y = "startLatency: 0\nentry: job\ntasks:\n  job:\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { poisson: { perMinute: 600 } }\n  schedule: [ { until: 10m, perMinute: 1 } ]\n  duration: 20m\n  environmentConcurrency: 1000\n  coldStart: 0\n";
    let reps = 10;
    let r = run_load(&model(y), 3, reps, None).unwrap();
    let counts: Vec<f64> = r.reps.iter().map(|o| o.arrived as f64).collect();
    let mean = counts.iter().sum::<f64>() / reps as f64;
    let se = (6010.0f64 / reps as f64).sqrt();
    assert!((mean - 6010.0).abs() < 4.0 * se, "{mean} arrivals on average");
}

/// 1,000 tenants with skewed traffic (tenant 0 busiest), a per-tenant limit of two slots and an
/// environment of 16 slots (24 with the burst factor): both caps bind. An urgent child shares
/// the tenant's queue with a priority of 60 s, a ttl expires runs of busy tenants (stale
/// heads), and a 90 s wait gives the slot back and queues the run again to resume.
const TENANTS: &str = "startLatency: 0\ninput:\n  tenant: { exponential: { mean: 20 }, round: true, max: 999 }\nentry: job\ntasks:\n  job:\n    queue: { name: jobs, concurrencyLimit: 2 }\n    concurrencyKey: tenant\n    ttl: 1m\n    steps:\n      - work: { duration: { exponential: { mean: 5s } } }\n      - trigger: urgent\n      - wait: 90s\n      - work: { duration: { exponential: { mean: 2s } } }\n  urgent:\n    queue: { name: jobs, concurrencyLimit: 2 }\n    concurrencyKey: tenant\n    priority: 60s\n    steps:\n      - work: { duration: { exponential: { mean: 3s } } }\nload:\n  arrivals: { poisson: { perMinute: 18 } }\n  duration: 1h\n  warmup: 5m\n  environmentConcurrency: 16\n  burstFactor: 1.5\n  coldStart: 0\n";

#[test]
fn many_tenants_get_the_same_grants_as_the_linear_scan() {
    // The dispatcher that scanned every sub-queue per grant is kept as a reference mode
    // (`simulate_load_scan`): the index must grant the same runs in the same order. Compared
    // per replication, bit for bit: every wait in grant order, each tenant's waits, every
    // workflow run's outcome, and the counts and areas. (Until this session these were
    // numbers pinned from the scan; a change of the random streams then meant re-deriving
    // them from old code, so the scan itself is the reference now.) Dropping the index's
    // re-key or re-index step was seen to fail this.
    let m = model(TENANTS);
    for rep in 0..3 {
        let (mut t1, mut t2) = (vec![TaskAcc::default(); m.tasks.len()], vec![TaskAcc::default(); m.tasks.len()]);
        let fast = simulate_load(&m, 5, rep, &mut t1).expect("simulates");
        let scan = wfsim::engine::simulate_load_scan(&m, 5, rep, &mut t2).expect("simulates");
        let (q, r) = (&fast.queues[0], &scan.queues[0]);
        assert_eq!(q.by_key.len(), 1000);
        // Both caps bind, runs expire and resume: the case exercises what the index must get right.
        assert!(fast.expired > 0 && q.waits.len() > 1000, "{} expired, {} grants", fast.expired, q.waits.len());
        assert!(q.by_key.iter().filter(|k| !k.is_empty()).count() > 50);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&q.waits), bits(&r.waits), "replication {rep}: grants differ");
        for (a, b) in q.by_key.iter().zip(&r.by_key) {
            assert_eq!(bits(a), bits(b), "replication {rep}: a tenant's waits differ");
        }
        let durations =
            |o: &wfsim::engine::LoadOutcome| o.outcomes.iter().map(|x| x.duration_s.to_bits()).collect::<Vec<_>>();
        assert_eq!(durations(&fast), durations(&scan));
        assert_eq!(
            (fast.arrived, fast.starts, fast.expired, fast.deadlocked, fast.in_system_area.to_bits()),
            (scan.arrived, scan.starts, scan.expired, scan.deadlocked, scan.in_system_area.to_bits())
        );
        assert_eq!(fast.deadlocked, 0);
    }
}

#[test]
fn a_thousand_tenants_under_the_environment_limit_queue_exactly_like_one_queue() {
    // With 1,000 concurrencyKey values and no queue limit, each copy may use all 4 slots of
    // the environment: the copies never bind, so the grants must be those of the one-queue
    // M/M/4, run for run (the tenant is drawn from its own stream and changes no other draw).
    let keyed = MMC
        .replace("entry: job\n", "input:\n  tenant: { uniform: [0, 999] }\nentry: job\n")
        .replace("  job:\n    steps:", "  job:\n    concurrencyKey: tenant\n    steps:");
    let (a, b) = (load(MMC, 2, 23), load(&keyed, 2, 23));
    for (a, b) in a.reps.iter().zip(&b.reps) {
        assert_eq!(b.queues[0].by_key.len(), 1000);
        assert!(a.queues[0].waits.len() > 8000);
        assert_eq!(a.queues[0].waits, b.queues[0].waits);
        let d = |o: &wfsim::engine::LoadOutcome| o.outcomes.iter().map(|x| x.duration_s).collect::<Vec<_>>();
        assert_eq!(d(a), d(b));
        assert_eq!(a.in_system_area, b.in_system_area);
        assert_eq!(a.env_busy_area, b.env_busy_area);
    }
}

#[test]
fn a_thousand_tenants_of_one_slot_each_are_m_m_1_queues() {
    // 1,000 tenants, one slot each, 2,000 in the environment (about 500 busy: never binding):
    // each tenant's copy is an M/M/1 with lambda 0.05/s, mu 0.1/s, rho 0.5, so P(wait) = 0.5
    // and Wq = rho / (mu - lambda) = 10 s, pooled over the tenants as over one.
    let y = "startLatency: 0\ninput:\n  tenant: { uniform: [0, 999] }\nentry: job\ntasks:\n  job:\n    queue: { name: jobs, concurrencyLimit: 1 }\n    concurrencyKey: tenant\n    steps:\n      - work: { duration: { exponential: { mean: 10s } } }\nload:\n  arrivals: { poisson: { perMinute: 3000 } }\n  duration: 1h\n  warmup: 20m\n  environmentConcurrency: 2000\n  burstFactor: 1\n  coldStart: 0\n";
    let r = load(y, 8, 24);
    let ((pm, pse), (wm, wse)) = wait_stats(&r);
    eprintln!("1,000 x M/M/1: P(wait) {pm:.4} ± {pse:.4}, Wq {wm:.3} ± {wse:.3} s");
    assert!((pm - 0.5).abs() < 4.0 * pse, "P(wait) {pm} ± {pse}");
    assert!((wm - 10.0).abs() < 4.0 * wse, "Wq {wm} ± {wse}");
    // Every tenant got runs, and the environment never ran out of slots.
    assert!(r.reps.iter().all(|o| o.queues[0].by_key.iter().all(|k| !k.is_empty())));
    assert!(r.reps.iter().all(|o| o.env_busy_area / (o.window.1 - o.window.0) < 1000.0));
}

/// Two runs at 0.1 s on one slot, 10.1 s of work each, with the self-hosted dequeue loop.
const DEQUEUE: &str = "startLatency: 0\nentry: p\ntasks:\n  p:\n    steps:\n      - work: { duration: 10.1s }\nload:\n  arrivals: { constant: { perMinute: 0 } }\n  bursts: [ { at: 0.1, runs: 2 } ]\n  duration: 1h\n  environmentConcurrency: 1\n  burstFactor: 1\n  coldStart: 0\n  dequeueInterval: 250ms\n  dequeueIdleInterval: 1s\n";

#[test]
fn queued_runs_start_only_when_the_dequeue_loop_polls() {
    // The loop polls every 1 s while idle (at 0 and 1 s): both runs queue at 0.1 s and the
    // first starts at the 1 s poll (which saw runs waiting, so the loop goes on every 250 ms).
    // It ends at 11.1 s; the next poll is at 11.25 s (1 + 41 x 0.25), so the second starts
    // then and ends at 21.35 s.
    let r = load(DEQUEUE, 1, 1);
    let d = durations(&r);
    assert!((d[0] - 11.0).abs() < 1e-9 && (d[1] - 21.25).abs() < 1e-9, "{d:?}");
    let w = &r.reps[0].queues[0].waits;
    assert!((w[0] - 0.9).abs() < 1e-9 && (w[1] - 11.15).abs() < 1e-9, "{w:?}");
    // Without the loop (the default) the slot goes at once: 0.1-10.2 s, then 10.2-20.3 s.
    let r = load(&DEQUEUE.replace("  dequeueInterval: 250ms\n  dequeueIdleInterval: 1s\n", ""), 1, 1);
    let d = durations(&r);
    assert!((d[0] - 10.1).abs() < 1e-9 && (d[1] - 20.2).abs() < 1e-9, "{d:?}");
}

#[test]
fn an_idle_interval_without_an_interval_is_a_located_error() {
    let y = DEQUEUE.replace("  dequeueInterval: 250ms\n", "");
    let e = match load_str(&y, "dq.yaml") {
        Ok(_) => panic!("loads"),
        Err(e) => e,
    };
    let s = e.to_string();
    assert!(s.contains("dq.yaml:14:24") && s.contains("load.dequeueIdleInterval"), "{s}");
    let y = DEQUEUE.replace("dequeueIdleInterval: 1s", "dequeueIdleInterval: 0");
    let s = match load_str(&y, "dq.yaml") {
        Ok(_) => panic!("loads"),
        Err(e) => e.to_string(),
    };
    assert!(s.contains("must be positive"), "{s}");
}

/// A way of simulating a load replication (`simulate_load` and its reference modes).
type Sim =
    fn(&wfsim::model::Model, u64, u64, &mut [TaskAcc]) -> Result<wfsim::engine::LoadOutcome, wfsim::engine::SimError>;

/// Replication `rep` (seed 5) of `m` through `a` and through `b` must be the same: every
/// outcome and statistic bit for bit (Debug prints each f64 exactly, shortest round trip, so
/// equal text is equal bits) and the same task totals. Returns `a`'s.
fn same_replication(m: &wfsim::model::Model, what: &str, rep: u64, a: Sim, b: Sim) -> wfsim::engine::LoadOutcome {
    let (mut ta, mut tb) = (vec![TaskAcc::default(); m.tasks.len()], vec![TaskAcc::default(); m.tasks.len()]);
    let oa = a(m, 5, rep, &mut ta).expect("simulates");
    let ob = b(m, 5, rep, &mut tb).expect("simulates");
    assert_eq!(format!("{oa:?}"), format!("{ob:?}"), "{what} replication {rep}");
    assert_eq!(ta, tb, "{what} replication {rep}: task totals");
    oa
}

/// Runs of one-step tasks skip the fiber machinery under load (`start_simple`); with the
/// shortcut off every run goes through the fibers. Both must give the same replication, bit
/// for bit: M/M/4, constant arrivals with fixed durations (ties), ttl, priority, bursts and a
/// full queue, and one-step children (keyed, random start and cold-start latencies) of a
/// multi-step parent; and the case a review found (cold starts at zero latency, warm ones at
/// 0.5 s, 1 s of work every second on 2 slots: a work end ties with the next arrival, which
/// decides whether that arrival finds a warm machine; the fourth session's in-line start put
/// the work end first, the fibers put it after). A one-queue load compares its path too.
#[test]
fn one_step_shortcut_changes_nothing() {
    let ties = "startLatency: 0\nentry: job\ntasks:\n  job:\n    progress: [0, 100]\n    ttl: 3s\n    priority: 2s\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { constant: { perMinute: 120 } }\n  bursts: [ { at: 100, runs: 30 }, { at: 200, runs: 5 } ]\n  duration: 600s\n  warmup: 60s\n  environmentConcurrency: 2\n  burstFactor: 1\n  coldStart: 0\n  maxQueueSize: 20\n";
    let chain = "startLatency: { uniform: [0.1s, 0.4s] }\ninput:\n  tenant: { uniform: [0, 9] }\nentry: p\ntasks:\n  p:\n    progress: [0, 40]\n    steps:\n      - work: { duration: { exponential: { mean: 1s } } }\n      - triggerAndWait: c\n      - trigger: f\n  c:\n    queue: { name: cq, concurrencyLimit: 2 }\n    concurrencyKey: tenant\n    progress: [40, 100]\n    machine: small-2x\n    steps:\n      - work: { duration: { exponential: { mean: 2s } } }\n  f:\n    priority: 1s\n    steps:\n      - work: { duration: { lognormal: { median: 1s, p95: 3s } } }\nload:\n  arrivals: { poisson: { perMinute: 90 } }\n  duration: 1200s\n  warmup: 100s\n  environmentConcurrency: 6\n  coldStart: { uniform: [1s, 3s] }\n  keepWarm: 5s\n";
    let warm = "startLatency: 0.5s\nentry: job\ntasks:\n  job:\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { constant: { perMinute: 60 } }\n  duration: 300s\n  environmentConcurrency: 2\n  coldStart: 0\n  keepWarm: 0\n";
    for (name, yaml) in [("mm4", MMC), ("ties", ties), ("chain", chain), ("warm", warm)] {
        let m = model(yaml);
        for rep in 0..2 {
            let fibers = wfsim::engine::simulate_load_fibers;
            let fast = same_replication(&m, name, rep, wfsim::engine::simulate_load_general, fibers);
            assert!(fast.arrived > 100, "{name}: {} arrivals", fast.arrived);
            if wfsim::engine::load_takes_one_queue(&m) {
                same_replication(&m, &format!("{name} (one-queue path)"), rep, simulate_load, fibers);
            }
        }
        if name == "warm" {
            // Through the fibers each arrival comes before the work end at the same instant
            // (that work end's event was pushed after it), so it takes the other slot and
            // finds no machine warm (keepWarm 0): cold, at zero latency, every time.
            let mut t = vec![wfsim::engine::TaskAcc::default(); m.tasks.len()];
            let o = wfsim::engine::simulate_load_fibers(&m, 5, 0, &mut t).expect("simulates");
            assert_eq!(o.warm_starts, 0);
            assert!(o.outcomes.iter().all(|x| x.duration_s == 1.0), "every run takes its 1 s of work");
        }
    }
}

/// A load whose every workflow run is one run of a one-step task in one queue takes the
/// one-queue path (src/engine/load/one_queue.rs); through the general engine the replication
/// must be the same, bit for bit: M/M/4; constant arrivals every 0.5 s of fixed 1 s work on
/// two slots (ties between arrivals, work ends and samples, broken by sequence) with a
/// progress slice, a priority, bursts and a full queue rejecting runs; and random start and
/// cold-start latencies with a short keepWarm, a rate schedule with a pause, a warm-up, a
/// slice starting at 20%, a larger machine and another task whose concurrencyKey gives the
/// shared queue copies.
#[test]
fn the_one_queue_path_changes_nothing() {
    let ties = "startLatency: 0\nentry: job\ntasks:\n  job:\n    progress: [0, 100]\n    priority: 2s\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { constant: { perMinute: 120 } }\n  bursts: [ { at: 100, runs: 30 }, { at: 200, runs: 5 } ]\n  duration: 600s\n  warmup: 60s\n  environmentConcurrency: 2\n  burstFactor: 1\n  coldStart: 0\n  maxQueueSize: 20\n";
    let latencies = "startLatency: { uniform: [0.1s, 0.4s] }\ninput:\n  tenant: { uniform: [0, 9] }\nentry: job\ntasks:\n  job:\n    queue: { name: shared, concurrencyLimit: 3 }\n    progress: [20, 60]\n    machine: large-1x\n    steps:\n      - work: { duration: { lognormal: { median: 2s, p95: 9s } } }\n  other:\n    queue: { name: shared, concurrencyLimit: 3 }\n    concurrencyKey: tenant\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { poisson: { perMinute: 70 } }\n  schedule: [ { until: 300, perMinute: 120 }, { until: 400, perMinute: 0 } ]\n  duration: 1200s\n  warmup: 100s\n  environmentConcurrency: 6\n  coldStart: { uniform: [1s, 3s] }\n  keepWarm: 5s\n";
    for (name, yaml) in [("mm4", MMC), ("ties", ties), ("latencies", latencies)] {
        let m = model(yaml);
        assert!(wfsim::engine::load_takes_one_queue(&m), "{name}: the one-queue path applies");
        for rep in 0..2 {
            let fast = same_replication(&m, name, rep, simulate_load, wfsim::engine::simulate_load_general);
            assert!(fast.arrived > 100, "{name}: {} arrivals", fast.arrived);
            if name == "ties" {
                assert!(fast.queues[0].rejected > 0, "the bursts fill the queue");
            }
            if name == "latencies" {
                assert!(fast.warm_starts > 0 && fast.warm_starts < fast.starts, "warm and cold starts");
                assert_eq!(fast.queues[0].by_key.len(), 10);
            }
        }
    }
    // An event budget too small for the load stops both paths at the same event, with the
    // same error and the same totals so far.
    for limit in [1u64, 57, 2000, 15000] {
        let m = load_str(&format!("limits: {{ maxEventsPerRun: {limit} }}\n{MMC}"), "load.yaml").expect("loads").model;
        let (mut t1, mut t2) = (vec![wfsim::engine::TaskAcc::default(); 1], vec![wfsim::engine::TaskAcc::default(); 1]);
        let fast = wfsim::engine::simulate_load(&m, 5, 0, &mut t1).map(|o| o.arrived);
        let general = wfsim::engine::simulate_load_general(&m, 5, 0, &mut t2).map(|o| o.arrived);
        assert!(fast.is_err(), "a budget of {limit} events stops the load");
        assert_eq!(fast, general, "budget {limit}");
        assert_eq!(t1, t2, "budget {limit}: totals so far");
        assert!(limit < 15000 || t1[0].runs > 1000, "the measured window had begun");
    }
    // What the path does not take: a ttl, a delay, a concurrencyKey on the entry, the dequeue
    // loop, a second step, a failure.
    for change in [
        ("    priority: 2s\n", "    ttl: 3s\n"),
        ("    priority: 2s\n", "    delay: 1s\n"),
        ("  maxQueueSize: 20\n", "  maxQueueSize: 20\n  dequeueInterval: 250ms\n"),
        ("      - work: { duration: 1s }\n", "      - work: { duration: 1s }\n      - wait: 1s\n"),
        ("      - work: { duration: 1s }\n", "      - work: { duration: 1s, failure: 0.1 }\n"),
    ] {
        let m = load_str(&ties.replace(change.0, change.1), "load.yaml").expect("loads").model;
        assert!(!wfsim::engine::load_takes_one_queue(&m), "{change:?}");
    }
    let keyed = latencies.replace("    machine: large-1x\n", "    concurrencyKey: tenant\n");
    assert!(!wfsim::engine::load_takes_one_queue(&load_str(&keyed, "load.yaml").expect("loads").model));
}

#[test]
fn each_resume_of_an_attempt_draws_its_own_start_latency() {
    // Found in review: every resume of an attempt (and the start of the next one) drew the
    // same start latency, so k resumes added k times one draw. A run of 1 s work steps around
    // k checkpointed 70 s waits (each gives the slot back and resumes through a start latency
    // of U[1, 3] s, variance 1/3) has duration variance (1 + k) / 3 with independent draws,
    // (1 + k^2) / 3 with one shared resume draw. Slots never bind (1,000 for about 2 runs in
    // the system), so the latencies are the only randomness.
    let v = 1.0 / 3.0;
    for k in [2usize, 4] {
        let mut steps = String::from("      - work: { duration: 1s }\n");
        for _ in 0..k {
            steps += "      - wait: 70s\n      - work: { duration: 1s }\n";
        }
        let y = format!(
            "startLatency: {{ uniform: [1, 3] }}\nentry: job\ntasks:\n  job:\n    steps:\n{steps}load:\n  arrivals: {{ poisson: {{ perMinute: 2 }} }}\n  duration: 10h\n  warmup: 0\n  environmentConcurrency: 1000\n  burstFactor: 1\n  coldStart: {{ uniform: [1, 3] }}\n"
        );
        let r = run_load(&model(&y), 1, 1, Some(1)).unwrap();
        let d: Vec<f64> = r.reps[0].outcomes.iter().map(|o| o.duration_s).collect();
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let want = (v * (1 + k) as f64).sqrt();
        // The sum of k + 1 uniforms is close to normal: the sample sd's standard error is
        // about sd / sqrt(2 (n - 1)).
        let se = want / (2.0 * (n - 1.0)).sqrt();
        let shared = (v * (1 + k * k) as f64).sqrt();
        assert!((sd - want).abs() < 4.0 * se, "{k} resumes: sd {sd} vs {want} (shared draw: {shared}), {n} runs");
    }
}

/// The 95% interval of a mean under load comes from replication means (Student's t), not
/// from runs that share queues treated as independent. Over 200 seeds of 5 replications of an
/// M/M/4 at utilisation 0.8, the interval of the mean duration must cover the grand mean of
/// all 1,000 replications in 95% of seeds: within 4 binomial standard errors (sqrt(0.95 x
/// 0.05 / 200) = 1.5%). The interval that treats runs as independent covers it far less
/// often (checked, so the test can tell the two apart).
#[test]
fn the_interval_of_a_mean_under_load_covers_the_spread_of_replication_means() {
    use wfsim::montecarlo::Config;
    use wfsim::sim::{self, Mode};
    let y = MMC.replace("duration: 3000s", "duration: 600s").replace("warmup: 200s", "warmup: 100s");
    let m = load_str(&y, "mmc.yaml").unwrap().model;
    let (seeds, reps) = (200u64, 5u64);
    let mut per_seed = Vec::new();
    let mut all_means = Vec::new();
    for seed in 1..=seeds {
        let cfg = Config { runs: 1, seed, threads: None };
        let s = sim::simulate(&m, Mode::Load { replications: reps }, cfg, true, Vec::new(), &|_| {}).unwrap();
        let means: Vec<f64> =
            s.replications().iter().map(|r| mean(&r.iter().map(|o| o.duration_s).collect::<Vec<_>>())).collect();
        all_means.extend_from_slice(&means);
        // The interval the summary prints, and the one that treats every run as independent.
        let naive = wfsim::stats::mean_ci95(&s.mc.outcomes.iter().map(|o| o.duration_s).collect::<Vec<_>>()).unwrap().1;
        per_seed.push((s.summary.duration_s.mean, s.summary.duration_s.mean_ci95, mean(&means), naive));
    }
    let truth = mean(&all_means);
    type Seed = (f64, f64, f64, f64);
    let covered = |f: &dyn Fn(&Seed) -> bool| per_seed.iter().filter(|x| f(x)).count() as f64 / seeds as f64;
    let coverage = covered(&|&(_, ci, rep_mean, _)| (rep_mean - truth).abs() <= ci);
    let naive = covered(&|&(m, _, _, naive)| (m - truth).abs() <= naive);
    let se = (0.95f64 * 0.05 / seeds as f64).sqrt();
    assert!((coverage - 0.95).abs() <= 4.0 * se, "coverage {coverage} (naive {naive})");
    assert!(naive < 0.95 - 4.0 * se, "the naive interval covers {naive}: the test could not tell them apart");
}

/// A load of bursts only (no steady arrivals) runs, and one arrival reports every grant it
/// made: a parent that waits for three children in turn takes a slot to start, gives it back
/// at each triggerAndWait and takes one to resume (4 grants in its queue), and each child one
/// (3): 7, all without waiting on an idle environment.
#[test]
fn bursts_only_and_a_single_arrival_report_every_grant() {
    let y = "name: one\nstartLatency: 0s\ncoldStart: 0s\nentry: p\ntasks:\n  p:\n    steps:\n      - triggerAndWait: c\n      - triggerAndWait: c\n      - triggerAndWait: c\n  c:\n    steps:\n      - work: { duration: 5s }\nload:\n  duration: 10m\n  bursts: [ { at: 0s, runs: RUNS } ]\n";
    let one = load(&y.replace("RUNS", "1"), 1, 1);
    let r = &one.reps[0];
    assert_eq!(r.outcomes.len(), 1);
    assert_eq!(r.outcomes[0].duration_s, 15.0);
    let grants: Vec<usize> = r.queues.iter().map(|q| q.waits.len()).collect();
    assert_eq!(grants.iter().sum::<usize>(), 7, "{grants:?}");
    assert!(r.queues.iter().all(|q| q.waits.iter().all(|&w| w == 0.0)));
    let m = load_str(&y.replace("RUNS", "1"), "one.yaml").unwrap().model;
    let s = wfsim::analysis::load::summarise(&m, &one).unwrap();
    assert_eq!((s.queue_wait_s.grants, s.arrived), (7, 1));
    // One replication: no interval (null), not a made-up 0.
    assert!(s.queue_wait_s.mean_ci95.is_nan());
    // Bursts only: 20 runs at once, in 3 replications, every one measured and completed.
    let b = load(&y.replace("RUNS", "20"), 3, 1);
    for r in &b.reps {
        assert_eq!(r.outcomes.len(), 20);
        assert!(r.outcomes.iter().all(|o| o.status == wfsim::engine::Status::Completed));
        assert_eq!(r.queues.iter().map(|q| q.waits.len()).sum::<usize>(), 20 * 7);
    }
}
