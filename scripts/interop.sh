#!/usr/bin/env bash
# The interop suite: real clients installed from their registries by their own tools, at pinned
# versions — python-arango from PyPI (pip, tests/interop/python/requirements.txt) and arangojs from npm
# (npm ci, tests/interop/js/package-lock.json) — driving two real `arangorepl serve` processes, a leader
# and a follower, on free loopback ports with temporary directories; then a second time through
# `arangorepl proxy`: the leader behind one, and as the follower a proxy in front of a server answering
# as ArangoDB 3.12.10 (no applier of its own) — every driver call forwarded, the replication API
# answered by the proxy.
#
#   scripts/interop.sh            both suites
#   INTEROP_ONLY=python|js ...    one of them
#   INTEROP_VIA=direct|proxy ...  one of the two passes
#   ARANGOREPL_BIN=path           the binary to test (default: target/debug/arangorepl, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${ARANGOREPL_BIN:-target/debug/arangorepl}
only=${INTEROP_ONLY:-}
via=${INTEROP_VIA:-}
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

# launch VAR ARGS…: starts `arangorepl ARGS…` with a fresh directory and sets VAR to its http:// URL
launch() {
  local var=$1 dir
  shift
  dir=$(mktemp -d "${TMPDIR:-/tmp}/arangorepl-interop-XXXXXX")
  dirs+=("$dir")
  ARANGODB_DEFAULT_ROOT_PASSWORD=pw ARANGOREPL_UPSTREAM_PASSWORD=pw "$root/$bin" "$@" \
    --server.endpoint tcp://127.0.0.1:0 --database.directory "$dir/data" --log.level warning \
    >"$dir/out" 2>"$dir/err" &
  pids+=($!)
  local url=""
  for _ in $(seq 1 300); do
    url=$(sed -n 's#.*listening on tcp://\([^ ]*\).*#http://\1#p' "$dir/out" | head -n1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "interop: arangorepl $1 did not start:" >&2
    cat "$dir/err" >&2
    exit 1
  fi
  printf -v "$var" '%s' "$url"
}

# suites LEADER FOLLOWER LABEL: both suites against these two URLs
status=0
suites() {
  export ARANGOREPL_LEADER=$1 ARANGOREPL_FOLLOWER=$2 ARANGOREPL_PASSWORD=pw
  echo "interop ($3): leader $1, follower $2"
  if [ -z "$only" ] || [ "$only" = python ]; then
    echo "interop ($3): python-arango $("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("python-arango"))')"
    "$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop/python || status=1
  fi
  if [ -z "$only" ] || [ "$only" = js ]; then
    echo "interop ($3): arangojs $(node -p 'require("./tests/interop/js/node_modules/arangojs/package.json").version')"
    (cd tests/interop/js && node --test --test-reporter=spec) || status=1
  fi
}

if [ -z "$via" ] || [ "$via" = direct ]; then
  launch leader serve
  launch follower serve
  suites "$leader" "$follower" "direct"
fi
if [ -z "$via" ] || [ "$via" = proxy ]; then
  launch leader2 serve
  launch upstream serve --compat.arangodb-version 3.12.10
  launch leader_proxy proxy --upstream.endpoint "${leader2/http:/tcp:}"
  launch follower_proxy proxy --upstream.endpoint "${upstream/http:/tcp:}"
  suites "$leader_proxy" "$follower_proxy" "through arangorepl proxy"
fi
exit $status
