# racebench: the two commands of the README, and a few more.
#   make bench      build release binaries and run the end-to-end demo (reports in target/bench/)
#   make test       run every test suite of the workspace (all of them, even after a failure), then a summary
#   make ci         what CI runs: format check, clippy, every assertion with a message, the link check, tests
#   make demo-leak  just the second article's story: a cross-user leak found, then fixed
#   make demo-live  mock-server with its admin page (/__admin/) and light load, until Ctrl-C
#   make bench-perf the performance kit: loadgen vs wrk/oha on nginx, mock-server vs bare axum, memory (target/bench-perf/)

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: bench bench-perf test test-deps ci fmt-check lint links build release demo-leak demo-live clean

bench: release
	@target/release/racebench-demo

demo-leak: release
	@target/release/racebench-demo leak

demo-live: release
	@scripts/demo-live.sh

bench-perf:
	@scripts/bench-perf.sh

release:
	$(CARGO) build --release --workspace --bins

build:
	$(CARGO) build --workspace --all-targets

test-deps:
	@scripts/test-deps.sh

test: test-deps
	@CARGO=$(CARGO) scripts/test.sh

links:
	@python3 scripts/test-check-links.py
	@python3 scripts/check-links.py

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@python3 scripts/bare-asserts.py $$(git ls-files '*.rs')
	@python3 scripts/layers.py --self-test
	@python3 scripts/layers.py
	@python3 scripts/check-links.py

ci: fmt-check lint test

clean:
	$(CARGO) clean
