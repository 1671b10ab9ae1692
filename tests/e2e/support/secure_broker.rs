//! The locked-down mosquitto rtcam ships (`deploy/mosquitto-rtcam-secure.conf`), run as it is
//! with only its paths and ports moved: TLS listeners with a certificate of
//! `deploy/broker-ca.sh`, the accounts of `deploy/broker-accounts.sh` and the shipped ACL.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::mosquitto::Mosquitto;

/// A running locked-down broker and the files it was made with.
pub struct SecureBroker {
    pub broker: Mosquitto,
    /// `passwd`, `acl` and `tls/` (`ca.crt`, `server.crt`, …).
    pub dir: PathBuf,
    /// The CA that signed the broker's certificate (for `localhost` and `127.0.0.1`).
    pub ca: PathBuf,
}

impl SecureBroker {
    /// Makes the accounts (`(device id, password)`, `(viewer account, password)`), a CA and
    /// the broker's certificate under a fresh temp dir named after `name`, and starts it.
    pub fn start(name: &str, device: (&str, &str), viewers: (&str, &str)) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("rtcam-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        deploy_script(
            "broker-accounts.sh",
            &dir,
            &["add-device", device.0, device.1],
        );
        deploy_script(
            "broker-accounts.sh",
            &dir,
            &["add-viewer", viewers.0, viewers.1],
        );
        let tls = dir.join("tls");
        deploy_script("broker-ca.sh", &tls, &["server", "localhost", "127.0.0.1"]);
        let broker = Mosquitto::start_config(|p, ws| shipped_conf(&dir, p, ws))?;
        Some(Self {
            broker,
            ca: tls.join("ca.crt"),
            dir,
        })
    }
}

impl Drop for SecureBroker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one of the shipped `deploy/` scripts with `--dir dir`.
fn deploy_script(script: &str, dir: &Path, args: &[&str]) {
    let path = format!("{}/deploy/{script}", env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(&path)
        .arg("--dir")
        .arg(dir)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("run {path}: {e}"));
    assert!(status.success(), "{script} {args:?}");
}

/// The shipped secure configuration with its files under `dir` and its listeners on the
/// test's ports; every other line is as shipped.
fn shipped_conf(dir: &Path, port: u16, ws_port: u16) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/mosquitto-rtcam-secure.conf"
    );
    let shipped = std::fs::read_to_string(path).expect("deploy/mosquitto-rtcam-secure.conf");
    for needed in [
        "listener 8883\n",
        "listener 8884\n",
        "/etc/mosquitto/rtcam/",
    ] {
        assert!(
            shipped.contains(needed),
            "the shipped config has {needed:?}"
        );
    }
    shipped
        .replace("/etc/mosquitto/rtcam/", &format!("{}/", dir.display()))
        // All of loopback (the tests using this have a network namespace of their own): a
        // wrong-name check reaches the broker as 127.0.0.2.
        .replace(
            "listener 8883\n",
            &format!("listener {port}\nsocket_domain ipv4\n"),
        )
        .replace(
            "listener 8884\n",
            &format!("listener {ws_port}\nsocket_domain ipv4\n"),
        )
}
