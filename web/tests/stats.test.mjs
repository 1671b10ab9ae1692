// The stats overlay's text, with and without the device's own numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { formatStats } from '../src/stats.js';

const sample = { width: 640, height: 480, fps: 30, kbps: 812, rttMs: 12.5, packetsLost: 3, audioPackets: 500 };

test('without device numbers (an older device) the overlay shows the browser side only', () => {
  const text = formatStats(sample, { p50: 80, p95: 120 }, null, null);
  assert.match(text, /640×480/);
  assert.doesNotMatch(text, /device/);
});

test("the device's target, this viewer's estimate and thinning are shown", () => {
  const device = {
    target_kbps: 850, fps: 30, estimate_kbps: 240, sent_kbps: 230, loss: 0.04,
    rtt_ms: 48, viewer_fps: 7.5, layers: '1/4',
  };
  const text = formatStats(sample, { p50: 80, p95: 120 }, null, device);
  assert.match(text, /device +850 kbit\/s at 30 fps/);
  assert.match(text, /your link +240 kbit\/s, loss 4 %$/m);
  const queued = formatStats(sample, null, null, { ...device, queue_ms: 35 });
  assert.match(queued, /your link +240 kbit\/s, loss 4 %, queued 35 ms$/m);
  assert.match(text, /you get +7\.5 fps \(1\/4 of the pictures\)/);
  const whole = formatStats(sample, null, null, { ...device, layers: 'all', viewer_fps: 30 });
  assert.match(whole, /you get +30\.0 fps$/m);
  const second = formatStats(sample, null, null, { ...device, layers: 'all', viewer_fps: 30, second_stream_kbps: 180 });
  assert.match(second, /you get +30\.0 fps \(a second stream for your link, 180 kbit\/s\)$/m);
});
