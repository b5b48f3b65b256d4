#!/usr/bin/env bash
# The randomized differential test of the applier over many seeds (release build).
#   REPL_SEEDS=1..200 (a range or a comma list)   REPL_OPS=400 (operations per seed)
set -euo pipefail
cd "$(dirname "$0")/.."
export REPL_SEEDS="${REPL_SEEDS:-1..100}"
export REPL_OPS="${REPL_OPS:-400}"
exec cargo test --release --test replication_random random_operations_converge_seed_1 -- --nocapture
