#!/usr/bin/env bash
# Runs a pnpm script with the project's own toolchain, on any machine: installs Node 24 and the
# pinned pnpm from the npm registry when missing (scripts/bootstrap.sh), installs dependencies
# from the lockfile when node_modules is absent or stale, then runs `pnpm <args>`.
#   bash scripts/run.sh test        # every test, against a real Kafka broker and schema registry
#   bash scripts/run.sh build       # build every package
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  pnpm install --frozen-lockfile >&2
fi
exec pnpm "$@"
