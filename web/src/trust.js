// What the page accepts from the broker, and how it names whom it talks to. The page trusts
// only the device it was configured with: its retained status and offer on `{root}/status`
// and `{root}/offer`, and what arrives on this viewer's own topics of the live session
// (docs/protocol.md). Everything else is dropped by the caller with a console.warn.
// Pure functions, no DOM and no MQTT: tests/trust.test.mjs runs them under node.

/** The protocol's size limits (docs/protocol.md, "Size limits"), applied to the device too. */
export const MAX_SDP_BYTES = 64 * 1024;
export const MAX_MESSAGE_BYTES = MAX_SDP_BYTES + 8 * 1024;
const MAX_CANDIDATE = 1024;
const MAX_SDP_MID = 32;
const MAX_UFRAG = 256;
const MAX_NAME = 64;
const MAX_ICE_SERVERS = 8; // entries of an `ice_servers` list, and URLs in one entry
const MAX_ICE_TEXT = 512; // one URL, username or credential

const ID_RE = /^[A-Za-z0-9._-]{1,255}$/;
const SESSION_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ICE_URL_RE = /^(stun|stuns|turn|turns):/;
const DEVICE_KINDS = new Set(['candidate', 'error', 'hangup', 'stats']);

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = (v, ok) => v === undefined || v === null || ok(v);
const shortString = (max) => (v) => typeof v === 'string' && v.length <= max;
const count = (v) => Number.isInteger(v) && v >= 0;

/** A device id as rtcam's config allows it (letters, digits, '-', '_', '.'). */
export function validDeviceId(id) {
  return typeof id === 'string' && ID_RE.test(id);
}

/**
 * Why `prefix` and `device` cannot name a device's topic root, or null when they can. The
 * prefix is one or more '/'-separated parts, each like a device id; `device` '' means "the
 * device list". Wildcards (`+`, `#`) would subscribe the page to other devices' topics.
 */
export function rootProblem(prefix, device) {
  if (typeof prefix !== 'string' || !prefix.split('/').every(validDeviceId)) {
    return `the topic prefix ${JSON.stringify(prefix)} is not valid: use '/'-separated parts of letters, digits, '-', '_' and '.'`;
  }
  if (device !== '' && !validDeviceId(device)) {
    return `the device id ${JSON.stringify(device)} is not valid: use letters, digits, '-', '_' and '.'`;
  }
  return null;
}

/**
 * Where a message on `topic` belongs, for a page watching `device` under `prefix` as viewer
 * `viewerId` (device '': the device list). Returns
 * - {type: 'status', device} / {type: 'offer', device}: the device's retained messages (in the
 *   device list: any device's status),
 * - {type: 'session', session, kind}: the device to this viewer on its own topics, `kind`
 *   'candidate/device', 'error', 'hangup' or 'stats',
 * - {type: 'echo'}: what this viewer published itself, back on its own subscription,
 * - null: none of the page's business (another device, another viewer, the shared topics).
 */
export function classifyTopic(topic, { prefix, device, viewerId }) {
  if (typeof topic !== 'string' || !topic.startsWith(`${prefix}/`)) return null;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (!device) {
    return parts.length === 2 && parts[1] === 'status' && validDeviceId(parts[0])
      ? { type: 'status', device: parts[0] }
      : null;
  }
  if (parts[0] !== device) return null;
  if (parts.length === 2 && (parts[1] === 'status' || parts[1] === 'offer')) {
    return { type: parts[1], device };
  }
  // session/{s}/viewer/{me}/...
  if (parts[1] !== 'session' || parts[3] !== 'viewer' || parts[4] !== viewerId) return null;
  if (!SESSION_RE.test(parts[2] ?? '')) return null;
  if (parts.length === 6) return { type: 'echo' };
  if (parts.length === 7 && parts[5] === 'device' && DEVICE_KINDS.has(parts[6])) {
    const kind = parts[6] === 'candidate' ? 'candidate/device' : parts[6];
    return { type: 'session', session: parts[2], kind };
  }
  return null;
}

/** Why `json` (a parsed, non-empty `R/offer`) is not an offer to answer, or null. */
export function offerProblem(json) {
  if (!isObject(json)) return 'not a JSON object';
  if (json.type !== 'offer') return `type is ${JSON.stringify(json.type)}, not "offer"`;
  if (typeof json.session !== 'string' || !SESSION_RE.test(json.session)) {
    return 'no valid session id (1-64 of A-Z a-z 0-9 _ -)';
  }
  if (typeof json.sdp !== 'string' || !/^v=0\r?\n/.test(json.sdp)) {
    return 'the sdp is not an SDP (it must start with a "v=0" line)';
  }
  if (json.sdp.length > MAX_SDP_BYTES) return `the sdp is longer than ${MAX_SDP_BYTES} bytes`;
  // rtcam 0.5: STUN/TURN servers for the answering peer connection (optional).
  if (!optional(json.ice_servers, (v) => !iceServersProblem(v))) {
    return `a bad ice_servers: ${iceServersProblem(json.ice_servers)}`;
  }
  return null;
}

