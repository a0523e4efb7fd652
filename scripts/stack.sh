#!/usr/bin/env bash
# The native local stack: real Kafka, Apicurio Registry, SecantusDB (MongoDB wire protocol), moto
# (S3), PostgreSQL and a Kafka Connect worker on 127.0.0.1, for a machine without Docker.
#
#   bash scripts/stack.sh up       start what is not already running, wait until all are healthy
#   bash scripts/stack.sh down     stop exactly what `up` started (recorded pids, never by name)
#   bash scripts/stack.sh status   one line per service; exit 0 only when all are healthy
#   bash scripts/stack.sh secantusd  install SecantusDB if missing, print its server's path
#
# Everything comes from a package registry (Maven Central, PyPI, Debian) and is installed by this
# script. Downloads are cached under ~/.cache/medstream (override: MEDSTREAM_CACHE), so a second
# clone downloads nothing; state, data, logs and pid files live under <repo>/.stack (git-ignored).
#
# A service whose environment variable points somewhere else is not started: KAFKA_BROKERS,
# SCHEMA_REGISTRY_URL, MONGODB_URI, DATABASE_URL, AWS_ENDPOINT_URL, KAFKA_CONNECT_URL. The local
# default values (those in lib/config.ts and cli/settings.ts) mean "this stack", so exporting them
# changes nothing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/stack
STACK_DIR=${MEDSTREAM_STACK_DIR:-$ROOT/.stack}
CACHE=${MEDSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/medstream}
RUN=$STACK_DIR/run
LOGS=$STACK_DIR/logs
MAVEN_CENTRAL=${MAVEN_CENTRAL_URL:-https://repo1.maven.org/maven2}

KAFKA_VERSION=3.9.2 # stay on 3.9: Kafka 4 drops protocol versions kafkajs still uses
APICURIO_VERSION=3.3.3
SECANTUS_VERSION=0.7.0b3
MOTO_VERSION=5.2.5
PG_MAJOR=15
PG_BIN=${MEDSTREAM_PG_BIN:-/usr/lib/postgresql/$PG_MAJOR/bin}

SERVICES=(kafka postgres secantusdb moto apicurio connect)

# ---------------------------------------------------------------------------------------------
# small helpers

say() { printf '%s\n' "$*"; }
warn() { printf 'stack: %s\n' "$*" >&2; }
die() {
  printf 'stack: %s\n' "$*" >&2
  exit 1
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
seconds_since() { # ms-timestamp -> "4.1s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

port_of() {
  case $1 in
    kafka) echo 9092 ;;
    postgres) echo 5432 ;;
    secantusdb) echo 27017 ;;
    moto) echo 4566 ;;
    apicurio) echo 8081 ;;
    connect) echo 8083 ;;
  esac
}

port_listening() { [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }

http_ok() { curl -fsS -o /dev/null --max-time "${2:-3}" "$1" 2>/dev/null; }

# The venvs' interpreter must outlive pyenv shims and PATH changes, so resolve it once.
host_python() { python3 -c 'import sys; print(sys.executable)'; }

probe() { python3 "$HERE/probe.py" "$@"; }

# Runs a command as the postgres OS user when we are root: initdb and the server refuse root.
# From /, since postgres may not be allowed into the checkout (every path passed is absolute).
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Every process this script starts carries MEDSTREAM_STACK_DIR in its environment. `down` and
# `status` trust a recorded pid only when /proc/PID/environ still says so, so a pid recycled by an
# unrelated process after a reboot is never signalled.
pid_is_ours() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/environ ]] || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "MEDSTREAM_STACK_DIR=$STACK_DIR"
}

# True while PID exists and is not a zombie (an exited child not yet reaped still answers kill -0).
pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != [ZX] ]]
}

recorded_pid() {
  local file=$RUN/$1.pid pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  pid_is_ours "$pid" || return 1
  echo "$pid"
}

# Starts a long-running service in its own session, so Ctrl-C on `npm start` does not take the
# stack with it, and records its pid. In a non-interactive shell the background child is not a
# process-group leader, so setsid does not fork and $! is the service itself. Fd 8 (the stack
# lock) is closed so a long-lived service never holds the lock of the `up` that started it.
spawn() {
  local svc=$1
  shift
  MEDSTREAM_STACK_DIR=$STACK_DIR setsid "$@" >>"$LOGS/$svc.log" 2>&1 </dev/null 8>&- &
  echo $! >"$RUN/$svc.pid"
}

