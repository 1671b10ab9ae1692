//! The annotated default (`rtcam print-config`) states the built-in limits: checked against
//! the constants, so the text cannot drift from the code.

#[test]
fn the_annotated_default_states_the_built_in_limits_as_the_code_has_them() {
    use crate::signaling::{mqtt, protocol, session};
    let text = crate::config::ANNOTATED_DEFAULT;
    for expected in [
        format!("at most {} KiB", mqtt::MAX_PACKET / 1024),
        format!("SDPs at most {} KiB", protocol::MAX_SDP_BYTES / 1024),
        format!("ids at most {} characters", protocol::MAX_VIEWER_ID),
        format!(
            "{} each, for at most {} viewers",
            session::MAX_EARLY_CANDIDATES,
            session::MAX_EARLY_VIEWERS
        ),
        format!("until a claim: {}", session::MAX_HELD_LOCAL_CANDIDATES),
        format!(
            "{} video, {} audio",
            crate::fanout::VIDEO_QUEUE,
            crate::fanout::AUDIO_QUEUE
        ),
        format!("{} packets per viewer", crate::fanout::RESEND_HISTORY),
        format!(
            "0.25 s doubling to {} s",
            crate::fanout::CAPTURE_RETRY_MAX.as_secs_f32()
        ),
        format!(
            "{} bad frames in a row",
            crate::fanout::MAX_BAD_FRAMES_IN_A_ROW
        ),
    ] {
        assert!(
            text.contains(&expected),
            "rtcam.default.toml should say {expected:?}"
        );
    }
    assert_eq!(protocol::MAX_SESSION_ID, protocol::MAX_VIEWER_ID);
    assert_eq!(crate::fanout::CAPTURE_RETRY_MIN.as_millis(), 250);
}
