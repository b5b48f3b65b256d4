#!/usr/bin/env bash
# Benchmark of the shell (release build): start-up to a ready prompt, `--javascript.execute-string
# 'db._version()'` end to end, `db.c.insert({})` x BENCH_INSERTS in a script, and the shell's RSS.
# BENCH_RUNS start-ups each (default 20), BENCH_INSERTS (default 10,000).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench shell "$@"
