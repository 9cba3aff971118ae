#!/usr/bin/env bash
# make bench: prints the pipeline's figures (see bench/bench.py). Not a test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${1:-$ROOT/build/bin}" && pwd)
export TRIAGE_BIN_DIR=$BIN TRIAGE_SOURCE_DIR=$ROOT TRIAGE_TEST_TMP=$ROOT/build/benchrun
export PYTHONPATH=$ROOT/tests
exec python3 "$ROOT/bench/bench.py" "${@:2}"
