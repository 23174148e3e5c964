//! The JSON Schema of the scenario language, for editors: `scenario.schema.json` at the top of
//! the repository is this value, pretty-printed (a test keeps the two equal), and each shipped
//! scenario starts with `# yaml-language-server: $schema=../scenario.schema.json`, so that an
//! editor with a YAML language server completes keys, shows their descriptions and flags
//! unknown keys and malformed values as you type.
//!
//! Draft-07, which editors support best. Every mapping has `additionalProperties: false` (an
//! unknown key is an error in wfsim too); values that take several forms (a duration, a
//! distribution, a count) are `oneOf` their forms. The schema checks the shape of a scenario;
//! wfsim's own checks go further (a task that exists, `p95` above `median`, batch sizes,
//! cycles) and say where and why.
//!
//! The schema is written by hand rather than derived from serde types: the compiler reads YAML
//! by hand too (see `scenario`), so a test compares the keys the schema allows with the keys
//! the compiler accepts, mapping by mapping.

use crate::platform::PRESETS;
use serde_json::{Map, Value, json};

/// `500ms`, `2s`, `10m`, `1h`, `1d`, `1m30s`, `2 minutes`, or a bare number of seconds as
/// text; every spelling of `units::UNITS` (tests/schema.rs checks each).
pub const DURATION_PATTERN: &str = r"^\s*(([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*|(([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(milliseconds|millisecond|msecs|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d)\s*)+)$";

/// An SLO expression: a metric, a comparison, a threshold.
pub const SLO_PATTERN: &str = r"^\s*[A-Za-z][A-Za-z0-9_.]*(\([^()]*\))?\s*(<=|>=|<|>)\s*[^<>\s][^<>]*$";

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{name}") })
}

/// `v` with a description.
fn d(mut v: Value, description: &str) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("description".into(), Value::String(description.into()));
    }
    v
}

/// A mapping with exactly these keys allowed.
fn obj(props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert(k.into(), v);
    }
    let mut o = json!({ "type": "object", "properties": p, "additionalProperties": false });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn int(min: u64) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": u32::MAX })
}

/// The object forms of a distribution of values `v`; `names` allows a `choice` of names.
fn dist_forms(v: &Value, names: bool) -> Vec<Value> {
    let modifiers = |shape: &str, value: Value, description: &str| {
        d(
            obj(
                vec![
                    (shape, value),
                    ("min", d(v.clone(), "Draws below this are raised to it.")),
                    ("max", d(v.clone(), "Draws above this are lowered to it.")),
                    ("round", d(json!({ "type": "boolean" }), "Round each draw to a whole number.")),
                ],
                &[shape],
            ),
            description,
        )
    };
    let list = |n: u64| json!({ "type": "array", "items": v, "minItems": n, "maxItems": n });
    let choice_keys = if names {
        json!({ "type": "string", "minLength": 1 })
    } else {
        json!({ "type": "string", "pattern": r"^\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$" })
    };
    vec![
        modifiers("fixed", v.clone(), "Always this value."),
        modifiers(
            "uniform",
            d(list(2), "[low, high]"),
            "Uniform between low and high; for a count with whole-number ends, each whole number equally likely.",
        ),
        modifiers("triangular", d(list(3), "[low, mode, high]"), "Triangular."),
        modifiers(
            "normal",
            obj(vec![("mean", v.clone()), ("sd", d(v.clone(), "Standard deviation."))], &["mean", "sd"]),
            "Normal, truncated at 0 (draws below 0 are redrawn).",
        ),
        modifiers(
            "lognormal",
            json!({ "oneOf": [
                obj(vec![
                    ("median", d(v.clone(), "The median: half of the draws are below it (above 0).")),
                    ("p95", d(v.clone(), "The 95th percentile: 1 draw in 20 is above it (above the median).")),
                ], &["median", "p95"]),
                obj(vec![
                    ("mu", d(json!({ "type": "number" }), "Mean of the logarithm.")),
                    ("sigma", d(json!({ "type": "number", "minimum": 0 }), "Standard deviation of the logarithm.")),
                ], &["mu", "sigma"]),
            ]}),
            "Lognormal, from { median, p95 } (what people measure) or { mu, sigma }.",
        ),
        modifiers("exponential", obj(vec![("mean", d(v.clone(), "The mean (above 0)."))], &["mean"]), "Exponential."),
        modifiers("bernoulli", r("probability"), "1 with this probability, else 0."),
        modifiers(
            "choice",
            json!({
                "type": "object",
                "minProperties": 1,
                "propertyNames": choice_keys,
                "additionalProperties": r("number"),
            }),
            if names {
                "One of the values (numbers, or names for a `when:` or a concurrencyKey) by weight (normalised), e.g. { free: 0.7, pro: 0.3 }."
            } else {
                "One of the numbers by weight (normalised), e.g. { 1: 0.8, 4: 0.2 }."
            },
        ),
        modifiers(
            "empirical",
            json!({ "type": "array", "items": v, "minItems": 1 }),
            "Observed values, drawn with replacement.",
        ),
    ]
}

