# bc: build, test, run and measure. `make help` lists the targets.

GO       ?= go
BIN      := bin
# bc's version is pkg/cmdline/VERSION; binaries add the commit (go build's
# VCS stamp), the Go version and the platform.
VERSION  := $(shell cat pkg/cmdline/VERSION)
LDFLAGS  := -s -w
GOFLAGS_BUILD := -trimpath -ldflags "$(LDFLAGS)"
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages with tests of time and memory bounds (nodetest.Bound), which the
# race detector would distort: make test runs them again without it, one
# package at a time so that they do not share the cores.
BOUND_PKGS  := ./pkg/api ./pkg/peer
# Tests skipped for want of a tool (proctest.SkipMissing) are listed here,
# and printed at the end of make test.
SKIPPED     := $(CURDIR)/$(BIN)/.skipped-tests
export BC_SKIP_REPORT := $(SKIPPED)

# The platforms bc supports (README: Platforms). make test vets three of
# them (darwin/amd64 adds nothing that darwin/arm64 and linux/amd64 do not
# check: no file of bc is both darwin- and amd64-only); make cross vets all.
CROSS_PLATFORMS := linux/arm64 darwin/arm64 darwin/amd64 freebsd/amd64
TEST_PLATFORMS  := darwin/arm64 freebsd/amd64 linux/arm64
# The format, validation and proof-of-work packages, tested on linux/arm64
# under qemu-user (their tests run no subprocess, which qemu-user could not
# follow).
ARM64_PKGS := ./pkg/chain ./pkg/sha256block ./pkg/strategy ./pkg/validate

# make install: the programs in BINDIR, the strategy plugins in LIBEXECDIR
# (keep it BINDIR/../libexec/bc, where the programs look, or set
# BC_PLUGIN_DIR), manual pages, Bash completions, the docs and the systemd
# units as examples. DESTDIR stages the tree (for packages).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec/bc
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
DOCDIR      ?= $(PREFIX)/share/doc/bc
PROGRAMS    := bc-mine bc-serve bc-gossip bc-backup bc-verify bc-add bc-get
PLUGINS     := bc-pow-default bc-pow-classic bc-pow-scrypt

IMAGE    ?= bc
DOCKER_CONTEXT := $(BIN)/docker

.PHONY: all build install uninstall dist dist-check test cross test-arm64 fuzz run bench soak lint mutate proto docker clean help screenshots

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ## build every binary and plugin into bin/
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/... ./plugins/...

