//! `RespCodec`, inline commands on and off, default or tiny limits: whole vs
//! split vs byte-by-byte vs slices; every frame within the bulk, array and
//! depth limits; and every frame re-encoded decodes to itself.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, Render};
use ringo_fuzz::input::Input;
use ringo_proto::resp::{Error, Frame, Limits, RespCodec};
use ringo_proto::{Decoder, Encoder};

struct Frames {
    limits: Limits,
    /// Inline commands are accepted: one comes out as an array of bulk
    /// strings bounded by the line limit, not by the array and bulk ones.
    inline: bool,
    decoded: Vec<Frame>,
}

impl Frames {
    /// Checks `frame` (at nesting `depth`, the top level being 0) against the limits.
    fn check(&self, frame: &Frame, depth: usize) {
        let limits = &self.limits;
        match frame {
            Frame::Bulk(b) | Frame::BulkError(b) | Frame::Verbatim { text: b, .. } => {
                let inline_arg = self.inline && depth == 1 && b.len() <= limits.max_inline_len;
                assert!(
                    b.len() <= limits.max_bulk_len || inline_arg,
                    "a {}-byte bulk passed the limit",
                    b.len()
                );
            }
            Frame::Simple(line) | Frame::Error(line) | Frame::BigNumber(line) => {
                assert!(
                    line.len() <= limits.max_inline_len,
                    "a {}-byte line passed the limit",
                    line.len()
                );
            }
            Frame::Array(items) | Frame::Set(items) | Frame::Push(items) => {
                self.check_aggregate(items.len(), depth);
                items.iter().for_each(|item| self.check(item, depth + 1));
            }
            Frame::Map(entries) => {
                self.check_aggregate(entries.len(), depth);
                for (key, value) in entries {
                    self.check(key, depth + 1);
                    self.check(value, depth + 1);
                }
            }
            Frame::Integer(_) | Frame::Null | Frame::Double(_) | Frame::Boolean(_) => {}
        }
    }

    fn check_aggregate(&self, len: usize, depth: usize) {
        let inline_command = self.inline && depth == 0 && len <= self.limits.max_inline_len;
        assert!(
            len <= self.limits.max_array_len || inline_command,
            "a {len}-element aggregate passed the limit"
        );
        assert!(
            depth < self.limits.max_depth,
            "nesting depth {} passed the limit {}",
            depth + 1,
            self.limits.max_depth
        );
    }
}

impl Render<RespCodec> for Frames {
    fn item(&mut self, frame: Frame) -> Option<String> {
        self.check(&frame, 0);
        let rendered = format!("{frame:?}");
        self.decoded.push(frame);
        Some(rendered)
    }

    fn error_kind(&self, error: &Error) -> String {
        format!("{:?}", error.kind())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let inline = input.flag();
    let tiny = input.flag();
    let defaults = Limits::default();
    let limits = Limits {
        max_bulk_len: input.limit(tiny, 64, defaults.max_bulk_len),
        max_inline_len: input.limit(tiny, 64, defaults.max_inline_len),
        max_array_len: input.limit(tiny, 16, defaults.max_array_len),
        max_depth: input.limit(tiny, 8, defaults.max_depth),
    };
    let split = usize::from(input.u16());
    let stream = input.rest();

    let make = || RespCodec::with_limits(limits).accept_inline(inline);
    let mut frames = Frames {
        limits,
        inline,
        decoded: Vec::new(),
    };
    let outcome = check_feedings(make, &mut frames, stream, split);

    // The whole stream's frames come first in `decoded`.
    let whole = &frames.decoded[..outcome.items.len()];
    let mut encoded = BytesMut::new();
    let mut codec = make();
    for frame in whole {
        codec
            .encode(frame, &mut encoded)
            .expect("a decoded frame encodes");
    }
    let mut decoder = RespCodec::new().accept_inline(false);
    for frame in whole {
        let again = decoder
            .decode(&mut encoded)
            .expect("an encoded frame decodes");
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", Some(frame)),
            "a frame does not survive encoding"
        );
    }
    assert!(
        encoded.is_empty(),
        "encoding left {} extra bytes",
        encoded.len()
    );
});
