//! The run tree: which run triggered which (`parent_run_id`), grouped into edges between tasks
//! (task A's runs trigger task B's runs), with how many children a parent run has, whether
//! they come in batches (`batch_id`) and whether the parent waited for them.

use super::export::Run;
use std::collections::HashMap;

/// Runs indexed by id, with each run's children (indices into the runs, in trigger order).
pub struct Tree {
    pub children: Vec<Vec<usize>>,
    /// Runs whose `parent_run_id` is not in the export (reported, counted, and left out of
    /// the tree: their own numbers still count for their task).
    pub orphans: Vec<usize>,
    /// Root runs (no parent), in trigger order.
    pub roots: Vec<usize>,
}

pub fn build(runs: &[Run]) -> Tree {
    let by_id: HashMap<&str, usize> = runs.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let mut children = vec![Vec::new(); runs.len()];
    let (mut orphans, mut roots) = (Vec::new(), Vec::new());
    for (i, r) in runs.iter().enumerate() {
        match r.parent_id.as_deref() {
            None => roots.push(i),
            Some(p) => match by_id.get(p) {
                Some(&pi) if pi != i => children[pi].push(i),
                _ => orphans.push(i),
            },
        }
    }
    let at = |i: &usize| runs[*i].triggered_at.unwrap_or(f64::INFINITY);
    for c in &mut children {
        c.sort_by(|a, b| at(a).total_cmp(&at(b)).then(a.cmp(b)));
    }
    roots.sort_by(|a, b| at(a).total_cmp(&at(b)).then(a.cmp(b)));
    Tree { children, orphans, roots }
}

/// Task `parent`'s runs triggering task `child`'s.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub child: String,
    /// Most children came in batches (a `batch_id`).
    pub batch: bool,
    /// Per parent run of the task: how many children of this task it triggered (0 included).
    pub counts: Vec<u32>,
    /// Pairs where the data tells whether the parent waited, and how many say it did.
    pub wait_evidence: (usize, usize),
    /// Most children carry an `idempotency_key`: a retried parent reuses the ones that
    /// completed (`idempotencyKey: true`).
    pub keyed: bool,
    /// Median over the parent runs with one attempt of the parent's compute before it
    /// triggered its first child of this task, as a share of its compute (the order of steps).
    pub position: Option<f64>,
}

impl Edge {
    /// A parent waits when at least 90% of the pairs that can tell say so (or none can tell).
    pub fn waited(&self) -> bool {
        let (yes, n) = self.wait_evidence;
        n == 0 || yes as f64 >= 0.9 * n as f64
    }
}

/// The edges out of task `task`, given its runs' indices (`runs_of`), in the order their
/// first children are triggered.
pub fn edges(runs: &[Run], tree: &Tree, runs_of: &[usize]) -> Vec<Edge> {
    let mut order: Vec<String> = Vec::new();
    // Per child task: counts per parent run, children, batched children, wait evidence,
    // positions, keyed children.
    type Acc = (Vec<u32>, usize, usize, (usize, usize), Vec<f64>, usize);
    let mut per: HashMap<String, Acc> = HashMap::new();
    for (k, &p) in runs_of.iter().enumerate() {
        for &c in &tree.children[p] {
            let name = &runs[c].task;
            if !per.contains_key(name) {
                order.push(name.clone());
                per.insert(name.clone(), (vec![0; runs_of.len()], 0, 0, (0, 0), Vec::new(), 0));
            }
            let e = per.get_mut(name).expect("inserted");
            e.0[k] += 1;
            e.1 += 1;
            e.2 += usize::from(runs[c].batch_id.is_some());
            e.5 += usize::from(runs[c].idempotency_key.is_some());
            if let Some(w) = waited(&runs[p], &runs[c]) {
                e.3.0 += usize::from(w);
                e.3.1 += 1;
            }
        }
        // The position of each child task's first trigger in the parent's compute.
        let pr = &runs[p];
        if pr.attempts == 1
            && let (Some(ex), Some(u)) = (pr.executed_at, pr.usage_s)
            && u > 0.0
        {
            let mut seen: Vec<&str> = Vec::new();
            for &c in &tree.children[p] {
                let name = runs[c].task.as_str();
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                if let Some(t) = runs[c].triggered_at {
                    per.get_mut(name).expect("inserted").4.push(((t - ex) / u).clamp(0.0, 1.0));
                }
            }
        }
    }
    let mut out: Vec<Edge> = order
        .into_iter()
        .map(|name| {
            let (mut counts, n, batched, ev, mut pos, keyed) = per.remove(&name).expect("present");
            let keyed = keyed * 2 > n;
            // Children per attempt that triggered them: with keys, one per key (a failed
            // child's rerun has its key); without, a retried parent triggered them all again.
            for (k, &p) in runs_of.iter().enumerate() {
                if keyed {
                    let mut keys: Vec<&str> = tree.children[p]
                        .iter()
                        .filter(|&&c| runs[c].task == name)
                        .filter_map(|&c| runs[c].idempotency_key.as_deref())
                        .collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let unkeyed = tree.children[p]
                        .iter()
                        .filter(|&&c| runs[c].task == name && runs[c].idempotency_key.is_none())
                        .count();
                    counts[k] = (keys.len() + unkeyed) as u32;
                } else if runs[p].attempts > 1 {
                    counts[k] = (f64::from(counts[k]) / f64::from(runs[p].attempts)).round() as u32;
                }
            }
            pos.sort_by(f64::total_cmp);
            Edge {
                child: name,
                batch: batched * 2 > n,
                counts,
                wait_evidence: ev,
                keyed,
                position: crate::stats::quantile_sorted(&pos, 0.5),
            }
        })
        .collect();
    out.sort_by(|a, b| a.position.unwrap_or(1.0).total_cmp(&b.position.unwrap_or(1.0)));
    out
}

/// Whether parent `p` waited for child `c`, where the data can tell: the child ended no later
/// than the parent, and the parent spent at least half the child's time not computing
/// (a parent waiting in `triggerAndWait` is paused, not billed, for the child's whole run).
fn waited(p: &Run, c: &Run) -> Option<bool> {
    let (pe, ce) = (p.completed_at?, c.completed_at?);
    let child_time = ce - c.triggered_at?;
    let idle = p.execution_s? - p.usage_s?;
    Some(ce <= pe + 0.001 && idle >= 0.5 * child_time)
}
