#!/usr/bin/env bash
# Boots the emulated board built by tests/vm/image.sh: QEMU's arm64 `virt` machine with a
# Cortex-A72 (a Raspberry Pi 4's core) under TCG, the console on stdin/stdout, user networking
# with one UDP port forwarded from the host's loopback (rtcam's `webrtc.udp_port`).
#
#   RTCAM_VM_UDP_PORT=50000 tests/vm/run.sh
#
# At the "@@READY" line the guest runs each line typed on stdin as a shell command, e.g.
#   rtcam probe
#   echo 'device_id = "cam"' > /tmp/rtcam.toml; rtcam run --config /tmp/rtcam.toml &
# The guest reaches the host's loopback as 10.0.2.2 (an MQTT broker on 127.0.0.1:1883 is
# mqtt://10.0.2.2:1883 inside). End the session with `reboot -f` or by closing stdin.
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${RTCAM_VM_UDP_PORT:-50000}
vm=target/vm
for f in "$vm/vmlinuz" "$vm/initramfs.gz"; do
  [ -f "$f" ] || { echo "run.sh: $f is missing: run tests/vm/image.sh first" >&2; exit 2; }
done
exec qemu-system-aarch64 -machine virt -cpu cortex-a72 -smp 2 -m 768 -accel tcg,thread=multi \
  -kernel "$vm/vmlinuz" -initrd "$vm/initramfs.gz" \
  -append "console=ttyAMA0 quiet loglevel=3 panic=-1" \
  -display none -serial stdio -monitor none -no-reboot \
  -netdev "user,id=net0,hostfwd=udp:127.0.0.1:$port-:$port" -device virtio-net-pci,netdev=net0,romfile=
