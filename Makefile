# Livehouse. `make run` builds everything and serves on :8080; `make test` runs every test.
# Both install what they need on a fresh Debian machine (Go and Node are expected).

GO        ?= go
NPM       ?= npm
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/livehouse
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT   := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: all run build web web-deps go-build test test-go test-web e2e check fuzz bench attack system-deps clean

all: build

## run: build the web app and the binary, then serve with the embedded defaults
run: build
	./$(BIN) serve

## build: the web app (web/dist) embedded into bin/livehouse
build: web go-build

go-build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/livehouse

web-deps: web/node_modules/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	touch $@

web: web-deps
	cd web && $(NPM) run build

## system-deps: Debian packages the tests need (Chromium and Firefox ESR for the browser tests, ffmpeg, nginx for the edge test)
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian packages: chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v firefox-esr >/dev/null 2>&1 || { \
		echo "installing Debian packages: firefox-esr"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends firefox-esr >/dev/null; }
	@command -v ffmpeg >/dev/null 2>&1 || { \
		echo "installing Debian packages: ffmpeg"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null; }
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "installing Debian packages: nginx (for the edge test; the tests run their own, the system service is not used)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends nginx >/dev/null; }

## test: Go tests with -race, the web app's unit tests, and the browser end-to-end tests, one
## after the other (cmd/livehouse's Go tests run in parallel; Playwright one spec file at a
## time, E2E_WORKERS for more)
test: test-go test-web e2e

test-go: system-deps web
	$(GO) test -race -count=1 ./...

test-web: web-deps
	cd web && $(NPM) test

e2e: system-deps build
	cd web && $(NPM) run e2e

## fuzz: every Fuzz* target for FUZZTIME (30s) each
fuzz: web
	GO=$(GO) ./scripts/fuzz.sh

## check: formatting, vet, staticcheck, tidy modules, types, lint, every test, then every fuzz target
check: web-deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	cd web && $(NPM) run typecheck && $(NPM) run lint
	$(MAKE) test
	$(MAKE) fuzz

## bench: Go benchmarks (6 runs each, summarised by benchstat: medians with spread; among them
## stream health's sampler cost per live stream, BenchmarkSampler*, and the on-disk size of a
## 12-hour session's metrics, BenchmarkStreamMetrics12h), then the live-video and chat
## measurements against the real binary (bench/media: ingest-to-part and player latency, CPU
## per stream, LL-HLS egress; bench/chat: one room with 10,000 connections, the largest room one
## node holds, and one room over 3 nodes when LIVEHOUSE_TEST_POSTGRES_URL/_NATS_URL are set; bench/whip:
## WHIP-to-part latency, CPU per WebRTC stream, the cost of an Opus→AAC transcode; bench/whep: glass-to-glass
## latency in Chromium (a time drawn into a canvas, WHIP → WHEP, read back from each displayed frame; 3 runs),
## WHEP join time and WHIP→WHEP latency, CPU per WHEP viewer and per AAC→Opus transcode; bench/stages: the
## same glass-to-glass through the stage SFU, the SFU's participant-to-participant latency and CPU per stage
## publisher), then the attacks
bench: system-deps build
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bin/bench.txt
	$(GO) run $(BENCHSTAT) bin/bench.txt
	$(GO) run ./bench/llhls
	$(GO) run ./bench/media -bin $(BIN)
	$(GO) run ./bench/chat -bin $(BIN)
	$(GO) run ./bench/whip -bin $(BIN)
	$(GO) run ./bench/whep -bin $(BIN)
	$(GO) run ./bench/stages -bin $(BIN)
	$(GO) run ./bench/relay -bin $(BIN)
	$(ATTACK)

## attack: issue 15's attacks against the real binary (bench/attack), each on a fresh server with a
## live channel: a table of each attack, the bound it hit (HELD / NOT HELD), the server's peak RSS and
## descriptors, and whether a normal viewer (LL-HLS player + chat reader) was served throughout
ATTACK = $(GO) run ./bench/attack -bin $(BIN) | tee bin/attack.txt
attack: system-deps build
	$(ATTACK)

clean:
	rm -rf bin web/dist/assets web/dist/index.html
