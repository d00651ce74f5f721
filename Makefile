# wheelgate — the two commands: `make demo` (the main job end to end on a local Pulp)
# and `make test` (all tests). Both set up everything they need on a fresh machine.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
CARGO ?= cargo
PULP := bash config/local-pulp/pulp.sh
FRONT := bash config/front/front.sh
export PULP_LAYOUT ?= both
# CI builds once from a clean clone: incremental caches would only take disk there.
ifneq ($(CI),)
export CARGO_INCREMENTAL ?= 0
endif

.PHONY: all build demo test base-image test-unit test-shared-machine lint fmt bench bench-mirror bench-scale bench-quick \
	demo-check pulp-up pulp-down \
	pulp-status clean-pulp front-up front-down front-status pki

all: build

build:
	$(CARGO) build --release

## Local Pulp (pulpcore + pulp-python from PyPI, PostgreSQL from Debian), both layouts.
pulp-up:
	$(PULP) up

pulp-down:
	$(PULP) down

pulp-status:
	$(PULP) status

# Stop the local Pulp and delete its data (database, media, secrets); keeps the virtualenv.
clean-pulp:
	$(PULP) clean

## TLS front (Debian's nginx on loopback, client certificates required) before each layout's
## local Pulp, with a throwaway PKI; state in .build/front/<layout>/front.env (docs/front.md).
front-up: pulp-up
	$(FRONT) up

front-down:
	$(FRONT) down

front-status:
	$(FRONT) status

# The throwaway PKI alone (.build/front/pki/, manifest pki.env).
pki:
	bash config/front/pki.sh

## All tests: brings up the local Pulp (both layouts) and its TLS front, then lint, the
## shared-machine proof and the whole suite.
test: pulp-up front-up base-image lint test-shared-machine
	@mkdir -p .build
	$(CARGO) test --workspace --doc 2>&1 | tee .build/test.log
	$(CARGO) test --workspace --all-targets --no-fail-fast 2>&1 | tee -a .build/test.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' .build/test.log

## The local stand-in for the UBI 9 Python image the generated Containerfile is tested on
## (podman + mmdebstrap from Debian when missing; built once per machine, cached outside the
## checkout in ~/.cache/wheelgate/base-image; a warm run only checks that podman has it).
base-image:
	bash config/customer/base-image.sh ensure

## Two checkouts on one machine: a second checkout's Pulp comes up beside this one's, and its
## `down` and `clean` leave this one answering (80-100 s: the second checkout migrates).
test-shared-machine: pulp-up
	bash config/local-pulp/two-checkouts.sh

## Unit tests only (no Pulp needed).
test-unit:
	$(CARGO) test --workspace --lib --bins

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## The main job end to end on the local Pulp (plain layout). The binaries compile (profile
## `demo`: unoptimised, no debug info; Cargo.toml) while Pulp and its front come up; on a cold
## 2-core machine both take minutes (issue 9 item 13, docs/benchmarks.md).
demo:
	@$(CARGO) build --profile demo --workspace --bins & build=$$!; \
	  { PULP_LAYOUT=plain $(PULP) up && PULP_LAYOUT=plain $(FRONT) up; } || \
	    { kill $$build 2>/dev/null; wait $$build; echo "demo: the local Pulp or its front did not come up" >&2; exit 1; }; \
	  wait $$build || { echo "demo: cargo build --profile demo failed" >&2; exit 1; }
	bash config/demo.sh

## make demo with its log checked (issue 9 item 12): no ANSI escapes when not on a terminal, and
## every echoed command ("$ ...") is valid shell.
demo-check:
	@mkdir -p .build
	$(MAKE) --no-print-directory demo >.build/demo.log 2>&1 || { tail -n 40 .build/demo.log; exit 1; }
	@if grep -n $$'\033' .build/demo.log; then echo "demo-check: ANSI escapes in .build/demo.log"; exit 1; fi
	@grep '^\$$ ' .build/demo.log | cut -c3- | bash -n || { echo "demo-check: an echoed command does not parse"; exit 1; }
	@echo "demo-check: .build/demo.log has no ANSI escapes; its $$(grep -c '^\$$ ' .build/demo.log) echoed commands parse"

## Benchmarks side by side with the alternatives (not tests), all in one run: uploads, promote
## and rollback (config/bench.sh), then the workloads with their own sections of docs/benchmarks.md:
## mirroring (config/bench-mirror.sh), scale (config/bench-scale.sh) and big files
## (config/bench-big.sh). BENCH_MIRROR=0, BENCH_SCALE=0, BENCH_BIG=0 skip one.
bench:
	$(PULP) up
	PULP_LAYOUT=plain $(FRONT) up
	$(CARGO) build --release --workspace --bins
	bash config/bench.sh

## Only the mirror workload of make bench (config/bench-mirror.sh): through the plain layout's TLS
## front; the Pulp sync goes into the hosted layout's Pulp. Rewrites its section of docs/benchmarks.md.
bench-mirror:
	$(PULP) up
	PULP_LAYOUT=plain $(FRONT) up
	$(CARGO) build --release --workspace --bins
	bash config/bench-mirror.sh

## Only the scale workload of make bench (config/bench-scale.sh, issue 10): wheelgate's commands on
## a 1,020-file and a 10,200-file variant index (grown once on the plain Pulp, product scalebench,
## reused), against the raw flip and curl. About 9 minutes once the indexes exist. Rewrites its
## section of docs/benchmarks.md.
bench-scale:
	PULP_LAYOUT=plain $(PULP) up
	$(CARGO) build --release --workspace --bins
	bash config/bench-scale.sh

## A developer's quick benchmark (a few minutes; docs/benchmarks.md is left alone): the scale
## workload's quick mode (indexes of 300 and 1,500 files, a 50-file build, one round, 2 flips, no
## curl upload; its section printed) and the big-file workload's quick mode (6 x 40 MiB and one
## 128 MiB wheel against curl, a small chunk curve; hosted layout; its section in
## .build/bench/benchmarks-big.md).
bench-quick:
	$(PULP) up
	$(CARGO) build --release --workspace --bins
	BENCH_SCALE_QUICK=1 BENCH_SCALE_WRITE=0 bash config/bench-scale.sh
	BENCH_BIG_QUICK=1 bash config/bench-big.sh
