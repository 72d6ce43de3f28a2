# The two commands a newcomer needs: `make run` and `make test`.
GO ?= go

.PHONY: run build test generate bench-api vet

run:
	$(GO) run ./cmd/nimbus dev

build:
	$(GO) build -o bin/nimbus ./cmd/nimbus

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

generate:
	$(GO) generate ./...

vet:
	$(GO) vet ./...
