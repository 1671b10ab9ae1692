// What the page believes (src/trust.js): only its device's topics, only well-formed offers,
// statuses and session messages, only its own session's viewer id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_SDP_BYTES,
  brokerHost,
  classifyTopic,
  consentKey,
  copyIceServers,
  deviceName,
  iceServersProblem,
  offerProblem,
  rootProblem,
  sessionMessageProblem,
  statusProblem,
} from '../src/trust.js';

const ME = 'rtcam-viewer-0123456789abcdef';
const page = { prefix: 'rtcam', device: 'garden', viewerId: ME };
const own = (session, rest) => `rtcam/garden/session/${session}/viewer/${ME}/${rest}`;

test("only the configured device's status and offer are its own", () => {
  assert.deepEqual(classifyTopic('rtcam/garden/status', page), { type: 'status', device: 'garden' });
  assert.deepEqual(classifyTopic('rtcam/garden/offer', page), { type: 'offer', device: 'garden' });
  for (const topic of [
    'rtcam/other/offer', // another device
    'rtcam/garden2/status',
    'other/garden/offer', // another prefix
    'rtcamx/garden/offer',
    'rtcam/garden/offer/x',
    'rtcam/garden',
    'garden/offer',
    '',
  ]) {
    assert.equal(classifyTopic(topic, page), null, topic);
  }
  // A multi-part prefix is one root, not a device id.
  const deep = { ...page, prefix: 'home/cams' };
  assert.deepEqual(classifyTopic('home/cams/garden/offer', deep), { type: 'offer', device: 'garden' });
  assert.equal(classifyTopic('home/garden/offer', deep), null);
});

test("the device's messages count only on this viewer's own topics", () => {
  const s = '3f9c0e';
  assert.deepEqual(classifyTopic(own(s, 'device/candidate'), page), { type: 'session', session: s, kind: 'candidate/device' });
  for (const kind of ['error', 'hangup', 'stats']) {
    assert.deepEqual(classifyTopic(own(s, `device/${kind}`), page), { type: 'session', session: s, kind });
  }
  // What this viewer published comes back on its subscription.
  assert.deepEqual(classifyTopic(own(s, 'answer'), page), { type: 'echo' });
  for (const topic of [
    `rtcam/garden/session/${s}/viewer/rtcam-viewer-someone-else/device/hangup`,
    `rtcam/garden/session/${s}/hangup`, // the shared topics
    `rtcam/garden/session/${s}/candidate/device`,
    own(s, 'device/reboot'),
    own(s, 'device/hangup/x'),
    own('a+b', 'device/hangup'),
    `rtcam/other/session/${s}/viewer/${ME}/device/hangup`,
  ]) {
    assert.equal(classifyTopic(topic, page), null, topic);
  }
});

test('the device list takes any valid device id, and only statuses', () => {
  const list = { ...page, device: '' };
  assert.deepEqual(classifyTopic('rtcam/kitchen/status', list), { type: 'status', device: 'kitchen' });
  assert.equal(classifyTopic('rtcam/kitchen/offer', list), null);
  assert.equal(classifyTopic('rtcam/bad id/status', list), null);
  assert.equal(classifyTopic('rtcam/a/b/status', list), null);
});

test('settings that would subscribe to other topics are refused', () => {
  assert.equal(rootProblem('rtcam', 'garden'), null);
  assert.equal(rootProblem('home/cams', 'garden.local'), null);
  assert.equal(rootProblem('rtcam', ''), null); // the device list
  for (const [prefix, device] of [
    ['rtcam', '+'],
    ['rtcam', '#'],
    ['rtcam', 'a/b'],
    ['rtcam', 'a b'],
    ['+', 'garden'],
    ['rtcam/', 'garden'],
    ['', 'garden'],
    ['rtcam/#', ''],
  ]) {
    assert.match(rootProblem(prefix, device), /not valid/, `${prefix} ${device}`);
  }
});

