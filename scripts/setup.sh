#!/usr/bin/env bash
# Installs what Songda needs to build and run, from the package registries only
# (Debian, crates.io, npm). Safe to run again: each step is skipped when already done.
#   scripts/setup.sh run    tools to build and run the platform
#   scripts/setup.sh test   the same, plus Chromium for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/,"",$3); print $3; exit}' Cargo.lock)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "[setup] need root to run: $*" >&2; exit 1
  fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

# PostgreSQL server binaries (the server starts its own private cluster from them).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing Debian's postgresql"
  apt_install postgresql
fi
# The cluster runs as an unprivileged user when we are root (Postgres refuses root).
if [ "$(id -u)" -eq 0 ] && ! id -u "${SONGDA_PG_USER:-postgres}" >/dev/null 2>&1; then
  say "creating system user ${SONGDA_PG_USER:-postgres}"
  useradd --system --no-create-home --shell /usr/sbin/nologin "${SONGDA_PG_USER:-postgres}"
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  apt_install chromium
fi
# The test command waits for the server with curl and picks ports with python3.
if [ "$mode" = test ] && ! command -v curl >/dev/null; then apt_install curl; fi
if [ "$mode" = test ] && ! command -v python3 >/dev/null; then apt_install python3; fi

if ! command -v npm >/dev/null; then
  say "installing Debian's nodejs and npm"
  apt_install nodejs npm
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

registry_src() { ls -d "$HOME"/.cargo/registry/src/index.crates.io-*/"$1" 2>/dev/null | head -n1; }

# cargo-leptos: its lock file needs a dependency pinned back to build with this rustc.
if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "building cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores)"
  cargo info "cargo-leptos@$CARGO_LEPTOS_VERSION" >/dev/null
  src=$(mktemp -d)
  cp -r "$(registry_src "cargo-leptos-$CARGO_LEPTOS_VERSION")/." "$src"
  (cd "$src" && rm -f rust-toolchain.toml \
    && cargo update -q -p cargo-util-schemas --precise 0.14.1 \
    && cargo install -q --locked --path .)
  rm -rf "$src"
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 6 minutes)"
  cargo info "wasm-bindgen-cli@$WASM_BINDGEN_VERSION" >/dev/null
  src=$(mktemp -d)
  cp -r "$(registry_src "wasm-bindgen-cli-$WASM_BINDGEN_VERSION")/." "$src"
  (cd "$src" && cargo update -q -p webpki-roots --precise 1.0.10 && cargo install -q --locked --path .)
  rm -rf "$src"
fi

# npm packages: Playwright (driving Debian's Chromium) and binaryen's wasm-opt 132
# (Debian's binaryen 108 silently breaks hydration).
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing end2end npm packages"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi
say "tools ready"
