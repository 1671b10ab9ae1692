use super::*;

#[test]
fn report_without_devices_says_so() {
    let r = report(&Config::default(), &[], &None, &Ok(Vec::new()));
    assert!(r.contains("no V4L2 devices"), "{r}");
    assert!(r.contains("rpicam-hello not installed"), "{r}");
    assert!(r.contains("no ALSA devices"), "{r}");
    assert!(r.contains("source = \"synthetic\""), "{r}");
}

#[test]
fn report_suggests_what_it_would_pick() {
    let cam = Camera {
        path: "/dev/video0".into(),
        card: "USB Camera".into(),
        driver: "uvcvideo".into(),
        bus: "usb-1".into(),
        capture: true,
        offered: vec![
            Offered {
                format: PixelFormat::Yuyv,
                width: 640,
                height: 480,
                fps: vec![30, 15],
            },
            Offered {
                format: PixelFormat::Mjpeg,
                width: 1280,
                height: 720,
                fps: vec![30],
            },
        ],
        other_formats: vec![],
    };
    let pcms = Ok(vec![
        Pcm {
            name: "null".into(),
            description: "Discard all samples".into(),
            capture: true,
            playback: true,
        },
        Pcm {
            name: "plughw:CARD=Camera,DEV=0".into(),
            description: "USB Camera, USB Audio".into(),
            capture: true,
            playback: false,
        },
    ]);
    let r = report(&Config::default(), &[Ok(cam)], &None, &pcms);
    assert!(r.contains("yuyv    640x480  30/15 fps"), "{r}");
    assert!(r.contains("would capture yuyv 640x480 at 30 fps"), "{r}");
    assert!(r.contains("device = \"/dev/video0\""), "{r}");
    assert!(r.contains("device = \"plughw:CARD=Camera,DEV=0\""), "{r}");
    assert!(r.contains("no speaker"), "{r}");
}

#[test]
fn a_camera_module_seen_by_libcamera_is_suggested_through_rpicam_vid() {
    let listed = "Available cameras\n-----------------\n0 : imx708 [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)\n    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]\n";
    let r = report(
        &Config::default(),
        &[],
        &Some(Ok(listed.into())),
        &Ok(Vec::new()),
    );
    assert!(r.contains("0 : imx708"), "{r}");
    assert!(
        r.contains("source = \"command\", format = \"h264\", command = \"rpicam-vid -t 0"),
        "{r}"
    );
    assert!(r.contains("--width 640 --height 480 --framerate 30"), "{r}");
    let none = "No cameras available!\n";
    let r = report(
        &Config::default(),
        &[],
        &Some(Ok(none.into())),
        &Ok(Vec::new()),
    );
    assert!(r.contains("source = \"synthetic\""), "{r}");
}
