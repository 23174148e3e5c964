//! A run alone competes with itself: its task runs take slots of their queues and of the
//! environment, start warm or cold, give slots back at checkpoints and queue for them again,
//! exactly as runs under load do. Closed forms with fixed durations, and a run alone against
//! the same workflow under a vanishing load.

use wfsim::engine::{NoObserver, Scratch, Status, TaskAcc, simulate_events, simulate_load};
use wfsim::montecarlo::{self, Config, McResult};
use wfsim::rng::run_key;
use wfsim::scenario::load_str;

fn model(yaml: &str) -> wfsim::model::Model {
    match load_str(yaml, "test.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("scenario does not load:\n{e}"),
    }
}

fn sim(yaml: &str, runs: u64, seed: u64) -> McResult {
    montecarlo::run(&model(yaml), Config { runs, seed, threads: None }).expect("simulates")
}

fn one(yaml: &str) -> wfsim::engine::RunOutcome {
    sim(yaml, 1, 1).outcomes[0]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

const FAN_OUT: &str = "startLatency: 0s\ncoldStart: 0s\nentry: p\ntasks:\n  p:\n    steps:\n      - batchTriggerAndWait: { task: fetch, count: N }\n  fetch:\n    QUEUE\n    steps:\n      - work: { duration: 10s }\n";

#[test]
fn fifty_children_into_a_queue_of_five_take_ten_waves() {
    // The parent gives its slot back at the batch; five children run at a time, ten waves of
    // 10 s.
    let y = FAN_OUT.replace("N", "50").replace("QUEUE", "queue: { name: api, concurrencyLimit: 5 }");
    let o = one(&y);
    assert_eq!(o.status, Status::Completed);
    assert!(close(o.duration_s, 100.0), "{}", o.duration_s);
    // Waiting for a slot is not billed: 50 x 10 s of work.
    assert!(close(o.usage_s, 500.0), "{}", o.usage_s);
}

#[test]
fn a_thousand_children_on_the_free_plan_run_ten_at_a_time() {
    // The Free plan: 10 slots (the burst factor lets the environment run 20, but each queue
    // stays at 10). 1,000 children of 10 s: 100 waves.
    let y = FAN_OUT.replace("N", "1000").replace("QUEUE", "machine: micro") + "environment: { plan: free }\n";
    let o = one(&y);
    assert!(close(o.duration_s, 1000.0), "{}", o.duration_s);
    // Pro: 100 slots, 10 waves.
    let y = FAN_OUT.replace("N", "1000").replace("QUEUE", "machine: micro") + "environment: { plan: pro }\n";
    assert!(close(one(&y).duration_s, 100.0));
    // A number of slots; the default plan (free) when the scenario names none.
    let y = FAN_OUT.replace("N", "1000").replace("QUEUE", "machine: micro") + "environment: { concurrencyLimit: 40 }\n";
    assert!(close(one(&y).duration_s, 250.0));
    let y = FAN_OUT.replace("N", "1000").replace("QUEUE", "machine: micro");
    assert!(close(one(&y).duration_s, 1000.0));
}

#[test]
fn the_load_blocks_environment_applies_to_runs_alone() {
    // `load.environmentConcurrency` means what it did: 25 slots, for runs alone too.
    let y = FAN_OUT.replace("N", "100").replace("QUEUE", "machine: micro")
        + "load:\n  arrivals: { poisson: { perMinute: 1 } }\n  duration: 1h\n  environmentConcurrency: 25\n";
    let mut m = model(&y);
    assert_eq!(m.environment.concurrency, 25);
    m.load = None;
    let r = montecarlo::run(&m, Config { runs: 1, seed: 1, threads: None }).expect("simulates");
    assert!(close(r.outcomes[0].duration_s, 40.0), "{}", r.outcomes[0].duration_s);
}

#[test]
fn a_child_starts_cold_and_its_parent_resumes_warm() {
    // Warm starts take 1 s, cold ones 10 s. The parent starts cold at 10 s (nothing ran yet),
    // works 5 s, and triggers its child: the child is granted a slot before the parent gives
    // its own back, so no machine is free: cold, 15 + 10 = 25 s. It works 5 s; the parent,
    // woken at 30 s, queues again and takes the machine the child just left (warm): 31 s,
    // then 2 s of work.
    let y = "startLatency: 1s\ncoldStart: 10s\nentry: p\ntasks:\n  p:\n    steps:\n      - work: { duration: 5s }\n      - triggerAndWait: c\n      - work: { duration: 2s }\n  c:\n    steps:\n      - work: { duration: 5s }\n";
    let o = one(y);
    assert!(close(o.duration_s, 33.0), "{}", o.duration_s);
    // A machine of another preset is no help: the resume is warm (the parent's own machine
    // stayed warm after it gave its slot back), the child cold.
    let y2 = y.replace("  c:\n", "  c:\n    machine: large-1x\n");
    assert!(close(one(&y2).duration_s, 33.0));
    // keepWarm shorter than the child: the parent's machine and the child's (another preset)
    // are both cold by the time the parent resumes... the child's machine of small-1x left at
    // 30 s is warm only with the same preset.
    let y3 = y2.replace("coldStart: 10s\n", "coldStart: 10s\nkeepWarm: 4s\n");
    assert!(close(one(&y3).duration_s, 10.0 + 5.0 + 10.0 + 5.0 + 10.0 + 2.0), "{}", one(&y3).duration_s);
}

#[test]
fn a_checkpointed_wait_gives_its_slot_back_at_60_seconds() {
    // Under 60 s the run keeps its slot and goes on at once; from 60 s it gives the slot back
    // 60 s in and queues for one again as it wakes: a warm start (its own machine, released
    // 60 s in, is still warm), or a cold one past keepWarm.
    let base = "startLatency: 1s\ncoldStart: 10s\nKEEPentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s }\n      - wait: WAIT\n      - work: { duration: 1s }\n";
    let run = |wait: &str, keep: &str| one(&base.replace("WAIT", wait).replace("KEEP", keep)).duration_s;
    assert!(close(run("30s", ""), 10.0 + 1.0 + 30.0 + 1.0));
    assert!(close(run("90s", ""), 10.0 + 1.0 + 90.0 + 1.0 + 1.0));
    assert!(close(run("60s", ""), 10.0 + 1.0 + 60.0 + 1.0 + 1.0));
    // Released at 71 s, warm until 71 + 300 s; woken at 411 s: cold.
    assert!(close(run("400s", ""), 10.0 + 1.0 + 400.0 + 10.0 + 1.0));
    assert!(close(run("400s", "keepWarm: 400s\n"), 10.0 + 1.0 + 400.0 + 1.0 + 1.0));
}

#[test]
fn a_parent_and_child_in_one_queue_of_one_slot_do_not_deadlock() {
    // triggerAndWait gives the parent's slot back at once: the child takes it.
    let y = "startLatency: 0s\ncoldStart: 0s\nentry: p\ntasks:\n  p:\n    queue: { name: q, concurrencyLimit: 1 }\n    steps:\n      - triggerAndWait: c\n      - work: { duration: 1s }\n  c:\n    queue: { name: q, concurrencyLimit: 1 }\n    steps:\n      - work: { duration: 3s }\n";
    let o = one(y);
    assert_eq!(o.status, Status::Completed);
    assert!(close(o.duration_s, 4.0));
}

#[test]
fn children_of_promise_all_items_take_turns_in_their_queue() {
    // Three Promise.all items each wait on a child of 3 s, in the parent's queue of one slot.
    // The parent pauses (every item waits) and gives its slot back at once; the children take
    // it one after the other: 9 s. (Promise.all around triggerAndWait is a design warning; the
    // engine still schedules it as the platform would.)
    let y = "startLatency: 0s\ncoldStart: 0s\nentry: p\ntasks:\n  p:\n    queue: { name: q, concurrencyLimit: 1 }\n    steps:\n      - parallel:\n          count: 3\n          steps:\n            - branch:\n                - when: n > 0\n                  then: [ { triggerAndWait: c } ]\n                - otherwise: [ { work: { duration: 2s } } ]\n  c:\n    queue: { name: q, concurrencyLimit: 1 }\n    steps:\n      - work: { duration: 3s }\ninput:\n  n: N\n";
    let o = one(&y.replace("n: N", "n: 1"));
    assert_eq!(o.status, Status::Completed);
    assert!(close(o.duration_s, 9.0), "{}", o.duration_s);
    assert!(close(
        one(&y.replace("n: N", "n: 1").replace("concurrencyLimit: 1", "concurrencyLimit: 3")).duration_s,
        3.0
    ));
}

#[test]
fn fire_and_forget_children_share_the_queue_with_later_runs() {
    // Ten fire-and-forget children of 10 s on a queue of 2: the parent ends at once, the
    // children run two at a time; the last ends at 50 s (the workflow's makespan).
    let y = "startLatency: 0s\ncoldStart: 0s\nentry: p\ntasks:\n  p:\n    steps:\n      - batchTrigger: { task: c, count: 10 }\n  c:\n    queue: { name: q, concurrencyLimit: 2 }\n    steps:\n      - work: { duration: 10s }\n";
    let o = one(y);
    assert!(close(o.duration_s, 0.0));
    assert!(close(o.makespan_s, 50.0), "{}", o.makespan_s);
}

#[test]
fn conflicting_environment_settings_are_a_located_error() {
    let y = "environment: { concurrencyLimit: 25 }\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { poisson: { perMinute: 1 } }\n  duration: 1h\n  environmentConcurrency: 10\n";
    let e = load_str(y, "x.yaml").expect_err("conflict").to_string();
    assert!(e.contains("x.yaml:10:27") && e.contains("load.environmentConcurrency"), "{e}");
    assert!(e.contains("environment.concurrencyLimit"), "{e}");
    // The same value twice is fine.
    let ok = y.replace("environmentConcurrency: 10", "environmentConcurrency: 25");
    assert!(load_str(&ok, "x.yaml").is_ok());
    let y = "coldStart: 3s\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s }\nload:\n  arrivals: { poisson: { perMinute: 1 } }\n  duration: 1h\n  coldStart: 4s\n";
    let e = load_str(y, "x.yaml").expect_err("conflict").to_string();
    assert!(e.contains("load.coldStart") && e.contains("`coldStart`"), "{e}");
    let y = "environment: { plan: enterprise }\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s }\n";
    let e = load_str(y, "x.yaml").expect_err("unknown plan").to_string();
    assert!(e.contains("x.yaml:1:22") && e.contains("unknown plan `enterprise`"), "{e}");
}

/// A workflow alone and the same workflow arriving into an idle environment now and then (a
/// vanishing load: arrivals far apart, so no two overlap and every machine has gone cold)
/// are the same thing. Their mean durations agree within 4 standard errors of the
/// difference, with queueing, warm and cold starts and resumes in play.
#[test]
fn a_run_alone_equals_a_vanishing_load() {
    let workflow = "startLatency: { uniform: [0.1s, 0.3s] }\ncoldStart: { lognormal: { median: 2s, p95: 6s } }\nenvironment: { concurrencyLimit: 3 }\nentry: p\ntasks:\n  p:\n    retry: { maxAttempts: 3, minTimeoutInMs: 30000, factor: 1 }\n    steps:\n      - work: { duration: { exponential: { mean: 2s } }, failure: 0.1 }\n      - batchTriggerAndWait: { task: c, count: 6 }\n      - wait: 70s\n      - triggerAndWait: c\n  c:\n    machine: micro\n    steps:\n      - work: { duration: { lognormal: { median: 3s, p95: 8s } } }\n";
    let alone = sim(workflow, 4000, 3);
    let a: Vec<f64> = alone.outcomes.iter().map(|o| o.duration_s).collect();
    // One arrival an hour for 4,000 hours: a workflow takes minutes, keepWarm is 300 s.
    let loaded = format!(
        "{workflow}load:\n  arrivals: {{ constant: {{ perMinute: 0.016666666666666666 }} }}\n  duration: 4000h\n"
    );
    let m = model(&loaded);
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    let r = simulate_load(&m, 5, 0, &mut tasks).expect("simulates");
    let b: Vec<f64> = r.outcomes.iter().map(|o| o.duration_s).collect();
    assert!(b.len() >= 3900, "{} arrivals", b.len());
    let mean_var = |v: &[f64]| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0) / n)
    };
    let ((ma, va), (mb, vb)) = (mean_var(&a), mean_var(&b));
    let se = (va + vb).sqrt();
    assert!((ma - mb).abs() <= 4.0 * se, "alone {ma} vs vanishing load {mb} (4 se = {})", 4.0 * se);
    // And the environment did bind: six children on three slots take two waves at least.
    assert!(ma > 2.0 * 3.0);
}

