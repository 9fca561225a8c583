#!/usr/bin/env bash
# Local test infrastructure without Docker: one Apache Kafka node (KRaft, combined broker+controller)
# and Apicurio Registry (Confluent-compatible API) keeping its schemas in a Kafka topic of that broker
# (KafkaSQL storage), both resolved from Maven Central into a cache outside the repo and run as plain JVM
# processes on loopback.
#
#   bash scripts/infra/infra.sh up | down | status | restart-kafka | fetch | paths | registry-paths
#   bash scripts/infra/infra.sh cluster up | down | status | kill9 N | stop N | start N   (see cluster.sh)
#   bash scripts/infra/infra.sh jaeger up | down | status | fetch   (Jaeger for tracing tests, see jaeger.sh;
#                                                                    `up` starts it too, `down` stops it)
#
# Environment (all optional):
#   BUS_INFRA_HOME            cache + run dir            (default ~/.cache/bus/infra)
#   BUS_KAFKA_VERSION         org.apache.kafka:kafka_2.13 version     (default 4.3.1)
#   BUS_APICURIO_VERSION      io.apicurio:apicurio-registry-app version (default 3.0.9)
#   BUS_KAFKA_PORT=19092  BUS_KAFKA_CONTROLLER_PORT=19093  BUS_KAFKA_SASL_PORT=19094
#   BUS_KAFKA_SSL_PORT=19095  BUS_KAFKA_MTLS_PORT=19096  BUS_REGISTRY_PORT=18081
#   BUS_JAVA_HOME             JDK to use (else JAVA_HOME, java on PATH, /usr/lib/jvm/*)
#   BUS_MAVEN_REPO            Maven local repository     (default $BUS_INFRA_HOME/m2)
#   BUS_MAVEN_CENTRAL         Maven Central base URL     (default https://repo1.maven.org/maven2)
#   BUS_INFRA_TIMEOUT_S       startup deadline, seconds  (default 180)
#   BUS_KAFKA_CLUSTER_ID      KRaft cluster id for `up`'s format step (default random)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
H="${BUS_INFRA_HOME:-$HOME/.cache/bus/infra}"
RUN="$H/run"
HOST=127.0.0.1
# Names of the registry's KafkaSQL topics (journal, snapshots, events) and consumer groups.
REGISTRY_TOPIC_PREFIX=_apicurio
TIMEOUT_S="${BUS_INFRA_TIMEOUT_S:-180}"
MAVEN_CENTRAL="${BUS_MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"
MAVEN_REPO="${BUS_MAVEN_REPO:-$H/m2}"
DEFAULT_APICURIO_VERSION=3.0.9

# Test credentials (documented in docs/infrastructure.md; loopback-only test broker).
PLAIN_USER=busplain
PLAIN_PASS=busplain-secret
SCRAM256_USER=busscram256
SCRAM256_PASS=busscram256-secret
SCRAM512_USER=busscram512
SCRAM512_PASS=busscram512-secret
TLS_PASS=bus-test-pass

log() { echo "infra: $*" >&2; }
die() {
  echo "infra: error: $*" >&2
  exit 1
}
now_s() { date +%s; }

# ---------------------------------------------------------------------------------------------- settings
# Settings of a running infra are pinned in $RUN/infra.env so down/status/restart-kafka use the same
# ports and versions as the `up` that started it, whatever the caller's environment says.
load_settings() {
  unset KAFKA_VERSION APICURIO_VERSION KAFKA_PORT CONTROLLER_PORT SASL_PORT SSL_PORT MTLS_PORT REGISTRY_PORT
  if [ -f "$RUN/infra.env" ] && { [ -f "$RUN/kafka.pid" ] || [ -f "$RUN/registry.pid" ]; }; then
    # shellcheck disable=SC1091
    . "$RUN/infra.env"
  fi
  KAFKA_VERSION="${KAFKA_VERSION:-${BUS_KAFKA_VERSION:-4.3.1}}"
  APICURIO_VERSION="${APICURIO_VERSION:-${BUS_APICURIO_VERSION:-$DEFAULT_APICURIO_VERSION}}"
  KAFKA_PORT="${KAFKA_PORT:-${BUS_KAFKA_PORT:-19092}}"
  CONTROLLER_PORT="${CONTROLLER_PORT:-${BUS_KAFKA_CONTROLLER_PORT:-19093}}"
  SASL_PORT="${SASL_PORT:-${BUS_KAFKA_SASL_PORT:-19094}}"
  SSL_PORT="${SSL_PORT:-${BUS_KAFKA_SSL_PORT:-19095}}"
  MTLS_PORT="${MTLS_PORT:-${BUS_KAFKA_MTLS_PORT:-19096}}"
  REGISTRY_PORT="${REGISTRY_PORT:-${BUS_REGISTRY_PORT:-18081}}"
  KAFKA_HOME="$H/kafka-$KAFKA_VERSION"
}

