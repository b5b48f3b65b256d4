#!/usr/bin/env bash
# Long runs of the store's randomized tests: the model/replay property test and the SIGKILL crash test.
#   scripts/fuzz-store.sh [CASES] [KILLS]     (defaults: 2000 model cases, 40 kills)
set -euo pipefail
cd "$(dirname "$0")/.."
PROPTEST_CASES="${1:-2000}" cargo test --release --test model
CRASH_ROUNDS="${2:-40}" cargo test --release --test crash
