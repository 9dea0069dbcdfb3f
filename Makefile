# The two commands a fresh machine needs: "make demo" and "make test".
GO ?= go
# go.mod asks for Go 1.27.3 or later, which has the standard library's
# security fixes that Go 1.26 lacks (docs/security.md). "auto" uses the
# installed Go when it is new enough, else fetches the go.mod version from
# the module proxy once; it overrides a GOTOOLCHAIN=local in the
# environment (the official images set it), which would refuse to build.
export GOTOOLCHAIN := auto

# axe-core, the accessibility checker that e2e/accessibility_test.go and
# recipe_a11y_test.go run in Chromium: test tooling from npm, installed
# outside the repository by "make axe-core"; the app itself stays standard
# library only.
AXE_VERSION := 4.14.1
AXE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/zendesk-oauth-app/axe-core-$(AXE_VERSION)
export AXE_CORE ?= $(AXE_DIR)/node_modules/axe-core/axe.min.js

.PHONY: run demo build test bench bench-compare fuzz screenshots vulncheck axe-core

run: ## run against a real Zendesk (settings from the environment or .env)
	$(GO) run .

demo: ## run against the built-in Zendesk simulator: no account needed
	$(GO) run . -demo

build: ## one static binary: ./zendesk-oauth-app
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -o zendesk-oauth-app .

test: ## formatting, vet, and every test with the race detector; says what it skipped
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@skipped=$$(mktemp); \
	echo "$(GO) test -race -count=1 ./..."; SKIPPED_TESTS=$$skipped $(GO) test -race -count=1 ./...; status=$$?; \
	if [ -s $$skipped ]; then echo; echo "Skipped, for want of a tool (install it with the command after it, then run make test again):"; sort $$skipped; fi; \
	rm -f $$skipped; exit $$status

bench: ## the in-process benchmarks with memory figures, then bench-compare
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 . ./internal/securecookie
	$(MAKE) bench-compare

bench-compare: ## the app and the tutorial's app, each its own process, side by side
	$(GO) test -count=1 -run='^$$' -bench='^BenchmarkSideBySide$$' -benchtime=1x ./e2e

# The profile greets with 👋: without a font that draws it, Chromium draws
# an empty box, and the pictures in the README would show one.
screenshots: ## drive the browser journeys and save PNGs of the pages into docs/
	@fc-list ':charset=1f44b' family 2>/dev/null | grep -q . || { \
	  echo "make screenshots: no installed font draws the profile's 👋 (U+1F44B, asked of fc-list), so the pictures would show an empty box." >&2; \
	  echo "Install an emoji font first, e.g. apt-get install fonts-noto-color-emoji." >&2; exit 1; }
	SCREENSHOTS=$(CURDIR)/docs E2E=1 $(GO) test -count=1 -run='^TestBrowser' ./e2e

axe-core: ## install axe-core from npm for the accessibility tests (E2E=1 needs it)
	@test -f "$(AXE_DIR)/node_modules/axe-core/axe.min.js" || npm install --no-save --no-audit --no-fund --prefix "$(AXE_DIR)" axe-core@$(AXE_VERSION)

fuzz: ## each fuzz target for a short, fixed time
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizeSubdomain$$' -fuzztime=20s ./internal/zendesk
	$(GO) test -run='^$$' -fuzz='^FuzzCallback$$' -fuzztime=20s .
	$(GO) test -run='^$$' -fuzz='^FuzzOpen$$' -fuzztime=20s ./internal/securecookie

# govulncheck's public database cannot be reached from every machine: the
# database is built here from the golang.org/x/vulndb module (its OSV files
# and its cmd/indexdb), which the Go module proxy serves like any module.
# govulncheck cannot tell a stale database: the target says when the proxy
# serves a newer snapshot than VULNDB, the one to move it to.
VULNDB := golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
GOVULNCHECK := golang.org/x/vuln/cmd/govulncheck@v1.9.0

vulncheck: ## govulncheck against a vulnerability database built offline
	@newest=$$($(GO) list -m -f '{{.Version}}' golang.org/x/vulndb@latest); \
	if [ "golang.org/x/vulndb@$$newest" != "$(VULNDB)" ]; then \
	  echo "make vulncheck: the module proxy serves a newer vulnerability database: set VULNDB in the Makefile to golang.org/x/vulndb@$$newest" >&2; exit 1; fi
	@osv=$$($(GO) mod download -json $(VULNDB) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p')/data/osv; \
	rm -rf .vulndb && $(GO) run golang.org/x/vulndb/cmd/indexdb@$(lastword $(subst @, ,$(VULNDB))) -vulns "$$osv" -out .vulndb
	$(GO) run $(GOVULNCHECK) -db file://$(CURDIR)/.vulndb ./...
