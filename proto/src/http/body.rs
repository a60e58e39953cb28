//! Message bodies: decoding Content-Length, chunked and close-delimited bodies,
//! and writing the body framing of outgoing messages.
//!
//! Bodies stream: each decode yields the body bytes that have arrived (split off
//! the read buffer, not copied) rather than waiting for a whole body or chunk,
//! so the codec never buffers a body. Chunk framing bytes are consumed as they
//! are checked, one state per byte, so no line is ever held whole either.

use std::fmt::Write;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{Error, ErrorKind};
use super::limits::Limits;
use super::BodyLength;

/// One step of a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyEvent {
    /// Body bytes, never empty.
    Data(Bytes),
    /// The body is complete.
    End,
}

/// Decodes one message body.
#[derive(Debug)]
pub(crate) enum BodyDecoder {
    /// `remaining` bytes of a Content-Length body are still to come.
    Length { remaining: u64 },
    /// A chunked body (RFC 9112 §7.1).
    Chunked(ChunkedDecoder),
    /// A body that runs until the peer closes (RFC 9112 §6.3 step 8);
    /// `total` bytes were read so far.
    Close { total: u64 },
}

impl BodyDecoder {
    /// A decoder for `body`; `None` for a message without a body.
    pub(crate) fn new(body: BodyLength) -> Option<Self> {
        match body {
            BodyLength::Empty | BodyLength::Length(0) => None,
            BodyLength::Length(remaining) => Some(BodyDecoder::Length { remaining }),
            BodyLength::Chunked => Some(BodyDecoder::Chunked(ChunkedDecoder::new())),
            BodyLength::CloseDelimited => Some(BodyDecoder::Close { total: 0 }),
        }
    }

    /// Decodes what `src` holds of the body; `None` when more bytes are needed.
    pub(crate) fn decode(
        &mut self,
        src: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<BodyEvent>, Error> {
        match self {
            BodyDecoder::Length { remaining } => {
                if *remaining == 0 {
                    return Ok(Some(BodyEvent::End));
                }
                Ok(take_data(src, remaining))
            }
            BodyDecoder::Chunked(chunked) => chunked.decode(src, limits),
            BodyDecoder::Close { total } => {
                if src.is_empty() {
                    return Ok(None);
                }
                let len = *total + src.len() as u64;
                if len <= limits.max_body {
                    *total = len;
                    return Ok(Some(BodyEvent::Data(src.split().freeze())));
                }
                // The bytes up to the limit go out first, as they would have
                // had they arrived alone: the parts must not depend on how
                // the reads split the stream (found by fuzzing).
                let mut room = limits.max_body - *total;
                if room > 0 {
                    return Ok(take_data(src, &mut room).inspect(|_| *total = limits.max_body));
                }
                Err(ErrorKind::BodyTooLarge {
                    len,
                    limit: limits.max_body,
                }
                .into())
            }
        }
    }

    /// Decodes at end of stream: only a close-delimited body may end here.
    pub(crate) fn decode_eof(
        &mut self,
        src: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<BodyEvent>, Error> {
        match self.decode(src, limits)? {
            Some(event) => Ok(Some(event)),
            None if matches!(self, BodyDecoder::Close { .. }) => Ok(Some(BodyEvent::End)),
            None => Err(ErrorKind::IncompleteMessage.into()),
        }
    }
}

/// Splits off up to `remaining` bytes of `src` as data.
fn take_data(src: &mut BytesMut, remaining: &mut u64) -> Option<BodyEvent> {
    if src.is_empty() || *remaining == 0 {
        return None;
    }
    // Either fits in usize: `src.len()` is one, and the min is at most it.
    let n = usize::try_from(*remaining).map_or(src.len(), |r| r.min(src.len()));
    *remaining -= n as u64;
    Some(BodyEvent::Data(src.split_to(n).freeze()))
}

/// Where a chunked decoder is, one state per framing byte
/// (RFC 9112 §7.1: `chunk-size [ chunk-ext ] CRLF chunk-data CRLF`, then
/// `last-chunk trailer-section CRLF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading hex digits of a chunk size; `digits` read so far.
    Size { digits: u8 },
    /// Whitespace after the size (`BWS` before `;`).
    SizeWhitespace,
    /// Inside chunk extensions, skipped up to CR.
    Extension,
    /// Saw the CR ending the size line.
    SizeLf,
    /// Reading chunk data.
    Data { remaining: u64 },
    /// Chunk data is over; CR expected.
    DataCr,
    /// CR after data seen; LF expected.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field name.
    TrailerName,
    /// Inside a trailer field value.
    TrailerValue,
    /// Saw the CR ending a trailer line; `empty` if that line was the last.
    TrailerLf { empty: bool },
    /// The body is over.
    Done,
}

/// Decodes a chunked body, counting its size against `Limits::max_body`.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    /// The size of the chunk whose size line is being read.
    size: u64,
    /// Bytes of the current size line before its CR.
    line_len: usize,
    /// Content bytes of all chunks so far, including the one being read.
    total: u64,
    /// Bytes of the trailer section so far.
    trailer_len: usize,
    /// Trailer fields so far.
    trailers: usize,
}

