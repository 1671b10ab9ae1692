#!/usr/bin/env bash
# Installs the Debian / Raspberry Pi OS packages rtcam needs.
#   install-deps.sh build   what building needs (compiler toolchain for the C codecs, Node.js
#                           for the viewer page)
#   install-deps.sh test    the above plus what the tests use (mosquitto, iproute2, unshare,
#                           Chromium)
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail
mode=${1:-build}

# pkg-config, clang/libclang (bindgen), cmake (libopus), nasm (openh264's fast x86 paths;
# without it openh264 silently builds its slow C path).
packages=(pkg-config clang libclang-dev cmake nasm libasound2-dev build-essential)
# Node.js and npm build the viewer page (web/); a Node.js from elsewhere (nodesource, nvm)
# is used as it is.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
if [ "$mode" = test ]; then
  # Chromium runs the browser tests (driven by playwright-core, never a downloaded browser).
  # dpkg-dev (dpkg-shlibdeps) and init-system-helpers cross-check the package's Depends and
  # its unit handling in deploy/test-deb.sh; nftables filters packets in the network tests;
  # GStreamer (videotestsrc, x264enc) is the real producer of the video-command tests;
  # qemu-system-arm boots the emulated board (tests/vm/: kmod's depmod/modprobe and cpio
  # build its initramfs); openssl makes the TLS tests' CA (deploy/broker-ca.sh) and
  # libnss3-tools' certutil makes Chromium trust it; coturn is the TURN/STUN server of the
  # remote-viewing tests (tests/e2e/remote.rs), iputils-ping checks their topology; Janus
  # and its janus.js (libjs-janus-gateway) are the SFU of the publishing test.
  packages+=(mosquitto iproute2 util-linux chromium fonts-dejavu-core dpkg-dev init-system-helpers
    nftables gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-ugly
    qemu-system-arm kmod cpio openssl libnss3-tools coturn iputils-ping janus
    libjs-janus-gateway python3)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
check_node() {
  local need=$1 major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -lt "$need" ]; then
    echo "install-deps: Node.js $need or newer is needed for '$mode' (found $(node --version 2>/dev/null || echo none))." >&2
    echo "  Debian's nodejs may be too old: see https://nodejs.org/en/download/package-manager" >&2
    exit 1
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  # playwright-core (tests) needs Node.js 20; esbuild and mqtt.js (the page) need 18.
  if [ "$mode" = test ]; then check_node 20; else check_node 18; fi
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
# shellcheck source=scripts/apt.sh
. "$(dirname "$0")/apt.sh"
apt_update
apt_install "${missing[@]}"
# mosquitto's packaged service is not needed: tests start their own on free loopback ports.
if [ "$mode" = test ] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
  $sudo systemctl disable --now coturn >/dev/null 2>&1 || true
  $sudo systemctl disable --now janus >/dev/null 2>&1 || true
fi
if [ "$mode" = test ]; then check_node 20; else check_node 18; fi
