//! Tests of the RESP codec: round trips of every type, input split at every
//! byte, pipelining, inline commands, limits at N and N+1, and a table of bad
//! input, each case fed whole and one byte at a time.

use std::error::Error as _;
use std::io;

use bytes::{Bytes, BytesMut};

use super::{command, Error, ErrorKind, Frame, Limits, RespCodec};
use crate::{Decoder, Encoder};

/// Limits small enough to reach in a test case.
const SMALL: Limits = Limits {
    max_bulk_len: 8,
    max_inline_len: 32,
    max_array_len: 4,
    max_depth: 3,
};

/// A client-side codec: every RESP type at top level, no inline commands.
fn client(limits: Limits) -> RespCodec {
    RespCodec::with_limits(limits).accept_inline(false)
}

/// A server-side codec: `*` arrays and inline commands.
fn server(limits: Limits) -> RespCodec {
    RespCodec::with_limits(limits)
}

/// Decodes every frame in `input`, given all at once.
fn decode_whole(codec: &mut RespCodec, input: &[u8]) -> Result<Vec<Frame>, Error> {
    let mut buf = BytesMut::from(input);
    let mut frames = Vec::new();
    while let Some(frame) = codec.decode(&mut buf)? {
        frames.push(frame);
    }
    Ok(frames)
}

/// Decodes every frame in `input`, given one byte at a time.
fn decode_bytewise(codec: &mut RespCodec, input: &[u8]) -> Result<Vec<Frame>, Error> {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        while let Some(frame) = codec.decode(&mut buf)? {
            frames.push(frame);
        }
    }
    Ok(frames)
}

/// Decodes `input` whole and byte by byte with fresh codecs from `make`, checks
/// both agree (by message, for errors) and returns the whole result.
fn decode_both(
    make: impl Fn() -> RespCodec,
    input: &[u8],
    case: &str,
) -> Result<Vec<Frame>, Error> {
    let whole = decode_whole(&mut make(), input);
    let bytewise = decode_bytewise(&mut make(), input);
    match (&whole, &bytewise) {
        // Compared as text, since NaN is not equal to itself.
        (Ok(a), Ok(b)) => assert_eq!(
            format!("{a:?}"),
            format!("{b:?}"),
            "case {case}: whole and bytewise frames differ"
        ),
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "case {case}: whole and bytewise errors differ"
        ),
        _ => panic!("case {case}: whole gave {whole:?}, bytewise gave {bytewise:?}"),
    }
    whole
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    RespCodec::new()
        .encode(frame, &mut out)
        .expect("the frame is encodable");
    out.to_vec()
}

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn simple(text: &str) -> Frame {
    Frame::Simple(Bytes::copy_from_slice(text.as_bytes()))
}

