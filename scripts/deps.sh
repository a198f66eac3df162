#!/bin/sh
# Installs the Debian packages sagad needs for a purpose (build, run, test).
# As root it runs apt-get; otherwise it prints the exact command and stops.
set -eu

build="gcc make pkg-config libuv1-dev node-llhttp libcjson-dev libhiredis-dev libsqlite3-dev nettle-dev libmimalloc-dev libcurl4-openssl-dev libgraphviz-dev libpq-dev"
run="$build redis-server redis-tools sqlite3"
test="$run libcmocka-dev curl python3 nginx openssl graphviz clang libclang-rt-14-dev systemd systemd-container procps man-db chromium fonts-dejavu-core fonts-liberation2 postgresql awscli"
bench="$run curl python3 gnuplot-nox valgrind nodejs postgresql"

case "${1:-build}" in
  build) want=$build ;;
  run)   want=$run ;;
  test)  want=$test ;;
  bench) want=$bench ;;
  *) echo "usage: $0 build|run|test|bench" >&2; exit 2 ;;
esac
# The browser tests run puppeteer-core on Node.js. A node and npm already on
# PATH will do (another vendor's nodejs bundles npm and conflicts with Debian's).
if [ "${1:-build}" = test ]; then
  command -v node >/dev/null 2>&1 || want="$want nodejs"
  command -v npm >/dev/null 2>&1 || want="$want npm"
fi

missing=""
for p in $want; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "sagad needs these Debian packages:$missing" >&2
  echo "install them as root with:" >&2
  echo "  apt-get update && apt-get install -y$missing" >&2
  exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
