#!/usr/bin/env bash
# Benchmark of the initial sync between two local servers (release build): full and incremental sync,
# leader wait share, follower RSS, and the store's raw bulk rate. BENCH_DOCS adjusts the size.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench sync "$@"
