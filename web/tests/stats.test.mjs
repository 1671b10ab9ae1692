// The stats overlay's text, with and without the device's own numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LatencyLog, StatsSampler, formatStats, inboundVideo, pairTypes, selectedPair } from '../src/stats.js';

const sample = { width: 640, height: 480, fps: 30, kbps: 812, rttMs: 12.5, packetsLost: 3, audioPackets: 500 };

test('without device numbers (an older device) the overlay shows the browser side only', () => {
  const text = formatStats(sample, { p50: 80, p95: 120 }, null, null);
  assert.match(text, /640×480/);
  assert.doesNotMatch(text, /device/);
  assert.doesNotMatch(text, /joined/);
});

test('the join time is shown once the first picture was', () => {
  const text = formatStats(sample, null, null, null, 83.4);
  assert.match(text, /^joined +first picture 83 ms after the answer$/m);
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

/** A getStats() report (a Map by id) from a list of stats. */
const reportOf = (...stats) => new Map(stats.map((s) => [s.id, s]));

const candidates = [
  { id: 'L1', type: 'local-candidate', candidateType: 'host' },
  { id: 'L2', type: 'local-candidate', candidateType: 'relay' },
  { id: 'R1', type: 'remote-candidate', candidateType: 'host' },
  { id: 'R2', type: 'remote-candidate', candidateType: 'srflx' },
];

test("the path is the transport's selected pair's candidate types", () => {
  const report = reportOf(
    ...candidates,
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', nominated: true, state: 'succeeded', currentRoundTripTime: 0.05 },
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
  );
  assert.equal(selectedPair(report).id, 'P2');
  assert.deepEqual(pairTypes(report), { local: 'relay', remote: 'srflx' });
});

test('without selectedCandidatePairId the nominated, succeeded pair is the path', () => {
  const report = reportOf(
    ...candidates,
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: false, state: 'succeeded' },
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    { id: 'T', type: 'transport' },
  );
  assert.deepEqual(pairTypes(report), { local: 'relay', remote: 'host' });
  assert.equal(pairTypes(reportOf(...candidates)), null); // not connected yet
});

test('the sampler reports the path, the rtt of that pair, and the inbound video', async () => {
  const report = reportOf(
    ...candidates,
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R2', currentRoundTripTime: 0.05 },
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
    { id: 'V', type: 'inbound-rtp', kind: 'video', bytesReceived: 5000, framesDecoded: 12 },
  );
  const s = await new StatsSampler().sample({ getStats: async () => report });
  assert.deepEqual(s.pair, { local: 'relay', remote: 'srflx' });
  assert.equal(s.rttMs, 50);
  assert.deepEqual(inboundVideo(report), { bytes: 5000, frames: 12 });
  assert.equal(inboundVideo(reportOf(...candidates)), null);
  assert.match(formatStats(s, null, null, null), /^path +via relay, camera srflx$/m);
  assert.doesNotMatch(formatStats(sample, null, null, null), /path/);
});

test('a new session after a re-join shows no negative bitrate', async () => {
  let bytes = 90_000;
  const pc = {
    getStats: async () => reportOf({ id: 'V', type: 'inbound-rtp', kind: 'video', bytesReceived: bytes }),
  };
  const sampler = new StatsSampler();
  await sampler.sample(pc);
  bytes = 1000;
  await new Promise((r) => setTimeout(r, 5));
  assert.equal((await sampler.sample(pc)).kbps, null);
});

test('the latency log splits capture → display at the last packet received, where the browser says', () => {
  const log = new LatencyLog();
  for (let i = 0; i < 10; i++) log.push({ frame: i, unixMs: 0, latencyMs: 30 + i, receivedMs: 5, presentedMs: 20, decodeMs: 2 });
  // A browser without receiveTime: the frame still counts for capture → display.
  log.push({ frame: 10, unixMs: 0, latencyMs: 40, receivedMs: null, decodeMs: null });
  assert.equal(log.values.length, 11);
  assert.equal(log.received.length, 10);
  assert.equal(log.decode.length, 10);
  assert.equal(log.presented.length, 10);
  const s = log.summary();
  assert.equal(s.p50, 35);
  assert.equal(s.receivedP50, 5);
  const text = formatStats(sample, s, log.last, null);
  assert.match(text, /^latency +p50 35 ms {2}p95 40 ms {2}\(received 5 ms\)$/m);
  const older = formatStats(sample, { p50: 35, p95: 40, receivedP50: null }, log.last, null);
  assert.match(older, /^latency +p50 35 ms {2}p95 40 ms$/m);
  for (let i = 0; i < 400; i++) log.push({ frame: i, unixMs: 0, latencyMs: 1, receivedMs: 1, decodeMs: 1 });
  assert.equal(log.values.length, 300);
  assert.equal(log.received.length, 300);
});
