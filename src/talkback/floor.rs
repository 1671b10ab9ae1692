//! Who is heard when several viewers talk at once: the viewer who **started talking most
//! recently** holds the floor; the others are dropped until they pause and start again. A
//! viewer "starts talking" with its first packet after [`PAUSE`] of silence. Pure logic, driven
//! by the caller's clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Silence after which a viewer's next packet counts as starting to talk again.
pub const PAUSE: Duration = Duration::from_millis(600);

/// The speaker selection state.
#[derive(Debug, Default)]
pub struct Floor {
    last_packet: HashMap<String, Instant>,
    speaker: Option<String>,
}

impl Floor {
    /// A packet from `session` arrived at `now`: returns whether to play it.
    pub fn admit(&mut self, session: &str, now: Instant) -> bool {
        let started = match self.last_packet.get(session) {
            Some(&last) => now.saturating_duration_since(last) >= PAUSE,
            None => true,
        };
        self.last_packet.insert(session.to_string(), now);
        if started {
            self.speaker = Some(session.to_string());
        }
        self.speaker.as_deref() == Some(session)
    }

    /// The session that holds the floor, if any.
    pub fn speaker(&self) -> Option<&str> {
        self.speaker.as_deref()
    }

    /// A session ended: forget it (and release the floor if it held it).
    pub fn remove(&mut self, session: &str) {
        self.last_packet.remove(session);
        if self.speaker.as_deref() == Some(session) {
            self.speaker = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    #[test]
    fn the_most_recent_starter_is_heard() {
        let t0 = Instant::now();
        let mut f = Floor::default();
        // A talks alone.
        assert!(f.admit("a", t0));
        assert!(f.admit("a", t0 + FRAME));
        // B starts while A goes on: B takes the floor, A is dropped.
        assert!(f.admit("b", t0 + 2 * FRAME));
        assert!(!f.admit("a", t0 + 2 * FRAME));
        assert!(f.admit("b", t0 + 3 * FRAME));
        assert!(!f.admit("a", t0 + 3 * FRAME));
        assert_eq!(f.speaker(), Some("b"));
        // A pauses while B keeps talking; then A starts again and takes the floor back.
        let mut t = t0 + 3 * FRAME;
        while t < t0 + 3 * FRAME + PAUSE {
            t += FRAME;
            assert!(f.admit("b", t));
        }
        assert!(f.admit("a", t));
        assert!(!f.admit("b", t + FRAME));
        assert_eq!(f.speaker(), Some("a"));
    }

    #[test]
    fn a_continuous_talker_keeps_the_floor_until_someone_starts() {
        let t0 = Instant::now();
        let mut f = Floor::default();
        for i in 0..100 {
            assert!(f.admit("a", t0 + i * FRAME));
        }
        assert_eq!(f.speaker(), Some("a"));
    }

    #[test]
    fn a_leaving_speaker_releases_the_floor() {
        let t0 = Instant::now();
        let mut f = Floor::default();
        assert!(f.admit("a", t0));
        assert!(f.admit("b", t0 + FRAME));
        assert!(!f.admit("a", t0 + 2 * FRAME));
        f.remove("b");
        assert_eq!(f.speaker(), None);
        // A has not paused, but nobody else holds the floor: A's next start is needed...
        assert!(!f.admit("a", t0 + 3 * FRAME));
        // ...which comes after a pause.
        assert!(f.admit("a", t0 + 3 * FRAME + PAUSE));
    }
}