/// Every frame type with its exact encoding.
fn every_type() -> Vec<(&'static str, Frame, &'static [u8])> {
    vec![
        ("simple string", simple("OK"), b"+OK\r\n"),
        ("empty simple string", simple(""), b"+\r\n"),
        ("simple error", Frame::Error("ERR x".into()), b"-ERR x\r\n"),
        ("integer", Frame::Integer(1), b":1\r\n"),
        ("zero", Frame::Integer(0), b":0\r\n"),
        ("negative integer", Frame::Integer(-42), b":-42\r\n"),
        (
            "largest integer",
            Frame::Integer(i64::MAX),
            b":9223372036854775807\r\n",
        ),
        (
            "smallest integer",
            Frame::Integer(i64::MIN),
            b":-9223372036854775808\r\n",
        ),
        ("bulk string", bulk("foo"), b"$3\r\nfoo\r\n"),
        ("empty bulk string", bulk(""), b"$0\r\n\r\n"),
        ("binary bulk string", bulk("a\r\nb"), b"$4\r\na\r\nb\r\n"),
        ("null", Frame::Null, b"$-1\r\n"),
        ("empty array", Frame::Array(vec![]), b"*0\r\n"),
        (
            "array",
            Frame::Array(vec![bulk("foo"), Frame::Integer(1), Frame::Null]),
            b"*3\r\n$3\r\nfoo\r\n:1\r\n$-1\r\n",
        ),
        (
            "nested array",
            Frame::Array(vec![Frame::Array(vec![simple("a")]), Frame::Array(vec![])]),
            b"*2\r\n*1\r\n+a\r\n*0\r\n",
        ),
        ("double", Frame::Double(1.5), b",1.5\r\n"),
        ("whole double", Frame::Double(2.0), b",2.0\r\n"),
        ("huge double", Frame::Double(1e300), b",1e300\r\n"),
        ("tiny double", Frame::Double(-1e-7), b",-1e-7\r\n"),
        ("infinity", Frame::Double(f64::INFINITY), b",inf\r\n"),
        (
            "negative infinity",
            Frame::Double(f64::NEG_INFINITY),
            b",-inf\r\n",
        ),
        ("true", Frame::Boolean(true), b"#t\r\n"),
        ("false", Frame::Boolean(false), b"#f\r\n"),
        (
            "big number",
            Frame::BigNumber("3492890328409238509324850943850943825024385".into()),
            b"(3492890328409238509324850943850943825024385\r\n",
        ),
        (
            "negative big number",
            Frame::BigNumber("-1".into()),
            b"(-1\r\n",
        ),
        (
            "bulk error",
            Frame::BulkError("SYNTAX invalid syntax".into()),
            b"!21\r\nSYNTAX invalid syntax\r\n",
        ),
        (
            "verbatim string",
            Frame::Verbatim {
                format: *b"txt",
                text: "Some string".into(),
            },
            b"=15\r\ntxt:Some string\r\n",
        ),
        (
            "map",
            Frame::Map(vec![
                (simple("first"), Frame::Integer(1)),
                (simple("second"), Frame::Integer(2)),
            ]),
            b"%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
        ),
        ("empty map", Frame::Map(vec![]), b"%0\r\n"),
        (
            "set",
            Frame::Set(vec![bulk("a"), Frame::Boolean(true)]),
            b"~2\r\n$1\r\na\r\n#t\r\n",
        ),
        (
            "push",
            Frame::Push(vec![bulk("message"), bulk("ch"), bulk("hi")]),
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        ),
    ]
}

#[test]
fn every_type_encodes_exactly_and_decodes_back() {
    for (case, frame, wire) in every_type() {
        assert_eq!(encode(&frame), wire, "case {case}: encoding");
        let decoded = decode_both(|| client(Limits::default()), wire, case);
        assert_eq!(decoded.ok(), Some(vec![frame]), "case {case}: decoding");
    }
}

#[test]
fn every_frame_decodes_when_split_at_every_byte_boundary() {
    for (case, frame, wire) in every_type() {
        for split in 0..=wire.len() {
            let mut codec = client(Limits::default());
            let mut buf = BytesMut::from(&wire[..split]);
            let first = codec.decode(&mut buf).expect("valid input");
            let decoded = match first {
                Some(frame) => Some(frame),
                None => {
                    buf.extend_from_slice(&wire[split..]);
                    codec.decode(&mut buf).expect("valid input")
                }
            };
            assert_eq!(
                decoded.as_ref(),
                Some(&frame),
                "case {case} split at {split}"
            );
            assert!(buf.is_empty(), "case {case} split at {split}: bytes left");
        }
    }
}

#[test]
fn not_a_number_round_trips() {
    assert_eq!(encode(&Frame::Double(f64::NAN)), b",nan\r\n");
    let decoded = decode_both(|| client(Limits::default()), b",nan\r\n", "nan");
    assert!(matches!(decoded.as_deref(), Ok([Frame::Double(d)]) if d.is_nan()));
}

