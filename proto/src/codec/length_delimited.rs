//! Frames prefixed by their length: [`LengthDelimitedCodec`] and its [`Builder`].
//!
//! Most binary protocols put a length field in a small header before each message.
//! This codec reads that layout, configured by a [`Builder`], so a protocol gets its
//! framing, limits and error handling without writing a decoder:
//!
//! ```text
//! +----------------+--------------+-------------------------------------+
//! | offset bytes   | length field | (length field + adjustment) bytes   |
//! +----------------+--------------+-------------------------------------+
//! |<----------------------------- frame -------------------------------->|
//! ```
//!
//! The decoded item is the frame less its first `strip` bytes; by default those are
//! the offset bytes and the length field, so the item is the payload.
//!
//! The settings are tokio-util's, with these differences:
//!
//! - The adjustment counts the bytes after the length field whatever `strip` is
//!   (tokio-util counts them after its `num_skip`), so keeping the header in the item
//!   needs no change of adjustment.
//! - The limit applies to the adjusted length, the bytes actually buffered after the
//!   field (tokio-util checks the field's raw value).
//! - The encoder honours the offset: it takes the bytes before the length field from
//!   the front of the item (tokio-util writes the field first whatever the offset).
//! - `strip` cannot pass the header, and a bad setting is an error from
//!   [`Builder::new_codec`], not a panic.

use std::{error, fmt, io};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{Decoder, Encoder};

/// The largest frame [`LengthDelimitedCodec::new`] accepts, in bytes after the length
/// field (the payload, by default).
///
/// A larger length in a header fails with [`LengthDelimitedCodecError::FrameTooLong`]
/// as soon as the header is buffered, before any of the payload is; the encoder
/// refuses larger items the same way. 8 MiB is tokio-util's default, so a peer
/// configured for it interoperates.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 8 * 1024 * 1024;

/// The length field width [`Builder`] starts with, in bytes: a `u32`.
const DEFAULT_LENGTH_FIELD_WIDTH: usize = 4;

/// The widest length field, in bytes: a `u64`.
const MAX_LENGTH_FIELD_WIDTH: usize = 8;

/// Configures a [`LengthDelimitedCodec`]; see the [module docs](self) for the layout.
///
/// # Example
///
/// A header of one type byte, then a 2-byte little-endian length that counts itself:
///
/// ```
/// use bytes::BytesMut;
/// use ringo_proto::codec::{Decoder, LengthDelimitedCodec};
///
/// let mut codec = LengthDelimitedCodec::builder()
///     .length_field_offset(1)
///     .length_field_width(2)
///     .little_endian()
///     .length_adjustment(-2)
///     .strip(0)
///     .new_codec()
///     .unwrap();
/// let mut buf = BytesMut::from(&b"\x07\x05\x00abcXX"[..]);
/// let frame = codec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(&frame[..], b"\x07\x05\x00abc");
/// assert_eq!(&buf[..], b"XX");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builder {
    /// Bytes in the length field, 1 to 8; checked by `new_codec`.
    width: usize,
    /// Bytes before the length field.
    offset: usize,
    /// Whether the length field is big-endian (else little-endian).
    big_endian: bool,
    /// Added to the length field's value to give the bytes after the field.
    adjustment: isize,
    /// Bytes removed from the front of each decoded frame; `None` means the whole
    /// header (offset + width).
    strip: Option<usize>,
    /// The largest accepted frame, in bytes after the length field.
    max_frame_length: usize,
}

impl Builder {
    /// Creates a builder with the defaults: a 4-byte big-endian length field at
    /// offset 0 counting the bytes after it, the header stripped, and frames of up
    /// to [`DEFAULT_MAX_FRAME_LENGTH`].
    pub fn new() -> Self {
        Self {
            width: DEFAULT_LENGTH_FIELD_WIDTH,
            offset: 0,
            big_endian: true,
            adjustment: 0,
            strip: None,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
        }
    }

    /// Sets the length field's width in bytes, 1 to 8 (default 4). Applies to
    /// decoding and encoding.
    pub fn length_field_width(&mut self, width: usize) -> &mut Self {
        self.width = width;
        self
    }

