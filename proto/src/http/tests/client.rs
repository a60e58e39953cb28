//! The client codec: request bytes, and responses framed by length, chunks,
//! the close, or their request's method and status.

use ::http::{Method, Request, StatusCode};
use bytes::{Bytes, BytesMut};

use super::{feed, Feed, FEEDS, TEST_LIMITS};
use crate::codec::{Decoder, Encoder};
use crate::http::{BodyLength, ClientCodec, ErrorKind, RequestHead, RequestPart, ResponsePart};

/// A response part in a form tests can compare, data parts joined.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Head(u16, BodyLength),
    Body(Vec<u8>),
    End,
}

fn seen(parts: &[ResponsePart]) -> Vec<Seen> {
    let mut seen = Vec::new();
    for part in parts {
        match part {
            ResponsePart::Head(r, body) => seen.push(Seen::Head(r.status().as_u16(), *body)),
            ResponsePart::Data(d) => match seen.last_mut() {
                Some(Seen::Body(b)) => b.extend_from_slice(d),
                _ => seen.push(Seen::Body(d.to_vec())),
            },
            ResponsePart::End => seen.push(Seen::End),
        }
    }
    seen
}

/// A client codec that has sent requests with `methods`.
fn client(methods: &[Method]) -> ClientCodec {
    let mut codec = ClientCodec::with_limits(TEST_LIMITS);
    let mut out = BytesMut::new();
    for method in methods {
        let mut request = Request::new(Bytes::new());
        *request.method_mut() = method.clone();
        *request.uri_mut() = "http://example.com/".parse().expect("a valid uri");
        codec.encode(request, &mut out).expect("requests encode");
    }
    codec
}

#[test]
fn responses_are_framed_by_length_chunks_and_method() {
    type Case = (&'static str, Method, &'static [u8], Vec<Seen>);
    let cases: Vec<Case> = vec![
        (
            "content-length",
            Method::GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            vec![Seen::Head(200, BodyLength::Length(5)), Seen::Body(b"hello".to_vec()), Seen::End],
        ),
        (
            "chunked with trailer",
            Method::GET,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\nT: v\r\n\r\n",
            vec![Seen::Head(200, BodyLength::Chunked), Seen::Body(b"hello".to_vec()), Seen::End],
        ),
        (
            "100 continue skipped",
            Method::POST,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            vec![Seen::Head(201, BodyLength::Empty), Seen::End],
        ),
        (
            "head response with a length but no body",
            Method::HEAD,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
            vec![Seen::Head(200, BodyLength::Empty), Seen::End],
        ),
        (
            "no content",
            Method::GET,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
            vec![Seen::Head(204, BodyLength::Empty), Seen::End],
        ),
        (
            "not modified",
            Method::GET,
            b"HTTP/1.1 304 Not Modified\r\n\r\n",
            vec![Seen::Head(304, BodyLength::Empty), Seen::End],
        ),
    ];
    for (name, method, input, want) in cases {
        for mode in FEEDS {
            let (parts, err) = feed(&mut client(std::slice::from_ref(&method)), input, mode);
            assert!(err.is_none(), "case {name} ({mode:?}): {err:?}");
            assert_eq!(seen(&parts), want, "case {name} ({mode:?})");
        }
    }
}

#[test]
fn pipelined_responses_decode_in_order() {
    let mut codec = client(&[Method::HEAD, Method::GET]);
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let (parts, err) = feed(&mut codec, input, Feed::ByteAtATime);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        seen(&parts),
        [
            Seen::Head(200, BodyLength::Empty),
            Seen::End,
            Seen::Head(200, BodyLength::Length(2)),
            Seen::Body(b"ok".to_vec()),
            Seen::End,
        ]
    );
    assert_eq!(codec.outstanding(), 0);
}

#[test]
fn close_delimited_body_ends_at_eof() {
    let mut codec = client(&[Method::GET]);
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\nall of "[..]);
    let mut parts = Vec::new();
    while let Some(part) = codec.decode(&mut buf).expect("decodes") {
        parts.push(part);
    }
    buf.extend_from_slice(b"it");
    while let Some(part) = codec.decode_eof(&mut buf).expect("ends at eof") {
        parts.push(part);
    }
    assert_eq!(
        seen(&parts),
        [
            Seen::Head(200, BodyLength::CloseDelimited),
            Seen::Body(b"all of it".to_vec()),
            Seen::End
        ]
    );
    assert!(codec.should_close());
}

