#!/usr/bin/env bash
# Installs the Debian 12 packages Silta needs to build, test and run.
# Idempotent: packages already installed are skipped, and apt is touched only
# when something is missing. Needs root (or sudo) only when it installs.
set -euo pipefail

PACKAGES=(
  build-essential clang-14 cmake ninja-build pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libgrpc++-dev libgrpc-dev
  libabsl-dev libssl-dev openssl libsodium-dev
  libsqlite3-dev libpq-dev libjemalloc-dev
  libspdlog-dev libcli11-dev libcivetweb-dev libjs-chart.js
  libgtest-dev libgmock-dev libbenchmark-dev
  systemd curl tzdata
  dpkg-dev lintian
)
# `install-deps.sh test` (make test): also the PostgreSQL 15 server. The
# tests start throwaway servers of their own (tests/testing/postgres_server.h)
# as the `postgres` user the package creates; the package's own cluster, if
# the system starts it, is not used. `make run` does not install it: the
# embedded store needs no database server.
# And Debian's Chromium with its WebDriver, which the console's browser
# tests drive headless (tests/testing/webdriver.h).
if [ "${1:-}" = "test" ]; then
  PACKAGES+=(postgresql-15 chromium chromium-driver fonts-dejavu-core)
fi
# `install-deps.sh clang`: also the sanitizer runtimes and the symbolizer
# of `make test-sanitize`, `make test-tsan` and `make fuzz` (clang-14 itself
# builds every tree, above).
if [ "${1:-}" = "clang" ]; then
  PACKAGES+=(libclang-rt-14-dev llvm-14)
fi
# `install-deps.sh bench`: the peer broker of `make bench-messages` and perf.
# The bench starts its own throwaway RabbitMQ node on other ports; the
# package's own service, if the system starts it, is not used.
if [ "${1:-}" = "bench" ]; then
  PACKAGES+=(rabbitmq-server librabbitmq-dev linux-perf postgresql-15)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# promtool, from Debian's prometheus package, checks siltad's /metrics in a
# test. Only the binary is unpacked, into var/tools/, so that no Prometheus
# server is installed, let alone started, on a developer's machine.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${1:-}" ] && [ ! -x "$ROOT/var/tools/promtool" ]; then
  echo "install-deps: unpacking promtool from the prometheus package into var/tools" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1); then
    $SUDO apt-get update -q
    (cd "$work" && apt-get download -q prometheus)
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  mkdir -p "$ROOT/var/tools"
  install -m 0755 "$work/root/usr/bin/promtool" "$ROOT/var/tools/promtool"
fi
