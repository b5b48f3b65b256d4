#!/usr/bin/env bash
# HTTP benchmark of `arangorepl serve` (release build): single inserts with 16 clients, batch inserts,
# reads by key, server RSS. BENCH_SINGLE / BENCH_BATCHES / BENCH_READS adjust the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench http "$@"