#[test]
fn a_close_delimited_body_over_the_limit_gives_the_same_parts_however_it_arrives() {
    // Fuzzing found the whole stream failing at once while one byte at a time
    // gave the bytes up to the limit first.
    let limit = usize::try_from(TEST_LIMITS.max_body).expect("a small limit");
    let mut input = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', limit + 3));
    for mode in FEEDS {
        let (parts, err) = feed(&mut client(&[Method::GET]), &input, mode);
        assert_eq!(
            seen(&parts),
            [
                Seen::Head(200, BodyLength::CloseDelimited),
                Seen::Body(vec![b'x'; limit])
            ],
            "{mode:?}"
        );
        let kind = err.map(|e| e.kind());
        assert!(
            matches!(kind, Some(ErrorKind::BodyTooLarge { .. })),
            "{mode:?}: {kind:?}"
        );
    }
}

#[test]
fn switching_protocols_stops_decoding() {
    let mut codec = client(&[Method::GET]);
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n\x81\x00"[..]);
    assert!(
        matches!(codec.decode(&mut buf), Ok(Some(ResponsePart::Head(r, _))) if r.status() == StatusCode::SWITCHING_PROTOCOLS)
    );
    assert!(matches!(codec.decode(&mut buf), Ok(None)));
    assert_eq!(&buf[..], b"\x81\x00");
}

#[test]
fn bad_responses_are_errors() {
    let cases: [(&str, &[u8], ErrorKind); 6] = [
        (
            "conflicting lengths",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            ErrorKind::ConflictingContentLength,
        ),
        (
            "bad status",
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            ErrorKind::InvalidStatus,
        ),
        (
            "bad version",
            b"HTTP/3.0 200 OK\r\n\r\n",
            ErrorKind::UnsupportedVersion,
        ),
        (
            "bare lf",
            b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
            ErrorKind::LineEnding,
        ),
        (
            "body over limit",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n",
            ErrorKind::BodyTooLarge {
                len: 1025,
                limit: 1024,
            },
        ),
        (
            "bad chunk",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
            ErrorKind::InvalidChunkSize,
        ),
    ];
    for (name, input, kind) in cases {
        for mode in FEEDS {
            let (_, err) = feed(&mut client(&[Method::GET]), input, mode);
            assert_eq!(err.map(|e| e.kind()), Some(kind), "case {name} ({mode:?})");
        }
    }
}

#[test]
fn response_without_a_request_is_an_error() {
    let (_, err) = feed(&mut client(&[]), b"HTTP/1.1 200 OK\r\n\r\n", Feed::Whole);
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::UnexpectedResponse));
}

#[test]
fn eof_inside_a_length_body_is_an_incomplete_message() {
    let mut codec = client(&[Method::GET]);
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"[..]);
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Ok(Some(ResponsePart::Head(..)))
    ));
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Ok(Some(ResponsePart::Data(_)))
    ));
    assert!(matches!(codec.decode_eof(&mut buf), Err(e) if e.is_incomplete()));
}

#[test]
fn whole_requests_are_written_with_host_and_length() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let mut post = Request::new(Bytes::from_static(b"data"));
    *post.method_mut() = Method::POST;
    *post.uri_mut() = "http://example.com:8080/p?q=1".parse().expect("valid uri");
    post.headers_mut()
        .insert("x-a", "b".parse().expect("valid value"));
    codec.encode(post, &mut out).expect("encodes");
    let mut get = Request::new(Bytes::new());
    *get.uri_mut() = "/plain".parse().expect("valid uri");
    codec.encode(get, &mut out).expect("encodes");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "POST /p?q=1 HTTP/1.1\r\nhost: example.com:8080\r\nx-a: b\r\ncontent-length: 4\r\n\r\ndata\
         GET /plain HTTP/1.1\r\nhost: \r\n\r\n"
    );
    assert_eq!(codec.outstanding(), 2);
}

#[test]
fn streamed_requests_are_chunked() {
    let mut codec = ClientCodec::new();
    let mut out = BytesMut::new();
    let mut request = Request::new(());
    *request.method_mut() = Method::PUT;
    *request.uri_mut() = "http://h/f".parse().expect("valid uri");
    let head = RequestHead {
        request,
        body: BodyLength::Chunked,
        keep_alive: true,
        expect_continue: false,
    };
    for part in [
        RequestPart::Head(head),
        RequestPart::Data(Bytes::from_static(b"abc")),
        RequestPart::End,
    ] {
        codec.encode(part, &mut out).expect("encodes");
    }
    assert_eq!(
        String::from_utf8_lossy(&out),
        "PUT /f HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    );
}
