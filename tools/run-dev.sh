#!/usr/bin/env bash
# Starts siltad with the development configuration (used by `make run`).
#   tools/run-dev.sh BUILD_DIR DEV_DIR CERTS_DIR
set -euo pipefail
BUILD=${1:?}; DEV=${2:?}; CERTS=${3:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CERTS=$(cd "$CERTS" && pwd)
DEV=$(cd "$DEV" && pwd)
SILTAD="$ROOT/$BUILD/server/service/siltad"
SILTACTL="$ROOT/$BUILD/client/siltactl"
ADDRESS=$(sed -n 's/^listen_address: "\(.*\)"/\1/p' "$DEV/siltad.textproto")

"$SILTAD" --config "$DEV/siltad.textproto" --check-config

cat <<MSG

siltad is starting on $ADDRESS (logs below, JSON on stderr; Ctrl-C stops it).
In another terminal, talk to it as the dev admin organisation:

  export SILTA_CONFIG=$DEV/siltactl.toml
  $SILTACTL doctor
  $SILTACTL health
  $SILTACTL org list
  $SILTACTL org add --id nuorten-ystavat --name "Nuorten Ystävät ry" --kind NGO --role AGENCY

As the data-protection officer (auditor), check the audit log offline:

  SILTA_CERT=$CERTS/orgs/wba-dpo.pem SILTA_KEY=$CERTS/orgs/wba-dpo.key $SILTACTL audit tail
  SILTA_CERT=$CERTS/orgs/wba-dpo.pem SILTA_KEY=$CERTS/orgs/wba-dpo.key $SILTACTL audit export --out /tmp/silta-audit.jsonl
  $SILTACTL audit verify /tmp/silta-audit.jsonl --log-key $CERTS/audit/log-key.pub

or in a browser, where the page verifies every entry itself (prints a one-time link):

  SILTA_CERT=$CERTS/orgs/wba-dpo.pem SILTA_KEY=$CERTS/orgs/wba-dpo.key $SILTACTL console --log-key $CERTS/audit/log-key.pub

Other organisations' certificates are in $CERTS/orgs/; act as one with
SILTA_CERT=$CERTS/orgs/<org>.pem SILTA_KEY=$CERTS/orgs/<org>.key (they override the config file).
An agency publishes its message keys with its bundle-signing certificate, e.g.:

  SILTA_CERT=$CERTS/orgs/hml-youth.pem SILTA_KEY=$CERTS/orgs/hml-youth.key \
  SILTA_SIGNER_CERT=$CERTS/orgs/hml-youth.signer.pem SILTA_SIGNER_KEY=$CERTS/orgs/hml-youth.signer.key \
  SILTA_KEYS_DIR=$DEV/keys/hml-youth $SILTACTL keys publish --worker me

The five practice models, narrated, against a fresh broker of their own: make demo
Metrics: curl http://127.0.0.1:9464/metrics   Reload policy/registry: $SILTACTL policy reload

MSG
exec "$SILTAD" --config "$DEV/siltad.textproto"