# TERM, a grace period, then KILL, for the process group `spawn` created (pid == pgid).
stop_pid() {
  local pid=$1 grace=$2 waited=0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && ((waited < grace * 10)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "pid $pid ignored TERM for ${grace}s, sending KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
}

logged() {
  local log=$1
  shift
  "$@" >>"$log" 2>&1
}

# Runs a download command while printing, every 5 s, how much has arrived: installs run in
# parallel, so a progress bar per download would garble the terminal.
with_progress() {
  local label=$1 watch=$2
  shift 2
  "$@" &
  local job=$! ticks=0
  while kill -0 "$job" 2>/dev/null; do
    sleep 0.5
    ticks=$((ticks + 1))
    if ((ticks % 10 == 0)); then
      say "  $label: $(du -sm "$watch" 2>/dev/null | cut -f1) MB so far"
    fi
  done
  wait "$job"
}

# Atomic download: into a temp file beside the target, checked against Maven Central's .sha1,
# then renamed, so an interrupted download is never mistaken for a cached one.
download() {
  local url=$1 dest=$2 tmp expected actual
  [[ -f $dest ]] && return 0
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX.part")
  say "  downloading $url"
  if ! with_progress "$(basename "$dest")" "$tmp" curl -fsSL --retry 3 -o "$tmp" "$url"; then
    rm -f "$tmp"
    return 1
  fi
  expected=$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)
  actual=$(sha1sum "$tmp" | cut -c1-40)
  if [[ $expected != "$actual" ]]; then
    rm -f "$tmp"
    warn "checksum mismatch for $url (expected $expected, got $actual)"
    return 1
  fi
  mv -f "$tmp" "$dest"
}

# A venv per pinned package under the cache. It is built in place (venvs are not relocatable) and
# counts as cached only once the marker is written after pip succeeded.
ensure_venv() { # SERVICE DIR PIP-REQUIREMENT...
  local svc=$1 dir=$2
  shift 2
  if [[ -f $dir/.medstream-complete ]] && "$dir/bin/python" -c '' 2>/dev/null; then return 0; fi
  say "  installing $* into $dir"
  rm -rf "$dir"
  mkdir -p "$CACHE/pip"
  "$(host_python)" -m venv "$dir"
  with_progress "pip $*" "$dir" logged "$LOGS/$svc-install.log" \
    env PIP_CACHE_DIR="$CACHE/pip" "$dir/bin/pip" install --disable-pip-version-check --no-input "$@"
  touch "$dir/.medstream-complete"
}

# Serialises installs of one cached item across clones running `up` at the same time.
with_cache_lock() {
  local name=$1
  shift
  mkdir -p "$CACHE"
  (
    flock -w 900 9 || die "timed out waiting for $CACHE/.lock-$name"
    "$@"
  ) 9>"$CACHE/.lock-$name"
}

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ { split($2, v, "."); print (v[1] == 1 ? v[2] : v[1]); exit }'
}

# A Java >= $1: JAVA_HOME's when it is new enough, else the newest in /usr/lib/jvm/* or on PATH.
find_java() {
  local want=$1 cand major best="" best_major=0
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    major=$(java_major "$JAVA_HOME/bin/java")
    if [[ $major =~ ^[0-9]+$ ]] && ((major >= want)); then
      echo "$JAVA_HOME/bin/java"
      return 0
    fi
  fi
  for cand in /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [[ -x $cand ]] || continue
    major=$(java_major "$cand")
    [[ $major =~ ^[0-9]+$ ]] || continue
    if ((major >= want && major > best_major)); then
      best=$cand
      best_major=$major
    fi
  done
  [[ -n $best ]] && echo "$best"
}

# ---------------------------------------------------------------------------------------------
# which services are ours to run

# Prints the variable that points elsewhere, or fails when the service is ours.
external_of() {
  local var default
  case $1 in
    kafka) var=KAFKA_BROKERS default=127.0.0.1:9092 ;;
    apicurio) var=SCHEMA_REGISTRY_URL default=http://127.0.0.1:8081/apis/ccompat/v7 ;;
    secantusdb) var=MONGODB_URI default='mongodb://127.0.0.1:27017/?directConnection=true' ;;
    postgres) var=DATABASE_URL default=postgres://medstream:medstream@127.0.0.1:5432/medstream_sink ;;
    moto) var=AWS_ENDPOINT_URL default=http://127.0.0.1:4566 ;;
    connect) var=KAFKA_CONNECT_URL default=http://127.0.0.1:8083 ;;
  esac
  local value=${!var:-}
  [[ -n $value && ${value%/} != "$default" ]] || return 1
  # Never print a password that sits in a URL.
  echo "$var=$(sed -E 's#(://[^:/@]+:)[^@]*@#\1***@#' <<<"$value")"
}

# ---------------------------------------------------------------------------------------------
# Kafka: single-node KRaft (broker + controller in one JVM), jars from Maven Central

KAFKA_HOME=$CACHE/kafka-$KAFKA_VERSION
KAFKA_DIR=$STACK_DIR/kafka

kafka_java() { echo "${JAVA_HOME:+$JAVA_HOME/bin/}java"; }

