# presignd — build, run and test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
IMAGE    ?= presignd:$(VERSION)

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSITYGW   := $(CURDIR)/.cache/versitygw-v1.8.0
# Relative, so that `make .cache/oauth2-proxy-v7.15.6` names the rule.
OAUTH2PROXY_VERSION := v7.15.6
OAUTH2PROXY := .cache/oauth2-proxy-$(OAUTH2PROXY_VERSION)
UPPY        := examples/uppy/dist/uppy.js
# Go modules to vet: the service, and the nested test-support module with code of its
# own (test/tools and test/tools/oauth2-proxy only pin programs, behind a build tag).
MODULES     := . deploy/test

export AWS_EC2_METADATA_DISABLED := true
export PRESIGND_VERSITYGW := $(VERSITYGW)
export PRESIGND_OAUTH2_PROXY := $(CURDIR)/$(OAUTH2PROXY)

.PHONY: run build test test-deps lint unit image loadtest instructions surge soak clean uppy-demo

## run: run presignd on the embedded development config (127.0.0.1:8080, token dev-token)
run:
	$(GO) run ./cmd/presignd serve --dev

## build: build bin/presignd
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/presignd ./cmd/presignd

## uppy-demo: examples/uppy on loopback: versitygw, a local OIDC issuer, presignd and Uppy's Dashboard (prints the URLs to open)
uppy-demo: $(VERSITYGW) $(UPPY) build
	$(GO) run ./examples/uppy/demo -versitygw $(VERSITYGW) -presignd bin/presignd -page examples/uppy

## test: lint and run every test of every module, installing what the tests need
test: test-deps lint
	$(GO) test -race -count=1 -timeout 20m ./...
	cd deploy/test && $(GO) test -count=1 -timeout 15m ./...

## unit: the fast tests only (no S3 server, browser or Prometheus)
unit:
	$(GO) test -count=1 $$($(GO) list ./internal/... ./client/... | grep -v /internal/testenv)

## test-deps: install the test tools (Debian packages when missing, versitygw and oauth2-proxy into .cache/, examples/uppy's npm packages and bundle)
test-deps: $(VERSITYGW) $(OAUTH2PROXY) $(UPPY)
	./scripts/install-test-deps.sh

# examples/uppy: Uppy from npm, exactly as package-lock.json pins it, bundled for the
# page (and the browser tests) by esbuild. No install scripts run.
$(UPPY): examples/uppy/package.json examples/uppy/package-lock.json examples/uppy/src/uppy.js
	cd examples/uppy && npm ci --ignore-scripts --no-audit --no-fund && npm run build

$(VERSITYGW): test/tools/go.mod test/tools/go.sum
	mkdir -p $(dir $@)
	cd test/tools && $(GO) build -o $@.tmp github.com/versity/versitygw/cmd/versitygw && mv $@.tmp $@

# oauth2-proxy has a module of its own, so its dependencies cannot move versitygw's.
$(OAUTH2PROXY): test/tools/oauth2-proxy/go.mod test/tools/oauth2-proxy/go.sum
	mkdir -p $(dir $@)
	cd test/tools/oauth2-proxy && $(GO) build -o $(CURDIR)/$@.tmp -ldflags "-X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$(OAUTH2PROXY_VERSION)" github.com/oauth2-proxy/oauth2-proxy/v7 && mv $(CURDIR)/$@.tmp $(CURDIR)/$@

## lint: gofmt, go vet and staticcheck on every module
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && echo "vet $$m" && $(GO) vet ./... && echo "staticcheck $$m" && $(GO) run $(STATICCHECK) ./...) || exit 1; done

## image: build the container image (needs a Docker engine)
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE) .

## loadtest: presignd on every signing route and identity vs a fixed-JSON handler and a naive PresignClient service under wrk (loopback, about ten minutes)
loadtest: $(VERSITYGW)
	GO=$(GO) ./test/loadtest/run.sh

## instructions: instructions per presign request in process, by callgrind, against the fixed-JSON handler (INSTRUCTIONS_BASELINE=REV: and against REV); steady where the load test's rates are not
instructions:
	GO=$(GO) ./test/loadtest/instructions.sh

## soak: presignd for SOAK_DURATION (default 10m) at half the peak rate on every signing route, with a reload every 10 s and refreshing credentials: RSS, goroutines and open files (start, end, slope), errors, reloads, audit lines (not in CI)
soak: $(VERSITYGW)
	GO=$(GO) ./test/loadtest/soak.sh

## surge: 5000 keep-alive connections at once against presignd serve (loopback, about a minute): memory before, at the peak, after
surge:
	GO=$(GO) ./test/surge/run.sh

clean:
	rm -rf bin .cache
