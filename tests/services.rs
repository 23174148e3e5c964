//! External services with rate limits (`services:`): closed forms of the token bucket, the
//! fixed window, the concurrency limit and the step retry after a 429, and a Poisson load
//! checked against an independent model (tests/reference/service_bucket.py).

use wfsim::engine::Status;
use wfsim::montecarlo::{self, Config, McResult};
use wfsim::scenario::load_str;

fn model(yaml: &str) -> wfsim::model::Model {
    match load_str(yaml, "services.yaml") {
        Ok(l) => l.model,
        Err(e) => panic!("scenario does not load:\n{e}"),
    }
}

fn sim(yaml: &str, runs: u64) -> McResult {
    montecarlo::run(&model(yaml), Config { runs, seed: 7, threads: None }).expect("simulates")
}

/// A run alone: 120 one-second calls at once against `LIMIT`, each retried after a fixed 60 s.
const FAN_OUT: &str = "
startLatency: 0s
coldStart: 0s
services:
  llm:
    rateLimit: { perMinute: LIMIT }
entry: fan
tasks:
  fan:
    steps:
      - parallel:
          count: 120
          steps:
            - work:
                duration: 1s
                service: llm
                retry: { maxAttempts: 5, minTimeoutInMs: 60000, factor: 1, randomize: false }
";

#[test]
fn a_fan_out_of_120_calls_over_a_limit_of_60_per_minute_waits_one_window() {
    // The bucket holds 60 calls: 60 go through at 0 and end at 1 s; 60 are answered 429 at
    // once, retry at 60 s when the bucket has refilled 60 calls (1 per second), end at 61 s.
    let mc = sim(&FAN_OUT.replace("LIMIT", "60"), 3);
    for o in &mc.outcomes {
        assert_eq!(o.status, Status::Completed);
        assert_eq!(o.duration_s, 61.0, "{o:?}");
        // One call or more waited from 0 to 60 s.
        assert_eq!(o.limit_wait_s, 60.0);
    }
    let s = &mc.tasks[0].svc[0];
    assert_eq!((s.calls, s.limited, s.retries, s.exhausted), (3 * 180, 3 * 60, 3 * 60, 0));
    assert_eq!(s.peak, 120, "120 calls in the minute from 0, 60 in the one from 60 s");
}

#[test]
fn a_fan_out_of_120_calls_under_a_limit_of_200_per_minute_is_never_refused() {
    let mc = sim(&FAN_OUT.replace("LIMIT", "200"), 3);
    for o in &mc.outcomes {
        assert_eq!(o.duration_s, 1.0, "{o:?}");
        assert_eq!(o.limit_wait_s, 0.0);
    }
    let s = &mc.tasks[0].svc[0];
    assert_eq!((s.calls, s.limited, s.retries), (360, 0, 0));
}

#[test]
fn the_fixed_window_gives_the_same_closed_form_and_resets_at_the_minute() {
    // A fixed window of 60 per minute: 60 at 0, the rest refused; at 60 s a new window.
    let y = FAN_OUT.replace("LIMIT", "60").replace("perMinute: 60 }", "perMinute: 60 }\n    refill: fixedWindow");
    let mc = sim(&y, 1);
    assert_eq!(mc.outcomes[0].duration_s, 61.0);
    assert_eq!(mc.tasks[0].svc[0].limited, 60);
    // With the retry after 30 s the token bucket has 30 calls back at 30 s, and 30 more at
    // 60 s, 60 at 90 s...: the window has none until 60 s.
    let bucket = sim(&FAN_OUT.replace("LIMIT", "60").replace("60000", "30000"), 1);
    let window = sim(&y.replace("60000", "30000"), 1);
    // Bucket: 30 served at 30 s (30 refused), 30 at 60 s: done at 61 s after 90 429s.
    assert_eq!(bucket.outcomes[0].duration_s, 61.0);
    assert_eq!(bucket.tasks[0].svc[0].limited, 90);
    // Window: all 60 refused at 30 s, all served at 60 s: done at 61 s after 120 429s.
    assert_eq!(window.outcomes[0].duration_s, 61.0);
    assert_eq!(window.tasks[0].svc[0].limited, 120);
}

