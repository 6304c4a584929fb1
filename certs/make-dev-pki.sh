#!/usr/bin/env bash
# Creates a DEVELOPMENT trust domain for Silta: a CA, a server certificate,
# a CRL directory and one client certificate per example organisation.
# Never use these files in production; nothing generated here is committed.
#
#   certs/make-dev-pki.sh OUT_DIR [--test-extras]
#
# OUT_DIR/ca.pem                trust-domain CA certificate
# OUT/server.pem, server.key    siltad's certificate (DNS:localhost, IP:127.0.0.1)
# OUT/crl/                      hashed CRL directory for tls.crl_directory
# OUT/orgs/<org-id>.pem, .key   client certificates with URI SAN
#                               spiffe://silta.test/org/<org-id>/sys/dev
# OUT/orgs/<org-id>.signer.pem, .key
#                               agencies' bundle-signing certificates
#                               (spiffe://silta.test/org/<org-id>/keys/dev),
#                               no extended key usage
# OUT/registry.textproto        the matching registry seed
# OUT/audit/log-key.pem, .pub   the Ed25519 key that signs the audit log's
#                               tree heads (auditors verify with the .pub)
#
# --test-extras also creates, under OUT/test/, the certificates the
# integration tests need to be refused: another CA's client, an expired and
# a revoked certificate, an unknown org, a suspended org, a non-SPIFFE URI
# SAN, a DNS-only SAN, and a second server certificate for rotation tests.
set -euo pipefail

OUT=${1:?usage: make-dev-pki.sh OUT_DIR [--test-extras]}
EXTRAS=${2:-}
TRUST_DOMAIN=${SILTA_TRUST_DOMAIN:-silta.test}
DAYS=825

umask 077
mkdir -p "$OUT"/{ca,crl,orgs}
OUT=$(cd "$OUT" && pwd)

# org-id|kind|roles(comma)|region|display name
ORGS=(
  "wba-social|WELLBEING_AREA|AGENCY|kanta-hame|Kanta-Hämeen hyvinvointialue, sosiaalipalvelut"
  "wba-psychiatry|WELLBEING_AREA|AGENCY|kanta-hame|Kanta-Hämeen hyvinvointialue, nuorisopsykiatria"
  "police-hame|POLICE|AGENCY|kanta-hame|Hämeen poliisilaitos"
  "rise-probation|PROBATION|AGENCY|kanta-hame|Rikosseuraamuslaitos, yhdyskuntaseuraamustoimisto"
  "rise-prison|PRISON|AGENCY|kanta-hame|Rikosseuraamuslaitos, Hämeenlinnan vankila"
  "hml-youth|MUNICIPAL_YOUTH|AGENCY|kanta-hame|Hämeenlinnan kaupunki, nuorisopalvelut"
  "asenne-ry|NGO|AGENCY|kanta-hame|Asenne ry"
  "wba-registrar|WELLBEING_AREA|CONSENT_REGISTRAR|kanta-hame|Kanta-Hämeen hyvinvointialue, kirjaamo"
  "wba-dpo|WELLBEING_AREA|AUDITOR|kanta-hame|Kanta-Hämeen hyvinvointialue, tietosuojavastaava"
  "silta-admin|WELLBEING_AREA|ADMIN|kanta-hame|Silta-ylläpito"
)

