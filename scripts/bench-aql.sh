#!/usr/bin/env bash
# Benchmark of AQL over HTTP on one collection of BENCH_DOCS (1,000,000) documents: an equality FILTER, a
# full scan, COLLECT WITH COUNT, LIMIT 1000 with the server's peak RSS, and 10,000 INSERTs in one query
# (BENCH_CACHE: the store's page cache in bytes, default the server's 48 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench aql "$@"
