// Reads the frame stamp that rtcam's synthetic camera draws at the top of every picture
// (src/capture/stamp.rs): 3 rows of 32 black/white blocks, each row 16 pixels high at the
// source size; MSB first: 32-bit frame number, 48-bit Unix milliseconds, CRC-16/CCITT-FALSE
// over the 10 preceding bytes. A picture without a valid CRC carries no stamp (a real camera).

const BITS_PER_ROW = 32;
const ROWS = 3;
const BLOCK_HEIGHT = 16;

function crc16(bytes) {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/**
 * Decodes a stamp from RGBA pixels of the top strip of a picture.
 * `rgba` is `width * height` pixels where `height` covers the 3 block rows.
 * Returns `{frame, unixMs}` or null when there is no valid stamp.
 */
export function decodeStamp(rgba, width, height) {
  const rowHeight = height / ROWS;
  const blockWidth = Math.floor(width / BITS_PER_ROW);
  if (blockWidth < 2 || rowHeight < 2) return null;
  const bytes = new Uint8Array(12);
  for (let row = 0; row < ROWS; row++) {
    const y = Math.floor(row * rowHeight + rowHeight / 2);
    for (let bit = 0; bit < BITS_PER_ROW; bit++) {
      const x = Math.floor(bit * blockWidth + blockWidth / 2);
      const i = (y * width + x) * 4;
      const luma = 0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2];
      if (luma > 128) {
        const index = row * BITS_PER_ROW + bit;
        bytes[index >> 3] |= 0x80 >> (index & 7);
      }
    }
  }
  const crc = (bytes[10] << 8) | bytes[11];
  if (crc16(bytes.subarray(0, 10)) !== crc) return null;
  const frame = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  let unixMs = 0;
  for (let i = 4; i < 10; i++) unixMs = unixMs * 256 + bytes[i];
  return { frame, unixMs };
}

/**
 * Watches a <video> and reports, per presented frame, the stamp and the capture → display
 * latency (display clock minus the device's capture clock: meaningful when both clocks agree,
 * as in the demo on one machine, or with NTP-synchronised clocks); where the browser says
 * (Chromium), also capture → received (the frame's last packet) and its decode time.
 */
export class StampReader {
  constructor(video, onStamp) {
    this.video = video;
    this.onStamp = onStamp;
    this.canvas = document.createElement('canvas');
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    this.running = false;
  }

  start() {
    if (this.running || !('requestVideoFrameCallback' in HTMLVideoElement.prototype)) return;
    this.running = true;
    const tick = (_now, meta) => {
      if (!this.running) return;
      this.read(meta);
      this.video.requestVideoFrameCallback(tick);
    };
    this.video.requestVideoFrameCallback(tick);
  }

  stop() {
    this.running = false;
  }

  read(meta) {
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    if (!w || !h) return;
    // The stamp rows are 16 px high at the source size, which is usually the video's
    // intrinsic size: read the strip 1:1 so the blocks stay crisp. A device short of
    // bandwidth may send half-size pictures (its second stream): then the rows are 8 px.
    const stamp = this.decodeStrip(w, ROWS * BLOCK_HEIGHT) ?? this.decodeStrip(w, (ROWS * BLOCK_HEIGHT) / 2);
    if (stamp) {
      // `expectedDisplayTime` is when the compositor shows the frame, `presentationTime` when
      // it was handed to the compositor, `receiveTime` when its last packet arrived
      // (performance clock), `processingDuration` its decode (seconds).
      const shownAt = meta?.expectedDisplayTime
        ? performance.timeOrigin + meta.expectedDisplayTime
        : Date.now();
      const since = (t) => (t ? performance.timeOrigin + t - stamp.unixMs : null);
      const receivedMs = since(meta?.receiveTime);
      const presentedMs = since(meta?.presentationTime);
      const decodeMs = typeof meta?.processingDuration === 'number' ? meta.processingDuration * 1000 : null;
      this.onStamp({ ...stamp, latencyMs: shownAt - stamp.unixMs, receivedMs, presentedMs, decodeMs });
    }
  }

  /** The stamp in the top `strip` rows of a `w`-wide picture, or null. */
  decodeStrip(w, strip) {
    if (this.canvas.width !== w || this.canvas.height !== strip) {
      this.canvas.width = w;
      this.canvas.height = strip;
    }
    this.ctx.drawImage(this.video, 0, 0, w, strip, 0, 0, w, strip);
    return decodeStamp(this.ctx.getImageData(0, 0, w, strip).data, w, strip);
  }
}

/**
 * How long each session took from its answer to its first picture handed to the compositor
 * (`presentationTime`: decoded), ms, for the last 50 sessions.
 */
export class JoinTimes {
  constructor(video) {
    this.video = video;
    this.values = [];
  }

  /** Times `session` (from its `answeredAt`) at its first picture, while `current()` holds. */
  watch(session, current) {
    if (!('requestVideoFrameCallback' in HTMLVideoElement.prototype)) return;
    this.video.requestVideoFrameCallback((now, meta) => {
      if (!current() || session.answeredAt == null) return;
      this.values.push((meta?.presentationTime ?? now) - session.answeredAt);
      if (this.values.length > 50) this.values.shift();
    });
  }

  last() {
    return this.values.at(-1);
  }
}