test('an offer is used only when well-formed', () => {
  const good = { session: '3f9c0e', type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n' };
  assert.equal(offerProblem(good), null);
  assert.equal(offerProblem({ ...good, sdp: 'v=0\no=-\n' }), null);
  const bad = {
    'not an object': [],
    'a string': 'offer',
    'no type': { ...good, type: undefined },
    'an answer': { ...good, type: 'answer' },
    'no session': { ...good, session: undefined },
    'a numeric session': { ...good, session: 42 },
    'a wildcard in the session': { ...good, session: '#' },
    'a slash in the session': { ...good, session: 'a/b' },
    'a long session': { ...good, session: 'a'.repeat(65) },
    'no sdp': { ...good, sdp: undefined },
    'an sdp object': { ...good, sdp: { v: 0 } },
    'not an sdp': { ...good, sdp: 'hello' },
    'v=01': { ...good, sdp: 'v=01\r\n' },
    'a huge sdp': { ...good, sdp: `v=0\r\n${'a=x\r\n'.repeat(MAX_SDP_BYTES / 5)}` },
  };
  for (const [what, json] of Object.entries(bad)) assert.ok(offerProblem(json), what);
});

test("an offer's ice_servers (rtcam 0.5) must be RTCIceServer entries the page can use", () => {
  const good = { session: '3f9c0e', type: 'offer', sdp: 'v=0\r\n' };
  const servers = [
    { urls: ['stun:198.19.0.1:3478'] },
    { urls: ['turn:198.19.0.1:3478?transport=udp'], username: '1767225600:cam1', credential: 'c2VjcmV0' },
  ];
  assert.equal(offerProblem({ ...good, ice_servers: servers }), null);
  assert.equal(offerProblem({ ...good, ice_servers: [] }), null);
  assert.equal(offerProblem({ ...good, ice_servers: null }), null); // as absent
  assert.equal(offerProblem({ ...good, ice_servers: [{ urls: 'turns:t.example.org:443?transport=tcp' }] }), null);
  const bad = {
    'not a list': { urls: ['stun:a'] },
    'a string': 'stun:a',
    'nine servers': Array(9).fill({ urls: ['stun:a'] }),
    'a server that is a string': ['stun:a'],
    'a server that is a list': [[{ urls: 'stun:a' }]],
    'a server without urls': [{ username: 'u' }],
    'empty urls': [{ urls: [] }],
    'an empty url': [{ urls: '' }],
    'nine urls': [{ urls: Array(9).fill('stun:a') }],
    'a number url': [{ urls: [3478] }],
    'an http url': [{ urls: ['https://example.org'] }],
    'a url without its scheme': [{ urls: ['198.19.0.1:3478'] }],
    'a url scheme in capitals': [{ urls: ['STUN:a'] }],
    'a long url': [{ urls: [`turn:${'a'.repeat(508)}`] }],
    'a numeric username': [{ urls: ['turn:a'], username: 1767225600 }],
    'a null credential': [{ urls: ['turn:a'], username: 'u', credential: null }],
    'a long credential': [{ urls: ['turn:a'], username: 'u', credential: 'c'.repeat(513) }],
  };
  for (const [what, list] of Object.entries(bad)) {
    assert.match(offerProblem({ ...good, ice_servers: list }) ?? '', /ice_servers/, what);
    assert.ok(iceServersProblem(list), what);
  }
  // The limits themselves are fine.
  assert.equal(iceServersProblem(Array(8).fill({ urls: Array(8).fill(`turn:${'a'.repeat(507)}`) })), null);
  assert.equal(iceServersProblem([{ urls: 'turn:a', username: 'u'.repeat(512), credential: 'c'.repeat(512) }]), null);
});

test('ICE servers are copied with only the RTCIceServer members the page uses', () => {
  assert.deepEqual(
    copyIceServers([
      { urls: 'stun:a' },
      { urls: ['turn:b'], username: 'u', credential: 'c', credentialType: 'oauth', extra: 1 },
    ]),
    [{ urls: ['stun:a'] }, { urls: ['turn:b'], username: 'u', credential: 'c' }],
  );
});

test('a status needs a state; counts must be counts', () => {
  assert.equal(statusProblem({ state: 'offline' }), null);
  assert.equal(statusProblem({ state: 'online', viewers: 1, max_viewers: 4, audio: null }), null);
  assert.ok(statusProblem(null));
  assert.ok(statusProblem(['online']));
  assert.ok(statusProblem({ viewers: 1 }));
  assert.ok(statusProblem({ state: 'online', viewers: '1' }));
  assert.ok(statusProblem({ state: 'online', max_viewers: -1 }));
});

test("a device's name is shown only when it is a short plain string", () => {
  assert.equal(deviceName({ state: 'online' }), null); // rtcam's status has none
  assert.equal(deviceName({ state: 'online', name: '  Garden gate ' }), 'Garden gate');
  assert.equal(deviceName({ state: 'online', name: 'x'.repeat(65) }), null);
  assert.equal(deviceName({ state: 'online', name: 'a\u0000b' }), null);
  assert.equal(deviceName({ state: 'online', name: 7 }), null);
  assert.equal(deviceName(null), null);
});

test("session messages: this viewer's id, sane fields", () => {
  const ok = (kind, json) => assert.equal(sessionMessageProblem(kind, json, ME), null, JSON.stringify(json));
  const no = (kind, json) => assert.ok(sessionMessageProblem(kind, json, ME), JSON.stringify(json));
  ok('candidate/device', { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 });
  ok('candidate/device', { candidate: '' }); // end of candidates
  no('candidate/device', {}); // would read as "end of candidates"
  no('candidate/device', 'candidate:1');
  no('candidate/device', { candidate: 'x'.repeat(1025) });
  no('candidate/device', { candidate: 'c', sdpMLineIndex: -1 });
  no('candidate/device', { candidate: 'c', sdpMid: 0 });
  no('candidate/device', { candidate: 'c', viewer: 'someone-else' });
  ok('error', { viewer: ME, code: 'taken', message: 'another viewer claimed this offer first' });
  no('error', { code: 'taken', message: 'no viewer id' });
  no('error', { viewer: 'someone-else', code: 'taken', message: 'theirs' });
  no('error', { viewer: ME, code: 7 });
  ok('hangup', { reason: 'connect_timeout' });
  no('hangup', { reason: { x: 1 } });
  ok('stats', { target_kbps: 850, fps: 30, loss: 0.01, layers: 'all' });
  no('stats', { target_kbps: '850' });
  no('stats', { target_kbps: 850, layers: 12 });
  no('answer', { type: 'answer' });
  no('hangup', null);
});

test('the broker is named by its host, the consent by broker and device', () => {
  assert.equal(brokerHost('ws://192.168.1.20:8083/mqtt'), '192.168.1.20:8083');
  assert.equal(brokerHost('wss://broker.example.org/mqtt'), 'broker.example.org');
  assert.equal(brokerHost('not a url'), 'not a url');
  const a = consentKey({ broker: 'ws://h:8083/mqtt', prefix: 'rtcam', device: 'garden' });
  assert.equal(a, consentKey({ broker: 'ws://h:8083/mqtt', prefix: 'rtcam', device: 'garden', username: 'x' }));
  assert.notEqual(a, consentKey({ broker: 'ws://h:8083/mqtt', prefix: 'rtcam', device: 'kitchen' }));
  assert.notEqual(a, consentKey({ broker: 'ws://other:8083/mqtt', prefix: 'rtcam', device: 'garden' }));
});
