#!/usr/bin/env bash
# The main command, `bash scripts/run.sh demo [--kafka] [--orders N]` (scripts/run.sh has installed the
# toolchain and the dependencies): builds what the demo needs (turbo: cached after the first time), and with
# --kafka and no KAFKA_BROKERS uses the local broker and registry of scripts/infra, starting them when they
# are not running. Then runs the three example apps together (apps/demo).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "building the example apps and the packages they use (cached after the first run)..." >&2
pnpm exec turbo run build --filter=@example/demo... --output-logs=errors-only --log-prefix=none >&2

if [[ " $* " == *" --kafka "* ]] && [ -z "${KAFKA_BROKERS:-}" ]; then
  if ! bash scripts/infra/infra.sh status >/dev/null 2>&1; then
    echo "starting the local Kafka broker and registry (Java 17 + Maven; stop them with: pnpm infra:down)..." >&2
    bash scripts/infra/infra.sh up >&2
  fi
  connection="${BUS_INFRA_HOME:-$HOME/.cache/bus/infra}/run/connection.json"
  KAFKA_BROKERS="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).kafka.brokers.join(","))' "$connection")"
  SCHEMA_REGISTRY_URL="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).registry.url)' "$connection")"
  export KAFKA_BROKERS SCHEMA_REGISTRY_URL
fi

exec node apps/demo/dist/main.js "$@"
