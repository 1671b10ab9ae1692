#!/usr/bin/env bash
# Benchmark (docs/benchmarks.md): builds the release binary and measures it against a real
# mosquitto on loopback with the end-to-end suite's webrtc-rs viewer: start → standby offer,
# CPU and RSS with 0/1/2/4/8 viewers at 480p30 and 720p30, time to first frame (answer →
# first decoded picture) over RTCAM_BENCH_JOINS joins with nobody and with one viewer
# watching, capture → decoded latency p50/p95; medians of RTCAM_BENCH_REPS repetitions;
# then the per-item costs (`cargo run --release --example bench`). Writes target/bench.md.
# Needs root (network namespaces) and mosquitto, like the tests (scripts/install-deps.sh).
# Keep the machine otherwise idle: the numbers are CPU shares.
#
#   scripts/bench.sh                                  # about 15 minutes on 2 cores
#   RTCAM_BENCH_REPS=1 RTCAM_BENCH_JOINS=5 RTCAM_BENCH_WINDOW_S=3 scripts/bench.sh   # a look
#   scripts/bench.sh --profile [VIEWERS]              # perf profile of the send path
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
out="$PWD/target/bench.md"
stage() { echo "bench: $* ($(date -u +%H:%M:%S))"; }

if [ "${1:-}" = --profile ]; then
  # The suite's own (dev) binary: it has symbols; its dependencies (webrtc-rs, tokio, the
  # codecs and SRTP) are built at opt-level 3 like the release's per-packet crates.
  command -v perf >/dev/null || { echo "bench: installing linux-perf"; apt-get install -y -qq linux-perf >/dev/null; }
  viewers="${2:-4}"
  stage "profiling the device with $viewers viewers at 720p30 for 10 s"
  RTCAM_BENCH_VIEWERS="$viewers" cargo test --locked --test e2e bench::profile -- --ignored --exact --nocapture 2>&1 | grep -E '^PROFILE|panicked|FAILED' || true
  data="target/perf-$viewers.data"
  [ -f "$data" ] || { echo "bench: no profile written"; exit 1; }
  perf report -i "$data" --no-children --sort dso,symbol --percent-limit 1.5 --stdio 2>/dev/null | grep -v '^$' | head -n 60
  stage "done: perf report -i $data"
  exit 0
fi

stage "building the release binary, the viewer page and the test viewer"
cargo build --release --locked --bin rtcam --example bench
./scripts/build-web.sh
cargo test --locked --test e2e --no-run 2>&1 | tail -n 1

stage "live benchmark (reps ${RTCAM_BENCH_REPS:-3}, joins ${RTCAM_BENCH_JOINS:-20}, windows ${RTCAM_BENCH_WINDOW_S:-10} s)"
log="$PWD/target/bench.log"
RTCAM_BENCH_BINARY="$PWD/target/release/rtcam" RTCAM_BENCH_OUT="$out.live" \
  cargo test --locked --test e2e bench::full -- --ignored --exact --nocapture >"$log" 2>&1 \
  || { grep -E -A4 'panicked|FAILED' "$log" | head -n 40
       echo "bench: the live benchmark failed; its log: $log"; exit 1; }

stage "per-item costs"
{
  echo "# rtcam benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD)"
  echo
  cat "$out.live"
  echo
  echo '```'
  ./target/release/examples/bench
  echo '```'
} >"$out"
rm -f "$out.live"
cat "$out"
stage "done: $out"
