// The viewer's state machine: finds the device over MQTT, answers its standby offer, plays
// the stream, says why nothing plays when nothing does, and retries after the back-off. When
// the playing session's network path dies (watchdog.js) it re-joins at once: hangs up and
// answers the device's next standby offer without the back-off.
// It believes only the configured device (trust.js). What it shows goes through ui.js; the
// microphone is talkback.js's, opened by the Talk button (talkbutton.js) only once the user
// said yes (consent.js).

import { newViewerId } from './settings.js';
import { BROKER_RETRY_MS, Signaling } from './signaling.js';
import { Session } from './session.js';
import { JoinTimes, StampReader } from './stamp.js';
import { LatencyLog, StatsSampler, formatStats } from './stats.js';
import { Backoff } from './backoff.js';
import { Talkback } from './talkback.js';
import { switchTalk } from './talkbutton.js';
import { Rejoin, rejoinAfterLostPath } from './rejoin.js';
import { lostByState } from './watchdog.js';
import {
  copyIceServers,
  offerProblem,
  rootProblem,
  sessionMessageProblem,
  statusProblem,
} from './trust.js';
import { $, Ui } from './ui.js';

export class Viewer {
  /** @param {MicConsent} consent the page's microphone consent (consent.js), kept across viewers */
  constructor(settings, consent) {
    this.settings = settings;
    this.consent = consent;
    this.viewerId = newViewerId();
    this.device = settings.device;
    this.stopped = false; // set by stop(): the connection's late events are ignored
    this.status = null; // the device's retained status (null: none seen yet)
    this.offer = null; // the device's current standby offer (null: none)
    this.session = null; // the live Session, if any
    this.usedSessions = new Set(); // offers this page already answered (never answer twice)
    this.devices = new Map(); // device list: id -> status
    this.retry = new Backoff();
    this.talkback = new Talkback(() => this.session);
    this.ui = new Ui();
    this.latencies = new LatencyLog();
    this.latency = undefined; // {p50, p95} of the last stamps, once stats were sampled
    this.stats = null; // the last StatsSampler sample of the live session
    this.deviceStats = null; // the device's last `stats` message for the live session
    this.sampler = new StatsSampler();
    this.rejoin = new Rejoin(); // the watch over the playing session; re-joins after a lost path
    this.checkingLink = false; // after a lost path: answering waits for the broker link check
    this.video = $('video');
    this.stampReader = new StampReader(this.video, (s) => this.latencies.push(s));
    this.joinTimes = new JoinTimes(this.video); // answer → first picture of each session
    // What tests and curious users can read from the console.
    window.rtcamViewer = this;
  }

  /** The overlay's main line (read by web/tests/browser.mjs). */
  get message() {
    return this.ui.message;
  }

  /** Re-joins after a lost path, and the last recovery's ms until frames flowed (for tests). */
  get rejoins() {
    return this.rejoin.count;
  }

  get lastRecoveryMs() {
    return this.rejoin.lastRecoveryMs;
  }

  // ---------------------------------------------------------------- start and stop

  start() {
    const problem = rootProblem(this.settings.prefix, this.device);
    if (problem) {
      this.stopped = true;
      this.ui.badSettings(problem);
      return;
    }
    this.signaling = new Signaling(
      { ...this.settings, viewerId: this.viewerId },
      {
        // A stopped viewer (Leave, new settings, page hidden) ignores its old connection:
        // mqtt.js still reports the close and late messages.
        connected: () => this.stopped || this.onBrokerUp(),
        disconnected: (why) => this.stopped || this.onBrokerDown(why),
        status: (device, json) => this.stopped || this.onStatus(device, json),
        offer: (device, json) => this.stopped || this.onOffer(device, json),
        session: (session, kind, json) =>
          this.stopped || this.onSessionMessage(session, kind, json),
      },
    );
    this.ui.connectingToBroker(this.settings.broker);
    this.signaling.connect();
    this.statsTimer = setInterval(() => this.sampleStats(), 1000);
    this.retryTimer = setInterval(() => this.maybeAnswer(), 500);
  }

  /** Leaves the session (hangup) and the broker; used on unload and on settings changes. */
  stop(reason = 'left', urgent = false) {
    this.endSession(reason, true, urgent);
    this.stopped = true;
    this.rejoin.clear();
    // The microphone goes with the viewer: a question still open is answered "no".
    this.consent.dismiss();
    if (this.talkback.live) {
      this.talkback.stop();
      this.ui.setTalking(false);
    }
    clearTimeout(this.silenceTimer);
    clearInterval(this.statsTimer);
    clearInterval(this.retryTimer);
    // Not forced: the hangup just written still goes out before the socket closes.
    this.signaling?.client?.end(false);
  }