fn one_of(first: Value, rest: Vec<Value>) -> Vec<Value> {
    std::iter::once(first).chain(rest).collect()
}

fn machine_names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.name).collect()
}

fn retry(out_of_memory: bool) -> Value {
    let mut props = vec![
        ("maxAttempts", d(int(1), "Attempts in all, the first included (1: no retry). SDK default 3.")),
        (
            "factor",
            d(json!({ "type": "number", "exclusiveMinimum": 0 }), "Growth of the delay per attempt. SDK default 2."),
        ),
        ("minTimeoutInMs", d(r("millis"), "Delay before the first retry, ms. SDK default 1000.")),
        ("maxTimeoutInMs", d(r("millis"), "Longest delay, ms. SDK default 60000.")),
        ("randomize", d(json!({ "type": "boolean" }), "Multiply each delay by 1 + U[0,1). SDK default true.")),
    ];
    if out_of_memory {
        props.push((
            "outOfMemory",
            d(
                obj(vec![("machine", d(r("machine"), "A preset with more memory."))], &["machine"]),
                "After an out-of-memory death, one retry on this machine (it counts as an attempt, so it needs one left).",
            ),
        ));
    }
    obj(props, &[])
}

fn trigger(waits: bool, batch: bool) -> Value {
    let mut props = vec![
        ("task", d(r("taskId"), "The task to trigger.")),
        (
            "idempotencyKey",
            d(
                json!({ "type": "boolean" }),
                "A key scoped to the run: when the parent retries, a child that completed is reused and a running one joined (neither is triggered again), a failed one runs again.",
            ),
        ),
    ];
    props.push((
        "machine",
        d(
            r("machine"),
            "The preset the runs this step starts use instead of the task's (`{ machine }` of the SDK's trigger options); retry.outOfMemory.machine still applies.",
        ),
    ));
    if batch {
        props.push(("count", d(r("count"), "How many items (at most 1,000 per batch).")));
    }
    if waits {
        props.push((
            "unwrap",
            d(
                json!({ "type": "boolean" }),
                "A failed child throws in the parent (default true); false: the parent goes on.",
            ),
        ));
    }
    let required: &[&str] = if batch { &["task", "count"] } else { &["task"] };
    obj(props, required)
}

