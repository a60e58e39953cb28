//! `http::ClientCodec` after encoding the requests its responses answer
//! (the methods fuzzed: a `HEAD` or `CONNECT` changes how a response is
//! framed): whole vs split vs byte-by-byte vs slices (body data compared
//! joined), and no head or body past the limits.
#![no_main]

use bytes::{Bytes, BytesMut};
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::{check_feedings, Render};
use ringo_fuzz::http::{data, error_kind, limits, merge_data, Message};
use ringo_fuzz::input::Input;
use ringo_proto::http::{ClientCodec, Error, ResponsePart};
use ringo_proto::Encoder;

/// The methods a request may have; each frames its response its own way or
/// is an ordinary one.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::CONNECT,
    Method::OPTIONS,
];

/// Most requests encoded before the responses.
const MAX_REQUESTS: usize = 8;

struct Responses {
    message: Message,
}

impl Render<ClientCodec> for Responses {
    fn item(&mut self, part: ResponsePart) -> Option<String> {
        Some(match part {
            ResponsePart::Head(response, body) => {
                self.message.head(response.headers());
                format!(
                    "head {} {:?} {:?} body={body:?}",
                    response.status(),
                    response.version(),
                    response.headers()
                )
            }
            ResponsePart::Data(bytes) => {
                assert!(!bytes.is_empty(), "an empty data part");
                self.message.data(bytes.len());
                data(&bytes)
            }
            ResponsePart::End => "end".to_owned(),
        })
    }

    fn error_kind(&self, error: &Error) -> String {
        error_kind(error)
    }

    fn normalize(&self, items: Vec<String>) -> Vec<String> {
        merge_data(items)
    }
}

/// A request with `method`, as a client would send it.
fn request(method: &Method) -> Request<Bytes> {
    let uri = if method == Method::CONNECT {
        "example.com:443"
    } else {
        "/"
    };
    Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("host", "example.com")
        .body(Bytes::new())
        .expect("a valid request")
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(&mut input);
    let count = input.in_range(MAX_REQUESTS);
    let methods: Vec<Method> = (0..count)
        .map(|_| METHODS[usize::from(input.byte()) % METHODS.len()].clone())
        .collect();
    let split = usize::from(input.u16());
    let stream = input.rest();

    let make = || {
        let mut codec = ClientCodec::with_limits(limits);
        let mut sent = BytesMut::new();
        for method in &methods {
            codec
                .encode(request(method), &mut sent)
                .expect("a plain request encodes");
        }
        codec
    };
    let mut responses = Responses {
        message: Message::new(limits),
    };
    check_feedings(make, &mut responses, stream, split);
});
