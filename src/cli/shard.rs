//! `--shard I/N` writes a part of a command's work to a shard file; `wfsim merge` turns the
//! shards back into the command's output. The commands' own handlers (in the parent module)
//! call in here when `--shard` is given, and `merge` calls their output halves.

use super::*;

/// A shardable command with the options its output depends on, as a shard's manifest holds
/// it (`--threads` and the shard options are left out: they do not change the output).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "lowercase")]
pub(super) enum Job {
    Run { sim: Sim, out: Output },
    Report { files: usize, out: Option<PathBuf>, sim: Sim, output: Output },
    Compare { out: Option<PathBuf>, sim: Sim, output: Output },
    Sweep { args: SweepArgs, out: Option<PathBuf>, runs: Runs, output: Output },
    Sensitivity { options: crate::sweep::SensitivityOptions, out: Option<PathBuf>, runs: Runs, output: Output },
}

impl Job {
    fn name(&self) -> &'static str {
        match self {
            Job::Run { .. } => "run",
            Job::Report { .. } => "report",
            Job::Compare { .. } => "compare",
            Job::Sweep { .. } => "sweep",
            Job::Sensitivity { .. } => "sensitivity",
        }
    }
}

/// The shard asked for, if any (`auto/N` reads the batch engine's environment).
pub(super) fn shard_spec(a: &ShardArgs) -> Result<Option<crate::shard::Spec>, Stop> {
    let Some(s) = &a.shard else { return Ok(None) };
    crate::shard::parse_spec(s, &|k| std::env::var(k).ok()).map(Some).map_err(|m| Stop::new(2, format!("error: {m}")))
}

/// The manifest of a shard of `job` over `files` (their texts are read again here: the
/// merge loads the scenarios from the manifest, not from the files).
pub(super) fn manifest(
    job: &Job,
    files: &[&Path],
    seed: u64,
    spec: crate::shard::Spec,
    part: String,
) -> Result<crate::shard::Manifest, Stop> {
    let mut scenarios = Vec::new();
    for f in files {
        let text = read_text(f)?;
        scenarios.push(crate::shard::Source { path: f.display().to_string(), text });
    }
    let args = serde_json::to_value(job).map_err(internal)?;
    let command = job.name().to_owned();
    Ok(crate::shard::Manifest {
        format: crate::shard::manifest::FORMAT.into(),
        wfsim: env!("CARGO_PKG_VERSION").into(),
        job: crate::shard::manifest::job_hash(&command, &args, &scenarios, seed, spec.of),
        command,
        seed,
        shard: spec.index,
        of: spec.of,
        part,
        args,
        scenarios,
        body_bytes: 0,
        body_hash: String::new(),
    })
}

pub(super) fn write_shard(
    shard: &ShardArgs,
    m: crate::shard::Manifest,
    body: &crate::shard::Body,
) -> Result<bool, Stop> {
    let spec = crate::shard::Spec { index: m.shard, of: m.of };
    let path = shard.shard_file.clone().unwrap_or_else(|| crate::shard::default_file(spec));
    let what = format!("shard {}/{} of `{}` ({})", m.shard, m.of, m.command, m.part);
    crate::shard::write(&path, m, body)
        .map_err(|e| Stop::new(3, format!("error: cannot write the shard {}: {e}", path.display())))?;
    say!("wrote {}: {what}", path.display());
    Ok(false)
}

/// Simulates shard `spec` of `run`, `report` or `compare` over `files` and writes it.
pub(super) fn write_sim_shard(
    job: &Job,
    files: &[&Path],
    sim: &Sim,
    spec: crate::shard::Spec,
    keep: bool,
) -> Result<bool, Stop> {
    use crate::shard::{SimPart, split};
    check_runs(sim.runs)?;
    let mut parts = Vec::new();
    let mut words = Vec::new();
    for f in files {
        let loaded = load_with_cli_options(f, sim)?;
        let model = &loaded.model;
        let cfg = Config { runs: sim.runs, seed: sim.seed, threads: sim.threads };
        let fail = |e: crate::engine::SimError| Stop::new(2, format!("error: {e}"));
        match crate::sim::Mode::of(model, sim.isolated, sim.replications.unwrap_or(1)) {
            crate::sim::Mode::Alone => {
                let chunks = split(sim.runs.div_ceil(montecarlo::CHUNK), spec);
                let runs =
                    (chunks.start * montecarlo::CHUNK).min(sim.runs)..(chunks.end * montecarlo::CHUNK).min(sim.runs);
                words.push(format!("runs {}..{} of {}", runs.start, runs.end, sim.runs));
                parts.push(SimPart::Alone(Box::new(montecarlo::run_part(model, cfg, keep, chunks).map_err(fail)?)));
            }
            crate::sim::Mode::Load { replications } => {
                let r = split(replications, spec);
                words.push(format!("load replications {}..{} of {replications}", r.start, r.end));
                let reps = montecarlo::run_load_part(model, sim.seed, r.clone(), sim.threads).map_err(fail)?;
                parts.push(SimPart::Load { first: r.start, reps });
            }
        }
    }
    words.dedup();
    let m = manifest(job, files, sim.seed, spec, words.join("; "))?;
    write_shard(&sim.shard, m, &crate::shard::Body::Sims(parts))
}

