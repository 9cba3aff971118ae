#!/usr/bin/env bash
# make bench: prints the built-in model's figures (bench/learning.py) and the pipeline's
# (bench/bench.py). Not a test. TRIAGE_BENCH_ONLY=learning|pipeline runs one part.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${1:-$ROOT/build/bin}" && pwd)
export TRIAGE_BIN_DIR=$BIN TRIAGE_SOURCE_DIR=$ROOT TRIAGE_TEST_TMP=$ROOT/build/benchrun
export PYTHONPATH=$ROOT/tests
if [ "${TRIAGE_BENCH_ONLY:-}" != pipeline ]; then
  python3 "$ROOT/bench/learning.py"
fi
if [ "${TRIAGE_BENCH_ONLY:-}" != learning ]; then
  exec python3 "$ROOT/bench/bench.py" "${@:2}"
fi
