#!/usr/bin/env bash
# Ensures Node >= 22 and the pinned pnpm are on PATH, installing them from the npm registry when the
# machine's are missing or too old, so no step depends on tools someone installed by hand.
# Usage: source scripts/bootstrap.sh   (or: eval "$(bash scripts/bootstrap.sh --print-path)")
set -euo pipefail

BUS_NODE_VERSION="${BUS_NODE_VERSION:-24.21.0}"
BUS_PNPM_VERSION="${BUS_PNPM_VERSION:-10.34.8}"
BUS_TOOLS_DIR="${BUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bus/tools}"

bus_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

bus_ensure_node() {
  if command -v node >/dev/null 2>&1 && [ "$(bus_node_major)" -ge 22 ]; then return 0; fi
  local prefix="$BUS_TOOLS_DIR/node-$BUS_NODE_VERSION"
  if [ ! -x "$prefix/node_modules/node/bin/node" ]; then
    echo "bootstrap: installing Node $BUS_NODE_VERSION from the npm registry into $prefix" >&2
    mkdir -p "$prefix"
    # The `node` package ships the platform binary through a per-arch package; npm runs its preinstall.
    npm install --no-save --no-audit --no-fund --prefix "$prefix" "node@$BUS_NODE_VERSION" >&2
  fi
  export PATH="$prefix/node_modules/node/bin:$PATH"
  [ "$(bus_node_major)" -ge 22 ] || { echo "bootstrap: Node >= 22 still not available" >&2; return 1; }
}

bus_ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$BUS_PNPM_VERSION" ]; then return 0; fi
  local prefix="$BUS_TOOLS_DIR/pnpm-$BUS_PNPM_VERSION"
  if [ ! -x "$prefix/node_modules/.bin/pnpm" ]; then
    echo "bootstrap: installing pnpm $BUS_PNPM_VERSION from the npm registry into $prefix" >&2
    mkdir -p "$prefix"
    npm install --no-save --no-audit --no-fund --prefix "$prefix" "pnpm@$BUS_PNPM_VERSION" >&2
  fi
  export PATH="$prefix/node_modules/.bin:$PATH"
}

bus_ensure_node
bus_ensure_pnpm
if [ "${1:-}" = "--print-path" ]; then echo "export PATH=\"$PATH\""; fi
