# beamsync — see README.md.
GO ?= go

.PHONY: all build run test bench lint testenv-start testenv-stop clean

all: build

build:
	$(GO) build -o bin/runner ./cmd/runner

## run: the demo job on the embedded default (files in, JSON-lines views out; no database needed)
run: build
	bin/runner run --job examples/demo/job.yaml

## test: every test, against throwaway PostgreSQL and MariaDB servers the script starts and stops
test:
	scripts/test.sh

## bench: snapshot throughput and memory next to a plain-Go baseline, in one run
bench:
	scripts/bench.sh

lint:
	gofmt -l . | tee /dev/stderr | (! read)
	$(GO) vet ./...

testenv-start:
	scripts/testenv.sh start

testenv-stop:
	scripts/testenv.sh stop

clean:
	rm -rf bin out examples/*/out