#[test]
fn resp2_null_bulk_and_array_and_resp3_null_all_decode_to_null() {
    let decoded = decode_both(
        || client(Limits::default()),
        b"$-1\r\n*-1\r\n_\r\n",
        "nulls",
    );
    assert_eq!(
        decoded.ok(),
        Some(vec![Frame::Null, Frame::Null, Frame::Null])
    );
}

#[test]
fn attributes_are_read_and_dropped() {
    let cases: &[(&str, &[u8], Frame)] = &[
        (
            "attribute before a top-level reply",
            b"|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
            Frame::Array(vec![Frame::Integer(2039123), Frame::Integer(9543892)]),
        ),
        (
            "attribute inside an array",
            b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n",
            Frame::Array(vec![Frame::Integer(1), Frame::Integer(2)]),
        ),
        ("empty attribute", b"|0\r\n:7\r\n", Frame::Integer(7)),
    ];
    for (case, wire, expected) in cases {
        let decoded = decode_both(|| client(Limits::default()), wire, case);
        assert_eq!(decoded.ok(), Some(vec![expected.clone()]), "case {case}");
    }
}

#[test]
fn pipelined_commands_in_one_buffer_decode_in_order() {
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for i in 0..500 {
        let key = format!("key:{i}");
        let set = command(["SET".to_string(), key.clone(), "x".repeat(i % 40)]);
        wire.extend_from_slice(&encode(&set));
        wire.extend_from_slice(format!("GET {key}\r\n").as_bytes());
        expected.push(set);
        expected.push(command(["GET".to_string(), key]));
    }
    let decoded = decode_both(|| server(Limits::default()), &wire, "pipeline");
    assert_eq!(decoded.ok(), Some(expected));
}

/// An inline command case: name, line, expected arguments.
type InlineCase = (&'static str, &'static [u8], &'static [&'static [u8]]);

#[test]
fn inline_commands_split_like_redis_sdssplitargs() {
    let cases: &[InlineCase] = &[
        ("one word", b"PING\r\n", &[b"PING"]),
        ("words", b"SET a b\r\n", &[b"SET", b"a", b"b"]),
        ("line ended by lf only", b"PING\n", &[b"PING"]),
        ("extra spaces", b"  SET   a  b  \r\n", &[b"SET", b"a", b"b"]),
        ("tab separator", b"GET\tk\r\n", &[b"GET", b"k"]),
        (
            "double quotes",
            b"SET k \"hello world\"\r\n",
            &[b"SET", b"k", b"hello world"],
        ),
        (
            "escaped double quote",
            b"SET k \"a\\\"b\"\r\n",
            &[b"SET", b"k", b"a\"b"],
        ),
        (
            "c escapes",
            b"SET k \"\\n\\r\\t\\b\\a\\\\\"\r\n",
            &[b"SET", b"k", b"\n\r\t\x08\x07\\"],
        ),
        (
            "hex escape",
            b"SET k \"\\x41\\x7a\"\r\n",
            &[b"SET", b"k", b"Az"],
        ),
        (
            "bad hex escape is an x",
            b"SET k \"\\xZZ\"\r\n",
            &[b"SET", b"k", b"xZZ"],
        ),
        (
            "single quotes",
            b"SET k 'it\\'s'\r\n",
            &[b"SET", b"k", b"it's"],
        ),
        (
            "no escapes in single quotes",
            b"SET k 'a\\nb'\r\n",
            &[b"SET", b"k", b"a\\nb"],
        ),
        (
            "empty quoted argument",
            b"SET k \"\"\r\n",
            &[b"SET", b"k", b""],
        ),
        (
            "quote inside a word",
            b"SET k ab\"cd ef\"\r\n",
            &[b"SET", b"k", b"abcd ef"],
        ),
        ("quoted argument last", b"ECHO \"x\"\r\n", &[b"ECHO", b"x"]),
        ("resp type byte other than star", b"+OK\r\n", &[b"+OK"]),
    ];
    for (case, line, args) in cases {
        let expected = Frame::Array(
            args.iter()
                .map(|a| Frame::Bulk(Bytes::copy_from_slice(a)))
                .collect(),
        );
        let decoded = decode_both(|| server(Limits::default()), line, case);
        assert_eq!(decoded.ok(), Some(vec![expected]), "case {case}");
    }
}

