//! Unit tests of the length-delimited codec: decode and encode tables, every
//! limit at N and N+1, and every case fed whole and one byte at a time.

use super::*;

/// Outcome of decoding a stream: the frames, then the first error if any.
type Outcome = (Vec<Vec<u8>>, Option<String>);

/// A test case: its name, the settings, the input, and the frames it decodes to.
type DecodeCase<'a> = (&'a str, Builder, &'a [u8], &'a [&'a [u8]]);

/// A bad-input case: a [`DecodeCase`] plus the error that follows its frames.
type BadCase<'a> = (&'a str, Builder, &'a [u8], &'a [&'a [u8]], &'a str);

/// Feeds `chunks` in order to `codec`, decoding after each chunk, then decodes at
/// end of stream.
fn decode_chunks(mut codec: LengthDelimitedCodec, chunks: &[&[u8]]) -> Outcome {
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame.to_vec()),
                Ok(None) => break,
                Err(e) => return (frames, Some(e.to_string())),
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame.to_vec()),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e.to_string())),
        }
    }
}

/// Decodes `input` whole, one byte at a time, and split in two at every index,
/// asserting all give `expected`.
fn assert_decodes(name: &str, builder: &Builder, input: &[u8], expected: (&[&[u8]], Option<&str>)) {
    let codec = builder.new_codec().unwrap();
    let want: Outcome = (
        expected.0.iter().map(|f| f.to_vec()).collect(),
        expected.1.map(str::to_owned),
    );
    assert_eq!(
        decode_chunks(codec.clone(), &[input]),
        want,
        "{name}: whole"
    );
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        decode_chunks(codec.clone(), &bytes),
        want,
        "{name}: byte at a time"
    );
    for at in 0..=input.len() {
        let (head, tail) = input.split_at(at);
        assert_eq!(
            decode_chunks(codec.clone(), &[head, tail]),
            want,
            "{name}: split at {at}"
        );
    }
}

#[test]
fn builder_variants_decode_hand_written_frames() {
    let big = |width: usize| *Builder::new().length_field_width(width);
    let le2 = *Builder::new().length_field_width(2).little_endian();
    let offset = *Builder::new().length_field_width(2).length_field_offset(2);
    let offset_kept = *Builder::new()
        .length_field_width(2)
        .length_field_offset(2)
        .strip(0);
    let counts_itself = *Builder::new().length_field_width(2).length_adjustment(-2);
    let counts_all_kept = *Builder::new().length_adjustment(-4).strip(0);
    let strip_type_byte = *Builder::new()
        .length_field_width(2)
        .length_field_offset(1)
        .strip(1);
    let trailer = *Builder::new().length_field_width(1).length_adjustment(2);
    let cases: &[DecodeCase] = &[
        ("width 1", big(1), b"\x03abc\x00", &[b"abc", b""]),
        ("width 2", big(2), b"\x00\x03abc", &[b"abc"]),
        ("width 3", big(3), b"\x00\x00\x03abc", &[b"abc"]),
        (
            "width 4 default",
            Builder::new(),
            b"\x00\x00\x00\x03abc",
            &[b"abc"],
        ),
        (
            "width 8",
            big(8),
            b"\x00\x00\x00\x00\x00\x00\x00\x03abc",
            &[b"abc"],
        ),
        ("width 2 little endian", le2, b"\x03\x00abc", &[b"abc"]),
        ("offset 2", offset, b"\xca\xfe\x00\x03abc", &[b"abc"]),
        (
            "offset 2 kept",
            offset_kept,
            b"\xca\xfe\x00\x03abc",
            &[b"\xca\xfe\x00\x03abc"],
        ),
        (
            "field counts itself",
            counts_itself,
            b"\x00\x05abc\x00\x02",
            &[b"abc", b""],
        ),
        (
            "field counts all, kept",
            counts_all_kept,
            b"\x00\x00\x00\x07abc",
            &[b"\x00\x00\x00\x07abc"],
        ),
        (
            "strip only the type byte",
            strip_type_byte,
            b"T\x00\x01a",
            &[b"\x00\x01a"],
        ),
        ("positive adjustment", trailer, b"\x01aCC", &[b"aCC"]),
    ];
    for (name, builder, input, frames) in cases {
        assert_decodes(name, builder, input, (frames, None));
    }
}

