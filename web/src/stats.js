// The numbers of the stats overlay: RTCPeerConnection.getStats() sampled once a second, and
// the capture → display latency read from the frame stamps (stamp.js).

/** Keeps the previous sample to turn counters into rates. */
export class StatsSampler {
  constructor() {
    this.prev = null;
  }

  /** Returns {width, height, fps, kbps, rttMs, packetsLost, audioPackets, framesDecoded}. */
  async sample(pc) {
    const report = await pc.getStats();
    let video = null;
    let audio = null;
    let pair = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
      else if (s.type === 'inbound-rtp' && s.kind === 'audio') audio = s;
      else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
    const now = performance.now();
    const bytes = (video?.bytesReceived ?? 0) + (audio?.bytesReceived ?? 0);
    let kbps = null;
    if (this.prev && now > this.prev.at) {
      kbps = ((bytes - this.prev.bytes) * 8) / (now - this.prev.at);
    }
    this.prev = { at: now, bytes };
    return {
      width: video?.frameWidth ?? null,
      height: video?.frameHeight ?? null,
      fps: video?.framesPerSecond ?? null,
      framesDecoded: video?.framesDecoded ?? 0,
      kbps,
      rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null,
      packetsLost: (video?.packetsLost ?? 0) + (audio?.packetsLost ?? 0),
      audioPackets: audio?.packetsReceived ?? 0,
    };
  }
}

/** Median and 95th percentile of a list of numbers (null when empty). */
export function percentiles(values) {
  if (!values.length) return { p50: null, p95: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p95: at(0.95) };
}

/** Latencies of the last 300 stamps read; the overlay summarises the last 60 of them. */
export class LatencyLog {
  constructor() {
    this.values = [];
    this.last = null; // the last stamp read: {frame, unixMs, latencyMs}
  }

  push(stamp) {
    this.last = stamp;
    this.values.push(stamp.latencyMs);
    if (this.values.length > 300) this.values.splice(0, this.values.length - 300);
  }

  summary() {
    return percentiles(this.values.slice(-60));
  }
}

/**
 * The text of the stats overlay from a sample, the latency summary, the last stamp and the
 * device's own numbers for this viewer (its `stats` message; absent from older devices).
 */
export function formatStats(s, latency, lastStamp, device) {
  const fmt = (v, digits = 0, unit = '') => (v == null ? '—' : `${v.toFixed(digits)}${unit}`);
  const lines = [
    `resolution  ${s.width && s.height ? `${s.width}×${s.height}` : '—'}`,
    `fps         ${fmt(s.fps)}`,
    `bitrate     ${fmt(s.kbps, 0, ' kbit/s')}`,
    `rtt         ${fmt(s.rttMs, 1, ' ms')}`,
    `lost        ${s.packetsLost} packets`,
    `audio       ${s.audioPackets} packets`,
  ];
  if (device && typeof device.target_kbps === 'number') {
    const thinned = device.layers && device.layers !== 'all' ? ` (${device.layers} of the pictures)` : '';
    lines.push(`device      ${fmt(device.target_kbps, 0, ' kbit/s')} at ${fmt(device.fps, 0, ' fps')}`);
    const queue = typeof device.queue_ms === 'number' ? `, queued ${fmt(device.queue_ms, 0, ' ms')}` : '';
    lines.push(`your link   ${fmt(device.estimate_kbps, 0, ' kbit/s')}, loss ${fmt(100 * (device.loss ?? 0), 0, ' %')}${queue}`);
    const second = typeof device.second_stream_kbps === 'number'
      ? ` (a second stream for your link, ${fmt(device.second_stream_kbps, 0, ' kbit/s')})`
      : '';
    lines.push(`you get     ${fmt(device.viewer_fps, 1, ' fps')}${thinned}${second}`);
  }
  // Only a synthetic (stamped) picture has these; a real camera's has not.
  if (lastStamp) {
    lines.push(`latency     p50 ${fmt(latency.p50, 0, ' ms')}  p95 ${fmt(latency.p95, 0, ' ms')}`);
    lines.push(`frame       #${lastStamp.frame}`);
  }
  return lines.join('\n');
}
