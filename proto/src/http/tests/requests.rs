//! Well-formed requests: heads, bodies split at every byte boundary,
//! pipelining, keep-alive rules, and limits at exactly their value.

use ::http::{Method, Version};
use bytes::BytesMut;

use super::bad_requests::{get_with_field_count, get_with_head_len, get_with_target_len};
use super::{feed, feed_split, seen_requests, server, Feed, Seen, FEEDS, TEST_LIMITS};
use crate::codec::Decoder;
use crate::http::{BodyLength, RequestHead, RequestPart};

/// Decodes `input` fed as `mode`, failing on any error.
fn decode_ok(input: &[u8], mode: Feed) -> Vec<RequestPart> {
    let (parts, err) = feed(&mut server(), input, mode);
    assert!(err.is_none(), "{mode:?}: {err:?}");
    parts
}

fn heads(parts: &[RequestPart]) -> Vec<&RequestHead> {
    parts
        .iter()
        .filter_map(|p| match p {
            RequestPart::Head(h) => Some(h),
            _ => None,
        })
        .collect()
}

#[test]
fn get_keeps_the_connection_alive() {
    for mode in FEEDS {
        let parts = decode_ok(
            b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Y: z\r\n\r\n",
            mode,
        );
        let head = heads(&parts)[0];
        assert!(head.keep_alive);
        assert!(!head.expect_continue);
        assert_eq!(head.body, BodyLength::Empty);
        assert_eq!(head.request.method(), Method::GET);
        assert_eq!(head.request.uri(), "/a?b=c");
        assert_eq!(head.request.version(), Version::HTTP_11);
        assert_eq!(head.request.headers()["x-y"], "z");
        assert_eq!(
            seen_requests(&parts),
            [Seen::Head("GET /a?b=c".into()), Seen::End]
        );
    }
}

#[test]
fn pipelined_gets_decode_in_order() {
    let input = b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\
        GET /2 HTTP/1.1\r\nHost: a\r\n\r\n\
        GET /3 HTTP/1.1\r\nHost: a\r\n\r\n";
    for mode in FEEDS {
        let want = ["/1", "/2", "/3"]
            .iter()
            .flat_map(|u| [Seen::Head(format!("GET {u}")), Seen::End])
            .collect::<Vec<_>>();
        assert_eq!(seen_requests(&decode_ok(input, mode)), want, "{mode:?}");
    }
}

#[test]
fn post_with_content_length_decodes_at_every_split() {
    let input = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello worldGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let want = [
        Seen::Head("POST /up".into()),
        Seen::Body(b"hello world".to_vec()),
        Seen::End,
        Seen::Head("GET /".into()),
        Seen::End,
    ];
    for at in 0..=input.len() {
        let parts = feed_split(&mut server(), input, at);
        assert_eq!(seen_requests(&parts), want, "split at {at}");
        assert_eq!(
            heads(&parts)[0].body,
            BodyLength::Length(11),
            "split at {at}"
        );
    }
}

#[test]
fn chunked_post_with_extensions_and_trailers_decodes_at_every_split() {
    let input = b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n\
        5;name=value;x\r\nhello\r\n\
        6 ; ext=\"q\"\r\n world\r\n\
        00\r\nTrailer-One: 1\r\nTrailer-Two: two\r\n\r\n\
        GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let want = [
        Seen::Head("POST /c".into()),
        Seen::Body(b"hello world".to_vec()),
        Seen::End,
        Seen::Head("GET /".into()),
        Seen::End,
    ];
    for at in 0..=input.len() {
        let parts = feed_split(&mut server(), input, at);
        assert_eq!(seen_requests(&parts), want, "split at {at}");
        assert_eq!(heads(&parts)[0].body, BodyLength::Chunked, "split at {at}");
    }
}

