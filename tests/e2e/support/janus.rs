//! Debian's Janus (`janus`), started by a test on loopback with a configuration written here:
//! the HTTP API on 127.0.0.1:8088 and one VideoRoom room for H.264 and Opus; nothing else
//! loaded that could reach out (other transports, event handlers, loggers disabled).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::Proc;

pub const API: &str = "http://127.0.0.1:8088/janus";
pub const ROOM: u64 = 1234;

pub struct Janus {
    proc: Option<Proc>,
    dir: PathBuf,
}

/// Where Debian put Janus's plugins (`/usr/lib/<multiarch>/janus`).
fn lib_dir() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("janus"))
        .find(|p| p.join("plugins").exists());
    found.unwrap_or_else(|| {
        panic!("Janus is not installed (apt-get install janus; scripts/install-deps.sh test does)")
    })
}

impl Janus {
    /// Writes the configuration into `dir` and starts Janus; returns once its API answers.
    pub fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let lib = lib_dir();
        let conf = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
        conf(
            "janus.jcfg",
            format!(
                "general: {{\n configs_folder = \"{dir}\"\n plugins_folder = \"{lib}/plugins\"\n \
                 transports_folder = \"{lib}/transports\"\n events_folder = \"{lib}/events\"\n \
                 loggers_folder = \"{lib}/loggers\"\n debug_level = 4\n}}\n\
                 media: {{\n rtp_port_range = \"40000-40999\"\n}}\n\
                 nat: {{\n ignore_mdns = true\n}}\n\
                 plugins: {{\n disable = \"libjanus_voicemail.so,libjanus_recordplay.so,\
                 libjanus_sip.so,libjanus_nosip.so,libjanus_textroom.so,libjanus_lua.so,\
                 libjanus_duktape.so,libjanus_audiobridge.so,libjanus_streaming.so,\
                 libjanus_videocall.so,libjanus_echotest.so\"\n}}\n\
                 transports: {{\n disable = \"libjanus_websockets.so,libjanus_rabbitmq.so,\
                 libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so\"\n}}\n\
                 loggers: {{\n disable = \"libjanus_jsonlog.so\"\n}}\n\
                 events: {{\n broadcast = false\n}}\n",
                dir = dir.display(),
                lib = lib.display()
            ),
        );
        conf(
            "janus.transport.http.jcfg",
            "general: {\n json = \"plain\"\n base_path = \"/janus\"\n http = true\n \
             port = 8088\n ip = \"127.0.0.1\"\n https = false\n}\n\
             admin: {\n admin_http = false\n}\n"
                .into(),
        );
        conf(
            "janus.plugin.videoroom.jcfg",
            format!(
                "general: {{\n}}\nroom-{ROOM}: {{\n description = \"rtcam\"\n publishers = 4\n \
                 bitrate = 0\n fir_freq = 10\n audiocodec = \"opus\"\n videocodec = \"h264\"\n \
                 h264_profile = \"42e01f\"\n}}\n"
            ),
        );
        let mut janus = Self {
            proc: None,
            dir: dir.to_path_buf(),
        };
        janus.spawn();
        janus
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("janus.log")).unwrap();
        let proc = Proc::spawn(
            "janus",
            Command::new("janus")
                .arg("-C")
                .arg(self.dir.join("janus.jcfg"))
                .arg("-F")
                .arg(&self.dir)
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        self.proc = Some(proc);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect("127.0.0.1:8088").is_err() {
            assert!(
                Instant::now() < deadline,
                "Janus's HTTP API did not listen within 20 s; see {}",
                self.dir.join("janus.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills Janus (every session, handle and PeerConnection gone) and starts it again.
    pub fn restart(&mut self) {
        self.proc = None; // killed on drop
        std::thread::sleep(Duration::from_millis(200));
        self.spawn();
    }

    /// Janus's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("janus.log")).unwrap_or_default()
    }
}