/// `wfsim merge`: reads and checks the shards, rebuilds what the command computes in one
/// process, and gives its output.
pub(super) fn merge_cmd(paths: &[PathBuf], out: Option<PathBuf>, file: Option<PathBuf>) -> Result<bool, Stop> {
    let shard_error = |e: crate::shard::ShardError| Stop::new(2, format!("{e}"));
    let shards = paths.iter().map(|p| crate::shard::read(p)).collect::<Result<Vec<_>, _>>().map_err(shard_error)?;
    let shards = crate::shard::merge::check(shards).map_err(shard_error)?;
    let m = &shards[0].manifest;
    let job: Job = serde_json::from_value(m.args.clone())
        .map_err(|e| Stop::new(2, format!("error: {}: the manifest's options do not read: {e}", shards[0].path)))?;
    if job.name() != m.command {
        return Err(Stop::new(
            2,
            format!(
                "error: {}: the manifest names `{}` but holds options of `{}`",
                shards[0].path,
                m.command,
                job.name()
            ),
        ));
    }
    say!(
        "merging {} shard(s) of `{}` ({})",
        shards.len(),
        m.command,
        m.scenarios.iter().map(|s| s.path.as_str()).collect::<Vec<_>>().join(", ")
    );
    let sims = |sim: &Sim| -> Result<Vec<Simulated>, Stop> {
        let mut v = Vec::new();
        for (i, src) in shards[0].manifest.scenarios.iter().enumerate() {
            let mut loaded = load_text(src)?;
            add_cli_options(&mut loaded.model, parse_slos(&sim.slo)?, sim)?;
            let notes = sim_notes(&loaded.model, sim);
            let mode = crate::sim::Mode::of(&loaded.model, sim.isolated, sim.replications.unwrap_or(1));
            let s = crate::shard::simulation(&shards, i, &loaded.model, mode, sim.runs, sim.seed, notes)
                .map_err(shard_error)?;
            v.push(simulated(loaded, s, sim.seed));
        }
        Ok(v)
    };
    // `-o FILE` given to merge replaces the sharded command's.
    let redirect = |mut o: Output| -> Result<Output, Stop> {
        if file.is_some() {
            o.output = file.clone();
        }
        QUIET.store(o.quiet || quiet(), Ordering::Relaxed);
        if let Some(f) = &o.output {
            crate::output::install_interrupt_cleanup();
            check_writable(f)?;
        }
        Ok(o)
    };
    let cleanup = |dir: &Option<PathBuf>| {
        if dir.is_some() {
            crate::output::install_interrupt_cleanup();
        }
    };
    match job {
        Job::Run { sim, out: o } => {
            let o = redirect(o)?;
            emit_run(&sims(&sim)?[0], &o)
        }
        Job::Report { files, out: dir, sim, output } => {
            let output = redirect(output)?;
            let dir = out.or(dir);
            crate::output::install_interrupt_cleanup();
            let mut failed = false;
            let mut printed = String::new();
            for s in sims(&sim)? {
                failed |= report_one(&s, files, dir.as_deref(), &output, &mut printed)?;
            }
            if let Some(f) = &output.output {
                write_file(f, printed.as_bytes())?;
            }
            Ok(failed)
        }
        Job::Compare { out: dir, sim, output } => {
            let output = redirect(output)?;
            let dir = out.or(dir);
            cleanup(&dir);
            emit_compare(&sims(&sim)?, dir.as_deref(), &sim, &output)
        }
        Job::Sweep { args, out: dir, runs, output } => {
            let output = redirect(output)?;
            let dir = out.or(dir);
            cleanup(&dir);
            let src = &shards[0].manifest.scenarios[0];
            let model = load_text(src)?.model;
            let opts = sweep_options(&args)?;
            let cfg = runs.config();
            let p = crate::sweep::plan(&src.text, &src.path, &opts, cfg).map_err(sweep_error)?;
            let rows = crate::shard::variants(&shards, p.len(), |b| match b {
                crate::shard::Body::Rows { first, rows } => Some((*first, rows.as_slice())),
                _ => None,
            })
            .map_err(shard_error)?;
            emit_sweep(&model, &args, p.assemble(&opts, cfg, rows), dir.as_deref(), &output)
        }
        Job::Sensitivity { options, out: dir, runs, output } => {
            let output = redirect(output)?;
            let dir = out.or(dir);
            cleanup(&dir);
            let model = load_text(&shards[0].manifest.scenarios[0])?.model;
            let total = crate::sweep::sensitivity_variants(&model, options.delta);
            let blocks = crate::shard::variants(&shards, total, |b| match b {
                crate::shard::Body::Blocks { first, blocks } => Some((*first, blocks.as_slice())),
                _ => None,
            })
            .map_err(shard_error)?;
            let s = crate::sweep::sensitivity_assemble(&model, options, runs.config(), blocks);
            emit_sensitivity(&s, dir.as_deref(), &output)
        }
    }
}

/// A scenario from a shard's manifest, loaded as the sharded command loaded its file.
fn load_text(src: &crate::shard::Source) -> Result<Loaded, Stop> {
    let loaded = scenario::load_str(&src.text, &src.path).map_err(|e| Stop::new(2, format!("{e}")))?;
    for w in &loaded.warnings {
        say!("{w}\n");
    }
    Ok(loaded)
}

/// A scenario file's text.
pub(super) fn read_text(file: &Path) -> Result<String, Stop> {
    std::fs::read_to_string(file).map_err(|e| Stop::new(2, format!("error: cannot read {}: {e}", file.display())))
}
