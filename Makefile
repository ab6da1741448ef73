# The one entry point. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# go.mod's toolchain line asks for go1.26.10 (standard-library fixes); the Go
# installed here is 1.26.8 with GOTOOLCHAIN=local in its go.env, so every go
# command here lets go.mod choose: the first one fetches go1.26.10 through the
# module proxy. (Its go line stays 1.26.0, the language version the code needs,
# so `go mod tidy` also runs, and changes nothing, with the machine's own Go.)
export GOTOOLCHAIN ?= auto

FUNCTIONS := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/main.go))))
DIST      := dist
GOFLAGS_LAMBDA := -trimpath -tags lambda.norpc -ldflags="-s -w"

# The vulnerability database for `make vuln`, built offline from the OSV
# files of this golang.org/x/vulndb version; bump it to see newer reports.
VULNDB_VERSION := v0.0.0-20261105234957-e22db6528018
VULNDB_DIR     := $(CURDIR)/.cache/vulndb
VULNDB_STAMP   := $(VULNDB_DIR)/built-from-$(VULNDB_VERSION)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install the pinned npm tools (CDK CLI, API client generator) and download Go modules
	npm ci --no-audit --no-fund
	go mod download

.PHONY: build
build: validate ## build every function as a linux/arm64 `bootstrap` into dist/<name>/, with program.json
	@test -n "$(FUNCTIONS)" || { echo "no functions under functions/"; exit 1; }
	@for fn in $(FUNCTIONS); do \
	  mkdir -p $(DIST)/$$fn; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $(DIST)/$$fn/bootstrap ./functions/$$fn; \
	  cp program.json $(DIST)/$$fn/program.json; \
	  printf "  %-16s %s bytes\n" $$fn "$$(stat -c %s $(DIST)/$$fn/bootstrap)"; \
	done

.PHONY: validate
validate: ## check program.json (file, field and reason on error); an invalid program never builds
	go run ./shared/cmd/loyaltyops validate program.json

.PHONY: test
test: ## vet and run every test (starts DynamoDB Local and the embedded SQS itself)
	go vet ./...
	go test -count=1 -timeout 80m ./...

.PHONY: lint
lint: ## gofmt, go vet, staticcheck and `go mod tidy -diff`; fails on any finding
	@unformatted="$$(gofmt -l $$(find . \( -path ./node_modules -o -path ./.cache -o -path ./.git \) -prune -o -name '*.go' -print))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt -l lists files to format:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...
	go mod tidy -diff

.PHONY: vuln
vuln: $(VULNDB_STAMP) ## govulncheck ./... against the offline vulnerability database in .cache/vulndb
	go tool govulncheck -db file://$(VULNDB_DIR) ./...

# indexdb turns the module's data/osv into the database govulncheck reads; it
# is built into a temporary folder, so an interrupted run is never reused.
$(VULNDB_STAMP):
	rm -rf $(VULNDB_DIR) $(VULNDB_DIR).tmp
	go mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	go -C "$$(go env GOMODCACHE)/golang.org/x/vulndb@$(VULNDB_VERSION)" run ./cmd/indexdb -vulns data/osv -out $(VULNDB_DIR).tmp
	mv $(VULNDB_DIR).tmp $(VULNDB_DIR)
	touch $@

# make run PORT=3100 puts the HTTP API on 127.0.0.1:3100, the jobs API on
# 3101 and the partners' SQS on 3102; JOBS_PORT=N or SQS_PORT=N moves one alone.
PORT ?= 3000
JOBS_PORT ?=
SQS_PORT ?=

.PHONY: run
run: ## run the local stack on 127.0.0.1:3000 (make run PORT=3100 [JOBS_PORT=3101]); its data is kept in .cache/local
	@# The functions' build flags (less -ldflags), so every package compiles once for both.
	@CGO_ENABLED=0 go build -trimpath -tags lambda.norpc -o .cache/bin/loyaltyctl ./shared/cmd/loyaltyctl
	.cache/bin/loyaltyctl run -addr 127.0.0.1:$(PORT)$(if $(JOBS_PORT), -jobs-addr 127.0.0.1:$(JOBS_PORT))$(if $(SQS_PORT), -sqs-addr 127.0.0.1:$(SQS_PORT))

.PHONY: reset
reset: ## delete the local stack's kept data (.cache/local): the next make run starts with a fresh, seeded table
	@go run ./shared/cmd/loyaltyctl reset

.PHONY: token
token: ## print a development JWT: make token MEMBER=m-123
	@go run ./shared/cmd/loyaltyctl token -member "$(or $(MEMBER),demo-member)"

.PHONY: synth
synth: build deps ## synthesize the CloudFormation templates into cdk.out (offline)
	npx cdk synth --quiet

.PHONY: deploy
deploy: build deps ## deploy both stacks to the AWS account of the current credentials
	npx cdk deploy --all --require-approval broadening

.PHONY: bench
bench: ## measure the performance and cost figures into BENCHMARKS.md
	go run ./shared/cmd/bench

.PHONY: fuzz
fuzz: ## fuzz the partner message decoder for FUZZTIME (default 2m)
	go test ./shared/ingest -run '^$$' -fuzz FuzzDecodeMessage -fuzztime $(or $(FUZZTIME),2m)

.PHONY: clean
clean: ## remove build output (keeps the DynamoDB Local cache)
	rm -rf $(DIST) cdk.out
