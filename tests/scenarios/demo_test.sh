#!/usr/bin/env bash
# Runs `make demo`'s script against the test PKI and checks that the
# narrative shows what each practice model must show. Fails on any failed
# step (the demo exits non-zero) or on a missing line.
#   demo_test.sh SOURCE_DIR BUILD_DIR PKI_DIR
set -uo pipefail
SRC=${1:?}; BUILD=${2:?}; PKI=${3:?}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
"$SRC/tools/demo.sh" "$BUILD" "$PKI" > "$OUT" 2>&1
code=$?
cat "$OUT"
if [ "$code" -ne 0 ]; then
  echo "demo_test: the demo failed with exit $code" >&2
  exit 1
fi
missing=0
expect() {
  if ! grep -qF -- "$1" "$OUT"; then
    echo "demo_test: the narrative lacks: $1" >&2
    missing=1
  fi
}
expect "published key"
expect "WITHHOLD"                                  # Ankkuri: fields withheld per member
expect "does not name wba-social as a discloser"    # ... a consent names who may disclose
expect "field(s) withheld from your organisation"  # ... and the recipient is told
expect "lastensuojelulaki"                         # the statutory override, flagged
expect "its coordinator now sees it"               # a notification from outside the case, linked
expect "NOTIFICATION_LINKED"                       # ... and the coordinator sees the link
expect "never on consent alone"                     # collective impact: Art. 10 data to an NGO
expect "<5"                                        # collective impact: suppressed counts
expect "already has an open case"                  # one adult: no duplicate case
expect "identifies the young person"               # NERO: refused whole
expect "withdrawn"                                 # Rovaniemi: withdrawal reaches the queue
expect "verified:"                                 # the export verifies offline
expect "Demo complete"
exit "$missing"
