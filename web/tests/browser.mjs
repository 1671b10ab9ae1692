// Drives Debian's Chromium (playwright-core) against a running rtcam and checks real playback
// in the viewer page. Called by tests/e2e/browser.rs, which starts the device, the broker and this
// script inside a network namespace, then checks the device side (talkback WAV). Every
// scenario checks the header names the device and the broker host; `full` talks through the
// page's microphone question (#talk-ask: Cancel first, then #talk-confirm).
//
// `latency` watches 10 s and reports the capture → display latency of every stamped frame
// (the benchmark runs it with and without `?lowdelay=0`); `joins` loads the page --joins times
// (default 20; each load ends the previous session) and reports each session's answer → first
// picture shown.
//
//   node web/tests/browser.mjs --url URL --scenario basic|full|shaped|secure|latency|joins [--screenshot FILE]
//        (basic also: --device ID --broker-ws ws://… --dist /abs/path/to/web/dist;
//         secure also: --wrong-name-broker wss://… by a name the certificate does not list)
//
// Prints one JSON report line prefixed with "REPORT " and exits 0, or exits 1 with the reason.
import { launch, sleep, waitFor as poll } from './chromium.mjs';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const url = args.url;
const scenario = args.scenario || 'basic';
const WIDTH = Number(args.width || 640);
const HEIGHT = Number(args.height || 480);

const JOINS = Number(args.joins || 20);

// Never hang CI: the whole run is bounded.
const limitS = scenario === 'joins' ? 60 + 5 * JOINS : 150;
const guard = setTimeout(() => fail(`the browser test took longer than ${limitS} s`), limitS * 1000);

function fail(why) {
  console.error(`browser test FAILED: ${why}`);
  process.exit(1);
}

function check(cond, why) {
  if (!cond) throw new Error(why);
}

async function probe(page) {
  return page.evaluate(() => {
    const v = document.getElementById('video');
    const q = v.getVideoPlaybackQuality();
    const viewer = window.rtcamViewer;
    const audio = v.srcObject?.getAudioTracks?.()[0];
    return {
      frames: q.totalVideoFrames,
      width: v.videoWidth,
      height: v.videoHeight,
      audioTrack: audio ? audio.readyState : null,
      state: viewer?.state ?? null,
      message: viewer?.message ?? null,
      stats: viewer?.stats ?? null,
      latency: viewer?.latency ?? null,
      device: viewer?.deviceStats ?? null,
    };
  });
}

const waitFor = (page, what, pred, timeoutMs) => poll(probe, page, what, pred, timeoutMs);

const playing = (s) => s.state === 'playing' && s.frames > 0;

/** Frames decoded over `ms`, plus picture and audio facts at the end. */
async function measure(page, ms) {
  const a = await probe(page);
  await sleep(ms);
  const b = await probe(page);
  return {
    framesDecoded: b.frames - a.frames,
    width: b.width,
    height: b.height,
    audioTrack: b.audioTrack,
    audioPacketsDelta: (b.stats?.audioPackets ?? 0) - (a.stats?.audioPackets ?? 0),
    fps: b.stats?.fps ?? null,
    rttMs: b.stats?.rttMs ?? null,
    kbps: b.stats?.kbps ?? null,
    latency: b.latency,
    device: b.device,
  };
}

function checkPlayback(name, m, windowS) {
  check(m.framesDecoded >= 60, `${name}: ${m.framesDecoded} frames decoded in ${windowS} s (need >= 60)`);
  check(m.width === WIDTH && m.height === HEIGHT, `${name}: picture ${m.width}x${m.height}, expected ${WIDTH}x${HEIGHT}`);
  check(m.audioTrack === 'live', `${name}: audio track is ${m.audioTrack}, expected live`);
  check(m.audioPacketsDelta > 20 * windowS, `${name}: only ${m.audioPacketsDelta} audio packets in ${windowS} s`);
}

async function open(context, name) {
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.log(`[${name}] ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[${name}] page error: ${e.message}`));
  await page.goto(url);
  return page;
}

