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
/// field; documented, with why, on [`Builder::max_frame_length`].
pub(crate) const DEFAULT_MAX_FRAME_LENGTH: usize = 8 * 1024 * 1024;

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
    /// to 8 MiB (see [`max_frame_length`](Builder::max_frame_length)).
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

    /// Sets the largest frame accepted, in bytes after the length field (the
    /// payload, by default); default 8 MiB. Applies to decoding and encoding.
    ///
    /// A larger length in a header fails with
    /// [`LengthDelimitedCodecError::FrameTooLong`] as soon as the header is
    /// buffered, before any of the payload is; the encoder refuses larger items
    /// the same way. 8 MiB is tokio-util's default, so a peer configured for it
    /// interoperates.
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

/// Most the decoder reserves for a frame beyond the bytes already buffered, in
/// bytes: the room for the next reads, not for the whole announced frame.
/// [`TaggedCodec`](crate::multiplex::TaggedCodec) shares the rule.
pub(crate) const RESERVE_AHEAD: usize = 64 * 1024;

/// Decodes frames prefixed by a length field into `BytesMut`s, and encodes `Bytes`
/// items with that prefix.
///
/// Decoded frames are split off the read buffer without copying. Once a header is
/// buffered, the codec reserves room for the rest of its frame (at most 64 KiB
/// ahead of what has arrived), so the transport's next reads go straight into a
/// buffer of the right size. A length over the limit is
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
            // Grow toward the frame as it arrives, never ahead of it by more than
            // RESERVE_AHEAD: a peer announcing 8 MiB and sending nothing must not
            // make us allocate 8 MiB.
            src.reserve((frame_length - src.len()).min(RESERVE_AHEAD));
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
mod tests;
