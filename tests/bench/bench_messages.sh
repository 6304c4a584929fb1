#!/bin/bash
# `make bench-messages` (issue #15): Silta's message path, the relay ceiling
# and RabbitMQ quorum queues, side by side in one run on this machine.
#
#   tests/bench/bench_messages.sh [BUILD_DIR]
#   env: SECS (20) seconds per run, SENDERS (1,16,64,256: 256 shows the
#        back-pressure keeping deliveries current), PEERS_DIR (../shared/peers),
#        AUDIT_PREFILL (1000000; 0 skips that run), PENDING (100000; 0 skips)
#
# message_bench runs Silta (a real siltad over mTLS) and the relay (a plain
# gRPC MessageService in memory, same mTLS, same bytes, same calls) with the
# same client code; ../shared/peers/rabbitmq/run.sh runs RabbitMQ 3.10 with
# quorum queues, fanout to 3 consumers that ack every message. Prints one
# table and, last, the RESULT line. Run it on an idle machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
SECS=${SECS:-20}
SENDERS=${SENDERS:-1,16,64,256}
AUDIT_PREFILL=${AUDIT_PREFILL:-1000000}
PENDING=${PENDING:-100000}
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
out=$(mktemp -d -t silta-bench.XXXX)
trap 'rm -rf "$out"' EXIT

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/tests/bench/message_bench" --secs "$SECS" --senders "$SENDERS" --half-load | tee "$out/rows"
# The same at 64 senders on a store that already holds 1M audit entries,
# against an empty store, interleaved twice (this machine's rate moves by a
# sixth within minutes: a comparison with the table's row, run minutes
# earlier, measured the hour as much as the store); then siltad's memory
# with 100k deliveries pending (nobody subscribed).
if [ "$AUDIT_PREFILL" != 0 ]; then
  for round in 1 2; do
    "$BUILD/tests/bench/message_bench" --secs "$SECS" --senders 64 --targets silta |
      sed 's/^ROW system=silta /ROW system=silta-empty /' | tee -a "$out/rows"
    "$BUILD/tests/bench/message_bench" --secs "$SECS" --senders 64 --targets silta \
      --audit-prefill "$AUDIT_PREFILL" | tee -a "$out/rows"
  done
fi
if [ "$PENDING" != 0 ]; then
  "$BUILD/tests/bench/message_bench" --pending "$PENDING" | tee -a "$out/rows"
fi

if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && [ -f "$PEERS_DIR/rabbitmq/run.sh" ]; then
  # Its own copy, so that the peer's folder may be read-only; free ports.
  cp -r "$PEERS_DIR/rabbitmq" "$out/rabbitmq"
  RMQ_PORT=${RMQ_PORT:-5682} RMQ_DIST_PORT=${RMQ_DIST_PORT:-25682} SECS=$SECS REPS=1 PUBS="1 4" \
    bash "$out/rabbitmq/run.sh" quorum 2>&1 | tee "$out/rmq" || true
  grep '^rep=' "$out/rmq" | sed 's/^/RMQ /' >> "$out/rows" || true
else
  echo "# RabbitMQ not run: needs rabbitmq-server and librabbitmq-dev (tools/install-deps.sh bench)" \
       "and $PEERS_DIR/rabbitmq"
fi

