#!/usr/bin/env bash
# Store benchmark: bulk load, log read, single inserts (default durability and waitForSync), RSS.
# Full size by default (1,000,000 documents); BENCH_DOCS / BENCH_SINGLE shrink it, BENCH_DIR picks the disk.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench store "$@"
