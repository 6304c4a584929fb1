#!/usr/bin/env bash
# The Debian packages of a build (ctest package_test; `make package` makes
# the same ones): siltad, siltactl and libsilta-sdk-dev build with CPack;
# `dpkg-deb -c` shows the files and modes an operator relies on; the
# conffiles keep a changed /etc/silta; the unpacked systemd unit passes
# `systemd-analyze verify`; lintian reports no error; and hello-send builds
# against the SDK unpacked from libsilta-sdk-dev.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?usage: package_test.sh BUILD_DIR SOURCE_DIR}
source=${2:?usage: package_test.sh BUILD_DIR SOURCE_DIR}
work=$(mktemp -d /tmp/silta-package-XXXXXX)
trap 'rm -rf "$work"' EXIT

status=0
fail() {
  echo "package_test: $*"
  status=1
}

cpack --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; exit 1; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
declare -A deb
for package in siltad siltactl libsilta-sdk-dev; do
  deb[$package]="$work/${package}_${version}-1_amd64.deb"
  [[ -f ${deb[$package]} ]] || { fail "no ${deb[$package]}"; ls "$work"; exit 1; }
done

# `dpkg-deb -c` lines as "<mode> <path>", in $work/<package>.contents.
for package in "${!deb[@]}"; do
  dpkg-deb -c "${deb[$package]}" | awk '{print $1, $6}' >"$work/$package.contents"
done
expect() {  # package mode path
  grep -qxF -- "$2 $3" "$work/$1.contents" || fail "$1: expected $2 $3"
}
expect siltad -rwxr-xr-x ./usr/bin/siltad
expect siltad -rw-r--r-- ./lib/systemd/system/siltad.service
expect siltad -rw-r--r-- ./etc/silta/siltad.textproto
expect siltad -rw-r--r-- ./etc/silta/policy.textproto
expect siltad -rw-r--r-- ./etc/silta/registry.textproto
expect siltad drwx------ ./var/lib/silta/
expect siltad -rw-r--r-- ./usr/share/doc/siltad/copyright
expect siltactl -rwxr-xr-x ./usr/bin/siltactl
expect libsilta-sdk-dev -rw-r--r-- ./usr/include/silta-sdk/client/sdk/client.h
expect libsilta-sdk-dev -rw-r--r-- ./usr/include/silta-sdk/silta/v1/message.pb.h
expect libsilta-sdk-dev -rw-r--r-- ./usr/lib/libsilta_sdk.a
expect libsilta-sdk-dev -rw-r--r-- ./usr/lib/cmake/Silta/SiltaConfig.cmake
expect libsilta-sdk-dev -rw-r--r-- ./usr/lib/pkgconfig/silta-sdk.pc
if grep -q '/server/' "$work/libsilta-sdk-dev.contents"; then
  fail "libsilta-sdk-dev ships something of server/"
fi
if grep -q 'secrets\|\.key$\|\.pem$' "$work/siltad.contents"; then
  fail "siltad ships a key or certificate"
fi

# dpkg keeps a changed config only for conffiles; the maintainer scripts
# never write one.
dpkg-deb -e "${deb[siltad]}" "$work/control"
for f in /etc/silta/siltad.textproto /etc/silta/policy.textproto /etc/silta/registry.textproto; do
  grep -qxF "$f" "$work/control/conffiles" || fail "siltad: $f is not a conffile"
done
if grep -E '(>|cp |mv |install |tee |sed -i).*/etc/silta' "$work/control/postinst" "$work/control/prerm" "$work/control/postrm"; then
  fail "siltad: a maintainer script writes into /etc/silta"
fi
grep -q 'adduser --system' "$work/control/postinst" || fail "siltad: postinst creates no system user"
dpkg-deb -f "${deb[siltad]}" Depends | grep -q 'adduser' || fail "siltad: does not depend on adduser"

