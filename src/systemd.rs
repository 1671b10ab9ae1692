//! systemd integration without a library: `sd_notify` messages (`READY=1`, `WATCHDOG=1`,
//! `STOPPING=1`, `STATUS=…`) sent as datagrams to `$NOTIFY_SOCKET`, and the watchdog interval
//! from `$WATCHDOG_USEC`. Outside systemd every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tracing::debug;

/// The notify socket of the service manager, if any.
pub struct Notifier {
    socket: Option<(UnixDatagram, std::path::PathBuf, bool)>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
    pub fn from_env() -> Self {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Self { socket: None };
        };
        let path = std::path::PathBuf::from(path);
        let abstract_ns = path.as_os_str().as_encoded_bytes().first() == Some(&b'@');
        let socket = UnixDatagram::unbound().ok().map(|s| (s, path, abstract_ns));
        Self { socket }
    }

    /// A notifier that sends to the datagram socket at `path` (tests).
    #[cfg(test)]
    pub fn to_path(path: std::path::PathBuf) -> Self {
        let socket = UnixDatagram::unbound().ok().map(|s| (s, path, false));
        Self { socket }
    }

    /// Whether a service manager listens.
    pub fn enabled(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends one notification (e.g. `"READY=1"`). Failures are logged at debug level only:
    /// a missing service manager must never disturb the daemon.
    pub fn notify(&self, message: &str) {
        let Some((socket, path, abstract_ns)) = &self.socket else {
            return;
        };
        let result = if *abstract_ns {
            send_abstract(socket, path, message)
        } else {
            socket.send_to(message.as_bytes(), path).map(|_| ())
        };
        if let Err(e) = result {
            debug!(cause = %e, message, "sd_notify failed");
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(
    socket: &UnixDatagram,
    path: &std::path::Path,
    message: &str,
) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let name = &path.as_os_str().as_encoded_bytes()[1..];
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    socket.send_to_addr(message.as_bytes(), &addr).map(|_| ())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_: &UnixDatagram, _: &std::path::Path, _: &str) -> std::io::Result<()> {
    Err(std::io::Error::other("abstract sockets need Linux"))
}

/// How often to ping the watchdog: half of `$WATCHDOG_USEC`, when it is set for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        if pid != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_a_socket_path() {
        let dir = std::env::temp_dir().join(format!("rtcam-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let n = Notifier {
            socket: Some((UnixDatagram::unbound().unwrap(), path.clone(), false)),
        };
        assert!(n.enabled());
        n.notify("READY=1");
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn abstract_sockets_work_too() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("rtcam-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let n = Notifier {
            socket: Some((
                UnixDatagram::unbound().unwrap(),
                format!("@{name}").into(),
                true,
            )),
        };
        n.notify("WATCHDOG=1");
        let mut buf = [0u8; 64];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn without_systemd_nothing_happens() {
        let n = Notifier { socket: None };
        assert!(!n.enabled());
        n.notify("READY=1");
    }
}
