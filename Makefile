# The two commands of the README. Each does its own set-up from nothing.
BUILD ?= build
JOBS ?= $(shell nproc)
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all setup configure build demo test fuzz-build bench clean

all: build

setup:
	@./.ci/setup-host

configure: setup
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DBERTH_WERROR=ON \
	  -DBERTH_FUZZER=$(CURDIR)/$(FUZZ_BUILD)/tests/fuzz/loader_fuzz -DBERTH_FUZZ_SECONDS=$(FUZZ_SECONDS)

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

# Until the sample stack runs, the demo shows the resolved model of the bundled example.
demo: build
	@echo '$$ berth config   (samples/web-redis-nginx)'
	@cd samples/web-redis-nginx && ../../$(BUILD)/berth config

# ctest runs the unit, CLI and integration tests, and the loader's fuzzer for FUZZ_SECONDS.
test: build fuzz-build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The loader's libFuzzer target, built with clang and sanitizers in its own build tree.
fuzz-build: setup
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || \
	  CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target loader_fuzz

bench: build
	@./bench/startup.sh
	@./bench/config.sh
	@./bench/pull.sh
	@./bench/container-run.sh
	@./bench/compose.sh
	@./bench/build.sh
	@./bench/network.sh

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
