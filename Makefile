# accrue developer entry points; .ci/run is what CI runs.
#
#   make deps      install what is missing: PostgreSQL server, buf (npm), Go modules
#   make run       run the server (cmd/accrued); pass flags with ARGS="..."
#   make test      all tests and scenario replays against a real PostgreSQL,
#                  then make test-crdb-path's steps
#   make test-crdb-path  the transactional packages' tests (no -race) and the
#                  scenario replays on CockroachDB's transaction path
#                  (ACCRUE_TXN_MODE=crdb: SERIALIZABLE, cockroach-go retries)
#   make bench     journal and order-event benchmarks against a real PostgreSQL
#   make bench-e2e accrue bench: its own PostgreSQL, pgbench's ceiling, accrued over
#                  Connect (BENCH="--quick" or "--preset medium", "--json", ...)
#   make web       build the web UI (web/src) into web/dist, which accrued embeds
#   make generate  regenerate the Go API (proto/accrue/v1), the TypeScript
#                  client (web/gen) and docs/api.md from proto/ with buf
#   make lint      gofmt, go vet, buf lint, generated code and web/dist up to date, tsc
#
# make test and make bench use the server ACCRUE_TEST_DATABASE_URL points
# at (a postgres:// URL of an existing database whose role may create
# databases), else start one private cluster for the run and stop it at
# the end, whatever happens.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

