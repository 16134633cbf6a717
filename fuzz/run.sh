#!/usr/bin/env bash
# Runs every fuzz target in turn, one at a time (libFuzzer uses one core),
# each for SECONDS (default 600), and prints libFuzzer's last status line.
# Exits non-zero at the first target that finds a crash; the input that
# crashed lands in artifacts/<target>/.
#
#   fuzz/run.sh            # 10 minutes each: what docs/reliability.md reports
#   fuzz/run.sh 30         # what CI runs when cargo-fuzz is available
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
for target in frame handshake_responder telegram keyfile; do
  case "$target" in
    frame) max_len=140000 ;;   # two maximal frames
    telegram) max_len=70000 ;; # one maximal telegram
    *) max_len=4096 ;;
  esac
  printf '==> fuzz %s for %s s\n' "$target" "$seconds"
  log="$(mktemp)"
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds" -max_len="$max_len" >"$log" 2>&1; then
    tail -n 40 "$log"
    rm -f "$log"
    printf 'fuzz target %s failed: see artifacts/%s/\n' "$target" "$target" >&2
    exit 1
  fi
  grep -E '^#[0-9]+' "$log" | tail -n 1
  grep -E '^Done [0-9]+ runs' "$log" | tail -n 1
  rm -f "$log"
done
