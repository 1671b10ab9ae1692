//! One openh264 encoder driven through its C interface, initialised once with rtcam's
//! parameters. The Rust wrapper initialises with its own parameters on the first picture
//! (one temporal layer, its defaults), and replacing them afterwards rebuilds the whole
//! encoder: a second set of picture buffers and 3 ms more at 720p before the first viewer's
//! first picture (docs/benchmarks.md).

use std::os::raw::{c_int, c_void};
use std::ptr::null_mut;

use openh264_sys2::{
    source::APILoader, videoFormatI420, EVideoFrameType, ISVCEncoder, SEncParamExt, SFrameBSInfo,
    SSourcePicture, ENCODER_OPTION, ENCODER_OPTION_DATAFORMAT, ENCODER_OPTION_TRACE_LEVEL,
    VIDEO_CODING_LAYER, WELS_LOG_QUIET,
};

/// What openh264 made of one picture.
pub(super) struct Output {
    pub frame_type: EVideoFrameType,
    /// The temporal layer of its coded picture (0 when there is none).
    pub temporal_id: u8,
    /// Every NAL unit, Annex B, in order.
    pub data: Vec<u8>,
}

type Call<A> = unsafe extern "C" fn(*mut ISVCEncoder, A) -> c_int;

/// The encoder's functions this module calls, read from its vtable once.
struct Vtable {
    get_default_params: Call<*mut SEncParamExt>,
    initialize_ext: Call<*const SEncParamExt>,
    uninitialize: unsafe extern "C" fn(*mut ISVCEncoder) -> c_int,
    encode_frame:
        unsafe extern "C" fn(*mut ISVCEncoder, *const SSourcePicture, *mut SFrameBSInfo) -> c_int,
    force_intra_frame: Call<bool>,
    set_option: unsafe extern "C" fn(*mut ISVCEncoder, ENCODER_OPTION, *mut c_void) -> c_int,
}

/// An encoder made by [`RawEncoder::new`]; uninitialised and destroyed on drop.
pub(super) struct RawEncoder {
    ptr: *mut ISVCEncoder,
    vt: Vtable,
    out: Box<SFrameBSInfo>,
}

// SAFETY: the encoder is only used through `&mut self` and holds no thread-bound state.
unsafe impl Send for RawEncoder {}

