# keyward — the two commands of the README, and the steps under them.
#   make demo   install what is missing, build, create a project-local SoftHSM token, run the main job
#   make test   install what is missing, build (plain and ASan+UBSan), run every test (ctest), and a short
#               coverage-guided run of every fuzz target (clang-19 libFuzzer build in build-fuzz/)
#   make fuzz   the fuzz targets for FUZZ_SECONDS each (default 600), new corpus units kept in
#               build-fuzz/fuzz-work/, a table of executions, coverage and findings at the end

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=
JOBS ?= $(shell nproc)
WERROR ?= ON
DEBIAN_PACKAGES := cmake g++ make pkg-config softhsm2 opensc libssl-dev libp11-dev libp11-kit-dev \
	libnss3 libnss3-tools libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev sqlite3 \
	nlohmann-json3-dev libcli11-dev age xxd bc time \
	libmongocrypt-dev libbson-dev postgresql libpq-dev \
	clang-19 libclang-rt-19-dev

.PHONY: demo test deps build build-asan build-fuzz test-plain test-asan test-fuzz fuzz bench bench-postgres audit-kill soak clean

demo: deps build
	bash scripts/demo.sh "$(BUILD)"

test: deps build build-asan build-fuzz test-plain test-asan test-fuzz

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "error: missing packages ($$missing) and not root: install them as root" >&2; exit 2; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Line tables only (-g1): enough for stack traces, profilers and sanitizer reports, and a third less
# compile time than full debug information (measured on tools/keyward/field.cc: 36.7 s -> 24.1 s).
DEBUG_INFO := -g1
build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_WERROR=$(WERROR) \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 $(DEBUG_INFO) -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 $(DEBUG_INFO) -DNDEBUG"
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKEYWARD_WERROR=$(WERROR) -DKEYWARD_SANITIZE=ON \
	  -DKEYWARD_BUILD_BENCH=OFF -DCMAKE_C_FLAGS_DEBUG="$(DEBUG_INFO)" -DCMAKE_CXX_FLAGS_DEBUG="$(DEBUG_INFO)"
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# libFuzzer needs clang (Debian 12: clang-19 and its runtime). Only the fuzz targets and the rooms they
# link are built; -O1 with line tables, as libFuzzer recommends; clang's warnings are shown but not fatal (the
# project's -Werror is g++'s, and a clang-only warning must not stop the test run).
build-fuzz:
	CC=clang-19 CXX=clang++-19 cmake -S . -B $(FUZZ_BUILD) -DKEYWARD_FUZZ=ON -DKEYWARD_WERROR=OFF \
	  -DKEYWARD_BUILD_TESTS=OFF -DKEYWARD_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 $(DEBUG_INFO)" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 $(DEBUG_INFO)"
	cmake --build $(FUZZ_BUILD) --target keyward_fuzz_targets -j $(JOBS)

test-plain:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# SoftHSM and NSS are not built with ASan: their own leaks are not ours (see tests/lsan.supp).
test-asan:
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# A fixed number of inputs per target (tests/fuzz/CMakeLists.txt), seed 1, from the committed corpus.
test-fuzz:
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS)

# Each target for FUZZ_SECONDS, FUZZ_JOBS at a time (default 1: one after the other; FUZZ_TARGETS: a
# subset), niced.
fuzz: deps build-fuzz
	targets="$(FUZZ_TARGETS)"; \
	[ -n "$$targets" ] || targets=$$(cd $(FUZZ_BUILD) && ctest -N | sed -n 's/.*libfuzzer\.//p'); \
	nice -n 10 bash tests/fuzz/run_libfuzzer.sh --bin-dir $(FUZZ_BUILD)/bin --corpus $(CURDIR)/tests/fuzz/corpus \
	  --work $(FUZZ_BUILD)/fuzz-work --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) $$targets

bench: deps build
	bash bench/run.sh "$(BUILD)"

# The PostgreSQL catalog vs SQLite (bench/postgres.sh): rotation by 2 processes, a 4-process fleet with a kill,
# new scopes from 4 processes. PG_BENCH_ARGS: N FLEET_N SCOPES REPEAT (defaults 1000000 100000 500 3).
bench-postgres: deps build
	bash bench/postgres.sh "$(BUILD)" $(PG_BENCH_ARGS)

# The audit kill test at length (ctest runs it with 6 kills): 4 writers, 100 SIGKILLs.
audit-kill: deps build
	cd $(BUILD) && KEYWARD_TEST_TMP=$$PWD/test-tmp KEYWARD_AUDIT_KILLS=100 ./bin/keyward_audit_tests --gtest_filter='AuditKill.*'

# Not in CI: 8 threads of mixed operations on two tokens (one failed every 30 s) while rotations run.
# SOAK_SECONDS=180 make soak for a shorter run; the figures are in the README ("Several tokens and failover").
SOAK_SECONDS ?= 600
soak: deps build
	mkdir -p $(BUILD)/test-tmp
	KEYWARD_TEST_TMP=$(CURDIR)/$(BUILD)/test-tmp KEYWARD_SOAK_SECONDS=$(SOAK_SECONDS) \
	  $(BUILD)/bin/keyward_failover_tests --gtest_also_run_disabled_tests --gtest_filter='Soak.*'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
