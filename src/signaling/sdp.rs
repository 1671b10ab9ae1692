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

#[cfg(test)]
mod tests {
    use super::*;

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
