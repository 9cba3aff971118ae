#!/usr/bin/env bash
# Browser tests of the dashboard (ctest: browser.dashboard): Debian's chromium driven by
# playwright-core from npm (no browser download) against a real private pipeline.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export TRIAGE_SOURCE_DIR="${TRIAGE_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}"
export TRIAGE_BIN_DIR="${TRIAGE_BIN_DIR:-$TRIAGE_SOURCE_DIR/build/bin}"
export TRIAGE_TEST_TMP="${TRIAGE_TEST_TMP:-$TRIAGE_SOURCE_DIR/build/testrun}"
export TRIAGE_ARTIFACTS="${TRIAGE_ARTIFACTS:-$TRIAGE_SOURCE_DIR/build/artifacts}"
CHROMIUM="${TRIAGE_CHROMIUM:-/usr/bin/chromium}"

die() { echo "browser tests: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is missing (scripts/deps.sh test installs it)"
command -v npm >/dev/null || die "npm is missing (scripts/deps.sh test installs it)"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)' \
  || die "node $(node --version) is too old: playwright-core and node --test need 20.10 or newer"
[ -x "$CHROMIUM" ] || die "$CHROMIUM is missing (scripts/deps.sh test installs Debian's chromium)"
for b in triage-store triage-gateway triage-enricher triage-notifier; do
  [ -x "$TRIAGE_BIN_DIR/$b" ] || die "$TRIAGE_BIN_DIR/$b is missing: build the project first"
done

# playwright-core from the committed lock file; it downloads no browser.
cd "$HERE"
stamp="node_modules/.package-lock.json"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt "$stamp" ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p "$TRIAGE_TEST_TMP" "$TRIAGE_ARTIFACTS"
export TRIAGE_CHROMIUM="$CHROMIUM"
exec node --test --test-concurrency=1 "$HERE"/*.test.mjs
