// The re-join after a lost path (Wi-Fi to 4G): the watch over the playing session
// (watchdog.js), and the bookkeeping of a recovery: how many re-joins, whether the next answer
// may skip the back-off, how long until frames flowed again; and the re-join itself (hang
// up, check the broker link, answer the standby offer). The clock is injected:
// tests/rejoin.test.mjs uses a fake one.

import { inboundVideo } from './stats.js';
import { PathWatch } from './watchdog.js';

/** How long after a lost path the overlay keeps saying "Reconnecting…" over other news. */
export const REJOIN_NOTICE_MS = 10_000;

export class Rejoin {
  constructor(clock = () => performance.now(), timers = globalThis) {
    this.clock = clock;
    this.timers = timers;
    this.watch = null; // the playing session's PathWatch
    this.pending = null; // from a lost path until frames flow: {reason, since, fast}
    this.count = 0; // re-joins after a lost path
    this.lastRecoveryMs = null; // the last recovery: detection to frames flowing again
  }

  /**
   * Watches the peer connection `pc` of the session that started playing, instead of any
   * earlier one, until unwatch(): `on.quiet()` when its video paused, `on.lost(reason)` once
   * it stalled; `expected()` says whether the device sends video at all right now. Its first
   * frames end a recovery.
   */
  watchSession(pc, expected, on) {
    this.unwatch();
    this.watch = new PathWatch(
      async () => inboundVideo(await pc.getStats()),
      { sample: (video) => this.framesDecoded(video?.frames), quiet: on.quiet, lost: on.lost },
      { expected, clock: this.clock, timers: this.timers },
    );
    this.watch.start();
  }

  unwatch() {
    this.watch?.stop();
    this.watch = null;
  }

  /** A playing session's path died. A recovery still under way keeps counting from its start. */
  lost(reason) {
    this.pending = { reason, since: this.pending?.since ?? this.clock(), fast: true };
    this.count += 1;
  }

  /** Whether the answer about to go out skips the back-off: only the first after a lost path. */
  get fast() {
    return !!this.pending?.fast;
  }

  /** An answer goes out: any later attempt waits for the back-off as usual. */
  answered() {
    if (this.pending) this.pending.fast = false;
  }

  /**
   * `frames` decoded so far by the watched session: the first frames after a lost path end
   * the recovery, and its duration is logged.
   */
  framesDecoded(frames) {
    if (!this.pending || !(frames > 0)) return;
    this.lastRecoveryMs = Math.round(this.clock() - this.pending.since);
    this.pending = null;
    console.info(`rtcam: path recovered in ${this.lastRecoveryMs} ms`);
  }

  /** Whether the overlay still says "Reconnecting…" rather than other news. */
  get showing() {
    return !!this.pending && this.clock() - this.pending.since < REJOIN_NOTICE_MS;
  }

  /** The viewer stops: no watch, no recovery. */
  clear() {
    this.unwatch();
    this.pending = null;
  }
}

/**
 * The `viewer`'s playing session's path died (`why`: 'disconnected', 'failed' or
 * 'no_media'): hang up at once, so the device frees the slot now rather than after its own
 * ICE timeout, and answer the device's standby offer without the back-off. The hangup is
 * QoS 1: should the broker connection have died with the path, it is sent again after the
 * reconnect.
 */
export function rejoinAfterLostPath(viewer, session, why) {
  if (session !== viewer.session || viewer.state !== 'playing' || viewer.stopped) return;
  viewer.rejoin.lost(why);
  console.info(`rtcam: path to ${viewer.device} lost (${why}); re-joining`);
  viewer.endSession('path_lost', true);
  viewer.ui.reconnecting(viewer.device);
  // The broker connection may have died too: answer once it is known to work.
  viewer.checkingLink = true;
  viewer.signaling.checkLink().then((alive) => {
    viewer.checkingLink = false;
    if (viewer.stopped) return;
    // Not alive: mqtt.js is reconnecting, and onBrokerUp's fresh status and offer answer.
    if (alive) viewer.maybeAnswer();
    else viewer.brokerUp = false;
  });
}
