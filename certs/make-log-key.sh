#!/usr/bin/env bash
# Creates a DEVELOPMENT audit log key pair if absent: OUT/audit/log-key.pem
# (Ed25519, mode 600; audit.log_key_file) and OUT/audit/log-key.pub (for
# `siltactl audit verify --log-key`). Production keys are made the same way
# on the broker host and never committed.
#
#   certs/make-log-key.sh OUT_DIR
set -euo pipefail
OUT=${1:?usage: make-log-key.sh OUT_DIR}
umask 077
mkdir -p "$OUT/audit"
if [ ! -f "$OUT/audit/log-key.pem" ]; then
  openssl genpkey -algorithm ed25519 -out "$OUT/audit/log-key.pem" 2>/dev/null
  openssl pkey -in "$OUT/audit/log-key.pem" -pubout -out "$OUT/audit/log-key.pub"
  chmod 600 "$OUT/audit/log-key.pem"
  chmod 644 "$OUT/audit/log-key.pub"
fi
