// The numbers of the stats overlay: RTCPeerConnection.getStats() sampled once a second, and
// the capture → display latency read from the frame stamps (stamp.js).

/**
 * The inbound video's counters in a getStats() report, {bytes, frames} (bytesReceived,
 * framesDecoded), or null before the browser reports any (watchdog.js reads these).
 */
export function inboundVideo(report) {
  let video = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
  });
  return video && { bytes: video.bytesReceived ?? 0, frames: video.framesDecoded ?? 0 };
}

/**
 * The candidate pair carrying the media: the one the transport names as selected, else
 * (browsers without selectedCandidatePairId) one nominated and succeeded. Null before any.
 */
export function selectedPair(report) {
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair ??= report.get(s.selectedCandidatePairId);
  });
  report.forEach((s) => {
    if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair ??= s;
  });
  return pair ?? null;
}

/**
 * How the media travels: the selected pair's candidate types, {local, remote}, each 'host',
 * 'srflx', 'prflx' or 'relay' (local: this browser's end; remote: the device's), or null.
 */
export function pairTypes(report, pair = selectedPair(report)) {
  if (!pair) return null;
  const type = (id) => report.get(id)?.candidateType ?? null;
  return { local: type(pair.localCandidateId), remote: type(pair.remoteCandidateId) };
}

/** Keeps the previous sample to turn counters into rates. */
export class StatsSampler {
  constructor() {
    this.prev = null;
  }

  /**
   * Returns {width, height, fps, kbps, rttMs, packetsLost, audioPackets, framesDecoded, pair}
   * (pair: pairTypes, e.g. {local: 'relay', remote: 'srflx'}).
   */
  async sample(pc) {
    const report = await pc.getStats();
    let video = null;
    let audio = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
      else if (s.type === 'inbound-rtp' && s.kind === 'audio') audio = s;
    });
    const pair = selectedPair(report);
    const now = performance.now();
    const bytes = (video?.bytesReceived ?? 0) + (audio?.bytesReceived ?? 0);
    let kbps = null;
    // Fewer bytes than before: a new session (after a re-join) counts from zero again.
    if (this.prev && now > this.prev.at && bytes >= this.prev.bytes) {
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
      pair: pairTypes(report, pair),
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

const KEPT = 300;
const keep = (list, v) => {
  list.push(v);
  if (list.length > KEPT) list.splice(0, list.length - KEPT);
};

/**
 * Latencies of the last 300 stamps read (capture → display in `values`; capture → received,
 * capture → handed to the compositor and decode times in `received`, `presented` and
 * `decode`, where the browser reports them); the overlay
 * summarises the last 60 of them.
 */
export class LatencyLog {
  constructor() {
    this.values = [];
    this.received = [];
    this.presented = [];
    this.decode = [];
    this.last = null; // the last stamp read: {frame, unixMs, latencyMs, receivedMs, presentedMs, decodeMs}
  }

  push(stamp) {
    this.last = stamp;
    keep(this.values, stamp.latencyMs);
    if (stamp.receivedMs != null) keep(this.received, stamp.receivedMs);
    if (stamp.presentedMs != null) keep(this.presented, stamp.presentedMs);
    if (stamp.decodeMs != null) keep(this.decode, stamp.decodeMs);
  }

  /** {p50, p95} of capture → display, and `receivedP50` when known. */
  summary() {
    const s = percentiles(this.values.slice(-60));
    const r = this.received.length ? percentiles(this.received.slice(-60)) : null;
    return { ...s, receivedP50: r ? r.p50 : null };
  }
}

/**
 * The text of the stats overlay from a sample, the latency summary, the last stamp and the
 * device's own numbers for this viewer (its `stats` message; absent from older devices) and
 * how long the session took from the answer to its first picture (ms, once known).
 */
export function formatStats(s, latency, lastStamp, device, joinMs) {
  const fmt = (v, digits = 0, unit = '') => (v == null ? '—' : `${v.toFixed(digits)}${unit}`);
  const lines = [
    `resolution  ${s.width && s.height ? `${s.width}×${s.height}` : '—'}`,
    `fps         ${fmt(s.fps)}`,
    `bitrate     ${fmt(s.kbps, 0, ' kbit/s')}`,
    `rtt         ${fmt(s.rttMs, 1, ' ms')}`,
    `lost        ${s.packetsLost} packets`,
    `audio       ${s.audioPackets} packets`,
  ];
  // This browser's end of the path first: "via relay" is through a TURN server.
  if (s.pair) lines.push(`path        via ${s.pair.local ?? '—'}, camera ${s.pair.remote ?? '—'}`);
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
  if (joinMs != null) lines.push(`joined      first picture ${fmt(joinMs, 0, ' ms')} after the answer`);
  // Only a synthetic (stamped) picture has these; a real camera's has not.
  if (lastStamp) {
    const received = latency.receivedP50 != null ? `  (received ${fmt(latency.receivedP50, 0, ' ms')})` : '';
    lines.push(`latency     p50 ${fmt(latency.p50, 0, ' ms')}  p95 ${fmt(latency.p95, 0, ' ms')}${received}`);
    lines.push(`frame       #${lastStamp.frame}`);
  }
  return lines.join('\n');
}
