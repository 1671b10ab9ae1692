//! Talkback: the viewers' microphones played on the device. A viewer's answer may carry its
//! own audio track; its Opus is decoded here and played on the configured sink
//! (`audio.talkback_device`). When several viewers talk, the one who started most recently is
//! heard ([`floor`]).
//!
//! Peers hand RTP payloads to a [`TalkbackSender`] through the [`ViewerAudio`] trait of
//! [`crate::peer`] (a bounded channel; full means drop, so a stuck sink never stalls a peer).
//! One thread decodes and writes to the [`TalkbackSink`]. May import: `peer` (the trait it
//! implements), `config`, and the leaves.

pub mod alsa;
pub mod floor;
pub mod wav;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::{info, warn};

use crate::audio::SAMPLE_RATE;
use crate::backoff::Backoff;
use crate::config::TalkbackTarget;
use crate::peer::ViewerAudio;

/// Packets queued between the peers and the playback thread (about 1 s of 20 ms packets).
const QUEUE: usize = 50;
/// First and largest wait before a failed sink is tried again (the ALSA sink reopens its
/// device on the next write).
const SINK_RETRY_MIN: Duration = Duration::from_millis(200);
const SINK_RETRY_MAX: Duration = Duration::from_secs(10);
/// Largest decoded Opus frame: 120 ms at 48 kHz.
const MAX_FRAME_SAMPLES: usize = 5760;
/// Longest [`Talkback::stop`] waits for the playback thread.
const STOP_WAIT: Duration = Duration::from_millis(300);

/// Errors of the playback side.
#[derive(Debug, thiserror::Error)]
pub enum TalkbackError {
    #[error("talkback sink {target}: {cause}")]
    Io {
        target: String,
        cause: std::io::Error,
    },
    #[error("talkback device {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("talkback: cannot start the Opus decoder: {0}")]
    Decoder(String),
    #[error("talkback: cannot start the playback thread: {0}")]
    Thread(std::io::Error),
}

/// Where decoded talkback goes: 48 kHz mono signed 16-bit samples.
pub trait TalkbackSink: Send {
    /// For logs.
    fn name(&self) -> String;
    /// Plays (or stores) samples. Blocking is allowed: it only delays talkback.
    fn write(&mut self, pcm: &[i16]) -> Result<(), TalkbackError>;
}

/// Opens the sink `audio.talkback_device` names (`None`: talkback off).
pub fn open_sink(target: &TalkbackTarget) -> Result<Option<Box<dyn TalkbackSink>>, TalkbackError> {
    match target {
        TalkbackTarget::Off => Ok(None),
        TalkbackTarget::WavFile { path, max } => {
            Ok(Some(Box::new(wav::WavSink::create(path, *max)?)))
        }
        TalkbackTarget::Alsa(device) => Ok(Some(Box::new(alsa::AlsaSink::open(device)?))),
    }
}

enum Msg {
    Packet { session: String, payload: Bytes },
    Ended { session: String },
    Stop,
}

/// Handed to peers: where their viewer's audio goes.
#[derive(Clone)]
pub struct TalkbackSender {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl TalkbackSender {
    /// One Opus packet from `session`'s viewer. Dropped when the player is behind.
    pub fn packet(&self, session: &str, payload: Bytes) {
        let msg = Msg::Packet {
            session: session.to_string(),
            payload,
        };
        if let Err(TrySendError::Full(_)) = self.tx.try_send(msg) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `session`'s audio ended (hangup, close).
    pub fn ended(&self, session: &str) {
        let _ = self.tx.try_send(Msg::Ended {
            session: session.to_string(),
        });
    }
}

impl ViewerAudio for TalkbackSender {
    fn packet(&self, session: &str, payload: Bytes) {
        TalkbackSender::packet(self, session, payload)
    }

