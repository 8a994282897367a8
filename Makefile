# Moose — the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BUF_VERSION := 1.75.0
TOOLS := $(CURDIR)/.tools
BUF := $(TOOLS)/node_modules/.bin/buf
REDOCLY_VERSION := 2.77.0
# A prefix of its own: npm install --no-save into buf's would prune buf.
REDOCLY := $(TOOLS)/redocly/node_modules/.bin/redocly
GOOGLEAPIS := $(TOOLS)/googleapis/google/api
BIN := $(CURDIR)/bin
# The OpenAPI document covers the public API only, not the plugin contract.
# protoc-gen-openapiv2 writes Swagger 2.0 to $(OPENAPIV2) (not committed);
# server/internal/cmd/openapi3 turns it into the committed OpenAPI 3 document.
# json_names_for_fields=false: the document names fields and query parameters
# as the gateway's marshaller writes them (proto names, snake_case).
OPENAPIV2 := $(TOOLS)/openapiv2
OPENAPI := proto/gen/openapi/moose.openapi.json
OPENAPI_TEMPLATE := {"version":"v2","managed":{"enabled":true,"disable":[{"file_option":"go_package","path":"google"}],"override":[{"file_option":"go_package_prefix","value":"github.com/moosehq/moose/proto/gen"}]},"inputs":[{"directory":"proto"}],"plugins":[{"local":["go","tool","protoc-gen-openapiv2"],"out":"$(OPENAPIV2)","opt":["allow_merge=true","merge_file_name=moose","output_format=json","json_names_for_fields=false","openapi_configuration=proto/openapi.yaml"],"strategy":"all"}]}

.PHONY: all build generate lint lint-openapi deps tidy-check test test-short test-orphans fidelity fuzz refinement bench demo clean check-generated breaking release-plugin-contract

all: build

deps:
	@bash scripts/ensure-deps.sh

$(BUF):
	@mkdir -p $(TOOLS)
	@npm install --silent --no-save --no-package-lock --prefix $(TOOLS) @bufbuild/buf@$(BUF_VERSION) >/dev/null

$(REDOCLY):
	@mkdir -p $(TOOLS)/redocly
	@npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix $(TOOLS)/redocly @redocly/cli@$(REDOCLY_VERSION) >/dev/null

# google/api/annotations.proto is taken from the module cache at generate time;
# third-party protos are never committed.
$(GOOGLEAPIS)/annotations.proto:
	@mkdir -p $(GOOGLEAPIS)
	@dir=$$($(GO) mod download -json github.com/grpc-ecosystem/grpc-gateway/v2@v2.2.0 | sed -n 's/.*"Dir": "\(.*\)",/\1/p'); \
	  install -m 0644 $$dir/third_party/googleapis/google/api/annotations.proto $$dir/third_party/googleapis/google/api/http.proto $(GOOGLEAPIS)/

generate: $(BUF) $(GOOGLEAPIS)/annotations.proto
	@rm -rf proto/gen $(OPENAPIV2)
	$(BUF) lint proto
	$(BUF) generate
	$(BUF) generate --path proto/moose/v1 --template '$(OPENAPI_TEMPLATE)'
	@mkdir -p $(dir $(OPENAPI))
	$(GO) run ./server/internal/cmd/openapi3 $(OPENAPIV2)/moose.swagger.json $(OPENAPI)

lint: $(BUF) $(GOOGLEAPIS)/annotations.proto
	$(BUF) lint proto
	$(GO) vet ./...

# lint-openapi lints the served OpenAPI document with redocly's recommended
# rules, every one an error (proto/redocly.yaml).
lint-openapi: $(REDOCLY)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --config proto/redocly.yaml $(OPENAPI)

# breaking fails when the plugin contract stops being wire- and JSON-compatible
# with its released snapshot (proto/released/plugin-v1.binpb).
breaking: $(BUF) $(GOOGLEAPIS)/annotations.proto
	$(BUF) breaking proto --against proto/released/plugin-v1.binpb

# release-plugin-contract records the current plugin contract as released;
# from then on `make breaking` holds every change to it.
release-plugin-contract: $(BUF) $(GOOGLEAPIS)/annotations.proto
	$(BUF) build proto --path proto/moose/plugin/v1 -o proto/released/plugin-v1.binpb

# tidy-check fails when go.mod or go.sum are not what `go mod tidy` makes
# them (a dependency unused, missing, or direct but marked indirect).
tidy-check:
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum are not tidy: run go mod tidy and commit" >&2; exit 1)

