//! Bad scenario input, through the real binary: every problem exits 2 with a located message
//! on stderr (FILE:LINE:COL, the dotted key to fix, what was expected), and never panics.

mod common;

use common::wfsim;
use std::path::{Path, PathBuf};

/// A fresh, empty directory of this test's own.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wfsim-errors-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` to `<test>.yaml` in the test's own directory.
fn scenario(test: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = temp_dir(test).join(format!("{test}.yaml"));
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Out {
    code: Option<i32>,
    stderr: String,
    file: String,
}

impl Out {
    /// The one diagnostic printed at `line:col` (diagnostics are separated by blank lines),
    /// each of its lines ending in a newline.
    fn at(&self, line: u32, col: u32) -> String {
        let loc = format!("--> {}:{line}:{col}\n", self.file);
        let found: Vec<String> =
            self.stderr.split("\n\n").map(|d| format!("{d}\n")).filter(|d| d.contains(&loc)).collect();
        assert_eq!(found.len(), 1, "expected one diagnostic at {line}:{col}, stderr:\n{}", self.stderr);
        found.into_iter().next().unwrap()
    }

    /// Asserts exit code 2 (bad input) and no panic.
    fn rejected(&self) -> &Self {
        assert_eq!(self.code, Some(2), "stderr:\n{}", self.stderr);
        self.no_panic()
    }

    fn no_panic(&self) -> &Self {
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(!self.stderr.contains("RUST_BACKTRACE"), "{}", self.stderr);
        self
    }

    /// Asserts the diagnostic at `line:col` is an error naming `key` and containing every
    /// one of `has`.
    fn error(&self, line: u32, col: u32, key: &str, has: &[&str]) -> &Self {
        let d = self.at(line, col);
        assert!(d.starts_with("error: "), "not an error:\n{d}\n\nstderr:\n{}", self.stderr);
        if !key.is_empty() {
            assert!(d.contains(&format!("\n  = key: {key}\n")), "key `{key}` missing in:\n{d}");
        }
        for h in has {
            assert!(d.contains(h), "`{h}` missing in:\n{d}");
        }
        self
    }

    /// Asserts the number of errors in the closing line.
    fn errors(&self, n: usize) -> &Self {
        assert!(self.stderr.contains(&format!("{n} error(s) in the scenario")), "{}", self.stderr);
        self
    }
}

fn cmd(sub: &str, path: &Path) -> Out {
    let file = path.to_str().unwrap().to_owned();
    let mut args = vec![sub, file.as_str()];
    if sub == "run" {
        args.extend(["--runs", "20", "--threads", "1"]);
    }
    let out = wfsim().args(&args).output().expect("runs");
    Out { code: out.status.code(), stderr: String::from_utf8_lossy(&out.stderr).into_owned(), file }
}

fn validate(test: &str, yaml: &str) -> Out {
    cmd("validate", &scenario(test, yaml))
}

#[test]
fn unknown_top_level_key_suggests_the_closest() {
    let out = validate(
        "top_level",
        "\
name: x
entyr: a
tasks:
  a:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected().error(2, 1, "entyr", &["unknown key `entyr`", "did you mean `entry`?", "expected one of: name"]);
    // The misspelt key also leaves `entry` missing.
    out.error(1, 1, "entry", &["missing key `entry`"]).errors(2);
}

#[test]
fn unknown_retry_key_suggests_max_attempts() {
    let out = validate(
        "retry_key",
        "\
name: x
entry: a
tasks:
  a:
    retry: { maxAttempt: 3 }
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(
            5,
            14,
            "tasks.a.retry.maxAttempt",
            &["unknown key `maxAttempt`", "did you mean `maxAttempts`?", "factor, minTimeoutInMs"],
        )
        .errors(1);
}

#[test]
fn unknown_step_kind_suggests_the_closest() {
    let out = validate(
        "step_kind",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - triggerAndWiat: b
  b:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(
            6,
            9,
            "tasks.a.steps[0].triggerAndWiat",
            &["unknown step kind `triggerAndWiat`", "did you mean `triggerAndWait`?", "step kinds: work, wait"],
        )
        .errors(1);
}

#[test]
fn step_kind_that_is_not_a_name() {
    let out = validate(
        "step_kind_not_name",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - 1: x
      - {}
",
    );
    out.rejected()
        .error(6, 9, "tasks.a.steps[0]", &["a step kind must be a name, found an integer", "step kinds:"])
        .error(7, 9, "tasks.a.steps[1]", &["a step has exactly one key, found 0"])
        .errors(2);
}

#[test]
fn unknown_task_in_trigger_and_wait() {
    let out = validate(
        "unknown_task",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - triggerAndWait: ocr-pfd
      - triggerAndWait: { task: nothing-like-it }
  ocr-pdf:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(6, 25, "tasks.a.steps[0].triggerAndWait", &["unknown task `ocr-pfd`", "did you mean `ocr-pdf`?"])
        .error(7, 33, "tasks.a.steps[1].triggerAndWait.task", &["unknown task `nothing-like-it`", "tasks: a, ocr-pdf"])
        .errors(2);
}

const TIER: &str = "\
name: x
input:
  tier: { choice: { free: 0.7, pro: 0.3 } }
entry: a
tasks:
  a:
    steps:
      - branch:
";

#[test]
fn unknown_input_attribute_in_when() {
    let out = validate(
        "unknown_attr",
        &format!("{TIER}          - when: teir == pro\n            then: [ {{ work: {{ duration: 1s }} }} ]\n"),
    );
    out.rejected()
        .error(
            9,
            19,
            "tasks.a.steps[0].branch[0].when",
            &["unknown input attribute `teir`", "did you mean `tier`?", "input attributes: tier"],
        )
        .errors(1);
}

#[test]
fn unknown_input_attribute_without_any_input() {
    let out = validate(
        "no_input",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - branch:
          - when: scanned
            then: [ { work: { duration: 1s } } ]
",
    );
    out.rejected()
        .error(
            7,
            19,
            "tasks.a.steps[0].branch[0].when",
            &["unknown input attribute `scanned`", "declare it under `input:`"],
        )
        .errors(1);
}

#[test]
fn unknown_value_of_a_choice_attribute() {
    let out = validate(
        "choice_value",
        &format!(
            "{TIER}          - when: tier == enterprise\n            then: [ {{ work: {{ duration: 1s }} }} ]\n          - when: tier == pr\n            then: []\n"
        ),
    );
    out.rejected()
        .error(
            9,
            19,
            "tasks.a.steps[0].branch[0].when",
            &["`enterprise` is not a value of `tier`", "values: free, pro"],
        )
        .error(11, 19, "tasks.a.steps[0].branch[1].when", &["`pr` is not a value of `tier`", "did you mean `pro`?"])
        .errors(2);
}

#[test]
fn a_choice_of_names_is_not_a_number() {
    let out = validate(
        "choice_as_number",
        &format!(
            "{TIER}          - when: tier\n            then: []\n      - parallel: {{ count: tier, steps: [] }}\n      - work: {{ duration: {{ perUnit: tier, each: 1s }} }}\n"
        ),
    );
    out.rejected()
        .error(
            9,
            19,
            "tasks.a.steps[0].branch[0].when",
            &["`tier` is a choice of names: compare it with == or !=", "`tier == free`"],
        )
        .error(11, 28, "tasks.a.steps[1].parallel.count", &["`tier` is a choice of names, not a number"])
        .error(12, 38, "tasks.a.steps[2].work.duration.perUnit", &["`tier` is a choice of names, not a number"])
        .errors(3);
}

#[test]
fn unknown_machine_preset() {
    let out = validate(
        "machine",
        "\
name: x
defaults:
  machine: small-3x
entry: a
tasks:
  a:
    machine: huge-9x
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(3, 12, "defaults.machine", &["unknown machine preset `small-3x`", "did you mean `small-1x`?"])
        .error(
            7,
            14,
            "tasks.a.machine",
            &[
                "unknown machine preset `huge-9x`",
                "presets: micro, small-1x, small-2x, medium-1x, medium-2x, large-1x, large-2x",
            ],
        )
        .errors(2);
}

#[test]
fn probability_outside_zero_to_one() {
    let out = validate(
        "probability",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: 1s, failure: 1.5 }
      - work: { duration: 1s, failure: { probability: -0.5 } }
      - poll: { every: 10s, success: 2, maxChecks: 3 }
",
    );
    out.rejected()
        .error(6, 40, "tasks.a.steps[0].work.failure", &["a probability must be between 0 and 1, found 1.5"])
        .error(7, 55, "tasks.a.steps[1].work.failure.probability", &["between 0 and 1, found -0.5"])
        .error(8, 38, "tasks.a.steps[2].poll.success", &["between 0 and 1, found 2"])
        .errors(3);
}

#[test]
fn negative_durations_and_parameters() {
    let p = scenario(
        "negative",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: -2s }
      - work: { duration: { uniform: [-1, 2] } }
      - wait: -5
",
    );
    for sub in ["validate", "run"] {
        let out = cmd(sub, &p);
        out.rejected()
            .error(6, 27, "tasks.a.steps[0].work.duration", &["must not be negative", "`-2s`"])
            .error(7, 39, "tasks.a.steps[1].work.duration.uniform", &["must not be negative, found -1"])
            .error(8, 15, "tasks.a.steps[2].wait", &["must not be negative, found -5"])
            .errors(3);
    }
}

#[test]
fn non_finite_values_are_located() {
    // The YAML parser itself rejects .nan / .inf (a syntax-level error, so no key); a quoted
    // "inf" reaches the compiler and is rejected there, with its key.
    let head = "name: x\nentry: a\ntasks:\n  a:\n    steps:\n";
    let cases: &[(&str, &str, u32, u32, &str, &str)] = &[
        ("nan", "      - work: { duration: .nan }\n", 6, 27, "", "`.nan` is not a finite number"),
        ("inf", "      - work: { duration: { uniform: [1, .inf] } }\n", 6, 42, "", "`.inf` is not a finite number"),
        ("neg_inf", "      - work: { duration: 1s, failure: -.Inf }\n", 6, 40, "", "`-.Inf` is not a finite number"),
        ("overflow", "      - work: { duration: 1e400 }\n", 6, 27, "", "`1e400` is not a finite number"),
        (
            "quoted_inf",
            "      - work: { duration: \"inf\" }\n",
            6,
            27,
            "tasks.a.steps[0].work.duration",
            "`inf` is not finite",
        ),
        (
            "bare_nan",
            "      - work: { duration: NaN }\n",
            6,
            27,
            "tasks.a.steps[0].work.duration",
            "`NaN` is not finite",
        ),
    ];
    for (name, step, line, col, key, msg) in cases {
        let out = validate(&format!("non_finite_{name}"), &format!("{head}{step}"));
        out.rejected().error(*line, *col, key, &[msg]).errors(1);
    }
}

#[test]
fn lognormal_p95_must_be_above_the_median() {
    let out = validate(
        "lognormal",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: { lognormal: { median: 5s, p95: 3s } } }
      - work: { duration: { lognormal: { median: 5s, p95: 5s } } }
",
    );
    out.rejected()
        .error(
            6,
            59,
            "tasks.a.steps[0].work.duration.lognormal.p95",
            &["p95 (3s) must be above the median (5s)", "right-skewed"],
        )
        .error(7, 59, "tasks.a.steps[1].work.duration.lognormal.p95", &["p95 (5s) must be above the median (5s)"])
        .errors(2);
}

#[test]
fn empty_choice() {
    let out = validate(
        "empty_choice",
        "\
name: x
input:
  tier: { choice: {} }
entry: a
tasks:
  a:
    steps:
      - work: { duration: { choice: {} } }
",
    );
    out.rejected()
        .error(3, 19, "input.tier.choice", &["a choice needs at least one value", "e.g. { free: 0.7, pro: 0.3 }"])
        .error(8, 37, "tasks.a.steps[0].work.duration.choice", &["a choice needs at least one value"])
        .errors(2);
}

#[test]
fn batch_trigger_and_wait_over_1000_items() {
    let out = validate(
        "batch",
        "\
name: x
input:
  files: { lognormal: { median: 10, p95: 100 }, round: true }
entry: a
tasks:
  a:
    steps:
      - batchTriggerAndWait: { task: b, count: { uniform: [1, 5000] } }
      - batchTriggerAndWait: { task: b, count: files }
  b:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(
            8,
            48,
            "tasks.a.steps[0].batchTriggerAndWait.count",
            &["the batch can hold 5000 items", "at most 1,000 per batch", "add `max: 1000` to the count"],
        )
        .error(
            9,
            48,
            "tasks.a.steps[1].batchTriggerAndWait.count",
            &["an unbounded number of items", "at most 1,000 per batch", "add `max: 1000` to input attribute `files`"],
        )
        .errors(2);
}

#[test]
fn batch_trigger_over_1000_items() {
    let out = validate(
        "batch_no_wait",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - batchTrigger: { task: b, count: 5000 }
  b:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(
            6,
            41,
            "tasks.a.steps[0].batchTrigger.count",
            &["the batch can hold 5000 items", "at most 1000 items per batch"],
        )
        .errors(1);
}

#[test]
fn batches_capped_at_1000_are_accepted() {
    let p = scenario(
        "batch_ok",
        "\
name: x
input:
  files: { lognormal: { median: 10, p95: 100 }, round: true, max: 1000 }
entry: a
tasks:
  a:
    steps:
      - batchTriggerAndWait: { task: b, count: { uniform: [1, 5000], max: 1000 } }
      - batchTriggerAndWait: { task: b, count: files }
      - batchTrigger: { task: b, count: 1000 }
  b:
    steps:
      - work: { duration: 1s }
",
    );
    let out = cmd("validate", &p);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.no_panic();
}

#[test]
fn trigger_and_wait_cycle_is_named() {
    let p = scenario(
        "cycle",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - triggerAndWait: b
  b:
    steps:
      - work: { duration: 1s }
      - triggerAndWait: a
",
    );
    for sub in ["validate", "run"] {
        let out = cmd(sub, &p);
        out.rejected()
            .error(10, 25, "tasks.b.steps[1].triggerAndWait", &["triggerAndWait cycle: a -> b -> a", "break the cycle"])
            .errors(1);
    }
}

#[test]
fn yaml_syntax_error_is_located() {
    let out = validate(
        "syntax",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: 1s }
    progress: [10, 40
",
    );
    out.rejected().error(7, 15, "", &["YAML syntax: unclosed bracket '['"]).errors(1);
    // serde-saphyr's own location suffix is not repeated in the message.
    assert!(!out.stderr.contains("at line"), "{}", out.stderr);

    // Unclosed in the middle of the file: the parser notices on the next line.
    let out = validate(
        "syntax_mid",
        "\
name: x
entry: a
tasks:
  a:
    progress: [10, 40
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected().errors(1);
    assert!(out.stderr.contains(&format!("{}:6:", out.file)), "{}", out.stderr);
}

#[test]
fn duplicate_key_is_located() {
    let out = validate(
        "duplicate",
        "\
name: x
entry: a
tasks:
  a:
    machine: small-1x
    machine: small-2x
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected().error(6, 5, "", &["duplicate key `machine`", "only once"]).errors(1);
    assert!(!out.stderr.contains("DuplicateKeyPolicy"), "{}", out.stderr);
}

#[test]
fn max_duration_below_5s() {
    let out = validate(
        "max_duration",
        "\
name: x
defaults:
  maxDuration: 4.5
entry: a
tasks:
  a:
    maxDuration: 2s
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(3, 16, "defaults.maxDuration", &["maxDuration must be at least 5s, found 4.5s"])
        .error(7, 18, "tasks.a.maxDuration", &["maxDuration must be at least 5s, found 2s", "minimum is 5 seconds"])
        .errors(2);
}

#[test]
fn missing_steps() {
    let out = validate(
        "missing_steps",
        "\
name: x
entry: a
tasks:
  a:
    machine: small-1x
",
    );
    out.rejected().error(4, 3, "tasks.a", &["missing key `steps`", "- work: { duration: 2s }"]).errors(1);
}

#[test]
fn repeat_steps_and_trigger_machines_are_checked() {
    let out = validate(
        "repeat",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - repeat: { count: -2, steps: [ { work: { duration: 1s } } ] }
      - repeat: { count: 3 }
      - repeat: { count: 3, limit: 2, steps: [] }
      - repeat: { count: 3, stpes: [] }
      - repeat: [ { work: { duration: 1s } } ]
      - triggerAndWait: { task: b, machine: large-3x }
      - batchTrigger: { task: b, count: 2, machine: lagre-2x }
      - trigger: { task: b, machien: micro }
  b:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected()
        .error(6, 26, "tasks.a.steps[0].repeat.count", &["a count cannot be negative, found -2", "0 or more"])
        .error(7, 17, "tasks.a.steps[1].repeat", &["missing key `steps`", "the steps each iteration runs"])
        .error(
            8,
            29,
            "tasks.a.steps[2].repeat.limit",
            &["one iteration at a time: it has no `limit`", "parallel: { count, limit, steps }"],
        )
        .error(9, 29, "tasks.a.steps[3].repeat.stpes", &["unknown key `stpes`", "did you mean `steps`?"])
        .error(9, 17, "tasks.a.steps[3].repeat", &["missing key `steps`"])
        .error(10, 17, "tasks.a.steps[4].repeat", &["expected a mapping, found a list", "keys: count, steps"])
        .error(
            11,
            45,
            "tasks.a.steps[5].triggerAndWait.machine",
            &["unknown machine preset `large-3x`", "did you mean `large-1x`?"],
        )
        .error(
            12,
            53,
            "tasks.a.steps[6].batchTrigger.machine",
            &["unknown machine preset `lagre-2x`", "did you mean `large-2x`?"],
        )
        .error(13, 29, "tasks.a.steps[7].trigger.machien", &["unknown key `machien`", "did you mean `machine`?"])
        .errors(9);
}

#[test]
fn missing_entry() {
    let out = validate(
        "missing_entry",
        "\
name: x
tasks:
  a:
    steps:
      - work: { duration: 1s }
",
    );
    out.rejected().error(1, 1, "entry", &["missing key `entry`", "the task the app triggers"]).errors(1);
}

#[test]
fn missing_tasks_and_empty_file() {
    let out = validate("missing_tasks", "name: x\nentry: a\n");
    out.rejected().error(1, 1, "tasks", &["missing key `tasks`"]).errors(1);
    let out = validate("empty_file", "");
    out.rejected().error(1, 1, "", &["expected a mapping, found nothing"]).errors(1);
}

#[test]
fn load_needs_an_arrival_process_and_a_known_plan() {
    let out = validate(
        "load",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: 1s }
load:
  arrivals: {}
  duration: 1h
  environmentConcurrency: enterprise
",
    );
    out.rejected()
        .error(8, 13, "load.arrivals", &["no arrival process given", "poisson, constant"])
        .error(10, 27, "load.environmentConcurrency", &["unknown plan `enterprise`", "free, hobby, pro"])
        .errors(2);
}

#[test]
fn non_utf8_file() {
    let p = scenario("utf16", [0xff, 0xfe]);
    for sub in ["validate", "run"] {
        let out = cmd(sub, &p);
        out.rejected().error(1, 1, "", &["not UTF-8", "save the scenario as UTF-8", "UTF-16"]).errors(1);
    }
    // A Latin-1 byte further in is located at its line and column.
    let out = cmd("validate", &scenario("latin1", b"name: x\nentry: a\n# caf\xe9\n"));
    out.rejected().error(3, 6, "", &["not UTF-8", "offset 22"]).errors(1);
}

#[test]
fn file_that_does_not_exist() {
    let p = temp_dir("missing_file").join("nope.yaml");
    for sub in ["validate", "run"] {
        let out = cmd(sub, &p);
        out.rejected();
        assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
        assert!(out.stderr.contains(&out.file), "{}", out.stderr);
    }
}

#[test]
fn untriggered_task_is_a_warning() {
    let p = scenario(
        "orphan",
        "\
name: x
entry: a
tasks:
  a:
    steps:
      - work: { duration: 1s }
  lonely:
    steps:
      - work: { duration: 1s }
",
    );
    let out = cmd("validate", &p);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.no_panic();
    let d = out.at(7, 3);
    assert!(d.starts_with("warning: "), "{d}");
    assert!(d.contains("task `lonely` is never triggered"), "{d}");
    assert!(d.contains("\n  = key: tasks.lonely\n"), "{d}");
    assert!(!out.stderr.contains("error:"), "{}", out.stderr);
    assert!(out.stderr.contains("1 warning(s)"), "{}", out.stderr);

    let out = cmd("run", &p);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.no_panic();
    assert!(out.stderr.contains("warning: task `lonely`"), "{}", out.stderr);
}

#[test]
fn several_errors_are_reported_at_once() {
    let p = scenario(
        "several",
        "\
name: x
entry: a
tasks:
  a:
    machine: small-3x
    retry: { maxAttempt: 3 }
    steps:
      - work: { duration: 1s, failure: 2 }
",
    );
    for sub in ["validate", "run"] {
        let out = cmd(sub, &p);
        out.rejected()
            .error(5, 14, "tasks.a.machine", &["unknown machine preset `small-3x`", "did you mean `small-1x`?"])
            .error(6, 14, "tasks.a.retry.maxAttempt", &["did you mean `maxAttempts`?"])
            .error(8, 40, "tasks.a.steps[0].work.failure", &["between 0 and 1, found 2"])
            .errors(3);
    }
}

#[test]
fn an_error_in_a_task_field_does_not_hide_errors_in_its_steps() {
    let p = scenario(
        "hidden",
        "\
name: x
entry: a
tasks:
  a:
    maxDuration: 2s
    retry: { maxAttempts: 0, factor: -1 }
    steps:
      - work: { duration: 1s, failure: 3 }
",
    );
    cmd("validate", &p)
        .rejected()
        .error(5, 18, "tasks.a.maxDuration", &["at least 5s"])
        .error(6, 27, "tasks.a.retry.maxAttempts", &["whole number from 1"])
        .error(6, 38, "tasks.a.retry.factor", &["must not be negative"])
        .error(8, 40, "tasks.a.steps[0].work.failure", &["between 0 and 1, found 3"])
        .errors(4);
}
