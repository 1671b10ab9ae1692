#!/usr/bin/env bash
# Soak test: runs the rtcam binary for RTCAM_SOAK_S seconds (default 1800 = 30 min) with two
# viewers that stay and one that joins and leaves every 20 s, samples the device's RSS, file
# descriptors, threads and CPU and the viewers' frame rates every 10 s into target/soak.csv,
# checks that nothing grows, and plots target/soak.png (gnuplot, installed if missing).
# Needs root (network namespace), like the end-to-end tests.
#
#   scripts/soak.sh            # 30 minutes
#   RTCAM_SOAK_S=300 scripts/soak.sh
#   scripts/soak.sh --plot-only   # plot and summarise target/soak.csv again
set -euo pipefail
cd "$(dirname "$0")/.."
export RTCAM_SOAK_S="${RTCAM_SOAK_S:-1800}"
export RTCAM_SOAK_CSV="$PWD/target/soak.csv"
mkdir -p target
if [ "${1:-}" != --plot-only ]; then
  echo "soak: ${RTCAM_SOAK_S} s, samples into $RTCAM_SOAK_CSV"
  cargo test --test e2e soak::long_soak -- --ignored --exact --nocapture
fi
secs=$(tail -n1 target/soak.csv | cut -d, -f1)

if ! command -v gnuplot >/dev/null; then
  echo "soak: installing gnuplot-nox for the plot"
  apt-get install -y -qq gnuplot-nox >/dev/null
fi
gnuplot <<PLOT
set terminal png size 1100,700
set output 'target/soak.png'
set datafile separator ','
set key autotitle columnhead outside
set multiplot layout 3,1 title "rtcam soak: ${secs} s, 2 staying viewers + 1 joining/leaving every 20 s"
set ylabel 'RSS (MiB)'
plot 'target/soak.csv' using (\$1/60):(\$2/1024) with lines title 'RSS'
set ylabel 'count'
set yrange [0:*]
set offsets 0, 0, 6, 0
plot 'target/soak.csv' using (\$1/60):3 with lines title 'fds', '' using (\$1/60):4 with lines title 'threads'
set ylabel '% / fps'
set offsets 0, 0, 0, 0
set xlabel 'minutes'
plot 'target/soak.csv' using (\$1/60):5 with lines title 'CPU %', '' using (\$1/60):6 with lines title 'fps A', '' using (\$1/60):7 with lines title 'fps B'
unset multiplot
PLOT
python3 - <<'PY'
import csv
rows = list(csv.DictReader(open('target/soak.csv')))
f = lambda k: [float(r[k]) for r in rows]
warm = [r for r in rows if float(r['t_s']) >= 30][0]
last = rows[-1]
print(f"soak summary over {last['t_s']} s, {len(rows)} samples, {last['joins']} joins of the third viewer:")
print(f"  RSS  {float(warm['rss_kib'])/1024:.1f} -> {float(last['rss_kib'])/1024:.1f} MiB (max {max(f('rss_kib'))/1024:.1f})")
print(f"  fds  {warm['fds']} -> {last['fds']} (max {max(f('fds')):.0f}); threads {warm['threads']} -> {last['threads']}")
print(f"  CPU  mean {sum(f('cpu_percent'))/len(rows):.1f} % of a core")
print(f"  fps  A min {min(f('fps_a')[2:]):.1f}, B min {min(f('fps_b')[2:]):.1f}")
PY
echo "soak: plot in target/soak.png"
