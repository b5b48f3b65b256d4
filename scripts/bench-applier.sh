#!/usr/bin/env bash
# Benchmark of the continuous applier between two local servers (release build): catch-up apply rate and
# follower RSS after a backlog, and leader-to-follower lag under a steady write rate, with the leader's
# long-poll and with ArangoDB-style polling. BENCH_OPS, BENCH_RATE, BENCH_SECS, BENCH_ONLY=catchup|lag.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench applier "$@"