# A runtime classpath from Maven Central: `mvn dependency:copy-dependencies` on one of our poms,
# into a cache directory that appears in one rename (whole or absent).
maven_fetch() { # NAME POM DEST DESCRIPTION [-Dproperty=value...]
  local name=$1 pom=$2 dest=$3 what=$4 tmp
  shift 4
  [[ -d $dest ]] && return 0
  rm -rf "$CACHE"/."$name"-* # left by an interrupted run; we hold the cache lock
  tmp=$(mktemp -d "$CACHE/.$name-XXXXXX")
  cp "$pom" "$tmp/pom.xml"
  say "  resolving $what from Maven Central"
  if ! with_progress "$name jars" "$CACHE/m2" logged "$LOGS/$name-install.log" \
    mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" -Dmaven.repo.local="$CACHE/m2" "$@" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp/libs"; then
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/libs" "$dest"
  rm -rf "$tmp"
}

kafka_fetch() {
  maven_fetch kafka "$HERE/kafka-pom.xml" "$KAFKA_HOME" "org.apache.kafka:kafka_2.13:$KAFKA_VERSION (~46 MB)" \
    -Dkafka.version="$KAFKA_VERSION"
}

kafka_prepare() {
  with_cache_lock kafka kafka_fetch
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by scripts/stack.sh on every up; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
# A single dev broker: topics appear on first use, one partition and one replica each.
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Consumers in tests should not wait 3 s for a rebalance that has no one else to wait for.
group.initial.rebalance.delay.ms=0
EOF
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    local cluster_id
    cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
    "$(kafka_java)" -cp "$KAFKA_HOME/*" -Dlog4j.configuration="file:$HERE/kafka-log4j.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
      --ignore-formatted >>"$LOGS/kafka.log" 2>&1
  fi
}