/**
 * Why `list` is not a list of STUN/TURN servers the page may hand to its RTCPeerConnection,
 * or null. WebRTC's RTCIceServer shape: at most 8 entries, each with `urls` (one URL or 1-8 of
 * them, each stun:, stuns:, turn: or turns:) and optional `username` and `credential`
 * strings; every string at most 512 characters. Used for an offer's `ice_servers` and the
 * page's `?ice=` (settings.js).
 */
export function iceServersProblem(list) {
  if (!Array.isArray(list)) return 'not a list';
  if (list.length > MAX_ICE_SERVERS) return `more than ${MAX_ICE_SERVERS} servers`;
  const text = shortString(MAX_ICE_TEXT);
  for (const server of list) {
    if (!isObject(server)) return 'a server that is not an object';
    const urls = typeof server.urls === 'string' ? [server.urls] : server.urls;
    if (!Array.isArray(urls) || urls.length === 0 || urls.length > MAX_ICE_SERVERS) {
      return `urls must be one URL or 1-${MAX_ICE_SERVERS} of them`;
    }
    if (!urls.every((u) => text(u) && ICE_URL_RE.test(u))) {
      return `a URL that is not stun:, stuns:, turn: or turns: (at most ${MAX_ICE_TEXT} characters)`;
    }
    for (const key of ['username', 'credential']) {
      if (server[key] !== undefined && !text(server[key])) {
        return `${key} must be a string of at most ${MAX_ICE_TEXT} characters`;
      }
    }
  }
  return null;
}

/**
 * A copy of a list that passed iceServersProblem with only what RTCIceServer reads there
 * (another member, say a credentialType the browser does not know, would make the
 * RTCPeerConnection throw).
 */
export function copyIceServers(list) {
  return list.map(({ urls, username, credential }) => ({
    urls: typeof urls === 'string' ? [urls] : [...urls],
    ...(username !== undefined && { username }),
    ...(credential !== undefined && { credential }),
  }));
}

/** Why `json` (a parsed, non-empty `R/status`) is not a status, or null. */
export function statusProblem(json) {
  if (!isObject(json)) return 'not a JSON object';
  if (typeof json.state !== 'string' || json.state.length > 32) return 'no state';
  if (!optional(json.viewers, count) || !optional(json.max_viewers, count)) {
    return 'viewers and max_viewers must be counts';
  }
  return null;
}

/**
 * The device's own name from its status, when it carries one (`name`: a short string without
 * control characters), else null. docs/protocol.md defines no such field yet: an rtcam status
 * has none, and the page then names the device by its id alone.
 */
export function deviceName(status) {
  const name = isObject(status) && typeof status.name === 'string' ? status.name.trim() : '';
  // eslint-disable-next-line no-control-regex
  return name && name.length <= MAX_NAME && !/[\u0000-\u001f\u007f]/.test(name) ? name : null;
}

const STATS_NUMBERS = [
  'target_kbps', 'fps', 'estimate_kbps', 'sent_kbps', 'loss', 'rtt_ms', 'queue_ms',
  'viewer_fps', 'second_stream_kbps', 'remb_kbps',
];

/**
 * Why a message from the device on this viewer's own topics (`kind` as classifyTopic says)
 * cannot be used, or null. A `viewer` field, where present, must be this viewer's id; an
 * error must carry it.
 */
export function sessionMessageProblem(kind, json, viewerId) {
  if (!isObject(json)) return 'not a JSON object';
  if (json.viewer !== undefined && json.viewer !== viewerId) return 'it names another viewer';
  if (kind === 'candidate/device') {
    if (!shortString(MAX_CANDIDATE)(json.candidate)) return 'no candidate string (at most 1024 bytes)';
    if (!optional(json.sdpMid, shortString(MAX_SDP_MID))) return 'a bad sdpMid';
    if (!optional(json.sdpMLineIndex, (v) => count(v) && v <= 65535)) return 'a bad sdpMLineIndex';
    if (!optional(json.usernameFragment, shortString(MAX_UFRAG))) return 'a bad usernameFragment';
  } else if (kind === 'error') {
    if (json.viewer !== viewerId) return 'an error without this viewer id';
    if (!shortString(64)(json.code) || !optional(json.message, shortString(1024))) return 'a bad code or message';
  } else if (kind === 'hangup') {
    if (!optional(json.reason, shortString(256))) return 'a bad reason';
  } else if (kind === 'stats') {
    const bad = STATS_NUMBERS.find((k) => !optional(json[k], Number.isFinite));
    if (bad) return `${bad} is not a number`;
    if (!optional(json.layers, shortString(8))) return 'a bad layers';
  } else {
    return `an unknown kind ${JSON.stringify(kind)}`;
  }
  return null;
}

/** The broker's host (and port, when the URL names one) from its WebSocket URL. */
export function brokerHost(url) {
  try {
    return new URL(url).host || String(url);
  } catch {
    return String(url);
  }
}

/** What the user's "yes, send my microphone" is for: this device, through this broker. */
export function consentKey({ broker, prefix, device }) {
  return JSON.stringify([broker, prefix, device]);
}