#[test]
fn empty_inline_lines_are_skipped() {
    let decoded = decode_both(
        || server(Limits::default()),
        b"\r\n\n   \r\nPING\r\n",
        "empty lines",
    );
    assert_eq!(decoded.ok(), Some(vec![command(["PING"])]));
}

#[test]
fn limits_accept_values_at_the_limit() {
    let inline_at_limit = [b'a'; 32];
    let mut inline_line = inline_at_limit.to_vec();
    inline_line.extend_from_slice(b"\r\n");
    let simple_at_limit = [b"+".as_slice(), &[b's'; 32], b"\r\n"].concat();
    let cases: Vec<(&str, Vec<u8>, Frame)> = vec![
        (
            "bulk at max_bulk_len",
            b"$8\r\n12345678\r\n".to_vec(),
            bulk("12345678"),
        ),
        (
            "array at max_array_len",
            b"*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n".to_vec(),
            Frame::Array((1..=4).map(Frame::Integer).collect()),
        ),
        (
            "map at max_array_len entries",
            b"%4\r\n:1\r\n:1\r\n:2\r\n:2\r\n:3\r\n:3\r\n:4\r\n:4\r\n".to_vec(),
            Frame::Map(
                (1..=4)
                    .map(|i| (Frame::Integer(i), Frame::Integer(i)))
                    .collect(),
            ),
        ),
        (
            "nesting at max_depth",
            b"*1\r\n*1\r\n*1\r\n:1\r\n".to_vec(),
            Frame::Array(vec![Frame::Array(vec![Frame::Array(vec![
                Frame::Integer(1),
            ])])]),
        ),
        (
            "simple string line at max_inline_len",
            simple_at_limit,
            simple(&"s".repeat(32)),
        ),
    ];
    for (case, wire, expected) in cases {
        let decoded = decode_both(|| client(SMALL), &wire, case);
        assert_eq!(decoded.ok(), Some(vec![expected]), "case {case}");
    }
    let decoded = decode_both(|| server(SMALL), &inline_line, "inline at max_inline_len");
    assert_eq!(
        decoded.ok(),
        Some(vec![command([Bytes::copy_from_slice(&inline_at_limit)])])
    );
}

