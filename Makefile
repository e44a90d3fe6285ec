# Paved developer tasks. `make test` is the test command (see scripts/test.sh).
#   make test ARGS='-run TestFoo ./catalog/...'   extra go test arguments
#   make lint                                     gofmt check, go vet, staticcheck
#   make bench-aggregate ARGS='-events 200000'    usage rollup and dashboard query timings
#   make image                                    container image into dist/image (no Docker needed)
#   make bench-http                               serving benchmark against a bare Gin handler
#   make bench-search-compare REF=main ARGS='-clients 8'   search before and after a change, in turn
#   make bench-http ARGS='-before /tmp/paved-old'  ... beside an older binary, step by step

STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CURDIR)/.cache/bin/staticcheck
# Go files to format-check: not the caches, not testdata (fixtures may be unformatted on purpose).
GO_FILES := find . \( -path ./.cache -o -path ./.git -o -name testdata \) -prune -o -name '*.go' -print

.PHONY: test build lint fmt-check vet staticcheck tools clean

test:
	bash scripts/test.sh $(ARGS)

build:
	go build -o bin/paved ./cmd/paved

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$($(GO_FILES) | xargs -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt -w needed on:"; echo "$$out"; exit 1; fi

# deploy/ is a Go module of its own (image tool, Compose and Helm checks): checked as well.
vet:
	go vet ./...
	cd deploy && go vet ./...

staticcheck: tools
	$(STATICCHECK) ./...
	cd deploy && $(STATICCHECK) ./...

# Installs the pinned staticcheck into .cache/bin, once.
tools:
	@$(STATICCHECK) -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))' || \
		GOBIN=$(CURDIR)/.cache/bin go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf bin

# Search speed: 30,000 synthetic apps, portal API on Bleve and on Meilisearch, and Meilisearch
# directly, in one run (starts Meilisearch like the tests do).
.PHONY: bench-search
bench-search:
	PAVED_SERVICES_RUN=1 bash scripts/test.sh go run ./bench/search $(ARGS)

# Search before and after a change, side by side: bench/search at REF (default main) and the
# working tree, in turn; ARGS go to both, e.g. ARGS='-clients 8'.
.PHONY: bench-search-compare
bench-search-compare:
	PAVED_SERVICES_RUN=1 REF=$(or $(REF),main) bash scripts/test.sh bash scripts/bench-search-compare.sh $(ARGS)

# Okta import benchmark: parse, jq reference, SQLite and PostgreSQL import and re-import.
# ARGS='-events 200000' for a shorter run.
.PHONY: bench-import
bench-import:
	PAVED_SERVICES_RUN=1 bash scripts/test.sh go run ./bench/import $(ARGS)

# Usage aggregation benchmark: 10,000,000 synthetic events for 1,000 discovered apps under 2,500
# identifiers, generated in SQL; the rollup of all of them at once; the dashboard list side by
# side with the per-identifier list it replaced, the other dashboard queries, and every app
# checked against a recount from raw events; on SQLite and PostgreSQL.
# ARGS='-events 200000' for a shorter run.
.PHONY: bench-aggregate
bench-aggregate:
	PAVED_SERVICES_RUN=1 bash scripts/test.sh go run ./bench/aggregate $(ARGS)

# Container image without a container engine: the static binary, CA certificates and a non-root
# user on an empty base, as an OCI layout (dist/image/oci) and a tarball for `docker load`
# (dist/image/paved.tar). The tool lives in the deploy module so its dependencies stay out of
# paved's own go.mod. ARGS='-license Apache-2.0 -tag registry.example.com/paved:v1'
.PHONY: image
image:
	cd deploy && go run ./cmd/mkimage -root .. -out ../dist/image $(ARGS)

# Serving benchmark: a mix of pages at 8 and 32 clients on SQLite and on PostgreSQL with
# Meilisearch, against a bare Gin handler serving a page of the same size, in one run.
# ARGS='-duration 20s'
.PHONY: bench-http
bench-http:
	PAVED_SERVICES_RUN=1 bash scripts/test.sh go run ./bench/http $(ARGS)
