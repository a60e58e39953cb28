//! `LengthDelimitedCodec` with fuzzed builder settings (width, offset, byte
//! order, adjustment, strip, limit): whole vs split vs byte-by-byte vs
//! slices, no frame past the limit, and frames the default layout decodes
//! encode back to the bytes they came from.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, variant_name, Render};
use ringo_fuzz::input::Input;
use ringo_proto::codec::length_delimited::Builder;
use ringo_proto::codec::{LengthDelimitedCodec, LengthDelimitedCodecError};
use ringo_proto::{Decoder, Encoder};

struct Frames {
    /// The longest item the settings allow: header kept plus the limit.
    longest: usize,
}

impl Render<LengthDelimitedCodec> for Frames {
    fn item(&mut self, frame: BytesMut) -> Option<String> {
        assert!(
            frame.len() <= self.longest,
            "a {}-byte frame passed the limit {}",
            frame.len(),
            self.longest
        );
        Some(format!("{:?}", &frame[..]))
    }

    fn error_kind(&self, error: &LengthDelimitedCodecError) -> String {
        variant_name(error)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let tiny = input.flag();
    let width = input.in_range(8);
    let offset = usize::from(input.byte() % 4);
    let order = input.byte() % 3;
    let adjustment = isize::from(input.byte() as i8);
    let strip_byte = input.byte();
    let limit = input.limit(tiny, 64, LengthDelimitedCodec::new().max_frame_length());
    let split = usize::from(input.u16());
    let stream = input.rest();

    let header = offset + width;
    // Half the time the default: strip the whole header.
    let strip = if strip_byte & 0x80 == 0 {
        header
    } else {
        usize::from(strip_byte) % (header + 2)
    };
    let mut builder = Builder::new();
    builder
        .length_field_width(width)
        .length_field_offset(offset)
        .length_adjustment(adjustment)
        .strip(strip)
        .max_frame_length(limit);
    match order {
        0 => builder.big_endian(),
        1 => builder.little_endian(),
        _ => builder.native_endian(),
    };
    let Ok(codec) = builder.new_codec() else {
        return;
    };
    let mut frames = Frames {
        longest: header + limit,
    };
    let outcome = check_feedings(|| codec.clone(), &mut frames, stream, split);

    // With the header stripped, no offset and no adjustment, a frame is its
    // payload: encoding the frames must give back the bytes they came from.
    if strip == header && offset == 0 && adjustment == 0 {
        let mut decoder = codec.clone();
        let mut buf = BytesMut::from(stream);
        let mut encoded = BytesMut::new();
        let mut encoder = codec.clone();
        while let Ok(Some(frame)) = decoder.decode(&mut buf) {
            encoder
                .encode(Bytes::from(frame), &mut encoded)
                .expect("a decoded frame encodes");
        }
        let consumed = stream.len() - buf.len();
        assert_eq!(
            &encoded[..],
            &stream[..consumed],
            "frames do not encode to their bytes ({} items)",
            outcome.items.len()
        );
    }
});
