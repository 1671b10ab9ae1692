// The lost-path watch (src/watchdog.js) on a fake clock, fake timers and fake counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaStall, PathWatch, QUIET_MS, STALL_MS, lostByState } from '../src/watchdog.js';

/** setInterval/clearInterval that only count: ticks are driven by hand. */
function fakeTimers() {
  return {
    live: new Set(),
    next: 1,
    setInterval(fn, ms) {
      const id = this.next++;
      this.live.add(id);
      this.ms = ms;
      return id;
    },
    clearInterval(id) {
      this.live.delete(id);
    },
  };
}

/** A watch over counters the test sets, at a clock the test moves. */
function watched(opts = {}) {
  const w = { now: 0, counters: null, lost: [], samples: 0, quiet: 0, expected: true };
  w.timers = fakeTimers();
  w.watch = new PathWatch(
    async () => w.counters,
    { sample: () => (w.samples += 1), quiet: () => (w.quiet += 1), lost: (why) => w.lost.push(why) },
    { clock: () => w.now, timers: w.timers, expected: () => w.expected, ...opts },
  );
  /** Sets the counters, moves the clock by `ms` and ticks once. */
  w.at = async (ms, bytes) => {
    w.now += ms;
    w.counters = bytes == null ? null : { bytes, frames: bytes / 100 };
    await w.watch.tick();
  };
  return w;
}

test('only a playing path that dies counts: disconnected or failed', () => {
  assert.equal(lostByState('disconnected'), 'disconnected');
  assert.equal(lostByState('failed'), 'failed');
  for (const s of ['new', 'connecting', 'connected', 'closed']) assert.equal(lostByState(s), null);
});

test('video bytes that stop growing for 1.5 s are a lost path, reported once', () => {
  const stall = new MediaStall();
  assert.equal(stall.sample(0, 1000), null);
  assert.equal(stall.sample(250, 5000), null); // grew at 250
  assert.equal(stall.sample(250 + QUIET_MS - 1, 5000), null);
  assert.equal(stall.sample(250 + QUIET_MS, 5000), 'quiet');
  assert.equal(stall.sample(1000, 5000), null); // said once per pause
  assert.equal(stall.sample(250 + STALL_MS - 1, 5000), null);
  assert.equal(stall.sample(250 + STALL_MS, 5000), 'stalled');
  assert.equal(stall.sample(2000, 5000), null);
  assert.equal(stall.sample(3000, 9000), null);
});

test('growth, however small, keeps the path alive; a missing reading is no growth', () => {
  const stall = new MediaStall();
  let bytes = 0;
  for (let t = 0; t <= 10_000; t += 250) assert.equal(stall.sample(t, (bytes += 1)), null);
  assert.equal(stall.sample(10_250, null), null);
  assert.equal(stall.sample(10_500, null), 'quiet');
  assert.equal(stall.sample(11_000, 5), null); // fewer bytes: no growth either
  assert.equal(stall.sample(11_500, null), 'stalled');
});

test('a pause that ends is quiet once, and the next pause is quiet again', () => {
  const stall = new MediaStall();
  stall.sample(0, 100);
  assert.equal(stall.sample(600, 100), 'quiet');
  assert.equal(stall.sample(900, 200), null); // flowing again
  assert.equal(stall.sample(1400, 200), 'quiet');
  assert.equal(stall.sample(2400, 200), 'stalled');
});

test('video that never started, or a camera the device says is unavailable, is not a lost path', () => {
  const never = new MediaStall();
  for (let t = 0; t <= 10_000; t += 250) assert.equal(never.sample(t, 0), null);
  assert.equal(never.sample(10_250, null), null);

  const camera = new MediaStall();
  camera.sample(0, 100);
  camera.sample(250, 200);
  for (let t = 500; t <= 10_000; t += 250) assert.equal(camera.sample(t, 200, false), null);
  // Back: the next growth arms it again.
  assert.equal(camera.sample(10_250, 200), null);
  assert.equal(camera.sample(10_500, 300), null);
  assert.equal(camera.sample(10_500 + STALL_MS, 300), 'stalled');
});

test('the watch reports no_media, then stops its one timer', async () => {
  const w = watched();
  w.watch.start();
  w.watch.start(); // a second start makes no second timer
  assert.equal(w.timers.live.size, 1);
  assert.ok(w.timers.ms >= 250 && w.timers.ms <= 500, `samples every ${w.timers.ms} ms`);
  await w.at(0, 1000);
  for (let i = 0; i < 5; i++) await w.at(250, 1000);
  assert.deepEqual(w.lost, []);
  assert.equal(w.quiet, 1); // 0.5 s without growth
  await w.at(250, 1000); // 1.5 s since the last growth
  assert.deepEqual(w.lost, ['no_media']);
  assert.equal(w.timers.live.size, 0);
  assert.equal(w.watch.running, false);
  await w.at(5000, 1000);
  assert.deepEqual(w.lost, ['no_media']);
  assert.equal(w.samples, 7);
});

test('one read at a time: ticks during a slow getStats are skipped', async () => {
  const w = watched();
  let release;
  let reads = 0;
  w.watch.read = () => {
    reads += 1;
    return new Promise((resolve) => (release = resolve));
  };
  w.watch.start();
  const first = w.watch.tick();
  await w.watch.tick();
  await w.watch.tick();
  assert.equal(reads, 1);
  release({ bytes: 10, frames: 1 });
  await first;
  assert.equal(w.samples, 1);
  const second = w.watch.tick();
  assert.equal(reads, 2);
  release({ bytes: 20, frames: 2 });
  await second;
});

test('nothing after stop, not even from a read still under way', async () => {
  const w = watched();
  let release;
  w.watch.read = () => new Promise((resolve) => (release = resolve));
  w.watch.start();
  const pending = w.watch.tick();
  w.watch.stop();
  assert.equal(w.timers.live.size, 0);
  release({ bytes: 10, frames: 1 });
  await pending;
  assert.equal(w.samples, 0);
  w.watch.start(); // a stopped watch stays stopped
  assert.equal(w.timers.live.size, 0);
  await w.watch.tick();
  assert.equal(w.samples, 0);
  assert.deepEqual(w.lost, []);
});

test('a failing read is a reading of nothing', async () => {
  const w = watched();
  w.watch.start();
  await w.at(0, 1000);
  w.watch.read = async () => {
    throw new Error('closed');
  };
  for (let i = 0; i < 6; i++) {
    w.now += 250;
    await w.watch.tick();
  }
  assert.deepEqual(w.lost, ['no_media']);
});
