//! The scenario language's JSON Schema (`scenario.schema.json`, from `wfsim::schema`):
//! the committed file is `json_schema()`, every shipped scenario validates against it, each
//! starts with the yaml-language-server line pointing at it, and the keys it allows are the
//! keys the compiler accepts, mapping by mapping.
//!
//! To regenerate the file after changing `src/schema.rs`:
//! `WFSIM_UPDATE_SCHEMA=1 cargo test --release --test schema`.
//!
//! The validator here covers the part of JSON Schema draft-07 the schema uses and fails on any
//! other keyword, so it cannot pass by ignoring one (a full validator crate costs minutes of
//! build time; this one needs only `regex`).

use regex::Regex;
use serde_json::{Map, Value};
use std::path::PathBuf;
use wfsim::error::LoadError;
use wfsim::scenario::yaml::{self, Kind, Node};
use wfsim::schema::json_schema;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    v.sort();
    assert!(v.len() >= 6, "{} scenarios", v.len());
    v
}

/// A YAML node as JSON (mapping keys as their text, as a YAML language server sees them).
fn to_json(n: &Node) -> Value {
    match &n.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Int(i) => Value::from(*i),
        Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Seq(s) => Value::Array(s.iter().map(to_json).collect()),
        Kind::Map(m) => {
            let mut o = Map::new();
            for (k, v) in m {
                let key = match &k.kind {
                    Kind::Str(s) => s.clone(),
                    Kind::Int(i) => i.to_string(),
                    Kind::Float(f) => f.to_string(),
                    Kind::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                o.insert(key, to_json(v));
            }
            Value::Object(o)
        }
    }
}

fn yaml_json(src: &str) -> Value {
    to_json(&yaml::parse(src).unwrap_or_else(|e| panic!("{}:{}: {}", e.line, e.column, e.message)))
}

// ------------------------------------------------------------------ a draft-07 subset validator

struct Validator<'a> {
    root: &'a Value,
}

