//! The internet's services for the remote-viewing tests: Debian's coturn (TURN and STUN,
//! with the REST API's shared secret, `use-auth-secret`) and mosquitto (MQTT, and MQTT over
//! WebSocket for the page), each started in the internet namespace with a config written
//! here, on [`INTERNET_IP`].

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::nat::{Host, INTERNET_IP};
use super::process::Proc;

pub const TURN_PORT: u16 = 3478;
pub const MQTT_PORT: u16 = 1883;
pub const MQTT_WS_PORT: u16 = 9001;
pub const REALM: &str = "rtcam.test";

/// coturn and mosquitto, stopped when dropped.
pub struct Services {
    _turn: Proc,
    _broker: Proc,
    /// Holds the configs, coturn's log and `turn-secret`, the REST API secret (the device's
    /// `auth_secret_file`).
    pub dir: PathBuf,
}

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: apt-get install {package} (scripts/install-deps.sh test does)"
    );
}

impl Services {
    pub fn start(internet: &Host, dir: &Path) -> Self {
        require("/usr/bin/turnserver", "coturn");
        require("/usr/sbin/mosquitto", "mosquitto");
        std::fs::create_dir_all(dir).unwrap();
        let secret = format!("test-secret-{}", std::process::id());
        std::fs::write(dir.join("turn-secret"), format!("{secret}\n")).unwrap();
        let conf = dir.join("turnserver.conf");
        std::fs::write(
            &conf,
            format!(
                "listening-ip={INTERNET_IP}\nrelay-ip={INTERNET_IP}\nlistening-port={TURN_PORT}\n\
                 min-port=49152\nmax-port=49352\n\
                 use-auth-secret\nstatic-auth-secret={secret}\nrealm={REALM}\n\
                 fingerprint\nno-tls\nno-dtls\nno-cli\nno-multicast-peers\n\
                 allowed-peer-ip=198.19.0.0-198.19.255.255\n\
                 userdb={db}\npidfile={pid}\nsimple-log\nno-stdout-log\n\
                 log-file={log}\nverbose\n",
                db = dir.join("turndb").display(),
                pid = dir.join("turnserver.pid").display(),
                log = dir.join("turnserver.log").display(),
            ),
        )
        .unwrap();
        let turn = Proc::spawn(
            "coturn (internet namespace)",
            internet.command("/usr/bin/turnserver").arg("-c").arg(&conf),
        );
        let broker_conf = dir.join("mosquitto.conf");
        std::fs::write(
            &broker_conf,
            format!(
                "per_listener_settings false\nallow_anonymous true\npersistence false\n\
                 listener {MQTT_PORT} {INTERNET_IP}\n\
                 listener {MQTT_WS_PORT} {INTERNET_IP}\nprotocol websockets\nsocket_domain ipv4\n\
                 max_packet_size 1048576\n"
            ),
        )
        .unwrap();
        let broker = Proc::spawn(
            "mosquitto (internet namespace)",
            internet
                .command("/usr/sbin/mosquitto")
                .arg("-c")
                .arg(&broker_conf),
        );
        let services = Self {
            _turn: turn,
            _broker: broker,
            dir: dir.to_path_buf(),
        };
        // From the viewer's host, through its NAT: the broker answers.
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((INTERNET_IP, MQTT_PORT)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        services.wait_turn_log("listener opened", Duration::from_secs(20));
        services
    }

    /// Waits until coturn's log has a line containing `needle`.
    pub fn wait_turn_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.turn_log().contains(needle) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// coturn's log so far.
    pub fn turn_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("turnserver.log")).unwrap_or_default()
    }

    /// The device's `[[webrtc.ice_servers]]` for this coturn: STUN always, TURN with the REST
    /// secret when `turn`, credentials valid for `ttl_s`.
    pub fn ice_config(&self, turn: bool, ttl_s: u64) -> String {
        let mut s =
            format!("[[webrtc.ice_servers]]\nurls = [\"stun:{INTERNET_IP}:{TURN_PORT}\"]\n");
        if turn {
            s += &format!(
                "[[webrtc.ice_servers]]\nurls = [\"turn:{INTERNET_IP}:{TURN_PORT}?transport=udp\"]\n\
                 auth_secret_file = \"{}\"\ncredential_ttl_s = {ttl_s}\n",
                self.dir.join("turn-secret").display()
            );
        }
        s
    }
}
