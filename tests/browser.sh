#!/usr/bin/env bash
# Renders the HTML reports in headless Chromium and fails on a console error or an empty page.
# Screenshots stay under reports/ci/ (CI artifacts). Needs ${CARGO_TARGET_DIR:-target}/release/wfsim and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/release/wfsim
out=reports/ci
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || { echo "browser: chromium not found"; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --enable-logging=stderr --v=0)

# Loads a page; prints its DOM; leaves Chromium's log (console messages included) in $2.
render() {
  local page=$1 log=$2 shot=$3 profile
  profile=$(mktemp -d)
  "$chrome" "${flags[@]}" --user-data-dir="$profile" --window-size=1280,3600 --screenshot="$shot" "file://$PWD/$page" 2>"$log" >/dev/null
  "$chrome" "${flags[@]}" --user-data-dir="$profile" --dump-dom "file://$PWD/$page" 2>>"$log"
  rm -rf "$profile"
}

# A console error is a CONSOLE line at error level, or a resource that failed to load.
console_errors() {
  grep -E 'CONSOLE|Failed to load|Uncaught' "$1" | grep -viE 'INFO:CONSOLE.*"(log|info)' || true
}

passed=0
failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

mkdir -p "$out"
# The detector must see a console error when there is one (a test that can fail).
selftest() {
  local page="$out/selftest.html" log dom errs
  printf '<!DOCTYPE html><html><body><p>x</p><script>console.error("selftest error")</script></body></html>' > "$page"
  log=$(mktemp)
  dom=$(render "$page" "$log" "$out/selftest.png")
  errs=$(console_errors "$log")
  rm -f "$page" "$out/selftest.png" "$log"
  if [ -z "$errs" ]; then echo "browser: FAIL the console-error detector missed a console.error"; return 1; fi
  echo "browser: ok   the detector sees console errors"
}

page_ok() {
  local page=$1 min_svg=$2 log dom errs svgs shot="${1%.html}.png"
  log=$(mktemp)
  dom=$(render "$page" "$log" "$shot")
  errs=$(console_errors "$log")
  svgs=$(grep -o '<svg' <<<"$dom" | wc -l)
  text=$(sed -e 's/<[^>]*>//g' <<<"$dom" | tr -s '[:space:]' | wc -c)
  rm -f "$log"
  if [ -n "$errs" ]; then echo "browser: FAIL $page: console errors:"; echo "$errs"; return 1; fi
  if [ "$svgs" -lt "$min_svg" ]; then echo "browser: FAIL $page: $svgs charts rendered, expected $min_svg"; return 1; fi
  if [ "$text" -lt 500 ]; then echo "browser: FAIL $page: almost no text ($text characters)"; return 1; fi
  if [ ! -s "$shot" ] || [ "$(stat -c %s "$shot")" -lt 20000 ]; then echo "browser: FAIL $page: empty screenshot"; return 1; fi
  echo "browser: ok   $page ($svgs charts, $text characters of text, screenshot $shot)"
}

"$bin" report scenarios/pdf-processing.yaml --runs 2000 --out "$out/pdf-processing" >/dev/null 2>&1 || [ $? -eq 1 ]  # 1: its p95 SLO fails under its load
"$bin" compare scenarios/transcription-sequential.yaml scenarios/transcription-parallel.yaml --runs 2000 \
  --out "$out/transcription" >/dev/null 2>&1
check selftest
check page_ok "$out/pdf-processing/index.html" 5
check page_ok "$out/transcription/index.html" 2
echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
