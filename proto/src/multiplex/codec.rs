//! [`TaggedCodec`]: a ready multiplexed framing around any payload codec.
//!
//! Multiplexed dispatch needs each frame to carry its request id. Protocols with
//! their own header put the tag there; the rest can wrap their payload codec in
//! this one, whose framing any peer speaking 4-byte length-prefixed frames can
//! read.

use std::{error, fmt, io};

use bytes::{Buf, BufMut, BytesMut};

use super::Tag;
use crate::codec::length_delimited::RESERVE_AHEAD;
use crate::codec::{Decoder, Encoder};

/// The largest frame [`TaggedCodec::new`] accepts, in bytes after the length
/// field; documented, with why, there.
const DEFAULT_MAX_FRAME_LENGTH: usize = 8 * 1024 * 1024;

/// Bytes of the length field.
const LENGTH_FIELD: usize = 4;

/// Bytes of the tag.
const TAG_FIELD: usize = 4;

/// Frames `(Tag, item)` pairs as `length | tag | payload`, with the payload
/// coded by an inner codec:
///
/// ```text
/// +------------------+------------------+---------------------------+
/// | length: u32 BE   | tag: u32 BE      | payload (inner codec)     |
/// +------------------+------------------+---------------------------+
///                    |<---------------- length bytes -------------->|
/// ```
///
/// The length counts the tag and the payload, so the framing is the default
/// [`LengthDelimitedCodec`](crate::codec::LengthDelimitedCodec)'s. The payload
/// of one frame must decode to exactly one item of the inner codec, which sees
/// it as a whole stream (its `decode_eof` is called): with `LinesCodec` the
/// final newline is optional; with `BytesCodec` an empty payload is no item, so
/// it is an error.
///
/// # Example
///
/// ```
/// use bytes::BytesMut;
/// use ringo_proto::codec::{Decoder, Encoder, LinesCodec};
/// use ringo_proto::multiplex::TaggedCodec;
///
/// let mut codec = TaggedCodec::new(LinesCodec::new());
/// let mut buf = BytesMut::new();
/// codec.encode((7, "hi"), &mut buf).unwrap();
/// assert_eq!(&buf[..], b"\x00\x00\x00\x07\x00\x00\x00\x07hi\n");
/// let frame = codec.decode(&mut buf).unwrap();
/// assert_eq!(frame, Some((7, "hi".to_owned())));
/// ```
#[derive(Debug, Clone)]
pub struct TaggedCodec<C> {
    inner: C,
    max_frame_length: usize,
}

impl<C> TaggedCodec<C> {
    /// Wraps `inner`, accepting frames of up to 8 MiB after the length field
    /// (the 4-byte tag plus the payload).
    ///
    /// A larger length in a header fails with [`TaggedCodecError::FrameTooLong`]
    /// as soon as the header is buffered, before any of the frame is; the
    /// encoder refuses larger items the same way. 8 MiB matches
    /// [`LengthDelimitedCodec::new`](crate::codec::LengthDelimitedCodec::new).
    pub fn new(inner: C) -> TaggedCodec<C> {
        TaggedCodec::with_max_frame_length(inner, DEFAULT_MAX_FRAME_LENGTH)
    }

    /// Wraps `inner`, accepting frames of at most `max` bytes after the length
    /// field (tag plus payload; at least the 4 of the tag, at most `u32::MAX`).
    pub fn with_max_frame_length(inner: C, max: usize) -> TaggedCodec<C> {
        let ceiling = usize::try_from(u32::MAX).unwrap_or(usize::MAX);
        TaggedCodec {
            inner,
            max_frame_length: max.clamp(TAG_FIELD, ceiling),
        }
    }