#[test]
fn native_endian_matches_the_machine() {
    let native = *Builder::new().length_field_width(2).native_endian();
    let input: &[u8] = if cfg!(target_endian = "big") {
        b"\x00\x01a"
    } else {
        b"\x01\x00a"
    };
    assert_decodes("native", &native, input, (&[b"a"], None));
}

#[test]
fn many_frames_in_one_buffer_decode_in_order() {
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for n in 0..50u8 {
        input.extend_from_slice(&[0, 0, 0, n]);
        let payload = vec![n; usize::from(n)];
        input.extend_from_slice(&payload);
        expected.push(payload);
    }
    let (frames, error) = decode_chunks(LengthDelimitedCodec::new(), &[&input]);
    assert_eq!((frames, error), (expected, None));
}

#[test]
fn bad_input_is_an_error() {
    let limit_8 = *Builder::new().max_frame_length(8);
    let minus_2 = *Builder::new().length_field_width(1).length_adjustment(-2);
    let plus_1 = *Builder::new()
        .length_field_width(8)
        .length_adjustment(1)
        .max_frame_length(usize::MAX);
    let unlimited = *Builder::new()
        .length_field_width(8)
        .max_frame_length(usize::MAX);
    let cases: &[BadCase] = &[
        (
            "too long, no payload yet",
            limit_8,
            b"\x00\x00\x00\x09",
            &[],
            "frame length 9 over limit 8",
        ),
        (
            "too long after a frame",
            limit_8,
            b"\x00\x00\x00\x01a\xff\xff\xff\xff",
            &[b"a"],
            "frame length 4294967295 over limit 8",
        ),
        (
            "negative length",
            minus_2,
            b"\x01",
            &[],
            "length field 1 plus adjustment -2 is negative",
        ),
        (
            "overflow with adjustment",
            plus_1,
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            &[],
            "length field 18446744073709551615 plus adjustment 1 overflows",
        ),
        (
            "overflow with header",
            unlimited,
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            &[],
            "length field 18446744073709551615 plus adjustment 0 overflows",
        ),
        (
            "truncated header",
            Builder::new(),
            b"\x00\x00\x00",
            &[],
            "length-delimited stream i/o failed",
        ),
        (
            "truncated payload",
            Builder::new(),
            b"\x00\x00\x00\x01a\x00\x00\x00\x02b",
            &[b"a"],
            "length-delimited stream i/o failed",
        ),
    ];
    for (name, builder, input, frames, error) in cases {
        assert_decodes(name, builder, input, (frames, Some(error)));
    }
}

