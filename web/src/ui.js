// What the viewer writes into the page: the overlay messages (every sentence the user reads
// about the connection is here), the header (whom the page talks to, badges), the device
// list, the stats box, the talk button and the controls' status line. Knows the DOM ids,
// nothing about MQTT or WebRTC.

import { brokerHost, deviceName } from './trust.js';

export const $ = (id) => document.getElementById(id);

export class Ui {
  constructor() {
    this.message = ''; // the overlay's main line, also read by the browser test
  }

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

  /** A passing note in the controls' status line (#notice), gone after 8 s. */
  notice(text) {
    const line = $('notice');
    line.textContent = text;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      if (line.textContent === text) line.textContent = '';
    }, 8000);
  }

  // ---------------------------------------------------------------- what the overlay says

  /** Settings that name no device's topics (trust.js rootProblem): nothing is connected. */
  badSettings(problem) {
    this.show('error', `Not connecting: ${problem}`, 'Fix it in the connection settings below.');
  }

  connectingToBroker(broker) {
    this.show('info', `Connecting to the broker at ${broker}…`);
  }

  /** `retryMs`: mqtt.js's fixed reconnect period (signaling.js). */
  brokerDown(broker, why, retryMs) {
    this.show(
      'error',
      `Broker unreachable at ${broker}`,
      `${why}. Retrying every ${retryMs / 1000} s. Check the address, that the broker has a WebSocket listener, and the credentials.`,
    );
  }

  waitingForStatus(device) {
    this.show('info', `Waiting for ${device} to announce itself…`);
  }

  /** No retained status arrived: see Viewer.onBrokerUp. */
  neverAnnounced(device, prefix) {
    this.show(
      'error',
      `${device} has not announced itself on this broker`,
      `No retained status on ${prefix}/${device}/status. Check the device id and prefix, and that the device uses this broker. Waiting…`,
    );
  }

  offline(device, status) {
    this.show(
      'error',
      `${device} is offline`,
      status ? 'The camera will be shown as soon as it comes back.' : 'No status from this device yet: is the device id right?',
    );
  }

  full(device, maxViewers) {
    this.show(
      'wait',
      `All ${maxViewers} viewer slots of ${device} are in use`,
      'You will be connected as soon as one frees up.',
    );
  }

  waitingForOffer(device) {
    this.show('info', `Waiting for ${device}'s offer…`);
  }

  connecting(device) {
    this.show('info', `Connecting to ${device}…`);
  }

  offerTaken() {
    this.show('info', 'Another viewer took that offer; waiting for the next one…');
  }

  endedByDevice(device, reason) {
    this.show('wait', `${device} ended the session (${reason})`, 'Reconnecting…');
  }

  iceFailed(device) {
    this.show(
      'error',
      `No network path to ${device} (ICE failed)`,
      'The browser and the camera must reach each other directly (same LAN, no blocking firewall) or through a TURN server configured on the device. Retrying…',
    );
  }

  /** The playing session's network path died; the page is joining again at once. */
  reconnecting(device) {
    this.show('wait', 'Reconnecting…', `The network path to ${device} changed; joining again.`);
  }

  interrupted() {
    this.show('wait', 'Connection interrupted', 'Waiting for the network to come back…');
  }

  /** A failed session, about to be retried after the back-off. */
  failed(message) {
    this.show('error', message, 'Retrying…');
  }

  left() {
    this.show('info', 'You left.', 'Reload the page to watch again.');
  }

  // ---------------------------------------------------------------- header, lists, controls

  setBroker(up) {
    $('broker-state').dataset.state = up ? 'connected' : 'down';
    $('broker-state').textContent = up ? 'broker: connected' : 'broker: unreachable';
  }

  /** The header from the device's retained status (null: none seen yet). */
  renderStatus(s) {
    const state = s?.state === 'online' ? 'online' : s ? 'offline' : 'unknown';
    $('device-state').dataset.state = state;
    $('device-state').textContent = state === 'unknown' ? 'no status' : state;
    // The device's own name, if its status carries one; the id beside it stays what counts.
    const name = deviceName(s);
    $('device-label').textContent = name ? `“${name}”` : '';
    $('device-label').hidden = !name;
    const down = [];
    if (s?.sources?.video === 'unavailable') down.push('camera');
    if (s?.sources?.audio === 'unavailable') down.push('microphone');
    if (s?.sources?.talkback === 'unavailable') down.push('speaker');
    $('viewers').textContent =
      s?.state === 'online'
        ? `viewers ${s.viewers}/${s.max_viewers}${down.length ? ` · ${down.join(' and ')} unavailable, retrying` : ''}`
        : '';
    const talkback = s?.talkback !== false && s?.audio !== null;
    $('talk').disabled = !talkback;
    $('talk').title = !talkback
      ? 'This camera has no speaker configured (audio.talkback_device) or no audio'
      : s?.sources?.talkback === 'unavailable'
        ? 'The camera’s speaker is failing right now (it keeps retrying): you may not be heard'
        : 'Send your microphone to the camera’s speaker';
  }

  /** The list of devices (id -> retained status), each a link to this page for that device. */
  showDeviceList(devices, settings) {
    $('devices').hidden = false;
    const list = $('device-list');
    list.replaceChildren();
    for (const [id, status] of [...devices].sort()) {
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
    $('no-devices').hidden = devices.size > 0;
    this.show('info', 'Pick a camera', `Devices announced on ${settings.broker} under ${settings.prefix}/`);
  }

  setStats(text) {
    $('stats').textContent = text;
  }

  setTalking(on) {
    const button = $('talk');
    button.setAttribute('aria-pressed', String(on));
    button.textContent = on ? 'Talking: click to stop' : 'Talk';
    $('talk-live').hidden = !on;
    if (on) $('notice').textContent = ''; // an old "talkback is off" is no longer true
  }
}

/** The page's header and settings form for a fresh set of settings. */
export function showSettings(settings) {
  const form = $('settings');
  for (const key of ['broker', 'prefix', 'device', 'username', 'password']) {
    form.elements[key].value = settings[key] ?? '';
  }
  showPeer(settings);
}

/**
 * Whom the page talks to, in the header: camera {device id} via {broker host} (or every
 * camera under the prefix, for the device list). The device's name comes with its status.
 */
export function showPeer({ broker, prefix, device }) {
  const host = brokerHost(broker);
  $('peer').dataset.mode = device ? 'device' : 'list';
  $('peer').title = device
    ? `Topics ${prefix}/${device}/… on the broker ${broker}`
    : `Cameras announced under ${prefix}/ on the broker ${broker}`;
  $('device-name').textContent = device || `all cameras (${prefix}/)`;
  $('device-label').textContent = '';
  $('device-label').hidden = true;
  $('broker-host').textContent = host;
  document.title = device ? `${device} via ${host} · rtcam` : 'rtcam viewer';
}
