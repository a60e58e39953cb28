//! The adversarial request table: every malformed, ambiguous or over-limit
//! request gets its exact status and a closed connection, whether it arrives
//! whole or one byte at a time.

use ::http::{Response, StatusCode};
use bytes::{Bytes, BytesMut};

use super::{feed, server, Feed, FEEDS, TEST_LIMITS};
use crate::codec::Encoder;
use crate::http::{RequestPart, ServerCodec};

/// What must become of a request.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Decoding fails; the server answers this status and closes.
    Reject(StatusCode),
    /// The request is decoded and answered, then the connection closes; bytes
    /// after it are never decoded as a request.
    AnswerThenClose,
}

use Outcome::{AnswerThenClose, Reject};

const BAD: StatusCode = StatusCode::BAD_REQUEST;
const TOO_LARGE: StatusCode = StatusCode::PAYLOAD_TOO_LARGE;
const URI_TOO_LONG: StatusCode = StatusCode::URI_TOO_LONG;
const FIELDS_TOO_LARGE: StatusCode = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
const NOT_IMPLEMENTED: StatusCode = StatusCode::NOT_IMPLEMENTED;
const BAD_VERSION: StatusCode = StatusCode::HTTP_VERSION_NOT_SUPPORTED;

/// A POST to `/` with `Host: a`, then `fields` (each ending in CRLF), the
/// empty line, and `body`.
fn post(fields: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("POST / HTTP/1.1\r\nHost: a\r\n{fields}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A chunked POST whose body is `body` (chunks as written).
fn chunked(body: &[u8]) -> Vec<u8> {
    post("Transfer-Encoding: chunked\r\n", body)
}

/// A GET whose request target is `/` followed by `len - 1` letters.
pub(super) fn get_with_target_len(len: usize) -> Vec<u8> {
    format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(len - 1)).into_bytes()
}

/// A GET with `count` header fields in all (Host included).
pub(super) fn get_with_field_count(count: usize) -> Vec<u8> {
    let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 1..count {
        head.push_str(&format!("X-{i}: v\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A GET whose head, ending empty line included, is exactly `len` bytes.
pub(super) fn get_with_head_len(len: usize) -> Vec<u8> {
    let fixed = "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
    let pad = "p".repeat(len - fixed);
    format!("GET / HTTP/1.1\r\nHost: a\r\nX: {pad}\r\n\r\n").into_bytes()
}

/// A chunked body whose trailer section has `count` fields.
fn trailers(count: usize) -> Vec<u8> {
    let mut body = String::from("1\r\na\r\n0\r\n");
    for i in 0..count {
        body.push_str(&format!("T-{i}: v\r\n"));
    }
    body.push_str("\r\n");
    chunked(body.as_bytes())
}

fn cases() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    let max_body = TEST_LIMITS.max_body as usize;
    let uri = TEST_LIMITS.max_uri_len;
    let head = TEST_LIMITS.max_head_bytes;
    let mut over_head_incomplete = b"GET / HTTP/1.1\r\nX: ".to_vec();
    over_head_incomplete.resize(head + 1, b'p');
    let mut one_chunk_over = format!("{:x}\r\n", max_body + 1).into_bytes();
    one_chunk_over.extend(vec![b'a'; max_body + 1]);
    let mut two_chunks_over = format!("{max_body:x}\r\n").into_bytes();
    two_chunks_over.extend(vec![b'a'; max_body]);
    two_chunks_over.extend_from_slice(b"\r\n1\r\na\r\n0\r\n\r\n");
    let long_ext = format!(
        "5;{}\r\nhello\r\n0\r\n\r\n",
        "e".repeat(TEST_LIMITS.max_chunk_line - 1)
    );
    let long_trailer = format!("0\r\nT: {}\r\n\r\n", "v".repeat(head));
    vec![
        // Request smuggling: framing that two parsers could read differently.
        (
            "two content-lengths that differ",
            post("Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"),
            Reject(BAD),
        ),
        (
            "content-length list that differs",
            post("Content-Length: 5, 6\r\n", b"hello!"),
            Reject(BAD),
        ),
        (
            "content-length list with an empty item",
            post("Content-Length: 5,\r\n", b"hello"),
            Reject(BAD),
        ),
        (
            "content-length then transfer-encoding",
            post(
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
            ),
            AnswerThenClose,
        ),
        (
            "transfer-encoding then content-length",
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n",
                b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
            ),
            AnswerThenClose,
        ),
        (
            "transfer-encoding chunked then identity",
            post("Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "transfer-encoding gzip alone",
            post("Transfer-Encoding: gzip\r\n", b"abc"),
            Reject(BAD),
        ),
        (
            "transfer-encoding empty",
            post("Transfer-Encoding: \r\n", b""),
            Reject(BAD),
        ),
        (
            "transfer-encoding gzip then chunked",
            post("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
            Reject(NOT_IMPLEMENTED),
        ),
        (
            "transfer-encoding chunked twice in one field",
            post("Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "transfer-encoding chunked in two fields",
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                b"0\r\n\r\n",
            ),
            Reject(BAD),
        ),
        (
            "transfer-encoding with space before colon",
            post("Transfer-Encoding : chunked\r\n", b"0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "transfer-encoding with obs-fold",
            post("Transfer-Encoding:\r\n chunked\r\n", b"0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "transfer-encoding in http/1.0",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        // Chunk framing.
        (
            "chunk size with 0x prefix",
            chunked(b"0x5\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size with plus sign",
            chunked(b"+5\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size negative",
            chunked(b"-1\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size of 17 hex digits",
            chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size of 17 zero digits",
            chunked(b"00000000000000000\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size missing",
            chunked(b"\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size followed by junk",
            chunked(b"5 x\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk size line ended by bare lf",
            chunked(b"5\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk extension with nul",
            chunked(b"5;a=\0\r\nhello\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk data without crlf after it",
            chunked(b"5\r\nhelloX\r\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk data followed by bare lf",
            chunked(b"5\r\nhello\n0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "chunk-size line one over its limit",
            chunked(long_ext.as_bytes()),
            Reject(BAD),
        ),
        (
            "trailer with obs-fold",
            chunked(b"0\r\nT: a\r\n b\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "trailer with nul",
            chunked(b"0\r\nT: a\0\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "trailer without colon",
            chunked(b"0\r\nT\r\n\r\n"),
            Reject(BAD),
        ),
        (
            "trailer count one over the limit",
            trailers(TEST_LIMITS.max_headers + 1),
            Reject(FIELDS_TOO_LARGE),
        ),
        (
            "trailer section over the head limit",
            chunked(long_trailer.as_bytes()),
            Reject(FIELDS_TOO_LARGE),
        ),
        // Body size.
        (
            "content-length one over the body limit",
            post(&format!("Content-Length: {}\r\n", max_body + 1), b""),
            Reject(TOO_LARGE),
        ),
        (
            "one chunk one over the body limit",
            chunked(&one_chunk_over),
            Reject(TOO_LARGE),
        ),
        (
            "two chunks one over the body limit",
            chunked(&two_chunks_over),
            Reject(TOO_LARGE),
        ),
        (
            "content-length of 20 digits",
            post("Content-Length: 99999999999999999999\r\n", b""),
            Reject(BAD),
        ),
        (
            "content-length negative",
            post("Content-Length: -1\r\n", b""),
            Reject(BAD),
        ),
        (
            "content-length with plus sign",
            post("Content-Length: +5\r\n", b"hello"),
            Reject(BAD),
        ),
        (
            "content-length in hex",
            post("Content-Length: 0x5\r\n", b"hello"),
            Reject(BAD),
        ),
        (
            "content-length empty",
            post("Content-Length: \r\n", b""),
            Reject(BAD),
        ),
        (
            "content-length with inner space",
            post("Content-Length: 1 2\r\n", b"hello world!"),
            Reject(BAD),
        ),
        // Head limits.
        (
            "target one over the uri limit",
            get_with_target_len(uri + 1),
            Reject(URI_TOO_LONG),
        ),
        (
            "target over the uri limit before the head ends",
            format!("GET /{}", "a".repeat(uri)).into_bytes(),
            Reject(URI_TOO_LONG),
        ),
        (
            "field count one over the limit",
            get_with_field_count(TEST_LIMITS.max_headers + 1),
            Reject(FIELDS_TOO_LARGE),
        ),
        (
            "head one byte over the limit",
            get_with_head_len(head + 1),
            Reject(FIELDS_TOO_LARGE),
        ),
        (
            "head over the limit before it ends",
            over_head_incomplete,
            Reject(FIELDS_TOO_LARGE),
        ),
        // Bytes in the head.
        (
            "nul in a header value",
            post("X: a\0b\r\n", b""),
            Reject(BAD),
        ),
        (
            "del in a header value",
            post("X: a\x7fb\r\n", b""),
            Reject(BAD),
        ),
        (
            "bare cr inside a header value",
            post("X: a\rb\r\n", b""),
            Reject(BAD),
        ),
        (
            "header line ended by cr cr lf",
            post("X: a\r\r\n", b""),
            Reject(BAD),
        ),
        (
            "header line ended by bare lf",
            post("X: a\n", b""),
            Reject(BAD),
        ),
        (
            "request line ended by bare lf",
            b"GET / HTTP/1.1\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "obs-fold continuation line",
            post("X: a\r\n\tb\r\n", b""),
            Reject(BAD),
        ),
        (
            "space before a header colon",
            post("X : a\r\n", b""),
            Reject(BAD),
        ),
        (
            "header name with a parenthesis",
            post("X(a): b\r\n", b""),
            Reject(BAD),
        ),
        ("header with empty name", post(": b\r\n", b""), Reject(BAD)),
        // Request line and Host.
        (
            "http/1.1 without host",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "two host fields",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "two host fields in http/1.0",
            b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "method with an at sign",
            b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "method with a nul",
            b"GE\0T / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "space before the method",
            b" GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "target with a control byte",
            b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
        (
            "version http/2.0",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD_VERSION),
        ),
        (
            "version http/1.2",
            b"GET / HTTP/1.2\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD_VERSION),
        ),
        (
            "version missing",
            b"GET /\r\nHost: a\r\n\r\n".to_vec(),
            Reject(BAD),
        ),
    ]
}

#[test]
fn bad_requests_get_their_status_and_a_closed_connection() {
    let cases = cases();
    assert!(cases.len() >= 45, "table has {} cases", cases.len());
    for (name, input, outcome) in &cases {
        for mode in FEEDS {
            let mut codec = server();
            let (parts, err) = feed(&mut codec, input, mode);
            let mut out = BytesMut::new();
            match (outcome, err) {
                (Reject(status), Some(err)) => {
                    assert_eq!(err.status(), *status, "case {name} ({mode:?}): {err}");
                    codec
                        .encode(ServerCodec::error_response(&err), &mut out)
                        .expect("error responses encode");
                    let head = String::from_utf8_lossy(&out);
                    assert!(
                        head.starts_with(&format!("HTTP/1.1 {}", status.as_u16())),
                        "case {name}"
                    );
                }
                (AnswerThenClose, None) => {
                    let heads = parts
                        .iter()
                        .filter_map(|p| match p {
                            RequestPart::Head(h) => Some(h),
                            _ => None,
                        })
                        .collect::<Vec<_>>();
                    assert_eq!(
                        heads.len(),
                        1,
                        "case {name} ({mode:?}): smuggled request decoded"
                    );
                    assert!(!heads[0].keep_alive, "case {name} ({mode:?})");
                    assert!(
                        matches!(parts.last(), Some(RequestPart::End)),
                        "case {name}"
                    );
                    codec
                        .encode(Response::new(Bytes::from_static(b"ok")), &mut out)
                        .expect("responses encode");
                }
                (outcome, err) => panic!("case {name} ({mode:?}): want {outcome:?}, got {err:?}"),
            }
            assert!(codec.should_close(), "case {name} ({mode:?}) must close");
            assert!(
                String::from_utf8_lossy(&out).contains("\r\nconnection: close\r\n"),
                "case {name} ({mode:?}) must say it closes"
            );
        }
    }
}

#[test]
fn decoding_stops_after_an_error() {
    let mut codec = server();
    let (_, err) = feed(&mut codec, b"G@T / HTTP/1.1\r\n\r\n", Feed::Whole);
    assert!(err.is_some());
    let mut more = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    assert!(matches!(
        crate::Decoder::decode(&mut codec, &mut more),
        Ok(None)
    ));
}

#[test]
fn error_messages_name_the_limit() {
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "header count",
            get_with_field_count(101),
            "header count 101 over limit 100",
        ),
        (
            "uri",
            get_with_target_len(8193),
            "uri length 8193 over limit 8192",
        ),
        (
            "head",
            get_with_head_len(65_537),
            "head length 65537 over limit 65536",
        ),
        (
            "body",
            post("Content-Length: 1025\r\n", b""),
            "body length 1025 over limit 1024",
        ),
    ];
    for (name, input, want) in cases {
        let (_, err) = feed(&mut server(), &input, Feed::Whole);
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some(want),
            "case {name}"
        );
    }
}
