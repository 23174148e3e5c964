#!/usr/bin/env bash
# wfsim against independent reference models.
#
#   tests/reference.sh
#
# 1. Ciw (tests/reference/ciw_two_station.py): a two-station network with a shared queue
#    (tests/reference/two-station.yaml: task a triggers b fire-and-forget, both in queue
#    `shared` with 4 slots, rho 0.8). Mean wait for a slot (overall, per task, and b - a),
#    share of grants that waited and utilisation, 20 replications each side; fails if any
#    differs by more than 4 standard errors of the difference (each side's from its
#    per-replication values).
# 2. SimPy (tests/reference/simpy_mm4.py): M/M/4 (lambda 3.2/s, mu 1/s) as a `Resource`; fails
#    if its P(wait) or Wq disagrees with Erlang C (0.5964, 0.7455 s). This checks the
#    yardstick of the speed comparison; wfsim's own M/M/4 against Erlang C is in
#    tests/load.rs (400 replications, standard errors from their values).
# 3. Speed: customers (workflow runs, warm-up included) per second of SimPy's simulation loop
#    and of the whole `wfsim run` process on tests/reference/mm4.yaml (one thread; parsing,
#    summary and JSON included, so a lower bound of the engine's own speed: `cargo bench
#    --bench load` measures that), by wall clock and by CPU time, and their ratio: printed,
#    never a failure (timings on a shared machine are noisy). The target of wfsim >= 50x
#    SimPy is the engine's (benches/compare_mm4.sh); most of this process's time is the
#    summary.
# 4. SimPy transcription (benches/reference/transcription_parallel.py, which reads every
#    parameter from the scenario file) on two variants of scenarios/transcription-parallel.yaml
#    written here: the zero-latency variant (startLatency: 0 and coldStart: 0: the reference
#    has no warm pool, and with no latency wfsim's starts, resumes and re-queued retries take
#    no time), and the same with failure rates raised (download 0.1, upload-chunks 0.3,
#    Whisper 0.15, save-to-db 0.4) so that task retries and the idempotency keys of
#    extract-audio's children matter. tests/reference/compare_transcription.py compares
#    duration (mean, p50, p95), cost, success and each task's runs and attempts per workflow
#    run, 40,000 wfsim runs against 20,000 SimPy runs, with tolerances of 4 standard errors
#    from the SimPy runs.
#
# 5. The token bucket (tests/reference/service_bucket.py, numpy): a service of 60 calls a minute
#    under Poisson arrivals at half its limit never refuses a call, and with a burst of 100
#    runs refuses 41.37 calls per replication (standard error 0.02); tests/services.rs checks
#    wfsim's 429s against that number. Here the script runs again and must reproduce it.
#
# Installs ciw, simpy and pyyaml with pip if they are missing. Uses $WFSIM, else
# ${CARGO_TARGET_DIR:-target}/release/wfsim (CI builds it first; built here if missing).
# Environment: PYTHON (default python3), WFSIM_REPS (wfsim replications timed, default 40).
# The last line is `reference: N passed, M failed`; the exit code is 1 if M > 0.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
PY=${PYTHON:-python3}
WFSIM=${WFSIM:-${CARGO_TARGET_DIR:-target}/release/wfsim}
WFSIM_REPS=${WFSIM_REPS:-40}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS  $1"; }
ko() { failed=$((failed + 1)); echo "FAIL  $1"; }
finish() {
    echo "reference: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

if ! "$PY" -c 'import ciw, simpy, yaml' 2>/dev/null; then
    "$PY" -m pip install --quiet ciw simpy pyyaml || { ko "pip install ciw simpy pyyaml"; finish; }
fi
if [ ! -x "$WFSIM" ]; then
    echo "building $WFSIM"
    cargo build --release --quiet || { ko "cargo build --release"; finish; }
fi

# 1. Ciw: the two-station network with a shared queue.
echo "== Ciw: two-station network with a shared queue"
if "$PY" tests/reference/ciw_two_station.py --wfsim "$WFSIM"; then
    ok "Ciw two-station: wfsim agrees with Ciw within 4 standard errors"
else
    ko "Ciw two-station: wfsim disagrees with Ciw (or the comparison could not run)"
fi

# 2. SimPy M/M/4 against Erlang C, and its speed.
echo "== SimPy: M/M/4"
simpy_json=$("$PY" tests/reference/simpy_mm4.py --json)
simpy_rc=$?
if [ -z "$simpy_json" ]; then
    ko "SimPy M/M/4: the script failed (exit $simpy_rc)"
    finish
fi
"$PY" - "$simpy_json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
p, w = d["p_wait"], d["wq_s"]
print(f"  SimPy {d['reps']} x {d['duration_s']:.0f} s: P(wait) {p['mean']:.4f} ± {1.96 * p['se']:.4f} (Erlang C {p['erlang_c']:.4f}), "
      f"Wq {w['mean']:.4f} ± {1.96 * w['se']:.4f} s (Erlang C {w['erlang_c']:.4f} s)")
EOF
if [ "$simpy_rc" -eq 0 ]; then ok "SimPy M/M/4 matches Erlang C"; else ko "SimPy M/M/4 disagrees with Erlang C"; fi

# 3. wfsim on the same M/M/4, timed: wall and CPU (user + sys) of the whole process.
echo "== wfsim: M/M/4"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/mm4.json
TIMEFORMAT='%R %U %S'
times=$( { time "$WFSIM" run tests/reference/mm4.yaml --replications "$WFSIM_REPS" --threads 1 --format json >"$out" 2>/dev/null; } 2>&1 )
wf_rc=$?
if [ "$wf_rc" -ne 0 ] || [ ! -s "$out" ]; then
    ko "wfsim M/M/4: wfsim run exited $wf_rc"
    finish
fi
"$PY" - "$out" "$times" "$simpy_json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
wall, user, sys_ = (float(x) for x in sys.argv[2].split())
s = json.loads(sys.argv[3])
l = d["load"]
w = l["queue_wait_s"]
print(f"  wfsim {l['replications']} x {l['duration_s']:.0f} s: Wq {w['mean']:.4f} ± {w['mean_ci95']:.4f} s (Erlang C {s['wq_s']['erlang_c']:.4f} s), "
      f"P(wait) {w['share_waiting']:.4f} (Erlang C {s['p_wait']['erlang_c']:.4f}), utilisation {l['utilisation']['environment']:.4f} (0.8)")
# Customers: every workflow run of the replication, warm-up included (each starts once here).
n = l["runs_started"]
cpu = user + sys_
wf_wall, wf_cpu = n / wall, n / cpu
sp_wall, sp_cpu = s["customers_per_s"], s["customers_per_cpu_s"]
print("== speed: M/M/4 customers per second, one thread")
print(f"  SimPy  {s['customers']:>9} customers  {s['wall_s']:6.2f} s wall {s['cpu_s']:6.2f} s CPU  "
      f"{sp_wall:>12,.0f}/s wall {sp_cpu:>12,.0f}/s CPU  (simulation loop)")
print(f"  wfsim  {n:>9} customers  {wall:6.2f} s wall {cpu:6.2f} s CPU  "
      f"{wf_wall:>12,.0f}/s wall {wf_cpu:>12,.0f}/s CPU  (whole process: parse, simulate, summarise, JSON)")
rw, rc = wf_wall / sp_wall, wf_cpu / sp_cpu
print(f"  ratio wfsim/SimPy: {rw:.1f}x wall, {rc:.1f}x CPU (informational: the whole process against SimPy's "
      f"simulation loop; the 50x target is the engine's, benches/compare_mm4.sh)")
EOF

# 4. The SimPy transcription reference on two variants of the shipped scenario.
ref=benches/reference/transcription_parallel.py
"$PY" "$ref" --scenario scenarios/transcription-parallel.yaml --zero-latency-variant "$tmp/zero.yaml" \
    || { ko "transcription: writing the zero-latency variant"; finish; }
"$PY" - "$tmp/zero.yaml" "$tmp/retries.yaml" <<'EOF' || { ko "transcription: writing the retry-heavy variant"; finish; }
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
t = d["tasks"]
for task, path, p in [
    ("extract-audio", [0], 0.1),
    ("chunk-audio", [1], 0.3),
    ("transcribe-audio", [0, "parallel", "steps", 0], 0.15),
    ("save-transcript", [1], 0.4),
]:
    s = t[task]["steps"]
    for k in path:
        s = s[k]
    s["work"]["failure"] = p
open(sys.argv[2], "w").write(yaml.safe_dump(d, sort_keys=False))
EOF
for variant in zero retries; do
    echo "== SimPy: transcription-parallel, $variant variant"
    f=$tmp/$variant.yaml
    if "$WFSIM" run "$f" --runs 40000 --seed 1 --format json >"$tmp/$variant.wfsim.json" 2>"$tmp/err" \
        && "$PY" "$ref" --scenario "$f" --runs 20000 --seed 1 --json >"$tmp/$variant.simpy.json" \
        && "$PY" tests/reference/compare_transcription.py "$tmp/$variant.wfsim.json" "$tmp/$variant.simpy.json" \
            --label "transcription-parallel, $variant variant"; then
        ok "SimPy transcription ($variant variant): wfsim agrees within 4 standard errors"
    else
        cat "$tmp/err"
        ko "SimPy transcription ($variant variant): wfsim disagrees (or the comparison could not run)"
    fi
done

bucket=$("$PY" tests/reference/service_bucket.py --reps 4000 --seed 1 | grep 'burst=True')
if [ "${bucket#*mean 41.3678 se 0.0196}" != "$bucket" ]; then
    ok "token bucket reference: $bucket"
else
    ko "token bucket reference: expected mean 41.3678 se 0.0196, got: $bucket"
fi

finish
