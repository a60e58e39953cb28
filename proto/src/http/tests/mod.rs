//! Tests of the HTTP/1.1 codecs, with the helpers they share: feeding bytes
//! whole or one at a time, and summarising decoded parts for comparison.

mod bad_requests;
mod client;
mod requests;
mod responses;

use bytes::BytesMut;

use super::{Error, Limits, RequestPart, ServerCodec};
use crate::codec::Decoder;

/// Limits for tests: the defaults, except a body limit small enough to reach.
pub(super) const TEST_LIMITS: Limits = Limits {
    max_uri_len: super::limits::DEFAULT_MAX_URI_LEN,
    max_headers: super::limits::DEFAULT_MAX_HEADERS,
    max_head_bytes: super::limits::DEFAULT_MAX_HEAD_BYTES,
    max_body: 1024,
    max_chunk_line: super::limits::DEFAULT_MAX_CHUNK_LINE,
};

/// How input reaches the decoder.
#[derive(Debug, Clone, Copy)]
pub(super) enum Feed {
    /// All bytes in one buffer.
    Whole,
    /// One byte per read, decoding after each.
    ByteAtATime,
}

pub(super) const FEEDS: [Feed; 2] = [Feed::Whole, Feed::ByteAtATime];

/// Feeds `input` to `decoder` as `feed` says, collecting parts until the first
/// error. Returns the parts and the error, if any.
pub(super) fn feed<D: Decoder<Error = Error>>(
    decoder: &mut D,
    input: &[u8],
    feed: Feed,
) -> (Vec<D::Item>, Option<Error>) {
    let mut parts = Vec::new();
    let mut buf = BytesMut::new();
    let chunks: Vec<&[u8]> = match feed {
        Feed::Whole => vec![input],
        Feed::ByteAtATime => input.chunks(1).collect(),
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(part)) => parts.push(part),
                Ok(None) => break,
                Err(e) => return (parts, Some(e)),
            }
        }
    }
    (parts, None)
}

/// Decodes `input` split in two at `at`, decoding after each half.
pub(super) fn feed_split<D: Decoder<Error = Error>>(
    decoder: &mut D,
    input: &[u8],
    at: usize,
) -> Vec<D::Item> {
    let (first, second) = input.split_at(at);
    let mut parts = Vec::new();
    let mut buf = BytesMut::new();
    for half in [first, second] {
        buf.extend_from_slice(half);
        while let Some(part) = decoder.decode(&mut buf).expect("valid input decodes") {
            parts.push(part);
        }
    }
    parts
}

/// A request part in a form tests can compare: data parts of one message are
/// joined, so the result does not depend on how input was split.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    Head(String),
    Body(Vec<u8>),
    End,
}

/// Summarises request parts: a head as `METHOD target`, joined body data.
pub(super) fn seen_requests(parts: &[RequestPart]) -> Vec<Seen> {
    let mut seen = Vec::new();
    for part in parts {
        match part {
            RequestPart::Head(h) => seen.push(Seen::Head(format!(
                "{} {}",
                h.request.method(),
                h.request.uri()
            ))),
            RequestPart::Data(d) => match seen.last_mut() {
                Some(Seen::Body(body)) => body.extend_from_slice(d),
                _ => seen.push(Seen::Body(d.to_vec())),
            },
            RequestPart::End => seen.push(Seen::End),
        }
    }
    seen
}

/// A server codec with [`TEST_LIMITS`].
pub(super) fn server() -> ServerCodec {
    ServerCodec::with_limits(TEST_LIMITS)
}

/// Replaces the value of a `date:` line with `<date>` so output can be compared.
pub(super) fn mask_date(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).into_owned();
    text.split("\r\n")
        .map(|line| {
            if line.starts_with("date: ") {
                "date: <date>"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn default_limits_are_the_documented_constants() {
    let limits = Limits::default();
    assert_eq!(limits.max_uri_len, 8192);
    assert_eq!(limits.max_headers, 100);
    assert_eq!(limits.max_head_bytes, 65_536);
    assert_eq!(limits.max_body, 8 * 1024 * 1024);
    assert_eq!(limits.max_chunk_line, 1024);
}