#[test]
fn bad_input_is_refused_with_redis_style_messages() {
    let line =
        |prefix: &[u8], len: usize, suffix: &[u8]| [prefix, &vec![b'1'; len], suffix].concat();
    // (case, server side?, input, message)
    let cases: Vec<(&str, bool, Vec<u8>, &str)> = vec![
        (
            "bulk length with junk",
            false,
            b"*1\r\n$3x\r\nfoo\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk length below -1",
            false,
            b"$-2\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk length with plus sign",
            false,
            b"$+3\r\nfoo\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk length with leading zero",
            false,
            b"$03\r\nfoo\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk length empty",
            false,
            b"$\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk length over u64",
            false,
            b"$99999999999999999999\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk over max_bulk_len",
            false,
            b"$9\r\n123456789\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk error over max_bulk_len",
            false,
            b"!9\r\n123456789\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "null bulk error",
            false,
            b"!-1\r\n".to_vec(),
            "Protocol error: invalid bulk length",
        ),
        (
            "bulk data longer than its length",
            false,
            b"$3\r\nfooo\r\n".to_vec(),
            "Protocol error: bulk data not followed by CRLF",
        ),
        (
            "bulk data then lone cr",
            false,
            b"$3\r\nfoo\rx".to_vec(),
            "Protocol error: bulk data not followed by CRLF",
        ),
        (
            "multibulk length with junk",
            false,
            b"*x\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "multibulk length below -1",
            false,
            b"*-2\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "multibulk length over u64",
            false,
            b"*99999999999999999999\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "array over max_array_len",
            false,
            b"*5\r\n:1\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "map over max_array_len",
            false,
            b"%5\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "null set",
            false,
            b"~-1\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "nested array over max_array_len on the server",
            true,
            b"*1\r\n*5\r\n".to_vec(),
            "Protocol error: invalid multibulk length",
        ),
        (
            "nesting over max_depth",
            false,
            b"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n".to_vec(),
            "Protocol error: nesting depth 4 over limit 3",
        ),
        (
            "empty array over max_depth",
            false,
            b"*1\r\n*1\r\n*1\r\n*0\r\n".to_vec(),
            "Protocol error: nesting depth 4 over limit 3",
        ),
        (
            "line ended by lone lf",
            false,
            b"+OK\n".to_vec(),
            "Protocol error: line not ended by CRLF",
        ),
        (
            "line ended by cr and junk",
            false,
            b":1\rx\n".to_vec(),
            "Protocol error: line not ended by CRLF",
        ),
        (
            "unknown type byte inside an array",
            true,
            b"*1\r\n@foo\r\n".to_vec(),
            "Protocol error: unknown type byte '@'",
        ),
        (
            "unprintable type byte",
            false,
            b"*1\r\n\x01\r\n".to_vec(),
            "Protocol error: unknown type byte '\\x01'",
        ),
        (
            "unknown type byte at top level",
            false,
            b"?\r\n".to_vec(),
            "Protocol error: unknown type byte '?'",
        ),
        (
            "inline command inside an array",
            true,
            b"*1\r\nPING\r\n".to_vec(),
            "Protocol error: unknown type byte 'P'",
        ),
        (
            "integer over i64",
            false,
            b":9223372036854775808\r\n".to_vec(),
            "Protocol error: invalid integer",
        ),
        (
            "integer under i64",
            false,
            b":-9223372036854775809\r\n".to_vec(),
            "Protocol error: invalid integer",
        ),
        (
            "integer with junk",
            false,
            b":12a\r\n".to_vec(),
            "Protocol error: invalid integer",
        ),
        (
            "integer empty",
            false,
            b":\r\n".to_vec(),
            "Protocol error: invalid integer",
        ),
        (
            "double with junk",
            false,
            b",1.2.3\r\n".to_vec(),
            "Protocol error: invalid double",
        ),
        (
            "boolean not t or f",
            false,
            b"#x\r\n".to_vec(),
            "Protocol error: invalid boolean",
        ),
        (
            "big number with junk",
            false,
            b"(12a\r\n".to_vec(),
            "Protocol error: invalid big number",
        ),
        (
            "big number sign only",
            false,
            b"(-\r\n".to_vec(),
            "Protocol error: invalid big number",
        ),
        (
            "null with data",
            false,
            b"_x\r\n".to_vec(),
            "Protocol error: invalid null",
        ),
        (
            "verbatim without colon",
            false,
            b"=5\r\ntxtab\r\n".to_vec(),
            "Protocol error: invalid verbatim string",
        ),
        (
            "verbatim shorter than its format",
            false,
            b"=3\r\ntxt\r\n".to_vec(),
            "Protocol error: invalid verbatim string",
        ),
        (
            "simple line over max_inline_len",
            false,
            line(b"+", 33, b"\r\n"),
            "Protocol error: too big line",
        ),
        (
            "count line over max_inline_len",
            false,
            line(b"*", 33, b"\r\n"),
            "Protocol error: too big mbulk count string",
        ),
        (
            "bulk count line over max_inline_len",
            false,
            line(b"$", 33, b"\r\n"),
            "Protocol error: too big bulk count string",
        ),
        (
            "unended line over max_inline_len",
            false,
            line(b"-", 33, b""),
            "Protocol error: too big line",
        ),
        (
            "inline over max_inline_len",
            true,
            line(b"", 33, b"\r\n"),
            "Protocol error: too big inline request",
        ),
        (
            "unended inline over max_inline_len",
            true,
            line(b"", 33, b""),
            "Protocol error: too big inline request",
        ),
        (
            "unbalanced double quote",
            true,
            b"SET k \"a\r\n".to_vec(),
            "Protocol error: unbalanced quotes in request",
        ),
        (
            "unbalanced single quote",
            true,
            b"SET k 'a\r\n".to_vec(),
            "Protocol error: unbalanced quotes in request",
        ),
        (
            "escaped closing quote",
            true,
            b"SET k \"a\\\"\r\n".to_vec(),
            "Protocol error: unbalanced quotes in request",
        ),
        (
            "closing quote then text",
            true,
            b"SET k \"a\"b\r\n".to_vec(),
            "Protocol error: unbalanced quotes in request",
        ),
    ];
    assert!(cases.len() >= 25);
    for (case, on_server, input, message) in cases {
        let make = || {
            if on_server {
                server(SMALL)
            } else {
                client(SMALL)
            }
        };
        match decode_both(make, &input, case) {
            Err(e) => {
                assert_eq!(e.to_string(), message, "case {case}");
                assert!(e.is_protocol(), "case {case}: not a protocol error");
            }
            Ok(frames) => panic!("case {case}: decoded {frames:?}, expected {message:?}"),
        }
    }
}