kafka_start() {
  # KAFKA_HEAP_OPTS overrides the heap like the Apache scripts allow.
  # shellcheck disable=SC2086
  spawn kafka "$(kafka_java)" ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$HERE/kafka-log4j.properties" \
    -cp "$KAFKA_HOME/*" kafka.Kafka "$KAFKA_DIR/server.properties"
}

kafka_ready() { probe kafka 127.0.0.1 9092; }
kafka_healthy() { kafka_ready; }

# ---------------------------------------------------------------------------------------------
# Kafka Connect: one distributed worker (REST on 127.0.0.1:8083), jars from Maven Central, its
# configs, offsets and statuses in topics of the broker. `medstream connectors apply|status` talk
# to it. It runs the FileStream connectors Apache Kafka ships, and two plugins: Debezium's JDBC
# sink and Apicurio's Avro converter, which `npm run bench -- sink` runs as the reference sink.
# Confluent's JDBC sink is not on Maven Central, so the shipped *.connect.json is for a Connect
# cluster that has that plugin.

DEBEZIUM_VERSION=3.1.2.Final # a line built against Kafka 3.9's Connect API
APICURIO_CONVERTER_VERSION=2.6.13.Final
CONNECT_HOME=$CACHE/kafka-connect-$KAFKA_VERSION
# One directory per plugin set: plugin.path names the parent of the plugins' directories.
CONNECT_PLUGINS=$CACHE/kafka-connect-plugins/debezium-$DEBEZIUM_VERSION+apicurio-$APICURIO_CONVERTER_VERSION
CONNECT_DIR=$STACK_DIR/connect

connect_fetch() {
  maven_fetch connect "$HERE/connect-pom.xml" "$CONNECT_HOME" "org.apache.kafka:connect-runtime:$KAFKA_VERSION (~31 MB)" \
    -Dkafka.version="$KAFKA_VERSION"
  maven_fetch connect-jdbc-sink "$HERE/connect-jdbc-sink-pom.xml" \
    "$CONNECT_PLUGINS/debezium-connector-jdbc" \
    "io.debezium:debezium-connector-jdbc:$DEBEZIUM_VERSION (~22 MB)" -Ddebezium.version="$DEBEZIUM_VERSION"
  maven_fetch connect-avro-converter "$HERE/connect-avro-converter-pom.xml" \
    "$CONNECT_PLUGINS/apicurio-registry-utils-converter" \
    "io.apicurio:apicurio-registry-utils-converter:$APICURIO_CONVERTER_VERSION (~7 MB)" \
    -Dapicurio.converter.version="$APICURIO_CONVERTER_VERSION"
}

# The broker the worker uses: ours, or the one KAFKA_BROKERS points at.
connect_brokers() { echo "${KAFKA_BROKERS:-127.0.0.1:9092}"; }

connect_prepare() {
  with_cache_lock connect connect_fetch
  mkdir -p "$CONNECT_DIR"
  cat >"$CONNECT_DIR/worker.properties" <<EOF
# Written by scripts/stack.sh on every up; edit the script, not this file.
bootstrap.servers=$(connect_brokers)
group.id=medstream-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
config.storage.topic=_medstream-connect-configs
offset.storage.topic=_medstream-connect-offsets
status.storage.topic=_medstream-connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
# Sink tasks commit their consumer offsets this often: the sink bench times Connect by them.
offset.flush.interval.ms=250
listeners=http://127.0.0.1:8083
rest.advertised.host.name=127.0.0.1
rest.advertised.port=8083
# The FileStream connectors come from the classpath, the plugins from their own directories
# (isolated class loaders). Apicurio's converter has no ServiceLoader manifest, hence the scan.
plugin.path=$CONNECT_PLUGINS
plugin.discovery=hybrid_warn
EOF
}

connect_start() {
  # Started beside the broker: the worker needs it first (its state lives in topics).
  local first deadline
  first=$(connect_brokers)
  first=${first%%,*}
  deadline=$(($(now_ms) + 60000))
  until probe kafka "${first%:*}" "${first##*:}"; do
    (($(now_ms) < deadline)) || die "Kafka at $first did not answer within 60s"
    sleep 0.5
  done
  # The heap and GC that Apache's connect-distributed.sh gives a worker (it is the bench's reference
  # sink: a smaller heap with the serial GC halved its rate); CONNECT_HEAP_OPTS overrides the heap.
  # shellcheck disable=SC2086
  spawn connect "$(kafka_java)" ${CONNECT_HEAP_OPTS:--Xms256m -Xmx2g} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dlog4j.configuration="file:$HERE/connect-log4j.properties" \
    -cp "$CONNECT_HOME/*" org.apache.kafka.connect.cli.ConnectDistributed "$CONNECT_DIR/worker.properties"
}

# 200 on /connectors only once the worker has joined its group and read its config topic.
connect_ready() { http_ok http://127.0.0.1:8083/connectors; }
connect_healthy() { connect_ready; }

# ---------------------------------------------------------------------------------------------
# PostgreSQL 15 from Debian: a cluster of our own, run as the postgres OS user

PG_LINK=$STACK_DIR/pg
# Where clusters go when postgres cannot reach the checkout (see pg_place_cluster).
PG_ALT_ROOT=${MEDSTREAM_PG_ALT_ROOT:-/var/lib/postgresql}
# The cluster's paths go through the link's target: when the cluster lives outside the checkout
# (see pg_place_cluster), postgres may not be allowed to traverse the checkout to follow the link.
pg_resolve_paths() {
  PG_ROOT=$PG_LINK
  if [[ -L $PG_LINK ]]; then PG_ROOT=$(readlink -f "$PG_LINK"); fi
  PG_DATA=$PG_ROOT/data
  PG_SOCK=$PG_ROOT/run # private to postgres, so local socket connections can be trusted
  PG_LOG=$PG_ROOT/postgres.log
}
pg_resolve_paths

# initdb and the server run as postgres, so the cluster directory must be reachable by that user.
# When the checkout sits under a directory postgres cannot enter (a private home), the cluster
# goes under postgres's own home instead and .stack/pg links to it.
pg_place_cluster() {
  if [[ -L $PG_LINK || -d $PG_LINK ]]; then return 0; fi
  mkdir -p "$PG_LINK"
  ((EUID == 0)) || return 0
  chown postgres:postgres "$PG_LINK"
  if ! runuser -u postgres -- test -w "$PG_LINK"; then
    rmdir "$PG_LINK"
    local alt
    alt=$PG_ALT_ROOT/medstream-$(printf '%s' "$STACK_DIR" | sha1sum | cut -c1-12)
    warn "postgres cannot reach $STACK_DIR; keeping the cluster in $alt (linked from $PG_LINK)"
    pg_prune_orphans
    mkdir -p "$alt"
    # Names the checkout it serves, so that a later up can remove it once that checkout is gone.
    printf '%s\n' "$STACK_DIR" >"$alt/owner"
    chown postgres:postgres "$alt"
    ln -s "$alt" "$PG_LINK"
    pg_resolve_paths
  fi
}

# Clusters kept under $PG_ALT_ROOT for checkouts that no longer exist (a CI clone in a
# temporary directory, since removed) would fill the disk slowly: each is removed, unless a server
# still runs from it.
pg_prune_orphans() {
  local owner_file owner dir
  for owner_file in "$PG_ALT_ROOT"/medstream-*/owner; do
    [[ -f $owner_file ]] || continue
    owner=$(<"$owner_file")
    dir=$(dirname "$owner_file")
    [[ -n $owner && ! -e $owner ]] || continue
    if [[ -f $dir/data/postmaster.pid ]] && kill -0 "$(head -1 "$dir/data/postmaster.pid")" 2>/dev/null; then
      continue
    fi
    rm -rf "$dir"
    warn "postgres: removed the cluster of a checkout that no longer exists ($owner)"
  done
}

