#!/usr/bin/env bash
# Regenerates the pixel-format fixtures of src/capture/convert.rs (needs python3 and Debian's
# ffmpeg): a 64x48 I420 reference picture (gradients, the same as `reference()` in the
# tests), and the same picture as a camera would deliver it in YU12, NV12, YUYV and MJPEG.
set -euo pipefail
cd "$(dirname "$0")"
python3 - <<'PY'
w, h = 64, 48
y = bytes((16 + (x * 3 + r) % 200) for r in range(h) for x in range(w))
u = bytes((64 + i % 128) for i in range(w * h // 4))
v = bytes((192 - i % 128) for i in range(w * h // 4))
open("ref-64x48.i420", "wb").write(y + u + v)
PY
cp ref-64x48.i420 ref-64x48.yu12
raw=(-hide_banner -loglevel error -y -f rawvideo -pix_fmt yuv420p -s 64x48 -i ref-64x48.i420)
ffmpeg "${raw[@]}" -sws_flags neighbor -f rawvideo -pix_fmt nv12 ref-64x48.nv12
ffmpeg "${raw[@]}" -sws_flags neighbor -f rawvideo -pix_fmt yuyv422 ref-64x48.yuyv
# A UVC camera's MJPEG: full-range (JFIF) 4:2:0 JPEG, high quality.
ffmpeg "${raw[@]}" -sws_flags neighbor -c:v mjpeg -pix_fmt yuvj420p -q:v 2 -f mjpeg ref-64x48.mjpeg
ls -l ref-64x48.*