#[test]
fn retries_running_out_make_the_attempt_throw() {
    // Two tries 1 s apart cannot wait out a 60 s refill: the 60 refused calls throw, and the
    // task (no retry) fails.
    let y = FAN_OUT
        .replace("LIMIT", "60")
        .replace("maxAttempts: 5, minTimeoutInMs: 60000", "maxAttempts: 2, minTimeoutInMs: 1000");
    let mc = sim(&y, 1);
    assert_eq!(mc.outcomes[0].status, Status::Failed);
    let s = &mc.tasks[0].svc[0];
    // 120 first tries (60 refused), 60 second tries at 1 s: 1 call back in the bucket. The
    // first refusal with no retry left rejects the Promise.all: the attempt ends there, so
    // one call counts as exhausted and the others' failures are never seen.
    assert_eq!((s.calls, s.limited, s.retries), (180, 60 + 59, 60));
    assert_eq!(s.exhausted, 1);
}

#[test]
fn a_concurrency_limit_refuses_calls_past_the_calls_in_flight() {
    // 10 calls of 5 s at once, at most 4 in flight, retried every 5 s: 4 run 0-5 s, 4 5-10 s,
    // 2 10-15 s.
    let y = "
startLatency: 0s
coldStart: 0s
services:
  ocr:
    concurrency: 4
entry: fan
tasks:
  fan:
    steps:
      - parallel:
          count: 10
          steps:
            - work:
                duration: 5s
                service: ocr
                retry: { maxAttempts: 5, minTimeoutInMs: 5000, factor: 1, randomize: false }
";
    let mc = sim(y, 1);
    assert_eq!(mc.outcomes[0].duration_s, 15.0);
    let s = &mc.tasks[0].svc[0];
    assert_eq!((s.calls, s.limited), (10 + 6 + 2, 6 + 2));
}

#[test]
fn tokens_per_minute_limit_calls_by_their_tokens() {
    // 10 calls of 1,000 tokens against 4,000 tokens per minute (no call limit): 4 at 0, then
    // the bucket refills 4,000 per minute: 1,000 every 15 s.
    let y = "
startLatency: 0s
coldStart: 0s
services:
  llm:
    tokensPerMinute: 4000
entry: fan
tasks:
  fan:
    steps:
      - parallel:
          count: 10
          steps:
            - work:
                duration: 1s
                service: llm
                tokens: 1000
                retry: { maxAttempts: 10, minTimeoutInMs: 15000, factor: 1, randomize: false }
";
    let mc = sim(y, 1);
    // Tries at 0 (4 served), 15 s (1), 30 s (1), ..., 90 s (the 10th): done at 91 s.
    assert_eq!(mc.outcomes[0].duration_s, 91.0);
}

#[test]
fn a_keyed_service_gives_each_value_its_own_limit() {
    // Two tenants with 30 calls a minute each: 60 calls split by tenant all fit when every
    // run's 30 calls go to its own tenant's bucket.
    let y = "
startLatency: 0s
coldStart: 0s
input:
  tenant: { choice: { a: 0.5, b: 0.5 } }
services:
  api:
    rateLimit: { perMinute: 30 }
    key: tenant
entry: fan
tasks:
  fan:
    steps:
      - parallel:
          count: 30
          steps:
            - work: { duration: 1s, service: api, retry: { maxAttempts: 2, minTimeoutInMs: 60000, factor: 1, randomize: false } }
";
    let mc = sim(y, 4);
    assert!(mc.outcomes.iter().all(|o| o.duration_s == 1.0));
    let over = sim(&y.replace("count: 30", "count: 31"), 1);
    assert_eq!(over.outcomes[0].duration_s, 61.0);
}

/// A load of one-call runs: each run calls `svc` the instant it arrives (no start latency, no
/// queueing), and a refused call is not retried (the run fails).
fn one_call_load(service: &str, per_minute: f64, burst: &str) -> wfsim::model::Model {
    model(&format!(
        "
startLatency: 0s
coldStart: 0s
environment: {{ concurrencyLimit: 500 }}
services:
  svc: {service}
entry: call
tasks:
  call:
    steps:
      - work: {{ duration: 1s, service: svc }}
load:
  arrivals: {{ poisson: {{ perMinute: {per_minute} }} }}
  duration: 1h
  warmup: 10m
{burst}"
    ))
}

