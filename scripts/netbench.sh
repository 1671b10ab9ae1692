#!/usr/bin/env bash
# Network benchmark: runs the shaped-link scenarios of the end-to-end test module `network`
# (the device in a network namespace of its own behind a veth whose device side is capped
# with tc and made lossy with nftables) and collects their second-by-second tables (target
# and sent kbit/s, loss, RTT, the viewer's decoded fps, added delay, longest gap) and
# summaries into target/netbench.md. Needs root (network namespaces), like the tests.
#
#   scripts/netbench.sh                      # every scenario (about 3 minutes)
#   scripts/netbench.sh a_cap_below_the_easy # one of them
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
out=target/netbench.md
filter="${1:-network::}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "netbench: running '$filter' (tables into $out)"
start=$(date +%s)
status=0
cargo test --test e2e -- --test-threads=1 --nocapture "$filter" >"$log" 2>&1 || status=$?
{
  echo "# rtcam network benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD)"
  echo
  # The tables (title line, blank, rows) and the one-line summaries the tests print.
  grep -E '^(\||Cap|3 %|Two viewers|CAP|LOSS|RECOVERY|FIXED|TWO|CHROMIUM|PLI FLOOD)' "$log" \
    | sed -E 's/^(Cap|3 %|Two viewers)/\n### \1/'
} >"$out"
grep -E '^test result:|^failures:|^    network::' "$log" || true
echo "netbench: $(( $(date +%s) - start )) s, exit $status; see $out"
exit "$status"
