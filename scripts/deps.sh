#!/usr/bin/env bash
# Installs the Debian packages the project needs, when they are missing.
#   scripts/deps.sh build   - compiler, libraries, PostgreSQL server, python3
#   scripts/deps.sh test    - build + chromium and Node.js for the browser tests
#   scripts/deps.sh bench   - build + wrk
set -euo pipefail

want=(build-essential cmake pkg-config git
      libnng-dev libmsgpack-dev libmicrohttpd-dev libpq-dev libcurl4-openssl-dev libssl-dev
      libjansson-dev libcmocka-dev liblinear-dev
      postgresql-15 postgresql-client-15 python3 util-linux curl)
case "${1:-build}" in
  build) ;;
  test) want+=(chromium python3-yaml systemd prometheus openssl iproute2) ;;
  bench) want+=(wrk) ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
# Node.js and npm (browser tests only): a machine that already has node keeps its own.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