impl Validator<'_> {
    /// Errors found validating `v` at `path` against `s`.
    fn check(&self, s: &Value, v: &Value, path: &str) -> Vec<String> {
        let Some(s) = s.as_object() else { panic!("schema at {path} is not an object: {s}") };
        let mut errs = Vec::new();
        let fail =
            |errs: &mut Vec<String>, m: String| errs.push(format!("{}: {m}", if path.is_empty() { "/" } else { path }));
        for (kw, arg) in s {
            match kw.as_str() {
                "$schema" | "title" | "description" | "definitions" => {}
                "$ref" => {
                    let name = arg.as_str().and_then(|r| r.strip_prefix("#/definitions/")).expect("local $ref");
                    let target = &self.root["definitions"][name];
                    assert!(!target.is_null(), "unresolved $ref {name}");
                    errs.extend(self.check(target, v, path));
                }
                "type" => {
                    let t = arg.as_str().expect("one type");
                    let ok = match t {
                        "object" => v.is_object(),
                        "array" => v.is_array(),
                        "string" => v.is_string(),
                        "boolean" => v.is_boolean(),
                        "number" => v.is_number(),
                        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
                        "null" => v.is_null(),
                        other => panic!("type {other}"),
                    };
                    if !ok {
                        fail(&mut errs, format!("expected {t}, found {v}"));
                    }
                }
                "enum" => {
                    if !arg.as_array().expect("enum list").contains(v) {
                        fail(&mut errs, format!("{v} is not one of {arg}"));
                    }
                }
                "properties" => {
                    if let Some(o) = v.as_object() {
                        for (k, ps) in arg.as_object().expect("properties") {
                            if let Some(x) = o.get(k) {
                                errs.extend(self.check(ps, x, &format!("{path}/{k}")));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(o) = v.as_object() {
                        let known = s.get("properties").and_then(Value::as_object);
                        for (k, x) in o {
                            if known.is_some_and(|p| p.contains_key(k)) {
                                continue;
                            }
                            match arg {
                                Value::Bool(false) => fail(&mut errs, format!("unknown key `{k}`")),
                                Value::Bool(true) => {}
                                sub => errs.extend(self.check(sub, x, &format!("{path}/{k}"))),
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(o) = v.as_object() {
                        for k in arg.as_array().expect("required") {
                            if !o.contains_key(k.as_str().unwrap()) {
                                fail(&mut errs, format!("missing key {k}"));
                            }
                        }
                    }
                }
                "minProperties" | "maxProperties" => {
                    if let Some(o) = v.as_object() {
                        let n = arg.as_u64().unwrap() as usize;
                        if (kw == "minProperties" && o.len() < n) || (kw == "maxProperties" && o.len() > n) {
                            fail(&mut errs, format!("{kw} {n}, found {}", o.len()));
                        }
                    }
                }
                "propertyNames" => {
                    if let Some(o) = v.as_object() {
                        for k in o.keys() {
                            errs.extend(self.check(arg, &Value::String(k.clone()), &format!("{path}/{k} (name)")));
                        }
                    }
                }
                "items" => {
                    if let Some(a) = v.as_array() {
                        for (i, x) in a.iter().enumerate() {
                            errs.extend(self.check(arg, x, &format!("{path}/{i}")));
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let Some(a) = v.as_array() {
                        let n = arg.as_u64().unwrap() as usize;
                        if (kw == "minItems" && a.len() < n) || (kw == "maxItems" && a.len() > n) {
                            fail(&mut errs, format!("{kw} {n}, found {}", a.len()));
                        }
                    }
                }
                "minimum" | "maximum" | "exclusiveMinimum" => {
                    if let Some(x) = v.as_f64() {
                        let b = arg.as_f64().unwrap();
                        let ok = match kw.as_str() {
                            "minimum" => x >= b,
                            "maximum" => x <= b,
                            _ => x > b,
                        };
                        if !ok {
                            fail(&mut errs, format!("{x} fails {kw} {b}"));
                        }
                    }
                }
                "minLength" => {
                    if let Some(t) = v.as_str()
                        && (t.chars().count() as u64) < arg.as_u64().unwrap()
                    {
                        fail(&mut errs, format!("shorter than {arg}"));
                    }
                }
                "pattern" => {
                    if let Some(t) = v.as_str() {
                        let re = Regex::new(arg.as_str().unwrap()).expect("pattern compiles");
                        if !re.is_match(t) {
                            fail(&mut errs, format!("`{t}` does not match {arg}"));
                        }
                    }
                }
                "oneOf" | "anyOf" => {
                    let results: Vec<Vec<String>> =
                        arg.as_array().expect("list").iter().map(|x| self.check(x, v, path)).collect();
                    let passing = results.iter().filter(|r| r.is_empty()).count();
                    if passing == 0 {
                        let why: Vec<String> = results.into_iter().flatten().collect();
                        fail(&mut errs, format!("matches none of the {kw} forms: {}", why.join("; ")));
                    } else if kw == "oneOf" && passing > 1 {
                        fail(&mut errs, format!("matches {passing} of the oneOf forms: {v}"));
                    }
                }
                other => panic!("the test validator does not know `{other}` (at {path}): add it"),
            }
        }
        errs
    }
}

fn validate(v: &Value) -> Vec<String> {
    let s = json_schema();
    Validator { root: &s }.check(&s, v, "")
}

// ------------------------------------------------------------------ tests

#[test]
fn the_committed_schema_file_is_json_schema() {
    let path = root().join("scenario.schema.json");
    let fresh = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("WFSIM_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let text = std::fs::read_to_string(&path).expect("scenario.schema.json at the top of the repository");
    let committed: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(
        committed == json_schema(),
        "scenario.schema.json differs from wfsim::schema::json_schema(): run WFSIM_UPDATE_SCHEMA=1 cargo test --release --test schema"
    );
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"), "one trailing newline");
}

#[test]
fn every_shipped_scenario_validates_and_points_at_the_schema() {
    for (name, src) in shipped() {
        assert_eq!(
            src.lines().next(),
            Some("# yaml-language-server: $schema=../scenario.schema.json"),
            "{name}: the first line must point editors at the schema"
        );
        let errs = validate(&yaml_json(&src));
        assert!(errs.is_empty(), "{name} does not validate:\n{}", errs.join("\n"));
    }
}

#[test]
fn the_schema_rejects_what_wfsim_rejects() {
    let base = "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 2s }\n";
    assert!(validate(&yaml_json(base)).is_empty());
    for (bad, why) in [
        ("entry: a\ntasks:\n  a:\n    machin: small-1x\n    steps: []\n", "unknown key `machin`"),
        ("entry: a\ntasks:\n  a:\n    machine: small-3x\n    steps: []\n", "is not one of"),
        ("entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 5 parsecs }\n", "does not match"),
        ("entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { uniform: [1s] } }\n", "minItems 2"),
        ("entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s, failure: 1.5 }\n", "fails maximum 1"),
        ("entry: a\ntasks:\n  a:\n    steps:\n      - wait: 1s\n        poll: {}\n", "maxProperties 1"),
        ("entry: a\ntasks:\n  a:\n    retry: { maxAttempts: 0 }\n    steps: []\n", "fails minimum 1"),
        ("entry: a\ntasks:\n  a:\n    steps:\n      - parallel: { count: 2.5, steps: [] }\n", "matches none"),
        ("entry: a\ntasks: {}\n", "minProperties 1"),
        ("tasks:\n  a:\n    steps: []\n", "missing key \"entry\""),
        ("entry: a\nslo: [ fast ]\ntasks:\n  a:\n    steps: []\n", "does not match"),
        (
            "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: { lognormal: { median: 1s } } }\n",
            "matches none",
        ),
        (
            "entry: a\ntasks:\n  a:\n    steps:\n      - work: { duration: 1s, memoryMb: { choice: { big: 1 } } }\n",
            "matches none",
        ),
    ] {
        let errs = validate(&yaml_json(bad));
        assert!(errs.iter().any(|e| e.contains(why)), "`{why}` not among the errors for\n{bad}\n{errs:#?}");
        // wfsim rejects it too.
        assert!(matches!(wfsim::scenario::load_str(bad, "t.yaml"), Err(LoadError::Invalid(_))), "{bad}");
    }
}

#[test]
fn duration_text_matches_what_wfsim_parses() {
    let re = Regex::new(wfsim::schema::DURATION_PATTERN).unwrap();
    for s in ["500ms", "2s", "10m", "1h", "1d", "1m30s", "1.5s", "1.5", "0", ".5s", "2 s", "1h 30m", "3sec", "2min"] {
        assert!(re.is_match(s), "{s} should match");
        assert!(wfsim::units::parse_duration(s).is_ok(), "{s}");
    }
    for s in ["", "s", "5 parsecs", "-1s", "1m30", "2x", "1.2.3s", "inf", "1e400", "1e400s", "5s5", "2 fortnights"] {
        assert!(!re.is_match(s), "{s} should not match");
        assert!(wfsim::units::parse_duration(s).is_err(), "{s}");
    }
    // Every spelling wfsim accepts, with and without a space, and combined.
    for (names, _) in wfsim::units::UNITS {
        for n in *names {
            for s in [format!("2{n}"), format!("2 {n}"), format!("1h 2 {n}")] {
                assert!(re.is_match(&s), "{s} should match");
                assert!(wfsim::units::parse_duration(&s).is_ok(), "{s}");
            }
        }
    }
}

/// The keys the compiler accepts in a mapping, from its `unknown key` error's help.
fn accepted_keys(yaml_with_zzz: &str) -> Vec<String> {
    let Err(LoadError::Invalid(d)) = wfsim::scenario::load_str(yaml_with_zzz, "t.yaml") else {
        panic!("loaded:\n{yaml_with_zzz}");
    };
    let e = d
        .iter()
        .find(|d| d.message == "unknown key `zzz`" || d.message == "unknown step kind `zzz`")
        .unwrap_or_else(|| panic!("no unknown-key error in {d:#?}\n{yaml_with_zzz}"));
    let help = e.help.as_deref().unwrap_or("");
    let list = ["expected one of: ", "step kinds: "]
        .iter()
        .find_map(|p| help.split(p).nth(1))
        .unwrap_or_else(|| panic!("help: {help}"));
    let mut keys: Vec<String> = list.split(", ").map(str::to_owned).collect();
    keys.sort();
    keys
}

/// The keys the schema allows at a JSON pointer (following a `$ref` or a `oneOf` branch
/// with properties).
fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
    let mut s = schema.pointer(pointer).unwrap_or_else(|| panic!("no {pointer}"));
    loop {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            s = schema.pointer(&r[1..]).unwrap();
        } else if s.get("properties").is_none()
            && let Some(first) = s
                .get("oneOf")
                .and_then(|o| o.as_array())
                .and_then(|o| o.iter().find(|x| x.get("properties").is_some() || x.get("$ref").is_some()))
        {
            s = first;
        } else {
            break;
        }
    }
    let mut keys: Vec<String> =
        s["properties"].as_object().unwrap_or_else(|| panic!("{pointer}: {s}")).keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn the_schema_allows_the_keys_the_compiler_accepts() {
    let s = json_schema();
    let task = "entry: a\ntasks:\n  a:\n";
    let cases: &[(&str, String)] = &[
        ("", format!("zzz: 1\n{task}    steps: []\n")),
        ("/definitions/task", format!("{task}    zzz: 1\n    steps: []\n")),
        ("/definitions/retry", format!("{task}    retry: {{ zzz: 1 }}\n    steps: []\n")),
        ("/properties/defaults", format!("defaults: {{ zzz: 1 }}\n{task}    steps: []\n")),
        ("/properties/limits", format!("limits: {{ zzz: 1 }}\n{task}    steps: []\n")),
        ("/properties/prices", format!("prices: {{ zzz: 1 }}\n{task}    steps: []\n")),
        (
            "/properties/load",
            format!(
                "load: {{ zzz: 1, arrivals: {{ poisson: {{ perMinute: 1 }} }}, duration: 1h }}\n{task}    steps: []\n"
            ),
        ),
        ("/definitions/task/properties/queue", format!("{task}    queue: {{ name: q, zzz: 1 }}\n    steps: []\n")),
        ("/definitions/steps/items", format!("{task}    steps:\n      - zzz: 1\n")),
        (
            "/definitions/steps/items/properties/work",
            format!("{task}    steps:\n      - work: {{ duration: 1s, zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/parallel",
            format!("{task}    steps:\n      - parallel: {{ count: 1, steps: [], zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/repeat",
            format!("{task}    steps:\n      - repeat: {{ count: 1, steps: [], zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/poll",
            format!("{task}    steps:\n      - poll: {{ every: 1m, success: 1, maxChecks: 1, zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/batchTriggerAndWait",
            format!("{task}    steps:\n      - batchTriggerAndWait: {{ task: a, count: 1, zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/batchTrigger",
            format!("{task}    steps:\n      - batchTrigger: {{ task: a, count: 1, zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/triggerAndWait/oneOf/1",
            format!("{task}    steps:\n      - triggerAndWait: {{ task: a, zzz: 1 }}\n"),
        ),
        (
            "/definitions/steps/items/properties/trigger/oneOf/1",
            format!("{task}    steps:\n      - trigger: {{ task: a, zzz: 1 }}\n"),
        ),
        (
            "/definitions/durationDistribution/oneOf/1",
            format!("{task}    steps:\n      - wait: {{ fixed: 1s, zzz: 1 }}\n"),
        ),
    ];
    for (pointer, yaml) in cases {
        let compiler = accepted_keys(yaml);
        let mut schema = schema_keys(&s, pointer);
        // The schema's property lists per distribution form hold one shape key each.
        if pointer.starts_with("/definitions/durationDistribution") {
            let shapes = [
                "fixed",
                "uniform",
                "triangular",
                "normal",
                "lognormal",
                "exponential",
                "bernoulli",
                "choice",
                "empirical",
            ];
            for shape in shapes {
                if !schema.iter().any(|k| k == shape) {
                    schema.push(shape.to_owned());
                }
            }
            schema.sort();
            for (i, shape) in shapes.iter().enumerate() {
                let form = &s["definitions"]["durationDistribution"]["oneOf"][i + 1];
                assert!(form["properties"].get(*shape).is_some(), "form {i} is not `{shape}`");
            }
        }
        // The prices the schema lists are the compiler's (machine presets and invocationUsd).
        assert_eq!(schema, compiler, "keys at {pointer} (schema) vs the compiler's, for\n{yaml}");
    }
}
