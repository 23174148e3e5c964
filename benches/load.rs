//! Criterion benchmarks of the load model (issue 6, "Speed"). `cargo bench --bench load` runs
//! them.
//!
//! - `load_mm4/replication`: one replication of the M/M/4 case of tests/reference/mm4.yaml
//!   (lambda 3.2/s, mu 1/s, 4 slots, 3000 s: about 9,600 customers), the engine alone (no
//!   summary), reported in customers per second. It takes the one-queue path
//!   (src/engine/load/one_queue.rs), as every load of one one-step task in one queue does;
//!   `load_mm4/general` is the same replication through the general event engine (the same
//!   result bit for bit). tests/reference/simpy_mm4.py is the SimPy yardstick (the target is
//!   at least 50x its customers per second).
//! - `load_pro_hour/transcription-parallel`: one hour of Pro-plan load (100 slots, Poisson
//!   833 per minute: about 50,000 workflow runs) of scenarios/transcription-parallel.yaml via
//!   `montecarlo::run_load(&model, seed, 1, Some(1))`: one replication on one thread. The
//!   target is "well under a second".
//! - `load_tenants/{1000,10000}`: one simulated hour of a queue with a `concurrencyKey` of
//!   1,000 or 10,000 values (`TENANTS`: one slot per tenant, 100 in the environment, Poisson
//!   950 per minute of exponential 6 s jobs, about 57,000 runs): the engine alone
//!   (`simulate_load`), so its time is the time per simulated hour. The dispatcher's cost
//!   should not grow with the number of tenants.
//!
//! Before the groups, a one-shot run of each prints its wall time (criterion's numbers are the
//! reference; the one-shot is the quick answer to "how long does an hour take").

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use wfsim::engine::{TaskAcc, load_takes_one_queue, simulate_load, simulate_load_general};
use wfsim::model::Model;
use wfsim::montecarlo::run_load;
use wfsim::scenario::{load_str, load_str_with};

const MM4: &str = include_str!("../tests/reference/mm4.yaml");
const TRANSCRIPTION: &str = include_str!("../scenarios/transcription-parallel.yaml");
/// One hour of Pro-plan load: 100 slots (burst factor and queue limits of the plan as the
/// scenario parser sets them), about 50,000 workflow runs.
const PRO_HOUR: &str = "{ arrivals: { poisson: { perMinute: 833 } }, duration: 1h, environmentConcurrency: 100 }";
/// One hour of many tenants: a queue copy per tenant (TENANTS values) with one slot each,
/// 100 slots in the environment, offered load 95 slots (950 per minute x 6 s).
const TENANTS: &str = "startLatency: 0\ninput:\n  tenant: { uniform: [0, LAST] }\nentry: job\ntasks:\n  job:\n    queue: { name: jobs, concurrencyLimit: 1 }\n    concurrencyKey: tenant\n    steps:\n      - work: { duration: { exponential: { mean: 6s } } }\nload:\n  arrivals: { poisson: { perMinute: 950 } }\n  duration: 1h\n  warmup: 5m\n  environmentConcurrency: 100\n  burstFactor: 1\n  coldStart: 0\n";

