//! The retained status: what the device offers (from the config) and how its capture devices
//! are doing right now.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Config;
use crate::fanout::FanoutStats;
use crate::signaling::protocol::{AudioInfo, PublishInfo, SourcesState, Status, VideoInfo};
use crate::talkback::TalkbackStats;

/// The online status before any viewer: codecs and sizes from the config.
pub fn template(config: &Config, talkback: bool) -> Status {
    let video = VideoInfo {
        codec: "H264".into(),
        width: config.video.width,
        height: config.video.height,
        fps: config.video.fps,
    };
    let audio = config.audio.enabled.then(|| AudioInfo {
        codec: "opus".into(),
        sample_rate: crate::audio::SAMPLE_RATE,
        channels: 1,
    });
    let has_audio = audio.is_some();
    let mut status = Status::online(0, config.webrtc.max_viewers, video, audio);
    status.talkback = Some(talkback);
    status.sources = Some(SourcesState {
        video: "ok".into(),
        audio: has_audio.then(|| "ok".to_string()),
        talkback: talkback.then(|| "ok".to_string()),
        video_keyframes: None,
    });
    let targets: Vec<PublishInfo> = config
        .publish
        .iter()
        .filter(|t| t.enabled)
        .map(|t| PublishInfo {
            target: t.describe(),
            state: "connecting".into(),
            error: None,
        })
        .collect();
    status.publish = (!targets.is_empty()).then_some(targets);
    status
}

/// The `sources` object for the capture threads' and the talkback sink's current state
/// (`audio` is `None` when the device sends no audio, `talkback` when talkback is off).
pub fn sources(
    stats: &FanoutStats,
    has_audio: bool,
    talkback: Option<&TalkbackStats>,
) -> SourcesState {
    let state = |failing: &AtomicBool| {
        if failing.load(Ordering::Relaxed) {
            "unavailable".to_string()
        } else {
            "ok".to_string()
        }
    };
    SourcesState {
        video: state(&stats.video_failing),
        audio: has_audio.then(|| state(&stats.audio_failing)),
        talkback: talkback.map(|t| state(&t.sink_failing)),
        video_keyframes: stats
            .video_keyframes_periodic
            .load(Ordering::Relaxed)
            .then(|| "periodic".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_describes_the_configured_media() {
        let mut config = Config::default();
        config.audio.enabled = false;
        let s = template(&config, false);
        assert_eq!(s.state, "online");
        assert_eq!(s.viewers, Some(0));
        assert_eq!(s.max_viewers, Some(4));
        assert_eq!(s.audio, Some(None));
        assert_eq!(
            s.video.as_ref().map(|v| (v.width, v.height)),
            Some((640, 480))
        );
        assert_eq!(s.sources.as_ref().map(|s| s.audio.clone()), Some(None));
    }

    #[test]
    fn failing_sources_are_unavailable() {
        let stats = FanoutStats::default();
        assert_eq!(sources(&stats, true, None).video, "ok");
        stats.audio_failing.store(true, Ordering::Relaxed);
        let s = sources(&stats, true, None);
        assert_eq!(
            (s.video.as_str(), s.audio.as_deref()),
            ("ok", Some("unavailable"))
        );
        assert_eq!(s.talkback, None, "no talkback configured");
        assert_eq!(sources(&stats, false, None).audio, None);
        assert_eq!(sources(&stats, true, None).video_keyframes, None);
        stats
            .video_keyframes_periodic
            .store(true, Ordering::Relaxed);
        let s = sources(&stats, true, None);
        assert_eq!(s.video_keyframes.as_deref(), Some("periodic"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["video_keyframes"], "periodic");
        let speaker = TalkbackStats::default();
        assert_eq!(
            sources(&stats, true, Some(&speaker)).talkback.as_deref(),
            Some("ok")
        );
        speaker.sink_failing.store(true, Ordering::Relaxed);
        assert_eq!(
            sources(&stats, true, Some(&speaker)).talkback.as_deref(),
            Some("unavailable")
        );
    }
}
