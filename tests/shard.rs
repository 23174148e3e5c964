//! `--shard I/N` and `wfsim merge`: merging the shards of a command, in any order and with a
//! shard given twice, gives the unsharded command's output byte for byte; shards that do not
//! belong together, are missing or damaged are refused with a message naming them (exit 2).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn wfsim() -> Command {
    Command::cargo_bin("wfsim").expect("binary built")
}

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name).display().to_string()
}

/// A fresh, empty folder for one test.
fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wfsim-shard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stdout(args: &[&str], dir: &Path) -> Vec<u8> {
    let out = wfsim().args(args).current_dir(dir).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Writes the `n` shards of `args` into `dir`, returns their files.
fn shards(args: &[&str], n: u64, dir: &Path) -> Vec<String> {
    (0..n)
        .map(|i| {
            let f = dir.join(format!("s{i}.wfshard")).display().to_string();
            let spec = format!("{i}/{n}");
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["--shard", &spec, "--shard-file", &f]);
            let out = wfsim().args(&a).current_dir(dir).output().unwrap();
            assert!(out.status.success(), "{a:?}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stdout.is_empty(), "a shard writes its file, not the output");
            f
        })
        .collect()
}

/// The shards in a shuffled order (a fixed permutation: every other one from the end, then
/// the rest), with the middle one given twice.
fn shuffled(files: &[String]) -> Vec<String> {
    let mut v: Vec<String> = files.iter().rev().step_by(2).cloned().collect();
    v.extend(files.iter().rev().skip(1).step_by(2).cloned());
    v.insert(1, files[files.len() / 2].clone());
    v
}

fn merge(files: &[String], extra: &[&str], dir: &Path) -> Vec<u8> {
    let mut a = vec!["merge"];
    a.extend(files.iter().map(|s| s.as_str()));
    a.extend(extra);
    stdout(&a, dir)
}

/// Shards `args` `n` ways, merges them shuffled with a duplicate, and checks the merged
/// output against the unsharded command's.
fn same_as_unsharded(name: &str, args: &[&str], n: u64) {
    let dir = temp(name);
    let one = stdout(args, &dir);
    let files = shards(args, n, &dir);
    let merged = merge(&shuffled(&files), &[], &dir);
    assert!(!one.is_empty());
    assert!(one == merged, "{name}: the merged output differs from the unsharded one");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_below_the_kept_outcomes() {
    let s = scenario("pdf-processing.yaml");
    // 3,000 runs are 3 chunks: 5 shards leave two of them empty.
    same_as_unsharded("run-small", &["run", &s, "--isolated", "--runs", "3000", "--format", "json"], 5);
    same_as_unsharded("run-table", &["run", &s, "--isolated", "--runs", "20000", "--seed", "7"], 3);
    same_as_unsharded("run-markdown", &["run", &s, "--isolated", "--runs", "4000", "--format", "markdown"], 2);
}

#[test]
fn run_above_the_kept_outcomes() {
    // More runs than EXACT_RUNS (100,000): quantiles come from the merged histograms, means
    // from the chunk sums added in chunk order.
    assert_eq!(wfsim::montecarlo::EXACT_RUNS, 100_000);
    let s = scenario("transcription-parallel.yaml");
    same_as_unsharded("run-big", &["run", &s, "--isolated", "--runs", "130000", "--format", "json"], 4);
}

#[test]
fn run_a_load_with_replications() {
    let s = scenario("pdf-processing.yaml");
    same_as_unsharded("load", &["run", &s, "--replications", "4", "--format", "json"], 3);
}

#[test]
fn compare_alone() {
    let a = scenario("transcription-sequential.yaml");
    let b = scenario("transcription-parallel.yaml");
    same_as_unsharded("compare", &["compare", &a, &b, "--runs", "4000", "--format", "json"], 3);
}

#[test]
fn compare_under_load() {
    // pdf-processing against itself with 10 environment slots instead of 25: both under load, 10
    // replications each (compare's default), split 4 ways.
    let dir = temp("compare-load-files");
    let a = scenario("pdf-processing.yaml");
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text.contains("\nload:") && text.contains("environmentConcurrency: 25"), "the scenario has a load");
    let b = dir.join("fewer-slots.yaml");
    std::fs::write(&b, text.replace("environmentConcurrency: 25", "environmentConcurrency: 10")).unwrap();
    let b = b.display().to_string();
    same_as_unsharded("compare-load", &["compare", &a, &b, "--format", "json"], 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_under_load() {
    let s = scenario("pdf-processing.yaml");
    let args = [
        "sweep",
        &s,
        "--task",
        "ocr-pdf",
        "--machines",
        "small-1x,small-2x,medium-1x",
        "--replications",
        "3",
        "--format",
        "json",
    ];
    same_as_unsharded("sweep-load", &args, 2);
}

#[test]
fn sweep_of_every_task_with_its_files() {
    let dir = temp("sweep-all");
    let s = scenario("pdf-processing.yaml");
    let args = ["sweep", &s, "--task", "all", "--machines", "small-1x,medium-1x", "--isolated", "--runs", "2000"];
    let one = dir.join("one").display().to_string();
    let mut a = args.to_vec();
    a.extend(["--out", &one]);
    let table = stdout(&a, &dir);
    let files = shards(&args, 4, &dir);
    let merged_dir = dir.join("merged").display().to_string();
    assert_eq!(table, merge(&shuffled(&files), &["--out", &merged_dir], &dir));
    same_files(Path::new(&one), &dir.join("merged"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensitivity_under_load() {
    let s = scenario("pdf-processing.yaml");
    same_as_unsharded(
        "sensitivity",
        &["sensitivity", &s, "--runs", "2000", "--replications", "3", "--format", "json"],
        3,
    );
}

/// Every file of folder `a` is in `b` with the same bytes.
fn same_files(a: &Path, b: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(a).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for n in &names {
        let (x, y) = (std::fs::read(a.join(n)).unwrap(), std::fs::read(b.join(n)));
        assert!(y.is_ok_and(|y| y == x), "{n:?} differs or is missing");
    }
}

#[test]
fn report_files_are_the_same() {
    let dir = temp("report");
    let s = scenario("pdf-processing.yaml");
    let one = dir.join("one").display().to_string();
    let args = ["report", &s, "--isolated", "--runs", "5000"];
    let mut a = args.to_vec();
    a.extend(["--out", &one]);
    let table = stdout(&a, &dir);
    let mut sharded = args.to_vec();
    sharded.extend(["--out", "unused"]);
    let files = shards(&sharded, 3, &dir);
    let merged_dir = dir.join("merged").display().to_string();
    let merged_table = merge(&shuffled(&files), &["--out", &merged_dir], &dir);
    assert_eq!(table, merged_table);
    same_files(Path::new(&one), &dir.join("merged"));
    assert!(!dir.join("unused").exists() || dir.join("unused").read_dir().unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_of_two_scenarios() {
    let dir = temp("report-two");
    let a = scenario("transcription-sequential.yaml");
    let b = scenario("polling-external-api.yaml");
    let one = dir.join("one").display().to_string();
    let args = ["report", &a, &b, "--runs", "3000", "--format", "json"];
    let mut u = args.to_vec();
    u.extend(["--out", &one]);
    let printed = stdout(&u, &dir);
    let files = shards(&args, 3, &dir);
    let merged = dir.join("merged").display().to_string();
    assert_eq!(printed, merge(&shuffled(&files), &["--out", &merged], &dir));
    let subs: Vec<_> = std::fs::read_dir(&one).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(subs.len(), 2, "{subs:?}");
    for sub in subs {
        same_files(&Path::new(&one).join(&sub), &dir.join("merged").join(&sub));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `merge` on `files`, expecting exit 2 and every one of `needles` in the message.
fn refused(files: &[String], needles: &[&str], dir: &Path) {
    let mut a = vec!["merge".to_owned()];
    a.extend(files.iter().cloned());
    let out = wfsim().args(&a).current_dir(dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn missing_foreign_and_corrupt_shards_are_named() {
    let dir = temp("errors");
    let s = scenario("pdf-processing.yaml");
    let args = ["run", &s, "--isolated", "--runs", "3000", "--format", "json"];
    let files = shards(&args, 3, &dir);
    // Missing: the shard is named by its index.
    refused(&files[..2], &["missing shard(s) 2/3", "given: 0/3, 1/3"], &dir);
    refused(&[files[1].clone()], &["missing shard(s) 0/3, 2/3"], &dir);
    // Foreign: another seed, another scenario, another count.
    let other = temp("errors-other");
    let seed2 = shards(&["run", &s, "--isolated", "--runs", "3000", "--format", "json", "--seed", "2"], 3, &other);
    refused(&[files[0].clone(), seed2[1].clone(), files[2].clone()], &[&seed2[1], "seed 2, not 1"], &dir);
    let t = scenario("transcription-parallel.yaml");
    let scen = shards(&["run", &t, "--isolated", "--runs", "3000", "--format", "json"], 3, &other);
    refused(&[files[0].clone(), files[1].clone(), scen[2].clone()], &[&scen[2], "transcription-parallel.yaml"], &dir);
    let four = shards(&args, 4, &other);
    refused(&[files[0].clone(), four[1].clone()], &[&four[1], "one of 4 shards, not 3"], &dir);
    // Corrupt: truncated, a flipped byte in the body, not a shard at all.
    let bytes = std::fs::read(&files[1]).unwrap();
    let cut = dir.join("cut.wfshard").display().to_string();
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    refused(&[files[0].clone(), cut.clone(), files[2].clone()], &[&cut, "not a valid shard file", "truncated"], &dir);
    let mut flipped = bytes.clone();
    let at = bytes.len() - 50;
    flipped[at] ^= 0x40;
    let flip = dir.join("flip.wfshard").display().to_string();
    std::fs::write(&flip, &flipped).unwrap();
    refused(&[files[0].clone(), flip.clone(), files[2].clone()], &[&flip, "damaged"], &dir);
    refused(&[files[0].clone(), s.clone()], &[&s, "not a valid shard file"], &dir);
    let nothing = dir.join("absent.wfshard").display().to_string();
    refused(&[files[0].clone(), nothing.clone()], &[&nothing, "cannot read"], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

#[test]
fn auto_takes_the_index_from_the_batch_engine() {
    let dir = temp("auto");
    let s = scenario("pdf-processing.yaml");
    let args = ["run", &s, "--isolated", "--runs", "3000", "--shard", "auto/3"];
    // A Slurm array 4-6: task 5 is shard 1.
    let out = wfsim()
        .args(args)
        .current_dir(&dir)
        .env("SLURM_ARRAY_TASK_ID", "5")
        .env("SLURM_ARRAY_TASK_MIN", "4")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("shard-1-of-3.wfshard").exists());
    // A Kubernetes Indexed Job, and an AWS Batch array of the wrong size.
    let out = wfsim().args(args).current_dir(&dir).env("JOB_COMPLETION_INDEX", "2").output().unwrap();
    assert!(out.status.success());
    assert!(dir.join("shard-2-of-3.wfshard").exists());
    let out = wfsim()
        .args(args)
        .current_dir(&dir)
        .env("AWS_BATCH_JOB_ARRAY_INDEX", "0")
        .env("AWS_BATCH_JOB_ARRAY_SIZE", "4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_BATCH_JOB_ARRAY_SIZE=4"));
    let out = wfsim().args(args).current_dir(&dir).env_remove("SLURM_ARRAY_TASK_ID").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = wfsim().args(["run", &s, "--shard", "3/3"]).current_dir(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