    /// Sets the number of bytes before the length field (default 0).
    ///
    /// The encoder takes them from the front of each item: it writes the item's first
    /// `offset` bytes, then the length field, then the rest of the item.
    pub fn length_field_offset(&mut self, offset: usize) -> &mut Self {
        self.offset = offset;
        self
    }

    /// Reads and writes the length field big-endian (network order; the default).
    pub fn big_endian(&mut self) -> &mut Self {
        self.big_endian = true;
        self
    }

    /// Reads and writes the length field little-endian.
    pub fn little_endian(&mut self) -> &mut Self {
        self.big_endian = false;
        self
    }

    /// Reads and writes the length field in this machine's byte order.
    pub fn native_endian(&mut self) -> &mut Self {
        self.big_endian = cfg!(target_endian = "big");
        self
    }

    /// Sets the value added to the length field to give the number of bytes that
    /// follow the field (default 0).
    ///
    /// A field that counts itself and the bytes before it, for instance, needs
    /// `-(offset + width)`; the encoder subtracts the adjustment when it writes the
    /// field.
    pub fn length_adjustment(&mut self, adjustment: isize) -> &mut Self {
        self.adjustment = adjustment;
        self
    }

    /// Sets how many bytes to remove from the front of each decoded frame, at most
    /// offset + width (default: exactly that, leaving the payload). Decoding only.
    pub fn strip(&mut self, strip: usize) -> &mut Self {
        self.strip = Some(strip);
        self
    }

    /// Sets the largest frame accepted, in bytes after the length field (default
    /// [`DEFAULT_MAX_FRAME_LENGTH`]). Applies to decoding and encoding.
    pub fn max_frame_length(&mut self, max_frame_length: usize) -> &mut Self {
        self.max_frame_length = max_frame_length;
        self
    }

    /// Checks the settings and creates the codec.
    ///
    /// # Errors
    ///
    /// [`BuilderError`] if the width is not 1 to 8, offset + width overflows, or
    /// `strip` is more than offset + width.
    pub fn new_codec(&self) -> Result<LengthDelimitedCodec, BuilderError> {
        if !(1..=MAX_LENGTH_FIELD_WIDTH).contains(&self.width) {
            return Err(BuilderError::LengthFieldWidth { width: self.width });
        }
        let header_length =
            self.offset
                .checked_add(self.width)
                .ok_or(BuilderError::OffsetTooLarge {
                    offset: self.offset,
                })?;
        let strip = self.strip.unwrap_or(header_length);
        if strip > header_length {
            return Err(BuilderError::StripPastHeader {
                strip,
                header_length,
            });
        }
        Ok(LengthDelimitedCodec {
            builder: *self,
            header_length,
            strip,
        })
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

/// Decodes frames prefixed by a length field into `BytesMut`s, and encodes `Bytes`
/// items with that prefix.
///
/// Decoded frames are split off the read buffer without copying. Once a header is
/// buffered, the codec reserves room for the rest of its frame, so the transport's
/// next reads go straight into a buffer of the right size. A length over the limit is
/// an error before any payload is buffered; so is a length that the adjustment makes
/// negative or too large to represent. Each ends the stream, since the next frame's
/// start is unknown. The codec keeps no state between calls: it re-reads the few
/// header bytes of a partial frame on each call.
///
/// # Example
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use ringo_proto::codec::{Decoder, Encoder, LengthDelimitedCodec};
///
/// let mut codec = LengthDelimitedCodec::new();
/// let mut buf = BytesMut::new();
/// codec.encode(Bytes::from_static(b"hi"), &mut buf).unwrap();
/// assert_eq!(&buf[..], b"\x00\x00\x00\x02hi");
/// let frame = codec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(&frame[..], b"hi");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthDelimitedCodec {
    /// The checked settings: width 1 to 8, and offset + width fits a `usize`.
    builder: Builder,
    /// Offset + width: the bytes up to the end of the length field.
    header_length: usize,
    /// Bytes removed from the front of each frame; at most `header_length`.
    strip: usize,
}

impl LengthDelimitedCodec {
    /// Creates a codec with the [`Builder::new`] defaults.
    pub fn new() -> Self {
        Self {
            builder: Builder::new(),
            header_length: DEFAULT_LENGTH_FIELD_WIDTH,
            strip: DEFAULT_LENGTH_FIELD_WIDTH,
        }
    }

