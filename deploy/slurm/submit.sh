#!/usr/bin/env bash
# Submits a wfsim command split into N shards as a Slurm job array, and a merge job that
# runs once every shard succeeded (--dependency=afterok). The merged output is what the
# command prints in one process, byte for byte.
#
# Usage:
#   deploy/slurm/submit.sh [-n N] [-d DIR] [-w] [-p PARTITION] -- COMMAND ARGS...
#
#   -n N          shards (array tasks 0..N-1; default 4)
#   -d DIR        shared folder for the shard files, logs and the merged output
#                 (default wfsim-shards; every node must see it)
#   -w            wait until the merge job ends (sbatch --wait) and exit with its status
#   -p PARTITION  the partition to submit to
#   COMMAND ARGS  a wfsim command as you would run it in one process, e.g.
#                 sweep scenarios/pdf-processing.yaml --task ocr-pdf --format json
#
# The merged output is DIR/merged (the command's -o FILE); report files go where the
# command's --out says. WFSIM names the binary (default: wfsim on the PATH).
# Example:
#   deploy/slurm/submit.sh -n 8 -d /shared/sweep -w -- sweep scenarios/pdf-processing.yaml \
#     --task ocr-pdf --replications 40 --format json
set -euo pipefail

n=4
dir=wfsim-shards
wait=()
partition=()
while getopts "n:d:wp:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    d) dir=$OPTARG ;;
    w) wait=(--wait) ;;
    p) partition=(--partition "$OPTARG") ;;
    *) sed -n '5,20p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ] || ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
  sed -n '5,20p' "$0" >&2
  exit 2
fi
wfsim=${WFSIM:-wfsim}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir"/shard-*.wfshard "$dir"/merged "$dir"/merge.status
cmd=$(printf '%q ' "$wfsim" "$@")

# Shard I of N is array task I: --shard auto/N reads SLURM_ARRAY_TASK_ID (minus
# SLURM_ARRAY_TASK_MIN) and checks SLURM_ARRAY_TASK_COUNT.
array=$(sbatch --parsable "${partition[@]}" --array="0-$((n - 1))" --job-name=wfsim-shard \
  --output="$dir/shard-%a.log" \
  --wrap="$cmd --shard auto/$n --shard-file $(printf '%q' "$dir")/shard-\${SLURM_ARRAY_TASK_ID}.wfshard")
array=${array%%;*}
echo "submitted shards: job array $array (0-$((n - 1)))"

# The merge exits 1 when an SLO fails (the command's own exit code): that is a result,
# recorded in merge.status, not a failed job.
merge=$(sbatch --parsable "${partition[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --job-name=wfsim-merge --output="$dir/merge.log" "${wait[@]}" \
  --wrap="$(printf '%q ' "$wfsim") merge $(printf '%q' "$dir")/shard-*.wfshard -o $(printf '%q' "$dir")/merged; s=\$?; echo \$s > $(printf '%q' "$dir")/merge.status; [ \$s -le 1 ]")
merge=${merge%%;*}
echo "submitted merge: job $merge (after every shard succeeded); output: $dir/merged"
