// One viewing session: the browser's RTCPeerConnection answering the device's standby offer
// (its own tracks, the answer, local and remote descriptions, ICE candidates, remote tracks).

/**
 * Asks the browser to play a track as soon as it can: a camera is watched live, and the
 * browser's default playout delay is tuned for calls (smoothness over latency). The standard
 * `jitterBufferTarget` (ms) where there is one, and Chromium's older `playoutDelayHint` (s),
 * which also switches Chromium to rendering each frame as soon as it is decoded.
 */
export function askForLowDelay(receiver) {
  try {
    if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0;
    if ('playoutDelayHint' in receiver) receiver.playoutDelayHint = 0;
  } catch (e) {
    console.warn('rtcam: the browser refused a low playout delay', e);
  }
}

export class Session {
  /**
   * @param {object} offer    {session, type: 'offer', sdp, ice_servers (optional)}
   * @param {object} opts     {iceServers, iceTransportPolicy ('all', or 'relay': TURN only),
   *                          micTrack (or null), lowDelay (ask for the shortest playout delay)}
   * @param {object} on       callbacks: candidate(init | null), state(connectionState), stream(MediaStream)
   */
  constructor(offer, opts, on) {
    this.id = offer.session;
    this.offer = offer;
    this.on = on;
    this.stream = new MediaStream();
    this.pendingRemote = [];
    this.closed = false;
    this.answeredAt = null; // performance.now() when the answer went out
    this.pc = new RTCPeerConnection({
      iceServers: opts.iceServers,
      iceTransportPolicy: opts.iceTransportPolicy ?? 'all',
    });
    this.pc.onicecandidate = (e) => {
      if (this.closed) return;
      if (e.candidate) {
        this.on.candidate({
          candidate: e.candidate.candidate,
          sdpMid: e.candidate.sdpMid,
          sdpMLineIndex: e.candidate.sdpMLineIndex,
          usernameFragment: e.candidate.usernameFragment ?? undefined,
        });
      } else {
        this.on.candidate(null);
      }
    };
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) this.on.state(this.pc.connectionState);
    };
    this.pc.ontrack = (e) => {
      if (opts.lowDelay !== false) askForLowDelay(e.receiver);
      this.stream.addTrack(e.track);
      this.on.stream(this.stream);
    };
    this.micTrack = opts.micTrack;
  }

  /** Applies the offer and returns the answer SDP. */
  async answer() {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: this.offer.sdp });
    // The device's audio m-line is sendrecv: answer sendrecv so talkback can start later by
    // replacing the (empty) track, without renegotiation.
    for (const t of this.pc.getTransceivers()) {
      if (t.receiver.track.kind === 'audio') {
        t.direction = 'sendrecv';
        if (this.micTrack) await t.sender.replaceTrack(this.micTrack);
      }
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    for (const c of this.pendingRemote.splice(0)) await this.addRemoteCandidate(c);
    return this.pc.localDescription.sdp;
  }

  /** A candidate from the device (`candidate: ''` ends the trickle). */
  async addRemoteCandidate(init) {
    if (this.closed) return;
    if (!this.pc.remoteDescription) {
      this.pendingRemote.push(init);
      return;
    }
    try {
      await this.pc.addIceCandidate(init.candidate ? init : null);
    } catch (e) {
      console.warn('rtcam: device candidate not applied', init, e);
    }
  }

  /** Starts (track) or stops (null) sending the microphone on the audio transceiver. */
  async setMic(track) {
    this.micTrack = track;
    const audio = this.pc
      .getTransceivers()
      .find((t) => t.receiver.track.kind === 'audio' && !t.stopped);
    if (!audio) return false;
    await audio.sender.replaceTrack(track);
    return true;
  }

  get hasAudio() {
    return this.pc.getTransceivers().some((t) => t.receiver.track.kind === 'audio');
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
  }
}