GO ?= go
BUF := npx --no -- buf
PGTMP := bin/pgtmp
ACCRUE := bin/accrue
# Scenario files replayed by make test: the shared ones, then this repo's.
SCENARIOS := ../shared/scenarios/*.yaml testdata/scenarios/*.yaml
NPM_LOCK := $(wildcard package-lock.json)
# What make generate writes: the Go API beside the protos, the TypeScript
# client, the API reference; make lint checks they are committed and current.
GENERATED := proto web/gen docs/api.md

# Packages whose tests run again on CockroachDB's transaction path: those
# that run transactions through internal/txn.
CRDB_PATH_PACKAGES := ./internal/txn/ ./ledger/ ./internal/server/... ./internal/service/ ./internal/store/ ./internal/replay/

.PHONY: help deps deps-postgres deps-chromium deps-pdftotext deps-wrk web run test test-crdb-path bench bench-e2e generate lint

help:
	@sed -n 's/^#   //p' Makefile

deps: deps-postgres deps-chromium deps-pdftotext deps-wrk node_modules/.package-lock.json
	@echo "== go mod download"
	$(GO) mod download

# The same places pgembed.FindBinaries looks: /usr/lib/postgresql/*/bin,
# then PATH. The Debian package would create and start a "main" cluster;
# accrue runs its own, so that is switched off before installing.
deps-postgres:
	@have_server() {
		for d in /usr/lib/postgresql/*/bin "$$(dirname "$$(command -v initdb || echo /nonexistent/x)")"; do
			[ -x "$$d/initdb" ] && [ -x "$$d/pg_ctl" ] && [ -x "$$d/postgres" ] && return 0
		done
		return 1
	}
	if have_server; then exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
		echo "make deps: the PostgreSQL server binaries (initdb, pg_ctl, postgres) are missing." >&2
		echo "Install them as root: apt-get install -y postgresql   (or run make deps as root)" >&2
		exit 1
	fi
	echo "== installing PostgreSQL with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends postgresql-common
	conf=/etc/postgresql-common/createcluster.conf
	if grep -q '^#\?\s*create_main_cluster' "$$conf"; then
		sed -ri 's/^#?\s*create_main_cluster\s*=.*/create_main_cluster = false/' "$$conf"
	else
		echo 'create_main_cluster = false' >>"$$conf"
	fi
	apt-get install -y --no-install-recommends postgresql
	have_server

# Debian's chromium, which the browser tests (internal/webui) drive.
deps-chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
		echo "make deps: chromium is missing; install it as root: apt-get install -y chromium" >&2
		exit 1
	fi
	echo "== installing chromium with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# wrk, the load client of accrue bench's single-call cases (issue 9
# measures with it); without it the bench falls back to Go's client.
deps-wrk:
	@if command -v wrk >/dev/null; then exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
		echo "make deps: wrk is missing (accrue bench then uses its Go client); install it as root: apt-get install -y wrk" >&2
		exit 0
	fi
	echo "== installing wrk with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }

# pdftotext (poppler-utils) reads statement PDFs back in the tests.
deps-pdftotext:
	@if command -v pdftotext >/dev/null; then exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
		echo "make deps: pdftotext is missing; install it as root: apt-get install -y poppler-utils" >&2
		exit 1
	fi
	echo "== installing poppler-utils (pdftotext) with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends poppler-utils

# npm ci when node_modules is missing or older than the lock file.
node_modules/.package-lock.json: package.json $(NPM_LOCK)
	@echo "== npm (pinned buf CLI)"
	if [ -f package-lock.json ]; then
		npm ci --no-audit --no-fund
	else
		npm install --no-audit --no-fund
	fi
	touch $@

run: deps
	$(GO) run ./cmd/accrued $(ARGS)

# with_postgres, at the start of a recipe, exports ACCRUE_TEST_DATABASE_URL:
# as given, or the URL of a private cluster stopped and deleted on exit.
define with_postgres
$(GO) build -o $(PGTMP) ./internal/pgembed/cmd/pgtmp
if [ -z "$${ACCRUE_TEST_DATABASE_URL:-}" ]; then
pg_root=$$(mktemp -d /tmp/accrue-make-pg.XXXXXX)
chmod 755 "$$pg_root" # The postgres OS user runs the server when we are root.
trap 'echo "== stopping the private PostgreSQL"; $(PGTMP) stop "$$pg_root/data" || true; rm -rf "$$pg_root"' EXIT
trap 'exit 130' INT TERM HUP
echo "== starting a private PostgreSQL in $$pg_root"
ACCRUE_TEST_DATABASE_URL=$$($(PGTMP) start "$$pg_root/data")
export ACCRUE_TEST_DATABASE_URL
fi
endef

# replay_scenarios runs `accrue replay --check` on every scenario file,
# each in a fresh database, and fails after all ran if any failed.
define replay_scenarios
if ! ls cmd/accrue/*.go >/dev/null 2>&1; then
echo "== scenario replays skipped: cmd/accrue does not exist yet"
else
echo "== scenario replays"
$(GO) build -o $(ACCRUE) ./cmd/accrue
failed=()
n=0
for f in $(SCENARIOS); do
[ -e "$$f" ] || continue
n=$$((n + 1))
db="accrue_scenario_$$$$_$$n"
url=$$($(PGTMP) createdb "$$ACCRUE_TEST_DATABASE_URL" "$$db")
echo "-- accrue replay --check $$f"
$(ACCRUE) replay --check --database-url "$$url" "$$f" || failed+=("$$f")
$(PGTMP) dropdb "$$ACCRUE_TEST_DATABASE_URL" "$$db"
done
if [ "$${#failed[@]}" -gt 0 ]; then
echo "scenario replays failed: $${failed[*]}" >&2
exit 1
fi
echo "$$n scenario(s) replayed"
fi
endef

# crdb_path_tests runs CRDB_PATH_PACKAGES' tests and the scenario replays
# with ACCRUE_TXN_MODE=crdb: internal/txn then takes CockroachDB's path on
# PostgreSQL (docs/notes.md, CockroachDB readiness). No -race: the default
# run has it, and this run is about transaction semantics. The replays
# share one database (each scenario has its own program), which saves a
# migration per file.
define crdb_path_tests
echo "== CockroachDB's transaction path (ACCRUE_TXN_MODE=crdb): go test"
export ACCRUE_TXN_MODE=crdb
$(GO) test -count=1 $(CRDB_PATH_PACKAGES)
echo "== CockroachDB's transaction path (ACCRUE_TXN_MODE=crdb): scenario replays"
$(GO) build -o $(ACCRUE) ./cmd/accrue
db="accrue_scenario_crdb_$$$$"
url=$$($(PGTMP) createdb "$$ACCRUE_TEST_DATABASE_URL" "$$db")
status=0
$(ACCRUE) replay --check --database-url "$$url" $$(ls $(SCENARIOS) 2>/dev/null) || status=$$?
$(PGTMP) dropdb "$$ACCRUE_TEST_DATABASE_URL" "$$db"
unset ACCRUE_TXN_MODE
[ "$$status" = 0 ]
endef

test: deps
	@$(with_postgres)
	echo "== go test -race"
	$(GO) test -race -count=1 ./...
	echo "== fuzz FuzzRPC (bounded)"
	$(GO) test -run '^$$' -fuzz '^FuzzRPC$$' -fuzztime 20s ./internal/server/
	$(replay_scenarios)
	$(crdb_path_tests)

test-crdb-path: deps
	@$(with_postgres)
	$(crdb_path_tests)

bench: deps
	@$(with_postgres)
	echo "== benchmarks"
	$(GO) test -run '^$$' -bench . -benchtime 3s ./ledger/ ./internal/server/

# bench-e2e starts its own cluster: ACCRUE_TEST_DATABASE_URL is not used.
bench-e2e: deps
	$(GO) build -o bin/accrued ./cmd/accrued
	$(GO) build -o $(ACCRUE) ./cmd/accrue
	$(ACCRUE) bench --accrued bin/accrued $(BENCH)

generate: node_modules/.package-lock.json
	$(BUF) generate

web: node_modules/.package-lock.json
	npx --no -- tsc -p web/tsconfig.json
	npm run --silent build

# Every check runs; the target fails at the end if any failed.
lint: deps
	@failed=()
	echo "== gofmt"
	unformatted=$$(find . -name '*.go' -not -path './node_modules/*' -not -path './.git/*' -print0 | xargs -0 -r gofmt -l)
	if [ -n "$$unformatted" ]; then echo "needs gofmt:"; echo "$$unformatted"; failed+=(gofmt); fi
	echo "== go vet"
	$(GO) vet ./... || failed+=("go vet")
	echo "== buf lint"
	$(BUF) lint || failed+=("buf lint")
	echo "== generated code up to date (buf generate, then git diff $(GENERATED))"
	if $(BUF) generate; then
		git diff --exit-code --stat -- $(GENERATED) || failed+=("generated code differs")
		untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED))
		if [ -n "$$untracked" ]; then echo "untracked generated files:"; echo "$$untracked"; failed+=("generated code untracked"); fi
	else
		failed+=("buf generate")
	fi
	echo "== tsc (the generated TypeScript client)"
	npx --no -- tsc -p tsconfig.gen.json || failed+=(tsc)
	echo "== web/dist up to date (make web, then git diff web/dist)"
	if $(MAKE) --no-print-directory web; then
		git diff --exit-code --stat -- web/dist || failed+=("web/dist differs")
		untracked=$$(git ls-files --others --exclude-standard -- web/dist)
		if [ -n "$$untracked" ]; then echo "untracked in web/dist:"; echo "$$untracked"; failed+=("web/dist untracked"); fi
	else
		failed+=("make web")
	fi
	if [ "$${#failed[@]}" -gt 0 ]; then
		printf 'lint failed: %s\n' "$${failed[@]}" >&2
		exit 1
	fi
	echo "lint ok"
