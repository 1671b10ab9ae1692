#!/usr/bin/env bash
# Installs what is missing, builds and starts the demo: embedded MQTT broker, synthetic
# camera and tone, and the daemon. Extra arguments go to `rtcam demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh build
./scripts/build-web.sh
cargo build --release --locked
exec ./target/release/rtcam demo --web-root web/dist "$@"