    /// Returns a builder to configure a codec.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Returns the largest frame accepted, in bytes after the length field.
    pub fn max_frame_length(&self) -> usize {
        self.builder.max_frame_length
    }

    /// The largest value the length field can hold.
    fn max_field_value(&self) -> u64 {
        // `width` is 1 to 8 (checked by `new_codec`), so the shift is 8 to 64 bits.
        u64::MAX >> (64 - 8 * self.builder.width)
    }

    /// Turns a length field's value into the number of bytes after the field,
    /// checked against the limit.
    fn frame_length(&self, field: u64) -> Result<usize, LengthDelimitedCodecError> {
        let adjustment = self.builder.adjustment;
        // `isize` is at most 64 bits on every target Rust supports, so this is exact.
        let length = field.checked_add_signed(adjustment as i64).ok_or({
            if adjustment < 0 {
                LengthDelimitedCodecError::NegativeLength { field, adjustment }
            } else {
                LengthDelimitedCodecError::LengthOverflow { field, adjustment }
            }
        })?;
        match usize::try_from(length) {
            Ok(length) if length <= self.builder.max_frame_length => Ok(length),
            _ => Err(LengthDelimitedCodecError::FrameTooLong {
                length,
                limit: self.builder.max_frame_length,
            }),
        }
    }
}

impl Default for LengthDelimitedCodec {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads an unsigned integer of up to 8 bytes in the given byte order.
fn read_uint(bytes: &[u8], big_endian: bool) -> u64 {
    let byte = |value: u64, &b: &u8| value << 8 | u64::from(b);
    if big_endian {
        bytes.iter().fold(0, byte)
    } else {
        bytes.iter().rev().fold(0, byte)
    }
}

impl Decoder for LengthDelimitedCodec {
    type Item = BytesMut;
    type Error = LengthDelimitedCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, Self::Error> {
        let Some(field) = src.get(self.builder.offset..self.header_length) else {
            return Ok(None);
        };
        let field = read_uint(field, self.builder.big_endian);
        let length = self.frame_length(field)?;
        let frame_length = self.header_length.checked_add(length).ok_or(
            LengthDelimitedCodecError::LengthOverflow {
                field,
                adjustment: self.builder.adjustment,
            },
        )?;
        if src.len() < frame_length {
            src.reserve(frame_length - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(frame_length);
        // `strip <= header_length <= frame_length`, checked by `new_codec`.
        frame.advance(self.strip);
        Ok(Some(frame))
    }
}

/// Writes the item's first `offset` bytes, the length field, then the rest of the
/// item, whose length is the frame length checked against the limit.
impl Encoder<Bytes> for LengthDelimitedCodec {
    type Error = LengthDelimitedCodecError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let offset = self.builder.offset;
        let Some((prefix, payload)) = item.split_at_checked(offset) else {
            return Err(LengthDelimitedCodecError::ItemShorterThanOffset {
                length: item.len(),
                offset,
            });
        };
        let length = payload.len();
        let limit = self.builder.max_frame_length;
        if length > limit {
            return Err(LengthDelimitedCodecError::FrameTooLong {
                length: length as u64,
                limit,
            });
        }
        let adjustment = self.builder.adjustment;
        // In i128 both `u64` and `isize` fit, so the subtraction cannot overflow.
        let field = i128::from(length as u64) - adjustment as i128;
        let field = u64::try_from(field)
            .ok()
            .filter(|&field| field <= self.max_field_value())
            .ok_or(LengthDelimitedCodecError::LengthFieldTooNarrow {
                length,
                width: self.builder.width,
                adjustment,
            })?;
        dst.reserve(self.header_length + length);
        dst.put_slice(prefix);
        // `width` is 1 to 8 (checked by `new_codec`), as `put_uint` requires.
        if self.builder.big_endian {
            dst.put_uint(field, self.builder.width);
        } else {
            dst.put_uint_le(field, self.builder.width);
        }
        dst.put_slice(payload);
        Ok(())
    }
}

/// An error of [`LengthDelimitedCodec`].
#[derive(Debug)]
#[non_exhaustive]
pub enum LengthDelimitedCodecError {
    /// A frame is longer than the codec's limit: a length read from a header
    /// (reported before the frame is buffered), or an item to encode.
    FrameTooLong {
        /// The frame's length in bytes after the length field.
        length: u64,
        /// The codec's limit, in the same unit.
        limit: usize,
    },
    /// Decoding: the length field plus the (negative) adjustment is below zero.
    NegativeLength {
        /// The length field's value.
        field: u64,
        /// The codec's length adjustment.
        adjustment: isize,
    },
    /// Decoding: the length field plus the adjustment, or the whole frame's length,
    /// does not fit in memory's address range.
    LengthOverflow {
        /// The length field's value.
        field: u64,
        /// The codec's length adjustment.
        adjustment: isize,
    },
    /// Encoding: the item's length less the adjustment does not fit the length field.
    LengthFieldTooNarrow {
        /// The frame's length in bytes after the length field.
        length: usize,
        /// The length field's width in bytes.
        width: usize,
        /// The codec's length adjustment.
        adjustment: isize,
    },
    /// Encoding: the item is shorter than the bytes that go before the length field.
    ItemShorterThanOffset {
        /// The item's length in bytes.
        length: usize,
        /// The length field's offset in bytes.
        offset: usize,
    },
    /// The transport failed.
    Io(io::Error),
}

impl fmt::Display for LengthDelimitedCodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLong { length, limit } => {
                write!(f, "frame length {length} over limit {limit}")
            }
            Self::NegativeLength { field, adjustment } => {
                write!(f, "length field {field} plus adjustment {adjustment} is negative")
            }
            Self::LengthOverflow { field, adjustment } => {
                write!(f, "length field {field} plus adjustment {adjustment} overflows")
            }
            Self::LengthFieldTooNarrow {
                length,
                width,
                adjustment,
            } => write!(
                f,
                "frame length {length} minus adjustment {adjustment} does not fit a {width}-byte length field"
            ),
            Self::ItemShorterThanOffset { length, offset } => {
                write!(f, "item length {length} under length field offset {offset}")
            }
            Self::Io(_) => f.write_str("length-delimited stream i/o failed"),
        }
    }
}

