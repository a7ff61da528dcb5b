# fleiogen: render Fleio operator specs into a Flux fleet repository.
#   make render   render examples/fleet into clusters/, tenants/, components/
#   make test     every test: unit, golden, CLI, and the real-cluster harness
#   make bench    render benchmark on synthetic fleets (N = 10 ... 10000)

GO       ?= go
BIN      := bin/fleiogen
SPECS    ?= examples/fleet
BENCH_N  ?= 10,100,1000,10000
# Benchmarks write under the repository: /tmp may sit on a slow file system.
BENCH_DIR ?= $(CURDIR)/.cache/bench

.PHONY: all build render test test-unit test-e2e bench bench-diff vet fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/fleiogen

render: build
	./$(BIN) render $(SPECS) -o .

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd generator templates hack)" || { gofmt -l cmd generator templates hack; echo "gofmt needed"; exit 1; }

test-unit: vet
	$(GO) test ./...

# The real kube-apiserver + kustomize-controller scenarios (test/e2e/README.md).
# E2E_FLAGS go to "go test", e.g. make test-e2e E2E_FLAGS="-v -run TestUpgrade".
E2E_FLAGS ?=
test-e2e:
	cd test/e2e && ./run.sh $(E2E_FLAGS)

test: test-unit test-e2e

bench: build
	mkdir -p $(BENCH_DIR)
	TMPDIR=$(BENCH_DIR) $(GO) run ./hack/bench -fleiogen $(BIN) -n $(BENCH_N)

clean:
	rm -rf bin .cache

bench-diff: build
	hack/bench-diff.sh -fleiogen $(BIN)
