//! Checks of the task graph as a whole: every task reachable from the entry, no unbounded
//! recursion of triggers, and the most events one workflow run can make against the limits.

use super::context::{Compiler, Edge, join};
use super::yaml::Node;
use crate::error::Severity;
use crate::format;
use crate::model::*;

impl Compiler<'_> {
    /// triggerAndWait cycles (a run that can never finish) and tasks nothing triggers.
    pub(super) fn check_graph(&mut self, entry: TaskId, task_map: &[(Node, Node)]) {
        let n = self.task_names.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, e) in self.edges.iter().enumerate() {
            if e.waits {
                adj[e.from as usize].push(i);
            }
        }
        // Depth-first search with colours; a grey target closes a cycle.
        let mut colour = vec![0u8; n];
        let mut reported = false;
        for start in 0..n {
            if colour[start] != 0 || reported {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            colour[start] = 1;
            while let Some(&mut (t, ref mut next)) = stack.last_mut() {
                if let Some(&ei) = adj[t].get(*next) {
                    *next += 1;
                    let to = self.edges[ei].to as usize;
                    if colour[to] == 1 {
                        let path: Vec<&str> = stack
                            .iter()
                            .skip_while(|(x, _)| *x != to)
                            .map(|(x, _)| self.task_names[*x].as_str())
                            .collect();
                        let e = self.edges[ei].clone();
                        let cycle = format!("{} -> {}", path.join(" -> "), self.task_names[to]);
                        self.push(
                            Severity::Error,
                            e.line,
                            e.column,
                            &e.key,
                            format!("triggerAndWait cycle: {cycle}; the run could never finish"),
                            Some("break the cycle: a run cannot wait for itself".into()),
                        );
                        reported = true;
                        break;
                    } else if colour[to] == 0 {
                        colour[to] = 1;
                        stack.push((to, 0));
                    }
                } else {
                    colour[t] = 2;
                    stack.pop();
                }
            }
        }
        let mut reach = vec![false; n];
        let mut todo = vec![entry as usize];
        reach[entry as usize] = true;
        while let Some(t) = todo.pop() {
            for e in self.edges.iter().filter(|e| e.from as usize == t) {
                if !reach[e.to as usize] {
                    reach[e.to as usize] = true;
                    todo.push(e.to as usize);
                }
            }
        }
        if !reported {
            self.check_recursion();
        }
        // A misspelt step already reported as an error would also leave its target untriggered.
        let has_errors = self.diags.iter().any(|d| d.severity == Severity::Error);
        for (i, (k, _)) in task_map.iter().enumerate() {
            if !reach[i] && !has_errors {
                let name = self.task_names[i].clone();
                self.warn(
                    k,
                    &join("tasks", &name),
                    format!("task `{name}` is never triggered from the entry task"),
                    None,
                );
            }
        }
    }

    /// Recursion through triggers (a cycle of the task graph with a fire-and-forget step; a
    /// cycle of triggerAndWait alone is reported above): an error when the runs of the cycle
    /// can multiply (the number of runs would grow without end), or when every run of the
    /// cycle surely triggers the next one (a workflow run would never end). A chain that ends
    /// by chance (a random count that can be 0, a step that can fail) is simulated, under the
    /// event budget.
    pub(super) fn check_recursion(&mut self) {
        let n = self.task_names.len();
        let comp = components(n, &self.edges);
        let internal = |e: &Edge| comp[e.from as usize] == comp[e.to as usize] && e.mult > 0.0;
        let mut out = vec![0.0f64; n];
        for e in self.edges.iter().filter(|e| internal(e)) {
            out[e.from as usize] += e.mult;
        }
        let mut done = vec![false; n];
        let mut found = Vec::new();
        for (i, e) in self.edges.iter().enumerate() {
            let c = comp[e.from as usize];
            if !internal(e) || done[c] {
                continue;
            }
            let members: Vec<usize> = (0..n).filter(|&t| comp[t] == c).collect();
            // The task whose runs trigger the most runs of the cycle, and its largest step.
            let Some(&worst) = members.iter().max_by(|a, b| out[**a].total_cmp(&out[**b])) else { continue };
            if out[worst] > 1.0 {
                let j = self
                    .edges
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.from as usize == worst && internal(f))
                    .rev() // the first of equal ones
                    .max_by(|a, b| a.1.mult.total_cmp(&b.1.mult))
                    .map_or(i, |(j, _)| j);
                done[c] = true;
                found.push((j, out[worst], false));
            } else if self.edges.iter().filter(|f| internal(f) && comp[f.from as usize] == c).all(|f| f.sure) {
                done[c] = true;
                found.push((i, 1.0, true));
            }
        }
        for (j, mult, never_ends) in found {
            let e = self.edges[j].clone();
            let cycle = self.cycle_through(&e, &comp);
            let from = self.task_names[e.from as usize].clone();
            let (message, help) = if never_ends {
                (
                    format!(
                        "trigger cycle {cycle}: every run of the cycle triggers the next one, so a workflow run never ends"
                    ),
                    "end the chain by chance, e.g. `batchTrigger: { task, count: { bernoulli: 0.8 } }`, or break the cycle",
                )
            } else {
                let shown = if mult.is_finite() { format::count(mult) } else { "an unbounded number of".into() };
                (
                    format!(
                        "trigger cycle {cycle}: a run of `{from}` can trigger {shown} runs of the cycle here, so their number can grow without end"
                    ),
                    "let each run of the cycle trigger at most one next run (a count of at most 1, e.g. { bernoulli: 0.8 }), or break the cycle",
                )
            };
            self.push(Severity::Error, e.line, e.column, &e.key, message, Some(help.into()));
        }
    }

    /// `a -> b -> a`: the edge `e` and a shortest way back within its component.
    pub(super) fn cycle_through(&self, e: &Edge, comp: &[usize]) -> String {
        let n = self.task_names.len();
        let (from, to) = (e.from as usize, e.to as usize);
        let mut prev = vec![usize::MAX; n];
        let mut queue = std::collections::VecDeque::from([to]);
        prev[to] = to;
        while let Some(t) = queue.pop_front() {
            if t == from {
                break;
            }
            for f in self.edges.iter().filter(|f| f.from as usize == t && comp[f.to as usize] == comp[from]) {
                if prev[f.to as usize] == usize::MAX {
                    prev[f.to as usize] = t;
                    queue.push_back(f.to as usize);
                }
            }
        }
        let mut path = vec![from];
        let mut t = from;
        while t != to && prev[t] != usize::MAX && path.len() <= n {
            t = prev[t];
            path.push(t);
        }
        path.reverse();
        let mut names: Vec<&str> = std::iter::once(from).chain(path).map(|t| self.task_names[t].as_str()).collect();
        names.dedup();
        if names.len() == 1 {
            names.push(names[0]);
        }
        names.join(" -> ")
    }

    /// Counts whose work per workflow run can pass `limits.maxEventsPerRun`: a located error
    /// at load time instead of a run stopped by the budget (or a long stall first: the items
    /// of a `parallel`, the units of a `perUnit` duration and the runs of a batch are set up
    /// in one go). Each item, unit, check or task run is counted as one event (a lower bound),
    /// with every count at its once-in-a-billion value and every task at its most runs per
    /// workflow run (outside cycles).
    pub(super) fn check_limits(&mut self, entry: TaskId) {
        if self.diags.iter().any(|d| d.severity == Severity::Error) {
            return;
        }
        let n = self.task_names.len();
        let comp = components(n, &self.edges);
        // Most runs of each task per workflow run, components in topological order (Tarjan's
        // numbering is reverse topological: a component's successors have lower numbers).
        let order = {
            let mut o: Vec<usize> = (0..n).collect();
            o.sort_by_key(|&t| std::cmp::Reverse(comp[t]));
            o
        };
        let mut runs = vec![0.0f64; n];
        runs[entry as usize] = 1.0;
        for &t in &order {
            for e in self.edges.iter().filter(|e| e.to as usize == t && comp[e.from as usize] != comp[t]) {
                runs[t] += runs[e.from as usize] * e.mult;
            }
        }
        let budget = self.limits.max_events_per_run as f64;
        let mut errors = Vec::new();
        for r in &self.repeats {
            let runs_t = runs[r.task as usize];
            let total = runs_t * r.mult * r.reach * r.per;
            if total > budget && runs_t > 0.0 {
                let task = &self.task_names[r.task as usize];
                let mut within = Vec::new();
                if r.mult > 1.0 {
                    within.push(format!("{} parallel items", format::count(r.mult)));
                }
                if runs_t > 1.0 {
                    within.push(format!("{} runs of `{task}`", format::count(runs_t)));
                }
                let each =
                    if within.is_empty() { String::new() } else { format!(" in each of {}", within.join(" x ")) };
                errors.push((
                    r.line,
                    r.column,
                    r.key.clone(),
                    format!(
                        "task `{task}`: {}{each}, so a workflow run can take {} events, over limits.maxEventsPerRun ({}): the simulation would stop",
                        r.what.replace("{}", &format::count(r.reach)),
                        format::count(total),
                        format::count(budget)
                    ),
                ));
            }
        }
        for (line, column, key, message) in errors {
            self.push(
                Severity::Error,
                line,
                column,
                &key,
                message,
                Some(
                    "lower the count, or bound it with `max:` (an unbounded distribution is taken at the value one draw in a billion exceeds); raise limits.maxEventsPerRun if it is meant"
                        .into(),
                ),
            );
        }
    }
}

/// Strongly connected components of the task graph (Tarjan), numbered in reverse
/// topological order. Edges that trigger no run (count 0) are left out.
pub(super) fn components(n: usize, edges: &[Edge]) -> Vec<usize> {
    let mut adj = vec![Vec::new(); n];
    for e in edges.iter().filter(|e| e.mult > 0.0) {
        adj[e.from as usize].push(e.to as usize);
    }
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut comp, mut stack, mut next, mut ncomp) = (vec![usize::MAX; n], Vec::new(), 0, 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // Iterative DFS: (task, next neighbour to visit).
        let mut dfs = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on[root] = true;
        while let Some(&mut (v, ref mut i)) = dfs.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on[w] = true;
                    dfs.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                dfs.pop();
                if let Some(&(u, _)) = dfs.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on[w] = false;
                        comp[w] = ncomp;
                        if w == v {
                            break;
                        }
                    }
                    ncomp += 1;
                }
            }
        }
    }
    comp
}
