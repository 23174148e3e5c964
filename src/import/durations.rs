//! `--durations FITTED.yaml`: placeholders filled from a scenario (one `wfsim fit` wrote, or
//! any other), matched by task id.
//!
//! Per task, in order of preference: a work step of the same name; else, when both have as
//! many work steps, the one at the same position; else, when the fitted task has a single
//! work step (a fit of the task's whole compute time), that one on the first work step and
//! nothing on the others. `parallel` counts and limits, `poll` settings and branch
//! conditions (with the input attributes they name) are taken by position among steps of
//! their kind.

use crate::scenario::yaml::Node;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default)]
pub struct FittedTask {
    /// Work steps in order: name and the step's map.
    pub works: Vec<(Option<String>, Node)>,
    pub parallels: Vec<Node>,
    pub polls: Vec<Node>,
    /// Per branch, its arms' `when` (None for `otherwise`).
    pub branches: Vec<Vec<Option<String>>>,
    pub machine: Option<Node>,
}

pub struct Fitted {
    pub file: String,
    pub tasks: BTreeMap<String, FittedTask>,
    pub inputs: Vec<(String, Node)>,
    /// `startLatency`, `coldStart`, `environment`, `prices`, `keepWarm`: copied as they are.
    pub top: Vec<(String, Node)>,
}

/// What a work step of the draft gets.
#[derive(Debug, Clone)]
pub enum WorkFill {
    Step(Node),
    /// Nothing: the fitted single work step is on `name`.
    Folded(String),
}

impl Fitted {
    pub fn load(path: &Path) -> Result<Fitted, String> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| format!("cannot read {file}: {e}"))?;
        if let Err(e) = crate::scenario::load_str(&src, &file) {
            return Err(format!("{file} is not a valid scenario:\n{e}"));
        }
        let root = crate::scenario::yaml::parse(&src).map_err(|e| format!("{file}: {}", e.message))?;
        let mut f = Fitted { file, tasks: BTreeMap::new(), inputs: Vec::new(), top: Vec::new() };
        for (k, v) in root.as_map().unwrap_or(&[]) {
            let Some(k) = k.as_str() else { continue };
            match k {
                "tasks" => {
                    for (id, t) in v.as_map().unwrap_or(&[]) {
                        let Some(id) = id.as_str() else { continue };
                        let mut ft = FittedTask { machine: get(t, "machine").cloned(), ..Default::default() };
                        if let Some(steps) = get(t, "steps").and_then(|s| s.as_seq()) {
                            collect(steps, &mut ft);
                        }
                        f.tasks.insert(id.to_owned(), ft);
                    }
                }
                "input" => {
                    for (n, d) in v.as_map().unwrap_or(&[]) {
                        if let Some(n) = n.as_str() {
                            f.inputs.push((n.to_owned(), d.clone()));
                        }
                    }
                }
                "startLatency" | "coldStart" | "environment" | "prices" | "keepWarm" => {
                    f.top.push((k.to_owned(), v.clone()))
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// The fills of a task's work steps, given their names in order.
    pub fn works(&self, task: &str, names: &[String]) -> Vec<Option<WorkFill>> {
        let Some(t) = self.tasks.get(task) else { return vec![None; names.len()] };
        let mut out: Vec<Option<WorkFill>> = vec![None; names.len()];
        let mut used = vec![false; t.works.len()];
        for (i, n) in names.iter().enumerate() {
            if let Some(j) = (0..t.works.len()).find(|&j| !used[j] && t.works[j].0.as_deref() == Some(n.as_str())) {
                used[j] = true;
                out[i] = Some(WorkFill::Step(t.works[j].1.clone()));
            }
        }
        let matched: Vec<usize> = (0..names.len()).filter(|&i| out[i].is_some()).collect();
        if !matched.is_empty() {
            // Every fitted step found its match: the rest of ours take no time of their own.
            if used.iter().all(|u| *u) {
                let into = names[matched[0]].clone();
                for o in out.iter_mut().filter(|o| o.is_none()) {
                    *o = Some(WorkFill::Folded(into.clone()));
                }
            }
            return out;
        }
        if t.works.len() == names.len() {
            return t.works.iter().map(|w| Some(WorkFill::Step(w.1.clone()))).collect();
        }
        if t.works.len() == 1 && !names.is_empty() {
            let mut v = vec![Some(WorkFill::Step(t.works[0].1.clone()))];
            v.extend(names[1..].iter().map(|_| Some(WorkFill::Folded(names[0].clone()))));
            return v;
        }
        out
    }

    /// The input attributes a condition names.
    pub fn input(&self, name: &str) -> Option<&Node> {
        self.inputs.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }
}

fn get<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    n.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
}

fn collect(steps: &[Node], ft: &mut FittedTask) {
    for s in steps {
        let Some([(k, v)]) = s.as_map() else { continue };
        match k.as_str() {
            Some("work") => ft.works.push((get(v, "name").and_then(|n| n.as_str()).map(str::to_owned), v.clone())),
            Some("parallel" | "repeat") => {
                ft.parallels.push(v.clone());
                if let Some(inner) = get(v, "steps").and_then(|s| s.as_seq()) {
                    collect(inner, ft);
                }
            }
            Some("poll") => ft.polls.push(v.clone()),
            Some("branch") => {
                let arms = v.as_seq().unwrap_or(&[]);
                ft.branches
                    .push(arms.iter().map(|a| get(a, "when").and_then(|w| w.as_str()).map(str::to_owned)).collect());
                for a in arms {
                    for key in ["then", "otherwise"] {
                        if let Some(inner) = get(a, key).and_then(|s| s.as_seq()) {
                            collect(inner, ft);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The attribute a condition names: `tier` of `tier != free`, `scanned` of `!scanned`.
pub fn cond_attr(cond: &str) -> &str {
    let t = cond.trim().trim_start_matches('!').trim_start_matches("not ").trim();
    let end = t.find(['=', '!', '<', '>', ' ']).unwrap_or(t.len());
    &t[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::yaml_text::flow;

    #[test]
    fn the_attribute_of_a_condition() {
        assert_eq!(cond_attr("tier != free"), "tier");
        assert_eq!(cond_attr("!scanned"), "scanned");
        assert_eq!(cond_attr("pages>50"), "pages");
    }

    #[test]
    fn flow_yaml_of_a_work_step() {
        let n = crate::scenario::yaml::parse(
            "{ name: a b, duration: { lognormal: { median: 2m, p95: 3m } }, failure: 0.02 }",
        )
        .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(flow(&n), "{ name: a b, duration: { lognormal: { median: 2m, p95: 3m } }, failure: 0.02 }");
    }
}