install: build ## install bc (PREFIX=/usr/local, DESTDIR, BINDIR, LIBEXECDIR, MANDIR, BASHCOMPDIR, ZSHCOMPDIR, FISHCOMPDIR, DOCDIR)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(DOCDIR)/systemd
	install -m 755 $(addprefix $(BIN)/,$(PROGRAMS)) $(DESTDIR)$(BINDIR)/
	install -m 755 $(addprefix $(BIN)/,$(PLUGINS)) $(DESTDIR)$(LIBEXECDIR)/
	install -m 644 contrib/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 contrib/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(addprefix contrib/completions/,$(PROGRAMS)) $(DESTDIR)$(BASHCOMPDIR)/
	install -m 644 $(addprefix contrib/completions/zsh/_,$(PROGRAMS)) $(DESTDIR)$(ZSHCOMPDIR)/
	install -m 644 $(addprefix contrib/completions/fish/,$(addsuffix .fish,$(PROGRAMS))) $(DESTDIR)$(FISHCOMPDIR)/
	install -m 644 README.md LICENSE $(DESTDIR)$(DOCDIR)/
	install -m 644 contrib/systemd/* $(DESTDIR)$(DOCDIR)/systemd/

uninstall: ## remove what make install put (same variables)
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROGRAMS)) $(addprefix $(DESTDIR)$(LIBEXECDIR)/,$(PLUGINS)) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(addsuffix .1,$(PROGRAMS))) $(DESTDIR)$(MANDIR)/man5/bc-chain.5 \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(PROGRAMS)) $(addprefix $(DESTDIR)$(ZSHCOMPDIR)/_,$(PROGRAMS)) \
		$(addprefix $(DESTDIR)$(FISHCOMPDIR)/,$(addsuffix .fish,$(PROGRAMS)))
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

dist: ## reproducible release archives for every platform, and SHA256SUMS, in bin/dist
	GO=$(GO) ./contrib/dist.sh

dist-check: ## make dist twice and compare: the archives must be byte-identical
	GO=$(GO) DIST=$(BIN)/dist-a ./contrib/dist.sh >/dev/null
	GO=$(GO) DIST=$(BIN)/dist-b ./contrib/dist.sh >/dev/null
	cmp $(BIN)/dist-a/SHA256SUMS $(BIN)/dist-b/SHA256SUMS && cat $(BIN)/dist-a/SHA256SUMS

test: build ## run every test under the race detector (unit, integration, CLI, browser, faults, crashes), then a short fuzz of every parser
	@rm -f $(SKIPPED)
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -p 1 -count=1 -timeout 10m $(BOUND_PKGS)
	FUZZTIME=$(or $(FUZZTIME),3s) ./contrib/fuzz.sh
	$(MAKE) --no-print-directory cross PLATFORMS="$(TEST_PLATFORMS)"
	$(MAKE) --no-print-directory test-arm64
	@if [ -s $(SKIPPED) ]; then sort -u $(SKIPPED); echo "make test: passed, but the tests above were SKIPPED for want of what they name"; else echo "make test: passed, nothing skipped"; fi

cross: ## vet (so type-check and build) every package, tests included, for each platform bc supports (PLATFORMS=...)
	@for p in $(or $(PLATFORMS),$(CROSS_PLATFORMS)); do \
		echo "cross: $$p"; GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet ./... || exit 1; \
	done

test-arm64: ## the format, validation and proof-of-work tests on linux/arm64 under qemu-user
	@if command -v qemu-aarch64 >/dev/null 2>&1; then \
		echo "test-arm64: $(ARM64_PKGS) under qemu-aarch64"; \
		GOARCH=arm64 CGO_ENABLED=0 $(GO) test -count=1 -exec qemu-aarch64 $(ARM64_PKGS); \
	else \
		echo "SKIPPED test-arm64: qemu-aarch64 is not installed (apt-get install qemu-user)" | tee -a $(SKIPPED); \
	fi

fuzz: ## fuzz every parser and handler for FUZZTIME each (default 10m)
	FUZZTIME=$(or $(FUZZTIME),10m) ./contrib/fuzz.sh

run: build ## start a local network of nodes with their web UI (N=3)
	./contrib/run-network.sh

soak: build ## the long crash test: 1000 SIGKILLs of a loaded node's daemons (KILLS=n)
	$(GO) test -count=1 -timeout 120m -run TestCrashLoop ./pkg/crashtest/ -v -args -kills $(or $(KILLS),1000)

bench: build ## run the benchmarks and write the report
	./contrib/bench.sh

screenshots: build ## retake the web UI's screenshots in contrib/screenshots (README's tour), with headless Chromium
	BC_ARTIFACT_DIR=$(CURDIR)/contrib/screenshots $(GO) test -count=1 -run 'TestBrowserTeaching|TestBrowserUI$$' ./pkg/api

mutate: ## break each rule of contrib/mutate/mutations.txt in turn and report any the tests miss (NAME=one)
	$(GO) run ./contrib/mutate $(if $(NAME),-only $(NAME))

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

docker: ## build the Docker image (IMAGE=bc) from static binaries of the host's Go: no registry needed
	rm -rf $(DOCKER_CONTEXT) && mkdir -p $(DOCKER_CONTEXT)/bin $(DOCKER_CONTEXT)/state/bc && mkdir -p $(DOCKER_CONTEXT)/rootfs && mkdir -m 1777 $(DOCKER_CONTEXT)/rootfs/tmp
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(DOCKER_CONTEXT)/bin/ ./cmd/... ./plugins/...
	docker build -q -f contrib/docker/Dockerfile.local --label org.opencontainers.image.version=$(VERSION) -t $(IMAGE) $(DOCKER_CONTEXT)
	@docker image inspect --format '$(IMAGE): {{.Size}} bytes' $(IMAGE)

proto: ## regenerate the plugin protocol's Go code (needs protoc)
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --go_out=. --go_opt=module=github.com/bc-chain/bc \
		--go-grpc_out=. --go-grpc_opt=module=github.com/bc-chain/bc pkg/pow/powpb/pow.proto

clean: ## remove build output
	find $(BIN) -mindepth 1 ! -name .keep -delete
	$(GO) clean -testcache
