#!/usr/bin/env bash
# Starts and stops the throwaway database servers beamsync's tests use:
# PostgreSQL with logical replication and MariaDB with a row binlog, each in
# its own data directory under .testenv/, on its own port. Installs the Debian
# packages when the server binaries are missing. The BigQuery emulator is
# built from tools/bigquery-emulator into tools/bin when it is not there yet.
#
#   scripts/testenv.sh start   # prints the environment to export (also in .testenv/env)
#   scripts/testenv.sh stop
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${BEAMSYNC_TESTENV_DIR:-$root/.testenv}
pg_port=${BEAMSYNC_PG_PORT:-55432}
my_port=${BEAMSYNC_MYSQL_PORT:-33306}
dyn_port=${BEAMSYNC_DYNAMODB_PORT:-4567}
bq_port=${BEAMSYNC_BIGQUERY_PORT:-9050}
bq_grpc_port=${BEAMSYNC_BIGQUERY_GRPC_PORT:-9060}
gcs_port=${BEAMSYNC_GCS_PORT:-4443}
bq_project=${BEAMSYNC_BIGQUERY_TEST_PROJECT:-test-proj}
# The emulator keeps memory from every query it runs (about 1 GB per run of
# the sinks/bigquery tests) and crashes when its SQL engine nears 2 GB: a
# running emulator that holds more than this is restarted by start.
bq_max_rss_kb=${BEAMSYNC_BIGQUERY_MAX_RSS_KB:-1048576}

log() { echo "testenv: $*" >&2; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_packages() {
  local need=()
  pg_bin >/dev/null || need+=(postgresql)
  command -v mariadbd >/dev/null || command -v mysqld >/dev/null || need+=(mariadb-server)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need[@]}" >&2
  fi
}

# wait_listening waits (tries x 0.1 s) for a server to accept connections
# on 127.0.0.1:port; if it does not, it prints its log and fails.
wait_listening() {
  local name=$1 port=$2 logfile=$3 tries=$4 i
  for i in $(seq 1 "$tries"); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      log "$name ready on 127.0.0.1:$port"; return 0
    fi
    sleep 0.1
  done
  cat "$logfile" >&2; log "$name did not start"; exit 1
}

# require_free_port fails, naming the fix, when something else already
# listens on a port a server is to take (often the servers of another
# checkout: stop them with its scripts/testenv.sh stop).
require_free_port() {
  local name=$1 port=$2 var=$3
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    log "cannot start $name: port $port is already in use by another process" \
      "(another checkout's testenv? run its scripts/testenv.sh stop, or set $var to a free port)"
    exit 1
  fi
}

as_user() { # run as a system user (initdb and mariadbd refuse root)
  local u=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$u" -- "$@"; else "$@"; fi
}

start_pg() {
  local bin; bin=$(pg_bin)
  local d=$dir/pg sock=$dir/pg-sock
  if [ -f "$d/postmaster.pid" ] && as_user postgres "$bin/pg_ctl" -D "$d" status >/dev/null 2>&1; then
    log "postgres already running on $pg_port"; return 0
  fi
  require_free_port postgres "$pg_port" BEAMSYNC_PG_PORT
  rm -rf "$d" "$sock"; mkdir -p "$d" "$sock"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$d" "$sock"
  chmod 700 "$d"
  as_user postgres "$bin/initdb" -D "$d" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/pg-initdb.log" 2>&1 \
    || { cat "$dir/pg-initdb.log" >&2; exit 1; }
  # shared_buffers: PostgreSQL's guidance is a quarter of the machine's
  # memory; 1 GB holds the benchmark's 1M-row table and its index, as a
  # production server's buffer pool would. (With 256 MB, smaller than the
  # table, the snapshot's key-range chunk scans churn the pool while a
  # whole-table scan reads through a small ring: see README, Benchmarks.)
  as_user postgres "$bin/pg_ctl" -D "$d" -l "$d/server.log" -w -t 60 \
    -o "-p $pg_port -k $sock -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=1GB" \
    start >/dev/null || { cat "$d/server.log" >&2; exit 1; }
  log "postgres ready on 127.0.0.1:$pg_port"
}