#[test]
fn body_data_is_yielded_as_it_arrives() {
    let mut codec = server();
    let mut buf = BytesMut::from(
        &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\nhel"[..],
    );
    assert!(matches!(
        codec.decode(&mut buf),
        Ok(Some(RequestPart::Head(_)))
    ));
    match codec.decode(&mut buf) {
        Ok(Some(RequestPart::Data(d))) => assert_eq!(&d[..], b"hel"),
        other => panic!("want the partial chunk, got {other:?}"),
    }
    assert!(buf.is_empty());
    assert!(matches!(codec.decode(&mut buf), Ok(None)));
}

#[test]
fn http10_closes_unless_it_asks_for_keep_alive() {
    let cases: [(&str, &[u8], bool); 4] = [
        ("plain 1.0", b"GET / HTTP/1.0\r\n\r\n", false),
        (
            "1.0 keep-alive",
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
            true,
        ),
        (
            "1.0 keep-alive in a list",
            b"GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n",
            true,
        ),
        (
            "1.1 close in a list",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,CLOSE\r\n\r\n",
            false,
        ),
    ];
    for (name, input, keep_alive) in cases {
        for mode in FEEDS {
            let parts = decode_ok(input, mode);
            assert_eq!(
                heads(&parts)[0].keep_alive,
                keep_alive,
                "case {name} ({mode:?})"
            );
        }
    }
}

#[test]
fn nothing_is_decoded_after_a_request_that_closes() {
    let input = b"GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    for mode in FEEDS {
        let parts = decode_ok(input, mode);
        assert_eq!(
            seen_requests(&parts),
            [Seen::Head("GET /1".into()), Seen::End],
            "{mode:?}"
        );
    }
}

#[test]
fn head_request_is_decoded_with_no_body() {
    let parts = decode_ok(b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n", Feed::Whole);
    assert_eq!(
        seen_requests(&parts),
        [Seen::Head("HEAD /x".into()), Seen::End]
    );
}

#[test]
fn expect_continue_is_reported_until_the_body_starts() {
    let mut codec = server();
    let mut buf = BytesMut::from(
        &b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"[..],
    );
    match codec.decode(&mut buf) {
        Ok(Some(RequestPart::Head(h))) => assert!(h.expect_continue),
        other => panic!("want a head, got {other:?}"),
    }
    assert!(codec.continue_needed());
    buf.extend_from_slice(b"abc");
    assert!(matches!(
        codec.decode(&mut buf),
        Ok(Some(RequestPart::Data(_)))
    ));
    assert!(!codec.continue_needed());
}

#[test]
fn expect_continue_is_ignored_without_a_body_or_in_http10() {
    let cases: [(&str, &[u8]); 2] = [
        (
            "no body",
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
        ),
        (
            "http/1.0",
            b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
        ),
    ];
    for (name, input) in cases {
        let parts = decode_ok(input, Feed::Whole);
        assert!(!heads(&parts)[0].expect_continue, "case {name}");
    }
}

#[test]
fn identical_repeated_content_lengths_are_accepted() {
    for mode in FEEDS {
        let parts = decode_ok(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
            mode,
        );
        assert_eq!(heads(&parts)[0].body, BodyLength::Length(2), "{mode:?}");
    }
}

#[test]
fn leading_empty_lines_before_a_request_are_ignored() {
    // CRLF lines, and lone LFs (what a content-length one short of its body
    // leaves before the next request), however the bytes arrive.
    let inputs: [&[u8]; 3] = [
        b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    ];
    for input in inputs {
        for mode in FEEDS {
            let parts = decode_ok(input, mode);
            assert_eq!(
                seen_requests(&parts),
                [Seen::Head("GET /".into()), Seen::End],
                "{mode:?} {input:?}"
            );
        }
    }
}

#[test]
fn a_lone_lf_after_a_body_is_ignored_before_the_next_request() {
    let input = b"POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    for mode in FEEDS {
        let parts = decode_ok(input, mode);
        assert_eq!(
            seen_requests(&parts),
            [
                Seen::Head("POST /1".into()),
                Seen::Body(b"ok".to_vec()),
                Seen::End,
                Seen::Head("GET /2".into()),
                Seen::End
            ],
            "{mode:?}"
        );
    }
}

