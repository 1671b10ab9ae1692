// The rtcam viewer page: finds the device over MQTT, answers its standby offer, plays the
// stream, shows why nothing plays when nothing does, and sends the microphone on request.

import { loadSettings, newViewerId } from './settings.js';
import { Signaling } from './signaling.js';
import { Session } from './session.js';
import { StampReader } from './stamp.js';
import { StatsSampler, percentiles } from './stats.js';

const $ = (id) => document.getElementById(id);
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

class Viewer {
  constructor(settings) {
    this.settings = settings;
    this.viewerId = newViewerId();
    this.device = settings.device;
    this.status = null; // the device's retained status (null: none seen yet)
    this.offer = null; // the device's current standby offer (null: none)
    this.session = null; // the live Session, if any
    this.usedSessions = new Set(); // offers this page already answered (never answer twice)
    this.devices = new Map(); // device list: id -> status
    this.retryAt = 0;
    this.failures = 0;
    this.micTrack = null;
    this.latencies = [];
    this.lastStamp = null;
    this.stats = null;
    this.sampler = new StatsSampler();
    this.video = $('video');
    this.stampReader = new StampReader(this.video, (s) => this.onStamp(s));
    // What tests and curious users can read from the console.
    window.rtcamViewer = this;
  }

  // ---------------------------------------------------------------- start and stop

  start() {
    this.signaling = new Signaling(
      { ...this.settings, viewerId: this.viewerId },
      {
        connected: () => this.onBrokerUp(),
        disconnected: (why) => this.onBrokerDown(why),
        status: (device, json) => this.onStatus(device, json),
        offer: (device, json) => this.onOffer(device, json),
        session: (session, kind, json) => this.onSessionMessage(session, kind, json),
      },
    );
    this.show('info', `Connecting to the broker at ${this.settings.broker}…`);
    this.signaling.connect();
    this.statsTimer = setInterval(() => this.sampleStats(), 1000);
    this.retryTimer = setInterval(() => this.maybeAnswer(), 500);
  }

  /** Leaves the session (hangup) and the broker; used on unload and on settings changes. */
  stop(reason = 'left', urgent = false) {
    this.endSession(reason, true, urgent);
    clearInterval(this.statsTimer);
    clearInterval(this.retryTimer);
    // Not forced: the hangup just written still goes out before the socket closes.
    this.signaling?.client?.end(false);
  }

  // ---------------------------------------------------------------- broker

  onBrokerUp() {
    this.brokerUp = true;
    this.setBroker('connected', 'broker: connected');
    if (this.device) {
      this.signaling.watchDevice(this.device);
      if (this.session) this.signaling.joinSession(this.device, this.session.id);
      if (!this.session) this.show('info', `Waiting for ${this.device} to announce itself…`);
      // A device that ever ran leaves a retained status, which arrives at once: silence means
      // a wrong device id or prefix, or a device that never connected to this broker.
      clearTimeout(this.silenceTimer);
      this.silenceTimer = setTimeout(() => {
        if (!this.status && this.brokerUp) {
          this.show(
            'error',
            `${this.device} has not announced itself on this broker`,
            `No retained status on ${this.settings.prefix}/${this.device}/status. Check the device id and prefix, and that the device uses this broker. Waiting…`,
          );
        }
      }, 3000);
    } else {
      this.signaling.watchDevices();
      this.showDeviceList();
    }
  }

  onBrokerDown(why) {
    this.brokerUp = false;
    this.setBroker('down', 'broker: unreachable');
    if (!this.isPlaying()) {
      this.show(
        'error',
        `Broker unreachable at ${this.settings.broker}`,
        `${why}. Retrying every 2 s. Check the address, that the broker has a WebSocket listener, and the credentials.`,
      );
    }
  }

  // ---------------------------------------------------------------- device status and offer

