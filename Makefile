# beamsync — see README.md.
GO ?= go

.PHONY: all build run run-all-sinks test bench lint testenv-start testenv-stop clean

all: build

build:
	$(GO) build -o bin/runner ./cmd/runner

## run: the demo job on the embedded default (files in, JSON-lines views out; no database needed)
run: build
	bin/runner run --job examples/demo/job.yaml

## run-all-sinks: the demo job into a file view, OpenSearch, DynamoDB and BigQuery
## (local servers from scripts/testenv.sh; OPENSEARCH_URL must name a node)
run-all-sinks: build
	scripts/testenv.sh start
	eval "$$(scripts/testenv.sh env)" && \
	  DYNAMODB_ENDPOINT=$$BEAMSYNC_TEST_DYNAMODB_ENDPOINT \
	  BIGQUERY_ENDPOINT=$$BEAMSYNC_TEST_BIGQUERY_ENDPOINT BIGQUERY_PROJECT=$$BEAMSYNC_TEST_BIGQUERY_PROJECT \
	  AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	  bin/runner run --job examples/all-sinks/job.yaml

## test: every test, against throwaway PostgreSQL and MariaDB servers the script starts and stops
test:
	scripts/test.sh

## bench: snapshot throughput and memory next to a plain-Go baseline, in one run;
## CDC drain and latency; the file view stream into a 100k- vs a 3M-row view
bench:
	scripts/bench.sh

## lint: gofmt, go vet, and go.mod/go.sum exactly as `go mod tidy` leaves them
## (the root module and every tools/ module; the diff names what to run)
TOOL_MODULES := $(patsubst %/go.mod,%,$(wildcard tools/*/go.mod))

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-ed (run gofmt -w on them):" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet ./...
	@for m in . $(TOOL_MODULES); do \
	  (cd $$m && $(GO) mod tidy -diff) || { echo "$$m: go.mod/go.sum are not tidy; run: (cd $$m && go mod tidy)" >&2; exit 1; }; \
	done

testenv-start:
	scripts/testenv.sh start

testenv-stop:
	scripts/testenv.sh stop

clean:
	rm -rf bin out examples/*/out
