// The viewer's side of rtcam's MQTT signaling (docs/protocol.md), over mqtt.js.
// Emits plain callbacks; knows topics and JSON, nothing about WebRTC or the page.

import mqtt from 'mqtt';
import { MAX_MESSAGE_BYTES, classifyTopic } from './trust.js';

/** mqtt.js retries the broker at this fixed period; the page tells the user so. */
export const BROKER_RETRY_MS = 2000;
/** How long checkLink waits for the broker to answer before calling the connection dead. */
export const LINK_CHECK_MS = 1000;

export class Signaling {
  /**
   * @param {object} opts {broker, username, password, prefix, device ('' = the device list), viewerId}
   * @param {object} on   callbacks: connected(), disconnected(reason), status(device, json),
   *                      offer(device, json|null), session(session, kind, json)
   */
  constructor(opts, on) {
    this.opts = opts;
    this.on = on;
    this.client = null;
  }

  connect() {
    const { broker, username, password, viewerId } = this.opts;
    // MQTT 3.1.1 so the embedded rumqttd WebSocket listener accepts it; a keep-alive so a
    // dead connection is noticed; mqtt.js reconnects and re-subscribes by itself.
    this.client = mqtt.connect(broker, {
      protocolVersion: 4,
      // The client id is the viewer id: a broker ACL (`pattern … viewer/%c/…`) then lets
      // only this page write and read its topics (docs/security.md).
      clientId: viewerId,
      clean: true,
      keepalive: 20,
      reconnectPeriod: BROKER_RETRY_MS,
      connectTimeout: 8000,
      resubscribe: true,
      username: username || undefined,
      password: password || undefined,
    });
    this.client.on('connect', () => this.on.connected());
    this.client.on('close', () => this.on.disconnected('closed'));
    this.client.on('offline', () => this.on.disconnected('offline'));
    this.client.on('error', (e) => this.on.disconnected(e?.message || String(e)));
    this.client.on('message', (topic, payload) => this.dispatch(topic, payload));
  }

  root(device) {
    return `${this.opts.prefix}/${device}`;
  }

  /**
   * Routes one broker message. Only the configured device's status and offer, and the
   * device's messages on this viewer's own topics, get through (trust.js); anything else is
   * dropped, with a warning unless it is this viewer's own message coming back. Never throws:
   * a callback's exception is logged, not left to mqtt.js.
   */
  dispatch(topic, payload) {
    const where = classifyTopic(topic, this.opts);
    if (!where || where.type === 'echo') {
      if (!where) console.warn('rtcam: ignoring a message on a topic this page takes nothing from:', topic);
      return;
    }
    if (payload.length > MAX_MESSAGE_BYTES) {
      console.warn(`rtcam: ignoring a ${payload.length}-byte message (over ${MAX_MESSAGE_BYTES}) on`, topic);
      return;
    }
    let json = null;
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
      if (text.length) json = JSON.parse(text);
    } catch {
      console.warn('rtcam: ignoring a message that is not UTF-8 JSON on', topic);
      return;
    }
    try {
      if (where.type === 'status') this.on.status(where.device, json);
      else if (where.type === 'offer') this.on.offer(where.device, json);
      else this.on.session(where.session, where.kind, json);
    } catch (e) {
      console.warn('rtcam: a message could not be handled on', topic, e);
    }
  }

  subscribe(filter) {
    this.client?.subscribe(filter, { qos: 1 });
  }

  unsubscribe(filter) {
    this.client?.unsubscribe(filter);
  }

  /** All devices' retained status (the device list). */
  watchDevices() {
    this.subscribe(`${this.opts.prefix}/+/status`);
  }

  unwatchDevices() {
    this.unsubscribe(`${this.opts.prefix}/+/status`);
  }

  watchDevice(device) {
    this.subscribe(`${this.root(device)}/status`);
    this.subscribe(`${this.root(device)}/offer`);
  }

  /** This viewer's own topics in `session` (docs/protocol.md, rtcam 0.4). */
  own(device, session) {
    return `${this.root(device)}/session/${session}/viewer/${this.opts.viewerId}`;
  }

  joinSession(device, session) {
    this.subscribe(`${this.own(device, session)}/#`);
  }

  leaveSession(device, session) {
    this.unsubscribe(`${this.own(device, session)}/#`);
  }

  publish(device, session, kind, message, qos = 1) {
    const body = JSON.stringify({ ...message, viewer: this.opts.viewerId });
    this.client?.publish(`${this.own(device, session)}/${kind}`, body, { qos });
  }

  answer(device, session, sdp) {
    this.publish(device, session, 'answer', { type: 'answer', sdp });
  }

  candidate(device, session, init) {
    this.publish(device, session, 'candidate', init);
  }

  /**
   * `urgent`: the page is going away. QoS 0 goes straight onto the WebSocket, without the
   * QoS 1 store round trip that a closing page may not live to finish.
   */
  hangup(device, session, reason, urgent = false) {
    this.publish(device, session, 'hangup', { reason }, urgent ? 0 : 1);
  }

  get connected() {
    return !!this.client?.connected;
  }

  /**
   * Whether the broker connection still works, after the network path changed under it: a
   * connection over the old path looks alive to mqtt.js until its keep-alive runs out (up to
   * 30 s), and everything published meanwhile goes nowhere. A PINGREQ that gets no packet back
   * within `timeoutMs` drops the connection and reconnects at once, keeping what is queued:
   * QoS 1 messages already written (a hangup, say) are sent again after the reconnect.
   * Resolves true when the broker answered, false when not connected or dropped (the
   * `connected` callback follows the reconnect). One check at a time.
   */
  checkLink(timeoutMs = LINK_CHECK_MS) {
    const client = this.client;
    if (!client?.connected) return Promise.resolve(false);
    this.linkCheck ??= new Promise((resolve) => {
      const done = (alive) => {
        clearTimeout(timer);
        client.removeListener('packetreceive', answered);
        this.linkCheck = null;
        resolve(alive);
      };
      const answered = () => done(true);
      const timer = setTimeout(() => {
        done(false);
        if (client !== this.client || client.disconnecting || !client.connected) return;
        console.info(`rtcam: the broker did not answer within ${timeoutMs} ms; reconnecting`);
        // Destroying the stream closes the client at once (no WebSocket closing handshake
        // over a dead path); reconnect() would start over with empty stores, so it is given
        // the old ones.
        client.once('close', () => {
          if (client.disconnecting) return;
          client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
        });
        client.stream.destroy();
      }, timeoutMs);
      client.on('packetreceive', answered);
      client.sendPing();
    });
    return this.linkCheck;
  }
}
