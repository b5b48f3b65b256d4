#!/usr/bin/env bash
# Chaos test of leader and follower (release build): a mixed load while the leader, the follower or both
# are killed with SIGKILL at random moments, CHAOS_ROUNDS rounds (default 100), CHAOS_SEED (default 1).
# Each round prints the acknowledged writes, the lost ones (must be 0) and the time the follower took to
# converge. `cargo test` runs a 3-round slice in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHAOS_ROUNDS=${CHAOS_ROUNDS:-100}
exec cargo test --release --test chaos -- --nocapture