# check-generated fails when the committed generated code is stale.
check-generated: generate
	@git diff --exit-code --stat -- proto/gen || (echo "generated code is stale: run make generate and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- proto/gen)" || (git status --porcelain -- proto/gen; echo "generated code is stale: run make generate and commit" >&2; exit 1)

# Each plugins/<name> main package becomes bin/moose-plugin-<name>;
# plugins/internal/... (test and helper programs) and plugins/sdk are not
# plugins. The manifest bin/moose-plugins.manifest.json then records every
# built-in with its sha256: moosed registers only what it lists, pinned to
# those hashes. bin/ must not be writable by group or others (moosed checks).
PLUGIN_MAINS = $(shell $(GO) list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./plugins/... | grep -v /internal/)

build:
	@mkdir -p $(BIN)
	@chmod go-w $(BIN)
	$(GO) build -o $(BIN)/ ./server/cmd/... ./clients/cmd/...
	@for p in $(PLUGIN_MAINS); do echo "$(GO) build -o $(BIN)/moose-plugin-$${p##*/} $$p"; $(GO) build -o $(BIN)/moose-plugin-$${p##*/} $$p || exit 1; done
	$(GO) run ./server/internal/cmd/pluginmanifest $(BIN) $(foreach p,$(PLUGIN_MAINS),moose-plugin-$(notdir $(p)))

test: deps build check-generated lint-openapi breaking tidy-check
	$(GO) vet ./...
	MOOSE_PLUGIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 20m ./...

# test-orphans kills moosed with SIGKILL during sandboxed validations 10 times
# and checks after every restart that no plugin, bwrap or sandboxed process of
# the killed instance survives (make test runs 3 rounds of the same test).
test-orphans: build
	MOOSE_PLUGIN_DIR=$(BIN) MOOSE_E2E_ORPHAN_ITERATIONS=10 $(GO) test -race -count=1 -timeout 15m -run 'TestNoSandboxSurvivesKill9' -v ./server/e2e/

# fidelity runs the whole fidelity corpus (examples/fidelity: every answer
# of every case) through moosed and prints the confusion table; make test
# runs the slice each case lists. The table is also written to
# .fidelity/report.txt.
fidelity: deps build
	@mkdir -p .fidelity
	@rm -f .fidelity/report.txt .fidelity/answers.tsv
	@echo "running the fidelity corpus (log: .fidelity/test.log)"
	@MOOSE_PLUGIN_DIR=$(BIN) MOOSE_FIDELITY=1 MOOSE_FIDELITY_REPORT=$(CURDIR)/.fidelity/report.txt MOOSE_FIDELITY_ANSWERS=$(CURDIR)/.fidelity/answers.tsv \
		$(GO) test -count=1 -timeout 120m -run '^TestFidelity$$' -v ./server/ > .fidelity/test.log 2>&1; rc=$$?; \
		if [ -s .fidelity/report.txt ]; then cat .fidelity/report.txt; else tail -50 .fidelity/test.log; fi; exit $$rc

# fuzz: the API fuzz test at length (make test sends 25 generated requests
# per RPC), then Go's native fuzzing of the edit parser and applier.
FUZZ_CASES ?= 3000
FUZZ_TIME ?= 60s
fuzz: deps
	@mkdir -p .fuzz
	@echo "fuzzing every RPC, $(FUZZ_CASES) requests each (log: .fuzz/test.log)"
	@MOOSE_FUZZ_CASES=$(FUZZ_CASES) $(GO) test -count=1 -timeout 60m -run '^TestFuzzEveryRPC$$' -v ./server/ > .fuzz/test.log 2>&1; rc=$$?; \
		grep -E '^(--- |    fuzz_test.go)' .fuzz/test.log | cut -c1-2000; exit $$rc
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_TIME) ./server/internal/edit/
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZ_TIME) ./server/internal/edit/

test-short:
	$(GO) test -short -count=1 ./...

bench: deps build
	MOOSE_PLUGIN_DIR=$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...
	$(GO) test -run '^$$' -bench AcquireReset -benchtime 20x -timeout 30m ./server/internal/workspace/
	$(GO) test -run '^$$' -bench PoolStart -benchtime 1x -timeout 30m ./server/internal/workspace/
	$(GO) test -run '^$$' -bench UnreadWatches -benchtime 1x -timeout 30m ./server/e2e/

# refinement: the refinement loop's effect, before and after. Builds the moosed
# of REFINEMENT_BEFORE (the commit before the refinement changes of issue 13)
# and runs the demo suites and the refinement suite through it and through this
# checkout's moosed: pass@1, pass after refinement, mean cycles (~15 min).
REFINEMENT_BEFORE ?= 2a44a18
refinement: deps build
	@rm -rf .refinement && mkdir -p .refinement/before
	@git archive $(REFINEMENT_BEFORE) | tar -x -C .refinement/before
	@echo "building moosed at $(REFINEMENT_BEFORE) (log: .refinement/build.log)"
	@GOFLAGS=-buildvcs=false $(MAKE) -C .refinement/before build > .refinement/build.log 2>&1
	@scripts/refinement.sh .refinement/before/bin before > .refinement/before.txt
	@scripts/refinement.sh $(BIN) after > .refinement/after.txt
	@printf '%-8s %-12s %-9s %-7s %-7s %s\n' RUN SUITE VARIANT 'pass@1' refined cycles
	@cat .refinement/before.txt .refinement/after.txt

demo: deps build
	@bash scripts/demo.sh

clean:
	rm -rf $(BIN) .demo .fidelity .fuzz .refinement
