//! Sharded simulation: `--shard I/N` simulates part I of N of a command's work and writes it
//! to a shard file; `wfsim merge` checks that shards belong together and cover the work once,
//! and rebuilds exactly what one process computes. The work splits into units, each
//! simulated the same way by whichever process runs it (runs are keyed by (seed, run index),
//! replications by (seed, replication)): chunks of [`montecarlo::CHUNK`] runs for runs alone,
//! replications under `load:`, variants for `sweep` and `sensitivity`. Shard I of N holds
//! units `I * U / N .. (I + 1) * U / N`.
//!
//! A shard file is one line of JSON (the [`Manifest`]) and a binary body ([`codec`]).

pub mod codec;
pub mod manifest;
pub mod merge;

use crate::montecarlo::{self, ChunkPart, Replication};
use crate::paired::Blocks;
use crate::sweep::Row;
use codec::{Codec, Corrupt, Dec, Enc};
pub use manifest::{Manifest, Source};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Which shard of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub index: u64,
    pub of: u64,
}

/// Parses `I/N` (I from 0) or `auto/N` (I from the batch engine's environment, see
/// [`index_from_env`]).
pub fn parse_spec(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Spec, String> {
    let usage = || format!("--shard {s}: expected I/N (shard I of N, I from 0 to N - 1) or auto/N");
    let (i, n) = s.split_once('/').ok_or_else(usage)?;
    let of: u64 = n.trim().parse().map_err(|_| usage())?;
    if of == 0 {
        return Err(format!("--shard {s}: N must be at least 1"));
    }
    let index = match i.trim() {
        "auto" => index_from_env(of, env).map_err(|m| format!("--shard {s}: {m}"))?,
        i => i.parse().map_err(|_| usage())?,
    };
    if index >= of {
        return Err(format!("--shard {s}: the index must be below {of} (shards are numbered from 0)"));
    }
    Ok(Spec { index, of })
}

/// The shard index a batch engine gives an array job: Slurm (`SLURM_ARRAY_TASK_ID` minus
/// `SLURM_ARRAY_TASK_MIN`, divided by `SLURM_ARRAY_TASK_STEP`; `SLURM_ARRAY_TASK_COUNT` must
/// be N), Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`), AWS Batch array jobs
/// (`AWS_BATCH_JOB_ARRAY_INDEX`; `AWS_BATCH_JOB_ARRAY_SIZE` must be N).
pub fn index_from_env(of: u64, env: &dyn Fn(&str) -> Option<String>) -> Result<u64, String> {
    let num = |k: &str| -> Result<Option<u64>, String> {
        match env(k) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| format!("{k}={v} is not a whole number")),
        }
    };
    let count = |k: &str| -> Result<(), String> {
        match num(k)? {
            Some(c) if c != of => Err(format!("{k}={c}, but the command asks for {of} shards")),
            _ => Ok(()),
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        count("SLURM_ARRAY_TASK_COUNT")?;
        return id
            .checked_sub(min)
            .map(|d| d / step)
            .ok_or_else(|| format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"));
    }
    if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        return Ok(i);
    }
    if let Some(i) = num("AWS_BATCH_JOB_ARRAY_INDEX")? {
        count("AWS_BATCH_JOB_ARRAY_SIZE")?;
        return Ok(i);
    }
    Err("auto: no array index in the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX)"
        .into())
}

/// The units of `units` that shard `s` simulates.
pub fn split(units: u64, s: Spec) -> Range<u64> {
    let at = |i: u64| (i as u128 * units as u128 / s.of as u128) as u64;
    at(s.index)..at(s.index + 1)
}

/// The file a shard is written to when none is named: `shard-I-of-N.wfshard`.
pub fn default_file(s: Spec) -> PathBuf {
    PathBuf::from(format!("shard-{}-of-{}.wfshard", s.index, s.of))
}

/// One scenario's part of `run`, `report` or `compare`.
#[derive(Debug, Clone)]
pub enum SimPart {
    /// Runs alone: a range of chunks.
    Alone(Box<ChunkPart>),
    /// Under load: replications `first..first + reps.len()`.
    Load { first: u64, reps: Vec<Replication> },
}

/// What a shard holds.
#[derive(Debug, Clone)]
pub enum Body {
    /// `run`, `report`, `compare`: one part per scenario file, in the command's order.
    Sims(Vec<SimPart>),
    /// `sweep`: the rows of variants `first..first + rows.len()`.
    Rows { first: u64, rows: Vec<Row> },
    /// `sensitivity`: the measures of variants `first..first + blocks.len()`.
    Blocks { first: u64, blocks: Vec<Blocks> },
}

