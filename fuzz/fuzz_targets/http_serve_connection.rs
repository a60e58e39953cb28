//! The HTTP server's own request path: `http::serve_connection` over an
//! in-memory stream, which drives the private request-gathering decoder
//! with no API widened for it. Checks, for the whole stream, the stream in
//! two reads and one byte per read:
//!
//! - the same requests reach the handler, and the same responses (the `date`
//!   field aside) and error come out;
//! - the handler sees exactly the requests `ServerCodec` decodes from the
//!   same bytes, bodies gathered: the gathering loses, adds or reorders
//!   nothing;
//! - no request passes the limits, and the server reads nothing after it
//!   stops serving (every byte is read or the connection ended).
#![no_main]

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::pending;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use libfuzzer_sys::fuzz_target;
use ringo_fuzz::decode::Feeding;
use ringo_fuzz::http::{error_kind, limits, Message};
use ringo_fuzz::input::Input;
use ringo_fuzz::memory_stream::{block_on, MemoryStream};
use ringo_proto::http::{serve_connection, Limits, RequestPart, ServerCodec, ServerConfig};
use ringo_proto::pipeline::ServerError;
use ringo_proto::Decoder;

/// A request as the handler saw it.
fn render(request: &Request<Bytes>) -> String {
    format!(
        "{} {} {:?} {:?} body={}",
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        request.body().escape_ascii()
    )
}

/// What one connection did.
#[derive(Debug, PartialEq, Eq)]
struct Served {
    requests: Vec<String>,
    /// What the server wrote, `date` fields removed.
    written: Vec<u8>,
    error: Option<String>,
}

fn serve(config: &ServerConfig, stream: &[u8], feeding: Feeding) -> Served {
    let io = MemoryStream::new(feeding.chunks(stream));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let handler = {
        let seen = Rc::clone(&seen);
        let mut message = Message::new(config.limits);
        move |request: Request<Bytes>| {
            message.head(request.headers());
            message.data(request.body().len());
            let answer = format!(
                "{} {} {}\n",
                request.method(),
                request.uri(),
                request.body().len()
            );
            seen.borrow_mut().push(render(&request));
            async move { Ok::<_, Infallible>(Response::new(Bytes::from(answer))) }
        }
    };
    let result = block_on(serve_connection(io.clone(), config, handler, pending()));
    let error = result.err().map(|e| match e {
        ServerError::Codec(e) => error_kind(&e),
        ServerError::Handler(never) => match never {},
    });
    let requests = seen.take();
    Served {
        requests,
        written: without_date(&io.written()),
        error,
    }
}

/// `bytes` without its `date: ...\r\n` lines, which depend on the clock.
fn without_date(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"date: ") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// The requests `ServerCodec` decodes from `stream`, bodies gathered, up to
/// its first error or the end.
fn decoded_requests(limits: Limits, stream: &[u8]) -> Vec<String> {
    let mut codec = ServerCodec::with_limits(limits);
    let mut buf = BytesMut::from(stream);
    let mut requests = Vec::new();
    let mut current: Option<(Request<()>, BytesMut)> = None;
    loop {
        let part = match codec.decode_eof(&mut buf) {
            Ok(Some(part)) => part,
            Ok(None) | Err(_) => return requests,
        };
        match part {
            RequestPart::Head(head) => current = Some((head.request, BytesMut::new())),
            RequestPart::Data(data) => {
                if let Some((_, body)) = &mut current {
                    body.extend_from_slice(&data);
                }
            }
            RequestPart::End => {
                if let Some((request, body)) = current.take() {
                    requests.push(render(&request.map(|()| body.freeze())));
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let limits = limits(&mut input);
    let max_pipelined = input.in_range(4);
    let split = usize::from(input.u16());
    let stream = input.rest();
    let config = ServerConfig {
        limits,
        max_pipelined,
        ..ServerConfig::default()
    };

    let whole = serve(&config, stream, Feeding::Whole);
    for feeding in [
        Feeding::SplitAt(split % (stream.len() + 1)),
        Feeding::ByteByByte,
    ] {
        let other = serve(&config, stream, feeding);
        assert_eq!(whole, other, "served whole vs {feeding:?} differ");
    }
    assert_eq!(
        whole.requests,
        decoded_requests(limits, stream),
        "the handler saw other requests than ServerCodec decodes"
    );
});