stop_pg() {
  local bin; bin=$(pg_bin) || return 0
  [ -d "$dir/pg" ] && as_user postgres "$bin/pg_ctl" -D "$dir/pg" stop -m immediate >/dev/null 2>&1 || true
}

mysql_cli() { command -v mariadb || command -v mysql; }
mysqld_bin() { command -v mariadbd || command -v mysqld; }

start_mysql() {
  local d=$dir/mysql
  if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then
    log "mariadb already running on $my_port"; return 0
  fi
  require_free_port mariadb "$my_port" BEAMSYNC_MYSQL_PORT
  rm -rf "$d"; mkdir -p "$d/data"
  [ "$(id -u)" = 0 ] && chown -R mysql:mysql "$d"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=mysql \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/mysql-install.log" 2>&1 \
    || { cat "$dir/mysql-install.log" >&2; exit 1; }
  nohup "$(mysqld_bin)" --no-defaults --user=mysql --datadir="$d/data" --socket="$d/s.sock" \
    --pid-file="$d/pid" --port="$my_port" --bind-address=127.0.0.1 --server-id=1 \
    --log-bin="$d/data/binlog" --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --innodb-flush-log-at-trx-commit=0 --sync-binlog=0 --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    >"$d/server.log" 2>&1 &
  local i
  for i in $(seq 1 150); do
    if "$(mysql_cli)" --no-defaults -uroot -h127.0.0.1 -P"$my_port" -e "SELECT 1" >/dev/null 2>&1; then
      log "mariadb ready on 127.0.0.1:$my_port"; return 0
    fi
    sleep 0.2
  done
  cat "$d/server.log" >&2
  log "mariadb did not start"; exit 1
}

