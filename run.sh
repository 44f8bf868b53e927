#!/usr/bin/env bash
# Builds Songda (release) and starts it. With no DATABASE_URL it runs its own PostgreSQL
# under ./.data/ and seeds the demo city on first start. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh run
echo "[run] building (first build takes ~15 minutes on 2 cores, later ones about a minute)"
PATH="$PWD/end2end/node_modules/.bin:$PATH" cargo leptos build --release
LEPTOS_ENV=PROD exec target/release/songda "$@"
