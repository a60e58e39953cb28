//! Unit tests of the HTTP client: the response-gathering codec fed whole and
//! one byte at a time, and the client's pure helpers.

use super::*;

/// What decoding one response stream gave: the items, how the stream
/// ended, and whether the connection was retired.
struct Fed {
    items: Vec<Gathered>,
    end: Result<(), HttpError>,
    retired: bool,
}

/// Decodes `bytes` (then the end of stream) as the answer to one GET,
/// whole or one byte at a time.
fn feed(bytes: &[u8], max_body: u64, whole: bool) -> Fed {
    let retired = Rc::new(Cell::new(false));
    let limits = Limits {
        max_body,
        ..Limits::default()
    };
    let mut codec = Gather::new(ClientCodec::with_limits(limits), retired.clone());
    let request = Request::get("/").body(Bytes::new()).unwrap();
    codec.encode(request, &mut BytesMut::new()).unwrap();
    let chunks: Vec<&[u8]> = if whole {
        vec![bytes]
    } else {
        bytes.chunks(1).collect()
    };
    let mut src = BytesMut::new();
    let mut items = Vec::new();
    let mut end = Ok(());
    'feed: for chunk in chunks {
        src.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut src) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => {
                    end = Err(e);
                    break 'feed;
                }
            }
        }
    }
    while end.is_ok() {
        match codec.decode_eof(&mut src) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(e) => end = Err(e),
        }
    }
    Fed {
        items,
        end,
        retired: retired.get(),
    }
}

/// (name, response bytes, status, body, whether it retires the connection)
type GoodCase = (&'static str, &'static [u8], u16, &'static [u8], bool);

#[test]
fn responses_are_gathered_whole_or_byte_by_byte() {
    let cases: [GoodCase; 8] = [
        (
            "content-length",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            200,
            b"hello",
            false,
        ),
        (
            "chunked",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            200,
            b"abcde",
            false,
        ),
        ("no body", b"HTTP/1.1 204 No Content\r\n\r\n", 204, b"", false),
        (
            "connection close",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nhi",
            200,
            b"hi",
            true,
        ),
        (
            "http/1.0",
            b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi",
            200,
            b"hi",
            true,
        ),
        (
            "close-delimited",
            b"HTTP/1.1 200 OK\r\n\r\nuntil the end",
            200,
            b"until the end",
            true,
        ),
        (
            "interim 100 skipped",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
            200,
            b"x",
            false,
        ),
        (
            "switching protocols",
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\nnot http",
            101,
            b"",
            true,
        ),
    ];
    for (name, bytes, status, body, retired) in cases {
        for whole in [true, false] {
            let fed = feed(bytes, 1024, whole);
            let case = format!("{name} (whole: {whole})");
            assert!(fed.end.is_ok(), "{case}: {:?}", fed.end);
            assert_eq!(fed.items.len(), 1, "{case}: one response");
            let response = fed.items[0].as_ref().unwrap();
            assert_eq!(response.status().as_u16(), status, "{case}");
            assert_eq!(response.body().as_ref(), body, "{case}");
            assert_eq!(fed.retired, retired, "{case}: retired");
        }
    }
}

#[test]
fn bad_responses_fail_their_call_or_the_connection() {
    // (name, bytes, max body, expected: Some(message) for an error item
    // handed to the call, None for an error ending the stream)
    let cases: [(&str, &[u8], u64, Option<&str>); 6] = [
        (
            "length at limit + 1",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            4,
            Some("body length 5 over limit 4"),
        ),
        (
            "chunked at limit + 1",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            4,
            Some("body length 5 over limit 4"),
        ),
        (
            "close-delimited at limit + 1",
            b"HTTP/1.1 200 OK\r\n\r\nhello",
            4,
            Some("body length 5 over limit 4"),
        ),
        (
            "bad status line",
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            1024,
            Some("invalid status line"),
        ),
        (
            "cut short in the body",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel",
            1024,
            None,
        ),
        (
            "cut short in the head",
            b"HTTP/1.1 200 OK\r\ncontent-",
            1024,
            None,
        ),
    ];
    for (name, bytes, max_body, expected) in cases {
        for whole in [true, false] {
            let fed = feed(bytes, max_body, whole);
            let case = format!("{name} (whole: {whole})");
            match expected {
                Some(message) => {
                    assert!(fed.end.is_ok(), "{case}: the stream stays readable");
                    assert_eq!(fed.items.len(), 1, "{case}: one error item");
                    let error = fed.items[0].as_ref().unwrap_err();
                    assert_eq!(error.to_string(), message, "{case}");
                    assert!(fed.retired, "{case}: retired");
                }
                None => {
                    assert!(fed.items.is_empty(), "{case}: no item");
                    assert!(fed.end.unwrap_err().is_incomplete(), "{case}");
                }
            }
        }
    }
}

#[test]
fn a_body_at_the_limit_is_gathered() {
    for (name, bytes) in [
        (
            "length",
            &b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfour"[..],
        ),
        (
            "chunked",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nfour\r\n0\r\n\r\n",
        ),
        ("close-delimited", b"HTTP/1.1 200 OK\r\n\r\nfour"),
    ] {
        for whole in [true, false] {
            let fed = feed(bytes, 4, whole);
            let response = fed.items[0].as_ref().unwrap();
            assert_eq!(response.body().as_ref(), b"four", "{name} (whole: {whole})");
        }
    }
}

#[test]
fn requests_are_sent_in_origin_form_with_a_host() {
    let cases = [
        (
            "http://Example.test/a?b=c",
            "/a?b=c",
            "Example.test",
            "example.test",
            80,
        ),
        (
            "http://127.0.0.1:8080",
            "/",
            "127.0.0.1:8080",
            "127.0.0.1",
            8080,
        ),
        ("http://user@[::1]:9/x", "/x", "[::1]:9", "::1", 9),
    ];
    for (uri, target, host, endpoint_host, port) in cases {
        let request = Request::get(uri).body(Bytes::new()).unwrap();
        let (endpoint, request) = prepare(request).unwrap();
        assert_eq!(request.uri(), target, "{uri}");
        assert_eq!(request.headers()[HOST], host, "{uri}");
        assert_eq!(endpoint.host, endpoint_host, "{uri}");
        assert_eq!(endpoint.port, port, "{uri}");
    }
}