impl Codec for SimPart {
    fn put(&self, e: &mut Enc) {
        match self {
            SimPart::Alone(p) => {
                0u8.put(e);
                p.put(e);
            }
            SimPart::Load { first, reps } => {
                1u8.put(e);
                first.put(e);
                reps.put(e);
            }
        }
    }
    fn get(d: &mut Dec) -> codec::R<Self> {
        match u8::get(d)? {
            0 => Ok(SimPart::Alone(Box::new(ChunkPart::get(d)?))),
            1 => Ok(SimPart::Load { first: u64::get(d)?, reps: Vec::get(d)? }),
            t => Err(Corrupt(format!("part kind {t}"))),
        }
    }
}

impl Codec for Body {
    fn put(&self, e: &mut Enc) {
        match self {
            Body::Sims(v) => {
                0u8.put(e);
                v.put(e);
            }
            Body::Rows { first, rows } => {
                1u8.put(e);
                first.put(e);
                rows.put(e);
            }
            Body::Blocks { first, blocks } => {
                2u8.put(e);
                first.put(e);
                blocks.put(e);
            }
        }
    }
    fn get(d: &mut Dec) -> codec::R<Self> {
        match u8::get(d)? {
            0 => Ok(Body::Sims(Vec::get(d)?)),
            1 => Ok(Body::Rows { first: u64::get(d)?, rows: Vec::get(d)? }),
            2 => Ok(Body::Blocks { first: u64::get(d)?, blocks: Vec::get(d)? }),
            t => Err(Corrupt(format!("body kind {t}"))),
        }
    }
}

/// A shard read from its file.
#[derive(Debug, Clone)]
pub struct Shard {
    /// The file, as named on the command line.
    pub path: String,
    pub manifest: Manifest,
    pub body: Body,
}

/// Why shards cannot be merged. Every message names the file(s) concerned.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("error: cannot read the shard {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("error: {path} is not a valid shard file: {why}")]
    Corrupt { path: String, why: String },
    #[error("error: {path} belongs to another job than {first}: {why}")]
    Foreign { path: String, first: String, why: String },
    #[error("error: {path} and {other} are both shard {index}/{of} but hold different results")]
    Conflict { path: String, other: String, index: u64, of: u64 },
    #[error("error: missing shard(s) {missing} of {of} (given: {given}); run them with --shard I/{of} and merge again")]
    Missing { missing: String, of: u64, given: String },
    #[error("error: {0}")]
    Simulate(#[from] crate::sim::SimulateError),
}

/// Writes a shard file (the manifest's body fields are filled in here). The file appears
/// whole or not at all: written beside its place, then renamed.
pub fn write(path: &Path, mut manifest: Manifest, body: &Body) -> std::io::Result<()> {
    let mut e = Enc::default();
    body.put(&mut e);
    manifest.body_bytes = e.0.len() as u64;
    manifest.body_hash = format!("{:016x}", manifest::fnv1a(&[&e.0]));
    let mut bytes = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&e.0);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Reads a shard file, checking its format, version, body length and hash.
pub fn read(path: &Path) -> Result<Shard, ShardError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ShardError::Io { path: name.clone(), source })?;
    let corrupt = |why: String| ShardError::Corrupt { path: name.clone(), why };
    let nl = bytes.iter().position(|&b| b == b'\n').ok_or_else(|| corrupt("no manifest line".into()))?;
    let manifest: Manifest = serde_json::from_slice(&bytes[..nl]).map_err(|e| {
        if bytes.starts_with(b"{\"format\":\"wfsim-shard") {
            corrupt(format!("its manifest does not read: {e}"))
        } else {
            corrupt("it does not start with a wfsim shard manifest".into())
        }
    })?;
    if manifest.format != manifest::FORMAT {
        return Err(corrupt(format!("format `{}`, this wfsim reads `{}`", manifest.format, manifest::FORMAT)));
    }
    let body = &bytes[nl + 1..];
    if body.len() as u64 != manifest.body_bytes {
        return Err(corrupt(format!(
            "its body is {} bytes, its manifest says {} (truncated or damaged)",
            body.len(),
            manifest.body_bytes
        )));
    }
    let hash = format!("{:016x}", manifest::fnv1a(&[body]));
    if hash != manifest.body_hash {
        return Err(corrupt(format!("its body hash is {hash}, its manifest says {} (damaged)", manifest.body_hash)));
    }
    let mut d = Dec::new(body);
    let body = Body::get(&mut d).and_then(|b| d.done().map(|_| b)).map_err(|c| corrupt(c.0))?;
    Ok(Shard { path: name, manifest, body })
}

