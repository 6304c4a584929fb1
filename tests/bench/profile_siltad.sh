#!/bin/bash
# Where siltad's CPU goes under a message_bench load, on demand (never run by
# ctest; docs/message-path.md, "Measuring it"):
#
#   tests/bench/profile_siltad.sh BUILD_DIR [message_bench arguments...]
#   e.g. tests/bench/profile_siltad.sh build --paced-rate 1100 --secs 20
#
# Runs message_bench against a real siltad (`--targets silta` unless given),
# waits until siltad is busy (the bench seals all its requests before the
# first Send, which takes seconds at a high rate), records PERF_SECS (6)
# seconds of siltad with `perf record --call-graph dwarf`, and prints:
#   - the bench's ROW for the run (rate, latencies, siltad's CPU a message);
#   - siltad's samples by thread;
#   - the committer's, the gRPC threads' and silta-admission's samples by
#     what they were doing (the first of the PHASES below, in their order,
#     found on a sample's stack), and the audit append's by step.
# One load at a time: with several (--senders 1,16) it profiles the first
# that keeps siltad busy; with several instances, the first siltad.
# Keeps perf.data in PROFILE_DIR (a new temporary folder unless set), for
# `perf report -i PROFILE_DIR/perf.data`. Needs linux-perf
# (`tools/install-deps.sh bench`) and python3; run it on an idle machine,
# as root or with perf_event_paranoid low enough for `perf record -p`.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [message_bench arguments...]" >&2
  exit 2
fi
build=$1
shift
args=("$@")
if [[ " ${args[*]} " != *" --targets "* ]]; then args+=(--targets silta); fi
out=${PROFILE_DIR:-$(mktemp -d)}
mkdir -p "$out"
secs=${PERF_SECS:-6}

"$build/tests/bench/message_bench" "${args[@]}" >"$out/bench.log" 2>&1 &
bench=$!
trap 'kill $bench 2>/dev/null || true' EXIT

# siltad's pid, once the bench has started it.
pid=""
for _ in $(seq 1 600); do
  pid=$(pgrep -P "$bench" -x siltad | head -1 || true)
  [[ -n "$pid" ]] && break
  kill -0 "$bench" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$pid" ]]; then
  echo "siltad did not start; the bench said:" >&2
  cat "$out/bench.log" >&2
  exit 1
fi

# Busy: more than 0.3 s of CPU in a second (the load has begun).
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
while kill -0 "$pid" 2>/dev/null; do
  a=$(cpu)
  sleep 1
  b=$(cpu) || break
  (((b - a) * 10 > ticks * 3)) && break
done
sleep 2
perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$pid" -o "$out/perf.data" \
  -- sleep "$secs"
wait "$bench" || true
trap - EXIT

grep '^ROW' "$out/bench.log" || cat "$out/bench.log"
echo
echo "siltad's samples by thread:"
perf report -i "$out/perf.data" --no-children --sort comm -g none --stdio 2>/dev/null |
  grep '%' | head -8
perf script -i "$out/perf.data" 2>/dev/null >"$out/perf.txt"
python3 - "$out/perf.txt" <<'EOF'
import collections
import sys

# A sample's phase: the first of its thread's phases, in this order, whose
# function is on its stack ("name+0x..": the function itself, not a lambda
# defined in it). Writes to the streams and the receipts happen inside
# commit completions, the WAL inside COMMIT, audit entries inside every
# write.
RECEIPT = ("Send: the receipt written (gRPC Finish)", "ServerCallbackUnaryImpl::Finish")
STREAM_WRITE = ("streams: deliveries written (gRPC Write)", "ServerCallbackWriterImpl::Write")
TAKE = ("streams: the next take decided, redacted (TakeDueAsync)", "Router::TakeDueAsync")
SIGNATURE = ("Send: the signature checked", "Ed25519Verify")
PREPARE_SEND = ("Send: checks, decisions, audit entries (PrepareSend)", "Router::PrepareSend")
PHASES = {
    "silta-committer": [
        RECEIPT,
        STREAM_WRITE,
        TAKE,
        ("commit: WAL write and fsync", "sqlite3PagerCommitPhaseOne"),
        ("writes: audit entries", "SqlStore::AppendAuditLocked"),
        ("writes: message rows", "SqlStore::InsertMessageLocked"),
        ("writes: delivery marks and acks", "SqlStore::UpdateDeliveriesLocked"),
        ("commit: BEGIN, savepoints, COMMIT's rest", "SqliteConnection::Exec"),
    ],
    # gRPC's callback threads.
    "nexting_thread": [
        RECEIPT,
        STREAM_WRITE,
        SIGNATURE,
        PREPARE_SEND,
        ("Ack: checks (PrepareAck)", "Router::PrepareAck"),
        TAKE,
    ],
    # The Sends that waited for a place (limits.max_sends_in_flight).
    "silta-admission": [SIGNATURE, PREPARE_SEND],
}
OTHER = {
    "silta-committer": "other completions and the loop",
    "nexting_thread": "transport: gRPC, HTTP/2, TLS, protobuf",
    "silta-admission": "the turns, the rest of the call",
}
AUDIT_STEPS = ["IndexAuditLocked", "AppendLeaf", "EntryLeafHash", "AuditTailLocked"]


def on(function, frames):
    """Whether `function` (a qualified name's tail) itself is on the stack."""
    return any(f == function or f.endswith("::" + function) for f in frames)


def samples(path):
    head, stack = None, []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if head is not None:
                    yield head, stack
                head, stack = None, []
            elif line[0] in " \t":
                stack.append(line.strip())
            else:
                head, stack = line, []
    if head is not None:
        yield head, stack


phases = {thread: collections.Counter() for thread in PHASES}
totals = collections.Counter()
audit = collections.Counter()
audit_total = 0
for head, stack in samples(sys.argv[1]):
    thread = next((t for t in PHASES if head.startswith(t)), None)
    if thread is None:
        continue
    totals[thread] += 1
    frames = set()
    for frame in stack:  # "addr name+0x1f (dso)", "addr name[abi:cxx11]+0x1f (dso)"
        parts = frame.split(" ", 1)
        if len(parts) == 2 and "+0x" in parts[1]:
            frames.add(parts[1].rsplit("+0x", 1)[0].replace("[abi:cxx11]", ""))
    for name, frame in PHASES[thread]:
        if on(frame, frames):
            phases[thread][name] += 1
            break
    else:
        phases[thread][OTHER[thread]] += 1
    if thread == "silta-committer" and on("SqlStore::AppendAuditLocked", frames):
        audit_total += 1
        for step in AUDIT_STEPS:
            if on(step, frames):
                audit[step] += 1
                break
        else:
            audit["entry rows, serialization"] += 1

for thread, counts in phases.items():
    if totals[thread] == 0:
        print(f"\n{thread}: no samples")
        continue
    print(f"\n{thread}: {totals[thread]} samples")
    for name, n in counts.most_common():
        print(f"  {100 * n / totals[thread]:5.1f}%  {name}")
    if thread == "silta-committer" and audit_total:
        print(f"  the audit append's {audit_total} (of every write):")
        for name, n in audit.most_common():
            print(f"    {100 * n / audit_total:5.1f}%  {name}")
EOF
echo
echo "perf data: $out/perf.data"
