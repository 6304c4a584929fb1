# Sourced by tools/make-dev-config.sh and tools/run-cluster.sh: the one
# development siltad config both write, so that the dev PKI, audit key and
# files are named in one place.
#   write_dev_siltad_config FILE LISTEN METRICS_LISTEN DEV_DIR CERTS_DIR STORE_BLOCK [EXTRA]
# DEV_DIR holds registry.textproto, policy.textproto and pepper; STORE_BLOCK
# is the config's `store { ... }`; EXTRA is appended as it is.
write_dev_siltad_config() {
  local file=$1 listen=$2 metrics=$3 dev=$4 certs=$5 store=$6 extra=${7:-}
  cat > "$file" <<CFG
# Development configuration written by tools/dev-siltad-config.sh.
# Schema: silta.v1.SiltadConfig (proto/silta/v1/config.proto).
listen_address: "$listen"
tls {
  cert_file: "$certs/server.pem"
  key_file: "$certs/server.key"
  ca_file: "$certs/ca.pem"
  crl_directory: "$certs/crl"
  trust_domain: "silta.test"
  refresh_interval_seconds: 5
}
$store
registry_file: "$dev/registry.textproto"
policy_file: "$dev/policy.textproto"
pepper_file: "$dev/pepper"
metrics { listen_address: "$metrics" }
audit {
  log_key_file: "$certs/audit/log-key.pem"
  tree_head_interval_seconds: 60
}
$extra
CFG
}
