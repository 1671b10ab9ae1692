#!/usr/bin/env bash
# CI check of the package and the unit (installs onto THIS machine: meant for throwaway CI
# machines, run as root). Packages the native binary as an amd64 .deb, installs it, checks
# the files, the conffile and the unit (systemd-analyze verify and security), purges it and
# checks that nothing is left.
#
#   deploy/test-deb.sh [BINARY]   (default target/debug/rtcam)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "test-deb.sh: run as root (it installs a package)" >&2; exit 1; }
bin=${1:-target/debug/rtcam}
arch=$(dpkg --print-architecture)
# A debug binary is hundreds of MiB of debug info: package a stripped copy.
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$bin"
chmod 0755 "$stripped"
deploy/build-deb.sh "$arch" "$stripped"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | sed -n 1p)
deb="target/debian/rtcam_${version}_${arch}.deb"

fail() { echo "test-deb.sh: FAILED: $*" >&2; exit 1; }
dpkg-deb --contents "$deb"

# Depends must name at least the glibc Debian's own tool derives for this binary.
depends=$(dpkg-deb -f "$deb" Depends)
echo "test-deb.sh: Depends: $depends"
ours=$(echo "$depends" | sed -n 's/.*libc6 (>= \([^)]*\)).*/\1/p')
shl=$(mktemp -d)
mkdir -p "$shl/debian"
printf 'Source: rtcam\n\nPackage: rtcam\nArchitecture: any\n' > "$shl/debian/control"
theirs=$(cd "$shl" && dpkg-shlibdeps -O -e"$stripped" 2>/dev/null \
  | sed -n 's/.*libc6 (>= \([^)]*\)).*/\1/p')
rm -rf "$shl"
echo "test-deb.sh: glibc needed: $ours (dpkg-shlibdeps: $theirs)"
[ -n "$ours" ] && [ -n "$theirs" ] || fail "no libc6 version in Depends ($ours) or from dpkg-shlibdeps ($theirs)"
dpkg --compare-versions "$ours" ge "$theirs" || fail "Depends libc6 (>= $ours) is below dpkg-shlibdeps' $theirs"

dpkg -i "$deb" || fail "dpkg -i"
wants=/etc/systemd/system/multi-user.target.wants/rtcam.service
[ -L "$wants" ] || fail "the first install did not enable the unit"
# An admin's `systemctl disable` survives an upgrade (here: the same package again).
systemctl disable rtcam.service 2>/dev/null || rm -f "$wants"
[ ! -e "$wants" ] || fail "could not disable the unit for the upgrade check"
dpkg -i "$deb" || fail "dpkg -i (upgrade)"
[ ! -e "$wants" ] || fail "the upgrade enabled a unit the admin had disabled"
echo "test-deb.sh: first install enabled the unit; an upgrade kept it disabled"
for f in /usr/bin/rtcam /etc/rtcam/rtcam.toml /lib/systemd/system/rtcam.service \
  /usr/share/rtcam/www/index.html /usr/share/rtcam/www/viewer.js; do
  [ -e "$f" ] || fail "$f not installed"
done
dpkg-query -W -f='${Conffiles}\n' rtcam | grep /etc/rtcam/rtcam.toml >/dev/null || fail "rtcam.toml is not a conffile"
[ "$(stat -c '%a %U' /etc/rtcam/mqtt-password)" = "600 root" ] \
  || fail "/etc/rtcam/mqtt-password is not root's, mode 600: $(stat -c '%a %U' /etc/rtcam/mqtt-password)"
# What the unit's LoadCredential= does, by hand: the credential becomes the broker password.
cred=$(mktemp -d)
echo "from-the-credential" > "$cred/mqtt-password"
CREDENTIALS_DIRECTORY=$cred rtcam check-config --config /etc/rtcam/rtcam.toml \
  | grep "a password set" >/dev/null || fail "the mqtt-password credential was not read"
rtcam check-config --config /etc/rtcam/rtcam.toml | grep "(anonymous)" >/dev/null \
  || fail "without the credential the shipped config should log in anonymously"
rm -rf "$cred"
rtcam check-config --config /etc/rtcam/rtcam.toml || fail "the shipped config is invalid"
systemd-analyze verify /lib/systemd/system/rtcam.service || fail "systemd-analyze verify"
exposure=$(systemd-analyze security --offline=yes /lib/systemd/system/rtcam.service 2>/dev/null \
  | sed -n 's/.*Overall exposure level for rtcam.service: \([0-9.]*\).*/\1/p')
echo "test-deb.sh: systemd-analyze security exposure: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.5) }' || fail "exposure $exposure is above 2.5"

dpkg --purge rtcam || fail "dpkg --purge"
for f in /usr/bin/rtcam /etc/rtcam /lib/systemd/system/rtcam.service /usr/share/rtcam; do
  [ ! -e "$f" ] || fail "$f left behind after purge"
done
echo "test-deb.sh: install, checks and purge OK"
