# Plain verbs; CI calls `make test`.
GO ?= go

.PHONY: run test lint race build bench install readme crash-test soak fuzz

run: ## serve the ledger with the demo data set, in a folder of its own (never a real ledger's)
	$(GO) run ./cmd/ledger serve --data ./data-demo --demo

build:
	$(GO) build -o bin/ledger ./cmd/ledger

install: ## put the ledger command on your PATH (in $(go env GOPATH)/bin)
	$(GO) install ./cmd/ledger

test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./api/... ./audit/... ./internal/... ./ledger/... ./projections/... ./jsstore/...
	# a smoke run of the benchmarks on a small ledger
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./projections/ ./audit/ ./cmd/ledger/ ./jsstore/
	# a short run of every fuzz target (a count, not a duration: go.dev/issue/75804)
	FUZZTIME=10000x ./scripts/fuzz-smoke.sh

# The ledger killed with SIGKILL 200 times under write load (make test: 20 times).
crash-test:
	LEDGER_CRASH_KILLS=200 $(GO) test -count=1 -v -run '^TestCrash_SIGKILLUnderWrites$$' -timeout 60m ./cmd/ledger/

# Ten minutes of mixed load; goroutines, memory, open files and latency must stay flat.
# The report (soak-report.md) is the one in BENCHMARKS.md.
soak:
	LEDGER_SOAK_DURATION=10m LEDGER_SOAK_REPORT=soak-report.md $(GO) test -count=1 -v -run '^TestSoak$$' -timeout 30m ./cmd/ledger/

# Every fuzz target for a minute.
fuzz:
	FUZZTIME=60s ./scripts/fuzz-smoke.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: skipped"; fi

# The benchmarks of BENCHMARKS.md: ledger bench; durable appends from 64 writers; the county view at
# 20,000 commitments; an import of 10,000 rows; restart with 100,000 events; verification of
# 1,000,000, and what it keeps in memory at 100,000 and 1,000,000.
bench:
	$(GO) run ./cmd/ledger bench --appends 10000 --commitments 20000
	$(GO) test -count=5 -run '^$$' -bench 'Append|AtomicBatch' -benchtime 10000x ./jsstore/
	LEDGER_BENCH_COMMITMENTS=20000 $(GO) test -count=1 -run '^$$' -bench Counties -timeout 30m ./projections/
	LEDGER_BENCH_ROWS=10000 $(GO) test -count=1 -run '^$$' -bench Import -benchtime 3x -timeout 30m ./cmd/ledger/
	LEDGER_BENCH_EVENTS=100000 $(GO) test -count=1 -run '^$$' -bench Restart -benchtime 3x -timeout 30m ./projections/
	LEDGER_BENCH_EVENTS=1000000 $(GO) test -count=1 -run '^$$' -bench 'Verify$$' -benchtime 2x -timeout 60m ./audit/
	for n in 100000 1000000; do LEDGER_BENCH_EVENTS=$$n LEDGER_BENCH_COMMITMENTS=20000 $(GO) test -count=1 -run '^$$' -bench VerifyMemory -benchtime 1x -timeout 30m ./audit/; done

# Every README example, run as written against a fresh demo on localhost:8080 (needs curl).
readme:
	./scripts/readme-examples.sh
