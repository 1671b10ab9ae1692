// Viewer settings: URL parameters first, then what the serving device says in config.json,
// then defaults that suit a page opened from the device itself.

import { copyIceServers, iceServersProblem } from './trust.js';

/** `{host}` in a served broker URL means "the host this page came from". */
function expandHost(url, host) {
  return url.replaceAll('{host}', host);
}

/** Reads config.json next to the page when it was served over HTTP (not from file://). */
async function fetchServedConfig(location) {
  if (!location.protocol.startsWith('http')) return {};
  try {
    const res = await fetch(new URL('config.json', location.href), { cache: 'no-store' });
    return res.ok ? await res.json() : {};
  } catch {
    return {};
  }
}

/**
 * `?ice=`: more STUN/TURN servers, a JSON array of RTCIceServer, URL-encoded
 * (`'?ice=' + encodeURIComponent('[{"urls":"turn:t.example.org:3478","username":"u","credential":"p"}]')`).
 * Checked like an offer's `ice_servers` (trust.js); a bad one is ignored with a warning.
 */
function iceFromUrl(q) {
  const text = q.get('ice');
  if (!text) return [];
  let list;
  try {
    list = JSON.parse(text);
  } catch {
    console.warn('rtcam: ignoring ?ice=: not JSON');
    return [];
  }
  const problem = iceServersProblem(list);
  if (problem) {
    console.warn(`rtcam: ignoring ?ice=: ${problem}`);
    return [];
  }
  return copyIceServers(list);
}

/**
 * Everything the viewer needs to start:
 * broker (WebSocket URL), prefix, device ('' = show the device list), credentials, ICE servers,
 * relay only.
 */
export async function loadSettings(location) {
  const q = new URLSearchParams(location.search);
  const served = await fetchServedConfig(location);
  const host = location.hostname || 'localhost';
  const broker =
    q.get('broker') || expandHost(served.broker || 'ws://{host}:8083/mqtt', host);
  return {
    broker,
    prefix: q.get('prefix') || served.prefix || 'rtcam',
    device: q.get('device') ?? served.device ?? '',
    username: q.get('username') || '',
    password: q.get('password') || '',
    // The page's own: config.json's, then `?ice=`'s. An offer's come after these (viewer.js).
    iceServers: [...(Array.isArray(served.ice_servers) ? served.ice_servers : []), ...iceFromUrl(q)],
    // `?relay=1`: only relayed (TURN) paths, iceTransportPolicy 'relay'; for testing a TURN
    // server, since the browser otherwise prefers a direct path whenever there is one.
    relay: q.get('relay') === '1',
    // `?lowdelay=0`: the browser's own playout delay instead of the shortest it can do.
    lowDelay: q.get('lowdelay') !== '0',
    // `?stats=0` hides the overlay; shown by default.
    stats: q.get('stats') !== '0',
  };
}

/**
 * A random viewer id, new for every page load (protocol: once per page). Not kept in storage:
 * a duplicated tab would copy it and two viewers would share one id. It is also the page's
 * MQTT client id and names its own topics, so a broker ACL (`%c`) can reserve them to it.
 */
export function newViewerId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `rtcam-viewer-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
