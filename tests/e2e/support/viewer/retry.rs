//! Joining the way the viewer page does when other viewers join at the same moment.

use std::time::Duration;

use super::{Viewer, ViewerOptions};

impl Viewer {
    /// Joins like the viewer page does when others join at the same moment: when another
    /// viewer claimed the offer first (`taken`), waits for the next one and answers that.
    /// Returns once connected.
    pub async fn join_connected(opts: ViewerOptions, attempts: usize) -> Result<Viewer, String> {
        for _ in 0..attempts {
            let v = Self::join(opts.clone()).await?;
            // 25 s: with a hundred viewers churning next to another streaming test on two
            // cores, one handshake in a few hundred has been seen to take over 15 s.
            let settled = v
                .wait_until(Duration::from_secs(25), |s| {
                    s.connected || !s.errors.is_empty()
                })
                .await;
            if settled && v.seen.lock().unwrap().connected {
                return Ok(v);
            }
            let (errors, candidates) = {
                let seen = v.seen.lock().unwrap();
                (seen.errors.clone(), seen.device_candidates)
            };
            let state = v.pc.connection_state();
            v.pc.close().await.ok();
            if !errors.iter().any(|e| e["code"] == "taken") {
                return Err(format!(
                    "session {} not connected within 25 s (state {state}, {candidates} device \
                     candidates trickled, errors {errors:?})",
                    v.session
                ));
            }
        }
        Err(format!("offer taken by others {attempts} times in a row"))
    }
}
