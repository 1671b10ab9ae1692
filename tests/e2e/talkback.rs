//! Talkback end to end: the test viewer adds its own Opus track (a 600 Hz tone) to its answer,
//! the device decodes it and plays it into its sink (a WAV file here), and the samples that
//! arrive there carry the tone.

use std::time::Duration;

use crate::support;

use support::viewer::{Viewer, ViewerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_audio_reaches_the_playback_sink() {
    if !support::netns::enter(module_path!(), "viewer_audio_reaches_the_playback_sink") {
        return;
    }
    let wav = std::env::temp_dir().join(format!("rtcam-talkback-{}.wav", std::process::id()));
    let port = support::embedded_broker();
    let mut config = support::device_config(port, "cam-talkback");
    config.audio.talkback_device = format!("wav:{}", wav.display());
    let device = support::Device::start(config);

    let mut opts = ViewerOptions::new(port, "cam-talkback", "viewer-talking");
    opts.talk_hz = Some(600.0);
    let viewer = Viewer::join(opts).await.expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    viewer.hangup().await;
    device.stop().await;

    let samples = rtcam::talkback::wav::read_samples(&wav).expect("talkback WAV");
    std::fs::remove_file(&wav).ok();
    let seconds = samples.len() as f64 / 48_000.0;
    // Skip the decoder's first 100 ms, then count zero crossings: 600 Hz = 1200 per second.
    let body = &samples[samples.len().min(4800)..];
    let crossings = body.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    let per_second = crossings as f64 / (body.len() as f64 / 48_000.0);
    let peak = body.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    println!("TALKBACK {seconds:.2} s played, {per_second:.0} zero crossings/s, peak {peak}");
    assert!(
        seconds >= 2.0,
        "at least 2 s of talkback played: {seconds:.2} s"
    );
    assert!(peak > 5000, "the tone is loud enough: peak {peak}");
    assert!(
        (1100.0..=1300.0).contains(&per_second),
        "the 600 Hz tone arrives as 600 Hz: {per_second:.0} crossings/s"
    );
}
