#!/usr/bin/env bash
# Runs every test against throwaway servers it starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
started=0
cleanup() { [ "$started" = 1 ] && scripts/testenv.sh stop || true; }
trap cleanup EXIT
eval "$(scripts/testenv.sh start)"
started=1
echo "== go vet"
go vet ./...
echo "== go test"
go test -race -count=1 -timeout 30m "${@:-./...}"
