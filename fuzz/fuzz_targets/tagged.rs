//! `multiplex::TaggedCodec` around `LinesCodec`: whole vs split vs
//! byte-by-byte vs slices, no frame past either limit, and decoded frames
//! encode back to the bytes they came from. The harness's capacity check
//! (and `-malloc_limit_mb`) keeps a frame's announced length from being
//! reserved before its bytes arrive.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, variant_name, Render};
use ringo_fuzz::input::Input;
use ringo_proto::codec::{LinesCodec, LinesCodecError};
use ringo_proto::multiplex::{Tag, TaggedCodec, TaggedCodecError};
use ringo_proto::{Decoder, Encoder};

/// Bytes of the tag, counted in a frame's length.
const TAG_BYTES: usize = 4;

struct Tagged {
    max_frame: usize,
    max_line: usize,
}

impl Render<TaggedCodec<LinesCodec>> for Tagged {
    fn item(&mut self, (tag, line): (Tag, String)) -> Option<String> {
        assert!(
            line.len() + TAG_BYTES <= self.max_frame,
            "a {}-byte line passed the frame limit {}",
            line.len(),
            self.max_frame
        );
        assert!(
            line.len() <= self.max_line,
            "a {}-byte line passed the line limit {}",
            line.len(),
            self.max_line
        );
        Some(format!("{tag}:{line}"))
    }

    fn error_kind(&self, error: &TaggedCodecError<LinesCodecError>) -> String {
        match error {
            TaggedCodecError::Payload(inner) => format!("Payload({})", variant_name(inner)),
            other => variant_name(other),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let tiny = input.flag();
    let defaults = TaggedCodec::new(LinesCodec::new());
    let max_frame = input.limit(tiny, 64, defaults.max_frame_length());
    let max_line = input.limit(tiny, 64, defaults.get_ref().max_length());
    let split = usize::from(input.u16());
    let stream = input.rest();

    let codec =
        TaggedCodec::with_max_frame_length(LinesCodec::with_max_length(max_line), max_frame);
    let max_frame = codec.max_frame_length();
    check_feedings(
        || codec.clone(),
        &mut Tagged {
            max_frame,
            max_line,
        },
        stream,
        split,
    );

    // Re-encoding a decoded frame gives a frame that decodes to it again.
    let mut decoder = codec.clone();
    let mut buf = BytesMut::from(stream);
    while let Ok(Some((tag, line))) = decoder.decode(&mut buf) {
        let mut encoded = BytesMut::new();
        let mut encoder = codec.clone();
        match encoder.encode((tag, line.as_str()), &mut encoded) {
            Ok(()) => {}
            // A line ending in '\r' decodes (the CR is text) but is refused
            // by the encoder, which cannot send it unambiguously.
            Err(TaggedCodecError::Payload(LinesCodecError::TrailingCarriageReturn))
                if line.ends_with('\r') =>
            {
                continue
            }
            // The payload's final newline is optional when decoding; the
            // encoder always writes it, which may pass the frame limit.
            Err(TaggedCodecError::FrameTooLong { length, .. })
                if length == TAG_BYTES + line.len() + 1 && length > max_frame =>
            {
                continue
            }
            Err(e) => panic!("decoded line {line:?} does not encode: {e:?}"),
        }
        let again = codec
            .clone()
            .decode(&mut encoded)
            .expect("an encoded frame decodes");
        assert_eq!(again, Some((tag, line)));
        assert!(encoded.is_empty());
    }
});
