// The page's one back-off. After a failed session (refused, ICE failed, ended by the device)
// the next offer is answered only once the delay is over: 1 s, then doubling up to 15 s, so a
// broken path does not hammer the device; a session that connects starts over at 1 s.
// The broker connection is not backed off here: mqtt.js reconnects on its own (signaling.js).

export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 15000;

export class Backoff {
  constructor(minMs = RETRY_MIN_MS, maxMs = RETRY_MAX_MS) {
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.failures = 0;
    this.until = 0; // Date.now() before which nothing is tried
  }

  /** Counts one more failure and returns the delay before the next attempt. */
  fail(now = Date.now()) {
    this.failures += 1;
    const delay = Math.min(this.maxMs, this.minMs * 2 ** Math.max(0, this.failures - 1));
    this.until = now + delay;
    return delay;
  }

  /** A success: the next failure waits the shortest delay again. */
  reset() {
    this.failures = 0;
  }

  /** Whether the delay after the last failure is still running. */
  waiting(now = Date.now()) {
    return now < this.until;
  }
}
