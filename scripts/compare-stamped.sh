#!/usr/bin/env bash
# compare-stamped.sh — the peer benchmark's comparison with arangorepl's steady-state lag stamped inside the
# servers, as the PostgreSQL side stamps it. PostgreSQL's lag is `apply_ts - ts`: `ts` taken at the insert
# on the publisher, `apply_ts` by a trigger on the subscriber, both before their commits. Here it is the
# leader's tick of each write against the follower's tick of its apply: the microsecond a change entered
# each server's log, both before their commits, read from the two logs afterwards (bench-applier's
# `BENCH_ONLY=stamped`: one keep-alive writer at RATE/s for DURATION s). Never kinder than that: the stamps
# include the leader's queueing and commit wait, the transfer, and the follower's parse and apply.
#
# Bulk load, initial sync, catch-up and RSS come unchanged from the peer benchmark's own
# peer-arangorepl.sh; only the three steady_lag_* figures are replaced (the table says which are).
#
#   PEER_DIR=<directory of the peer benchmark: compare.sh, peer-postgres.sh, peer-arangorepl.sh> \
#     BIN=target/release/arangorepl scripts/compare-stamped.sh
# ROWS, RATE (2000), DURATION (30) as the peer benchmark's; ORDER=pg-first|arangorepl-first.
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_DIR=${PEER_DIR:?set PEER_DIR to the directory of the peer benchmark}
BIN=${BIN:-target/release/arangorepl}
[ -x "$BIN" ] || { echo "compare-stamped.sh: no binary at $BIN (cargo build --release first)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
RATE=${RATE:-2000}
DURATION=${DURATION:-30}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run_pg() { bash "$PEER_DIR/peer-postgres.sh" > "$OUT/pg" 2>&1 || { tail -20 "$OUT/pg" >&2; exit 1; }; }
run_ar() { HTTP_CLIENT=${HTTP_CLIENT:-net} BIN="$BIN" bash "$PEER_DIR/peer-arangorepl.sh" > "$OUT/ar" 2>&1 || { tail -20 "$OUT/ar" >&2; exit 1; }; }
run_stamped() {
  BENCH_BIN="$BIN" BENCH_ONLY=stamped BENCH_RATE="$RATE" BENCH_SECS="$DURATION" BENCH_STAMPS_OUT="$OUT/stamped" \
    cargo bench --quiet --bench applier > "$OUT/stamped.log" 2>&1 || { tail -20 "$OUT/stamped.log" >&2; exit 1; }
}
if [ "${ORDER:-pg-first}" = pg-first ]; then run_pg; run_ar; run_stamped; else run_ar; run_stamped; run_pg; fi
val() { grep -E "^peer-[a-z]+: $2: " "$1" | head -1 | sed -E "s/^peer-[a-z]+: $2: ([0-9.]+).*/\1/"; }
printf '%-28s %14s %14s %8s\n' figure postgresql arangorepl ratio
for k in bulk_load_rows_per_s initial_sync_rows_per_s steady_lag_p50_ms steady_lag_p99_ms steady_lag_max_ms \
  catchup_apply_rows_per_s follower_peak_rss_mib; do
  src="$OUT/ar"
  mark=""
  case $k in steady_lag_*) src="$OUT/stamped"; mark=" (stamped)" ;; esac
  p=$(val "$OUT/pg" "$k" || true)
  a=$(val "$src" "$k" || true)
  ratio=$(python3 -c "
p, a = '$p', '$a'
try:
    p, a = float(p), float(a)
    print('%.2f' % ((a / p) if '_per_s' in '$k' else (p / a)))
except Exception:
    print('-')")
  printf '%-28s %14s %14s %8s%s\n' "$k" "${p:--}" "${a:--}" "$ratio" "$mark"
done
echo "ratio > 1 means arangorepl is ahead (throughput: ours / PostgreSQL; latency: PostgreSQL / ours)"
echo "client-observed lag of the same run (peer-arangorepl.sh): p50 $(val "$OUT/ar" steady_lag_p50_ms) ms, p99 $(val "$OUT/ar" steady_lag_p99_ms) ms, max $(val "$OUT/ar" steady_lag_max_ms) ms"