#[test]
fn limits_are_accepted_at_exactly_their_value() {
    let max_body = TEST_LIMITS.max_body as usize;
    let mut cl_body =
        format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {max_body}\r\n\r\n").into_bytes();
    cl_body.resize(cl_body.len() + max_body, b'b');
    let mut chunked_body =
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    chunked_body.extend_from_slice(format!("{:x}\r\n", max_body - 1).as_bytes());
    chunked_body.resize(chunked_body.len() + max_body - 1, b'b');
    chunked_body.extend_from_slice(b"\r\n1\r\nb\r\n0\r\n\r\n");
    let ext = "e".repeat(TEST_LIMITS.max_chunk_line - 2);
    let long_ext = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;{ext}\r\nb\r\n0\r\n\r\n"
    );
    let cases: [(&str, Vec<u8>); 6] = [
        (
            "target at the uri limit",
            get_with_target_len(TEST_LIMITS.max_uri_len),
        ),
        (
            "fields at the count limit",
            get_with_field_count(TEST_LIMITS.max_headers),
        ),
        (
            "head at the byte limit",
            get_with_head_len(TEST_LIMITS.max_head_bytes),
        ),
        ("content-length at the body limit", cl_body),
        ("chunks at the body limit", chunked_body),
        ("chunk-size line at its limit", long_ext.into_bytes()),
    ];
    for (name, input) in &cases {
        for mode in FEEDS {
            let (parts, err) = feed(&mut server(), input, mode);
            assert!(err.is_none(), "case {name} ({mode:?}): {err:?}");
            assert!(
                matches!(parts.last(), Some(RequestPart::End)),
                "case {name} ({mode:?})"
            );
        }
    }
}

#[test]
fn header_values_share_the_read_buffer() {
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n"[..]);
    let base = buf.as_ptr() as usize;
    let end = base + buf.len();
    let Ok(Some(RequestPart::Head(head))) = server().decode(&mut buf) else {
        panic!("a whole head decodes");
    };
    let value = head.request.headers()["x-long"].as_bytes().as_ptr() as usize;
    assert!((base..end).contains(&value), "value was copied");
}

#[test]
fn eof_inside_a_request_is_an_incomplete_message() {
    let cases: [(&str, &[u8]); 3] = [
        ("inside the head", b"GET / HTTP/1.1\r\nHo"),
        (
            "inside a length body",
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
        ),
        (
            "inside a chunked body",
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        ),
    ];
    for (name, input) in cases {
        let mut codec = server();
        let mut buf = BytesMut::from(input);
        let mut result = Ok(None);
        for _ in 0..10 {
            result = codec.decode_eof(&mut buf);
            if !matches!(result, Ok(Some(_))) {
                break;
            }
        }
        assert!(
            matches!(result, Err(ref e) if e.is_incomplete()),
            "case {name}: {result:?}"
        );
    }
}

#[test]
fn eof_between_requests_is_a_clean_end() {
    let mut codec = server();
    let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Ok(Some(RequestPart::Head(_)))
    ));
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Ok(Some(RequestPart::End))
    ));
    assert!(matches!(codec.decode_eof(&mut buf), Ok(None)));
}

#[test]
fn unanswered_requests_are_capped() {
    use crate::http::MAX_UNANSWERED;
    let one = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut codec = server();
    let (parts, err) = feed(&mut codec, &one.repeat(MAX_UNANSWERED), Feed::Whole);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(heads(&parts).len(), MAX_UNANSWERED);
    let (_, err) = feed(&mut codec, one, Feed::Whole);
    assert_eq!(
        err.map(|e| e.status()),
        Some(::http::StatusCode::SERVICE_UNAVAILABLE)
    );
}