    fn ended(&self, session: &str) {
        TalkbackSender::ended(self, session)
    }
}

/// Counters of the playback thread.
#[derive(Debug, Default)]
pub struct TalkbackStats {
    /// Samples written to the sink.
    pub samples_played: AtomicU64,
    /// Packets that could not be decoded.
    pub undecodable: AtomicU64,
    /// Writes the sink refused (each is followed by a back-off, then a new try).
    pub sink_failures: AtomicU64,
    /// Whether the last write failed (the status then says `"unavailable"`).
    pub sink_failing: AtomicBool,
}

/// The running talkback player.
pub struct Talkback {
    sender: TalkbackSender,
    pub stats: Arc<TalkbackStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Talkback {
    /// Starts the playback thread on `sink`.
    pub fn start(sink: Box<dyn TalkbackSink>) -> Result<Self, TalkbackError> {
        // Fail at start rather than on the first packet.
        opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
            .map_err(|e| TalkbackError::Decoder(e.to_string()))?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let stats = Arc::new(TalkbackStats::default());
        let dropped = Arc::new(AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name("rtcam-talkback".into())
            .spawn({
                let stats = stats.clone();
                let dropped = dropped.clone();
                move || play(rx, sink, &stats, &dropped)
            })
            .map_err(TalkbackError::Thread)?;
        Ok(Self {
            sender: TalkbackSender { tx, dropped },
            stats,
            thread: Some(thread),
        })
    }

    /// A sender for peers.
    pub fn sender(&self) -> TalkbackSender {
        self.sender.clone()
    }

    /// Stops the thread (waits at most [`STOP_WAIT`] for it to finish writing).
    pub fn stop(mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Peers' callbacks may keep senders alive (webrtc-rs never drops them): say stop.
        let _ = self.sender.tx.send(Msg::Stop);
        let deadline = Instant::now() + STOP_WAIT;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if thread.is_finished() {
            let _ = thread.join();
        }
    }
}

fn play(
    rx: Receiver<Msg>,
    mut sink: Box<dyn TalkbackSink>,
    stats: &TalkbackStats,
    dropped: &AtomicU64,
) {
    info!(sink = %sink.name(), "talkback playback ready");
    let mut floor = floor::Floor::default();
    let mut decoders: HashMap<String, opus::Decoder> = HashMap::new();
    let mut pcm = vec![0i16; MAX_FRAME_SAMPLES];
    // After a failed write, packets are dropped until `retry_at`, then the sink is tried
    // again: a speaker that was unplugged or busy comes back without a restart.
    let mut backoff = Backoff::new(SINK_RETRY_MIN, SINK_RETRY_MAX);
    let mut retry_at: Option<Instant> = None;
    // Ends on Stop, or when every sender is gone.
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Stop => break,
            Msg::Ended { session } => {
                decoders.remove(&session);
                floor.remove(&session);
            }
            Msg::Packet { session, payload } => {
                let before = floor.speaker().map(str::to_string);
                let now = Instant::now();
                if !floor.admit(&session, now) || retry_at.is_some_and(|at| now < at) {
                    continue;
                }
                if before.as_deref() != Some(session.as_str()) {
                    info!(%session, "talkback: this viewer is speaking");
                }
                let decoder = match decoders.entry(session.clone()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        match opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono) {
                            Ok(d) => e.insert(d),
                            Err(err) => {
                                warn!(cause = %err, "talkback: Opus decoder");
                                continue;
                            }
                        }
                    }
                };
                let n = match decoder.decode(&payload, &mut pcm, false) {
                    Ok(n) => n,
                    Err(_) => {
                        stats.undecodable.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                if let Err(e) = sink.write(&pcm[..n]) {
                    let wait = backoff.failed();
                    stats.sink_failures.fetch_add(1, Ordering::Relaxed);
                    stats.sink_failing.store(true, Ordering::Relaxed);
                    warn!(cause = %e, retry_in_ms = wait.as_millis() as u64, "talkback sink failed");
                    retry_at = Some(Instant::now() + wait);
                    continue;
                }
                if retry_at.take().is_some() {
                    info!(sink = %sink.name(), "talkback sink works again");
                }
                stats.sink_failing.store(false, Ordering::Relaxed);
                backoff.succeeded();
                stats.samples_played.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
    let lost = dropped.load(Ordering::Relaxed);
    info!(
        samples = stats.samples_played.load(Ordering::Relaxed),
        dropped_packets = lost,
        "talkback playback stopped"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Arc<Mutex<Vec<i16>>>);
    impl TalkbackSink for Collect {
        fn name(&self) -> String {
            "memory".into()
        }
        fn write(&mut self, pcm: &[i16]) -> Result<(), TalkbackError> {
            self.0.lock().unwrap().extend_from_slice(pcm);
            Ok(())
        }
    }

    fn tone_packets(count: usize, hz: f32) -> Vec<Bytes> {
        let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
            .expect("encoder");
        let mut out = vec![0u8; 1500];
        (0..count)
            .map(|i| {
                let frame: Vec<i16> = (0..960)
                    .map(|n| {
                        let t = (i * 960 + n) as f32 / 48_000.0;
                        ((t * hz * std::f32::consts::TAU).sin() * 8000.0) as i16
                    })
                    .collect();
                let n = enc.encode(&frame, &mut out).expect("encode");
                Bytes::copy_from_slice(&out[..n])
            })
            .collect()
    }

    /// Refuses its first `fail` writes, then collects.
    struct Flaky {
        fail: usize,
        got: Arc<Mutex<Vec<i16>>>,
    }
    impl TalkbackSink for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }
        fn write(&mut self, pcm: &[i16]) -> Result<(), TalkbackError> {
            if self.fail > 0 {
                self.fail -= 1;
                return Err(TalkbackError::Device {
                    device: "flaky".into(),
                    reason: "unplugged".into(),
                });
            }
            self.got.lock().unwrap().extend_from_slice(pcm);
            Ok(())
        }
    }

    #[test]
    fn a_failing_sink_is_tried_again_after_the_back_off() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Flaky {
            fail: 2,
            got: got.clone(),
        };
        let tb = Talkback::start(Box::new(sink)).unwrap();
        let tx = tb.sender();
        let mut packets = tone_packets(8, 440.0).into_iter();
        let stats = tb.stats.clone();
        let failures = |n: u64| {
            // Bounded: the player thread handles a packet within milliseconds.
            for _ in 0..500 {
                if stats.sink_failures.load(Ordering::Relaxed) >= n {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("the sink was not tried {n} times");
        };
        // Fails; the next packet, inside the back-off, is dropped without a write.
        tx.packet("s1", packets.next().unwrap());
        tx.packet("s1", packets.next().unwrap());
        failures(1);
        std::thread::sleep(SINK_RETRY_MIN + Duration::from_millis(100));
        // Tried again, fails again: the wait doubles.
        tx.packet("s1", packets.next().unwrap());
        failures(2);
        std::thread::sleep(SINK_RETRY_MIN * 2 + Duration::from_millis(100));
        for p in packets {
            tx.packet("s1", p);
        }
        tb.stop();
        assert_eq!(stats.sink_failures.load(Ordering::Relaxed), 2);
        assert_eq!(
            got.lock().unwrap().len(),
            5 * 960,
            "played again after the failures"
        );
    }

    #[test]
    fn decodes_one_speaker_into_the_sink() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let tb = Talkback::start(Box::new(Collect(got.clone()))).unwrap();
        let tx = tb.sender();
        // The queue holds 50 packets; these 26 all fit.
        for p in tone_packets(25, 440.0) {
            tx.packet("s1", p);
        }
        tx.packet("s1", Bytes::from_static(b"\xff\xff\xff not opus"));
        let stats = tb.stats.clone();
        tb.stop();
        let samples = got.lock().unwrap();
        assert_eq!(samples.len(), 25 * 960, "25 frames of 20 ms decoded");
        let rms = (samples[4800..]
            .iter()
            .map(|&s| (s as f64).powi(2))
            .sum::<f64>()
            / (samples.len() - 4800) as f64)
            .sqrt();
        assert!(rms > 2000.0, "the tone is audible: rms {rms}");
        assert_eq!(stats.undecodable.load(Ordering::Relaxed), 1);
    }
}