  /** The Leave button: hang up and stay idle until the page is reloaded. */
  leave() {
    if (this.device && (this.session || this.state !== 'left')) {
      this.stop('left');
      this.state = 'left';
      this.ui.left();
    }
  }

  // ---------------------------------------------------------------- broker

  onBrokerUp() {
    this.brokerUp = true;
    this.ui.setBroker(true);
    if (this.device) {
      this.signaling.watchDevice(this.device);
      if (this.session) this.signaling.joinSession(this.device, this.session.id);
      if (!this.session && !this.rejoin.showing) this.ui.waitingForStatus(this.device);
      // A device that ever ran leaves a retained status, which arrives at once: silence means
      // a wrong device id or prefix, or a device that never connected to this broker.
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => {
        if (!this.status && this.brokerUp) this.ui.neverAnnounced(this.device, this.settings.prefix);
      }, 3000);
    } else {
      this.signaling.watchDevices();
      this.ui.showDeviceList(this.devices, this.settings);
    }
  }

  onBrokerDown(why) {
    this.brokerUp = false;
    this.ui.setBroker(false);
    if (!this.isPlaying() && !this.rejoin.showing) {
      this.ui.brokerDown(this.settings.broker, why, BROKER_RETRY_MS);
    }
  }

  // ---------------------------------------------------------------- device status and offer

  onStatus(device, json) {
    const problem = json === null ? null : statusProblem(json);
    if (problem) {
      console.warn(`rtcam: ignoring a status from ${device}: ${problem}`);
      return;
    }
    if (!this.device) {
      if (json) this.devices.set(device, json);
      else this.devices.delete(device);
      this.ui.showDeviceList(this.devices, this.settings);
      return;
    }
    if (device !== this.device) return;
    this.status = json;
    this.ui.renderStatus(json);
    if (!json || json.state !== 'online') {
      if (!this.isPlaying()) this.ui.offline(this.device, json);
      return;
    }
    this.maybeAnswer();
  }

  onOffer(device, json) {
    if (device !== this.device) return;
    const problem = json === null ? null : offerProblem(json);
    if (problem) {
      // Dropped, not taken as "no offer": the one held (if any) stays.
      console.warn(`rtcam: ignoring an offer from ${device}: ${problem}`);
      return;
    }
    const offer = json && { session: json.session, type: 'offer', sdp: json.sdp };
    if (offer && json.ice_servers) offer.ice_servers = copyIceServers(json.ice_servers);
    if (offer && offer.session === this.offer?.session) {
      // The same standby offer again: fresh TURN credentials (rtcam 0.5), or a broker reconnect.
      this.offer.ice_servers = offer.ice_servers;
    } else {
      this.offer = offer;
    }
    this.maybeAnswer();
  }

  /**
   * Answers the standby offer when idle, the device online, and any retry delay over (a
   * re-join after a lost path does not wait for it).
   */
  maybeAnswer() {
    if (this.session || !this.device || !this.brokerUp || this.checkingLink) return;
    if (this.status?.state !== 'online') return;
    if (!this.offer || this.usedSessions.has(this.offer.session)) {
      if (this.rejoin.showing) {
        // Our old slot may still count until the device reads the hangup.
        this.ui.reconnecting(this.device);
      } else if (this.status.viewers >= this.status.max_viewers) {
        this.ui.full(this.device, this.status.max_viewers);
        this.state = 'full';
      } else if (this.state !== 'full' || !this.offer) {
        this.ui.waitingForOffer(this.device);
      }
      return;
    }
    if (!this.rejoin.fast && this.retry.waiting()) return;
    this.answer(this.offer).catch((e) => this.fail(`could not answer: ${e.message || e}`));
  }

  // ---------------------------------------------------------------- the session

  async answer(offer) {
    this.usedSessions.add(offer.session);
    this.state = 'answering';
    if (this.rejoin.showing) this.ui.reconnecting(this.device);
    else this.ui.connecting(this.device);
    // Only the first attempt after a lost path skips the back-off.
    this.rejoin.answered();
    const session = new Session(
      offer,
      {
        // The page's own servers (config.json, ?ice=), then the device's (rtcam 0.5).
        iceServers: [...this.settings.iceServers, ...(offer.ice_servers ?? [])],
        iceTransportPolicy: this.settings.relay ? 'relay' : 'all',
        micTrack: this.talkback.track,
        lowDelay: this.settings.lowDelay,
      },
      {
        candidate: (init) =>
          this.signaling.candidate(this.device, session.id, init ?? { candidate: '' }),
        state: (s) => this.onPeerState(session, s),
        stream: (stream) => this.attach(stream, session),
      },
    );
    this.session = session;
    // Subscribe to the session before answering so no reply is missed (protocol step 3).
    this.signaling.joinSession(this.device, session.id);
    const sdp = await session.answer();
    if (this.session !== session) return;
    this.signaling.answer(this.device, session.id, sdp);
    session.answeredAt = performance.now();
  }

  onSessionMessage(sessionId, kind, json) {
    const session = this.session;
    if (!session || session.id !== sessionId) {
      // Late news of a session this page had is normal; of any other, not.
      if (!this.usedSessions.has(sessionId)) {
        console.warn(`rtcam: ignoring ${kind} of session ${sessionId}, not this page's`);
      }
      return;
    }
    const problem = sessionMessageProblem(kind, json, this.viewerId);
    if (problem) {
      console.warn(`rtcam: ignoring the device's ${kind} in session ${sessionId}: ${problem}`);
      return;
    }
    if (kind === 'candidate/device') {
      session.addRemoteCandidate(json);
    } else if (kind === 'error' && json.viewer === this.viewerId) {
      this.onError(json);
    } else if (kind === 'stats') {
      // The device's own numbers for this viewer (docs/protocol.md, rtcam 0.3).
      this.deviceStats = json;
    } else if (kind === 'hangup' && json.viewer === undefined) {
      // The device ended the session.
      this.endSession(null, false);
      this.retry.fail();
      this.ui.endedByDevice(this.device, json.reason);
    }
  }

  onError(err) {
    this.endSession(null, false);
    if (err.code === 'taken') {
      // Someone else won the race for that offer: take the next one at once.
      this.ui.offerTaken();
      this.maybeAnswer();
    } else if (err.code === 'full') {
      this.state = 'full';
      this.maybeAnswer();
    } else {
      this.fail(`${this.device} refused the session (${err.code}): ${err.message}`);
    }
  }

  onPeerState(session, state) {
    if (session !== this.session) return;
    if (state === 'connected') {
      if (this.state !== 'playing') {
        // A camera the device reports unavailable sends nothing: no news of the path.
        const expected = () => this.status?.sources?.video !== 'unavailable';
        this.rejoin.watchSession(session.pc, expected, {
          // Paused video may be a moved network: find out now whether the broker link
          // survived, so a re-join does not wait for that (Signaling.checkLink).
          quiet: () => this.signaling.checkLink(),
          lost: (why) => rejoinAfterLostPath(this, session, why),
        });
      }
      this.state = 'playing';
      this.retry.reset();
      this.ui.hide();
      this.stampReader.start();
    } else if (this.state === 'playing' && lostByState(state)) {
      rejoinAfterLostPath(this, session, state);
    } else if (state === 'failed') {
      // A session that never played: no path at all, retried after the back-off.
      this.endSession('ice_failed', true);
      this.retry.fail();
      this.ui.iceFailed(this.device);
    } else if (state === 'disconnected') {
      this.ui.interrupted();
    }
  }

  fail(message) {
    this.endSession('error', true);
    this.retry.fail();
    this.ui.failed(message);
  }

  /** Closes the session; `reason` set means "tell the device" (a hangup). */
  endSession(reason, tellDevice, urgent = false) {
    const session = this.session;
    if (!session) return;
    this.session = null;
    this.state = 'idle';
    this.rejoin.unwatch();
    this.stampReader.stop();
    if (tellDevice && reason) this.signaling.hangup(this.device, session.id, reason, urgent);
    this.signaling.leaveSession(this.device, session.id);
    session.close();
    this.video.srcObject = null;
    this.stats = null;
    this.deviceStats = null;
    this.ui.setStats('');
  }

  isPlaying() {
    return this.state === 'playing' && !!this.session;
  }

  attach(stream, session) {
    if (this.video.srcObject !== stream) {
      this.video.srcObject = stream;
      this.joinTimes.watch(session, () => this.session === session);
    }
    this.video.play().catch(() => {
      // Autoplay is muted, so this only fails when the page is hidden; playback starts later.
    });
  }

  // ---------------------------------------------------------------- talkback and stats

  /** The Talk button. One press at a time: a second one while asking or opening is ignored. */
  async toggleTalk() {
    if (this.stopped || this.talkBusy) return;
    this.talkBusy = true;
    try {
      await switchTalk(this);
    } finally {
      this.talkBusy = false;
    }
  }

  async sampleStats() {
    const session = this.session;
    if (!session || session.closed) return;
    let stats;
    try {
      stats = await this.sampler.sample(session.pc);
    } catch {
      return;
    }
    if (session !== this.session) return; // ended meanwhile: not the live session's numbers
    this.stats = stats;
    this.latency = this.latencies.summary();
    this.ui.setStats(
      formatStats(this.stats, this.latency, this.latencies.last, this.deviceStats, this.joinTimes.last()),
    );
  }
}
