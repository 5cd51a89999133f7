#!/usr/bin/env bash
# make bench: beamsync's benchmarks, each next to a plain-Go baseline measured
# in the same run, against throwaway local servers.
#   1. snapshot: PostgreSQL 1M rows -> file view (rows/s, peak RSS, 1M vs 3M)
#   2. sinks: each sink's writer vs a plain-Go loop with the same client and
#      batch sizes against the same local server (rows/s and the ratio)
#   3. cdc: PostgreSQL change capture -> file view vs a plain pglogrepl loop
#      (backlog drain changes/s, commit -> written latency p50/p99 at 5k/s)
#   4. stream view: the file sink's stream writer into a 100k-row view vs a
#      3M-row view (changes/s, commit -> acknowledged latency p50/p99)
#   5. join: a batch joined view (orders + customers lookup + lines nested)
#      vs a plain-Go in-memory hash join of the same tables (orders/s, peak RSS, 1x and 3x)
set -euo pipefail
cd "$(dirname "$0")/.."
was_running=0
scripts/testenv.sh status >/dev/null 2>&1 && was_running=1
cleanup() { [ "$was_running" = 1 ] || scripts/testenv.sh stop || true; }
trap cleanup EXIT
eval "$(scripts/testenv.sh start)"
go build -o bin/runner ./cmd/runner
go build -o bin/bench-snapshot ./internal/bench/snapshot
go build -o bin/bench-cdc ./internal/bench/cdc
go build -o bin/bench-streamview ./internal/bench/streamview
go build -o bin/bench-join ./internal/bench/join

echo "== snapshot"
bin/bench-snapshot -rows "${BENCH_ROWS:-1000000}" -runner bin/runner -work out/bench

echo
echo "== sinks: writer vs plain-Go loop (same client, same batches, same local server)"
go test -run '^$' -bench 'WriterVsPlainLoop' -benchtime 1x ./sinks/... 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true

echo
echo "== cdc: PostgreSQL change capture (stream mode) vs a plain pglogrepl loop"
bin/bench-cdc -updates "${BENCH_CDC_UPDATES:-100000}" -work out/bench-cdc 2>&1 | grep -v ' level=\| INFO \| WARN '

echo
echo "== stream view: file sink stream writer, 100,000-row view vs 3,000,000-row view"
bin/bench-streamview -small "${BENCH_STREAM_SMALL:-100000}" -large "${BENCH_STREAM_LARGE:-3000000}" -work out/bench-streamview

echo
echo "== join: batch joined view vs a plain-Go in-memory hash join (same tables, same run)"
bin/bench-join -orders "${BENCH_JOIN_ORDERS:-1000000}" -runner bin/runner -work out/bench-join 2>&1 | grep -v ' level='