  onStatus(device, json) {
    if (!this.device) {
      if (json) this.devices.set(device, json);
      else this.devices.delete(device);
      this.showDeviceList();
      return;
    }
    if (device !== this.device) return;
    this.status = json;
    this.renderStatus();
    if (!json || json.state !== 'online') {
      if (!this.isPlaying()) {
        this.show(
          'error',
          `${this.device} is offline`,
          json ? 'The camera will be shown as soon as it comes back.' : 'No status from this device yet: is the device id right?',
        );
      }
      return;
    }
    this.maybeAnswer();
  }

  onOffer(device, json) {
    if (device !== this.device) return;
    this.offer = json && json.type === 'offer' && json.session && json.sdp ? json : null;
    this.maybeAnswer();
  }

  renderStatus() {
    const s = this.status;
    const state = s?.state === 'online' ? 'online' : s ? 'offline' : 'unknown';
    $('device-state').dataset.state = state;
    $('device-state').textContent = state === 'unknown' ? 'no status' : state;
    const down = [];
    if (s?.sources?.video === 'unavailable') down.push('camera');
    if (s?.sources?.audio === 'unavailable') down.push('microphone');
    $('viewers').textContent =
      s?.state === 'online'
        ? `viewers ${s.viewers}/${s.max_viewers}${down.length ? ` · ${down.join(' and ')} unavailable, retrying` : ''}`
        : '';
    const talkback = s?.talkback !== false && s?.audio !== null;
    $('talk').disabled = !talkback;
    $('talk').title = talkback
      ? 'Send your microphone to the camera’s speaker'
      : 'This camera has no speaker configured (audio.playback_device) or no audio';
  }

  /** Answers the standby offer when idle, the device online, and any retry delay over. */
  maybeAnswer() {
    if (this.session || !this.device || !this.brokerUp) return;
    if (this.status?.state !== 'online') return;
    if (!this.offer || this.usedSessions.has(this.offer.session)) {
      if (this.status.viewers >= this.status.max_viewers) {
        this.show(
          'wait',
          `All ${this.status.max_viewers} viewer slots of ${this.device} are in use`,
          'You will be connected as soon as one frees up.',
        );
        this.state = 'full';
      } else if (this.state !== 'full' || !this.offer) {
        this.show('info', `Waiting for ${this.device}'s offer…`);
      }
      return;
    }
    if (Date.now() < this.retryAt) return;
    this.answer(this.offer).catch((e) => this.fail(`could not answer: ${e.message || e}`));
  }

  // ---------------------------------------------------------------- the session

  async answer(offer) {
    this.usedSessions.add(offer.session);
    this.state = 'answering';
    this.show('info', `Connecting to ${this.device}…`);
    const session = new Session(
      offer,
      { iceServers: this.settings.iceServers, micTrack: this.micTrack },
      {
        candidate: (init) =>
          this.signaling.candidate(this.device, session.id, init ?? { candidate: '' }),
        state: (s) => this.onPeerState(session, s),
        stream: (stream) => this.attach(stream),
      },
    );
    this.session = session;
    // Subscribe to the session before answering so no reply is missed (protocol step 3).
    this.signaling.joinSession(this.device, session.id);
    const sdp = await session.answer();
    if (this.session !== session) return;
    this.signaling.answer(this.device, session.id, sdp);
  }

  onSessionMessage(sessionId, kind, json) {
    const session = this.session;
    if (!session || session.id !== sessionId) return;
    if (kind === 'candidate/device') {
      session.addRemoteCandidate(json);
    } else if (kind === 'error' && json.viewer === this.viewerId) {
      this.onError(json);
    } else if (kind === 'hangup' && json.viewer === undefined) {
      // The device ended the session.
      this.endSession(null, false);
      this.failures += 1;
      this.scheduleRetry();
      this.show('wait', `${this.device} ended the session (${json.reason})`, 'Reconnecting…');
    }
  }

