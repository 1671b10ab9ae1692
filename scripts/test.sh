#!/usr/bin/env bash
# Runs every test: unit tests, the end-to-end tests (each in a network namespace of its own,
# so it needs root: `sudo` is used when not root), the browser tests in Chromium, and the
# board path: both cross builds, the .deb packages, the aarch64 binary under qemu-user and on
# an emulated arm64 board with the kernel's vivid camera and snd-aloop card (tests/vm/).
#
# RTCAM_SKIP_CROSS=1 skips the cross builds (and so the QEMU test) for quick local runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh test
# The browser tests need the built viewer page and playwright-core.
./scripts/build-web.sh
# The viewer page's own unit tests (Node's test runner: back-off, the stamp test vector).
(cd web && npm test)
cargo build --all-targets --locked

if [ "${RTCAM_SKIP_CROSS:-0}" = 1 ]; then
  echo "test.sh: RTCAM_SKIP_CROSS=1: no cross builds, the QEMU test is skipped"
else
  cross/build.sh aarch64
  cross/build.sh armv7
  export RTCAM_ARM_BINARY="$PWD/target/aarch64-unknown-linux-gnu/release/rtcam"
  deploy/build-deb.sh arm64
  deploy/build-deb.sh armhf
fi

if [ "$(id -u)" -eq 0 ]; then
  cargo test --locked -- --test-threads=2
else
  echo "test.sh: the end-to-end tests create network namespaces; running them with sudo"
  sudo -E env "PATH=$PATH" cargo test --locked -- --test-threads=2
fi
