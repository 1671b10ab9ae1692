//! The topics a test viewer speaks on: its own (`R/session/{s}/viewer/{id}/…`, rtcam 0.4, the
//! default) or the session's shared ones (the protocol before it, `ViewerOptions::shared_topics`).

/// One viewer's topics in one session.
#[derive(Debug, Clone)]
pub struct SessionTopics {
    session: String,
    viewer: String,
    root: String,
    shared: bool,
}

/// A device → viewer message, by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromDevice {
    Candidate,
    Error,
    Hangup,
    Stats,
}

impl SessionTopics {
    pub fn new(root: &str, session: &str, viewer: &str, shared: bool) -> Self {
        Self {
            session: session.into(),
            viewer: viewer.into(),
            root: root.into(),
            shared,
        }
    }

    fn base(&self) -> String {
        format!("{}/session/{}", self.root, self.session)
    }

    fn own(&self) -> String {
        format!("{}/viewer/{}", self.base(), self.viewer)
    }

    /// What to subscribe to before answering.
    pub fn subscription(&self) -> String {
        if self.shared {
            format!("{}/#", self.base())
        } else {
            format!("{}/#", self.own())
        }
    }

    pub fn answer(&self) -> String {
        if self.shared {
            format!("{}/answer", self.base())
        } else {
            format!("{}/answer", self.own())
        }
    }

    pub fn candidate(&self) -> String {
        if self.shared {
            format!("{}/candidate/viewer", self.base())
        } else {
            format!("{}/candidate", self.own())
        }
    }

    pub fn hangup(&self) -> String {
        if self.shared {
            format!("{}/hangup", self.base())
        } else {
            format!("{}/hangup", self.own())
        }
    }

    /// Which device message `topic` is (`None`: not one, e.g. our own echoed back).
    pub fn device_message(&self, topic: &str) -> Option<FromDevice> {
        if self.shared {
            match topic.strip_prefix(&format!("{}/", self.base()))? {
                "candidate/device" => Some(FromDevice::Candidate),
                "error" => Some(FromDevice::Error),
                "hangup" => Some(FromDevice::Hangup),
                "stats" => Some(FromDevice::Stats),
                _ => None,
            }
        } else {
            match topic.strip_prefix(&format!("{}/device/", self.own()))? {
                "candidate" => Some(FromDevice::Candidate),
                "error" => Some(FromDevice::Error),
                "hangup" => Some(FromDevice::Hangup),
                "stats" => Some(FromDevice::Stats),
                _ => None,
            }
        }
    }
}