impl error::Error for LengthDelimitedCodecError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for LengthDelimitedCodecError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A setting [`Builder::new_codec`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuilderError {
    /// The length field width is not 1 to 8 bytes.
    LengthFieldWidth {
        /// The width asked for, in bytes.
        width: usize,
    },
    /// The length field offset plus its width overflows a `usize`.
    OffsetTooLarge {
        /// The offset asked for, in bytes.
        offset: usize,
    },
    /// More bytes to strip than the header (offset + width) holds.
    StripPastHeader {
        /// The bytes to strip asked for.
        strip: usize,
        /// Offset + width, in bytes.
        header_length: usize,
    },
}

impl fmt::Display for BuilderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthFieldWidth { width } => {
                write!(
                    f,
                    "length field width {width} outside 1..={MAX_LENGTH_FIELD_WIDTH}"
                )
            }
            Self::OffsetTooLarge { offset } => {
                write!(f, "length field offset {offset} plus width overflows")
            }
            Self::StripPastHeader {
                strip,
                header_length,
            } => write!(f, "strip {strip} over header length {header_length}"),
        }
    }
}

impl error::Error for BuilderError {}

#[cfg(test)]
mod tests {
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
    fn assert_decodes(
        name: &str,
        builder: &Builder,
        input: &[u8],
        expected: (&[&[u8]], Option<&str>),
    ) {
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
}
