//! The `rtcam` binary: parses the command line and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// WebRTC camera daemon: streams H.264/Opus to browsers, signaling over MQTT.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run against an external MQTT broker.
    Run {
        /// Config file (TOML). Without it, /etc/rtcam/rtcam.toml is used if it exists,
        /// otherwise the built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Zero-setup demo: embedded MQTT broker + synthetic camera and tone + the daemon.
    Demo {
        /// MQTT over TCP listener of the embedded broker.
        #[arg(long, default_value = "127.0.0.1:1883")]
        broker_listen: SocketAddr,
        /// MQTT over WebSocket listener of the embedded broker (for browsers).
        #[arg(long, default_value = "127.0.0.1:8083")]
        broker_ws_listen: SocketAddr,
        /// Device id (topic root rtcam/{device-id}).
        #[arg(long, default_value = "demo")]
        device_id: String,
        /// Where the viewer page is served.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http_listen: SocketAddr,
        /// Directory of the built viewer (default: search ../share/rtcam/www next to the
        /// binary, /usr/share/rtcam/www, ./web/dist).
        #[arg(long)]
        web_root: Option<PathBuf>,
        /// WAV file that receives the viewers' talkback (default: rtcam-demo-talkback.wav in
        /// the temporary directory, unless the config sets audio.talkback_device).
        #[arg(long)]
        talkback_wav: Option<PathBuf>,
        /// Optional config file for everything else (video size, viewers, ...).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the annotated default configuration.
    PrintConfig,
    /// List cameras and sound devices and the configuration rtcam would pick.
    Probe {
        /// Config file whose video size/rate/format to match (default: built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a config file (exit 0 when it is valid).
    CheckConfig {
        /// Config file (TOML); default /etc/rtcam/rtcam.toml.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the device's retained status from the broker; exit 0 when online, 1 otherwise.
    Status {
        /// Config file naming the broker and device (default /etc/rtcam/rtcam.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Wait up to this many seconds for the device to come online.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
}

const SYSTEM_CONFIG: &str = "/etc/rtcam/rtcam.toml";

fn load(path: Option<PathBuf>) -> anyhow::Result<rtcam::Config> {
    match path {
        Some(p) => Ok(rtcam::Config::load(&p)?),
        None if std::path::Path::new(SYSTEM_CONFIG).exists() => {
            rtcam::Config::load(SYSTEM_CONFIG.as_ref()).context("loading the system config")
        }
        None => Ok(rtcam::Config::default()),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::PrintConfig = cli.command {
        print!("{}", rtcam::config::ANNOTATED_DEFAULT);
        return std::process::ExitCode::SUCCESS;
    }
    match run(cli) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            // One readable line with the whole cause chain, no backtrace.
            eprintln!("rtcam: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a command; `Ok(false)` means "ran, but the answer is no" (exit code 1).
fn run(cli: Cli) -> anyhow::Result<bool> {
    if let Command::Probe { config } = &cli.command {
        let config = match config {
            Some(p) => rtcam::Config::load(p)?,
            None => rtcam::Config::default(),
        };
        let cameras = rtcam::probe::cameras();
        let pcms = rtcam::probe::pcms();
        let libcamera = rtcam::probe::libcamera();
        print!(
            "{}",
            rtcam::probe::report(&config, &cameras, &libcamera, &pcms)
        );
        return Ok(true);
    }
    if let Command::CheckConfig { config } = &cli.command {
        let path = config.clone().unwrap_or_else(|| SYSTEM_CONFIG.into());
        let c = rtcam::Config::load(&path)?;
        // Whether a password was found, never what it is.
        let login = match (c.mqtt.username.is_empty(), c.mqtt.password.is_empty()) {
            (true, true) => "anonymous".to_string(),
            (true, false) => "no user name, a password set".to_string(),
            (false, p) => format!(
                "user {}, {}",
                c.mqtt.username,
                if p { "no password" } else { "a password set" }
            ),
        };
        println!(
            "{}: valid (device {}, broker {} ({login}), {}x{}@{}, max {} viewers)",
            path.display(),
            c.resolved_device_id(),
            c.mqtt.url,
            c.video.width,
            c.video.height,
            c.video.fps,
            c.webrtc.max_viewers
        );
        for line in rtcam::config::ice::summary(&c.webrtc.ice_servers) {
            println!("  ICE server {line}");
        }
        return Ok(true);
    }
    rtcam::telemetry::init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Run { config } => {
                let config = load(config)?;
                rtcam::run(config, rtcam::shutdown_signal()).await?;
            }
            Command::Demo {
                broker_listen,
                broker_ws_listen,
                device_id,
                http_listen,
                web_root,
                talkback_wav,
                config,
            } => {
                let opts = rtcam::app::commands::DemoOptions {
                    broker_listen,
                    broker_ws_listen,
                    device_id,
                    http_listen,
                    web_root,
                    talkback_wav,
                };
                rtcam::app::commands::demo(load(config)?, opts, rtcam::shutdown_signal()).await?;
            }
            Command::Status { config, wait } => {
                let config = load(config)?;
                let wait = std::time::Duration::from_secs(wait);
                return Ok(rtcam::app::commands::print_status(&config, wait).await?);
            }
            Command::PrintConfig | Command::CheckConfig { .. } | Command::Probe { .. } => {
                unreachable!("handled above")
            }
        }
        Ok(true)
    })
}
