#!/usr/bin/env bash
# Runs every test: formatting, lints (server and browser builds), checked-SQL data, unit,
# database and API tests, then Playwright in Debian's Chromium against a dev build.
# With no DATABASE_URL it starts a private PostgreSQL cluster for the run (like the server).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A CI machine builds once: incremental caches would only double the disk used by target/.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
total_start=$SECONDS
step_start=$SECONDS
step() {
  if [ -n "${current:-}" ]; then
    printf '\033[1m[test]\033[0m %-34s done in %4ds (disk free: %s)\n' "$current" $((SECONDS - step_start)) \
      "$(df -h --output=avail . | tail -1 | tr -d ' ')"
  fi
  current=$1
  step_start=$SECONDS
  printf '\033[1m[test]\033[0m %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
}

pids=()
cleanup() {
  for p in "${pids[@]:-}"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

step "install tools"
scripts/setup.sh test

step "cargo fmt --check"
cargo fmt --all -- --check

step "dev build (server + wasm)"
cargo leptos build

step "database for the tests"
if [ -n "${DATABASE_URL:-}" ]; then
  admin_url=$DATABASE_URL
else
  rm -rf target/test-pg
  mkdir -p target/test-pg
  SONGDA_DATA_DIR=target/test-pg SONGDA_PG_FSYNC=off target/debug/songda postgres > target/test-pg/url 2> target/test-pg/cluster.log &
  pids+=($!)
  for _ in $(seq 1 300); do
    grep -q '^DATABASE_URL=' target/test-pg/url 2>/dev/null && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat target/test-pg/cluster.log; exit 1; }
    sleep 0.2
  done
  admin_url=$(sed -n 's/^DATABASE_URL=//p' target/test-pg/url)
fi
db_url() { printf '%s/%s' "${admin_url%/*}" "$1"; }
fresh_db() {
  psql -q "$admin_url" -c "drop database if exists $1 with (force)" -c "create database $1"
  DATABASE_URL=$(db_url "$1") target/debug/songda migrate
}
fresh_db songda_sqlx_check

step "clippy (server) + checked SQL"
# Re-expanding the query macros against the migrated schema writes what .sqlx/ must contain.
rm -rf target/sqlx-check && mkdir -p target/sqlx-check
touch app/src/lib.rs server/src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/target/sqlx-check" DATABASE_URL=$(db_url songda_sqlx_check) \
  cargo clippy -p routing -p app -p server --all-targets --features app/ssr -- -D warnings
if ! diff -r .sqlx target/sqlx-check >/dev/null; then
  echo "[test] .sqlx/ is stale: run scripts/sqlx-prepare.sh and commit .sqlx/" >&2
  diff -rq .sqlx target/sqlx-check >&2 || true
  exit 1
fi

step "clippy (browser/wasm)"
cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

step "unit, database and API tests"
DATABASE_URL=$admin_url cargo test -p routing -p app -p server --features app/ssr

step "end-to-end (Playwright + Chromium)"
fresh_db songda_e2e
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# No map tiles: this machine is offline, and maps must stay useful without them. The suite
# signs up and logs in from one address faster than a person: the log-in limiter is proven by
# the API tests, so it is widened here (a release server otherwise answers 429 mid-suite).
DATABASE_URL=$(db_url songda_e2e) SONGDA_ADDR=127.0.0.1:$port SONGDA_LOG=warn SONGDA_TILE_URL=none SONGDA_AUTH_BURST=1000 \
  target/debug/songda > target/e2e-server.log 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat target/e2e-server.log; exit 1; }
  sleep 0.2
done
# The database URL lets a test play the store's part (accepting an order) until the
# merchant console exists.
(cd end2end && SONGDA_E2E_URL="http://127.0.0.1:$port" SONGDA_E2E_DATABASE_URL=$(db_url songda_e2e) npx playwright test)

step "done"
printf '\033[1m[test]\033[0m all tests passed in %dm%02ds\n' $(((SECONDS - total_start) / 60)) $(((SECONDS - total_start) % 60))
