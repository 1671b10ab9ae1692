#!/usr/bin/env bash
# Builds the emulated board of tests/e2e/vm_real_drivers.rs: Debian's arm64 kernel and an
# initramfs with busybox, the kernel modules rtcam's drivers need (vivid, the virtual camera;
# snd-aloop, the loopback sound card; virtio for the network), v4l2-ctl and speaker-test (to
# cross-check and feed the drivers) and the aarch64 rtcam binary with its shared libraries.
# Everything comes from Debian's packages; nothing else is downloaded.
#
#   tests/vm/image.sh path/to/aarch64/rtcam [FILE...]  -> target/vm/vmlinuz, target/vm/initramfs.gz
#
# FILEs (e.g. a recorded .h264 clip) are put in the guest's /data/.
# The .deb files and their extracted tree are cached under target/vm/ (only the initramfs is
# rebuilt when the binary changes). tests/vm/run.sh boots the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
rtcam=${1:?usage: tests/vm/image.sh path/to/aarch64/rtcam [FILE...]}
shift
[ -x "$rtcam" ] || { echo "image.sh: $rtcam is not an executable" >&2; exit 2; }
out=target/vm
cache=$out/debs
root=$out/root
mkdir -p "$cache"
start=$(date +%s)

# The kernel the metapackage points at today, and the userland tools.
if [ ! -f "$cache/.complete" ]; then
  if ! dpkg --print-foreign-architectures | grep -x arm64 >/dev/null; then
    echo "image.sh: arm64 is not a dpkg architecture here (cross/build.sh aarch64 adds it)" >&2
    exit 2
  fi
  kernel=$(apt-cache depends linux-image-arm64:arm64 | sed -n 's/.*Depends: \(linux-image-[0-9].*-arm64\).*/\1/p' | sed -n 1p)
  [ -n "$kernel" ] || { echo "image.sh: no arm64 kernel package found (apt-get update?)" >&2; exit 2; }
  echo "image.sh: downloading $kernel and the guest's tools (arm64 .debs, cached in $cache)"
  (cd "$cache" && timeout 900 apt-get download -q -o APT::Sandbox::User=root \
    -o Acquire::http::Timeout=30 -o Acquire::Retries=3 "$kernel:arm64" busybox-static:arm64 alsa-utils:arm64 \
    v4l-utils:arm64 libv4l-0:arm64 libv4lconvert0:arm64 libjpeg62-turbo:arm64)
  rm -rf "$out/extract"
  mkdir -p "$out/extract"
  for deb in "$cache"/*.deb; do dpkg-deb -x "$deb" "$out/extract"; done
  kver=$(ls "$out/extract/lib/modules")
  depmod -b "$out/extract" "$kver"
  touch "$cache/.complete"
fi
ex=$out/extract
kver=$(ls "$ex/lib/modules")
cp "$ex/boot/vmlinuz-$kver" "$out/vmlinuz"

rm -rf "$root"
mkdir -p "$root"/{bin,sbin,lib,etc,proc,sys,dev,tmp,run,usr/share,lib/modules/"$kver"}
cp "$ex/bin/busybox" "$root/bin/busybox"

# Kernel modules with their dependencies, in load order (modprobe resolves them on the host).
modules=(virtio_pci virtio_net vivid snd-aloop)
: >"$root/etc/modules.order"
for m in "${modules[@]}"; do
  modprobe -d "$ex" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }' |
    while read -r ko; do
      name=$(basename "$ko")
      if ! grep -qx "$name" "$root/etc/modules.order"; then
        cp "$ko" "$root/lib/modules/$kver/$name"
        echo "$name" >>"$root/etc/modules.order"
      fi
    done
done

# Programs and every shared library they need (resolved from the extracted packages, the
# cross toolchain's libc and the multiarch libraries the cross build installed).
search=("$ex/lib/aarch64-linux-gnu" "$ex/usr/lib/aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib
  /usr/lib/aarch64-linux-gnu /lib/aarch64-linux-gnu)
install -m 0755 "$rtcam" "$root/bin/rtcam"
cp "$ex/usr/bin/v4l2-ctl" "$ex/usr/bin/speaker-test" "$ex/usr/bin/aplay" "$root/bin/"
declare -A have=()
need_libs() {
  local f=$1 lib dir
  for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [ -n "${have[$lib]:-}" ] && continue
    have[$lib]=1
    for dir in "${search[@]}"; do
      if [ -e "$dir/$lib" ]; then
        cp -L "$dir/$lib" "$root/lib/$lib"
        need_libs "$root/lib/$lib"
        continue 2
      fi
    done
    echo "image.sh: $lib (needed by $(basename "$f")) is not in any of: ${search[*]}" >&2
    exit 1
  done
}
for b in rtcam v4l2-ctl speaker-test aplay; do need_libs "$root/bin/$b"; done
# alsa-lib reads its configuration (device names such as hw:Loopback,1) from here.
cp -r /usr/share/alsa "$root/usr/share/alsa"
install -m 0755 tests/vm/init "$root/init"
mkdir -p "$root/data"
for f in "$@"; do cp "$f" "$root/data/"; done

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out/initramfs.gz"
echo "image.sh: $out/vmlinuz ($kver) and $out/initramfs.gz" \
  "($(($(stat -c %s "$out/initramfs.gz") / 1024)) KiB, modules: $(tr '\n' ' ' <"$root/etc/modules.order"))" \
  "in $(($(date +%s) - start)) s"
