#!/usr/bin/env bash
# The fuzz targets' driver (ctest label "fuzz"; README, "Fuzzing").
#   run.sh build BUILD_DIR             configure and build tests/fuzz with clang
#   run.sh run BUILD_DIR TARGET SECS   fuzz TARGET for SECS seconds from its checked-in
#                                      seeds (tests/fuzz/corpus/TARGET, never modified);
#                                      what it finds goes to BUILD_DIR/corpus/TARGET and a
#                                      crash to BUILD_DIR/crashes/ (the exit status fails)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
  build)
    cmake -S "$HERE" -B "$2" -DCMAKE_C_COMPILER="${CC_FUZZ:-clang}" -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build "$2" -j"${JOBS:-2}"
    ;;
  run)
    dir=$2 target=$3 secs=$4
    mkdir -p "$dir/corpus/$target" "$dir/crashes"
    exec "$dir/$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$dir/crashes/$target-" -print_final_stats=1 \
      "$dir/corpus/$target" "$HERE/corpus/$target"
    ;;
  *) echo "usage: $0 build DIR | run DIR TARGET SECONDS" >&2; exit 2 ;;
esac
