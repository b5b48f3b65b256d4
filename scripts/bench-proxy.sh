#!/usr/bin/env bash
# Benchmark of `arangorepl proxy` in front of a server answering as ArangoDB 3.12.10 (release build):
# the initial sync through the proxy next to a local sync of the same data (ratio), what forwarding adds
# to a request, the proxy's RSS; then the applier benchmark through the proxy (catch-up, lag at 2,000
# writes/s). BENCH_DOCS, BENCH_READS, BENCH_OPS, BENCH_RATE, BENCH_SECS adjust it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench proxy "$@"
BENCH_VIA=proxy cargo bench --bench applier "$@"
