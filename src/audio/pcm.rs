//! ALSA PCMs as rtcam uses them: interleaved S16 at (or near) 48 kHz, 20 ms periods, opened on
//! first use and reopened after a failure, for capture (the microphone) and playback
//! (talkback) alike.

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use super::SAMPLE_RATE;

/// What a PCM was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmSetup {
    pub rate: u32,
    pub channels: u32,
    /// Frames per read.
    pub period: usize,
}

/// Opens `device` for capture or playback as interleaved S16 at (or near) 48 kHz, preferring
/// `channels`; returns what the device accepted.
pub fn open_pcm(
    device: &str,
    direction: Direction,
    channels: u32,
) -> Result<(PCM, PcmSetup), alsa::Error> {
    let pcm = PCM::new(device, direction, false)?;
    let setup = {
        let hw = HwParams::any(&pcm)?;
        hw.set_access(Access::RWInterleaved)?;
        hw.set_format(Format::s16())?;
        let channels = hw.set_channels_near(channels)?;
        let rate = hw.set_rate_near(SAMPLE_RATE, ValueOr::Nearest)?;
        // 20 ms periods, a buffer of 4 of them: low latency, room for scheduling hiccups.
        let period = hw.set_period_size_near((rate / 50) as alsa::pcm::Frames, ValueOr::Nearest)?;
        hw.set_buffer_size_near(period * 4)?;
        pcm.hw_params(&hw)?;
        PcmSetup {
            rate,
            channels,
            period: period.max(1) as usize,
        }
    };
    pcm.prepare()?;
    Ok((pcm, setup))
}

/// A PCM that is opened when first needed and again after [`ReopeningPcm::close`]: a device
/// that fails (unplugged, busy) is closed by its user and comes back on the next read or write.
pub struct ReopeningPcm {
    device: String,
    direction: Direction,
    channels: u32,
    open: Option<(PCM, PcmSetup)>,
}

impl ReopeningPcm {
    /// `device` (e.g. `default`, `hw:1,0`, `plughw:CARD=Device`), not opened yet.
    pub fn new(device: &str, direction: Direction, channels: u32) -> Self {
        Self {
            device: device.to_string(),
            direction,
            channels,
            open: None,
        }
    }

    /// The ALSA device name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The open PCM, opening it first when needed; the flag is true when it was just opened
    /// (the caller then sets up what depends on the device's rate and channels).
    pub fn get(&mut self) -> Result<(&PCM, PcmSetup, bool), alsa::Error> {
        let fresh = self.open.is_none();
        if fresh {
            self.open = Some(open_pcm(&self.device, self.direction, self.channels)?);
        }
        match &self.open {
            Some((pcm, setup)) => Ok((pcm, *setup, fresh)),
            // Set just above.
            None => unreachable!("PCM opened above"),
        }
    }

    /// Closes the device after a failure; the next [`ReopeningPcm::get`] opens it again.
    pub fn close(&mut self) {
        self.open = None;
    }
}
