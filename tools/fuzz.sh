#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz with clang-14,
# ASan and UBSan, writes their seeds, and runs each target for FUZZ_SECONDS
# on a corpus kept in BUILD_DIR/corpus/<target> (it grows across runs).
# Prints executions, coverage and findings per target; exits 1 if any target
# found something (its input is in BUILD_DIR/findings/). A finding is fixed,
# then its input goes into tests/fuzz/regressions/<target>/, which
# `make test` replays.
#
#   tools/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#
# FUZZ_RUNS=N (environment) also stops each target after N executions.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:?usage: tools/fuzz.sh BUILD_DIR SECONDS [TARGET...]}
SECONDS_PER_TARGET=${2:?usage: tools/fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(send_request key_bundle open_message audit_export textproto payload identifiers)
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSILTA_FUZZ=ON
fi
cmake --build "$BUILD" -j "$(nproc)" --target fuzz_seeds "${TARGETS[@]/%/_fuzz}"

PKI="$BUILD/tests/pki"
[ -f "$PKI/ca.pem" ] || certs/make-dev-pki.sh "$PKI" --test-extras >/dev/null
SEEDS="$BUILD/tests/fuzz/seeds"
"$BUILD/tests/fuzz/fuzz_seeds" "$SEEDS" >/dev/null
mkdir -p "$BUILD/findings" "$BUILD/fuzz-logs"

# Throughput: the JSON and protobuf parsers allocate a lot, and ASan's
# malloc fill, allocation stacks and a large quarantine made the slow targets
# (audit_export, payload) about 1.6 times slower. To see where a finding's
# memory was allocated, replay its input with build-asan's fuzz_replay.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:malloc_context_size=0:max_malloc_fill_size=0:quarantine_size_mb=16}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
printf '%-14s %12s %9s %7s %7s %7s  %s\n' TARGET EXECS EXEC/S COV FT CORPUS RESULT
for target in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$target"
  mkdir -p "$corpus"
  inputs=("$corpus" "$SEEDS/$target")
  [ -d "tests/fuzz/regressions/$target" ] && inputs+=("tests/fuzz/regressions/$target")
  log="$BUILD/fuzz-logs/$target.log"
  result=clean
  runs=()
  [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
  # A whole export of one entry (header, entry, signed head and proof) fits
  # in 1500 bytes; larger inputs mostly cost Ed25519 and JSON time.
  [ "$target" = audit_export ] && runs+=(-max_len=1500)
  if ! "$BUILD/tests/fuzz/${target}_fuzz" -max_total_time="$SECONDS_PER_TARGET" "${runs[@]}" \
      -print_final_stats=1 -artifact_prefix="$BUILD/findings/$target-" \
      "${inputs[@]}" >"$log" 2>&1; then
    result="FINDING (see $log and $BUILD/findings/)"
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  size=$(find "$corpus" -type f | wc -l)
  printf '%-14s %12s %9s %7s %7s %7s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$size" "$result"
done
exit "$status"