    /// The largest frame accepted, in bytes after the length field.
    pub fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }

    /// The payload codec.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The payload codec, mutably.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// The payload codec, unwrapped.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: Decoder> Decoder for TaggedCodec<C> {
    type Item = (Tag, C::Item);
    type Error = TaggedCodecError<C::Error>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let Some(&[a, b, c, d]) = src.get(..LENGTH_FIELD) else {
            return Ok(None);
        };
        let field = u32::from_be_bytes([a, b, c, d]);
        // A `u32` fits a `usize` on every target ringo runs on (32 and 64 bits).
        let length = field as usize;
        if length > self.max_frame_length {
            return Err(TaggedCodecError::FrameTooLong {
                length,
                limit: self.max_frame_length,
            });
        }
        if length < TAG_FIELD {
            return Err(TaggedCodecError::FrameTooShort { length });
        }
        let frame_length = LENGTH_FIELD + length;
        if src.len() < frame_length {
            // Room for the next reads, not for the whole announced frame: a
            // peer announcing 8 MiB and sending nothing must not cost 8 MiB.
            src.reserve((frame_length - src.len()).min(RESERVE_AHEAD));
            return Ok(None);
        }
        let mut payload = src.split_to(frame_length);
        payload.advance(LENGTH_FIELD);
        let tag = payload.get_u32();
        let payload_length = payload.len();
        // The payload is all there is of this item: the inner codec sees it as a
        // stream that has ended.
        match self.inner.decode_eof(&mut payload) {
            Ok(Some(item)) if payload.is_empty() => Ok(Some((tag, item))),
            Ok(Some(_)) => Err(TaggedCodecError::PayloadTrailing {
                tag,
                left: payload.len(),
            }),
            Ok(None) => Err(TaggedCodecError::PayloadIncomplete {
                tag,
                length: payload_length,
            }),
            Err(e) => Err(TaggedCodecError::Payload(e)),
        }
    }
}

/// Writes a length placeholder and the tag, lets the inner codec append the
/// payload, then fills in the length; on any error `dst` is left as it was.
impl<C: Encoder<T>, T> Encoder<(Tag, T)> for TaggedCodec<C> {
    type Error = TaggedCodecError<C::Error>;

    fn encode(&mut self, (tag, item): (Tag, T), dst: &mut BytesMut) -> Result<(), Self::Error> {
        let start = dst.len();
        dst.reserve(LENGTH_FIELD + TAG_FIELD);
        dst.put_u32(0);
        dst.put_u32(tag);
        if let Err(e) = self.inner.encode(item, dst) {
            dst.truncate(start);
            return Err(TaggedCodecError::Payload(e));
        }
        let length = dst.len() - start - LENGTH_FIELD;
        let field = match u32::try_from(length) {
            Ok(field) if length <= self.max_frame_length => field,
            _ => {
                dst.truncate(start);
                return Err(TaggedCodecError::FrameTooLong {
                    length,
                    limit: self.max_frame_length,
                });
            }
        };
        if let Some(header) = dst.get_mut(start..start + LENGTH_FIELD) {
            header.copy_from_slice(&field.to_be_bytes());
        }
        Ok(())
    }
}

/// An error of [`TaggedCodec`]; `E` is the payload codec's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum TaggedCodecError<E> {
    /// A frame is longer than the limit: a length read from a header (reported
    /// before the frame is buffered), or an item to encode.
    FrameTooLong {
        /// The frame's length in bytes after the length field.
        length: usize,
        /// The codec's limit, in the same unit.
        limit: usize,
    },
    /// Decoding: a header's length cannot even hold the 4-byte tag.
    FrameTooShort {
        /// The frame's length in bytes after the length field.
        length: usize,
    },
    /// Decoding: the payload codec found no whole item in a frame's payload.
    PayloadIncomplete {
        /// The frame's tag.
        tag: Tag,
        /// The payload's length in bytes.
        length: usize,
    },
    /// Decoding: bytes were left in a frame's payload after its item.
    PayloadTrailing {
        /// The frame's tag.
        tag: Tag,
        /// The bytes left over.
        left: usize,
    },
    /// The payload codec failed.
    Payload(E),
    /// The transport failed.
    Io(io::Error),
}

