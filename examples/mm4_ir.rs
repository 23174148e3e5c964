//! Instruction-count harness: `mm4_ir N` runs replication 0 of tests/reference/mm4.yaml (seed 1)
//! N times through `simulate_load` (the one-queue path), as the criterion bench does, and prints
//! the customers of the runs after the first; `mm4_ir N general` through the general event
//! engine.
use wfsim::engine::{TaskAcc, simulate_load, simulate_load_general};
use wfsim::scenario::load_str;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let sim = if std::env::args().nth(2).as_deref() == Some("general") { simulate_load_general } else { simulate_load };
    let m = load_str(include_str!("../tests/reference/mm4.yaml"), "mm4.yaml").expect("parses").model;
    let mut tasks = vec![TaskAcc::default(); m.tasks.len()];
    let mut after_first = 0;
    let mut sum = 0.0;
    for rep in 0..n {
        let o = sim(&m, 1, 0, &mut tasks).expect("simulates");
        if rep > 0 {
            after_first += o.arrived;
        }
        sum += o.outcomes.iter().map(|x| x.duration_s).sum::<f64>();
    }
    println!("{after_first} {sum}");
}