save_settings() {
  mkdir -p "$RUN"
  cat >"$RUN/infra.env" <<EOF
KAFKA_VERSION=$KAFKA_VERSION
APICURIO_VERSION=$APICURIO_VERSION
KAFKA_PORT=$KAFKA_PORT
CONTROLLER_PORT=$CONTROLLER_PORT
SASL_PORT=$SASL_PORT
SSL_PORT=$SSL_PORT
MTLS_PORT=$MTLS_PORT
REGISTRY_PORT=$REGISTRY_PORT
EOF
}

# ---------------------------------------------------------------------------------------------- java
java_major() {
  local v
  v="$("$1" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')" || return 1
  v="${v#1.}"
  echo "${v%%[.+-]*}"
}

# find_java MIN: prints the path of the first java >= MIN among BUS_JAVA_HOME, JAVA_HOME, PATH, /usr/lib/jvm.
find_java() {
  local min="$1" c m
  local candidates=()
  [ -n "${BUS_JAVA_HOME:-}" ] && candidates+=("$BUS_JAVA_HOME/bin/java")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for c in /usr/lib/jvm/*/bin/java /opt/java/*/bin/java; do [ -x "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c" ] || continue
    m="$(java_major "$c" 2>/dev/null || echo 0)"
    if [ -n "$m" ] && [ "$m" -ge "$min" ] 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

apicurio_min_java() {
  # Apicurio Registry 3.0.x runs on Java 17; 3.2 and later need Java 21.
  local minor
  minor="$(echo "$1" | cut -d. -f2)"
  if [ "${1%%.*}" -ge 4 ] 2>/dev/null || [ "$minor" -ge 2 ] 2>/dev/null; then echo 21; else echo 17; fi
}

select_javas() {
  KAFKA_JAVA="$(find_java 17)" || die "Kafka $KAFKA_VERSION needs Java >= 17 (set BUS_JAVA_HOME or install openjdk-17-jre-headless)."
  local need
  need="$(apicurio_min_java "$APICURIO_VERSION")"
  if ! REGISTRY_JAVA="$(find_java "$need")"; then
    if [ "$APICURIO_VERSION" != "$DEFAULT_APICURIO_VERSION" ]; then
      log "Apicurio $APICURIO_VERSION needs Java >= $need, none found: falling back to Apicurio $DEFAULT_APICURIO_VERSION (Java 17)"
      APICURIO_VERSION="$DEFAULT_APICURIO_VERSION"
      REGISTRY_JAVA="$KAFKA_JAVA"
    else
      die "Apicurio $APICURIO_VERSION needs Java >= $need"
    fi
  fi
}

# ---------------------------------------------------------------------------------------------- fetch
fetch_kafka() {
  if [ -f "$KAFKA_HOME/.complete" ]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed once to resolve Kafka $KAFKA_VERSION from Maven Central (apt-get install maven)."
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION + log4j2 from Maven Central into $KAFKA_HOME (once)"
  local t0
  t0="$(now_s)"
  rm -rf "$KAFKA_HOME.tmp"
  mkdir -p "$KAFKA_HOME.tmp"
  mvn -q -B -f "$SCRIPT_DIR/pom.xml" -Dmaven.repo.local="$MAVEN_REPO" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME.tmp/libs" >&2 ||
    die "mvn could not resolve Kafka $KAFKA_VERSION (see output above)"
  local javac
  javac="$(dirname "$(readlink -f "$KAFKA_JAVA")")/javac"
  [ -x "$javac" ] || javac="$(command -v javac || true)"
  [ -n "$javac" ] || die "javac not found next to $KAFKA_JAVA: install a JDK (not only a JRE), e.g. openjdk-17-jdk-headless"
  mkdir -p "$KAFKA_HOME.tmp/classes"
  "$javac" -nowarn -d "$KAFKA_HOME.tmp/classes" -cp "$KAFKA_HOME.tmp/libs/*" "$SCRIPT_DIR/HealthCheck.java" >&2
  touch "$KAFKA_HOME.tmp/.complete"
  rm -rf "$KAFKA_HOME"
  mv "$KAFKA_HOME.tmp" "$KAFKA_HOME"
  log "Kafka $KAFKA_VERSION resolved in $(($(now_s) - t0))s ($(ls "$KAFKA_HOME/libs" | wc -l) jars)"
}

fetch_apicurio() {
  local dir="$H/apicurio-$APICURIO_VERSION"
  if [ -f "$dir/.complete" ]; then return 0; fi
  # The app's published POM points at a parent POM that is not on Maven Central, so Maven cannot resolve
  # the artifact; fetch the file itself from Maven Central and check its published SHA-1.
  local name="apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  local url="$MAVEN_CENTRAL/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/$name"
  log "downloading io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all from Maven Central (once)"
  local t0
  t0="$(now_s)"
  mkdir -p "$H/dl"
  curl -fsSL --retry 3 -o "$H/dl/$name.part" "$url" || die "download failed: $url"
  local want got
  want="$(curl -fsSL --retry 3 "$url.sha1" | awk '{print $1}')"
  got="$(sha1sum "$H/dl/$name.part" | awk '{print $1}')"
  [ "$want" = "$got" ] || die "SHA-1 mismatch for $url (want $want, got $got)"
  mv "$H/dl/$name.part" "$H/dl/$name"
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  tar xzf "$H/dl/$name" -C "$dir.tmp"
  [ -n "$(registry_jar "$dir.tmp")" ] || die "unexpected layout in $name (no runner jar)"
  rm -f "$H/dl/$name"
  touch "$dir.tmp/.complete"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
  log "Apicurio $APICURIO_VERSION fetched in $(($(now_s) - t0))s"
}

# ---------------------------------------------------------------------------------------------- tls
ensure_tls() {
  local d="$H/tls"
  if [ -f "$d/.complete" ]; then return 0; fi
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to generate the test CA"
  log "generating a test CA, broker and client certificates in $d"
  rm -rf "$d.tmp"
  mkdir -p "$d.tmp"
  (
    cd "$d.tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
      -subj "/CN=bus-test-ca" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' >broker.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
    openssl x509 -req -sha256 -days 3650 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -extfile broker.ext -out broker.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=bus-test-client" 2>/dev/null
    openssl x509 -req -sha256 -days 3650 -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -extfile client.ext -out client.pem 2>/dev/null
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$TLS_PASS" -out broker.p12
    rm -f ./*.csr ./*.ext
    touch .complete
  )
  rm -rf "$d"
  mv "$d.tmp" "$d"
}

# ---------------------------------------------------------------------------------------------- processes
# A PID counts as ours only if it is alive and its command line carries our marker (PIDs get reused).
pid_alive() {
  local pidfile="$1" role="$2" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(role_marker "$role")" || return 1
  # A zombie is dead for our purposes.
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]
}

# What the command line of a process of ROLE carries: a JVM system property, or Jaeger's config file name.
role_marker() {
  case "$1" in
  jaeger) echo "bus-infra-jaeger.yaml" ;;
  *) echo "-Dbus.infra.role=$1" ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# stop_pids DEADLINE_S pidfile:role ...: TERM all, poll until gone, KILL leftovers after the deadline.
stop_pids() {
  local deadline=$(($(now_s) + $1)) item pf role pid any
  shift
  for item in "$@"; do
    pf="${item%%:*}" role="${item##*:}"
    if pid_alive "$pf" "$role"; then
      pid="$(cat "$pf")"
      log "stopping $role (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  while :; do
    any=0
    for item in "$@"; do
      pf="${item%%:*}" role="${item##*:}"
      pid_alive "$pf" "$role" && any=1
    done
    [ "$any" = 0 ] && break
    if [ "$(now_s)" -ge "$deadline" ]; then
      for item in "$@"; do
        pf="${item%%:*}" role="${item##*:}"
        if pid_alive "$pf" "$role"; then
          pid="$(cat "$pf")"
          log "$role (pid $pid) did not stop in time: KILL"
          kill -KILL "$pid" 2>/dev/null || true
        fi
      done
      deadline=$(($(now_s) + 10))
    fi
    sleep 0.2 # poll interval, bounded by the deadline above
  done
  for item in "$@"; do rm -f "${item%%:*}"; done
}

write_kafka_config() {
  local d="$RUN/kafka"
  mkdir -p "$d"
  cat >"$d/server.properties" <<EOF
# Generated by scripts/infra/infra.sh: single-node KRaft broker+controller for tests. Do not use in production.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,SSL://$HOST:$SSL_PORT,MTLS://$HOST:$MTLS_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT,SASL_PLAINTEXT://$HOST:$SASL_PORT,SSL://$HOST:$SSL_PORT,MTLS://$HOST:$MTLS_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL
log.dirs=$d/data

# Single node: every replication factor 1, min ISR 1.
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
log.retention.hours=24

# SASL_PLAINTEXT: PLAIN (users in the JAAS config) and SCRAM (users created by StorageTool --add-scram).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$PLAIN_USER="$PLAIN_PASS";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

# SSL (server auth only) and MTLS (client certificate required), both with the generated test CA.
ssl.keystore.type=PKCS12
ssl.keystore.location=$H/tls/broker.p12
ssl.keystore.password=$TLS_PASS
ssl.key.password=$TLS_PASS
ssl.truststore.type=PEM
ssl.truststore.location=$H/tls/ca.pem
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
EOF
}

kafka_classpath() { echo "$KAFKA_HOME/libs/*:$KAFKA_HOME/classes"; }

kafka_jvm_opts() {
  echo "-Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true" \
    "-Dlog4j2.configurationFile=$RUN/log4j2.xml -Dbus.infra.role=$1 -Dbus.infra.home=$H"
}

# new_cluster_id [PINNED]: PINNED if given, else a random KRaft cluster id (16 bytes, URL-safe base64 without
# padding). Like Kafka's Uuid.randomUuid(), never one that starts with '-': tools read that as an option.
new_cluster_id() {
  local cid="${1:-}"
  while [ -z "$cid" ] || [ "${cid:0:1}" = "-" ] && [ -z "${1:-}" ]; do
    cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  echo "$cid"
}

# kraft_format ROLE CLUSTER_ID PROPERTIES LOG [StorageTool args...]: formats one node's storage.
# --cluster-id=ID (one token) is how StorageTool takes any id, even one that starts with '-'.
kraft_format() {
  local role="$1" cid="$2" props="$3" logfile="$4"
  shift 4
  # shellcheck disable=SC2046
  "$KAFKA_JAVA" $(kafka_jvm_opts "$role") -Xmx256m -cp "$(kafka_classpath)" kafka.tools.StorageTool format \
    "--cluster-id=$cid" -c "$props" "$@" >>"$logfile" 2>&1
}

format_kafka() {
  local d="$RUN/kafka"
  rm -rf "$d/data"
  kraft_format kafka-format "$(new_cluster_id "${BUS_KAFKA_CLUSTER_ID:-}")" "$d/server.properties" "$RUN/kafka.log" \
    --add-scram "SCRAM-SHA-256=[name=$SCRAM256_USER,password=$SCRAM256_PASS]" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM512_USER,password=$SCRAM512_PASS]" ||
    die "formatting KRaft storage failed: see $RUN/kafka.log"
}

start_kafka_process() {
  cd "$RUN"
  # setsid: the broker outlives the shell (and test run) that started it, until `down`; 9>&-: it must not
  # inherit the lock of this script.
  # shellcheck disable=SC2046
  setsid "$KAFKA_JAVA" $(kafka_jvm_opts kafka) -cp "$(kafka_classpath)" kafka.Kafka "$RUN/kafka/server.properties" \
    >>"$RUN/kafka.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/kafka.pid"
  cd - >/dev/null
}

# The runnable jar: legacy-jar packaging (3.0.x: apicurio-registry-app-<v>-runner.jar next to lib/) or
# Quarkus fast-jar (3.2+: quarkus-run.jar).
registry_jar() {
  local d="$1" j
  for j in "$d"/apicurio-registry-app-*-runner.jar "$d"/quarkus-run.jar; do
    if [ -f "$j" ]; then
      basename "$j"
      return 0
    fi
  done
}

# KafkaSQL storage, as users run Apicurio in production: every change goes to a journal topic of the
# broker, and a restarted registry replays it, so schema ids stay the same across restarts (with the
# in-memory default they restarted at 1 and collided with ids clients had cached). The journal is kept
# forever (retention.ms=-1; Apicurio 3's journal must not be compacted). Sets REGISTRY_STORAGE_ARGS for
# bootstrap servers $1, with topic and group names starting with $2.
# tools/test-infra/src/dedicated-registry.ts starts registries with the same arguments.
registry_storage_args() {
  local bootstrap="$1" prefix="$2"
  REGISTRY_STORAGE_ARGS=(
    -Dapicurio.storage.kind=kafkasql
    -Dapicurio.kafkasql.bootstrap.servers="$bootstrap"
    -Dapicurio.kafkasql.topic="$prefix-journal"
    -Dapicurio.kafkasql.topic.retention.ms=-1
    -Dapicurio.kafkasql.snapshots.topic="$prefix-snapshots"
    -Dapicurio.events.kafka.topic="$prefix-events"
    -Dapicurio.kafkasql.consumer.group-prefix="$prefix-"
  )
}

start_registry_process() {
  local dir="$H/apicurio-$APICURIO_VERSION" jar
  jar="$(registry_jar "$dir")"
  registry_storage_args "$HOST:$KAFKA_PORT" "$REGISTRY_TOPIC_PREFIX"
  cd "$dir"
  setsid "$REGISTRY_JAVA" -Xms128m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dbus.infra.role=registry -Dbus.infra.home="$H" \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.log.level=WARN -Dquarkus.log.category.io.apicurio.level=WARN \
    -Dquarkus.log.category.io.quarkus.level=INFO \
    "${REGISTRY_STORAGE_ARGS[@]}" \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -jar "$jar" >>"$RUN/registry.log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/registry.pid"
  cd - >/dev/null
}

wait_kafka() {
  local deadline="$1"
  while ! port_open "$KAFKA_PORT"; do
    pid_alive "$RUN/kafka.pid" kafka || {
      tail -n 40 "$RUN/kafka.log" >&2
      die "Kafka exited during startup (log: $RUN/kafka.log)"
    }
    [ "$(now_s)" -lt "$deadline" ] || die "Kafka did not open port $KAFKA_PORT in time (log: $RUN/kafka.log)"
    sleep 0.2 # poll interval, bounded by the deadline
  done
  local left=$((deadline - $(now_s)))
  [ "$left" -gt 0 ] || left=1
  "$KAFKA_JAVA" -Xmx128m -Dlog4j2.configurationFile="$RUN/log4j2.xml" -cp "$(kafka_classpath)" HealthCheck \
    "$HOST:$KAFKA_PORT" "$((left * 1000))" >"$RUN/kafka.health" 2>&1 || {
    cat "$RUN/kafka.health" >&2
    die "Kafka did not answer metadata requests in time (log: $RUN/kafka.log)"
  }
}

registry_url() { echo "http://$HOST:$REGISTRY_PORT"; }

wait_registry() {
  local deadline="$1" base
  base="$(registry_url)"
  # Readiness: the ccompat API answers (3.0.x also has /health/ready; 3.3 moved health off this port).
  until curl -fsS -o /dev/null "$base/apis/ccompat/v7/subjects" 2>/dev/null &&
    curl -fsS -o /dev/null "$base/apis/registry/v3/system/info" 2>/dev/null; do
    pid_alive "$RUN/registry.pid" registry || {
      tail -n 40 "$RUN/registry.log" >&2
      die "Apicurio exited during startup (log: $RUN/registry.log)"
    }
    [ "$(now_s)" -lt "$deadline" ] || die "Apicurio did not become ready in time (log: $RUN/registry.log)"
    sleep 0.2 # poll interval, bounded by the deadline
  done
}

configure_registry() {
  # Confluent's registry defaults to BACKWARD compatibility; Apicurio has no global rule by default, so
  # every compatibility check would pass. Set the global rule through the ccompat API.
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data '{"compatibility":"BACKWARD"}' "$(registry_url)/apis/ccompat/v7/config" ||
    die "could not set the registry's global compatibility rule"
}

registry_version() {
  curl -fsS "$(registry_url)/apis/registry/v3/system/info" 2>/dev/null |
    sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' || true
}

json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/}"
  printf '"%s"' "$s"
}

write_connection() {
  local rv
  rv="$(registry_version)"
  [ -n "$rv" ] || rv="$APICURIO_VERSION"
  local restart
  restart="BUS_INFRA_HOME='$H' bash '$SCRIPT_DIR/infra.sh' restart-kafka"
  cat >"$RUN/connection.json.tmp" <<EOF
{
  "source": "local-jvm",
  "kafka": {
    "brokers": ["$HOST:$KAFKA_PORT"],
    "version": "$KAFKA_VERSION",
    "sasl": {
      "brokers": ["$HOST:$SASL_PORT"],
      "plain": { "username": "$PLAIN_USER", "password": "$PLAIN_PASS" },
      "scram512": { "username": "$SCRAM512_USER", "password": "$SCRAM512_PASS" },
      "scram256": { "username": "$SCRAM256_USER", "password": "$SCRAM256_PASS" }
    },
    "ssl": {
      "brokers": ["$HOST:$SSL_PORT"],
      "caPem": $(json_str "$(cat "$H/tls/ca.pem")"),
      "clientCertPem": $(json_str "$(cat "$H/tls/client.pem")"),
      "clientKeyPem": $(json_str "$(cat "$H/tls/client.key")"),
      "mtlsBrokers": ["$HOST:$MTLS_PORT"]
    },
    "restartCommand": $(json_str "$restart")
  },
  "registry": {
    "url": "$(registry_url)/apis/ccompat/v7",
    "version": "apicurio $rv"
  }
}
EOF
  mv "$RUN/connection.json.tmp" "$RUN/connection.json"
}

check_port_free() {
  if port_open "$1"; then die "port $1 ($2) is already in use by another process; set $3 to another port"; fi
}

with_lock() {
  mkdir -p "$H"
  exec 9>"$H/.lock"
  flock -w 300 9 || die "another infra.sh holds $H/.lock for too long"
}

# ---------------------------------------------------------------------------------------------- commands
# If `up` fails, it stops what it started, so a failed start leaves no process behind.
UP_STARTED=()
up_cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "${#UP_STARTED[@]}" -gt 0 ]; then
    log "startup failed: stopping what this 'up' started"
    stop_pids 30 "${UP_STARTED[@]}" || true
  fi
}

cmd_up() {
  trap up_cleanup EXIT
  with_lock
  load_settings
  select_javas
  local t0 started=0
  t0="$(now_s)"
  local kafka_up=0 registry_up=0
  pid_alive "$RUN/kafka.pid" kafka && kafka_up=1
  pid_alive "$RUN/registry.pid" registry && registry_up=1
  if [ "$kafka_up" = 1 ] && [ "$registry_up" = 1 ]; then
    log "already running (kafka pid $(cat "$RUN/kafka.pid"), registry pid $(cat "$RUN/registry.pid"))"
  fi
  if [ "$kafka_up" = 0 ] && [ "$registry_up" = 1 ]; then
    # Its journal lives in the broker that is about to be formatted afresh: start it again on the new one.
    log "restarting the registry: its storage is in the broker being re-created"
    stop_pids 30 "$RUN/registry.pid:registry"
    registry_up=0
  fi
  # Jaeger builds (once, minutes) while Kafka and the registry start.
  load_jaeger_settings
  local jaeger_fetch=""
  if ! pid_alive "$RUN/jaeger.pid" jaeger && [ ! -x "$JAEGER_HOME/jaeger" ]; then
    if find_go >/dev/null; then
      (fetch_jaeger) &
      jaeger_fetch=$!
    else
      log "warning: Go not found, so Jaeger (tracing tests of @bus/otel) is not started: install Go >= 1.24"
    fi
  fi
  fetch_kafka
  fetch_apicurio
  ensure_tls
  save_settings
  mkdir -p "$RUN"
  cp "$SCRIPT_DIR/log4j2.xml" "$RUN/log4j2.xml"
  if [ "$kafka_up" = 0 ]; then
    check_port_free "$KAFKA_PORT" "Kafka PLAINTEXT" BUS_KAFKA_PORT
    check_port_free "$CONTROLLER_PORT" "Kafka CONTROLLER" BUS_KAFKA_CONTROLLER_PORT
    check_port_free "$SASL_PORT" "Kafka SASL_PLAINTEXT" BUS_KAFKA_SASL_PORT
    check_port_free "$SSL_PORT" "Kafka SSL" BUS_KAFKA_SSL_PORT
    check_port_free "$MTLS_PORT" "Kafka mTLS" BUS_KAFKA_MTLS_PORT
    : >"$RUN/kafka.log"
    write_kafka_config
    format_kafka
    start_kafka_process
    started=1
    UP_STARTED+=("$RUN/kafka.pid:kafka")
  fi
  local deadline=$(($(now_s) + TIMEOUT_S))
  # The registry keeps its schemas in the broker (KafkaSQL): it starts once the broker answers.
  wait_kafka "$deadline"
  if [ "$registry_up" = 0 ]; then
    check_port_free "$REGISTRY_PORT" "Apicurio Registry" BUS_REGISTRY_PORT
    : >"$RUN/registry.log"
    start_registry_process
    started=1
    UP_STARTED+=("$RUN/registry.pid:registry")
  fi
  wait_registry "$deadline"
  [ "$registry_up" = 1 ] || configure_registry
  write_connection
  if [ -n "$jaeger_fetch" ]; then wait "$jaeger_fetch" || die "building Jaeger failed (see output above)"; fi
  if [ -x "$JAEGER_HOME/jaeger" ] || pid_alive "$RUN/jaeger.pid" jaeger; then
    pid_alive "$RUN/jaeger.pid" jaeger || started=1
    jaeger_up
  fi
  UP_STARTED=()
  if [ "$started" = 1 ]; then log "ready in $(($(now_s) - t0))s"; fi
  print_summary
}

print_summary() {
  echo "Kafka $KAFKA_VERSION (KRaft, pid $(cat "$RUN/kafka.pid" 2>/dev/null || echo '?'))" \
    "PLAINTEXT $HOST:$KAFKA_PORT  SASL_PLAINTEXT $HOST:$SASL_PORT  SSL $HOST:$SSL_PORT  mTLS $HOST:$MTLS_PORT  CONTROLLER $HOST:$CONTROLLER_PORT"
  echo "Apicurio Registry $(registry_version) (pid $(cat "$RUN/registry.pid" 2>/dev/null || echo '?'))" \
    "$(registry_url)/apis/ccompat/v7"
  if pid_alive "$RUN/jaeger.pid" jaeger; then
    echo "Jaeger $JAEGER_VERSION (pid $(cat "$RUN/jaeger.pid")) OTLP/HTTP http://$HOST:$JAEGER_OTLP_PORT  query http://$HOST:$JAEGER_QUERY_PORT"
  fi
  echo "connection: $RUN/connection.json  logs: $RUN/kafka.log $RUN/registry.log"
}

stop_dedicated() {
  # Dedicated brokers started by tools/test-infra (startDedicatedKafka) that their tests left behind.
  local pf items=()
  for pf in "$RUN"/dedicated/*.pid; do
    [ -f "$pf" ] || continue
    items+=("$pf:dedicated-kafka")
  done
  [ "${#items[@]}" -eq 0 ] || stop_pids 30 "${items[@]}"
}

cmd_down() {
  with_lock
  load_settings
  local t0
  t0="$(now_s)"
  load_jaeger_settings
  stop_pids 30 "$RUN/registry.pid:registry" "$RUN/kafka.pid:kafka" "$RUN/jaeger.pid:jaeger"
  rm -f "$RUN/jaeger.json" "$RUN/jaeger.env"
  stop_dedicated
  stop_all_clusters
  rm -f "$RUN/connection.json" "$RUN/infra.env"
  log "stopped in $(($(now_s) - t0))s"
}

cmd_restart_kafka() {
  with_lock
  load_settings
  select_javas
  [ -f "$RUN/kafka/server.properties" ] || die "no broker configuration in $RUN: run 'infra.sh up' first"
  local t0
  t0="$(now_s)"
  stop_pids 30 "$RUN/kafka.pid:kafka"
  start_kafka_process
  wait_kafka $(($(now_s) + TIMEOUT_S))
  log "Kafka restarted in $(($(now_s) - t0))s (pid $(cat "$RUN/kafka.pid"))"
}

cmd_status() {
  load_settings
  local rc=0
  if pid_alive "$RUN/kafka.pid" kafka; then
    if port_open "$KAFKA_PORT"; then
      echo "kafka:    running  Kafka $KAFKA_VERSION  pid $(cat "$RUN/kafka.pid")  PLAINTEXT $HOST:$KAFKA_PORT SASL $HOST:$SASL_PORT SSL $HOST:$SSL_PORT mTLS $HOST:$MTLS_PORT"
    else
      echo "kafka:    starting/unhealthy  pid $(cat "$RUN/kafka.pid")  (port $KAFKA_PORT closed)"
      rc=1
    fi
  else
    echo "kafka:    stopped"
    rc=1
  fi
  if pid_alive "$RUN/registry.pid" registry; then
    if curl -fsS -o /dev/null "$(registry_url)/apis/ccompat/v7/subjects" 2>/dev/null; then
      echo "registry: running  Apicurio $(registry_version)  pid $(cat "$RUN/registry.pid")  $(registry_url)/apis/ccompat/v7"
    else
      echo "registry: starting/unhealthy  pid $(cat "$RUN/registry.pid")"
      rc=1
    fi
  else
    echo "registry: stopped"
    rc=1
  fi
  local pf
  for pf in "$RUN"/dedicated/*.pid; do
    [ -f "$pf" ] || continue
    pid_alive "$pf" dedicated-kafka && echo "dedicated kafka: pid $(cat "$pf") ($(basename "$pf" .pid))"
  done
  # Jaeger is reported but does not decide the status: the tracing tests start it when it is not up.
  load_jaeger_settings
  jaeger_status || true
  [ -f "$RUN/connection.json" ] && echo "connection: $RUN/connection.json"
  return "$rc"
}

# Prints what tools/test-infra needs to start dedicated brokers (fetching Kafka first if needed).
cmd_paths() {
  with_lock
  load_settings
  KAFKA_JAVA="$(find_java 17)" || die "Java >= 17 is needed"
  fetch_kafka
  mkdir -p "$RUN"
  cp "$SCRIPT_DIR/log4j2.xml" "$RUN/log4j2.xml"
  cat <<EOF
{"java": $(json_str "$KAFKA_JAVA"), "kafkaHome": $(json_str "$KAFKA_HOME"), "classpath": $(json_str "$(kafka_classpath)"), "kafkaVersion": "$KAFKA_VERSION", "log4j2": $(json_str "$RUN/log4j2.xml"), "runDir": $(json_str "$RUN")}
EOF
}

# For tools/test-infra's dedicated registries: the JDK and runner jar of the cached Apicurio.
cmd_registry_paths() {
  with_lock
  load_settings
  select_javas
  fetch_apicurio
  local dir="$H/apicurio-$APICURIO_VERSION"
  cat <<EOF
{"java": $(json_str "$REGISTRY_JAVA"), "dir": $(json_str "$dir"), "jar": $(json_str "$(registry_jar "$dir")"), "apicurioVersion": "$APICURIO_VERSION", "runDir": $(json_str "$RUN")}
EOF
}

cmd_fetch() {
  with_lock
  load_settings
  select_javas
  fetch_kafka
  fetch_apicurio
  ensure_tls
}

# shellcheck source=cluster.sh
. "$SCRIPT_DIR/cluster.sh"
# shellcheck source=jaeger.sh
. "$SCRIPT_DIR/jaeger.sh"

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
restart-kafka) cmd_restart_kafka ;;
fetch) cmd_fetch ;;
paths) cmd_paths ;;
registry-paths) cmd_registry_paths ;;
cluster)
  shift
  cmd_cluster "$@"
  ;;
jaeger)
  shift
  cmd_jaeger "$@"
  ;;
*)
  echo "usage: infra.sh up|down|status|restart-kafka|fetch|paths|registry-paths|cluster|jaeger" >&2
  exit 2
  ;;
esac
