#!/usr/bin/env bash
# The interop suite: real clients installed from their registries by their own tools, at pinned
# versions — python-arango from PyPI (pip, tests/interop/python/requirements.txt) and arangojs from npm
# (npm ci, tests/interop/js/package-lock.json) — driving two real `arangorepl serve` processes, a leader
# and a follower, on free loopback ports with temporary directories.
#
#   scripts/interop.sh            both suites
#   INTEROP_ONLY=python|js ...    one of them
#   ARANGOREPL_BIN=path           the binary to test (default: target/debug/arangorepl, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${ARANGOREPL_BIN:-target/debug/arangorepl}
only=${INTEROP_ONLY:-}
work=target/interop
mkdir -p "$work"
if [ ! -x "$bin" ]; then
  cargo build --bin arangorepl
fi

# ---- clients ------------------------------------------------------------------------------------
if [ -z "$only" ] || [ "$only" = python ]; then
  if [ ! -x "$work/venv/bin/python" ]; then
    python3 -m venv "$work/venv"
  fi
  "$work/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/interop/python/requirements.txt
fi
if [ -z "$only" ] || [ "$only" = js ]; then
  (cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error)
fi

# ---- servers ------------------------------------------------------------------------------------
pids=()
dirs=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# start_server VAR: starts a server and sets VAR to its http:// URL
start_server() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/arangorepl-interop-XXXXXX")
  dirs+=("$dir")
  ARANGODB_DEFAULT_ROOT_PASSWORD=pw "$root/$bin" serve --server.endpoint tcp://127.0.0.1:0 \
    --database.directory "$dir/data" --log.level warning >"$dir/out" 2>"$dir/err" &
  pids+=($!)
  local url=""
  for _ in $(seq 1 300); do
    url=$(sed -n 's#.*listening on tcp://\([^ ]*\).*#http://\1#p' "$dir/out" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "interop: the server did not start:" >&2
    cat "$dir/err" >&2
    exit 1
  fi
  printf -v "$1" '%s' "$url"
}
start_server leader
start_server follower
export ARANGOREPL_LEADER=$leader ARANGOREPL_FOLLOWER=$follower ARANGOREPL_PASSWORD=pw
echo "interop: leader $leader, follower $follower"

# ---- suites -------------------------------------------------------------------------------------
status=0
if [ -z "$only" ] || [ "$only" = python ]; then
  echo "interop: python-arango $("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("python-arango"))')"
  "$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop/python || status=1
fi
if [ -z "$only" ] || [ "$only" = js ]; then
  echo "interop: arangojs $(node -p 'require("./tests/interop/js/node_modules/arangojs/package.json").version')"
  (cd tests/interop/js && node --test --test-reporter=spec) || status=1
fi
exit $status
