#!/usr/bin/env bash
# The layout rules of DESIGN.md §3, checked on the sources (ctest
# layout_test). Each rule says what it protects:
#   - lib/ includes nothing from server/ or client/: it is what both share;
#   - client/ includes nothing from server/, and server/ nothing from client/:
#     the SDK installs without the broker, and the broker trusts no client code;
#   - server/orgs, consent, cases, routing and audit reach no gRPC header, directly
#     or through the project's own headers: the domain code takes plain
#     protos and an identity::Caller, and the gRPC layer is server/service
#     and server/identity alone;
#   - siltactl uses the SDK's public API only: no gRPC header or generated
#     stub of its own (the SDK's typed clients make every call, with their
#     deadlines and retries), and nothing of the SDK's implementation files.
# Usage: layout_test.sh SOURCE_DIR. Exit 0 when every rule holds; otherwise
# one line per breach, naming the file and the include chain.
set -euo pipefail
root=${1:?usage: layout_test.sh SOURCE_DIR}
cd "$root"

status=0
breach() {
  echo "layout: $*"
  status=1
}

# The quoted includes of a file, one per line.
includes() { sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"; }

sources() { find "$@" -name '*.h' -o -name '*.cc'; }

for f in $(sources lib); do
  for i in $(includes "$f"); do
    case $i in server/* | client/*) breach "$f includes $i (lib/ uses neither server/ nor client/)" ;; esac
  done
done
for f in $(sources client); do
  for i in $(includes "$f"); do
    case $i in server/*) breach "$f includes $i (client/ never includes server/; shared code goes to lib/)" ;; esac
  done
done
for f in $(sources server); do
  for i in $(includes "$f"); do
    case $i in client/*) breach "$f includes $i (server/ never includes client/)" ;; esac
  done
done

# gRPC reached from a file, following the project's own headers: sets
# `found` to the chain to the first gRPC header, or leaves it empty. Each
# file's includes are read once (a subshell per visited file took 35 s).
declare -A seen incs direct_grpc
found=""
scan() {  # file
  [[ -n ${incs[$1]+x} ]] && return 0
  incs[$1]=$(includes "$1" | tr '\n' ' ')
  direct_grpc[$1]=$(grep -m1 -oE '^#include [<"](grpcpp/|grpc/)[^">]*' "$1" | sed 's/^#include [<"]//' || true)
}
grpc_chain() {  # file chain
  local f=$1 chain=$2 i
  [[ -n ${seen[$f]:-} ]] && return 0
  seen[$f]=1
  scan "$f"
  if [[ -n ${direct_grpc[$f]} ]]; then
    found="$chain -> ${direct_grpc[$f]}"
    return 0
  fi
  for i in ${incs[$f]}; do
    case $i in
      *.grpc.pb.h) found="$chain -> $i"; return 0 ;;
    esac
    if [[ -f $i ]]; then
      grpc_chain "$i" "$chain -> $i"
      [[ -n $found ]] && return 0
    fi
  done
  return 0
}
for dir in server/orgs server/consent server/cases server/routing server/audit; do
  for f in $(sources "$dir"); do
    seen=()
    found=""
    grpc_chain "$f" "$f"
    [[ -n $found ]] && breach "gRPC in $dir: $found"
  done
done

for f in $(sources client/siltactl); do
  if grep -qE '^#include [<"](grpcpp/|grpc/)' "$f"; then
    breach "$f includes $(grep -m1 -oE '^#include [<"](grpcpp/|grpc/)[^">]*' "$f" | sed 's/^#include [<"]//') (siltactl calls siltad through the SDK's typed clients only)"
  fi
  for i in $(includes "$f"); do
    case $i in
      *.grpc.pb.h) breach "$f includes $i (siltactl calls siltad through the SDK's typed clients only)" ;;
      client/sdk/*.cc) breach "$f includes $i (an SDK source file)" ;;
    esac
  done
done

exit $status
