//! The device's own ICE candidates for one session. Those found before the offer was ready
//! or after it was published cannot be heard yet (the viewer subscribes to the session's
//! topics when it answers), so they are held, bounded, and released at the claim; after that
//! they pass straight through. Candidates the offer's SDP already carries are skipped.

use crate::signaling::protocol::CandidateInit;
use crate::signaling::sdp;

use super::MAX_HELD_LOCAL_CANDIDATES;

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct LocalCandidates {
    /// The offer, once known: its candidates need not be sent again, and its first mid is
    /// the one trickled candidates name.
    offer: Option<String>,
    mid: String,
    held: Vec<Option<String>>,
}

impl LocalCandidates {
    /// Learns the published offer and drops the held candidates it already carries.
    pub fn offer_ready(&mut self, sdp: &str) {
        self.mid = sdp::first_mid(sdp).unwrap_or_else(|| "0".into());
        self.held.retain(|c| {
            !c.as_deref()
                .is_some_and(|c| sdp::contains_candidate(sdp, c))
        });
        self.offer = Some(sdp.to_string());
    }

    /// Keeps a candidate until [`LocalCandidates::release`] (bounded: the oldest are kept,
    /// since they are the host candidates most likely to work).
    pub fn hold(&mut self, candidate: Option<String>) {
        if self.in_offer(candidate.as_deref()) {
            return;
        }
        // The end of gathering (`None`, sent once) is always kept: it tells the viewer to
        // stop waiting for more.
        if self.held.len() < MAX_HELD_LOCAL_CANDIDATES || candidate.is_none() {
            self.held.push(candidate);
        }
    }

    /// The held candidates, ready to publish.
    pub fn release(&mut self) -> Vec<CandidateInit> {
        let held = std::mem::take(&mut self.held);
        held.into_iter().map(|c| self.to_init(c)).collect()
    }

    /// A candidate to publish now, unless the offer already carries it.
    pub fn pass(&self, candidate: Option<String>) -> Option<CandidateInit> {
        if self.in_offer(candidate.as_deref()) {
            return None;
        }
        Some(self.to_init(candidate))
    }

    fn in_offer(&self, candidate: Option<&str>) -> bool {
        match (&self.offer, candidate) {
            (Some(sdp), Some(c)) => sdp::contains_candidate(sdp, c),
            _ => false,
        }
    }

    /// webrtc-rs' candidates carry no usable mid: name the offer's first (bundled) section.
    /// `None` (gathering finished) becomes the empty end-of-candidates message.
    fn to_init(&self, candidate: Option<String>) -> CandidateInit {
        match candidate {
            Some(c) => CandidateInit {
                candidate: c,
                sdp_mid: Some(self.mid.clone()),
                sdp_mline_index: Some(0),
                username_fragment: None,
            },
            None => CandidateInit {
                candidate: String::new(),
                sdp_mid: None,
                sdp_mline_index: None,
                username_fragment: None,
            },
        }
    }
}
