//! Response encoding: exact bytes, bodiless statuses, chunked streaming,
//! connection management, 100-continue and error responses.

use ::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use ::http::{HeaderValue, Response, StatusCode};
use bytes::{Bytes, BytesMut};

use super::{feed, mask_date, server, Feed};
use crate::codec::Encoder;
use crate::http::{BodyLength, Error, ErrorKind, RequestPart, ResponsePart, ServerCodec};

/// A server codec that has decoded `requests`.
fn answering(requests: &[u8]) -> ServerCodec {
    let mut codec = server();
    let (_, err) = feed(&mut codec, requests, Feed::Whole);
    assert!(err.is_none(), "{err:?}");
    codec
}

fn response(status: u16, body: &'static [u8]) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("test statuses are valid");
    response
}

fn encode_whole(codec: &mut ServerCodec, response: Response<Bytes>) -> String {
    let mut out = BytesMut::new();
    codec.encode(response, &mut out).expect("response encodes");
    mask_date(&out)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

#[test]
fn ok_with_body_is_written_exactly() {
    let mut codec = answering(GET);
    let mut r = response(200, b"hello");
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    assert_eq!(
        encode_whole(&mut codec, r),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
    );
    assert!(!codec.should_close());
}

#[test]
fn head_response_has_a_length_but_no_body() {
    let mut codec = answering(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        encode_whole(&mut codec, response(200, b"hello")),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ncontent-length: 5\r\n\r\n"
    );
}

#[test]
fn head_response_keeps_the_length_the_user_set() {
    let mut codec = answering(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut r = response(200, b"");
    r.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(1234));
    assert_eq!(
        encode_whole(&mut codec, r),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ncontent-length: 1234\r\n\r\n"
    );
}

#[test]
fn no_content_and_not_modified_have_no_body_or_length() {
    for status in [204, 304] {
        let mut codec = answering(GET);
        let mut r = response(status, b"dropped");
        r.headers_mut()
            .insert("transfer-encoding", HeaderValue::from_static("chunked"));
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or_default();
        assert_eq!(
            encode_whole(&mut codec, r),
            format!("HTTP/1.1 {status} {reason}\r\ndate: <date>\r\n\r\n"),
            "status {status}"
        );
    }
}

#[test]
fn streamed_body_is_chunked() {
    let mut codec = answering(GET);
    let mut out = BytesMut::new();
    let parts = [
        ResponsePart::Head(Response::new(()), BodyLength::Chunked),
        ResponsePart::Data(Bytes::from_static(b"hello ")),
        ResponsePart::Data(Bytes::new()),
        ResponsePart::Data(Bytes::from(vec![b'x'; 26])),
        ResponsePart::End,
    ];
    for part in parts {
        codec.encode(part, &mut out).expect("parts encode");
    }
    let want = format!(
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ntransfer-encoding: chunked\r\n\r\n\
         6\r\nhello \r\n1a\r\n{}\r\n0\r\n\r\n",
        "x".repeat(26)
    );
    assert_eq!(mask_date(&out), want);
}

#[test]
fn streamed_body_to_http10_is_delimited_by_close() {
    let mut codec = answering(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let mut out = BytesMut::new();
    for part in [
        ResponsePart::Head(Response::new(()), BodyLength::Chunked),
        ResponsePart::Data(Bytes::from_static(b"raw")),
        ResponsePart::End,
    ] {
        codec.encode(part, &mut out).expect("parts encode");
    }
    assert_eq!(
        mask_date(&out),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\nconnection: close\r\n\r\nraw"
    );
    assert!(codec.should_close());
}

#[test]
fn connection_close_is_sent_when_the_request_asked() {
    let mut codec = answering(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(
        encode_whole(&mut codec, response(200, b"")),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert!(codec.should_close());
}

#[test]
fn http10_keep_alive_is_confirmed() {
    let mut codec = answering(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        encode_whole(&mut codec, response(200, b"a")),
        "HTTP/1.1 200 OK\r\ndate: <date>\r\ncontent-length: 1\r\nconnection: keep-alive\r\n\r\na"
    );
    assert!(!codec.should_close());
}

#[test]
fn pipelined_responses_follow_their_own_requests() {
    let mut codec = answering(
        b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let first = encode_whole(&mut codec, response(200, b"abc"));
    assert!(first.ends_with("content-length: 3\r\n\r\n"), "{first}");
    assert!(!codec.should_close());
    let second = encode_whole(&mut codec, response(200, b"abc"));
    assert!(second.ends_with("connection: close\r\n\r\nabc"), "{second}");
    assert!(codec.should_close());
}

#[test]
fn continue_is_written_then_the_final_response() {
    let mut codec = answering(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    );
    assert!(codec.continue_needed());
    assert_eq!(
        encode_whole(&mut codec, response(100, b"")),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    assert!(!codec.continue_needed());
    let (_, err) = feed(&mut codec, b"abc", Feed::Whole);
    assert!(err.is_none());
    encode_whole(&mut codec, response(201, b""));
    assert!(!codec.should_close());
}

#[test]
fn refusing_an_expected_body_closes_the_connection() {
    let mut codec = answering(
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    );
    let out = encode_whole(&mut codec, response(413, b""));
    assert!(out.contains("connection: close\r\n"), "{out}");
    assert!(codec.should_close());
}

#[test]
fn interim_responses_are_not_sent_to_http10() {
    let mut codec = answering(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(encode_whole(&mut codec, response(100, b"")), "");
}

#[test]
fn body_longer_or_shorter_than_declared_is_an_error() {
    let cases: [(&str, &[&[u8]], u64, u64); 2] = [
        ("too long", &[b"abc", b"def"], 5, 6),
        ("too short", &[b"abc"], 5, 3),
    ];
    for (name, chunks, declared, written) in cases {
        let mut codec = answering(GET);
        let mut out = BytesMut::new();
        let mut result = codec.encode(
            ResponsePart::Head(Response::new(()), BodyLength::Length(declared)),
            &mut out,
        );
        for chunk in chunks {
            result = result.and_then(|()| {
                codec.encode(ResponsePart::Data(Bytes::from_static(chunk)), &mut out)
            });
        }
        result = result.and_then(|()| codec.encode(ResponsePart::End, &mut out));
        let err = result.expect_err(name);
        assert_eq!(
            err.kind(),
            ErrorKind::BodyLengthMismatch { declared, written },
            "case {name}"
        );
        assert!(err.is_encode(), "case {name}");
    }
}

#[test]
fn parts_out_of_order_are_an_error() {
    let mut codec = answering(GET);
    let mut out = BytesMut::new();
    let err = codec
        .encode(ResponsePart::Data(Bytes::from_static(b"x")), &mut out)
        .expect_err("data before a head");
    assert_eq!(err.kind(), ErrorKind::OutOfOrder);
}

#[test]
fn error_responses_carry_status_close_and_message() {
    let cases = [
        (ErrorKind::MissingHost, 400),
        (ErrorKind::BodyTooLarge { len: 9, limit: 8 }, 413),
        (ErrorKind::UriTooLong { len: 9, limit: 8 }, 414),
        (ErrorKind::TooManyHeaders { count: 9, limit: 8 }, 431),
        (ErrorKind::HeadTooLarge { len: 9, limit: 8 }, 431),
        (ErrorKind::UnsupportedTransferCoding, 501),
        (ErrorKind::TooManyUnanswered { limit: 8 }, 503),
        (ErrorKind::UnsupportedVersion, 505),
    ];
    for (kind, status) in cases {
        let err = Error::new(kind);
        let mut codec = server();
        let out = encode_whole(&mut codec, ServerCodec::error_response(&err));
        let message = format!("{err}\n");
        let reason = err.status().canonical_reason().unwrap_or_default();
        let want = format!(
            "HTTP/1.1 {status} {reason}\r\ndate: <date>\r\nconnection: close\r\n\
             content-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n{message}",
            message.len()
        );
        assert_eq!(out, want, "kind {kind:?}");
        assert!(codec.should_close(), "kind {kind:?}");
    }
}

#[test]
fn date_header_is_an_imf_fixdate() {
    let mut codec = answering(GET);
    let mut out = BytesMut::new();
    codec.encode(response(200, b""), &mut out).expect("encodes");
    let text = String::from_utf8_lossy(&out).into_owned();
    let date = text
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a date line");
    assert_eq!(date.len(), 29, "{date}");
    assert!(date.ends_with(" GMT"), "{date}");
}

#[test]
fn the_next_request_has_its_own_fields_only_in_a_recycled_map() {
    let mut codec = answering(GET);
    let mut r = response(200, b"hello");
    for (name, value) in [
        ("x-secret", "1"),
        ("content-type", "text/plain"),
        ("x-more", "2"),
    ] {
        r.headers_mut()
            .append(name, HeaderValue::from_static(value));
    }
    encode_whole(&mut codec, r);
    let (parts, err) = feed(
        &mut codec,
        b"GET /next HTTP/1.1\r\nHost: b\r\n\r\n",
        Feed::Whole,
    );
    assert!(err.is_none(), "{err:?}");
    let Some(RequestPart::Head(head)) = parts.into_iter().next() else {
        panic!("the next request's head decodes");
    };
    let fields: Vec<_> = head
        .request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(fields, [("host".to_owned(), "b".to_owned())]);
    assert!(
        head.request.headers().capacity() >= 3,
        "the response's map, with room for its three fields, was reused"
    );
}