new_key() {  # path
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

write_ca_config() {  # dir
  local dir=$1
  mkdir -p "$dir/newcerts"
  : > "$dir/index.txt"
  echo 1000 > "$dir/serial"
  echo 1000 > "$dir/crlnumber"
  cat > "$dir/openssl.cnf" <<CNF
[ ca ]
default_ca = silta_dev
[ silta_dev ]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = $DAYS
default_crl_days = 3650
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
CNF
}

make_ca() {  # dir name
  local dir=$1 name=$2
  write_ca_config "$dir"
  new_key "$dir/ca.key"
  openssl req -new -x509 -key "$dir/ca.key" -out "$dir/ca.pem" -days 3650 -sha256 \
    -subj "/O=Silta development/CN=$name" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# issue CA_DIR OUT_BASE CN SAN EXT_KEY_USAGE [extra openssl ca args...]
issue() {
  local ca=$1 base=$2 cn=$3 san=$4 eku=$5
  shift 5
  new_key "$base.key"
  openssl req -new -key "$base.key" -out "$base.csr" -subj "/O=Silta development/CN=$cn" 2>/dev/null
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    # "-": no extended key usage (bundle-signing certificates, which are
    # told apart by their SPIFFE path .../keys/<name>, not by an EKU)
    [ "$eku" = "-" ] || echo "extendedKeyUsage = $eku"
    echo "subjectAltName = $san"
  } > "$base.ext"
  openssl ca -batch -config "$ca/openssl.cnf" -in "$base.csr" -out "$base.pem" \
    -extfile "$base.ext" -notext "$@" 2>/dev/null
  rm -f "$base.csr" "$base.ext"
  chmod 644 "$base.pem"
}

spiffe() { echo "URI:spiffe://$TRUST_DOMAIN/org/$1/sys/${2:-dev}"; }
# The identity of an organisation's bundle-signing credential: it signs the
# org's message-key bundles and is kept off line; it cannot open a session
# with siltad (the path is not /sys/).
signer() { echo "URI:spiffe://$TRUST_DOMAIN/org/$1/keys/${2:-dev}"; }

gen_crl() {
  openssl ca -config "$OUT/ca/openssl.cnf" -gencrl -out "$OUT/crl/ca.crl.pem" 2>/dev/null
  chmod 644 "$OUT/crl/ca.crl.pem"
  # rehash writes the <hash>.r0 links that OpenSSL's directory lookup needs
  rm -f "$OUT"/crl/*.r[0-9]
  openssl rehash "$OUT/crl" 2>/dev/null || c_rehash "$OUT/crl" >/dev/null
}

make_ca "$OUT/ca" "Silta dev trust domain $TRUST_DOMAIN"
cp "$OUT/ca/ca.pem" "$OUT/ca.pem"
chmod 644 "$OUT/ca.pem"

issue "$OUT/ca" "$OUT/server" "siltad" "DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1" serverAuth

{
  echo "# Organisation registry seed for the development trust domain $TRUST_DOMAIN."
  echo "# Generated by certs/make-dev-pki.sh; edit and send siltad SIGHUP to apply."
} > "$OUT/registry.textproto"
for entry in "${ORGS[@]}"; do
  IFS='|' read -r id kind roles region name <<<"$entry"
  issue "$OUT/ca" "$OUT/orgs/$id" "$id" "$(spiffe "$id")" clientAuth
  if [[ ",$roles," == *",AGENCY,"* ]]; then
    issue "$OUT/ca" "$OUT/orgs/$id.signer" "$id bundle signer" "$(signer "$id")" -
  fi
  {
    echo "orgs {"
    echo "  org_id: \"$id\""
    echo "  display_name: \"$name\""
    echo "  kind: $kind"
    for role in ${roles//,/ }; do echo "  roles: $role"; done
    echo "  region: \"$region\""
    echo "}"
  } >> "$OUT/registry.textproto"
done
chmod 644 "$OUT/registry.textproto"

# The audit log's signing key (Ed25519) and its public half for auditors.
"$(dirname "$0")/make-log-key.sh" "$OUT"

if [ "$EXTRAS" = "--test-extras" ]; then
  T="$OUT/test"
  mkdir -p "$T"
  # A client of another CA, claiming a registered org.
  make_ca "$T/otherca" "Some other CA"
  issue "$T/otherca" "$T/other-ca-client" "police-hame" "$(spiffe police-hame)" clientAuth
  # Expired in 2021.
  issue "$OUT/ca" "$T/expired" "police-hame" "$(spiffe police-hame)" clientAuth \
    -startdate 20200101000000Z -enddate 20210101000000Z
  # Revoked, listed in the CRL.
  issue "$OUT/ca" "$T/revoked" "police-hame" "$(spiffe police-hame)" clientAuth
  openssl ca -config "$OUT/ca/openssl.cnf" -revoke "$T/revoked.pem" -crl_reason keyCompromise 2>/dev/null
  # Valid certificates with identities siltad must refuse.
  issue "$OUT/ca" "$T/unknown-org" "unknown-org" "$(spiffe unknown-org)" clientAuth
  issue "$OUT/ca" "$T/suspended-ngo" "suspended-ngo" "$(spiffe suspended-ngo)" clientAuth
  issue "$OUT/ca" "$T/other-domain" "police-hame" "URI:spiffe://elsewhere.test/org/police-hame/sys/dev" clientAuth
  issue "$OUT/ca" "$T/non-spiffe-uri" "police-hame" "URI:https://police.example/org/police-hame" clientAuth
  issue "$OUT/ca" "$T/dns-only" "police-hame" "DNS:police.example" clientAuth
  # A second admin organisation (suspension tests need one admin to suspend another).
  issue "$OUT/ca" "$T/backup-admin" "backup-admin" "$(spiffe backup-admin)" clientAuth
  # Bundle-signing certificates that must be refused: expired, revoked, of
  # another trust domain.
  issue "$OUT/ca" "$T/expired-signer" "police-hame bundle signer" "$(signer police-hame)" - \
    -startdate 20200101000000Z -enddate 20210101000000Z
  issue "$OUT/ca" "$T/revoked-signer" "police-hame bundle signer" "$(signer police-hame old)" -
  openssl ca -config "$OUT/ca/openssl.cnf" -revoke "$T/revoked-signer.pem" -crl_reason keyCompromise 2>/dev/null
  issue "$OUT/ca" "$T/other-domain-signer" "wba-social bundle signer" \
    "URI:spiffe://elsewhere.test/org/wba-social/keys/dev" -
  # A second server certificate for the rotation test.
  issue "$OUT/ca" "$T/server2" "siltad-rotated" "DNS:localhost,IP:127.0.0.1" serverAuth
  cat >> "$OUT/registry.textproto" <<REG
orgs {
  org_id: "suspended-ngo"
  display_name: "Suspended test NGO"
  kind: NGO
  roles: AGENCY
  state: SUSPENDED
}
orgs {
  org_id: "backup-admin"
  display_name: "Backup admin (tests)"
  kind: WELLBEING_AREA
  roles: ADMIN
}
REG
fi

gen_crl
echo "dev PKI for trust domain $TRUST_DOMAIN written to $OUT" >&2