stop_mysql() {
  local d=$dir/mysql
  if [ -f "$d/pid" ]; then
    local pid; pid=$(cat "$d/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}

# DynamoDB: dynalite from npm (tools/dynalite pins it with a lockfile).
start_dynalite() {
  local d=$root/tools/dynalite
  if [ -f "$dir/dynalite.pid" ] && kill -0 "$(cat "$dir/dynalite.pid")" 2>/dev/null; then
    log "dynalite already running on $dyn_port"; return 0
  fi
  require_free_port dynalite "$dyn_port" BEAMSYNC_DYNAMODB_PORT
  if ! command -v node >/dev/null; then
    log "installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq nodejs npm >&2
  fi
  if [ ! -x "$d/node_modules/.bin/dynalite" ]; then
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  nohup "$d/node_modules/.bin/dynalite" --host 127.0.0.1 --port "$dyn_port" \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$dir/dynalite.log" 2>&1 &
  echo $! >"$dir/dynalite.pid"
  wait_listening "dynalite" "$dyn_port" "$dir/dynalite.log" 100
}

stop_dynalite() {
  if [ -f "$dir/dynalite.pid" ]; then
    kill "$(cat "$dir/dynalite.pid")" 2>/dev/null || true
    rm -f "$dir/dynalite.pid"
  fi
}

# BigQuery: goccy/bigquery-emulator, built from its own tools module
# (tools/bigquery-emulator pins it) into tools/bin on first use. A cold build
# takes minutes and several GB of memory; later starts reuse the binary.
build_bigquery_emulator() {
  local bin=$root/tools/bin/bigquery-emulator
  [ -x "$bin" ] && return 0
  log "building the BigQuery emulator into tools/bin (cold: about 5 minutes)"
  mkdir -p "$root/tools/bin"
  (cd "$root/tools/bigquery-emulator" && CGO_ENABLED=0 go build -o "$bin" github.com/goccy/bigquery-emulator/cmd/bigquery-emulator) >&2
}

start_bigquery() {
  if [ -f "$dir/bigquery.pid" ] && kill -0 "$(cat "$dir/bigquery.pid")" 2>/dev/null; then
    local rss; rss=$(ps -o rss= -p "$(cat "$dir/bigquery.pid")" 2>/dev/null | tr -d ' ')
    if [ "${rss:-0}" -lt "$bq_max_rss_kb" ]; then
      log "bigquery emulator already running on $bq_port"; return 0
    fi
    log "restarting the bigquery emulator, which holds ${rss} kB"
    stop_bigquery
  fi
  require_free_port "the bigquery emulator" "$bq_port" BEAMSYNC_BIGQUERY_PORT
  require_free_port "the bigquery emulator (grpc)" "$bq_grpc_port" BEAMSYNC_BIGQUERY_GRPC_PORT
  build_bigquery_emulator
  nohup "$root/tools/bin/bigquery-emulator" --project="$bq_project" --host=127.0.0.1 \
    --port="$bq_port" --grpc-port="$bq_grpc_port" --log-level=error >"$dir/bigquery.log" 2>&1 &
  echo $! >"$dir/bigquery.pid"
  wait_listening "bigquery emulator" "$bq_port" "$dir/bigquery.log" 300
}

stop_bigquery() {
  if [ -f "$dir/bigquery.pid" ]; then
    local pid; pid=$(cat "$dir/bigquery.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/bigquery.pid"
  fi
}

# GCS: fsouza/fake-gcs-server (in memory), built from its own tools module
# (tools/fake-gcs-server pins it) into tools/bin on first use. The Dataflow
# submission tests stage the worker and the pipeline into it.
start_gcs() {
  if [ -f "$dir/gcs.pid" ] && kill -0 "$(cat "$dir/gcs.pid")" 2>/dev/null; then
    log "fake-gcs-server already running on $gcs_port"; return 0
  fi
  require_free_port fake-gcs-server "$gcs_port" BEAMSYNC_GCS_PORT
  local bin=$root/tools/bin/fake-gcs-server
  if [ ! -x "$bin" ]; then
    log "building fake-gcs-server into tools/bin"
    mkdir -p "$root/tools/bin"
    (cd "$root/tools/fake-gcs-server" && CGO_ENABLED=0 go build -o "$bin" github.com/fsouza/fake-gcs-server) >&2
  fi
  nohup "$bin" -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory \
    -public-host "127.0.0.1:$gcs_port" -log-level error >"$dir/gcs.log" 2>&1 &
  echo $! >"$dir/gcs.pid"
  wait_listening "fake-gcs-server" "$gcs_port" "$dir/gcs.log" 300
}

stop_gcs() {
  if [ -f "$dir/gcs.pid" ]; then
    kill "$(cat "$dir/gcs.pid")" 2>/dev/null || true
    rm -f "$dir/gcs.pid"
  fi
}

write_env() {
  cat >"$dir/env" <<ENV
export BEAMSYNC_TEST_PG_DSN='postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable'
export BEAMSYNC_TEST_MYSQL_DSN='root@tcp(127.0.0.1:$my_port)/'
export BEAMSYNC_TEST_DYNAMODB_ENDPOINT='http://127.0.0.1:$dyn_port'
export BEAMSYNC_TEST_BIGQUERY_ENDPOINT='http://127.0.0.1:$bq_port'
export BEAMSYNC_TEST_BIGQUERY_PROJECT='$bq_project'
export BEAMSYNC_TEST_GCS_HOST='127.0.0.1:$gcs_port'
ENV
  cat "$dir/env"
}

case "${1:-}" in
  start)
    mkdir -p "$dir"
    ensure_packages
    start_pg
    start_mysql
    start_dynalite
    start_bigquery
    start_gcs
    write_env
    ;;
  stop)
    stop_pg
    stop_mysql
    stop_dynalite
    stop_bigquery
    stop_gcs
    log "stopped"
    ;;
  env)
    cat "$dir/env"
    ;;
  status) # exit 0 when every server is running
    [ -f "$dir/pg/postmaster.pid" ] && kill -0 "$(head -1 "$dir/pg/postmaster.pid")" 2>/dev/null \
      && [ -f "$dir/mysql/pid" ] && kill -0 "$(cat "$dir/mysql/pid")" 2>/dev/null \
      && [ -f "$dir/dynalite.pid" ] && kill -0 "$(cat "$dir/dynalite.pid")" 2>/dev/null \
      && [ -f "$dir/bigquery.pid" ] && kill -0 "$(cat "$dir/bigquery.pid")" 2>/dev/null \
      && [ -f "$dir/gcs.pid" ] && kill -0 "$(cat "$dir/gcs.pid")" 2>/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
