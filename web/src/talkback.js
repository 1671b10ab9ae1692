// Talkback: the microphone, sent to the camera's speaker. The audio transceiver is answered
// sendrecv from the start (session.js), so starting and stopping is a replaceTrack on the live
// session, never a renegotiation; a session answered later is given `track` up front.

const CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: false,
};

export class Talkback {
  /** @param {() => object|null} currentSession the live Session, read after every await */
  constructor(currentSession) {
    this.currentSession = currentSession;
    this.track = null; // the microphone track while talking
  }

  get live() {
    return this.track !== null;
  }

  /**
   * Opens the microphone and sends it on the live session. Returns null, or why it could not
   * start (a sentence for the user).
   */
  async start() {
    // getUserMedia only exists in a secure context.
    if (!navigator.mediaDevices?.getUserMedia) {
      return 'Talkback needs a secure page: open the viewer over https:// or from http://localhost.';
    }
    try {
      const media = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
      this.track = media.getAudioTracks()[0];
    } catch (e) {
      return `Microphone unavailable: ${e.message || e.name}`;
    }
    // The permission prompt may have taken a while: send on whatever session is live now.
    await this.currentSession()?.setMic(this.track);
    return null;
  }

  /** Closes the microphone and sends silence again. */
  async stop() {
    this.track?.stop();
    this.track = null;
    await this.currentSession()?.setMic(null);
  }
}
