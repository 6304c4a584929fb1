#!/bin/bash
# The build variants of the Makefile configure: `make test-sanitize`
# (SILTA_SANITIZE) and `make test-tsan` (SILTA_TSAN) run the whole suite in
# trees of their own, and a CMake error there (an install export that
# takes in the TSan bridge, say) would only show when someone runs them.
# Configures each in a temporary folder with this machine's default
# compilers (the options, not the compiler, decide what CMake generates).
#
#   tests/build/configure_variants_test.sh SOURCE_DIR
set -euo pipefail
src=$1
out=$(mktemp -d -t silta-variants.XXXX)
trap 'rm -rf "$out"' EXIT
fail=0
for variant in "SILTA_SANITIZE=ON" "SILTA_TSAN=ON"; do
  dir="$out/${variant%%=*}"
  if cmake -S "$src" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-D$variant" \
      > "$dir.log" 2>&1; then
    echo "ok: -D$variant configures"
  else
    echo "FAIL: -D$variant does not configure:"
    grep -E "CMake Error|error" "$dir.log" | head -20
    fail=1
  fi
done
exit $fail
