// Subscribers watching rtcam through a Janus VideoRoom (tests/e2e/publish_janus.rs starts
// Janus, rtcam and a static server for web/tests/janus/, then this script).
//
//   node web/tests/janus.mjs --url URL [--pages N] [--seconds S] [--restart-file PATH]
//
// Opens N subscriber pages, waits until each decodes rtcam's stamped frames, measures their
// rate over S seconds and prints "MEASURED" (the test reads the device's CPU meanwhile). With
// --restart-file it then prints "RESTART", waits for that file (the test restarted Janus) and
// measures how long until every page decodes new frames again. One "REPORT {json}" line.
import { launch, sleep, waitFor as poll, waitForFile } from './chromium.mjs';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const pages = Number(args.pages || 1);
const seconds = Number(args.seconds || 10);
const guard = setTimeout(() => fail('the Janus browser test took longer than 150 s'), 150_000);

function fail(why) {
  console.error(`janus browser test FAILED: ${why}`);
  process.exit(1);
}

const probe = (page) => page.evaluate(() => ({ ...window.sub, errors: window.sub?.errors?.slice(-3) }));
const waitFor = (page, what, pred, ms) => poll(probe, page, what, pred, ms, 200);

async function rates(list, ms) {
  const before = await Promise.all(list.map(probe));
  await sleep(ms);
  const after = await Promise.all(list.map(probe));
  return after.map((a, i) => ((a.frames - before[i].frames) * 1000) / ms);
}

const browser = await launch();
const report = { url: args.url, pages, browser: browser.version() };
try {
  const list = [];
  for (let i = 0; i < pages; i++) {
    // A context (a profile) per subscriber, as separate viewers have: Chromium holds at most
    // 6 connections per host in one profile, and every janus.js session keeps a long poll.
    const page = await (await browser.newContext()).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.log(`[subscriber ${i}] ${m.text()}`);
    });
    await page.goto(args.url);
    list.push(page);
  }
  const started = Date.now();
  for (const [i, page] of list.entries()) {
    await waitFor(page, `subscriber ${i} decodes rtcam's frames`, (s) => s?.frames >= 10, 40_000);
  }
  report.allPlayingMs = Date.now() - started;
  report.fps = await rates(list, seconds * 1000);
  console.log('MEASURED');

  if (args['restart-file']) {
    console.log('RESTART');
    await waitForFile(args['restart-file'], 'Janus was restarted', 30_000);
    const restarted = Date.now();
    const before = await Promise.all(list.map(probe));
    for (const [i, page] of list.entries()) {
      await waitFor(
        page,
        `subscriber ${i} decodes again after the restart`,
        (s) => s.sessions > before[i].sessions && s.state === 'playing' && s.frames >= before[i].frames + 10,
        40_000,
      );
    }
    report.recoveredMs = Date.now() - restarted;
    report.fpsAfter = await rates(list, 3000);
  }
  console.log(`REPORT ${JSON.stringify(report)}`);
} catch (e) {
  await browser.close().catch(() => {});
  fail(e.message);
}
await browser.close();
clearTimeout(guard);