awk -v prefill="$AUDIT_PREFILL" '
  function kv(line,   i, a) { delete v; for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } }
  /^ROW / { kv($0); n++
    sys[n] = v["system"]; label[n] = v["label"]; rate[n] = v["delivered_per_s"]; up[n] = v["keeps_up"]
    s50[n] = v["send_p50_ms"]; s99[n] = v["send_p99_ms"]; e50[n] = v["e2e_p50_ms"]; e99[n] = v["e2e_p99_ms"]
    lost[n] = v["lost"]; redo[n] = v["redelivered"]; sent[n] = v["sent"]; acc[n] = v["accepted_per_s"]
    cpu[n] = ("server_cpu_ms_per_msg" in v) ? v["server_cpu_ms_per_msg"] : "-"
    busy[n] = ("machine_busy_pct" in v) ? v["machine_busy_pct"] : "-"
    if (up[n] == 1 && v["system"] == "silta" && rate[n] > silta) silta = rate[n]
    if (up[n] == 1 && v["system"] == "relay" && rate[n] > relay) relay = rate[n]
    if (v["system"] == "silta" && v["label"] == "closed1") {
      light_send = s50[n]; light_e2e = e50[n]; light_commit = v["commit_ms"]
    }
    if (v["system"] == "relay" && v["label"] == "closed1") { relay_send = s50[n]; relay_e2e = e50[n] }
    if (v["system"] == "silta" && v["label"] == "half") {
      half_e2e = e99[n]; half_send = s99[n]; half_busy = busy[n]; half_cpu = cpu[n]
      half_clients = v["client_cpu_ms_per_msg"]
    }
    if (v["system"] == "relay" && v["label"] == "half") {
      relay_half_send = s99[n]; relay_half_busy = busy[n]; relay_half_cpu = v["client_cpu_ms_per_msg"]
    }
    # The interleaved runs at 64 senders, by store: their rates and sum.
    if (v["system"] == "silta-empty" || v["system"] == "silta-audit") {
      s = v["system"]; sum[s] += rate[n]; runs[s] = runs[s] (runs[s] == "" ? "" : " and ") rate[n]
      if (up[n] != 1) audit_down = 1
    }
  }
  /^PENDING / { kv($0); pending = v["deliveries"]; pending_rss = v["rss_mib"] }
  /^RMQ / { kv($0); n++
    sys[n] = "rabbitmq"; label[n] = "pub" v["publishers"] "w" v["window"]; rate[n] = v["consumed_per_s_per_queue"]
    acc[n] = v["confirmed_per_s"]; up[n] = (rate[n] >= 0.95 * acc[n]) ? 1 : 0
    s50[n] = v["p50_confirm_us"] / 1000; s99[n] = v["p99_confirm_us"] / 1000
    e50[n] = v["p50_e2e_us"] / 1000; e99[n] = v["p99_e2e_us"] / 1000; lost[n] = v["lost"]; redo[n] = "-"
    cpu[n] = "-"; busy[n] = "-"
    if (up[n] == 1 && rate[n] > rmq) rmq = rate[n]
  }
  END {
    printf "\n%-9s %-8s %10s %10s %5s %9s %9s %9s %9s %5s %5s %7s %5s\n", "system", "load", "accepted/s", "delivered/s",
           "kept", "send p50", "send p99", "e2e p50", "e2e p99", "lost", "redel", "cpu/msg", "busy"
    for (i = 1; i <= n; i++)
      printf "%-9s %-8s %10.0f %10.0f %5s %9.2f %9.2f %9.2f %9.2f %5s %5s %7s %5s\n", sys[i], label[i], acc[i], rate[i],
             up[i] ? "yes" : "NO", s50[i], s99[i], e50[i], e99[i], lost[i], redo[i], cpu[i], \
             busy[i] == "-" ? "-" : busy[i] "%"
    printf "\n(delivered/s: messages acked by all 3 recipients per second within the window; it counts only\n"
    printf " where deliveries kept up. Latencies in ms; RabbitMQ send = publish-to-confirm. cpu/msg: the CPU\n"
    printf " ms siltad used per message; busy: both cores over the run, clients included.)\n"
    if (relay > 0) printf "silta/relay %.2f   ", silta / relay
    if (rmq > 0) printf "silta/rabbitmq %.2f", silta / rmq
    printf "\n"
    # The ratio of the means of the interleaved runs.
    if (sum["silta-empty"] > 0 && sum["silta-audit"] > 0)
      printf "64 senders, store with %s audit entries: %s/s, empty store %s/s, interleaved " \
             "(%.2f of the empty store%s)\n", prefill, runs["silta-audit"], runs["silta-empty"], \
             sum["silta-audit"] / sum["silta-empty"], audit_down ? "; a run did NOT keep up" : ""
    if (pending > 0) printf "siltad RSS with %s deliveries pending: %s MiB\n", pending, pending_rss
    # A Send cannot return before the transport round trip and one
    # commit (an fsync); a delivery not before the relay delivery and one commit.
    if (relay_send != "" && light_commit != "")
      printf "light floor: relay Send p50 %.2f + Silta mean commit %.2f = %.2f ms (Silta %.2f); " \
             "relay e2e p50 %.2f + commit = %.2f ms (Silta %.2f)\n", relay_send, light_commit, \
             relay_send + light_commit, light_send, relay_e2e, relay_e2e + light_commit, light_e2e
    if (half_send != "")
      printf "half load: Send p99 %.2f ms, Send->delivery p99 %.2f ms (siltad %s + clients %s ms CPU a message, " \
             "machine %s%% busy)\n", half_send, half_e2e, half_cpu, half_clients, half_busy
    # The same calls at the same rate through the relay: what the
    # transport alone costs there (its CPU: the relay and the clients).
    if (relay_half_send != "")
      printf "  the relay at that rate: Send p99 %.2f ms (relay and clients %s ms CPU a message, machine %s%% busy)\n", \
             relay_half_send, relay_half_cpu, relay_half_busy
    printf "RESULT silta_msgs_per_s=%.0f relay_msgs_per_s=%.0f rabbitmq_msgs_per_s=%.0f light_send_p50_ms=%.2f " \
           "light_e2e_p50_ms=%.2f half_load_e2e_p99_ms=%.2f\n", silta, relay, rmq, light_send, light_e2e, half_e2e
  }' "$out/rows"
