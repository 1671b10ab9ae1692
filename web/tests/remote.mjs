// The page watching a camera in another home, through NATs (tests/e2e/remote.rs builds the
// namespaces, coturn and the broker, and starts this script on the viewer's host).
//
//   node web/tests/remote.mjs --url FILE_OR_HTTP_URL [--switch-file PATH] [--screenshot FILE]
//
// Plays the page, measures 5 s of decoding and reports the selected candidate pair. With
// --switch-file it then prints "SWITCH" and waits for that file to appear (the test has moved
// the viewer's host to another network), and measures how long the page takes to play again
// by itself. Prints one JSON report line prefixed with "REPORT " and exits 0, or exits 1.
import { launch, sleep, waitFor as poll, waitForFile } from './chromium.mjs';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const guard = setTimeout(() => fail('the remote browser test took longer than 120 s'), 120_000);

function fail(why) {
  console.error(`remote browser test FAILED: ${why}`);
  process.exit(1);
}

/** What the page shows now. */
function probe(page) {
  return page.evaluate(async () => {
    const v = document.getElementById('video');
    const viewer = window.rtcamViewer;
    // Pictures decoded in the current session (its own peer connection's counter).
    let sessionFrames = 0;
    const pc = viewer?.session?.pc;
    if (pc) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') sessionFrames = s.framesDecoded ?? 0;
      });
    }
    return {
      sessionFrames,
      frames: v.getVideoPlaybackQuality().totalVideoFrames,
      width: v.videoWidth,
      height: v.videoHeight,
      state: viewer?.state ?? null,
      message: viewer?.message ?? null,
      session: viewer?.session?.id ?? null,
      pair: viewer?.stats?.pair ?? null,
      rejoins: viewer?.rejoins ?? 0,
      lastRecoveryMs: viewer?.lastRecoveryMs ?? null,
    };
  });
}

const waitFor = (page, what, pred, timeoutMs) => poll(probe, page, what, pred, timeoutMs, 100);

/** Frames decoded over `ms` (the element's counter), with the pair in use at the end. */
async function measure(page, ms) {
  const a = await probe(page);
  await sleep(ms);
  const b = await probe(page);
  return { fps: ((b.frames - a.frames) * 1000) / ms, width: b.width, height: b.height, pair: b.pair };
}

const browser = await launch();
const report = { url: args.url, browser: browser.version() };
try {
  const page = await (await browser.newContext()).newPage();
  page.on('console', (m) => {
    if (/rtcam/.test(m.text())) console.log(`[page] ${m.text()}`);
  });
  const opened = Date.now();
  await page.goto(args.url);
  await waitFor(page, 'the page plays', (s) => s.state === 'playing' && s.frames > 0, 30_000);
  report.firstFrameMs = Date.now() - opened;
  // The pair comes from the page's stats sampler (once a second).
  await waitFor(page, 'the selected candidate pair is known', (s) => s.pair, 5_000);
  report.before = await measure(page, 5_000);

  if (args['switch-file']) {
    const before = await probe(page);
    console.log('SWITCH');
    await waitForFile(args['switch-file'], 'the test switched networks', 20_000);
    const switched = Date.now();
    // Playing again: a new session, and pictures decoded in it.
    const again = await waitFor(
      page,
      'the page plays again after the network changed',
      (s) => s.state === 'playing' && s.session !== before.session && s.sessionFrames > 0,
      30_000,
    );
    report.resumeMs = Date.now() - switched;
    report.rejoins = again.rejoins;
    await waitFor(page, 'the new pair is known', (s) => s.pair && s.session === again.session, 5_000);
    report.after = await measure(page, 5_000);
    // The page's own measure: from noticing the dead path to the new session's frames.
    report.pageRecoveryMs = (await probe(page)).lastRecoveryMs;
  }
  if (args.screenshot) await page.screenshot({ path: args.screenshot });
  console.log(`REPORT ${JSON.stringify(report)}`);
} catch (e) {
  await browser.close().catch(() => {});
  fail(e.message);
}
await browser.close();
clearTimeout(guard);
