# The two set-up commands of the README:
#   make run    install what is missing, build, create a demo broker data directory, print what to type
#               next, and serve the broker's HTTP API on 127.0.0.1:$(PORT)
#   make test   install what is missing, check the formatting, build, run every test, then every fuzz
#               target for FUZZ_SECONDS
# and the benchmark:
#   make bench  release build, then the ledger, API, accounting, log and PostgreSQL benchmarks (tables and JSON)

SWIFT    ?= swift
DATA_DIR ?= demo-data
PORT     ?= 8080
# Seconds each fuzz target runs in `make test` (docs/fuzzing.md has the longer runs).
FUZZ_SECONDS ?= 10
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-postgres bench deps test-deps build clean-demo format format-check openapi-client openapi-check dashboard-files dashboard-check

deps:
	@if ! pkg-config --exists libsodium 2>/dev/null || ! pkg-config --exists sqlite3 2>/dev/null; then \
		echo "Installing libsodium-dev, libsqlite3-dev and pkg-config (Debian packages)…"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libsodium-dev libsqlite3-dev pkg-config; \
	fi

# What the tests use besides Swift: a C compiler for the power-cut harness (Tests/PowerLoss),
# Python packages for the independent client and the property run of the OpenAPI document, and
# Debian's Chromium with its driver and Selenium for the dashboard's browser test.
test-deps: deps
	@command -v cc >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gcc; }
	@{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } \
		|| { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; }
	@python3 -c "import http_message_signatures, nacl, requests, schemathesis, selenium" 2>/dev/null \
		|| python3 -m pip install -q http-message-signatures pynacl requests schemathesis selenium

build: deps
	$(SWIFT) build --product mydata

run: build
	@$$($(SWIFT) build --show-bin-path)/mydata admin init --data-dir $(DATA_DIR) --policies Policies
	@echo
	@echo "The mydata binary is $$($(SWIFT) build --show-bin-path)/mydata; to type just 'mydata':"
	@echo "  export PATH=\"$$($(SWIFT) build --show-bin-path):\$$PATH\""
	@echo "In another terminal, talk to this broker over signed HTTP with: export MYDATA_BROKER=http://127.0.0.1:$(PORT)"
	@echo "Starting the broker on http://127.0.0.1:$(PORT) (Ctrl-C stops it gracefully)…"
	@$$($(SWIFT) build --show-bin-path)/mydata serve --data-dir $(DATA_DIR) --host 127.0.0.1 --port $(PORT)

test: test-deps format-check openapi-check dashboard-check
	$(SWIFT) test
	.ci/fuzz $(FUZZ_SECONDS)

# The same tests with a throwaway PostgreSQL cluster, as CI runs them.
test-postgres:
	.ci/with-postgres $(MAKE) test

bench: deps
	$(SWIFT) build -c release --product mydata-bench
	$(SWIFT) build -c release --product mydata
	$$($(SWIFT) build -c release --show-bin-path)/mydata-bench ledger
	$$($(SWIFT) build -c release --show-bin-path)/mydata-bench api
	$$($(SWIFT) build -c release --show-bin-path)/mydata-bench accounting
	$$($(SWIFT) build -c release --show-bin-path)/mydata-bench log
	$$($(SWIFT) build -c release --show-bin-path)/mydata-bench analysis
	.ci/with-postgres $$($(SWIFT) build -c release --show-bin-path)/mydata-bench postgres

clean-demo:
	rm -rf $(DATA_DIR)

# swift-format with the repository's .swift-format (width 150, 4 spaces, formatting only).
format:
	$(SWIFT) format --in-place --recursive --configuration .swift-format Sources Tests Package.swift

format-check:
	$(SWIFT) format lint --strict --recursive --configuration .swift-format Sources Tests Package.swift

# The client library's generated code (Sources/MyDataClient/Generated) from docs/openapi.yaml:
# regenerate it after changing the document; the check fails when the committed code differs.
openapi-client:
	.ci/openapi-client

openapi-check:
	.ci/openapi-client --check

# The dashboard's files built into the binary (Sources/BrokerServer/DashboardFiles+Embedded.swift):
# regenerate the table after changing a file of the page; the check fails when it differs.
dashboard-files:
	.ci/dashboard-files

dashboard-check:
	.ci/dashboard-files --check
