// The broker link check after a lost path (src/signaling.js checkLink), on a fake mqtt.js client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Signaling } from '../src/signaling.js';

/** What checkLink uses of an mqtt.js client. */
function fakeClient() {
  const c = new EventEmitter();
  Object.assign(c, {
    connected: true,
    disconnecting: false,
    pings: 0,
    reconnects: [],
    incomingStore: { name: 'in' },
    outgoingStore: { name: 'out (holds the QoS 1 hangup)' },
    sendPing() {
      c.pings += 1;
    },
    reconnect(opts) {
      c.reconnects.push(opts);
    },
    stream: {
      destroyed: false,
      destroy() {
        c.stream.destroyed = true;
        c.connected = false;
        setImmediate(() => c.emit('close'));
      },
    },
  });
  return c;
}

function signaling(client) {
  const s = new Signaling({ prefix: 'rtcam', device: 'garden', viewerId: 'v' }, {});
  s.client = client;
  return s;
}

const quiet = async (fn) => {
  const info = console.info;
  console.info = () => {};
  try {
    return await fn();
  } finally {
    console.info = info;
  }
};

test('a broker that answers the ping: the link is alive, nothing is dropped', async () => {
  const c = fakeClient();
  const s = signaling(c);
  const check = s.checkLink(1000);
  assert.equal(s.checkLink(1000), check); // one check at a time
  assert.equal(c.pings, 1);
  c.emit('packetreceive', { cmd: 'pingresp' });
  assert.equal(await check, true);
  assert.equal(c.stream.destroyed, false);
  assert.equal(c.listenerCount('packetreceive'), 0);
});

test('a broker that does not answer: dropped and reconnected at once, keeping the queues', async () => {
  const c = fakeClient();
  const s = signaling(c);
  assert.equal(await quiet(() => s.checkLink(20)), false);
  assert.equal(c.stream.destroyed, true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(c.reconnects, [{ incomingStore: c.incomingStore, outgoingStore: c.outgoingStore }]);
  assert.equal(c.listenerCount('packetreceive'), 0);
});

test('not connected: nothing to check, mqtt.js is already reconnecting', async () => {
  const c = fakeClient();
  c.connected = false;
  assert.equal(await signaling(c).checkLink(20), false);
  assert.equal(c.pings, 0);
  const ended = fakeClient(); // left meanwhile: not reconnected
  const s = signaling(ended);
  const check = s.checkLink(20);
  ended.disconnecting = true;
  assert.equal(await check, false);
  assert.equal(ended.stream.destroyed, false);
});