  onError(err) {
    this.endSession(null, false);
    if (err.code === 'taken') {
      // Someone else won the race for that offer: take the next one at once.
      this.show('info', 'Another viewer took that offer; waiting for the next one…');
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
      this.state = 'playing';
      this.failures = 0;
      this.hide();
      this.stampReader.start();
    } else if (state === 'failed') {
      this.endSession('ice_failed', true);
      this.failures += 1;
      this.scheduleRetry();
      this.show(
        'error',
        `No network path to ${this.device} (ICE failed)`,
        'The browser and the camera must reach each other directly (same LAN, no blocking firewall) or through a TURN server configured on the device. Retrying…',
      );
    } else if (state === 'disconnected') {
      this.show('wait', 'Connection interrupted', 'Waiting for the network to come back…');
    }
  }

  fail(message) {
    this.endSession('error', true);
    this.failures += 1;
    this.scheduleRetry();
    this.show('error', message, 'Retrying…');
  }

  scheduleRetry() {
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, this.failures - 1));
    this.retryAt = Date.now() + delay;
  }

  /** Closes the session; `reason` set means "tell the device" (a hangup). */
  endSession(reason, tellDevice, urgent = false) {
    const session = this.session;
    if (!session) return;
    this.session = null;
    this.state = 'idle';
    this.stampReader.stop();
    if (tellDevice && reason) this.signaling.hangup(this.device, session.id, reason, urgent);
    this.signaling.leaveSession(this.device, session.id);
    session.close();
    this.video.srcObject = null;
    this.stats = null;
    $('stats').textContent = '';
  }

  isPlaying() {
    return this.state === 'playing' && !!this.session;
  }

  attach(stream) {
    if (this.video.srcObject !== stream) this.video.srcObject = stream;
    this.video.play().catch(() => {
      // Autoplay is muted, so this only fails when the page is hidden; playback starts later.
    });
  }

  // ---------------------------------------------------------------- talkback

  async toggleTalk() {
    const button = $('talk');
    if (this.micTrack) {
      this.micTrack.stop();
      this.micTrack = null;
      await this.session?.setMic(null);
      button.setAttribute('aria-pressed', 'false');
      button.textContent = 'Talk';
      $('talk-live').hidden = true;
      return;
    }
    if (!navigator.mediaDevices?.getUserMedia) {
      this.toast(
        'Talkback needs a secure page: open the viewer over https:// or from http://localhost.',
      );
      return;
    }
    try {
      const media = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
      this.micTrack = media.getAudioTracks()[0];
    } catch (e) {
      this.toast(`Microphone unavailable: ${e.message || e.name}`);
      return;
    }
    await this.session?.setMic(this.micTrack);
    button.setAttribute('aria-pressed', 'true');
    button.textContent = 'Talking: click to stop';
    $('talk-live').hidden = false;
  }

  // ---------------------------------------------------------------- stats

  onStamp(s) {
    this.lastStamp = s;
    this.latencies.push(s.latencyMs);
    if (this.latencies.length > 300) this.latencies.splice(0, this.latencies.length - 300);
  }

  async sampleStats() {
    if (!this.session || this.session.closed) return;
    try {
      this.stats = await this.sampler.sample(this.session.pc);
    } catch {
      return;
    }
    const s = this.stats;
    const lat = percentiles(this.latencies.slice(-60));
    this.latency = lat;
    const fmt = (v, digits = 0, unit = '') => (v == null ? '—' : `${v.toFixed(digits)}${unit}`);
    const lines = [
      `resolution  ${s.width && s.height ? `${s.width}×${s.height}` : '—'}`,
      `fps         ${fmt(s.fps)}`,
      `bitrate     ${fmt(s.kbps, 0, ' kbit/s')}`,
      `rtt         ${fmt(s.rttMs, 1, ' ms')}`,
      `lost        ${s.packetsLost} packets`,
      `audio       ${s.audioPackets} packets`,
    ];
    if (this.lastStamp) {
      lines.push(`latency     p50 ${fmt(lat.p50, 0, ' ms')}  p95 ${fmt(lat.p95, 0, ' ms')}`);
      lines.push(`frame       #${this.lastStamp.frame}`);
    }
    $('stats').textContent = lines.join('\n');
  }

  // ---------------------------------------------------------------- page

  show(kind, message, detail = '') {
    const overlay = $('overlay');
    overlay.hidden = false;
    overlay.dataset.kind = kind;
    $('message').textContent = message;
    $('detail').textContent = detail;
    this.message = message;
  }

  hide() {
    $('overlay').hidden = true;
    this.message = '';
  }

  toast(text) {
    $('detail').textContent = text;
    $('overlay').hidden = false;
    setTimeout(() => {
      if (this.isPlaying()) this.hide();
    }, 4000);
  }

  setBroker(state, text) {
    $('broker-state').dataset.state = state;
    $('broker-state').textContent = text;
  }

  showDeviceList() {
    $('devices').hidden = false;
    const list = $('device-list');
    list.replaceChildren();
    for (const [id, status] of [...this.devices].sort()) {
      const a = document.createElement('a');
      const url = new URL(location.href);
      url.searchParams.set('device', id);
      a.href = url.toString();
      const name = document.createElement('strong');
      name.textContent = id;
      const state = document.createElement('span');
      state.className = 'detail';
      state.textContent =
        status.state === 'online'
          ? `online · ${status.video?.width}×${status.video?.height}@${status.video?.fps} · viewers ${status.viewers}/${status.max_viewers}`
          : 'offline';
      a.append(name, state);
      const li = document.createElement('li');
      li.append(a);
      list.append(li);
    }
    $('no-devices').hidden = this.devices.size > 0;
    this.show('info', 'Pick a camera', `Devices announced on ${this.settings.broker} under ${this.settings.prefix}/`);
  }
}

