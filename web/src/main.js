// The rtcam viewer page: reads the settings, starts a Viewer (viewer.js) and wires the page's
// controls to it. A new set of settings from the form starts a new Viewer; the microphone
// consent (consent.js) outlives viewers but not the page load.

import { MicConsent } from './consent.js';
import { loadSettings } from './settings.js';
import { $, showPeer, showSettings } from './ui.js';
import { Viewer } from './viewer.js';

async function main() {
  const settings = await loadSettings(location);
  showSettings(settings);
  $('stats').hidden = !settings.stats;
  $('toggle-stats').setAttribute('aria-pressed', String(settings.stats));
  const consent = new MicConsent();
  let viewer = new Viewer(settings, consent);
  viewer.start();

  $('unmute').addEventListener('click', () => {
    const video = $('video');
    video.muted = !video.muted;
    $('unmute').textContent = video.muted ? 'Unmute' : 'Mute';
    video.play().catch(() => {});
  });
  $('talk').addEventListener('click', () => viewer.toggleTalk());
  $('toggle-stats').addEventListener('click', () => {
    const stats = $('stats');
    stats.hidden = !stats.hidden;
    $('toggle-stats').setAttribute('aria-pressed', String(!stats.hidden));
  });
  $('fullscreen').addEventListener('click', () => $('stage').requestFullscreen?.());
  $('leave').addEventListener('click', () => viewer.leave());
  $('settings').addEventListener('submit', (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const next = { ...settings };
    for (const [k, v] of form) next[k] = String(v).trim();
    // Keep the shareable part in the address; never the password.
    const url = new URL(location.href);
    for (const k of ['broker', 'prefix', 'device', 'username']) {
      if (next[k]) url.searchParams.set(k, next[k]);
      else url.searchParams.delete(k);
    }
    history.replaceState(null, '', url);
    viewer.stop('left');
    $('devices').hidden = true;
    Object.assign(settings, next);
    showPeer(settings);
    viewer = new Viewer(settings, consent);
    viewer.start();
  });
  // Free the slot at once when the tab goes away (the device would notice within seconds).
  addEventListener('pagehide', () => viewer.stop('left', true));
}

main();
