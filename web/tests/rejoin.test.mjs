// The re-join's bookkeeping (src/rejoin.js) on a fake clock: the fast first answer, the
// recovery time from detection to frames, one watch at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJOIN_NOTICE_MS, Rejoin } from '../src/rejoin.js';

function fakeTimers() {
  return {
    live: new Set(),
    next: 1,
    setInterval() {
      this.live.add(this.next);
      return this.next++;
    },
    clearInterval(id) {
      this.live.delete(id);
    },
  };
}

/** A peer connection whose getStats() reports the inbound video the test sets. */
function fakePc() {
  const pc = { video: null };
  pc.getStats = async () => {
    const report = new Map();
    if (pc.video) report.set('v', { type: 'inbound-rtp', kind: 'video', ...pc.video });
    return report;
  };
  return pc;
}

test('after a lost path only the first answer skips the back-off', () => {
  const r = new Rejoin(() => 0);
  assert.equal(r.fast, false);
  r.lost('no_media');
  assert.equal(r.fast, true);
  assert.equal(r.count, 1);
  r.answered();
  assert.equal(r.fast, false);
  r.lost('disconnected'); // that one connected, then lost its path too: fast again
  assert.equal(r.fast, true);
  assert.equal(r.count, 2);
});

test('the recovery runs from the first detection until frames are decoded again', () => {
  let now = 1000;
  const r = new Rejoin(() => now);
  const info = console.info;
  const logged = [];
  console.info = (line) => logged.push(line);
  try {
    r.framesDecoded(30); // playing normally: nothing to recover
    assert.equal(r.lastRecoveryMs, null);
    r.lost('no_media');
    now = 1800;
    r.lost('failed'); // lost again before frames came back
    now = 2500;
    r.framesDecoded(0);
    assert.equal(r.lastRecoveryMs, null);
    now = 3200.4;
    r.framesDecoded(1);
    assert.equal(r.lastRecoveryMs, 2200);
    assert.deepEqual(logged, ['rtcam: path recovered in 2200 ms']);
    assert.equal(r.showing, false);
    r.framesDecoded(60);
    assert.equal(logged.length, 1);
  } finally {
    console.info = info;
  }
});

test('"Reconnecting…" gives way to other news after a while', () => {
  let now = 0;
  const r = new Rejoin(() => now);
  r.lost('disconnected');
  assert.equal(r.showing, true);
  now = REJOIN_NOTICE_MS;
  assert.equal(r.showing, false);
  r.clear();
  assert.equal(r.fast, false);
});

test('one watch at a time, gone after unwatch and clear', async () => {
  let now = 0;
  const timers = fakeTimers();
  const r = new Rejoin(() => now, timers);
  const lost = [];
  const pc = fakePc();
  const on = { quiet: () => lost.push('quiet'), lost: (why) => lost.push(why) };
  r.watchSession(pc, () => true, on);
  r.watchSession(pc, () => true, on); // replaces the first
  assert.equal(timers.live.size, 1);
  pc.video = { bytesReceived: 5000, framesDecoded: 10 };
  await r.watch.tick();
  for (let i = 0; i < 6; i++) {
    now += 250;
    await r.watch.tick();
  }
  assert.deepEqual(lost, ['quiet', 'no_media']);
  assert.equal(timers.live.size, 0);
  r.watchSession(pc, () => true, {});
  r.unwatch();
  assert.equal(timers.live.size, 0);
  assert.equal(r.watch, null);
  r.watchSession(pc, () => true, {});
  r.clear();
  assert.equal(timers.live.size, 0);
});

test("the watched session's first frames end the recovery", async () => {
  let now = 0;
  const r = new Rejoin(() => now, fakeTimers());
  const info = console.info;
  console.info = () => {};
  try {
    r.lost('no_media');
    const pc = fakePc();
    now = 900;
    r.watchSession(pc, () => true, {});
    pc.video = { bytesReceived: 1200, framesDecoded: 0 };
    await r.watch.tick();
    assert.equal(r.lastRecoveryMs, null);
    now = 1150;
    pc.video = { bytesReceived: 9000, framesDecoded: 3 };
    await r.watch.tick();
    assert.equal(r.lastRecoveryMs, 1150);
  } finally {
    console.info = info;
  }
});
