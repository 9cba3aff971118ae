# The two commands: `make run` and `make test`. Both install missing Debian packages.
BUILD      ?= build
TEST_BUILD ?= build-test
JOBS       ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-plain bench clean

all: build

build:
	@scripts/deps.sh build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

# Builds, starts a private PostgreSQL under var/ unless TRIAGE_DATABASE_URL is set,
# then the store, the gateway and two enrichers. Ctrl-C stops everything.
run: build
	@scripts/run.sh $(BUILD)/bin

# Every test, twice: on the build `make run` uses, then with AddressSanitizer and
# UndefinedBehaviorSanitizer. Unit tests (cmocka), integration tests (real PostgreSQL,
# processes, sockets, HTTP) and the browser tests (Debian's chromium, playwright-core).
test:
	@scripts/deps.sh test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(TEST_BUILD) -j$(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

bench: build
	@scripts/deps.sh bench
	bench/run.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