impl ChunkedDecoder {
    fn new() -> Self {
        ChunkedDecoder {
            state: ChunkState::Size { digits: 0 },
            size: 0,
            line_len: 0,
            total: 0,
            trailer_len: 0,
            trailers: 0,
        }
    }

    fn decode(&mut self, src: &mut BytesMut, limits: &Limits) -> Result<Option<BodyEvent>, Error> {
        loop {
            match &mut self.state {
                ChunkState::Done => return Ok(Some(BodyEvent::End)),
                ChunkState::Data { remaining } => {
                    let event = take_data(src, remaining);
                    if *remaining == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    return Ok(event);
                }
                _ => {}
            }
            let mut used = 0;
            for &b in src.iter() {
                used += 1;
                self.step(b, limits)?;
                if matches!(self.state, ChunkState::Data { .. } | ChunkState::Done) {
                    break;
                }
            }
            let _ = src.split_to(used);
            if !matches!(self.state, ChunkState::Data { .. } | ChunkState::Done) {
                return Ok(None);
            }
        }
    }

    /// Consumes one framing byte.
    fn step(&mut self, b: u8, limits: &Limits) -> Result<(), Error> {
        use ChunkState as S;
        if matches!(
            self.state,
            S::Size { .. } | S::SizeWhitespace | S::Extension
        ) && b != b'\r'
        {
            self.line_len += 1;
            if self.line_len > limits.max_chunk_line {
                return Err(ErrorKind::ChunkLineTooLong {
                    len: self.line_len,
                    limit: limits.max_chunk_line,
                }
                .into());
            }
        }
        if matches!(
            self.state,
            S::TrailerStart | S::TrailerName | S::TrailerValue | S::TrailerLf { .. }
        ) {
            self.trailer_len += 1;
            if self.trailer_len > limits.max_head_bytes {
                return Err(ErrorKind::HeadTooLarge {
                    len: self.trailer_len,
                    limit: limits.max_head_bytes,
                }
                .into());
            }
        }
        self.state = match (self.state, b) {
            (S::Size { digits }, _) if b.is_ascii_hexdigit() => {
                // 16 hex digits fill a u64, so the shift below never drops bits.
                if digits == 16 {
                    return Err(ErrorKind::ChunkSizeOverflow.into());
                }
                self.size = (self.size << 4) | u64::from(hex_value(b));
                S::Size { digits: digits + 1 }
            }
            (S::Size { digits: 0 }, _) => return Err(ErrorKind::InvalidChunkSize.into()),
            (S::Size { .. }, b'\r') | (S::Extension, b'\r') => S::SizeLf,
            (S::Size { .. } | S::SizeWhitespace, b' ' | b'\t') => S::SizeWhitespace,
            (S::Size { .. } | S::SizeWhitespace, b';') => S::Extension,
            (S::Size { .. } | S::SizeWhitespace, _) => {
                return Err(ErrorKind::InvalidChunkSize.into())
            }
            (S::Extension, b'\n') => return Err(ErrorKind::LineEnding.into()),
            (S::Extension, _) if is_field_byte(b) => S::Extension,
            (S::Extension, _) => return Err(ErrorKind::InvalidChunkSize.into()),
            (S::SizeLf, b'\n') => self.end_size_line(limits)?,
            (S::DataCr, b'\r') => S::DataLf,
            (S::DataLf, b'\n') => S::Size { digits: 0 },
            (S::DataCr | S::DataLf, _) => return Err(ErrorKind::ChunkNotTerminated.into()),
            (S::TrailerStart, b'\r') => S::TrailerLf { empty: true },
            // RFC 9112 §5.2: obs-fold is rejected, in trailers as in heads.
            (S::TrailerStart, b' ' | b'\t') => return Err(ErrorKind::ObsFold.into()),
            (S::TrailerStart | S::TrailerName, _) if is_tchar(b) => S::TrailerName,
            (S::TrailerName, b':') => S::TrailerValue,
            (S::TrailerStart | S::TrailerName, _) => {
                return Err(ErrorKind::InvalidHeaderName.into())
            }
            (S::TrailerValue, b'\r') => S::TrailerLf { empty: false },
            (S::TrailerValue, _) if is_field_byte(b) => S::TrailerValue,
            (S::TrailerValue, _) => return Err(ErrorKind::InvalidHeaderValue.into()),
            (S::TrailerLf { empty: true }, b'\n') => S::Done,
            (S::TrailerLf { empty: false }, b'\n') => {
                self.trailers += 1;
                if self.trailers > limits.max_headers {
                    return Err(ErrorKind::TooManyHeaders {
                        count: self.trailers,
                        limit: limits.max_headers,
                    }
                    .into());
                }
                S::TrailerStart
            }
            (S::SizeLf | S::TrailerLf { .. }, _) => return Err(ErrorKind::LineEnding.into()),
            (S::Data { .. } | S::Done, _) => {
                unreachable!("decode hands data and the end to take_data, not step")
            }
        };
        Ok(())
    }