fn steps() -> Value {
    let work = obj(
        vec![
            ("name", d(json!({ "type": "string" }), "Shown in timelines.")),
            (
                "duration",
                d(
                    json!({ "oneOf": [
                        r("durationDistribution"),
                        obj(vec![
                            ("perUnit", d(r("count"), "How many units: a number, an input attribute or a distribution.")),
                            ("each", d(r("durationDistribution"), "Time of one unit, drawn per unit.")),
                        ], &["perUnit", "each"]),
                    ]}),
                    "How long the step takes: a distribution, or { perUnit, each } (the sum of one draw per unit; the bar moves unit by unit).",
                ),
            ),
            (
                "failure",
                d(
                    json!({ "oneOf": [
                        r("probability"),
                        obj(vec![
                            ("probability", r("probability")),
                            ("retryable", d(json!({ "type": "boolean" }), "false: AbortTaskRunError, no task retry.")),
                        ], &["probability"]),
                    ]}),
                    "Chance the step throws: p, or { probability, retryable }.",
                ),
            ),
            (
                "failAt",
                d(
                    json!({ "enum": ["end", "uniform"] }),
                    "When a failure happens: at the end of the step (default) or at a uniform point of it.",
                ),
            ),
            (
                "cpuBound",
                d(
                    json!({ "type": "boolean" }),
                    "The duration scales with the preset's vCPU (Amdahl's law, one thread for the serial part); cpuBound steps running at once in one attempt share the vCPUs.",
                ),
            ),
            (
                "measuredOn",
                d(r("machine"), "The preset the duration of cpuBound work was measured on (default small-1x)."),
            ),
            (
                "parallelFraction",
                d(r("probability"), "The share of cpuBound work that uses more than one thread (default 0)."),
            ),
            (
                "mainThread",
                d(
                    json!({ "type": "boolean" }),
                    "cpuBound JavaScript on the main thread: all such steps of an attempt share one thread (default false: worker threads or native code).",
                ),
            ),
            (
                "memoryMb",
                d(
                    r("numberDistribution"),
                    "Memory held while the step runs, MB: past the preset's RAM the attempt dies out of memory.",
                ),
            ),
            ("retry", d(retry(false), "retry.onThrow around this step only (in process, billed).")),
            (
                "service",
                d(
                    json!({ "type": "string", "minLength": 1 }),
                    "The external service the step calls (a key of `services`): each try is one call, answered 429 at once when the service is over its limit; `retry` decides when it tries again.",
                ),
            ),
            (
                "tokens",
                d(r("numberDistribution"), "Tokens one call uses, counted against the service's tokensPerMinute."),
            ),
        ],
        &["duration"],
    );
    let step = d(
        json!({
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": false,
            "properties": {
                "work": d(work, "In-process work: an API call, a computation."),
                "wait": d(
                    json!({ "oneOf": [
                        r("durationDistribution"),
                        obj(vec![("for", r("durationDistribution"))], &["for"]),
                    ]}),
                    "wait.for: over 5 s the run is checkpointed (not billed); its concurrency slot is released about 60 s in.",
                ),
                "parallel": d(
                    obj(vec![
                        ("count", d(r("count"), "How many items.")),
                        ("limit", d(int(1), "At most this many items at once (p-limit); default all.")),
                        ("steps", d(r("steps"), "What each item does.")),
                    ], &["count", "steps"]),
                    "Promise.all over count items of steps.",
                ),
                "repeat": d(
                    obj(vec![
                        ("count", d(r("count"), "How many iterations.")),
                        ("steps", d(r("steps"), "What each iteration does.")),
                    ], &["count", "steps"]),
                    "A for loop: count iterations of steps, one after the other in the same run (a parallel with limit 1); in a task with a progress slice the bar moves at the end of each iteration.",
                ),
                "triggerAndWait": d(
                    json!({ "oneOf": [r("taskId"), trigger(true, false)] }),
                    "Trigger a child run and wait for it: a task id, or { task, idempotencyKey, unwrap }.",
                ),
                "batchTriggerAndWait": d(trigger(true, true), "Trigger count children and wait for all of them (at most 1,000)."),
                "trigger": d(
                    json!({ "oneOf": [r("taskId"), trigger(false, false)] }),
                    "Fire-and-forget: trigger a child run and go on: a task id, or { task, idempotencyKey }.",
                ),
                "batchTrigger": d(trigger(false, true), "Fire-and-forget batch of count children (at most 1,000)."),
                "poll": d(
                    obj(vec![
                        ("every", d(r("durationDistribution"), "wait.for between checks.")),
                        ("success", d(r("probability"), "Chance that a check finds the job done.")),
                        ("maxChecks", d(int(1), "After this many failed checks the step throws (retryable).")),
                        ("check", d(r("durationDistribution"), "Time one check takes (default instant).")),
                    ], &["every", "success", "maxChecks"]),
                    "A wait.for loop with a check after each wait.",
                ),
                "branch": d(
                    json!({
                        "type": "array",
                        "minItems": 1,
                        "items": { "oneOf": [
                            obj(vec![
                                ("when", r("condition")),
                                ("then", d(r("steps"), "The steps of this arm.")),
                            ], &["when", "then"]),
                            obj(vec![("otherwise", d(r("steps"), "The steps when no condition holds (last arm)."))], &["otherwise"]),
                        ]},
                    }),
                    "The first arm whose condition holds runs: [ { when, then }, ..., { otherwise } ].",
                ),
            },
        }),
        "One step: a mapping with one key, the kind of step.",
    );
    json!({ "type": "array", "items": step })
}

