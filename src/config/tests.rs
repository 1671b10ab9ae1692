//! Unit tests of the configuration: defaults, validation messages, URLs.

use super::*;

/// Uncomments the settings of the annotated default (lines "# key = …", not "## notes").
fn uncommented(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if !l.starts_with("##") => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn annotated_default_parses_as_is_and_uncommented_to_the_defaults() {
    assert_eq!(Config::parse(ANNOTATED_DEFAULT).unwrap(), Config::default());
    let all_set = uncommented(ANNOTATED_DEFAULT);
    assert!(all_set.contains("\nwidth = 640"), "uncommenting worked");
    assert_eq!(Config::parse(&all_set).unwrap(), Config::default());
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let err = Config::parse("[video]\nwidht = 320\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("widht"), "{err}");
    let err = Config::parse("colour = 1\n").unwrap_err().to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn invalid_values_name_the_key() {
    let err = Config::parse("[video]\nwidth = 641\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("video.width"), "{err}");
    let err = Config::parse("[webrtc]\nmax_viewers = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("webrtc.max_viewers"), "{err}");
    let err = Config::parse("[mqtt]\nurl = \"http://x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("mqtt.url"), "{err}");
    let err = Config::parse("[mqtt]\nmax_message_kib = 16\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("mqtt.max_message_kib"), "{err}");
    let err = Config::parse("device_id = \"a/b\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("device_id"), "{err}");
    let err = Config::parse("[[webrtc.ice_servers]]\nurls = [\"turn:x\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("username"), "{err}");
    let err = Config::parse("[http]\nlisten = \"8080\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("http.listen"), "{err}");
    let err = Config::parse("[http]\nbroker_url = \"mqtt://x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("http.broker_url"), "{err}");
}

#[test]
fn a_video_command_needs_its_command_line_and_what_it_writes() {
    let err = Config::parse("[video]\nsource = \"command\"\nformat = \"h264\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("video.command"), "{err}");
    let err = Config::parse("[video]\nsource = \"command\"\ncommand = \"rpicam-vid -o -\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("video.format") && err.contains("yu12"),
        "{err}"
    );
    let ok = "[video]\nsource = \"command\"\nformat = \"yu12\"\ncommand = \"rpicam-vid --codec yuv420 -o -\"\n";
    assert!(Config::parse(ok).is_ok());
}

#[test]
fn talkback_targets() {
    let mut a = AudioConfig::default();
    assert_eq!(a.talkback_target().unwrap(), TalkbackTarget::Off);
    a.talkback_device = "wav:/tmp/t.wav".into();
    assert_eq!(
        a.talkback_target().unwrap(),
        TalkbackTarget::WavFile {
            path: "/tmp/t.wav".into(),
            max: std::time::Duration::from_secs(600)
        }
    );
    a.talkback_device = "wav:".into();
    assert!(a.talkback_target().is_err());
    a.talkback_device = "plughw:CARD=Speaker".into();
    assert_eq!(
        a.talkback_target().unwrap(),
        TalkbackTarget::Alsa("plughw:CARD=Speaker".into())
    );
}

#[test]
fn hostname_default_is_a_valid_id() {
    let id = Config::default().resolved_device_id();
    assert!(!id.is_empty() && id.chars().all(valid_id_char), "{id}");
}

#[test]
fn the_old_talkback_key_is_still_accepted() {
    let old = Config::parse("[audio]\nplayback_device = \"wav:/tmp/t.wav\"\n").unwrap();
    let new = Config::parse("[audio]\ntalkback_device = \"wav:/tmp/t.wav\"\n").unwrap();
    assert_eq!(old, new);
    assert_eq!(old.audio.talkback_device, "wav:/tmp/t.wav");
}