/// A failed step and openh264's return code.
pub(super) type Failure = (&'static str, c_int);

impl RawEncoder {
    /// Creates an encoder, lets `configure` change openh264's default parameters, and
    /// initialises it with them.
    pub fn new(configure: impl FnOnce(&mut SEncParamExt)) -> Result<Self, Failure> {
        let mut ptr: *mut ISVCEncoder = null_mut();
        // SAFETY: WelsCreateSVCEncoder writes a valid encoder pointer or fails.
        let code = unsafe { APILoader::WelsCreateSVCEncoder(&mut ptr) };
        if code != 0 || ptr.is_null() {
            return Err(("create", code));
        }
        // SAFETY: a created encoder points at its vtable.
        let table = unsafe { &**ptr };
        let missing = ("vtable", -1);
        let vt = match (|| {
            Some(Vtable {
                get_default_params: table.GetDefaultParams?,
                initialize_ext: table.InitializeExt?,
                uninitialize: table.Uninitialize?,
                encode_frame: table.EncodeFrame?,
                force_intra_frame: table.ForceIntraFrame?,
                set_option: table.SetOption?,
            })
        })() {
            Some(vt) => vt,
            None => {
                // SAFETY: created above, never initialised, not used again.
                unsafe { APILoader::WelsDestroySVCEncoder(ptr) };
                return Err(missing);
            }
        };
        let mut enc = Self {
            ptr,
            vt,
            out: Box::default(),
        };
        let mut p = SEncParamExt::default();
        // SAFETY: functions of a created encoder, given pointers valid for each call
        // (openh264 copies the parameters).
        unsafe {
            check(
                "default parameters",
                (enc.vt.get_default_params)(ptr, &mut p),
            )?;
            configure(&mut p);
            check("initialise", (enc.vt.initialize_ext)(ptr, &p))?;
            let mut quiet = WELS_LOG_QUIET as c_int;
            let code = enc.set_option(
                ENCODER_OPTION_TRACE_LEVEL,
                (&mut quiet as *mut c_int).cast(),
            );
            check("log level", code)?;
            let mut format = videoFormatI420 as c_int;
            let code = enc.set_option(
                ENCODER_OPTION_DATAFORMAT,
                (&mut format as *mut c_int).cast(),
            );
            check("input format", code)?;
        }
        Ok(enc)
    }

    /// Returns openh264's code (0 is success).
    ///
    /// # Safety
    /// `value` must point to the type openh264 expects for `option`, valid for the call.
    pub unsafe fn set_option(&mut self, option: ENCODER_OPTION, value: *mut c_void) -> c_int {
        // SAFETY: see the function's contract.
        unsafe { (self.vt.set_option)(self.ptr, option, value) }
    }

    /// Makes the next picture an IDR (with SPS and PPS ahead of it).
    pub fn force_idr(&mut self) {
        // SAFETY: a function of an initialised encoder.
        unsafe { (self.vt.force_intra_frame)(self.ptr, true) };
    }

    /// Encodes one I420 picture whose planes are tightly packed at `width` x `height`.
    pub fn encode(
        &mut self,
        (y, u, v): (&[u8], &[u8], &[u8]),
        width: usize,
        height: usize,
    ) -> Result<Output, Failure> {
        let chroma = (width / 2) * (height / 2);
        if y.len() < width * height || u.len() < chroma || v.len() < chroma {
            return Err(("input planes", -1));
        }
        let (w, cw) = (width as c_int, (width / 2) as c_int);
        let source = SSourcePicture {
            iColorFormat: videoFormatI420 as c_int,
            iStride: [w, cw, cw, 0],
            // openh264 only reads the planes (the wrapper passes them the same way).
            pData: [
                y.as_ptr().cast_mut(),
                u.as_ptr().cast_mut(),
                v.as_ptr().cast_mut(),
                null_mut(),
            ],
            iPicWidth: w,
            iPicHeight: height as c_int,
            uiTimeStamp: 0,
            bPsnrY: false,
            bPsnrU: false,
            bPsnrV: false,
        };
        // SAFETY: the planes hold a whole picture (checked above) and outlive the call; the
        // output is ours and openh264 fills it.
        let code = unsafe { (self.vt.encode_frame)(self.ptr, &source, &mut *self.out) };
        check("encode", code)?;
        let info = &*self.out;
        let layers =
            &info.sLayerInfo[..(info.iLayerNum.max(0) as usize).min(info.sLayerInfo.len())];
        let mut data = Vec::with_capacity(info.iFrameSizeInBytes.max(0) as usize);
        for layer in layers {
            let count = layer.iNalCount.max(0) as usize;
            if count == 0 || layer.pNalLengthInByte.is_null() || layer.pBsBuf.is_null() {
                continue;
            }
            // SAFETY: openh264 sets `iNalCount` lengths and a buffer holding their sum.
            let lengths = unsafe { std::slice::from_raw_parts(layer.pNalLengthInByte, count) };
            let total = lengths.iter().map(|&l| l.max(0) as usize).sum();
            // SAFETY: as above.
            data.extend_from_slice(unsafe { std::slice::from_raw_parts(layer.pBsBuf, total) });
        }
        let temporal_id = layers
            .iter()
            .find(|l| c_int::from(l.uiLayerType) == VIDEO_CODING_LAYER as c_int)
            .map_or(0, |l| l.uiTemporalId);
        Ok(Output {
            frame_type: info.eFrameType,
            temporal_id,
            data,
        })
    }
}

impl Drop for RawEncoder {
    fn drop(&mut self) {
        // SAFETY: created by `new` (Uninitialize does nothing to an encoder whose
        // initialisation failed); nothing uses the pointer afterwards.
        unsafe {
            (self.vt.uninitialize)(self.ptr);
            APILoader::WelsDestroySVCEncoder(self.ptr);
        }
    }
}

fn check(what: &'static str, code: c_int) -> Result<(), Failure> {
    match code {
        0 => Ok(()),
        code => Err((what, code)),
    }
}