fn task() -> Value {
    obj(
        vec![
            ("description", d(json!({ "type": "string" }), "What the task does.")),
            ("machine", d(r("machine"), "Machine preset (default small-1x, or defaults.machine).")),
            ("retry", d(r("retry"), "Task-level retries. No retry block: one attempt (or defaults.retry).")),
            (
                "maxDuration",
                d(
                    r("duration"),
                    "Compute time per attempt (at least 5 s); past it the run ends TIMED_OUT, not retried.",
                ),
            ),
            (
                "progress",
                d(
                    json!({ "type": "array", "items": { "type": "number", "minimum": 0, "maximum": 100 }, "minItems": 2, "maxItems": 2 }),
                    "[from, to]: the slice of the root run's progress bar this task owns, in percent.",
                ),
            ),
            ("baseMemoryMb", d(r("number"), "Memory the task uses besides its work steps, MB.")),
            (
                "queue",
                d(
                    obj(
                        vec![
                            (
                                "name",
                                d(
                                    json!({ "type": "string", "minLength": 1 }),
                                    "Queue name; tasks with the same name share its slots.",
                                ),
                            ),
                            (
                                "concurrencyLimit",
                                d(int(1), "Runs of the queue executing at once (capped by the environment's limit)."),
                            ),
                        ],
                        &["name"],
                    ),
                    "A named queue (default: one queue per task, limited by the environment only).",
                ),
            ),
            (
                "concurrencyKey",
                d(
                    r("attribute"),
                    "An input attribute: each of its values gets its own copy of the queue (per-tenant queues).",
                ),
            ),
            ("priority", d(r("duration"), "Dequeued as if queued this much earlier.")),
            ("ttl", d(r("duration"), "A run not started by then ends EXPIRED.")),
            ("delay", d(r("duration"), "The run is queued this much later.")),
            ("steps", d(r("steps"), "What the task does, in order.")),
        ],
        &["steps"],
    )
}

