// The page's settings from its address (src/settings.js): `?ice=`, `?relay=1`, `?lowdelay=0`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '../src/settings.js';

/** A page opened from file:// (no config.json) with this query. */
const at = (query) => ({ protocol: 'file:', hostname: '', href: `file:///viewer/index.html${query}`, search: query });

/** loadSettings with console.warn caught. */
async function load(query) {
  const warn = console.warn;
  const warnings = [];
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    return { settings: await loadSettings(at(query)), warnings };
  } finally {
    console.warn = warn;
  }
}

test('?ice= adds STUN/TURN servers; ?relay=1 asks for relayed paths only', async () => {
  const ice = [{ urls: 'turn:198.19.0.1:3478?transport=udp', username: '1767225600:cam1', credential: 'c2VjcmV0' }];
  const { settings, warnings } = await load(`?device=garden&relay=1&ice=${encodeURIComponent(JSON.stringify(ice))}`);
  assert.deepEqual(settings.iceServers, [
    { urls: ['turn:198.19.0.1:3478?transport=udp'], username: '1767225600:cam1', credential: 'c2VjcmV0' },
  ]);
  assert.equal(settings.relay, true);
  assert.deepEqual(warnings, []);
});

test('without them: no servers of its own, every path allowed', async () => {
  const { settings } = await load('?device=garden');
  assert.deepEqual(settings.iceServers, []);
  assert.equal(settings.relay, false);
  assert.equal((await load('?relay=yes')).settings.relay, false);
});

test('a bad ?ice= is ignored with a warning', async () => {
  for (const bad of ['not json', '{"urls":"stun:a"}', '[{"urls":"http://a"}]', '[{"urls":"turn:a","credential":7}]']) {
    const { settings, warnings } = await load(`?ice=${encodeURIComponent(bad)}`);
    assert.deepEqual(settings.iceServers, [], bad);
    assert.equal(warnings.length, 1, bad);
    assert.match(warnings[0], /ignoring \?ice=/);
  }
});

test('the shortest playout delay unless ?lowdelay=0', async () => {
  assert.equal((await load('?device=garden')).settings.lowDelay, true);
  assert.equal((await load('?lowdelay=0')).settings.lowDelay, false);
  assert.equal((await load('?lowdelay=1')).settings.lowDelay, true);
});

test('askForLowDelay sets what the receiver has, and survives one that refuses', async () => {
  const { askForLowDelay } = await import('../src/session.js');
  const standard = { jitterBufferTarget: null };
  askForLowDelay(standard);
  assert.deepEqual(standard, { jitterBufferTarget: 0 });
  const chromium = { jitterBufferTarget: null, playoutDelayHint: null };
  askForLowDelay(chromium);
  assert.deepEqual(chromium, { jitterBufferTarget: 0, playoutDelayHint: 0 });
  const none = {};
  askForLowDelay(none);
  assert.deepEqual(none, {});
  const refusing = {
    get jitterBufferTarget() {
      return null;
    },
    set jitterBufferTarget(_v) {
      throw new RangeError('no');
    },
  };
  const warn = console.warn;
  let warned = 0;
  console.warn = () => (warned += 1);
  try {
    askForLowDelay(refusing);
  } finally {
    console.warn = warn;
  }
  assert.equal(warned, 1);
});
