#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 and three siltad on it, on
# 127.0.0.1:7443-7445 (used by `make run-cluster`):
#   tools/run-cluster.sh BUILD_DIR DEV_DIR CERTS_DIR CLUSTER_DIR
# CLUSTER_DIR/pg/          the database cluster; its socket is there too (no TCP)
# CLUSTER_DIR/conninfo     how siltad reaches it, mode 600
# CLUSTER_DIR/siltad-N/    each instance's config and log
# The three share the dev pepper, policy, registry and audit log key (they
# must: see docs/operations.md, "Several instances"). PostgreSQL runs as the
# `postgres` user when this runs as root (initdb refuses root), else as you.
# Ctrl-C stops the three and the database; the data stays in CLUSTER_DIR for
# the next run (delete the folder to start afresh).
set -euo pipefail
BUILD=${1:?}; DEV=${2:?}; CERTS=${3:?}; CLUSTER=${4:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CERTS=$(cd "$CERTS" && pwd)
DEV=$(cd "$DEV" && pwd)
# shellcheck source=tools/dev-siltad-config.sh
. "$ROOT/tools/dev-siltad-config.sh"
SILTAD="$ROOT/$BUILD/server/service/siltad"
SILTACTL="$ROOT/$BUILD/client/siltactl"
PGBIN=/usr/lib/postgresql/15/bin
mkdir -p "$CLUSTER"
CLUSTER=$(cd "$CLUSTER" && pwd)
PG="$CLUSTER/pg"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ ! -x "$PGBIN/initdb" ]; then
  echo "run-cluster: $PGBIN/initdb is missing; tools/install-deps.sh test installs postgresql-15" >&2
  exit 1
fi
if [ "${#PG}" -gt 90 ]; then
  echo "run-cluster: $PG is too long a path for PostgreSQL's socket; use CLUSTER_DIR=/tmp/silta-cluster" >&2
  exit 1
fi
if [ ! -d "$PG/data" ]; then
  mkdir -p "$PG"
  chmod 700 "$PG"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$PG"
    if ! runuser -u postgres -- test -w "$PG"; then
      echo "run-cluster: the postgres user cannot reach $PG (a parent folder is closed to" \
           "other users, e.g. /root); run with CLUSTER_DIR=/tmp/silta-cluster" >&2
      rm -rf "$PG"
      exit 1
    fi
  fi
  as_owner "$PGBIN/initdb" -D "$PG/data" -U silta --auth=trust --encoding=UTF8 --no-locale \
    >"$PG/initdb.log" 2>&1 || { cat "$PG/initdb.log" >&2; exit 1; }
fi
# Only the unix socket in $PG: nothing listens on the network.
as_owner "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/log" -w -t 60 \
  -o "-c listen_addresses='' -k $PG" start >/dev/null
stop_all() {
  trap - INT TERM EXIT
  for pid in "${PIDS[@]:-}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_owner "$PGBIN/pg_ctl" -D "$PG/data" -m fast stop >/dev/null 2>&1 || true
  echo "run-cluster: stopped the three siltad and PostgreSQL (data kept in $CLUSTER)" >&2
}
PIDS=()
trap stop_all INT TERM EXIT
if ! as_owner "$PGBIN/psql" -h "$PG" -U silta -d postgres -tAc \
     "SELECT 1 FROM pg_database WHERE datname = 'silta'" | grep -q 1; then
  as_owner "$PGBIN/createdb" -h "$PG" -U silta silta
fi
(umask 077 && echo "host=$PG dbname=silta user=silta" > "$CLUSTER/conninfo")

ADDRESSES=()
for n in 1 2 3; do
  dir="$CLUSTER/siltad-$n"
  mkdir -p "$dir"
  port=$((7442 + n))
  metrics=$((9463 + n))
  ADDRESSES+=("127.0.0.1:$port")
  write_dev_siltad_config "$dir/siltad.textproto" "127.0.0.1:$port" "127.0.0.1:$metrics" \
    "$DEV" "$CERTS" "store { postgres { conninfo_file: \"$CLUSTER/conninfo\" } }"
  "$SILTAD" --config "$dir/siltad.textproto" --check-config
done
for n in 1 2 3; do
  "$SILTAD" --config "$CLUSTER/siltad-$n/siltad.textproto" 2>"$CLUSTER/siltad-$n/siltad.log" &
  PIDS+=("$!")
done
LIST=$(IFS=,; echo "${ADDRESSES[*]}")
for n in 1 2 3; do
  for _ in $(seq 1 100); do
    grep -q '"siltad_serving"' "$CLUSTER/siltad-$n/siltad.log" 2>/dev/null && break
    if ! kill -0 "${PIDS[$((n - 1))]}" 2>/dev/null; then
      echo "run-cluster: siltad $n stopped; its log:" >&2
      cat "$CLUSTER/siltad-$n/siltad.log" >&2
      exit 1
    fi
    sleep 0.1
  done
done

cat <<MSG

Three siltad share one PostgreSQL database (socket in $PG):
  ${ADDRESSES[0]}  ${ADDRESSES[1]}  ${ADDRESSES[2]}
Logs: $CLUSTER/siltad-{1,2,3}/siltad.log   Metrics: http://127.0.0.1:9464-9466/metrics
Ctrl-C stops all three and the database.

In another terminal, talk to the cluster as the dev admin organisation; the
client uses the first instance that answers and fails over to the next:

  export SILTA_CONFIG=$DEV/siltactl.toml
  $SILTACTL --address $LIST health
  $SILTACTL --address $LIST org list
  $SILTACTL --address ${ADDRESSES[1]} org list    # any instance serves any call

Stop one instance (kill -9 one of: ${PIDS[*]}) and call again: the others answer.
As the data-protection officer, the one audit log from any instance:

  SILTA_CERT=$CERTS/orgs/wba-dpo.pem SILTA_KEY=$CERTS/orgs/wba-dpo.key \\
    $SILTACTL --address ${ADDRESSES[2]} audit export --out /tmp/silta-audit.jsonl
  $SILTACTL audit verify /tmp/silta-audit.jsonl --log-key $CERTS/audit/log-key.pub

MSG
tail -n 0 -F "$CLUSTER"/siltad-*/siltad.log &
PIDS+=("$!")
# Runs until Ctrl-C, or until no instance is left.
while :; do
  alive=0
  for pid in "${PIDS[@]:0:3}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" -gt 0 ] || break
  sleep 1
done
echo "run-cluster: no siltad is left" >&2
