#!/usr/bin/env bash
# Runs every test: unit tests, and the end-to-end tests (each in a network namespace of its
# own, so it needs root: `sudo` is used when not root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh test
# The browser tests need the built viewer page and playwright-core.
./scripts/build-web.sh
cargo build --all-targets --locked
if [ "$(id -u)" -eq 0 ]; then
  cargo test --locked -- --test-threads=2
else
  echo "test.sh: the end-to-end tests create network namespaces; running them with sudo"
  sudo -E env "PATH=$PATH" cargo test --locked -- --test-threads=2
fi
