#!/usr/bin/env bash
# Runs every test against throwaway servers. Servers it starts it stops
# again; servers that were already running (scripts/testenv.sh start) are left
# running.
set -euo pipefail
cd "$(dirname "$0")/.."
was_running=0
scripts/testenv.sh status >/dev/null 2>&1 && was_running=1
cleanup() { [ "$was_running" = 1 ] || scripts/testenv.sh stop || true; }
trap cleanup EXIT
env_lines=$(scripts/testenv.sh start) # a failed start stops the run here (set -e)
eval "$env_lines"
echo "== go vet"
go vet ./...
echo "== go test"
go test -race -count=1 -timeout 45m "${@:-./...}"
