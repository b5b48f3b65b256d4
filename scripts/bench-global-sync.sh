#!/usr/bin/env bash
# Benchmark of the server-level initial sync (syncGlobal) against the per-database sync of the same number
# of documents in one database: BENCH_DBS (100) databases of BENCH_DOCS_PER_DB (10,000) documents.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench global_sync "$@"
