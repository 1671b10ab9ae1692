// What the Chromium scenarios share (browser.mjs, remote.mjs): Debian's Chromium as CI can run
// it (never a downloaded browser), and polling a page until something holds, bounded in time.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Debian's Chromium, headless, without the network chatter a closed machine refuses. */
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Offer plain host candidates (the test namespaces' addresses), not mDNS names.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}

/**
 * Reads `probe(page)` every `everyMs` until `pred` holds and returns that reading, or throws
 * naming `what` and the last reading after `timeoutMs`.
 */
export async function waitFor(probe, page, what, pred, timeoutMs, everyMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    last = await probe(page);
    if (pred(last)) return last;
    await sleep(everyMs);
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s; last seen: ${JSON.stringify(last)}`);
}

/** Waits until the file `path` exists (the test's signal that it did its part). */
export async function waitForFile(path, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await sleep(20);
  }
}
