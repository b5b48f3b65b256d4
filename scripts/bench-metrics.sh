#!/usr/bin/env bash
# Benchmark of GET /_admin/metrics/v2 (release build): scrape time on a follower replicating BENCH_DBS
# databases (default 100, one running applier each) and on its leader. BENCH_SCRAPES (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench metrics "$@"