/// The parts of one scenario file, rebuilt into the simulation one process computes.
pub fn simulation(
    shards: &[Shard],
    file: usize,
    model: &crate::model::Model,
    mode: crate::sim::Mode,
    runs: u64,
    seed: u64,
    notes: Vec<String>,
) -> Result<crate::sim::Simulation, ShardError> {
    let corrupt = |s: &Shard, why: &str| ShardError::Corrupt { path: s.path.clone(), why: why.into() };
    let mut alone = Vec::new();
    let mut load = Vec::new();
    for s in shards {
        match (&s.body, mode) {
            (Body::Sims(p), _) => match (p.get(file), mode) {
                (Some(SimPart::Alone(c)), crate::sim::Mode::Alone) => alone.push(&**c),
                (Some(SimPart::Load { first, reps }), crate::sim::Mode::Load { .. }) => load.push((*first, reps)),
                _ => return Err(corrupt(s, "its parts do not match the job's scenarios")),
            },
            _ => return Err(corrupt(s, "its body is not the command's")),
        }
    }
    match mode {
        crate::sim::Mode::Alone => {
            let mc = montecarlo::merge_parts(&alone, runs, model.tasks.len())
                .ok_or_else(|| corrupt(&shards[0], "the shards' chunks of runs do not cover the runs exactly once"))?;
            Ok(crate::sim::alone(model, mc, seed, notes))
        }
        crate::sim::Mode::Load { replications } => {
            load.sort_by_key(|(first, _)| *first);
            let mut all = Vec::with_capacity(replications as usize);
            for (first, reps) in load {
                if first != all.len() as u64 {
                    return Err(corrupt(&shards[0], "the shards' replications do not cover the load exactly once"));
                }
                all.extend(reps.iter().cloned());
            }
            if all.len() as u64 != replications {
                return Err(corrupt(&shards[0], "the shards' replications do not cover the load exactly once"));
            }
            let r = montecarlo::LoadResult::from_replications(all, model.tasks.len());
            Ok(crate::sim::under_load(model, r, seed, notes)?)
        }
    }
}

/// The variants' results (sweep rows or sensitivity blocks) in variant order.
pub fn variants<T: Clone>(
    shards: &[Shard],
    total: u64,
    get: impl Fn(&Body) -> Option<(u64, &[T])>,
) -> Result<Vec<T>, ShardError> {
    let mut parts = Vec::new();
    for s in shards {
        let p = get(&s.body)
            .ok_or_else(|| ShardError::Corrupt { path: s.path.clone(), why: "its body is not the command's".into() })?;
        parts.push(p);
    }
    parts.sort_by_key(|p| p.0);
    let mut out = Vec::with_capacity(total as usize);
    for (first, v) in parts {
        if first != out.len() as u64 {
            break;
        }
        out.extend_from_slice(v);
    }
    if out.len() as u64 != total {
        return Err(ShardError::Corrupt {
            path: shards[0].path.clone(),
            why: "the shards' variants do not cover the job's variants exactly once".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Spec, parse_spec, split};

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn specs() {
        let none = env(&[]);
        assert_eq!(parse_spec("2/5", &none), Ok(Spec { index: 2, of: 5 }));
        for bad in ["5/5", "1/0", "x/3", "3", "-1/3"] {
            assert!(parse_spec(bad, &none).is_err(), "{bad}");
        }
        assert!(parse_spec("auto/3", &none).unwrap_err().contains("SLURM_ARRAY_TASK_ID"));
        // Slurm: --array=10-20:5 runs tasks 10, 15, 20 (shards 0, 1, 2).
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "15"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_STEP", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(parse_spec("auto/3", &slurm), Ok(Spec { index: 1, of: 3 }));
        assert!(parse_spec("auto/4", &slurm).unwrap_err().contains("SLURM_ARRAY_TASK_COUNT=3"));
        assert_eq!(parse_spec("auto/4", &env(&[("JOB_COMPLETION_INDEX", "3")])), Ok(Spec { index: 3, of: 4 }));
        assert!(parse_spec("auto/3", &env(&[("JOB_COMPLETION_INDEX", "3")])).is_err());
        let aws = env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "1"), ("AWS_BATCH_JOB_ARRAY_SIZE", "2")]);
        assert_eq!(parse_spec("auto/2", &aws), Ok(Spec { index: 1, of: 2 }));
    }

    /// The parts are disjoint, in order, cover every unit and differ in size by at most one.
    #[test]
    fn split_covers_every_unit_once() {
        for units in [0, 1, 3, 10, 1000, u64::MAX] {
            for of in [1, 2, 3, 7, 64] {
                let mut next = 0;
                for index in 0..of {
                    let r = split(units, Spec { index, of });
                    assert_eq!(r.start, next);
                    let len = r.end - r.start;
                    assert!(len == units / of || len == units / of + 1, "{units} {of} {index}");
                    next = r.end;
                }
                assert_eq!(next, units);
            }
        }
    }
}
