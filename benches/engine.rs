//! Criterion benchmarks of the engine: scenario load and compile, one workflow run of each
//! shipped scenario, and Monte Carlo throughput. `cargo bench` runs them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wfsim::engine::{NoObserver, Scratch, TaskAcc, simulate};
use wfsim::montecarlo::{self, Config};
use wfsim::rng::run_key;
use wfsim::scenario::load_str;

fn scenarios() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .filter_map(|p| {
                    let name = p.file_stem()?.to_string_lossy().into_owned();
                    Some((name, std::fs::read_to_string(&p).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn bench(c: &mut Criterion) {
    let all = scenarios();
    let mut g = c.benchmark_group("load");
    for (name, src) in &all {
        g.bench_function(name.as_str(), |b| b.iter(|| load_str(black_box(src), "bench.yaml").is_ok()));
    }
    g.finish();

    let mut g = c.benchmark_group("one_run");
    for (name, src) in &all {
        let Ok(l) = load_str(src, "bench.yaml") else { continue };
        let m = l.model;
        let mut scratch = Scratch::new();
        let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
        let mut i = 0u64;
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                i += 1;
                simulate(&m, run_key(1, i), &mut scratch, &mut tasks, &mut NoObserver).map(|o| o.duration_s)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("monte_carlo_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    for name in ["transcription-parallel", "pdf-processing"] {
        let Some((_, src)) = all.iter().find(|(n, _)| n == name) else { continue };
        let Ok(l) = load_str(src, "bench.yaml") else { continue };
        for threads in [1usize, 2] {
            g.bench_function(format!("{name}/threads={threads}"), |b| {
                b.iter(|| montecarlo::run(&l.model, Config { runs: 10_000, seed: 1, threads: Some(threads) }).is_ok())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
