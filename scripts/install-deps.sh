#!/usr/bin/env bash
# Installs the Debian / Raspberry Pi OS packages rtcam needs.
#   install-deps.sh build   what building needs (compiler toolchain for the C codecs)
#   install-deps.sh test    the above plus what the tests use (mosquitto, iproute2, unshare)
# Runs apt-get only when something is missing; uses sudo when not root.
set -euo pipefail
mode=${1:-build}

# pkg-config, clang/libclang (bindgen), cmake (libopus), nasm (openh264's fast x86 paths;
# without it openh264 silently builds its slow C path).
packages=(pkg-config clang libclang-dev cmake nasm libasound2-dev build-essential)
if [ "$mode" = test ]; then
  packages+=(mosquitto iproute2 util-linux)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# mosquitto's packaged service is not needed: tests start their own on free loopback ports.
if [ "$mode" = test ] && command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
