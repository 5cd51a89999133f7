#!/usr/bin/env bash
# make bench: the snapshot benchmark against a throwaway PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
started=0
cleanup() { [ "$started" = 1 ] && scripts/testenv.sh stop || true; }
trap cleanup EXIT
eval "$(scripts/testenv.sh start)"
started=1
go build -o bin/runner ./cmd/runner
go build -o bin/bench-snapshot ./internal/bench/snapshot
bin/bench-snapshot -rows "${BENCH_ROWS:-1000000}" -runner bin/runner -work out/bench
