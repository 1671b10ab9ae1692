#!/usr/bin/env bash
# Cross-builds rtcam for a Raspberry Pi with Debian's cross toolchains (no Docker, nothing
# downloaded but `rustup target add`), installing whatever is missing first.
#
#   cross/build.sh aarch64   64-bit Raspberry Pi OS (Pi 3/4/5/Zero 2)  -> arm64
#   cross/build.sh armv7     32-bit Raspberry Pi OS (armhf)             -> armhf
#
# Options: --profile NAME (default release). Prints the binary's path and size.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: cross/build.sh aarch64|armv7 [--profile NAME]}
shift
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    *) echo "cross/build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

case "$arch" in
  aarch64 | arm64) target=aarch64-unknown-linux-gnu; debarch=arm64; gnu=aarch64-linux-gnu ;;
  armv7 | armhf) target=armv7-unknown-linux-gnueabihf; debarch=armhf; gnu=arm-linux-gnueabihf ;;
  *) echo "cross/build.sh: unknown architecture '$arch' (aarch64 or armv7)" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
./scripts/install-deps.sh build

# The cross compilers, the target's libc headers, the target's ALSA (multiarch) and QEMU to
# run the result.
packages=("gcc-$gnu" "g++-$gnu" "libc6-dev-$debarch-cross" "libasound2-dev:$debarch" qemu-user-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross/build.sh: installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -x "$debarch" >/dev/null; then
    $sudo dpkg --add-architecture "$debarch"
  fi
  # shellcheck source=scripts/apt.sh
  . scripts/apt.sh
  apt_update
  apt_install "${missing[@]}"
fi
if ! rustup target list --installed | grep -x "$target" >/dev/null; then
  rustup target add "$target"
fi

start=$(date +%s)
echo "cross/build.sh: building $target ($profile)"
cargo build --locked --profile "$profile" --target "$target" --bin rtcam
dir=$profile
[ "$profile" = dev ] && dir=debug
bin="target/$target/$dir/rtcam"
size=$(stat -c %s "$bin")
echo "cross/build.sh: $bin  $((size / 1024)) KiB  built in $(( $(date +%s) - start )) s"
file "$bin" 2>/dev/null || true
