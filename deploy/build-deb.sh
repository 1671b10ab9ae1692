#!/usr/bin/env bash
# Builds the rtcam .deb from an already built binary (cross/build.sh) and the built viewer
# (scripts/build-web.sh), with dpkg-deb alone.
#
#   deploy/build-deb.sh arm64|armhf|amd64 [BINARY]
#
# Installs /usr/bin/rtcam, /etc/rtcam/rtcam.toml (a conffile: the annotated default with the
# viewer page served on port 8080), the systemd unit and the viewer under /usr/share/rtcam/www.
# The first install enables and starts the service, upgrades keep an admin's disable, purging
# removes it and its state.
set -euo pipefail
cd "$(dirname "$0")/.."
debarch=${1:?usage: deploy/build-deb.sh arm64|armhf|amd64 [BINARY]}
case "$debarch" in
  arm64) target=aarch64-unknown-linux-gnu ;;
  armhf) target=armv7-unknown-linux-gnueabihf ;;
  amd64) target=x86_64-unknown-linux-gnu ;;
  *) echo "build-deb.sh: unknown architecture '$debarch' (arm64, armhf or amd64)" >&2; exit 2 ;;
esac
bin=${2:-target/$target/release/rtcam}
[ -x "$bin" ] || { echo "build-deb.sh: no binary at $bin (build it: cross/build.sh)" >&2; exit 1; }
[ -f web/dist/index.html ] || { echo "build-deb.sh: the viewer is not built (scripts/build-web.sh)" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | sed -n 1p)
out=target/debian
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/rtcam_${version}_${debarch}"

install -D -m 0755 "$bin" "$root/usr/bin/rtcam"
install -D -m 0644 systemd/rtcam.service "$root/lib/systemd/system/rtcam.service"
install -d "$root/usr/share/rtcam/www"
for f in index.html viewer.js style.css viewer.js.LEGAL.txt \
  index.html.gz viewer.js.gz style.css.gz index.html.br viewer.js.br style.css.br; do
  install -m 0644 "web/dist/$f" "$root/usr/share/rtcam/www/$f"
done
install -D -m 0644 README.md "$root/usr/share/doc/rtcam/README.md"
install -D -m 0644 docs/protocol.md "$root/usr/share/doc/rtcam/protocol.md"
cat > "$root/usr/share/doc/rtcam/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: rtcam
License: MIT OR Apache-2.0
COPY
# The configuration: the annotated default, with the viewer page served on every interface.
install -d "$root/etc/rtcam"
sed 's|^# listen = ""|listen = "0.0.0.0:8080"|' src/config/rtcam.default.toml > "$root/etc/rtcam/rtcam.toml"
chmod 0644 "$root/etc/rtcam/rtcam.toml"
grep -q '^listen = "0.0.0.0:8080"' "$root/etc/rtcam/rtcam.toml" \
  || { echo "build-deb.sh: could not enable http.listen in the shipped config" >&2; exit 1; }

# Depends: from the libraries the binary really links, and the newest glibc symbol version
# it needs (what dpkg-shlibdeps derives from libc6's symbols file; computed from the binary
# itself so that it also works for cross-built binaries). Raspberry Pi OS Bookworm
# (glibc 2.36) and Trixie run it; on an older release apt refuses the package instead of
# installing a service that cannot start.
glibc=$(readelf -V --wide "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
[ -n "$glibc" ] || { echo "build-deb.sh: no GLIBC_ symbol versions in $bin" >&2; exit 1; }
depends="libc6 (>= $glibc)"
for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  case "$lib" in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | ld-linux*) ;;
    libgcc_s.so.*) depends="$depends, libgcc-s1" ;;
    libstdc++.so.*) depends="$depends, libstdc++6" ;;
    libasound.so.*) depends="$depends, libasound2 | libasound2t64" ;;
    *) echo "build-deb.sh: no package known for $lib: add it to build-deb.sh" >&2; exit 1 ;;
  esac
done

install -d "$root/DEBIAN"
size_kb=$(du -sk "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: rtcam
Version: $version
Architecture: $debarch
Maintainer: rtcam developers <rtcam@localhost>
Installed-Size: $size_kb
Depends: $depends, init-system-helpers (>= 1.54~)
Recommends: mosquitto
Section: video
Priority: optional
Description: WebRTC camera daemon for Raspberry Pi-class boards
 Captures video and audio, encodes H.264 (openh264) and Opus once, and streams them
 to every browser viewer over WebRTC, with signaling over MQTT. The viewer page is
 served by the daemon on port 8080.
CONTROL
echo /etc/rtcam/rtcam.toml > "$root/DEBIAN/conffiles"

# The unit is handled like debhelper's dh_installsystemd does: enabled on the first install,
# an admin's `systemctl disable` respected on upgrades (deb-systemd-helper remembers it), and
# restarted on upgrade only when it is enabled (deb-systemd-invoke).
cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] \
  || [ "$1" = abort-remove ]; then
  # The broker password's home (the unit loads it as a credential): root only, kept as it is.
  [ -e /etc/rtcam/mqtt-password ] || install -m 0600 /dev/null /etc/rtcam/mqtt-password
  deb-systemd-helper unmask rtcam.service >/dev/null || true
  if deb-systemd-helper --quiet was-enabled rtcam.service; then
    deb-systemd-helper enable rtcam.service >/dev/null || true
  else
    deb-systemd-helper update-state rtcam.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then action=restart; else action=start; fi
    deb-systemd-invoke "$action" rtcam.service >/dev/null || true
  fi
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  deb-systemd-invoke stop rtcam.service >/dev/null || true
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
case "$1" in
  remove)
    deb-systemd-helper mask rtcam.service >/dev/null 2>&1 || true
    ;;
  purge)
    deb-systemd-helper purge rtcam.service >/dev/null 2>&1 || true
    deb-systemd-helper unmask rtcam.service >/dev/null 2>&1 || true
    # DynamicUser= keeps state under /var/lib/private and /var/log/private.
    rm -rf /var/lib/private/rtcam /var/lib/rtcam /var/log/private/rtcam /var/log/rtcam
    rm -f /etc/rtcam/mqtt-password
    rmdir /etc/rtcam 2>/dev/null || true
    ;;
esac
exit 0
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/rtcam_${version}_${debarch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "build-deb.sh: $deb ($(( $(stat -c %s "$deb") / 1024 )) KiB)"
