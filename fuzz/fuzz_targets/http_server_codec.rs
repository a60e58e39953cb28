//! `http::ServerCodec`, default or tiny limits: whole vs split vs
//! byte-by-byte vs slices (body data compared joined), and no head or body
//! past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, Render};
use ringo_fuzz::http::{data, error_kind, limits, merge_data, Message};
use ringo_fuzz::input::Input;
use ringo_proto::http::{Error, RequestPart, ServerCodec};

struct Requests {
    message: Message,
}

impl Render<ServerCodec> for Requests {
    fn item(&mut self, part: RequestPart) -> Option<String> {
        Some(match part {
            RequestPart::Head(head) => {
                self.message.head(head.request.headers());
                format!(
                    "head {} {} {:?} {:?} body={:?} keep_alive={} continue={}",
                    head.request.method(),
                    head.request.uri(),
                    head.request.version(),
                    head.request.headers(),
                    head.body,
                    head.keep_alive,
                    head.expect_continue
                )
            }
            RequestPart::Data(bytes) => {
                assert!(!bytes.is_empty(), "an empty data part");
                self.message.data(bytes.len());
                data(&bytes)
            }
            RequestPart::End => "end".to_owned(),
        })
    }

    fn error_kind(&self, error: &Error) -> String {
        error_kind(error)
    }

    fn normalize(&self, items: Vec<String>) -> Vec<String> {
        merge_data(items)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(&mut input);
    let split = usize::from(input.u16());
    let stream = input.rest();
    let mut requests = Requests {
        message: Message::new(limits),
    };
    check_feedings(
        || ServerCodec::with_limits(limits),
        &mut requests,
        stream,
        split,
    );
});
