#!/usr/bin/env bash
# wfsim vs the SimPy reference on transcription-parallel, side by side on this machine.
#
#   benches/compare.sh [WFSIM_RUNS [SIMPY_RUNS]]      (defaults 20000 and 5000)
#
# Builds wfsim in release, installs SimPy and PyYAML if missing, writes the zero-latency
# variant of scenarios/transcription-parallel.yaml (startLatency: 0, coldStart: 0: the
# reference has no warm pool; see its header), runs
#   wfsim run VARIANT --runs N --threads 1 --format json
# and benches/reference/transcription_parallel.py --scenario VARIANT --runs M --json, then
# prints runs per second of each (single thread) and their ratio, and compares their
# statistics with tests/reference/compare_transcription.py (duration mean, p50, p95, cost,
# success, each task's runs and attempts per workflow run; tolerances of 4 standard errors
# from the SimPy runs). Exits 1 if a statistic disagrees beyond its sampling error.
# Exit 2 on a setup error (build, install, a run that fails).
#
# Environment: SEED (default 1), REPEAT (timings of each side, interleaved, best of; default 5),
# CARGO_TARGET_DIR (where cargo builds; default target/), PYTHON (default python3).
# Timings are wall clock: on a shared machine they are noisy; the statistics are not.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
N=${1:-20000}
M=${2:-5000}
SEED=${SEED:-1}
REPEAT=${REPEAT:-5}
PY=${PYTHON:-python3}
shipped=scenarios/transcription-parallel.yaml
reference=benches/reference/transcription_parallel.py
target=${CARGO_TARGET_DIR:-$root/target}
wfsim=$target/release/wfsim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scenario=$tmp/transcription-parallel-zero-latency.yaml

die() { echo "compare.sh: $*" >&2; exit 2; }

echo "building wfsim (release)..." >&2
cargo build --release --quiet --bin wfsim || die "cargo build failed"
[ -x "$wfsim" ] || die "no binary at $wfsim (is CARGO_TARGET_DIR set as for the build?)"

if ! "$PY" -c 'import simpy, yaml' 2>/dev/null; then
    echo "installing simpy and pyyaml..." >&2
    "$PY" -m pip install --quiet simpy pyyaml || die "pip install simpy pyyaml failed"
fi
"$PY" "$reference" --scenario "$shipped" --zero-latency-variant "$scenario" || die "cannot write the zero-latency variant"

now() { date +%s.%N; }

# One timed run of wfsim; its output (the same for every run: same seed) in $tmp/wfsim.json.
once_wfsim() { # runs -> wall seconds
    local t0 t1
    t0=$(now)
    "$wfsim" run "$scenario" --runs "$1" --seed "$SEED" --threads 1 --format json >"$tmp/wfsim.json" \
        || die "wfsim run failed (exit $?)"
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }'
}
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# Both sides are timed REPEAT times, interleaved (wfsim, SimPy, wfsim, SimPy, ...) so that
# both see the same machine, and each keeps its best: a shared machine only ever slows a
# run down. The fixed cost of the wfsim process (start, YAML load, report of 1 run) is
# measured the same way and subtracted.
echo "wfsim: $N runs and SimPy: $M runs, best of $REPEAT each, interleaved (single thread)..." >&2
t_fixed="" t_wfsim="" s_best="" t0="" t1=""
for ((i = 0; i < REPEAT; i++)); do
    dt=$(once_wfsim 1)
    if [ -z "$t_fixed" ] || less "$dt" "$t_fixed"; then t_fixed=$dt; fi
    dt=$(once_wfsim "$N")
    if [ -z "$t_wfsim" ] || less "$dt" "$t_wfsim"; then t_wfsim=$dt; fi
    a=$(now)
    "$PY" "$reference" --scenario "$scenario" --runs "$M" --seed "$SEED" --json >"$tmp/simpy.try.json" \
        || die "SimPy reference failed"
    b=$(now)
    # SimPy's own time is of its simulation loop (seconds in its JSON): keep the fastest run.
    s=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$tmp/simpy.try.json") \
        || die "the SimPy reference's JSON has no seconds"
    if [ -z "$s_best" ] || less "$s" "$s_best"; then
        s_best=$s t0=$a t1=$b
        mv "$tmp/simpy.try.json" "$tmp/simpy.json"
    fi
done

"$PY" - "$tmp/wfsim.json" "$tmp/simpy.json" "$N" "$M" "$t_wfsim" "$t_fixed" "$t0" "$t1" <<'EOF'
import json, os, sys

w = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
N, M = int(sys.argv[3]), int(sys.argv[4])
t_w, t_fixed = float(sys.argv[5]), float(sys.argv[6])
t_s_wall = float(sys.argv[8]) - float(sys.argv[7])
assert w["runs"] == N and s["runs"] == M

# Speed. wfsim's process time includes start, YAML load, statistics and JSON; "net"
# subtracts the same for 1 run. SimPy's own timing is of its simulation loop only.
w_gross = N / t_w
w_net = N / max(t_w - t_fixed, 1e-9)
s_rate = s["runs_per_s"]
cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
print(f"transcription-parallel on {cpu}, {os.cpu_count()} cores; Python {s['python_version']}, SimPy {s['simpy_version']}")
print(f"(wall clock; timings are noisy on a shared machine)\n")
print(f"{'speed (1 thread)':<28}{'wfsim':>14}{'SimPy':>14}{'wfsim/SimPy':>14}")
print(f"{'runs':<28}{N:>14}{M:>14}")
print(f"{'seconds':<28}{t_w:>14.3f}{s['seconds']:>14.3f}")
print(f"{'runs/s (net of start)':<28}{w_net:>14,.0f}{s_rate:>14,.0f}{w_net / s_rate:>13.1f}x")
print(f"{'runs/s (whole process)':<28}{w_gross:>14,.0f}{M / t_s_wall:>14,.0f}{w_gross / (M / t_s_wall):>13.1f}x")
print(f"  wfsim process for 1 run: {1000 * t_fixed:.1f} ms; best of {os.environ.get('REPEAT', '5')} timings of each side, interleaved")
print(flush=True)
EOF
"$PY" tests/reference/compare_transcription.py "$tmp/wfsim.json" "$tmp/simpy.json" \
    --label "transcription-parallel (zero-latency variant)"
