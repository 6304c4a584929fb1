#!/usr/bin/env bash
# Creates a development configuration for siltad if it is absent:
#   tools/make-dev-config.sh DEV_DIR CERTS_DIR
# DEV_DIR/siltad.textproto   config (loopback, dev PKI, reflection on)
# DEV_DIR/policy.textproto   copy of deploy/policy.example.textproto
# DEV_DIR/registry.textproto copy of the dev PKI's registry seed
# DEV_DIR/pepper             32 random bytes, mode 600
# DEV_DIR/data/              SQLite database
# DEV_DIR/siltactl.toml      siltactl connection as the dev admin (SILTA_CONFIG)
# Existing files are kept, so local edits survive `make run`.
set -euo pipefail
DEV=${1:?usage: make-dev-config.sh DEV_DIR CERTS_DIR}
CERTS=${2:?usage: make-dev-config.sh DEV_DIR CERTS_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DEV/data"
# The store records who disclosed what about whom: siltad refuses an open directory.
chmod 700 "$DEV/data"
DEV=$(cd "$DEV" && pwd)
CERTS=$(cd "$CERTS" && pwd)

[ -f "$DEV/policy.textproto" ] || cp "$ROOT/deploy/policy.example.textproto" "$DEV/policy.textproto"
[ -f "$DEV/registry.textproto" ] || cp "$CERTS/registry.textproto" "$DEV/registry.textproto"
if [ ! -f "$DEV/pepper" ]; then
  (umask 077 && head -c 32 /dev/urandom > "$DEV/pepper")
fi
if [ ! -f "$DEV/siltad.textproto" ]; then
  # shellcheck source=tools/dev-siltad-config.sh
  . "$ROOT/tools/dev-siltad-config.sh"
  write_dev_siltad_config "$DEV/siltad.textproto" "127.0.0.1:${SILTA_DEV_PORT:-7443}" \
    "127.0.0.1:${SILTA_DEV_METRICS_PORT:-9464}" "$DEV" "$CERTS" \
    "store { sqlite { path: \"$DEV/data/silta.db\" } }" \
    "# Development only: lets grpcurl list the API.
enable_reflection: true"
  echo "dev config written to $DEV/siltad.textproto" >&2
fi
if [ ! -f "$DEV/siltactl.toml" ]; then
  cat > "$DEV/siltactl.toml" <<TOML
# siltactl connection for the development broker (client/siltactl/config_file.h).
# SILTA_CERT / SILTA_KEY in the environment override cert and key here.
address = "127.0.0.1:${SILTA_DEV_PORT:-7443}"
ca = "$CERTS/ca.pem"
cert = "$CERTS/orgs/silta-admin.pem"
key = "$CERTS/orgs/silta-admin.key"
# The CRL directory: message send|inbox refuse keys signed by a revoked certificate.
crl-dir = "$CERTS/crl"
# An agency's message keys, signed with its bundle-signing certificate, e.g.
# with SILTA_CERT/SILTA_KEY of hml-youth:
#   SILTA_KEYS_DIR=$DEV/keys/hml-youth \\
#   SILTA_SIGNER_CERT=$CERTS/orgs/hml-youth.signer.pem \\
#   SILTA_SIGNER_KEY=$CERTS/orgs/hml-youth.signer.key siltactl keys publish --worker me
TOML
fi
