// The page's one back-off (src/backoff.js): 1 s doubling to 15 s, reset by a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../src/backoff.js';

test('doubles from 1 s up to 15 s and starts over after a success', () => {
  const b = new Backoff();
  assert.equal(b.waiting(0), false);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.fail(0)), [1000, 2000, 4000, 8000, 15000, 15000]);
  assert.equal(b.waiting(14_999), true);
  assert.equal(b.waiting(15_000), false);
  b.reset();
  assert.equal(b.fail(100), 1000);
  assert.equal(b.waiting(1_099), true);
  assert.equal(b.waiting(1_100), false);
});
