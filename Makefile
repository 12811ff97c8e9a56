# Plain verbs; CI calls `make test`.
GO ?= go

.PHONY: run test lint race build bench

run: ## serve the ledger on ./data with the demo data set
	$(GO) run ./cmd/ledger serve --data ./data --demo

build:
	$(GO) build -o bin/ledger ./cmd/ledger

test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -race ./api/... ./ledger/... ./projections/... ./jsstore/...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...