#[test]
fn leftovers_at_eof_are_an_unexpected_eof() {
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x05abc"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    let error = codec.decode_eof(&mut buf).unwrap_err();
    let LengthDelimitedCodecError::Io(io_error) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(io_error.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(
        io_error.to_string(),
        "stream closed with 7 bytes of an unfinished frame"
    );
    assert!(error::Error::source(&error).is_some());
}

#[test]
fn frame_length_limit_holds_at_n_and_fails_at_n_plus_one() {
    let limit_3 = *Builder::new().length_field_width(1).max_frame_length(3);
    assert_decodes("n", &limit_3, b"\x03abc", (&[b"abc"], None));
    assert_decodes(
        "n plus one",
        &limit_3,
        b"\x04abcd",
        (&[], Some("frame length 4 over limit 3")),
    );
    let mut codec = limit_3.new_codec().unwrap();
    let mut buf = BytesMut::new();
    codec.encode(Bytes::from_static(b"abc"), &mut buf).unwrap();
    assert_eq!(&buf[..], b"\x03abc");
    let error = codec
        .encode(Bytes::from_static(b"abcd"), &mut buf)
        .unwrap_err();
    assert_eq!(error.to_string(), "frame length 4 over limit 3");
    assert_eq!(&buf[..], b"\x03abc", "nothing written");
}

#[test]
fn default_limit_is_8_mib() {
    let mut codec = LengthDelimitedCodec::new();
    assert_eq!(codec.max_frame_length(), DEFAULT_MAX_FRAME_LENGTH);
    let n = u32::try_from(DEFAULT_MAX_FRAME_LENGTH).unwrap();
    let mut buf = BytesMut::from(&n.to_be_bytes()[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    let mut buf = BytesMut::from(&(n + 1).to_be_bytes()[..]);
    let error = codec.decode(&mut buf).unwrap_err();
    assert_eq!(error.to_string(), "frame length 8388609 over limit 8388608");
}

#[test]
fn a_header_reserves_room_for_its_frame_but_not_past_the_limit() {
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::from(&b"\x00\x01\x00\x00"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 4 + 65536, "capacity {}", buf.capacity());

    let mut codec = Builder::new().max_frame_length(1024).new_codec().unwrap();
    let mut buf = BytesMut::from(&b"\x00\x01\x00\x00"[..]);
    assert!(codec.decode(&mut buf).is_err());
    assert!(buf.capacity() < 1024, "capacity {}", buf.capacity());
}

#[test]
fn an_announced_frame_is_not_reserved_ahead_of_its_bytes() {
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::from(&(8u32 * 1024 * 1024).to_be_bytes()[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(
        buf.capacity() <= 4 + 2 * 64 * 1024,
        "capacity {}",
        buf.capacity()
    );
}

#[test]
fn decoded_frames_share_the_read_buffer() {
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x02ab"[..]);
    let start = buf.as_ptr() as usize;
    let frame = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(frame.as_ptr() as usize, start + 4);
}

#[test]
fn builder_variants_encode_hand_written_frames() {
    let cases: &[(&str, Builder, &[u8], &[u8])] = &[
        (
            "width 1",
            *Builder::new().length_field_width(1),
            b"abc",
            b"\x03abc",
        ),
        (
            "width 3",
            *Builder::new().length_field_width(3),
            b"abc",
            b"\x00\x00\x03abc",
        ),
        ("width 4", Builder::new(), b"", b"\x00\x00\x00\x00"),
        (
            "width 8",
            *Builder::new().length_field_width(8),
            b"a",
            b"\x00\x00\x00\x00\x00\x00\x00\x01a",
        ),
        (
            "little endian",
            *Builder::new().length_field_width(2).little_endian(),
            b"abc",
            b"\x03\x00abc",
        ),
        (
            "counts itself",
            *Builder::new().length_field_width(2).length_adjustment(-2),
            b"abc",
            b"\x00\x05abc",
        ),
        (
            "offset from the item",
            *Builder::new().length_field_width(2).length_field_offset(1),
            b"Tabc",
            b"T\x00\x03abc",
        ),
        (
            "positive adjustment",
            *Builder::new().length_field_width(1).length_adjustment(2),
            b"aCC",
            b"\x01aCC",
        ),
    ];
    for (name, builder, item, expected) in cases {
        let mut codec = builder.new_codec().unwrap();
        let mut buf = BytesMut::new();
        codec
            .encode(Bytes::copy_from_slice(item), &mut buf)
            .unwrap();
        assert_eq!(&buf[..], *expected, "{name}");
    }
}

#[test]
fn encoded_frames_decode_to_the_same_payloads() {
    let builders = [
        Builder::new(),
        *Builder::new().length_field_width(1).little_endian(),
        *Builder::new().length_field_width(3).length_adjustment(-3),
        *Builder::new().length_field_width(8).length_adjustment(-5),
    ];
    let payloads: [&[u8]; 4] = [b"", b"x", b"hello world", &[0xff; 200]];
    for builder in builders {
        let mut codec = builder.new_codec().unwrap();
        let mut buf = BytesMut::new();
        for payload in payloads {
            codec.encode(Bytes::from_static(payload), &mut buf).unwrap();
        }
        let expected: Vec<&[u8]> = payloads.to_vec();
        assert_decodes(&format!("{builder:?}"), &builder, &buf, (&expected, None));
    }
}

#[test]
fn frames_the_length_field_cannot_hold_are_not_encoded() {
    let cases: &[(&str, Builder, &[u8], &str)] = &[
        (
            "too long for width 1",
            *Builder::new().length_field_width(1),
            &[0; 256],
            "frame length 256 minus adjustment 0 does not fit a 1-byte length field",
        ),
        (
            "negative field",
            *Builder::new().length_field_width(1).length_adjustment(2),
            b"a",
            "frame length 1 minus adjustment 2 does not fit a 1-byte length field",
        ),
        (
            "too long with adjustment",
            *Builder::new().length_field_width(1).length_adjustment(-1),
            &[0; 255],
            "frame length 255 minus adjustment -1 does not fit a 1-byte length field",
        ),
        (
            "item shorter than offset",
            *Builder::new().length_field_offset(2),
            b"a",
            "item length 1 under length field offset 2",
        ),
        (
            "over the limit",
            *Builder::new().max_frame_length(2),
            b"abc",
            "frame length 3 over limit 2",
        ),
    ];
    for (name, builder, item, expected) in cases {
        let mut codec = builder.new_codec().unwrap();
        let mut buf = BytesMut::from("kept");
        let error = codec
            .encode(Bytes::copy_from_slice(item), &mut buf)
            .unwrap_err();
        assert_eq!(error.to_string(), *expected, "{name}");
        assert_eq!(&buf[..], b"kept", "{name}: nothing written");
    }
    let mut codec = Builder::new().length_field_width(1).new_codec().unwrap();
    let mut buf = BytesMut::new();
    codec.encode(Bytes::from(vec![0; 255]), &mut buf).unwrap();
    assert_eq!(buf.first(), Some(&255), "the widest value still fits");
}

#[test]
fn bad_settings_are_refused() {
    let cases: &[(&str, Builder, BuilderError, &str)] = &[
        (
            "width 0",
            *Builder::new().length_field_width(0),
            BuilderError::LengthFieldWidth { width: 0 },
            "length field width 0 outside 1..=8",
        ),
        (
            "width 9",
            *Builder::new().length_field_width(9),
            BuilderError::LengthFieldWidth { width: 9 },
            "length field width 9 outside 1..=8",
        ),
        (
            "offset overflows",
            *Builder::new().length_field_offset(usize::MAX),
            BuilderError::OffsetTooLarge { offset: usize::MAX },
            "length field offset 18446744073709551615 plus width overflows",
        ),
        (
            "strip past header",
            *Builder::new().length_field_offset(1).strip(6),
            BuilderError::StripPastHeader {
                strip: 6,
                header_length: 5,
            },
            "strip 6 over header length 5",
        ),
    ];
    for (name, builder, expected, message) in cases {
        let error = builder.new_codec().unwrap_err();
        assert_eq!(&error, expected, "{name}");
        assert_eq!(error.to_string(), *message, "{name}");
    }
    assert!(Builder::new()
        .length_field_offset(1)
        .strip(5)
        .new_codec()
        .is_ok());
    assert_eq!(Builder::new().new_codec(), Ok(LengthDelimitedCodec::new()));
}

#[test]
fn io_errors_convert_and_keep_their_source() {
    let error = LengthDelimitedCodecError::from(io::Error::other("boom"));
    assert_eq!(
        error::Error::source(&error)
            .map(|e| e.to_string())
            .as_deref(),
        Some("boom")
    );
}