/// The direct path and the event engine agree bit for bit on a run alone whose own runs can
/// fill its queue: the direct path hands such runs back.
#[test]
fn runs_that_fill_their_queue_go_to_the_event_engine() {
    let y = "startLatency: 0s\ncoldStart: { uniform: [1s, 2s] }\nenvironment: { concurrencyLimit: 2 }\nentry: p\ntasks:\n  p:\n    steps:\n      - trigger: c\n      - trigger: c\n      - trigger: c\n      - work: { duration: 1s }\n  c:\n    steps:\n      - work: { duration: 5s }\n";
    let m = model(y);
    assert!(wfsim::engine::direct_supported(&m), "the design is one the direct path evaluates");
    let (mut s1, mut s2) = (Scratch::new(), Scratch::new());
    let mut t1 = vec![TaskAcc::default(); m.tasks.len()];
    let mut t2 = t1.clone();
    for i in 0..200 {
        let key = run_key(9, i);
        assert!(wfsim::engine::simulate_direct(&m, key, &mut s1, &mut t1).is_none(), "run {i} taken directly");
        let e = simulate_events(&m, key, &mut s2, &mut t2, &mut NoObserver).expect("simulates");
        // Four runs on two slots: the third child waits for one.
        assert!(e.makespan_s > 1.0 + 5.0 + 5.0, "{}", e.makespan_s);
    }
}

