//! `LinesCodec`: whole vs split vs byte-by-byte vs slices, and no line past
//! the limit (a tiny one half the time, so 4 KiB inputs reach it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, variant_name, Render};
use ringo_fuzz::input::Input;
use ringo_proto::codec::{LinesCodec, LinesCodecError};

struct Lines {
    limit: usize,
}

impl Render<LinesCodec> for Lines {
    fn item(&mut self, line: String) -> Option<String> {
        assert!(
            line.len() <= self.limit,
            "a {}-byte line passed the limit {}",
            line.len(),
            self.limit
        );
        assert!(!line.contains('\n'), "a decoded line holds a newline");
        Some(line)
    }

    fn error_kind(&self, error: &LinesCodecError) -> String {
        variant_name(error)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let tiny = input.flag();
    let limit = input.limit(tiny, 64, LinesCodec::new().max_length());
    let split = usize::from(input.u16());
    let stream = input.rest();
    check_feedings(
        || LinesCodec::with_max_length(limit),
        &mut Lines { limit },
        stream,
        split,
    );
});
