# The two commands: `make run` and `make test`. Both install missing Debian packages.
BUILD      ?= build
TEST_BUILD ?= build-test
TSAN_BUILD ?= build-tsan
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
# Then the unit tests a third time with ThreadSanitizer (every data race in our threads
# is a failure). The integration tests are not in this run: with the store's event
# syncs, TSan reports races inside Debian's uninstrumented libnng 1.5.2 (tests/README.md,
# "ThreadSanitizer"), which only a suppression of all of libnng would silence.
test:
	@scripts/deps.sh test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(TEST_BUILD) -j$(JOBS)
	cd $(TEST_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTRIAGE_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	cmake --build $(TSAN_BUILD) -j$(JOBS)
	cd $(TSAN_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600 -L unit

bench: build
	@scripts/deps.sh bench
	bench/run.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(TSAN_BUILD)
