// Subscribes to rtcam's feed in a Janus VideoRoom with janus.js, the way a web page in front
// of an SFU would, and keeps what a test reads in window.sub: state, the stamped frames
// decoded (distinct frame numbers), sessions started. After an error or Janus going away it
// starts over every second.
import { StampReader } from './stamp.js';

const q = new URLSearchParams(location.search);
const server = q.get('janus');
const room = Number(q.get('room'));
const display = q.get('display');
const video = document.getElementById('video');

const sub = { state: 'starting', frames: 0, lastFrame: null, sessions: 0, errors: [] };
window.sub = sub;
const seen = new Set();
new StampReader(video, (s) => {
  if (!seen.has(s.frame)) {
    seen.add(s.frame);
    sub.frames += 1;
    sub.lastFrame = s.frame;
  }
  if (seen.size > 10000) seen.clear();
}).start();

let janus = null;
let retry = null;
let generation = 0;

/** A callback of the current attempt only: an old session's late news is ignored. */
function current(fn) {
  const mine = generation;
  return (...args) => {
    if (mine === generation) fn(...args);
  };
}

function fail(why) {
  if (retry) return;
  sub.state = 'retrying';
  sub.errors.push(String(why).slice(0, 200));
  if (sub.errors.length > 20) sub.errors.shift();
  // The old session's own callbacks (its cleanup among them) must not end the next one.
  generation += 1;
  const old = janus;
  retry = setTimeout(() => {
    retry = null;
    try {
      old?.destroy({ cleanupHandles: true, notifyDestroyed: false });
    } catch {
      // already gone
    }
    start();
  }, 1000);
}

/** The publisher's id in the room, once it is there. */
function findPublisher(handle) {
  return new Promise((resolve, reject) => {
    handle.send({
      message: { request: 'listparticipants', room },
      success: (r) => {
        const p = (r.participants || []).find((x) => x.publisher && x.display === display);
        if (p) resolve(p.id);
        else reject(new Error(`no publisher named ${display} in room ${room} yet`));
      },
      error: reject,
    });
  });
}

function subscribe(feed) {
  let handle = null;
  janus.attach({
    plugin: 'janus.plugin.videoroom',
    success: current((h) => {
      handle = h;
      handle.send({ message: { request: 'join', room, ptype: 'subscriber', streams: [{ feed }] } });
    }),
    error: current(fail),
    onmessage: current((msg, jsep) => {
      if (msg.error) fail(msg.error);
      if (!jsep) return;
      handle.createAnswer({
        jsep,
        success: (answer) => handle.send({ message: { request: 'start', room }, jsep: answer }),
        error: current(fail),
      });
    }),
    onremotetrack: current((track, _mid, on) => {
      if (!on || track.kind !== 'video') return;
      video.srcObject = new MediaStream([track]);
      video.play().catch(() => {});
      sub.state = 'playing';
    }),
    oncleanup: current(() => fail('the subscription was cleaned up')),
  });
}

function start() {
  sub.sessions += 1;
  sub.state = 'connecting';
  janus = new Janus({
    server,
    success: current(() =>
      janus.attach({
        plugin: 'janus.plugin.videoroom',
        success: current((lookup) =>
          findPublisher(lookup)
            .then(current((feed) => subscribe(feed)))
            .catch(current(fail)),
        ),
        error: current(fail),
      }),
    ),
    error: current(fail),
    destroyed: current(() => fail('the Janus session ended')),
  });
}

Janus.init({ debug: false, callback: start });