    /// A size line ended: check the new total, then read data or trailers.
    fn end_size_line(&mut self, limits: &Limits) -> Result<ChunkState, Error> {
        let size = std::mem::take(&mut self.size);
        self.line_len = 0;
        if size == 0 {
            return Ok(ChunkState::TrailerStart);
        }
        let total = self.total.saturating_add(size);
        if total > limits.max_body {
            return Err(ErrorKind::BodyTooLarge {
                len: total,
                limit: limits.max_body,
            }
            .into());
        }
        self.total = total;
        Ok(ChunkState::Data { remaining: size })
    }
}

/// The value of an ASCII hex digit.
fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// `tchar` of RFC 9110 §5.6.2: the bytes of a token such as a field name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A byte allowed inside a field value or chunk extension: visible, SP, HTAB,
/// or obs-text (RFC 9110 §5.5); never CR, LF, NUL or another control.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Writes the body framing of one outgoing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyWriter {
    /// Content-Length framing: `written` of `declared` bytes so far.
    Length { declared: u64, written: u64 },
    /// Chunked framing: each data part becomes one chunk.
    Chunked,
    /// Close-delimited: bytes go out as they are; the connection ends the body.
    Close,
    /// The message has no body on the wire (HEAD, 1xx, 204, 304): data is dropped.
    Discard,
}

impl BodyWriter {
    /// Writes one data part.
    pub(crate) fn data(&mut self, data: &[u8], dst: &mut BytesMut) -> Result<(), Error> {
        match self {
            BodyWriter::Length { declared, written } => {
                let total = *written + data.len() as u64;
                if total > *declared {
                    return Err(ErrorKind::BodyLengthMismatch {
                        declared: *declared,
                        written: total,
                    }
                    .into());
                }
                *written = total;
                dst.extend_from_slice(data);
            }
            BodyWriter::Chunked if data.is_empty() => {
                // An empty chunk would read as the last chunk.
            }
            BodyWriter::Chunked => {
                dst.reserve(data.len() + 20);
                // BytesMut's fmt::Write grows the buffer and never fails.
                let _ = write!(dst, "{:x}\r\n", data.len());
                dst.put_slice(data);
                dst.put_slice(b"\r\n");
            }
            BodyWriter::Close => dst.extend_from_slice(data),
            BodyWriter::Discard => {}
        }
        Ok(())
    }

    /// Counts `len` body bytes the caller writes itself, after what this
    /// writer wrote so far (a file range the dispatcher sends). They need no
    /// framing only under `content-length` or close delimiting; a chunked or
    /// discarded body cannot take them.
    pub(crate) fn external(&mut self, len: u64) -> Result<(), Error> {
        match self {
            BodyWriter::Length { declared, written } => {
                let total = *written + len;
                if total > *declared {
                    return Err(ErrorKind::BodyLengthMismatch {
                        declared: *declared,
                        written: total,
                    }
                    .into());
                }
                *written = total;
                Ok(())
            }
            BodyWriter::Close => Ok(()),
            BodyWriter::Chunked | BodyWriter::Discard => Err(ErrorKind::OutOfOrder.into()),
        }
    }

    /// Ends the body: the last chunk, or a check that the declared length was met.
    pub(crate) fn end(&self, dst: &mut BytesMut) -> Result<(), Error> {
        match *self {
            BodyWriter::Length { declared, written } if declared != written => {
                Err(ErrorKind::BodyLengthMismatch { declared, written }.into())
            }
            BodyWriter::Chunked => {
                // RFC 9112 §7.1: last-chunk, an empty trailer section, CRLF.
                dst.extend_from_slice(b"0\r\n\r\n");
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