function fillSettingsForm(settings) {
  const form = $('settings');
  for (const key of ['broker', 'prefix', 'device', 'username', 'password']) {
    form.elements[key].value = settings[key] ?? '';
  }
}

async function main() {
  const settings = await loadSettings(location);
  fillSettingsForm(settings);
  $('device-name').textContent = settings.device || 'all devices';
  $('stats').hidden = !settings.stats;
  $('toggle-stats').setAttribute('aria-pressed', String(settings.stats));
  let viewer = new Viewer(settings);
  viewer.start();

  $('unmute').addEventListener('click', () => {
    const video = $('video');
    video.muted = !video.muted;
    $('unmute').textContent = video.muted ? 'Unmute' : 'Mute';
    video.play().catch(() => {});
  });
  $('talk').addEventListener('click', () => viewer.toggleTalk());
  $('toggle-stats').addEventListener('click', () => {
    const stats = $('stats');
    stats.hidden = !stats.hidden;
    $('toggle-stats').setAttribute('aria-pressed', String(!stats.hidden));
  });
  $('fullscreen').addEventListener('click', () => $('stage').requestFullscreen?.());
  $('leave').addEventListener('click', () => {
    if (viewer.device && (viewer.session || viewer.state !== 'left')) {
      viewer.stop('left');
      viewer.state = 'left';
      viewer.show('info', 'You left.', 'Reload the page to watch again.');
    }
  });
  $('settings').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const next = { ...settings };
    for (const [k, v] of form) next[k] = String(v).trim();
    // Keep the shareable part in the address; never the password.
    const url = new URL(location.href);
    for (const k of ['broker', 'prefix', 'device', 'username']) {
      if (next[k]) url.searchParams.set(k, next[k]);
      else url.searchParams.delete(k);
    }
    history.replaceState(null, '', url);
    viewer.stop('left');
    $('devices').hidden = true;
    $('device-name').textContent = next.device || 'all devices';
    Object.assign(settings, next);
    viewer = new Viewer(settings);
    viewer.start();
  });
  // Free the slot at once when the tab goes away (the device would notice within seconds).
  addEventListener('pagehide', () => viewer.stop('left', true));
}

main();
