# Silta — the two commands for a fresh Debian 12 machine:
#   make run    install packages, build, create dev PKI + config, start siltad
#   make test   install packages, build, run every test (ctest)
# Other targets: demo (the five practice models, narrated), run-cluster (three
# siltad on a throwaway PostgreSQL), build, deps, pki,
# dev-config, bench, bench-messages, kill-loop, package, test-sanitize, clean.

BUILD_DIR   ?= build
BUILD_TYPE  ?= Release
SANITIZE    ?= OFF
TSAN        ?= OFF
FUZZ        ?= OFF
# The compilers of a new build directory: clang-14, which builds this tree
# in about 60% of the time GCC 12 takes (docs/testing.md, "Compile time").
# A build directory keeps the compilers it was configured with.
COMPILERS   ?= CC=clang-14 CXX=clang++-14
JOBS        ?= $(shell nproc)
DEV_DIR     ?= var/dev
CERTS_DIR   ?= certs/dev

.PHONY: all deps configure build package test test-sanitize test-tsan fuzz run run-cluster demo pki dev-config bench bench-messages kill-loop clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD_DIR)/build.ninja:
	$(COMPILERS) cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DSILTA_SANITIZE=$(SANITIZE) -DSILTA_TSAN=$(TSAN) -DSILTA_FUZZ=$(FUZZ)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@tools/install-deps.sh test
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300 $(CTEST_ARGS)

# The Debian packages siltad, siltactl and libsilta-sdk-dev, into
# $(BUILD_DIR)/packages (deploy/CMakeLists.txt; `make test` checks them).
package: build
	cd $(BUILD_DIR) && cpack -B packages
	@ls $(BUILD_DIR)/packages/*.deb

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer
# (CI runs it after `make test`; it found a real undefined shift in HPKE).
# Always with clang-14, whatever COMPILERS says: the sanitizer runtimes
# installed are clang's (and GCC took twice as long for a test file).
# The store-contract suites run here on SQLite only: their *_postgres twins
# run the same SqlStore code over the PostgreSQL driver, whose own tests
# (pg_connection_test, postgres_store_test, postgres_integration_test,
# instances_integration_test) do run here; the twins would add minutes.
test-sanitize:
	@tools/install-deps.sh clang
	$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=ON \
	  COMPILERS="CC=clang-14 CXX=clang++-14" CTEST_ARGS='-E _postgres'

# The whole suite again with ThreadSanitizer (clang-14). Debian's Abseil and
# gRPC are not instrumented: tests/tsan/absl_sync_bridge.cc shows Abseil's
# locks to TSan, and tests/tsan/suppressions.txt says what is ignored and why.
# A report stops the process (halt_on_error), so its test fails.
test-tsan:
	@tools/install-deps.sh clang
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan/suppressions.txt:halt_on_error=1:second_deadlock_stack=1" \
	  $(MAKE) test BUILD_DIR=build-tsan BUILD_TYPE=RelWithDebInfo TSAN=ON \
	  COMPILERS="CC=clang-14 CXX=clang++-14"

# Every fuzz target of tests/fuzz for FUZZ_SECONDS each (clang-14, libFuzzer,
# ASan + UBSan); FUZZ_TARGETS picks some, FUZZ_RUNS=N stops each after N
# executions. Not part of `make test`, which replays the seeds and the
# regression inputs instead.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_RUNS ?=
fuzz:
	@tools/install-deps.sh
	@tools/install-deps.sh clang
	@FUZZ_RUNS=$(FUZZ_RUNS) tools/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

pki:
	@if [ -f $(CERTS_DIR)/ca.pem ] && [ ! -f $(CERTS_DIR)/orgs/police-hame.signer.pem ]; then \
	  echo "$(CERTS_DIR) predates bundle-signing certificates; creating a new dev PKI" >&2; \
	  rm -rf $(CERTS_DIR); fi
	@test -f $(CERTS_DIR)/ca.pem || certs/make-dev-pki.sh $(CERTS_DIR)
	@certs/make-log-key.sh $(CERTS_DIR)

dev-config: pki
	@tools/make-dev-config.sh $(DEV_DIR) $(CERTS_DIR)

run: build dev-config
	@tools/run-dev.sh $(BUILD_DIR) $(DEV_DIR) $(CERTS_DIR)

# A throwaway PostgreSQL and three siltad on it, on 127.0.0.1:7443-7445
# (issue #16). The database lives in $(CLUSTER_DIR).
CLUSTER_DIR ?= var/cluster
run-cluster: build dev-config
	@tools/install-deps.sh test
	@tools/run-cluster.sh $(BUILD_DIR) $(DEV_DIR) $(CERTS_DIR) $(CLUSTER_DIR)

# The five practice models against a fresh local siltad, as a narrative.
demo: build pki
	@tools/demo.sh $(BUILD_DIR) $(CERTS_DIR)

bench: build
	$(BUILD_DIR)/tests/bench/decide_bench
	$(BUILD_DIR)/tests/bench/message_bench --secs 5 --senders 1,16 --targets silta
	$(BUILD_DIR)/tests/bench/audit_bench

# The message path side by side with the relay ceiling and RabbitMQ quorum
# queues (../shared/peers), one table and a RESULT line (issue #15). About
# 5 minutes; run it on an idle machine.
bench-messages: build
	@tools/install-deps.sh bench
	tests/bench/bench_messages.sh $(BUILD_DIR)

# SIGKILL siltad 100 times under load: nothing lost, nothing redelivered
# after a confirmed ack, the audit export verifies (`make test` does 5).
kill-loop: build
	SILTA_KILLS=100 $(BUILD_DIR)/tests/kill_loop_integration_test

clean:
	rm -rf $(BUILD_DIR)