const CPU: &str = "startLatency: 0s\ncoldStart: 0s\nentry: t\ntasks:\n  t:\n    machine: MACHINE\n    steps:\n      - parallel:\n          count: 4\n          steps:\n            - work: { duration: 60s, cpuBound: true MAIN }\n";

fn cpu_run(machine: &str, main: &str) -> f64 {
    one(&CPU.replace("MACHINE", machine).replace("MAIN", main)).duration_s
}

#[test]
fn cpu_bound_items_share_the_machine() {
    // Four 60 s single-threaded items (measured on small-1x, 0.5 vCPU) at once on small-1x:
    // each gets a quarter of the vCPUs, so all four take 240 s.
    assert!(close(cpu_run("small-1x", ""), 240.0), "{}", cpu_run("small-1x", ""));
    // On large-1x (4 vCPUs) alone one takes 30 s (its one thread at full speed instead of half
    // a vCPU); four get a vCPU each: still 30 s.
    assert!(close(cpu_run("large-1x", ""), 30.0), "{}", cpu_run("large-1x", ""));
    // JavaScript on the main thread: one thread for all four, 4 x 30 s.
    assert!(close(cpu_run("large-1x", ", mainThread: true"), 120.0), "{}", cpu_run("large-1x", ", mainThread: true"));
    // One at a time (limit 1): 4 x 60 s as well, on small-1x; and billed alike.
    let y = CPU.replace("MACHINE", "small-1x").replace("MAIN", "").replace("count: 4", "count: 4\n          limit: 1");
    assert!(close(one(&y).duration_s, 240.0));
}