fn load() -> Value {
    let per_minute = d(r("number"), "Arrivals per minute.");
    obj(
        vec![
            (
                "arrivals",
                d(
                    json!({ "oneOf": [
                        obj(vec![("poisson", obj(vec![("perMinute", per_minute.clone())], &["perMinute"]))], &["poisson"]),
                        obj(vec![("constant", obj(vec![("perMinute", per_minute.clone())], &["perMinute"]))], &["constant"]),
                    ]}),
                    "How workflow runs arrive: { poisson: { perMinute } } or { constant: { perMinute } }; may be left out for a load of bursts only.",
                ),
            ),
            ("duration", d(r("duration"), "How long runs keep arriving.")),
            (
                "environmentConcurrency",
                d(
                    json!({ "oneOf": [{ "enum": ["free", "hobby", "pro"] }, int(1)] }),
                    "The environment's concurrency limit, as environment.plan or environment.concurrencyLimit (give it once, or the same in both): a plan (free 10, hobby 25, pro 100; also sets the queue size and batch rate limits) or a number (default: the free plan).",
                ),
            ),
            ("warmup", d(r("duration"), "Runs arriving before this are left out of the statistics.")),
            (
                "burstFactor",
                d(
                    json!({ "type": "number", "minimum": 1 }),
                    "The environment may run this many times its limit; each queue stays at the limit (default 2).",
                ),
            ),
            (
                "schedule",
                d(
                    json!({ "type": "array", "items": obj(vec![
                        ("until", d(r("duration"), "End of this period, from the start.")),
                        ("perMinute", per_minute),
                    ], &["until", "perMinute"]) }),
                    "Piecewise arrival rates, in increasing `until` order.",
                ),
            ),
            (
                "bursts",
                d(
                    json!({ "type": "array", "items": obj(vec![
                        ("at", d(r("duration"), "When, from the start.")),
                        ("runs", d(json!({ "type": "integer", "minimum": 1, "maximum": 1_000_000 }), "How many runs arrive at once.")),
                    ], &["at", "runs"]) }),
                    "Runs arriving all at once.",
                ),
            ),
            ("keepWarm", d(r("duration"), "As the top-level keepWarm (give it once, or the same in both).")),
            ("dequeueInterval", dequeue_interval()),
            ("dequeueIdleInterval", dequeue_idle_interval()),
            (
                "coldStart",
                d(r("durationDistribution"), "As the top-level coldStart (give it once, or the same in both)."),
            ),
            ("maxQueueSize", d(int(1), "Queued runs a queue holds; a trigger beyond is rejected (default by plan).")),
            ("batchTokens", batch_tokens()),
        ],
        &["duration"],
    )
}

/// The `environment:` block.
fn environment() -> Value {
    obj(
        vec![
            (
                "plan",
                d(
                    json!({ "enum": ["free", "hobby", "pro"] }),
                    "The plan: its concurrency (free 10, hobby 25, pro 100), queue size and batch rate limits (default: free).",
                ),
            ),
            ("concurrencyLimit", d(int(1), "Concurrent runs of the environment (default: the plan's).")),
            (
                "burstFactor",
                d(
                    json!({ "type": "number", "minimum": 1 }),
                    "The environment may run this many times its limit; each queue stays at the limit (default 2).",
                ),
            ),
            ("maxQueueSize", d(int(1), "Queued runs a queue holds; a trigger beyond is rejected (default by plan).")),
            ("batchTokens", batch_tokens()),
            ("dequeueInterval", dequeue_interval()),
            ("dequeueIdleInterval", dequeue_idle_interval()),
        ],
        &[],
    )
}

fn dequeue_interval() -> Value {
    d(
        r("duration"),
        "Queued runs get slots only when the dequeue loop polls, this often while runs wait (default 0: at once; self-hosted Trigger.dev: 250ms).",
    )
}

fn dequeue_idle_interval() -> Value {
    d(
        r("duration"),
        "The dequeue loop's interval once a poll found no run waiting (default: dequeueInterval; self-hosted: 1s).",
    )
}

fn batch_tokens() -> Value {
    d(
        obj(
            vec![
                ("bucket", d(json!({ "type": "number", "minimum": 1 }), "Bucket size, items.")),
                ("refill", d(json!({ "type": "number", "exclusiveMinimum": 0 }), "Items added per refill.")),
                ("every", d(r("duration"), "Time between refills.")),
            ],
            &["bucket", "refill", "every"],
        ),
        "Token bucket limiting batch items (default by plan).",
    )
}

