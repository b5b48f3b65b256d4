#!/usr/bin/env bash
# Long runs of the randomized tests: the model/replay property test, the input-parser fuzzing and the
# SIGKILL crash test.
#   scripts/fuzz-store.sh [CASES] [KILLS]     (defaults: 2000 cases, 40 kills)
set -euo pipefail
cd "$(dirname "$0")/.."
PROPTEST_CASES="${1:-2000}" cargo test --release --test model
PROPTEST_CASES="${1:-2000}" cargo test --release --test fuzz_parsers
CRASH_ROUNDS="${2:-40}" cargo test --release --test crash