# The unpacked unit, pointing at the unpacked binary.
dpkg -x "${deb[siltad]}" "$work/root"
sed "s|/usr/bin/siltad|$work/root/usr/bin/siltad|g" "$work/root/lib/systemd/system/siltad.service" \
  >"$work/siltad.service"
if ! out=$(systemd-analyze verify "$work/siltad.service" 2>&1) || [[ -n $out ]]; then
  fail "systemd-analyze verify: $out"
fi
"$work/root/usr/bin/siltad" --help >/dev/null || fail "the packaged siltad does not run"

# The shipped example configuration starts the packaged siltad, once the
# files it names are in place (README.Debian): here a throwaway PKI of its
# trust domain, under the unpacked tree instead of /.
dpkg -x "${deb[siltactl]}" "$work/root"
etc="$work/root/etc/silta"
SILTA_TRUST_DOMAIN=silta.hyvinvointialue.fi "$source/certs/make-dev-pki.sh" "$work/pki" \
  >"$work/pki.log" 2>&1 || { cat "$work/pki.log"; exit 1; }
mkdir -p "$etc/tls" "$etc/secrets"
cp "$work/pki/server.pem" "$work/pki/server.key" "$work/pki/ca.pem" "$etc/tls/"
cp -r "$work/pki/crl" "$etc/tls/crl"
cp "$work/pki/audit/log-key.pem" "$etc/secrets/"
head -c 32 /dev/urandom >"$etc/secrets/pepper"
chmod 600 "$etc/tls/server.key" "$etc/secrets/pepper" "$etc/secrets/log-key.pem"
sed -e "s|/etc/silta/|$etc/|g" -e "s|/var/lib/silta/|$work/root/var/lib/silta/|g" \
  -e 's|"0.0.0.0:7443"|"127.0.0.1:0"|' -e 's|"127.0.0.1:9464"|"127.0.0.1:0"|' \
  "$etc/siltad.textproto" >"$work/siltad.textproto"
echo "listen_port_file: \"$work/port\"" >>"$work/siltad.textproto"
if ! "$work/root/usr/bin/siltad" --config "$work/siltad.textproto" --check-config \
    >"$work/check.log" 2>&1; then
  cat "$work/check.log"
  fail "the shipped example config does not pass --check-config"
fi
"$work/root/usr/bin/siltad" --config "$work/siltad.textproto" >"$work/siltad.log" 2>&1 &
siltad_pid=$!
trap 'kill -9 $siltad_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
if [[ ! -s $work/port ]]; then
  cat "$work/siltad.log"
  fail "the packaged siltad did not start with the shipped config"
else
  who=$("$work/root/usr/bin/siltactl" --address "127.0.0.1:$(cat "$work/port")" \
    --server-name localhost --ca "$work/pki/ca.pem" --cert "$work/pki/orgs/silta-admin.pem" \
    --key "$work/pki/orgs/silta-admin.key" whoami 2>&1) || true
  [[ $who == *silta-admin*ADMIN*ACTIVE* ]] ||
    fail "siltactl whoami against the packaged siltad: $who"
  [[ -f $work/root/var/lib/silta/silta.db ]] || fail "no store in /var/lib/silta"
fi
kill "$siltad_pid" 2>/dev/null || true
wait "$siltad_pid" 2>/dev/null || true

if ! lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs \
    "${deb[@]}" >"$work/lintian.log" 2>&1; then
  cat "$work/lintian.log"
  fail "lintian reports errors"
fi

# The SDK as the package installs it: hello-send builds against it.
dpkg -x "${deb[libsilta-sdk-dev]}" "$work/sdk"
if ! cmake -S "$source/examples/hello-send" -B "$work/hello" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/sdk/usr" >"$work/hello.log" 2>&1 ||
   ! cmake --build "$work/hello" >>"$work/hello.log" 2>&1; then
  cat "$work/hello.log"
  fail "hello-send does not build against libsilta-sdk-dev"
fi

exit $status
