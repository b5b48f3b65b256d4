#!/usr/bin/env bash
# Benchmark of the leader's replication API (release build): dump and tail over loopback, long-poll
# delivery latency. BENCH_DOCS / BENCH_CHUNK / BENCH_WRITES / BENCH_RATE adjust the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench replication "$@"