impl<E> fmt::Display for TaggedCodecError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLong { length, limit } => {
                write!(f, "frame length {length} over limit {limit}")
            }
            Self::FrameTooShort { length } => {
                write!(f, "frame length {length} under the {TAG_FIELD}-byte tag")
            }
            Self::PayloadIncomplete { tag, length } => {
                write!(
                    f,
                    "payload of tag {tag} ({length} bytes) holds no whole item"
                )
            }
            Self::PayloadTrailing { tag, left } => {
                write!(f, "payload of tag {tag} has {left} bytes after its item")
            }
            Self::Payload(_) => f.write_str("payload codec failed"),
            Self::Io(_) => f.write_str("tagged stream i/o failed"),
        }
    }
}

impl<E: error::Error + 'static> error::Error for TaggedCodecError<E> {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            Self::Payload(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> From<io::Error> for TaggedCodecError<E> {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::{LinesCodec, LinesCodecError};

    use super::*;

    type Codec = TaggedCodec<LinesCodec>;
    type Outcome = Result<Vec<(Tag, String)>, String>;

    /// An error and its direct source, if any, joined by ": ".
    fn chain(e: &dyn error::Error) -> String {
        match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        }
    }

    /// Decodes `input` fed in chunks of `step` bytes, then at end of stream.
    fn decode_in_steps(mut codec: Codec, input: &[u8], step: usize) -> Outcome {
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(frame) = codec.decode(&mut buf).map_err(|e| chain(&e))? {
                frames.push(frame);
            }
        }
        while let Some(frame) = codec.decode_eof(&mut buf).map_err(|e| chain(&e))? {
            frames.push(frame);
        }
        Ok(frames)
    }

    /// Decodes `input` whole and one byte at a time; both must give `expected`.
    fn assert_decodes(name: &str, codec: &Codec, input: &[u8], expected: &Outcome) {
        for step in [input.len().max(1), 1] {
            let got = decode_in_steps(codec.clone(), input, step);
            assert_eq!(&got, expected, "case {name}, fed {step} bytes at a time");
        }
    }

    fn frame(tag: Tag, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(TAG_FIELD + payload.len()).unwrap();
        let mut out = length.to_be_bytes().to_vec();
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn frames_decode_to_their_tags_and_items() {
        let mut input = frame(1, b"one\n");
        input.extend(frame(0xdead_beef, b"two\n"));
        input.extend(frame(1, b"\n"));
        input.extend(frame(2, b"unterminated"));
        let expected = vec![
            (1, "one".to_owned()),
            (0xdead_beef, "two".to_owned()),
            (1, String::new()),
            (2, "unterminated".to_owned()),
        ];
        assert_decodes(
            "three frames",
            &Codec::new(LinesCodec::new()),
            &input,
            &Ok(expected),
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let cases: &[(&str, Vec<u8>, &str)] = &[
            (
                "length 0",
                b"\x00\x00\x00\x00".to_vec(),
                "frame length 0 under the 4-byte tag",
            ),
            (
                "length 3",
                b"\x00\x00\x00\x03abc".to_vec(),
                "frame length 3 under the 4-byte tag",
            ),
            (
                "length u32::MAX",
                b"\xff\xff\xff\xff".to_vec(),
                "frame length 4294967295 over limit 8388608",
            ),
            (
                "empty payload",
                frame(5, b""),
                "payload of tag 5 (0 bytes) holds no whole item",
            ),
            (
                "two items in a payload",
                frame(7, b"a\nb\n"),
                "payload of tag 7 has 2 bytes after its item",
            ),
            (
                "payload not utf-8",
                frame(8, b"\xff\n"),
                "payload codec failed: line is not valid utf-8",
            ),
            (
                "eof inside a header",
                b"\x00\x00\x00".to_vec(),
                "tagged stream i/o failed: stream closed with 3 bytes of an unfinished frame",
            ),
            (
                "eof inside a frame",
                frame(9, b"abc\n")[..10].to_vec(),
                "tagged stream i/o failed: stream closed with 10 bytes of an unfinished frame",
            ),
        ];
        for (name, input, message) in cases {
            let expected = Err((*message).to_owned());
            assert_decodes(name, &Codec::new(LinesCodec::new()), input, &expected);
        }
    }

    #[test]
    fn frame_length_limit_holds_at_n_and_fails_at_n_plus_one() {
        let codec = Codec::with_max_frame_length(LinesCodec::new(), 10);
        let at_limit = frame(1, b"abcde\n");
        assert_decodes(
            "at limit",
            &codec,
            &at_limit,
            &Ok(vec![(1, "abcde".to_owned())]),
        );
        let over = frame(1, b"abcdef\n");
        let expected = Err("frame length 11 over limit 10".to_owned());
        assert_decodes("over limit", &codec, &over, &expected);

        let mut codec = codec;
        let mut buf = BytesMut::new();
        codec.encode((1, "abcde"), &mut buf).unwrap();
        assert_eq!(&buf[..], &at_limit[..]);
        let error = codec.encode((2, "abcdef"), &mut buf).unwrap_err();
        assert_eq!(error.to_string(), "frame length 11 over limit 10");
        assert_eq!(
            &buf[..],
            &at_limit[..],
            "a refused item leaves the buffer as it was"
        );
    }

    #[test]
    fn an_announced_frame_is_not_reserved_ahead_of_its_bytes() {
        let mut codec = Codec::new(LinesCodec::new());
        let announced = u32::try_from(DEFAULT_MAX_FRAME_LENGTH).unwrap();
        let mut buf = BytesMut::from(&announced.to_be_bytes()[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(
            buf.capacity() <= LENGTH_FIELD + 2 * RESERVE_AHEAD,
            "an 8 MiB announcement reserved {} bytes",
            buf.capacity()
        );
        // Still room for the next reads, so a large frame is not read in
        // tiny pieces.
        assert!(buf.capacity() >= LENGTH_FIELD + RESERVE_AHEAD);
    }

    #[test]
    fn default_limit_is_8_mib() {
        let codec = Codec::new(LinesCodec::new());
        assert_eq!(codec.max_frame_length(), 8 * 1024 * 1024);
        assert_eq!(
            Codec::with_max_frame_length(LinesCodec::new(), 0).max_frame_length(),
            4
        );
    }

    #[test]
    fn encoded_frames_decode_to_the_same_tags_and_items() {
        let mut codec = Codec::new(LinesCodec::new());
        let mut buf = BytesMut::new();
        let items = [(0, "zero"), (Tag::MAX, "max"), (42, "")];
        for (tag, item) in items {
            codec.encode((tag, item), &mut buf).unwrap();
        }
        let expected = items.iter().map(|&(t, s)| (t, s.to_owned())).collect();
        assert_decodes("round trip", &codec, &buf, &Ok(expected));
    }

    #[test]
    fn a_payload_encode_error_leaves_the_buffer_as_it_was() {
        let mut codec = Codec::new(LinesCodec::new());
        let mut buf = BytesMut::from(&b"kept"[..]);
        let error = codec.encode((1, "two\nlines"), &mut buf).unwrap_err();
        assert!(
            matches!(
                error,
                TaggedCodecError::Payload(LinesCodecError::NewlineInLine { index: 3 })
            ),
            "{error:?}"
        );
        assert_eq!(&buf[..], b"kept");
    }

    #[test]
    fn io_errors_convert_and_keep_their_source() {
        let error: TaggedCodecError<LinesCodecError> = io::Error::other("boom").into();
        assert_eq!(error.to_string(), "tagged stream i/o failed");
        let source = error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("boom"));
    }
}
