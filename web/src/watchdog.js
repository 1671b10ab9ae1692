// Notices that the playing session's network path died (Wi-Fi to 4G, a NAT that dropped its
// mapping) long before ICE gives up: the connection state going 'disconnected' or 'failed',
// or the inbound video's bytes not growing for STALL_MS. The viewer then hangs up and answers
// the device's standby offer at once (viewer.js). No DOM and no WebRTC here: the counters come
// through a function and the timer and clock are injected, so tests/watchdog.test.mjs drives
// it with fakes.

/** How often a playing session's counters are read. */
export const SAMPLE_EVERY_MS = 250;
/** Inbound video that has not grown for this long means the path is gone. */
export const STALL_MS = 1500;
/** Quiet this long: maybe gone, time to check the rest of the way (the broker link) early. */
export const QUIET_MS = 500;

/** The connection states that end a playing session's path, as the re-join's reason; or null. */
export function lostByState(state) {
  return state === 'disconnected' || state === 'failed' ? state : null;
}

/**
 * Whether the inbound video stalled. Armed by the first growth of its bytes: a session whose
 * video never started has not lost a path (ICE failing or the device's connect timeout say
 * what went wrong there). Once armed, `sample` returns 'quiet' once per pause, when the bytes
 * have not grown for `quietMs`, and 'stalled' once, when not for `stallMs`; else null.
 */
export class MediaStall {
  constructor(stallMs = STALL_MS, quietMs = QUIET_MS) {
    this.stallMs = stallMs;
    this.quietMs = quietMs;
    this.bytes = null; // bytesReceived last seen
    this.grewAt = null; // when they last grew (null: not armed)
    this.quiet = false; // 'quiet' said for this pause
    this.fired = false;
  }

  /**
   * One sample at `now` (ms) of `bytes` (null: no inbound video reported). `expected` is false
   * while the device says its camera is unavailable: no video is then no news about the path,
   * and the next growth arms again.
   */
  sample(now, bytes, expected = true) {
    if (this.fired) return null;
    if (bytes != null) {
      if (bytes > (this.bytes ?? 0)) {
        this.grewAt = now;
        this.quiet = false;
      }
      this.bytes = bytes;
    }
    if (!expected) this.grewAt = null;
    const still = this.grewAt === null ? 0 : now - this.grewAt;
    if (still >= this.stallMs) {
      this.fired = true;
      return 'stalled';
    }
    if (still < this.quietMs || this.quiet) return null;
    this.quiet = true;
    return 'quiet';
  }
}

/**
 * The watch over one playing session: every `every` ms reads the inbound video's counters
 * (`read`: async, {bytes, frames} or null), hands each reading to `on.sample(counters)`,
 * calls `on.quiet()` when they paused for QUIET_MS, and `on.lost('no_media')` once when
 * they stalled, then stops. One timer per watch, one read at a time (a slow getStats skips
 * ticks instead of piling them up), nothing at all after stop().
 */
export class PathWatch {
  /**
   * @param {Function} read  async () => {bytes, frames} | null
   * @param {object}   on    callbacks: sample(counters | null), quiet(), lost(reason)
   * @param {object}   opts  {every, stallMs, quietMs, expected: () => bool (video expected now),
   *                         clock: () => ms, timers: {setInterval, clearInterval}}
   */
  constructor(read, on, opts = {}) {
    this.read = read;
    this.on = on;
    this.every = opts.every ?? SAMPLE_EVERY_MS;
    this.expected = opts.expected ?? (() => true);
    this.clock = opts.clock ?? (() => performance.now());
    this.timers = opts.timers ?? globalThis;
    this.stall = new MediaStall(opts.stallMs ?? STALL_MS, opts.quietMs ?? QUIET_MS);
    this.timer = null;
    this.reading = false;
    this.stopped = false;
  }

  /** Starts the timer; a second start, or one after stop(), does nothing. */
  start() {
    if (this.timer !== null || this.stopped) return;
    this.timer = this.timers.setInterval(() => this.tick(), this.every);
  }

  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearInterval(this.timer);
    this.timer = null;
  }

  get running() {
    return this.timer !== null;
  }

  async tick() {
    if (this.reading || this.stopped) return;
    this.reading = true;
    let counters = null;
    try {
      counters = await this.read();
    } catch {
      counters = null; // a closing peer connection: the next tick, or stop(), follows
    } finally {
      this.reading = false;
    }
    if (this.stopped) return;
    this.on.sample?.(counters);
    if (this.stopped) return;
    const news = this.stall.sample(this.clock(), counters?.bytes ?? null, this.expected());
    if (news === 'quiet') {
      this.on.quiet?.();
    } else if (news === 'stalled') {
      this.stop();
      this.on.lost('no_media');
    }
  }
}