postgres_prepare() {
  pg_place_cluster
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    # Local socket connections are trusted: the socket directory is private to postgres. TCP
    # always needs a password.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C --no-sync >>"$LOGS/postgres-install.log" 2>&1 ||
      die "initdb failed; see $LOGS/postgres-install.log"
    echo "include_if_exists = 'medstream.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
  fi
  as_pg mkdir -p "$PG_SOCK"
  as_pg chmod 700 "$PG_SOCK"
  as_pg tee "$PG_DATA/medstream.conf" >/dev/null <<EOF
# Written by scripts/stack.sh on every up.
listen_addresses = '127.0.0.1'
port = 5432
unix_socket_directories = '$PG_SOCK'
max_connections = 200
shared_buffers = 128MB
# A throwaway dev cluster: durability across an OS crash is not worth the fsync latency here.
# Never copy these three lines to a real server.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # The server writes its own log as postgres; link it beside the others.
  as_pg touch "$PG_LOG"
  ln -sfn "$PG_LOG" "$LOGS/postgres.log"
}

postgres_start() {
  # setsid: the postmaster must not share the terminal's process group (Ctrl-C on npm start).
  as_pg setsid env MEDSTREAM_STACK_DIR="$STACK_DIR" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W start \
    >>"$LOGS/postgres-install.log" 2>&1 </dev/null 8>&-
}

postgres_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p 5432 -t 2 || return 1
  # The postmaster writes its pid file once it accepts connections; record it for status/down.
  [[ -f $PG_DATA/postmaster.pid ]] && head -n1 "$PG_DATA/postmaster.pid" >"$RUN/postgres.pid"
  return 0
}

postgres_init() {
  # A cluster another checkout started has no socket here; its health check already proved the
  # role and both databases exist.
  [[ -S $PG_SOCK/.s.PGSQL.5432 ]] || return 0
  as_pg "$PG_BIN/psql" -h "$PG_SOCK" -p 5432 -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    <"$HERE/postgres-init.sql" >>"$LOGS/postgres-install.log" 2>&1
}

postgres_healthy() {
  local db
  for db in medstream_sink clinical; do
    PGPASSWORD=medstream PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -h 127.0.0.1 -p 5432 -U medstream \
      -d "$db" -qAtc 'select 1' >/dev/null 2>&1 || return 1
  done
}

postgres_stop() {
  [[ -f $PG_DATA/postmaster.pid ]] || return 0
  local pid
  pid=$(head -n1 "$PG_DATA/postmaster.pid")
  pid_is_ours "$pid" || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null
}

# ---------------------------------------------------------------------------------------------
# SecantusDB: a MongoDB wire-protocol server from PyPI

SECANTUS_VENV=$CACHE/venvs/secantusdb-$SECANTUS_VERSION

secantusdb_prepare() {
  with_cache_lock secantusdb ensure_venv secantusdb "$SECANTUS_VENV" "secantusdb==$SECANTUS_VERSION"
  mkdir -p "$STACK_DIR/mongo"
}

secantusdb_start() {
  spawn secantusdb "$SECANTUS_VENV/bin/secantusd-py" --host 127.0.0.1 --port 27017 \
    --storage-path "$STACK_DIR/mongo" --log-level WARNING
}

secantusdb_ready() { probe mongo 127.0.0.1 27017; }
secantusdb_healthy() { secantusdb_ready; }

# ---------------------------------------------------------------------------------------------
# moto: S3 on LocalStack's port. In memory: buckets are recreated by the init on every up.

MOTO_VENV=$CACHE/venvs/moto-$MOTO_VERSION

moto_prepare() { with_cache_lock moto ensure_venv moto "$MOTO_VENV" "moto[server]==$MOTO_VERSION"; }