fn mm4() -> Model {
    match load_str(MM4, "tests/reference/mm4.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    }
}

fn pro_hour() -> Model {
    match load_str_with(
        TRANSCRIPTION,
        "scenarios/transcription-parallel.yaml",
        &[("load".to_owned(), PRO_HOUR.to_owned())],
    ) {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    }
}

fn tenants(n: u32) -> Model {
    match load_str(&TENANTS.replace("LAST", &(n - 1).to_string()), "tenants.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    }
}

/// Customers (workflow runs) in replication 0 of seed 1 of the M/M/4 case.
fn mm4_customers(m: &Model) -> u64 {
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    simulate_load(m, 1, 0, &mut tasks).expect("simulates").arrived
}

/// CPU seconds (user + system) of this process so far, from /proc/self/stat (Linux; clock
/// ticks of 10 ms), or NaN elsewhere. On a shared machine it is steadier than the wall clock.
fn cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    let Some((_, rest)) = stat.rsplit_once(')') else { return f64::NAN };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime field 14, stime field 15.
    match (f.get(11).and_then(|x| x.parse::<f64>().ok()), f.get(12).and_then(|x| x.parse::<f64>().ok())) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Simulates replications 0..40 of the M/M/4 case with `sim` and prints the rate.
fn one_shot_mm4(m: &Model, what: &str, sim: Sim) {
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    let (mut customers, t, c) = (0u64, Instant::now(), cpu_s());
    for rep in 0..40 {
        customers += sim(m, 1, rep, &mut tasks).expect("simulates").arrived;
    }
    let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
    eprintln!(
        "one-shot: M/M/4 ({what}), 40 replications of 3000 s: {customers} customers in {:.0} ms wall, {:.0} ms CPU: \
         {:.0} customers/s wall, {:.0} per CPU second (one thread, engine only)",
        s * 1e3,
        cpu * 1e3,
        customers as f64 / s,
        customers as f64 / cpu
    );
}

type Sim = fn(&Model, u64, u64, &mut [TaskAcc]) -> Result<wfsim::engine::LoadOutcome, wfsim::engine::SimError>;

fn one_shot() {
    let m = mm4();
    assert!(load_takes_one_queue(&m), "the M/M/4 case takes the one-queue path");
    one_shot_mm4(&m, "one-queue path", simulate_load);
    one_shot_mm4(&m, "general engine", simulate_load_general);

    let m = pro_hour();
    for seed in 1..=3 {
        let (t, c) = (Instant::now(), cpu_s());
        let r = run_load(&m, seed, 1, Some(1)).expect("simulates");
        let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        let o = &r.reps[0];
        let last = o.outcomes.iter().map(|w| w.duration_s).fold(0.0, f64::max);
        eprintln!(
            "one-shot: one hour of Pro-plan load of transcription-parallel (seed {seed}): {} workflow runs, {} task runs started, \
             {} deadlocked, longest run {:.1} h: {:.3} s wall, {:.2} s CPU (one thread)",
            o.arrived,
            o.starts,
            o.deadlocked,
            last / 3600.0,
            s,
            cpu
        );
    }

    for n in [1_000, 10_000] {
        let m = tenants(n);
        let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
        let (t, c) = (Instant::now(), cpu_s());
        let o = simulate_load(&m, 1, 0, &mut tasks).expect("simulates");
        let (s, cpu) = (t.elapsed().as_secs_f64(), cpu_s() - c);
        eprintln!(
            "one-shot: one hour of {n} tenants (one slot each, 100 in all): {} workflow runs, {} grants: {:.3} s wall, {:.2} s CPU",
            o.arrived,
            o.queues[0].waits.len(),
            s,
            cpu
        );
    }
}

fn bench(c: &mut Criterion) {
    one_shot();

    let m = mm4();
    let n = mm4_customers(&m);
    let mut g = c.benchmark_group("load_mm4");
    g.throughput(Throughput::Elements(n));
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    g.bench_function("replication", |b| {
        b.iter(|| simulate_load(black_box(&m), 1, 0, &mut tasks).map(|o| o.arrived).unwrap_or(0))
    });
    g.bench_function("general", |b| {
        b.iter(|| simulate_load_general(black_box(&m), 1, 0, &mut tasks).map(|o| o.arrived).unwrap_or(0))
    });
    g.finish();

    let m = pro_hour();
    let mut g = c.benchmark_group("load_pro_hour");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("transcription-parallel", |b| {
        b.iter(|| run_load(black_box(&m), 1, 1, Some(1)).map(|r| r.reps.len()).unwrap_or(0))
    });
    g.finish();

    let mut g = c.benchmark_group("load_tenants");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for n in [1_000, 10_000] {
        let m = tenants(n);
        let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
        g.bench_function(n.to_string(), |b| {
            b.iter(|| simulate_load(black_box(&m), 1, 0, &mut tasks).map(|o| o.arrived).unwrap_or(0))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