/// The JSON Schema (draft-07) of a wfsim scenario file.
fn services() -> Value {
    obj(
        vec![
            (
                "rateLimit",
                d(
                    json!({
                        "type": "object",
                        "additionalProperties": false,
                        "minProperties": 1,
                        "maxProperties": 1,
                        "properties": {
                            "perMinute": { "type": "number", "minimum": 1 },
                            "perSecond": { "type": "number", "minimum": 1 },
                        },
                    }),
                    "Calls a minute or a second; a token bucket holds that many calls.",
                ),
            ),
            ("tokensPerMinute", d(json!({ "type": "number", "minimum": 1 }), "Tokens a minute the calls may use.")),
            ("concurrency", d(int(1), "Calls in flight at most; a call past it is answered 429.")),
            (
                "refill",
                d(
                    json!({ "enum": ["tokenBucket", "fixedWindow"] }),
                    "tokenBucket (default): the limit refills continuously; fixedWindow: a counter reset every minute (or second) from time 0.",
                ),
            ),
            (
                "key",
                d(
                    r("attribute"),
                    "An input attribute: each of its values has a limit of its own (per API key or tenant).",
                ),
            ),
            ("description", d(json!({ "type": "string" }), "Shown nowhere; for the reader.")),
        ],
        &[],
    )
}

