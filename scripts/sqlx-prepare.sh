#!/usr/bin/env bash
# Refreshes .sqlx/ (the checked-SQL data that lets builds run without a database).
# Needs DATABASE_URL pointing at a PostgreSQL server where it may create a database.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a server where a scratch database can be created}"
# SQLX_PREPARE_DB names the scratch database, so two work trees can prepare side by side.
scratch="${SQLX_PREPARE_DB:-songda_sqlx_prepare}"
db="${DATABASE_URL%/*}/$scratch"
psql -q "$DATABASE_URL" -c "drop database if exists $scratch with (force)" -c "create database $scratch"
# psql rather than `songda migrate`: building songda itself needs the query data being made.
for f in migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 "$db" -f "$f"; done
rm -rf .sqlx && mkdir .sqlx
touch app/src/lib.rs server/src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL=$db \
  cargo check -q -p routing -p app -p server --all-targets --features app/ssr
echo "[sqlx-prepare] $(ls .sqlx | wc -l) queries in .sqlx/"
