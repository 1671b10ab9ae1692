#!/usr/bin/env bash
# Builds the viewer page into web/dist: installs the exact npm packages of
# web/package-lock.json (npm ci, only when they changed) and bundles with esbuild.
set -euo pipefail
cd "$(dirname "$0")/../web"
stamp=node_modules/.rtcam-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "build-web: installing the viewer's npm packages (npm ci)"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
npm run --silent build