#[test]
fn limit_errors_carry_the_value_and_the_limit() {
    let cases: &[(&str, &[u8], ErrorKind)] = &[
        (
            "bulk",
            b"$9\r\n",
            ErrorKind::BulkTooLong { len: 9, limit: 8 },
        ),
        (
            "array",
            b"*5\r\n",
            ErrorKind::MultibulkTooLong { len: 5, limit: 4 },
        ),
        (
            "depth",
            b"*1\r\n*1\r\n*1\r\n*1\r\n",
            ErrorKind::TooDeep { depth: 4, limit: 3 },
        ),
    ];
    for (case, input, kind) in cases {
        let err = decode_both(|| client(SMALL), input, case).expect_err(case);
        assert_eq!(err.kind(), *kind, "case {case}");
    }
}

#[test]
fn default_depth_limit_stops_deep_nesting_without_overflowing_the_stack() {
    let nested = |depth: usize| [b"*1\r\n".repeat(depth), b":1\r\n".to_vec()].concat();
    let at_limit = decode_whole(&mut client(Limits::default()), &nested(64));
    assert!(at_limit.is_ok(), "depth 64: {at_limit:?}");
    let over = decode_whole(&mut client(Limits::default()), &nested(65)).expect_err("depth 65");
    assert_eq!(
        over.to_string(),
        "Protocol error: nesting depth 65 over limit 64"
    );
    let far_over = decode_whole(&mut client(Limits::default()), &nested(100_000));
    assert!(far_over.is_err());
}

#[test]
fn decoded_bulk_strings_share_the_read_buffer() {
    let mut buf = BytesMut::from(&b"*1\r\n$5\r\nhello\r\n"[..]);
    let range = buf.as_ptr_range();
    let frame = client(Limits::default())
        .decode(&mut buf)
        .expect("valid input");
    let Some(Frame::Array(items)) = frame else {
        panic!("expected an array, got {frame:?}");
    };
    let [Frame::Bulk(hello)] = items.as_slice() else {
        panic!("expected one bulk string, got {items:?}");
    };
    assert_eq!(&hello[..], b"hello");
    assert!(
        range.contains(&hello.as_ptr()),
        "the bulk string was copied"
    );
}

