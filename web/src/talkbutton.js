// The Talk button: stops talkback when it is on; otherwise asks first, once per page load for
// this device and broker (consent.js), then opens the microphone and sends it on the live
// session (talkback.js). The viewer lets one press through at a time (viewer.js).

import { brokerHost, consentKey } from './trust.js';

/**
 * One press for `viewer`: its device, settings, consent, talkback and ui; `viewer.stopped`
 * is read again after every await (left or replaced meanwhile).
 */
export async function switchTalk(viewer) {
  const { consent, device, settings, talkback, ui } = viewer;
  if (talkback.live) {
    await talkback.stop();
    ui.setTalking(false);
    return;
  }
  if (!device) {
    ui.notice('Pick a camera first.');
    return;
  }
  // The first Talk for this device and broker on this page load asks first (consent.js).
  const key = consentKey(settings);
  if (!consent.has(key)) {
    const yes = await consent.ask(device, brokerHost(settings.broker));
    if (viewer.stopped) return;
    if (!yes) {
      ui.notice(`Talkback is off: your microphone was not sent to ${device}.`);
      return;
    }
    consent.grant(key);
  }
  const why = await talkback.start();
  if (viewer.stopped) {
    // Left or replaced while the browser asked for the microphone.
    await talkback.stop();
    return;
  }
  if (why) ui.notice(why);
  else ui.setTalking(true);
}
