# keyward — the two commands of the README, and the steps under them.
#   make demo   install what is missing, build, create a project-local SoftHSM token, run the main job
#   make test   install what is missing, build (plain and ASan+UBSan), run every test (ctest)

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
WERROR ?= ON
DEBIAN_PACKAGES := cmake g++ make pkg-config softhsm2 opensc libssl-dev libp11-dev libp11-kit-dev \
	libnss3 libnss3-tools libgtest-dev libgmock-dev libbenchmark-dev libsqlite3-dev sqlite3 \
	nlohmann-json3-dev libcli11-dev age xxd bc time \
	libmongocrypt-dev libbson-dev

.PHONY: demo test deps build build-asan test-plain test-asan bench soak clean

demo: deps build
	bash scripts/demo.sh "$(BUILD)"

test: deps build build-asan test-plain test-asan

deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else \
	    echo "error: missing packages ($$missing) and not root: install them as root" >&2; exit 2; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYWARD_WERROR=$(WERROR)
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKEYWARD_WERROR=$(WERROR) -DKEYWARD_SANITIZE=ON \
	  -DKEYWARD_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)

test-plain:
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# SoftHSM and NSS are not built with ASan: their own leaks are not ours (see tests/lsan.supp).
test-asan:
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

bench: deps build
	bash bench/run.sh "$(BUILD)"

# Not in CI: 8 threads of mixed operations on two tokens (one failed every 30 s) while rotations run.
# SOAK_SECONDS=180 make soak for a shorter run; the figures are in the README ("Several tokens and failover").
SOAK_SECONDS ?= 600
soak: deps build
	mkdir -p $(BUILD)/test-tmp
	KEYWARD_TEST_TMP=$(CURDIR)/$(BUILD)/test-tmp KEYWARD_SOAK_SECONDS=$(SOAK_SECONDS) \
	  $(BUILD)/bin/keyward_failover_tests --gtest_also_run_disabled_tests --gtest_filter='Soak.*'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