#[test]
fn a_bulk_header_reserves_only_a_chunk_of_its_payload() {
    let mut codec = client(Limits::default());
    let mut buf = BytesMut::from(&b"$100000000\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).expect("valid header"), None);
    assert!(buf.capacity() < 1024 * 1024, "reserved {}", buf.capacity());
}

#[test]
fn a_big_bulk_string_arriving_in_small_reads_decodes() {
    let payload = vec![b'x'; 1024 * 1024];
    let wire = encode(&Frame::Bulk(Bytes::from(payload.clone())));
    let mut codec = client(Limits::default());
    let mut buf = BytesMut::new();
    let mut decoded = None;
    for chunk in wire.chunks(1000) {
        assert_eq!(decoded, None, "decoded before the end");
        buf.extend_from_slice(chunk);
        decoded = codec.decode(&mut buf).expect("valid input");
    }
    assert_eq!(decoded, Some(Frame::Bulk(Bytes::from(payload))));
}

#[test]
fn decode_eof_reports_a_frame_cut_short() {
    let cases: &[(&str, &[u8])] = &[
        ("inside an array", b"*2\r\n$1\r\na\r\n"),
        ("inside a bulk payload", b"$5\r\nhel"),
        ("inside a header line", b"*2"),
    ];
    for (case, input) in cases {
        let mut codec = client(Limits::default());
        let mut buf = BytesMut::from(*input);
        assert_eq!(codec.decode(&mut buf).expect(case), None, "case {case}");
        let err = codec.decode_eof(&mut buf).expect_err(case);
        assert_eq!(err.kind(), ErrorKind::Io, "case {case}");
        assert!(!err.is_protocol(), "case {case}");
    }
    let mut buf = BytesMut::from(&b":1\r\n"[..]);
    let mut codec = client(Limits::default());
    assert_eq!(
        codec.decode_eof(&mut buf).expect("whole frame"),
        Some(Frame::Integer(1))
    );
    assert_eq!(codec.decode_eof(&mut buf).expect("clean end"), None);
}

#[test]
fn encoding_a_line_with_a_newline_fails_and_leaves_the_buffer_alone() {
    let cases = [
        (
            "simple string",
            Frame::Array(vec![bulk("ok"), simple("a\r\nb")]),
        ),
        ("error", Frame::Error("ERR\n".into())),
        ("big number", Frame::BigNumber("1\r".into())),
    ];
    for (case, frame) in cases {
        let mut out = BytesMut::from(&b"+before\r\n"[..]);
        let err = RespCodec::new().encode(frame, &mut out).expect_err(case);
        assert_eq!(err.kind(), ErrorKind::LineContainsNewline, "case {case}");
        assert_eq!(&out[..], b"+before\r\n", "case {case}");
    }
}

#[test]
fn error_reply_is_the_line_redis_sends() {
    let cases: &[(&str, &[u8], &[u8])] = &[
        (
            "bulk length",
            b"*1\r\n$x\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            "multibulk length",
            b"*-5\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            "quotes",
            b"GET \"k\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            "unknown type",
            b"*1\r\n\n",
            b"-ERR Protocol error: unknown type byte '\\n'\r\n",
        ),
    ];
    for (case, input, reply) in cases {
        let err = decode_whole(&mut server(Limits::default()), input).expect_err(case);
        assert_eq!(encode(&err.reply()), *reply, "case {case}");
    }
}

#[test]
fn io_errors_convert_and_keep_their_cause() {
    let err = Error::from(io::Error::new(
        io::ErrorKind::ConnectionReset,
        "reset\r\nby peer",
    ));
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(!err.is_protocol());
    assert_eq!(
        err.source().map(ToString::to_string).as_deref(),
        Some("reset\r\nby peer")
    );
    assert_eq!(
        encode(&err.reply()),
        b"-ERR i/o error on the connection\r\n"
    );
}

#[test]
fn command_builds_an_array_of_bulk_strings() {
    assert_eq!(
        command(["GET", "k"]),
        Frame::Array(vec![bulk("GET"), bulk("k")])
    );
    assert_eq!(encode(&command(Vec::<Bytes>::new())), b"*0\r\n");
}