moto_start() { spawn moto "$MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p 4566; }

# Unsigned ListBuckets: moto answers 200 without credentials.
moto_ready() { http_ok http://127.0.0.1:4566/; }
moto_healthy() { moto_ready; }

# The same hook LocalStack runs under docker-compose.
run_bucket_init() {
  local endpoint=$1 hook
  for hook in "$ROOT"/localstack/init/ready.d/*.sh; do
    AWS_ENDPOINT_URL=$endpoint bash "$hook" >>"$LOGS/moto.log" 2>&1 || return 1
  done
}

moto_init() { run_bucket_init http://127.0.0.1:4566; }

# ---------------------------------------------------------------------------------------------
# Apicurio Registry 3: Confluent-compatible schema registry at /apis/ccompat/v7

APICURIO_HOME=$CACHE/apicurio-registry-$APICURIO_VERSION
APICURIO_TARBALL=$CACHE/downloads/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
APICURIO_URL=$MAVEN_CENTRAL/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz

apicurio_fetch() {
  [[ -d $APICURIO_HOME ]] && return 0
  say "  fetching Apicurio Registry $APICURIO_VERSION from Maven Central (159 MB)"
  rm -rf "$CACHE"/.apicurio-* "$APICURIO_TARBALL".*.part # left by an interrupted run
  download "$APICURIO_URL" "$APICURIO_TARBALL"
  local tmp
  tmp=$(mktemp -d "$CACHE/.apicurio-XXXXXX")
  tar -xzf "$APICURIO_TARBALL" -C "$tmp"
  local run_jar
  run_jar=$(find "$tmp" -name quarkus-run.jar -print -quit)
  [[ -n $run_jar ]] || die "no quarkus-run.jar in $APICURIO_TARBALL"
  mv "$(dirname "$run_jar")" "$APICURIO_HOME"
  rm -rf "$tmp"
  # The unpacked copy is what runs; keeping the tarball too would double the cache.
  rm -f "$APICURIO_TARBALL"
}

apicurio_prepare() {
  with_cache_lock apicurio apicurio_fetch
  mkdir -p "$STACK_DIR/apicurio"
}

apicurio_start() {
  local java
  java=$(find_java 21) || die "no Java >= 21 for Apicurio Registry (checked JAVA_HOME, /usr/lib/jvm/*, PATH)"
  # Storage: Apicurio's sql storage on an H2 file under .stack (its default is the same H2 in
  # memory). It keeps schemas, and so the ids that records on the topics carry, across restarts;
  # needs nothing else up first; and keeps working when DATABASE_URL sends the sinks to a remote
  # PostgreSQL. A small pool: the default 20 idle connections only cost memory here.
  # HTTP and the management interface (health, metrics; 0.0.0.0:9000 by default) stay on loopback.
  # The default global compatibility is BACKWARD, as in Confluent Schema Registry; it applies
  # until someone sets one through the API, and what they set is stored and kept.
  # The access log is off: it writes a line per request, health checks included.
  spawn apicurio "$java" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=8081 \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=9000 \
    -Dquarkus.http.access-log.enabled=false \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.datasource.url="jdbc:h2:file:$STACK_DIR/apicurio/registry" \
    -Dapicurio.datasource.username=sa -Dapicurio.datasource.password=sa \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=20 \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    -jar "$APICURIO_HOME/quarkus-run.jar"
}

apicurio_ready() { http_ok http://127.0.0.1:8081/apis/ccompat/v7/subjects; }
apicurio_healthy() { apicurio_ready; }

# ---------------------------------------------------------------------------------------------
# prerequisites: fail fast, naming what is missing and how to get it

check_prerequisites() {
  local missing=() svc need_java=0 need_mvn=0 need_venv=0 need_pg=0 need_java21=0
  for svc in "$@"; do
    case $svc in
      kafka)
        need_java=1
        [[ -d $KAFKA_HOME ]] || need_mvn=1
        ;;
      postgres) need_pg=1 ;;
      secantusdb) [[ -f $SECANTUS_VENV/.medstream-complete ]] || need_venv=1 ;;
      moto) [[ -f $MOTO_VENV/.medstream-complete ]] || need_venv=1 ;;
      apicurio) need_java21=1 ;;
      connect)
        need_java=1
        [[ -d $CONNECT_HOME && -d $CONNECT_PLUGINS/debezium-connector-jdbc &&
          -d $CONNECT_PLUGINS/apicurio-registry-utils-converter ]] || need_mvn=1
        ;;
    esac
  done
  command -v curl >/dev/null 2>&1 || missing+=("curl: apt-get install curl")
  command -v python3 >/dev/null 2>&1 || missing+=("python3: apt-get install python3")
  command -v ss >/dev/null 2>&1 || missing+=("ss: apt-get install iproute2")
  command -v flock >/dev/null 2>&1 || missing+=("flock and setsid: apt-get install util-linux")
  if ((need_java)) && ! command -v "$(kafka_java)" >/dev/null 2>&1; then
    missing+=("java 17 (Kafka $KAFKA_VERSION and Kafka Connect): apt-get install openjdk-17-jre-headless")
  fi
  if ((need_mvn)) && ! command -v mvn >/dev/null 2>&1; then
    missing+=("mvn (fetches the Kafka and Kafka Connect jars from Maven Central): apt-get install maven")
  fi
  if ((need_venv)) && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=("python3 venv module: apt-get install python3-venv")
  fi
  if ((need_pg)); then
    [[ -x $PG_BIN/pg_ctl && -x $PG_BIN/initdb ]] ||
      missing+=("PostgreSQL $PG_MAJOR server binaries in $PG_BIN: apt-get install postgresql-$PG_MAJOR (or set MEDSTREAM_PG_BIN)")
    if ((EUID == 0)); then
      id postgres >/dev/null 2>&1 || missing+=("the postgres OS user: apt-get install postgresql-$PG_MAJOR")
      command -v runuser >/dev/null 2>&1 || missing+=("runuser: apt-get install util-linux")
    fi
  fi
  if ((need_java21)) && ! find_java 21 >/dev/null; then
    missing+=("Java >= 21 for Apicurio Registry $APICURIO_VERSION: none in JAVA_HOME, /usr/lib/jvm/* or PATH. Install a JDK 21+ (Debian trixie: apt-get install openjdk-21-jre-headless; or any Temurin 21+ under /usr/lib/jvm) or set JAVA_HOME to one")
  fi
  if ((${#missing[@]})); then
    warn "missing prerequisites:"
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
# up / down / status

has_fn() { declare -F "$1" >/dev/null; }

# Seconds a fresh start may take to become healthy: generous, since a first run on a busy 2-core
# machine competes with four other services (Kafka and Apicurio usually need 4-6 s).
deadline_of() {
  case $1 in
    kafka) echo 60 ;;
    apicurio) echo 120 ;;
    connect) echo 90 ;; # once the broker answers; the third JVM starting on 2 cores
    *) echo 30 ;;
  esac
}

# Installs (once) and starts service_up's service, setting its pid, started and t0.
start_service() {
  STEP=install
  "${svc}_prepare"
  t0=$(now_ms) # from here on: time to healthy, without the one-off download
  STEP=start
  printf '\n==== %s starting %s\n' "$(date -Is)" "$svc" >>"$log"
  "${svc}_start"
  started=1
  # Just spawned by this job, so the pid is ours without asking /proc/PID/environ: a child shows
  # MEDSTREAM_STACK_DIR there only once it has exec'd, which on a loaded machine can be after the
  # first check below (CI saw moto and SecantusDB "exit" that way while they were starting).
  [[ $svc == postgres ]] || pid=$(<"$RUN/$svc.pid")
}

# Brings one service up; runs as a background job, one per service, and prints one result line.
# Install, start and init steps are plain statements so that `set -e` stops the job at the first
# failing command (bash ignores -e inside anything called from a condition); the EXIT trap then
# names the step and shows the log.
service_up() {
  local svc=$1 t0 port pid deadline started log=$LOGS/$1.log
  # Globals of this background job: the EXIT trap runs after the function's locals are gone.
  SVC=$svc STEP=checking
  trap 'on_service_exit $?' EXIT
  t0=$(now_ms)
  port=$(port_of "$svc")
  if "${svc}_healthy"; then
    STEP=init
    if has_fn "${svc}_init"; then "${svc}_init"; fi
    pid=$(recorded_pid "$svc" || echo "not ours")
    printf '%-11s reuses a running stack  127.0.0.1:%-5s pid %s\n' "$svc" "$port" "$pid"
    return 0
  fi
  if port_listening "$port" && ! recorded_pid "$svc" >/dev/null; then
    STEP="127.0.0.1:$port is taken by a process that does not answer as $svc"
    printf '\n==== %s cannot start %s; the port is held by:\n' "$(date -Is)" "$svc" >>"$log"
    ss -Htlnp "sport = :$port" >>"$log" 2>&1 || true
    return 1
  fi
  pid=$(recorded_pid "$svc" || true)
  started=0
  if [[ -z $pid ]]; then start_service; fi
  STEP="health check: not healthy within $(deadline_of "$svc")s"
  deadline=$(($(now_ms) + $(deadline_of "$svc") * 1000))
  until "${svc}_ready"; do
    if [[ $svc != postgres ]] && ! pid_running "$pid"; then
      STEP="start: the process exited"
      ((started)) && return 1
      # Ours but not healthy when this up began, and now gone: it was stopping (stopped by another
      # hand just before), not starting. Start a new one.
      start_service
      STEP="health check: not healthy within $(deadline_of "$svc")s"
      deadline=$(($(now_ms) + $(deadline_of "$svc") * 1000))
      continue
    fi
    (($(now_ms) < deadline)) || return 1
    sleep 0.2
  done
  STEP=init
  if has_fn "${svc}_init"; then "${svc}_init"; fi
  STEP="final health check"
  "${svc}_healthy"
  printf '%-11s up in %-6s            127.0.0.1:%-5s pid %s\n' "$svc" "$(seconds_since "$t0")" "$port" "$(recorded_pid "$svc" || echo '?')"
}

on_service_exit() {
  if (($1)); then service_failed "$SVC" "$STEP (exit $1)"; fi
}

service_failed() {
  local svc=$1 why=$2 log=$LOGS/$1.log
  printf '%-11s FAILED at %s; last lines of %s:\n' "$svc" "$why" "$log"
  # Only this attempt's lines: everything after the last ==== banner.
  awk '/^==== /{buf=""} {buf = buf $0 "\n"} END{printf "%s", buf}' "$log" 2>/dev/null |
    tail -n 15 | sed 's/^/  | /'
  if [[ $why == install* ]]; then
    printf '  last lines of %s:\n' "$LOGS/$svc-install.log"
    tail -n 10 "$LOGS/$svc-install.log" 2>/dev/null | sed 's/^/  | /'
  fi
}

# One `up` or `down` at a time per checkout: npm test and npm start may race for it.
lock_stack() {
  mkdir -p "$STACK_DIR" "$RUN" "$LOGS"
  exec 8>"$STACK_DIR/stack.lock"
  flock -w 300 8 || die "another stack.sh holds $STACK_DIR/stack.lock"
}

cmd_up() {
  lock_stack
  local t0 svc ext ours=() jobs=() failed=0 i
  t0=$(now_ms)
  for svc in "${SERVICES[@]}"; do
    if ext=$(external_of "$svc"); then
      printf '%-11s external: %s (not started)\n' "$svc" "$ext"
    else
      ours+=("$svc")
    fi
  done
  check_prerequisites "${ours[@]}"

  # All at once: Apicurio's storage is its own H2 file; only Connect waits, for the broker (in
  # connect_start).
  for svc in "${ours[@]}"; do
    service_up "$svc" &
    jobs+=($!)
  done
  # (jobs are plain statements, not conditions, so set -e is live inside each of them)
  for i in "${!jobs[@]}"; do
    wait "${jobs[$i]}" || failed=1
  done

  # A remote S3-compatible endpoint still gets our buckets, when it answers.
  if ext=$(external_of moto); then
    local endpoint=${AWS_ENDPOINT_URL%/}
    if curl -s -o /dev/null --max-time 3 "$endpoint/"; then
      if run_bucket_init "$endpoint"; then
        say "moto        buckets ensured on $endpoint"
      else
        warn "could not create the buckets on $endpoint (see $LOGS/moto.log)"
      fi
    else
      warn "$endpoint does not answer; buckets not created"
    fi
  fi

  if ((failed)); then
    die "stack is not healthy (logs in $LOGS); 'bash scripts/stack.sh down' stops what did start"
  fi
  say "stack ready in $(seconds_since "$t0")"
}

# Stops one service if this checkout started it; prints a line when it did.
service_down() {
  local svc=$1 pid t0
  t0=$(now_ms)
  if [[ $svc == postgres ]]; then
    if [[ -f $PG_DATA/postmaster.pid ]] && pid_is_ours "$(head -n1 "$PG_DATA/postmaster.pid")"; then
      pid=$(head -n1 "$PG_DATA/postmaster.pid")
      postgres_stop
      printf '%-11s stopped in %s (pid %s)\n' "$svc" "$(seconds_since "$t0")" "$pid"
    fi
  elif pid=$(recorded_pid "$svc"); then
    # Kafka's controlled shutdown takes a few seconds; 30 s before KILL covers a loaded broker.
    stop_pid "$pid" 30
    printf '%-11s stopped in %s (pid %s)\n' "$svc" "$(seconds_since "$t0")" "$pid"
  fi
  rm -f "$RUN/$svc.pid"
}

cmd_down() {
  lock_stack
  local svc jobs=() out
  # In parallel: nothing here depends on another service to shut down cleanly.
  out=$(
    for svc in "${SERVICES[@]}"; do
      service_down "$svc" &
      jobs+=($!)
    done
    wait "${jobs[@]}"
  )
  if [[ -n $out ]]; then say "$out"; else say "nothing of ours was running"; fi
}

cmd_status() {
  local svc pid health port ext note all=0
  printf '%-11s %-6s %-8s %-8s %s\n' SERVICE PORT PID HEALTH NOTE
  for svc in "${SERVICES[@]}"; do
    port=$(port_of "$svc")
    if ext=$(external_of "$svc"); then
      printf '%-11s %-6s %-8s %-8s %s\n' "$svc" - - external "$ext"
      continue
    fi
    pid=$(recorded_pid "$svc" || echo -)
    if [[ $svc == postgres && -f $PG_DATA/postmaster.pid ]]; then
      pid=$(head -n1 "$PG_DATA/postmaster.pid")
      pid_is_ours "$pid" || pid=-
    fi
    if "${svc}_healthy" 2>/dev/null; then
      health=up
    else
      health=down
      all=1
    fi
    note=""
    case $svc in
      kafka) note="controller 127.0.0.1:9093" ;;
      apicurio) note="management 127.0.0.1:9000" ;;
      connect) note="REST API; broker $(connect_brokers)" ;;
    esac
    [[ $health == up && $pid == - ]] && note="not started by this checkout${note:+; $note}"
    printf '%-11s %-6s %-8s %-8s %s\n' "$svc" "$port" "$pid" "$health" "$note"
  done
  return $all
}

main() {
  case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status)
      mkdir -p "$RUN" "$LOGS"
      cmd_status
      ;;
    secantusd)
      # For tests that start a server of their own: installs SecantusDB when missing (also when
      # MONGODB_URI points elsewhere) and prints the path of its server.
      mkdir -p "$RUN" "$LOGS"
      secantusdb_prepare >&2
      echo "$SECANTUS_VENV/bin/secantusd-py"
      ;;
    *)
      echo "usage: bash scripts/stack.sh up|down|status|secantusd" >&2
      exit 2
      ;;
  esac
}

# Sourcing the file (for a test of one function) defines everything and runs nothing.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