/// Per replication: (calls, 429s) of the measured runs.
fn per_replication(m: &wfsim::model::Model, reps: u64) -> Vec<(f64, f64)> {
    (0..reps)
        .map(|r| {
            let mut tasks = vec![wfsim::engine::TaskAcc::default(); m.tasks.len()];
            wfsim::engine::simulate_load(m, 11, r, &mut tasks).expect("simulates");
            let s = &tasks[0].svc[0];
            (s.calls as f64, s.limited as f64)
        })
        .collect()
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

#[test]
fn a_poisson_load_at_half_the_limit_is_refused_only_in_bursts() {
    // 30 runs a minute against 60 calls a minute: the bucket (60 calls) never empties.
    let calm = per_replication(&one_call_load("{ rateLimit: { perMinute: 60 } }", 30.0, ""), 200);
    assert!(calm.iter().all(|&(c, l)| c > 1000.0 && l == 0.0), "{calm:?}");
    // A burst of 100 runs at 30 min: the bucket absorbs about 59.5 of them (it is short of
    // full by the M/D/1 workload of the half-rate arrivals), the rest and a few arrivals in
    // the next seconds are refused. tests/reference/service_bucket.py simulates the same
    // bucket independently: 41.3678 429s per replication, standard error 0.0196 (4,000
    // replications, seed 1).
    let burst = "  bursts: [ { at: 30m, runs: 100 } ]\n";
    let m = one_call_load("{ rateLimit: { perMinute: 60 } }", 30.0, burst);
    let v: Vec<f64> = per_replication(&m, 400).iter().map(|x| x.1).collect();
    let (mean, se) = mean_se(&v);
    let (reference, reference_se) = (41.3678, 0.0196);
    let tol = 4.0 * (se * se + reference_se * reference_se).sqrt();
    eprintln!("429s per replication with the burst: wfsim {mean:.4} ± {se:.4}, reference {reference} ± {reference_se}");
    assert!((mean - reference).abs() <= tol, "wfsim {mean} ± {se} vs reference {reference} (tolerance {tol})");
}

#[test]
fn a_bucket_of_one_call_refuses_the_arrivals_within_its_refill() {
    // perSecond: 1 is a bucket of 1 refilled in 1 s: after a call is admitted, the arrivals
    // of the next second are refused, and the next one after it is admitted. A renewal cycle
    // is 1 s plus an exponential gap with lambda 1 s of arrivals refused per admitted call:
    // the refused share is lambda / (1 + lambda) = 1/3 at lambda = 0.5/s.
    let v: Vec<f64> = per_replication(&one_call_load("{ rateLimit: { perSecond: 1 } }", 30.0, ""), 40)
        .iter()
        .map(|&(c, l)| l / c)
        .collect();
    let (mean, se) = mean_se(&v);
    assert!((mean - 1.0 / 3.0).abs() <= 4.0 * se, "refused share {mean} ± {se} vs 1/3");
}

#[test]
fn a_fixed_window_refuses_the_poisson_excess_of_each_window() {
    // 4 calls a second in fixed windows, arrivals at 2 a second: each window's N is Poisson(2)
    // and E[max(0, N - 4)] / 2 of the calls are refused.
    let mu: f64 = 2.0;
    let mut p = (-mu).exp();
    let mut below = 0.0;
    for n in 0..4 {
        below += (4.0 - n as f64) * p;
        p *= mu / (n as f64 + 1.0);
    }
    let expected = (mu - 4.0 + below) / mu;
    let m = one_call_load("{ rateLimit: { perSecond: 4 }, refill: fixedWindow }", 120.0, "");
    let v: Vec<f64> = per_replication(&m, 40).iter().map(|&(c, l)| l / c).collect();
    let (mean, se) = mean_se(&v);
    assert!((expected - 0.0376).abs() < 0.001, "{expected}");
    assert!((mean - expected).abs() <= 4.0 * se, "refused share {mean} ± {se} vs {expected}");
}

fn diagnostics(yaml: &str) -> Result<Vec<wfsim::error::Diagnostic>, String> {
    load_str(yaml, "services.yaml").map(|l| l.warnings).map_err(|e| e.to_string())
}

#[test]
fn a_fan_out_over_the_limit_is_a_design_warning_at_the_steps_service() {
    let w = diagnostics(&FAN_OUT.replace("LIMIT", "60")).unwrap();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(w[0].key, "tasks.fan.steps[0].parallel.steps[0].work.service");
    let text = w[0].to_string();
    assert!(text.contains("up to 120 calls to `llm` start at once") && text.contains("60 of them"), "{text}");
    // Under the limit, or paced by the parallel's limit: no warning.
    assert!(diagnostics(&FAN_OUT.replace("LIMIT", "200")).unwrap().is_empty());
    let paced = FAN_OUT.replace("LIMIT", "60").replace("count: 120", "count: 120\n          limit: 30");
    assert!(diagnostics(&paced).unwrap().is_empty());
}

#[test]
fn a_load_over_a_services_rate_is_a_design_warning_at_the_service() {
    // 30 runs a minute of 3 calls against 60 a minute: 90 offered.
    let y = "
services:
  api:
    rateLimit: { perMinute: 60 }
entry: t
tasks:
  t:
    steps:
      - parallel: { count: 3, limit: 1, steps: [ { work: { duration: 1s, service: api } } ] }
load:
  arrivals: { poisson: { perMinute: RATE } }
  duration: 1h
";
    let w = diagnostics(&y.replace("RATE", "30")).unwrap();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!((w[0].key.as_str(), w[0].line), ("services.api", 3));
    assert!(w[0].to_string().contains("about 90 calls a minute"), "{}", w[0]);
    assert!(diagnostics(&y.replace("RATE", "19")).unwrap().is_empty());
}

#[test]
fn bad_services_are_located_errors() {
    let unknown = FAN_OUT.replace("LIMIT", "60").replace("service: llm", "service: lml");
    let e = diagnostics(&unknown).unwrap_err();
    assert!(e.contains("unknown service `lml`") && e.contains("did you mean `llm`"), "{e}");
    let both = FAN_OUT.replace("perMinute: LIMIT", "perMinute: 60, perSecond: 1");
    assert!(diagnostics(&both).unwrap_err().contains("not both"));
    let none = "services:\n  api: { refill: fixedWindow }\nentry: t\ntasks:\n  t:\n    steps:\n      - work: { duration: 1s, service: api }\n";
    let e = diagnostics(none).unwrap_err();
    assert!(e.contains("service `api` has no limit") && e.contains("services.api"), "{e}");
    let refill = FAN_OUT.replace("LIMIT", "60").replace("perMinute: 60 }", "perMinute: 60 }\n    refill: leaky");
    assert!(diagnostics(&refill).unwrap_err().contains("expected `tokenBucket` or `fixedWindow`"));
    let key = FAN_OUT.replace("LIMIT", "60").replace("perMinute: 60 }", "perMinute: 60 }\n    key: tenant");
    assert!(diagnostics(&key).unwrap_err().contains("unknown input attribute `tenant`"));
}

#[test]
fn the_load_paths_agree_on_a_design_with_services() {
    // The paced pipeline: the combine step calls the service from the parent, the chunks from
    // child runs in a queue. The one-step shortcut, the fibers and the scanning dispatcher
    // must give the same outcomes bit for bit (services are shared state in time order).
    let m = match wfsim::scenario::load_file(std::path::Path::new("scenarios/llm-paced.yaml")) {
        Ok(l) => l.model,
        Err(e) => panic!("{e}"),
    };
    let n = m.tasks.len();
    type Sim = fn(
        &wfsim::model::Model,
        u64,
        u64,
        &mut [wfsim::engine::TaskAcc],
    ) -> Result<wfsim::engine::LoadOutcome, wfsim::engine::SimError>;
    let run = |f: Sim| {
        let mut tasks = vec![wfsim::engine::TaskAcc::default(); n];
        let o = f(&m, 3, 0, &mut tasks).expect("simulates");
        (o.outcomes, o.service_rates, tasks)
    };
    let auto = run(wfsim::engine::simulate_load);
    assert!(auto.2.iter().map(|t| t.svc.iter().map(|s| s.limited).sum::<u64>()).sum::<u64>() > 0);
    assert!(auto == run(wfsim::engine::simulate_load_fibers), "fibers differ");
    assert!(auto == run(wfsim::engine::simulate_load_scan), "scan differs");
}

#[test]
fn a_load_over_a_services_tokens_per_minute_is_a_design_warning() {
    // 10 runs a minute of one call of 1,000 tokens against 8,000 tokens a minute.
    let y = "
services:
  llm:
    tokensPerMinute: 8000
entry: t
tasks:
  t:
    steps:
      - work: { duration: 1s, service: llm, tokens: 1000 }
load:
  arrivals: { poisson: { perMinute: RATE } }
  duration: 1h
";
    let w = diagnostics(&y.replace("RATE", "10")).unwrap();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(w[0].to_string().contains("about 10,000 tokens a minute"), "{}", w[0]);
    assert!(diagnostics(&y.replace("RATE", "7")).unwrap().is_empty());
}
