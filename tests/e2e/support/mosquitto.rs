//! A real mosquitto broker on a free loopback port, for the duration of a test.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running mosquitto; killed on drop.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    pub ws_port: u16,
    bin: std::path::PathBuf,
    conf: std::path::PathBuf,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn binary() -> Option<std::path::PathBuf> {
    [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

impl Mosquitto {
    /// Starts mosquitto, or returns `None` (with a loud message) when it is not installed
    /// outside CI. Under CI (`CI=true`) a missing mosquitto fails the test.
    pub fn start() -> Option<Self> {
        Self::start_with("")
    }

    /// Like [`Mosquitto::start`], with more lines for mosquitto.conf (e.g. an `acl_file`).
    pub fn start_with(extra_conf: &str) -> Option<Self> {
        // socket_domain ipv4 keeps Debian's WebSocket listener on loopback only.
        // Anonymous clients are welcome unless the extra lines say otherwise.
        let anonymous = if extra_conf.contains("allow_anonymous") {
            ""
        } else {
            "allow_anonymous true\n"
        };
        Self::start_config(|port, ws_port| {
            format!(
                "per_listener_settings false\n{anonymous}persistence false\n\
                 listener {port} 127.0.0.1\n\
                 listener {ws_port} 127.0.0.1\nprotocol websockets\nsocket_domain ipv4\n\
                 max_packet_size 1048576\n{extra_conf}\n"
            )
        })
    }

    /// Starts mosquitto with the whole configuration `conf(port, ws_port)` returns (its MQTT
    /// listener on `port` and its WebSocket listener on `ws_port`, both on 127.0.0.1).
    pub fn start_config(conf: impl FnOnce(u16, u16) -> String) -> Option<Self> {
        let Some(bin) = binary() else {
            let msg = "mosquitto is not installed (apt-get install mosquitto); .ci/run installs it";
            if std::env::var("CI")
                .map(|v| v == "true" || v == "1")
                .unwrap_or(false)
            {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        };
        let (port, ws_port) = (free_port(), free_port());
        let dir =
            std::env::temp_dir().join(format!("rtcam-mosquitto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let text = conf(port, ws_port);
        let conf = dir.join("mosquitto.conf");
        std::fs::write(&conf, text).expect("write mosquitto.conf");
        let child = spawn(&bin, &conf);
        let m = Mosquitto {
            child,
            port,
            ws_port,
            bin,
            conf,
            _dir: TempDir(dir),
        };
        m.wait_listening();
        Some(m)
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the broker (no clean shutdown: clients see the connection drop).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same ports (it remembers nothing: persistence is off).
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn(&self.bin, &self.conf);
        self.wait_listening();
    }
}

fn spawn(bin: &std::path::Path, conf: &std::path::Path) -> Child {
    Command::new(bin)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mosquitto")
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
