//! Small SDP helpers. webrtc-rs 0.17's `RTCIceCandidate::to_json()` hard-codes `sdpMid: ""`,
//! so the daemon takes the mid of the bundle's first media section from the offer itself.

/// The `a=mid:` of the first media section, with its m-line index (0).
pub fn first_mid(sdp: &str) -> Option<String> {
    let mut in_media = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if line.starts_with("m=") {
            if in_media {
                // The first media section had no mid.
                return None;
            }
            in_media = true;
        } else if in_media {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                return Some(mid.to_string());
            }
        }
    }
    None
}

/// Whether `candidate` (`candidate:…`) already appears as an `a=` line in `sdp`.
pub fn contains_candidate(sdp: &str, candidate: &str) -> bool {
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("a="))
        .any(|l| l == candidate)
}

/// Number of `a=candidate:` lines (for logs and tests).
pub fn candidate_count(sdp: &str) -> usize {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .count()
}

/// Most media sections an answer may have (rtcam offers two).
pub const MAX_MEDIA_SECTIONS: usize = 8;

/// Why `sdp` cannot be a WebRTC answer, checked before it may claim a session, so that junk
/// does not cost the device a peer connection: every line is `x=…`, there are 1 to
/// [`MAX_MEDIA_SECTIONS`] media sections, and each has (itself or at session level) an ICE
/// user fragment and password and a DTLS fingerprint. Whether it fits the offer is still the
/// peer connection's to say.
pub fn check_answer(sdp: &str) -> Result<(), String> {
    if !sdp.starts_with("v=0") {
        return Err("an SDP starts with v=0".into());
    }
    let mut session = [false; 3];
    let mut media: Vec<[bool; 3]> = Vec::new();
    for line in sdp.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(format!(
                "not an SDP line: {:?}",
                line.chars().take(40).collect::<String>()
            ));
        }
        if line.starts_with("m=") {
            media.push([false; 3]);
            if media.len() > MAX_MEDIA_SECTIONS {
                return Err(format!("more than {MAX_MEDIA_SECTIONS} media sections"));
            }
            continue;
        }
        let which = ["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"]
            .iter()
            .position(|p| line.starts_with(p));
        if let Some(i) = which {
            match media.last_mut() {
                Some(m) => m[i] = true,
                None => session[i] = true,
            }
        }
    }
    if media.is_empty() {
        return Err("no media section (m=)".into());
    }
    let names = ["a=ice-ufrag", "a=ice-pwd", "a=fingerprint"];
    for (n, m) in media.iter().enumerate() {
        if let Some(i) = (0..3).find(|&i| !m[i] && !session[i]) {
            return Err(format!("media section {n} has no {}", names[i]));
        }
    }
    Ok(())
}

/// The shape of a browser's answer, shortened.
#[cfg(test)]
pub const TEST_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
    a=fingerprint:sha-256 AB:CD\r\na=group:BUNDLE 0 1\r\n\
    m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=mid:0\r\n\
    m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=mid:1\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_needs_media_ice_credentials_and_a_fingerprint() {
        assert_eq!(check_answer(TEST_ANSWER), Ok(()));
        assert!(check_answer("v=0\r\n").unwrap_err().contains("no media"));
        assert!(check_answer("v=0\r\nthis is not an SDP\r\n")
            .unwrap_err()
            .contains("not an SDP line"));
        let no_pwd = TEST_ANSWER.replace("a=ice-pwd:0123456789abcdefghijkl\r\na=mid:1", "a=mid:1");
        assert!(check_answer(&no_pwd)
            .unwrap_err()
            .contains("media section 1 has no a=ice-pwd"));
        let no_fingerprint = TEST_ANSWER.replace("a=fingerprint:sha-256 AB:CD\r\n", "");
        assert!(check_answer(&no_fingerprint)
            .unwrap_err()
            .contains("fingerprint"));
        let many = format!(
            "{TEST_ANSWER}{}",
            "m=video 9 x\r\n".repeat(MAX_MEDIA_SECTIONS)
        );
        assert!(check_answer(&many).unwrap_err().contains("media sections"));
    }

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\na=group:BUNDLE 0 1\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n\
        a=candidate:1 1 udp 2130706431 198.18.0.1 50000 typ host\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n";

    #[test]
    fn finds_the_first_mid() {
        assert_eq!(first_mid(OFFER).as_deref(), Some("0"));
        assert_eq!(
            first_mid("v=0\r\nm=video 9 x\r\nm=audio 9 x\r\na=mid:1\r\n"),
            None
        );
        assert_eq!(first_mid(""), None);
    }

    #[test]
    fn recognises_candidates_in_the_sdp() {
        assert!(contains_candidate(
            OFFER,
            "candidate:1 1 udp 2130706431 198.18.0.1 50000 typ host"
        ));
        assert!(!contains_candidate(
            OFFER,
            "candidate:2 1 udp 2130706431 198.18.0.1 50001 typ host"
        ));
        assert_eq!(candidate_count(OFFER), 1);
    }
}