#[test]
fn shared_cpu_conserves_work_across_items_of_different_lengths() {
    // Items of 10 s and 30 s on one core (small-2x, 1 vCPU, measured there): both at half
    // speed until the short one ends at 20 s, then the long one alone: its remaining 20 s of
    // work end at 40 s. An I/O item beside them (not cpuBound) is not slowed.
    let y = "startLatency: 0s\ncoldStart: 0s\ninput:\n  n: 3\nentry: t\ntasks:\n  t:\n    machine: small-2x\n    progress: [0, 100]\n    steps:\n      - parallel:\n          count: 2\n          steps:\n            - branch:\n                - when: n > 2\n                  then: [ { work: { duration: 10s, cpuBound: true, measuredOn: small-2x } } ]\n      - work: { duration: 1s }\n";
    // (Every item takes the same branch: a first check that two equal items share.)
    assert!(close(one(y).duration_s, 20.0 + 1.0), "{}", one(y).duration_s);
    let mixed = "startLatency: 0s\ncoldStart: 0s\nentry: t\ntasks:\n  t:\n    machine: small-2x\n    steps:\n      - parallel:\n          count: 3\n          steps:\n            - work: { duration: { empirical: [10, 30] }, cpuBound: true, measuredOn: small-2x }\n";
    // Items draw 10 s or 30 s each; the run ends when all the work is done on one core: the
    // sum of the draws (processor sharing conserves work on one vCPU).
    let r = sim(mixed, 200, 4);
    for o in &r.outcomes {
        let d = o.duration_s;
        assert!([30.0, 50.0, 70.0, 90.0].iter().any(|&x| close(d, x)), "{d}");
        // Billed: the attempt executes throughout.
        assert!(close(o.usage_s, d));
    }
    assert!(
        r.outcomes.iter().any(|o| close(o.duration_s, 50.0)) && r.outcomes.iter().any(|o| close(o.duration_s, 70.0))
    );
}

#[test]
fn main_thread_work_has_no_parallel_fraction() {
    let y = "entry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s, cpuBound: true, parallelFraction: 0.5, mainThread: true }\n";
    let e = load_str(y, "x.yaml").expect_err("both").to_string();
    assert!(e.contains("mainThread") && e.contains("x.yaml:5:"), "{e}");
}