/** The header's "camera {id} via {broker host}": present, in sight, naming the page's device. */
async function checkHeader(page, name) {
  const h = await page.evaluate(() => {
    const peer = document.getElementById('peer');
    const box = peer.getBoundingClientRect();
    const viewer = window.rtcamViewer;
    return {
      text: peer.textContent.replace(/\s+/g, ' ').trim(),
      inSight: !!peer.offsetParent && box.top >= 0 && box.bottom <= innerHeight,
      device: viewer?.device ?? null,
      host: viewer ? new URL(viewer.settings.broker).host : null,
    };
  });
  check(h.inSight, `${name}: the header line is not in sight without scrolling`);
  check(
    h.device && h.text.includes(`camera ${h.device}`) && h.text.endsWith(`via ${h.host}`),
    `${name}: the header says ${JSON.stringify(h.text)}, expected camera ${h.device} … via ${h.host}`,
  );
  return h.text;
}

/** What the page shows and sends of the microphone right now. */
async function micProbe(page) {
  return page.evaluate(() => {
    const pc = window.rtcamViewer?.session?.pc;
    return {
      getUserMediaCalls: window.rtcamTest.getUserMediaCalls,
      micTracks: pc ? pc.getSenders().filter((s) => s.track?.kind === 'audio').length : null,
      talkLive: !document.getElementById('talk-live').hidden,
      pressed: document.getElementById('talk').getAttribute('aria-pressed'),
      asking: !document.getElementById('talk-ask').hidden,
      notice: document.getElementById('notice').textContent,
    };
  });
}

const micOff = (m) => m.getUserMediaCalls === 0 && m.micTracks === 0 && !m.talkLive && m.pressed === 'false';

/**
 * Talkback from the page, through its question: Talk opens #talk-ask naming the camera and the
 * broker, and nothing of the microphone is opened or sent until #talk-confirm; #talk-cancel
 * leaves talkback off and says so; the next Talk asks again, and confirming starts talkback.
 */
async function talkWithConsent(page, name) {
  const askShown = async () => {
    await page.click('#talk');
    await page.waitForSelector('#talk-ask', { state: 'visible', timeout: 5_000 });
  };
  await askShown();
  const expected = await page.evaluate(() => {
    const v = window.rtcamViewer;
    return `Send your microphone to camera ${v.device} via ${new URL(v.settings.broker).host}?`;
  });
  const prompt = (await page.textContent('#talk-ask-text')).replace(/\s+/g, ' ').trim();
  check(prompt === expected, `${name}: the question says ${JSON.stringify(prompt)}, expected ${JSON.stringify(expected)}`);
  await sleep(500); // time enough for an eager getUserMedia to show
  const asked = await micProbe(page);
  check(micOff(asked), `${name}: the microphone was used before confirming: ${JSON.stringify(asked)}`);

  await page.click('#talk-cancel');
  await page.waitForSelector('#talk-ask', { state: 'hidden', timeout: 5_000 });
  const cancelled = await micProbe(page);
  check(micOff(cancelled), `${name}: the microphone was used after Cancel: ${JSON.stringify(cancelled)}`);
  check(/not sent/.test(cancelled.notice), `${name}: after Cancel the status line says ${JSON.stringify(cancelled.notice)}`);

  await askShown(); // a cancel is no consent: asked again
  await page.click('#talk-confirm');
  await page.waitForSelector('#talk[aria-pressed="true"]', { timeout: 10_000 });
  check(await page.isVisible('#talk-live'), `${name}: the talkback-live badge is shown`);
  const confirmed = await micProbe(page);
  check(
    confirmed.getUserMediaCalls === 1 && confirmed.micTracks === 1 && !confirmed.asking,
    `${name}: after confirming, the microphone is not sent once: ${JSON.stringify(confirmed)}`,
  );
  return { prompt, asked, cancelled, confirmed };
}

/** Text of the page's overlay message. */
const message = (page) => page.evaluate(() => window.rtcamViewer?.message ?? '');

