# maildns — build, test and benchmark.
GO          ?= go
# staticcheck v0.8.2 is pinned as a tool in go.mod: nothing is fetched at test time.
STATICCHECK ?= $(GO) tool staticcheck
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME    ?= 5s

.PHONY: all build test lint unit ops fuzz bench deb man clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/maildns ./cmd/maildns

# The one test command: lint, the whole suite under the race detector (BIND 9
# is installed first when missing: the RFC 2136 and reverse-DNS tests run
# against a real server), the operations kit (alert rules under promtool, the
# Debian package under lintian and dpkg), then a few seconds of each fuzzer.
test: lint unit ops fuzz

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit:
	./scripts/test-deps.sh
	$(GO) test -race -count=1 ./...

# promtool check/test rules, make deb, lintian, dpkg -i into a scratch root
# and the installed maildns --version (scripts/package-test.sh).
ops:
	./scripts/test-deps.sh
	GO=$(GO) VERSION=$(VERSION) COMMIT=$(COMMIT) ./scripts/package-test.sh

# The Debian package (nfpm, pinned in go.mod): bin/maildns_VERSION_ARCH.deb.
deb:
	GO=$(GO) VERSION=$(VERSION) COMMIT=$(COMMIT) ./scripts/package.sh

# Man pages and bash/zsh/fish completions, generated from the command
# definitions, into build/docs/.
man: build
	bin/maildns gendocs build/docs

# A fuzzer is run a second time when it fails: under load the fuzzing engine
# can end with "context deadline exceeded" and no failing input. A real
# failure saves its input under testdata/fuzz, which the second run replays
# as a seed, so it fails again.
fuzz:
	@$(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read pkg dir; do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || \
			{ echo "fuzz $$f failed; once more (a saved failing input is replayed first)"; \
			  $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; } || exit 1; \
		done; \
	done

bench:
	./scripts/bench.sh

clean:
	rm -rf bin build