pub fn json_schema() -> Value {
    let machines = machine_names();
    let mut prices = vec![("invocationUsd", d(r("number"), "USD per task run, charged once (default 0.000025)."))];
    for m in &machines {
        prices.push((m, d(r("number"), "USD per second of compute on this preset.")));
    }
    let definitions = json!({
        "seconds": d(json!({ "type": "number", "minimum": 0, "maximum": crate::scenario::MAX_SECONDS }), "Seconds."),
        "durationText": d(
            json!({ "type": "string", "pattern": DURATION_PATTERN }),
            "A duration with units: 500ms, 2s, 10m, 1h, 1d, 1m30s, 2 minutes (ms, s/sec/secs/second/seconds, m/min/mins/minute/minutes, h/hr/hrs/hour/hours, d/day/days).",
        ),
        "duration": d(json!({ "oneOf": [r("seconds"), r("durationText")] }), "A duration: 500ms, 2s, 10m, 1h, 1d, 1m30s; a bare number is seconds."),
        "millis": d(
            json!({ "oneOf": [
                { "type": "number", "minimum": 0, "maximum": crate::scenario::MAX_SECONDS * 1000.0 },
                r("durationText"),
            ]}),
            "Milliseconds, or a duration with units.",
        ),
        "number": d(json!({ "type": "number", "minimum": 0, "maximum": crate::scenario::MAX_PLAIN }), "A number, 0 or more."),
        "probability": d(json!({ "type": "number", "minimum": 0, "maximum": 1 }), "A probability, from 0 to 1."),
        "machine": d(json!({ "enum": machines }), "A Trigger.dev machine preset: vCPU / RAM GB micro 0.25/0.25, small-1x 0.5/0.5, small-2x 1/1, medium-1x 1/2, medium-2x 2/4, large-1x 4/8, large-2x 8/16."),
        "taskId": d(json!({ "type": "string", "minLength": 1 }), "A task id: a key of `tasks`."),
        "attribute": d(json!({ "type": "string", "minLength": 1 }), "An input attribute: a key of `input`."),
        "condition": d(
            json!({ "type": "string", "minLength": 1 }),
            "A condition on input attributes: `scanned`, `!scanned`, `tier == pro`, `tier != free`, `pages > 50` (==, !=, <, <=, >, >= against a number, or a name of a choice).",
        ),
        "durationDistribution": d(
            json!({ "oneOf": one_of(r("duration"), dist_forms(&r("duration"), false)) }),
            "A duration, or a distribution of durations: { fixed }, { uniform }, { triangular }, { normal }, { lognormal }, { exponential }, { bernoulli }, { choice }, { empirical }, with optional min, max, round.",
        ),
        "numberDistributionForm": d(
            json!({ "oneOf": dist_forms(&r("number"), false) }),
            "A distribution of numbers: { fixed }, { uniform }, { triangular }, { normal }, { lognormal }, { exponential }, { bernoulli }, { choice }, { empirical }, with optional min, max, round.",
        ),
        "numberDistribution": d(json!({ "oneOf": [r("number"), r("numberDistributionForm")] }), "A number, or a distribution of numbers."),
        "count": d(
            json!({ "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                r("attribute"),
                r("numberDistributionForm"),
            ]}),
            "How many: a whole number, an input attribute's name, or a distribution (rounded).",
        ),
        "retry": d(retry(true), "Task retries, as in the Trigger.dev SDK; fields left out take the SDK defaults (3, 2, 1000, 60000, true)."),
        "steps": steps(),
        "task": task(),
    });
    let attribute = json!({ "oneOf": one_of(r("number"), dist_forms(&r("number"), true)) });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "wfsim scenario",
        "description": "A Trigger.dev v4 workflow design for wfsim to simulate (see docs/scenario-language.md).",
        "type": "object",
        "additionalProperties": false,
        "required": ["entry", "tasks"],
        "properties": {
            "name": d(json!({ "type": "string" }), "Shown in reports (default: the file name)."),
            "description": d(json!({ "type": "string" }), "Shown in reports."),
            "platform": d(json!({ "enum": ["trigger-dev-v4"] }), "The platform (the only one; may be left out)."),
            "startLatency": d(r("durationDistribution"), "Time from a slot granted to the start of an attempt on a warm machine: one of the preset ended a run within keepWarm (default uniform 100-300 ms)."),
            "coldStart": d(r("durationDistribution"), "Start latency when no machine of the preset is warm (default lognormal, median 2 s, p95 6 s: an assumption)."),
            "keepWarm": d(r("duration"), "A machine stays warm this long after a run ends or gives its slot back (default 300 s)."),
            "environment": d(environment(), "The Trigger.dev environment every run is simulated in, alone or under load (default: the free plan)."),
            "prices": d(obj(prices, &[]), "Price overrides: invocationUsd, and any preset's USD per second."),
            "input": d(
                json!({ "type": "object", "additionalProperties": d(attribute, "A number, a distribution, or a choice of names, drawn once per workflow run.") }),
                "Attributes drawn once per workflow run; counts, perUnit, when and concurrencyKey refer to them by name.",
            ),
            "entry": d(r("taskId"), "The task the app triggers."),
            "tasks": d(
                json!({ "type": "object", "minProperties": 1, "additionalProperties": r("task") }),
                "Task id -> task.",
            ),
            "defaults": d(
                obj(vec![
                    ("machine", d(r("machine"), "Machine of tasks that set none.")),
                    ("retry", d(r("retry"), "Retry of tasks that set none; like trigger.config's retries.default, it is not merged with the SDK defaults: give maxAttempts.")),
                    ("maxDuration", d(r("duration"), "maxDuration of tasks that set none.")),
                ], &[]),
                "Like trigger.config.ts: defaults for tasks that set none.",
            ),
            "load": d(load(), "Many workflow runs at once, sharing queues, slots and the environment's concurrency."),
            "slo": d(
                json!({ "type": "array", "items": { "type": "string", "pattern": SLO_PATTERN } }),
                "Expressions `run` evaluates, e.g. p95(duration) < 5m, mean(costUsd) < 0.01, successRate > 0.99, rate(TIMED_OUT) <= 0.001; a failing one makes the exit code 1.",
            ),
            "services": d(
                json!({ "type": "object", "additionalProperties": services() }),
                "External services the work steps call, each with its rate limit, shared by every run of the simulation (see docs/services.md).",
            ),
            "limits": d(
                obj(vec![("maxEventsPerRun", d(int(1), "Events one simulated workflow run may process (default 5,000,000).")) ], &[]),
                "Limits that stop a runaway scenario with a message naming the task.",
            ),
        },
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let s = json_schema();
        let mut refs = Vec::new();
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&s, &mut refs);
        assert!(refs.len() > 20);
        for r in refs {
            let name = r.strip_prefix("#/definitions/").unwrap_or_else(|| panic!("{r}"));
            assert!(s["definitions"].get(name).is_some(), "{r} does not resolve");
        }
    }
}
