//! The session machine's actions, carried out: peers are created and commanded, messages
//! published, the fan-out told how many viewers watch.

use tracing::info;

use super::event_loop::{Daemon, Prepared};
use super::peers::PeerCommand;
use crate::signaling::session::Action;

impl Daemon {
    pub(super) fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            self.execute_one(action);
        }
    }

    fn execute_one(&mut self, action: Action) {
        match action {
            Action::PrepareStandby { session } => {
                let factory = self.factory.clone();
                let tx = self.prepared_tx.clone();
                tokio::spawn(async move {
                    let result = factory.create_offer(session.clone()).await;
                    let _ = tx.send(Prepared { session, result }).await;
                });
            }
            // Retained state goes out only while the broker is up (connected and our
            // subscriptions granted): `MqttConnected` publishes it all again anyway, and an
            // offer or "online" queued earlier would reach the broker before the device can
            // hear a single answer.
            Action::PublishOffer { session, sdp } if self.broker_up() => {
                self.out.offer(session, sdp)
            }
            Action::ClearOffer if self.broker_up() => self.out.clear_offer(),
            Action::PublishOffer { .. } | Action::ClearOffer => {}
            Action::ApplyAnswer {
                session,
                sdp,
                viewer,
                route,
            } => {
                self.out.address(&session, viewer, route);
                self.peers.send(&session, PeerCommand::Answer(sdp))
            }
            Action::ApplyCandidate { session, candidate } => {
                self.peers.send(&session, PeerCommand::Candidate(candidate))
            }
            Action::PublishCandidate { session, candidate } => {
                self.out.device_candidate(&session, &candidate)
            }
            Action::ClosePeer {
                session,
                reason,
                notify,
            } => {
                self.peers.close(&session);
                if notify {
                    self.out.hangup(&session, reason);
                }
                self.out.forget(&session);
            }
            Action::SendError {
                session,
                viewer,
                code,
                message,
                route,
            } => {
                info!(%session, %viewer, ?code, %message, "telling viewer");
                self.out.error(&session, viewer, code, message, route);
            }
            Action::PublishStatus { viewers } => {
                self.out.status.viewers = Some(viewers);
                if self.broker_up() {
                    self.out.publish_status();
                }
                self.notify_status();
            }
            Action::PublishOffline => self.out.offline(),
            Action::SetActiveViewers { connected } => {
                self.viewers_connected = connected;
                let live = self.publishing_live();
                self.media.set_active_viewers(connected + live);
            }
            Action::RequestKeyframe => self.media.request_keyframe(),
        }
    }
}
