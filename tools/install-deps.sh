#!/usr/bin/env bash
# Installs the Debian 12 packages Silta needs to build, test and run.
# Idempotent: packages already installed are skipped, and apt is touched only
# when something is missing. Needs root (or sudo) only when it installs.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libgrpc++-dev libgrpc-dev
  libabsl-dev libssl-dev openssl
  libsqlite3-dev libpq-dev
  libspdlog-dev libcli11-dev libcivetweb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  systemd curl tzdata
  dpkg-dev lintian
)
# `install-deps.sh clang`: also the compiler of `make test-tsan` and `make fuzz`.
if [ "${1:-}" = "clang" ]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