async function waitMessage(page, what, re, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await message(page);
    if (re.test(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s; the page says: ${JSON.stringify(last)}`);
}

/**
 * The page explains why nothing plays, lists devices when none is given, and plays when
 * opened from file:// (needs --broker-ws and --device: the page's own broker and device).
 */
async function checkMessagesAndFilePage(context, report) {
  const page = await context.newPage();
  // Nothing listens on port 9: the broker is unreachable.
  await page.goto(`${url}?broker=ws://127.0.0.1:9/mqtt`);
  report.brokerDownMessage = await waitMessage(page, 'broker unreachable is explained', /Broker unreachable/, 15_000);
  // A device that never announced itself.
  await page.goto(`${url}?device=no-such-camera`);
  report.unknownDeviceMessage = await waitMessage(page, 'an unknown device is explained', /has not announced itself/, 15_000);
  // No device: the list of devices from their retained status.
  await page.goto(`${url}?device=`);
  await page.waitForSelector(`#device-list a:has-text("${args.device}")`, { timeout: 15_000 });
  report.deviceListed = args.device;
  await page.close();
  // The same page straight from the file system.
  const file = await context.newPage();
  const fileUrl = new URL(`file://${args.dist}/index.html`);
  fileUrl.searchParams.set('broker', args['broker-ws']);
  fileUrl.searchParams.set('device', args.device);
  await file.goto(fileUrl.toString());
  await waitFor(file, 'the page opened from file:// plays', playing, 30_000);
  const m = await measure(file, 2_000);
  check(m.framesDecoded >= 30, `file:// page decoded ${m.framesDecoded} frames in 2 s`);
  report.fileViewer = m;
  await file.close();
}

const browser = await launch([
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
]);
const report = { scenario, url, browser: browser.version() };
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.grantPermissions(['microphone']);
  // Counts the page's getUserMedia calls (talkWithConsent: none before the user confirms).
  await context.addInitScript(() => {
    window.rtcamTest = { getUserMediaCalls: 0 };
    const media = navigator.mediaDevices;
    if (media?.getUserMedia) {
      const real = media.getUserMedia.bind(media);
      media.getUserMedia = (constraints) => {
        window.rtcamTest.getUserMediaCalls += 1;
        return real(constraints);
      };
    }
  });
  const openedAt = Date.now();
  const a = await open(context, 'A');
  await waitFor(a, 'the first viewer plays', playing, 30_000);
  report.openToPlayingMs = Date.now() - openedAt;
  report.header = await checkHeader(a, 'viewer A');

  if (scenario === 'joins') {
    // Answer → first picture of each page load; a load ends the previous session (pagehide
    // hangs up), and the device has its next standby offer ready by then.
    const joinOf = async (page, n) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const ms = await page.evaluate(() => window.rtcamViewer?.joinTimes?.values[0] ?? null);
        if (ms != null) return ms;
        await sleep(20);
      }
      throw new Error(`join ${n}: no picture shown within 10 s of playing`);
    };
    const joins = [await joinOf(a, 1)];
    for (let n = 2; n <= JOINS; n++) {
      await sleep(300);
      await a.goto(url);
      await waitFor(a, `join ${n} plays`, playing, 20_000);
      joins.push(await joinOf(a, n));
    }
    check(joins.every((ms) => ms > 0 && ms < 10_000), `implausible join times: ${joins}`);
    report.joins = joins;
  } else if (scenario === 'latency') {
    // Settle, then the stamps of 10 s (the page keeps the last 300: 10 s at 30 fps).
    await sleep(3_000);
    await a.evaluate(() => {
      const l = window.rtcamViewer.latencies;
      for (const list of [l.values, l.received, l.presented, l.decode]) list.splice(0);
    });
    await sleep(10_000);
    const lists = await a.evaluate(() => {
      const l = window.rtcamViewer.latencies;
      return {
        shown: l.values.slice(),
        received: l.received.slice(),
        presented: l.presented.slice(),
        decode: l.decode.slice(),
      };
    });
    const at = (values, p) => {
      if (!values.length) return null;
      const sorted = values.slice().sort((x, y) => x - y);
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    };
    check(lists.shown.length >= 100, `only ${lists.shown.length} stamped frames shown in 10 s`);
    // Where the time goes: capture → the frame's last packet received (the device, the
    // network), → handed to the compositor (the jitter buffer, the decode, the render
    // delay), → shown (the compositor).
    report.latency = {
      frames: lists.shown.length,
      p50: at(lists.shown, 50),
      p95: at(lists.shown, 95),
      receivedP50: at(lists.received, 50),
      presentedP50: at(lists.presented, 50),
      decodeP50: at(lists.decode, 50),
    };
  } else if (scenario === 'shaped') {
    // Behind a capped link (tests/e2e/network.rs): let the device adapt, then measure 20 s.
    // The picture may be smaller than configured (the device halves it on slow links).
    await sleep(10_000);
    report.viewer = await measure(a, 20_000);
    report.viewer.fpsMeasured = report.viewer.framesDecoded / 20;
  } else if (scenario === 'secure') {
    // The locked-down broker (tests/e2e/browser.rs): wss:// with a CA this browser's profile
    // was told to trust, and an account from the URL.
    const m = await measure(a, 10_000);
    report.viewer = m;
    checkPlayback('viewer', m, 10);
    report.broker = await a.evaluate(() => window.rtcamViewer.settings.broker);
    // The certificate is really checked: by an address it does not list, the broker is
    // unreachable (--wrong-name-broker wss://127.0.0.2:…).
    const wrong = await context.newPage();
    const u = new URL(url);
    u.searchParams.set('broker', args['wrong-name-broker']);
    await wrong.goto(u.href);
    report.wrongNameMessage = await waitMessage(wrong, 'a certificate for another name is refused', /Broker unreachable/, 20_000);
    await wrong.close();
  } else if (scenario === 'basic') {
    const m = await measure(a, 10_000);
    report.viewer = m;
    checkPlayback('viewer', m, 10);
    await checkMessagesAndFilePage(context, report);
  } else {
    const b = await open(context, 'B');
    await waitFor(b, 'the second viewer plays', playing, 30_000);
    const [ma, mb] = await Promise.all([measure(a, 10_000), measure(b, 10_000)]);
    report.viewerA = ma;
    report.viewerB = mb;
    checkPlayback('viewer A', ma, 10);
    checkPlayback('viewer B', mb, 10);

    // Talkback from A: Chromium's fake microphone (a beeping tone) to the device's sink,
    // once A's user said yes to the page's question.
    report.talkConsent = await talkWithConsent(a, 'viewer A');
    report.talkbackStartedAt = Date.now();

    // A third viewer over max_viewers=2 is told that every slot is in use.
    const c = await open(context, 'C');
    const full = await waitFor(c, 'the third viewer shows "full"', (s) => s.state === 'full', 20_000);
    report.fullMessage = full.message;
    check(/viewer slots/.test(full.message), `full message: ${full.message}`);

    await sleep(4000); // talkback keeps flowing meanwhile
    if (args.screenshot) {
      await a.screenshot({ path: args.screenshot });
      report.screenshot = args.screenshot;
    }
    // A leaves (pagehide → hangup): C gets the freed slot and plays.
    const leftAt = Date.now();
    await a.close({ runBeforeUnload: true });
    await waitFor(c, 'the third viewer plays once a slot frees', playing, 30_000);
    report.slotFreedToPlayingMs = Date.now() - leftAt;
    const mc = await measure(c, 3_000);
    report.viewerC = mc;
    check(mc.framesDecoded >= 30, `viewer C: ${mc.framesDecoded} frames in 3 s`);

    // B leaves with the button: the page says so, and still says so after its broker
    // connection has closed (a stopped viewer ignores its old connection's events).
    await b.click('#leave');
    await waitFor(b, 'viewer B shows that it left', (s) => s.state === 'left', 5_000);
    await sleep(3000);
    report.leftMessage = await message(b);
    check(report.leftMessage === 'You left.', `after Leave: ${report.leftMessage}`);
  }
  if (args.screenshot && !report.screenshot) {
    await a.screenshot({ path: args.screenshot });
    report.screenshot = args.screenshot;
  }
  console.log(`REPORT ${JSON.stringify(report)}`);
} catch (e) {
  await browser.close().catch(() => {});
  fail(e.message);
}
await browser.close();
clearTimeout(guard);
