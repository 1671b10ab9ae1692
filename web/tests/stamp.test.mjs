// Pins the page's stamp decoder (src/stamp.js) to the test vector the Rust side writes
// (tests/data/stamp-64x48.json, from src/capture/stamp.rs), so the two cannot drift apart.
// Run: cd web && npm test
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeStamp } from '../src/stamp.js';

const vector = JSON.parse(
  readFileSync(new URL('../../tests/data/stamp-64x48.json', import.meta.url), 'utf8'),
);
const WHITE = 235;
const BLACK = 16;

/** The luma strip as the canvas would hand it over: R = G = B = Y, opaque. */
function rgbaFromLuma(y) {
  const rgba = new Uint8ClampedArray(y.length * 4);
  y.forEach((v, i) => rgba.set([v, v, v, 255], i * 4));
  return rgba;
}

function luma() {
  const y = new Uint8Array(Buffer.from(vector.y_base64, 'base64'));
  assert.equal(y.length, vector.width * vector.height, 'y_base64 holds width*height bytes');
  return y;
}

test('decodes the frame number and capture time the Rust side wrote', () => {
  const stamp = decodeStamp(rgbaFromLuma(luma()), vector.width, vector.height);
  assert.deepEqual(stamp, { frame: vector.frame, unixMs: vector.unix_ms });
});

test('one flipped block fails the CRC and reads as no stamp', () => {
  const { width } = vector;
  const y = luma();
  // The first block: row 0, bit 0 (width/32 pixels wide, 16 high).
  const blockWidth = Math.floor(width / 32);
  for (let py = 0; py < 16; py++) {
    for (let px = 0; px < blockWidth; px++) {
      const i = py * width + px;
      assert.ok(y[i] === WHITE || y[i] === BLACK, `pixel ${px},${py} is a block colour`);
      y[i] = y[i] === WHITE ? BLACK : WHITE;
    }
  }
  assert.equal(decodeStamp(rgbaFromLuma(y), vector.width, vector.height), null);
});
