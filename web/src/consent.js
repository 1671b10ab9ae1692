// Asking before the microphone goes out: the first Talk for a device (through a broker) on
// this page load opens the page's own confirmation panel (#talk-ask in index.html), which names
// the camera and the broker. Only a "Send microphone" there lets talkback open the microphone.
// The answer is kept in memory for this page load only, never in storage.

import { $ } from './ui.js';

export class MicConsent {
  constructor() {
    this.granted = new Set(); // consentKey()s (trust.js) the user said yes to
    this.pending = null; // {promise, resolve} while the panel is open
    $('talk-confirm').addEventListener('click', () => this.answer(true));
    $('talk-cancel').addEventListener('click', () => this.answer(false));
    $('talk-ask').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        this.answer(false);
      }
    });
  }

  has(key) {
    return this.granted.has(key);
  }

  grant(key) {
    this.granted.add(key);
  }

  /**
   * Shows the panel for camera `device` via `host`; resolves true (send) or false (cancel,
   * Escape, or dismiss()). Asking again while it is open returns the same answer.
   */
  ask(device, host) {
    if (this.pending) return this.pending.promise;
    $('talk-ask-device').textContent = device;
    $('talk-ask-broker').textContent = host;
    $('talk-ask').hidden = false;
    $('talk').setAttribute('aria-expanded', 'true');
    // The safe choice has the focus: a second Enter on Talk must not send the microphone.
    $('talk-cancel').focus();
    let resolve;
    const promise = new Promise((r) => {
      resolve = r;
    });
    this.pending = { promise, resolve };
    return promise;
  }

  /** Closes the panel as if cancelled (the viewer stopped, new settings). */
  dismiss() {
    this.answer(false, false);
  }

  answer(yes, refocus = true) {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    $('talk-ask').hidden = true;
    $('talk').setAttribute('aria-expanded', 'false');
    if (refocus) $('talk').focus();
    pending.resolve(yes);
  }
}
