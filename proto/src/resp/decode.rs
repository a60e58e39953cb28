//! The RESP decoder: bytes from the peer to [`Frame`]s, for RESP2 and RESP3
//! (<https://redis.io/docs/latest/develop/reference/protocol-spec/>).
//!
//! # Why a state machine
//!
//! A frame may arrive one byte at a time, and a big one (a 512 MiB bulk string,
//! a million-element array) must not be parsed again from its start on every
//! read, which would cost O(n²). So the decoder consumes each piece as soon as it
//! is whole and remembers where it is:
//!
//! - every header line (`*3`, `$5`, `:1`, ...) is taken off the buffer once its
//!   CRLF is there; while it is incomplete, [`DecodeState::scanned`] says how far
//!   the search for its end already went;
//! - after a bulk header, [`Pending::Payload`] waits for `len + 2` bytes without
//!   looking at them;
//! - aggregates being filled sit on an explicit stack, [`DecodeState::open`],
//!   bounded by [`Limits::max_depth`](super::Limits), so nesting never recurses.
//!
//! A command that arrives whole takes a shorter path (`command.rs`). Bulk
//! strings are split off the read buffer without copying.

use std::io;

use bytes::{Buf, BytesMut};

use super::inline::split_args;
use super::{Error, ErrorKind, Frame, RespCodec};
use crate::Decoder;

/// Most bytes reserved ahead for a bulk payload still arriving: 64 KiB.
///
/// Reserving the whole announced length would let a 12-byte header make us
/// allocate 512 MiB; reserving nothing leaves the transport to grow its buffer in
/// small steps. One chunk at a time lets the buffer grow (doubling inside
/// `BytesMut`) only as fast as the payload really arrives. 64 KiB matches the
/// inline limit, so a payload costs no more up front than a long line.
const PAYLOAD_RESERVE_CHUNK: usize = 64 * 1024;

/// Initial capacity cap for an aggregate's elements, as redis-server caps its
/// `argv` allocation at 1024 (`processMultibulkBuffer`): a header alone must not
/// make us allocate for a million elements.
const INITIAL_ELEMENTS_CAP: usize = 1024;

/// The decoder's memory between calls.
#[derive(Debug, Default)]
pub(crate) struct DecodeState {
    /// What the next bytes of the buffer are.
    pending: Pending,
    /// Aggregates whose header was consumed and whose elements are arriving,
    /// outermost first. Never longer than `max_depth`.
    open: Vec<Open>,
    /// How many bytes at the front of the buffer were already searched for the
    /// end of the current line, without finding it. Zero whenever a line was
    /// consumed; only meaningful while `pending` is [`Pending::Line`].
    scanned: usize,
}

impl DecodeState {
    /// Whether no frame is partly decoded.
    fn is_idle(&self) -> bool {
        matches!(self.pending, Pending::Line) && self.open.is_empty()
    }

    /// Forgets how far an unfinished line was scanned: its bytes were taken.
    pub(super) fn reset_scan(&mut self) {
        self.scanned = 0;
    }

    /// Hands a finished element to the innermost open aggregate, closing every
    /// aggregate it completes. Returns the top-level frame once it is whole.
    fn close(&mut self, mut frame: Frame) -> Option<Frame> {
        loop {
            let Some(innermost) = self.open.last_mut() else {
                return Some(frame);
            };
            if !innermost.push(frame) {
                return None;
            }
            // `last_mut` just found it, so this `pop` returns the same aggregate.
            frame = self.open.pop()?.finish()?;
        }
    }
}

/// What the decoder expects at the front of the buffer.
#[derive(Debug, Default, Clone, Copy)]
enum Pending {
    /// A type byte and its line or, at top level with inline commands on, a line
    /// that may be an inline command.
    #[default]
    Line,
    /// The payload of a bulk string, bulk error or verbatim string whose header
    /// was consumed: `len` bytes, then CRLF.
    Payload {
        /// The frame the payload becomes.
        kind: PayloadKind,
        /// The payload length announced by the header, within `max_bulk_len`.
        len: usize,
    },
}

/// The length-prefixed frame types.
#[derive(Debug, Clone, Copy)]
enum PayloadKind {
    /// `$`
    Bulk,
    /// `!`
    BulkError,
    /// `=`
    Verbatim,
}

/// An aggregate being filled.
#[derive(Debug)]
struct Open {
    /// Elements still to come; maps and attributes count key and value apart.
    /// Never zero while on the stack: an empty aggregate is finished at once.
    remaining: usize,
    /// The elements so far.
    items: Items,
}

/// The elements of an [`Open`] aggregate, by type.
#[derive(Debug)]
enum Items {
    Array(Vec<Frame>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Map {
        entries: Vec<(Frame, Frame)>,
        /// The key of the entry whose value comes next.
        key: Option<Frame>,
    },
    /// A RESP3 attribute: its entries are read and dropped, as the spec allows a
    /// client to ignore them; it does not count as an element of its parent.
    Attribute,
}

impl Open {
    /// An aggregate of type `type_byte` announcing `len` elements (entries for
    /// maps and attributes), or `None` if its element count overflows.
    fn new(type_byte: u8, len: usize) -> Option<Open> {
        let (items, remaining) = match type_byte {
            b'%' => (
                Items::Map {
                    entries: elements(len),
                    key: None,
                },
                len.checked_mul(2)?,
            ),
            b'|' => (Items::Attribute, len.checked_mul(2)?),
            b'~' => (Items::Set(elements(len)), len),
            b'>' => (Items::Push(elements(len)), len),
            _ => (Items::Array(elements(len)), len),
        };
        Some(Open { remaining, items })
    }

    /// Adds one element. Returns whether that completed the aggregate.
    fn push(&mut self, frame: Frame) -> bool {
        match &mut self.items {
            Items::Array(items) | Items::Set(items) | Items::Push(items) => items.push(frame),
            Items::Map { entries, key } => match key.take() {
                Some(key) => entries.push((key, frame)),
                None => *key = Some(frame),
            },
            Items::Attribute => {}
        }
        self.remaining = self.remaining.saturating_sub(1);
        self.remaining == 0
    }

    /// The finished frame; `None` for an attribute, which yields nothing.
    fn finish(self) -> Option<Frame> {
        match self.items {
            Items::Array(items) => Some(Frame::Array(items)),
            Items::Set(items) => Some(Frame::Set(items)),
            Items::Push(items) => Some(Frame::Push(items)),
            Items::Map { entries, .. } => Some(Frame::Map(entries)),
            Items::Attribute => None,
        }
    }
}

/// An empty element vector for an aggregate announcing `len` elements.
fn elements<T>(len: usize) -> Vec<T> {
    Vec::with_capacity(len.min(INITIAL_ELEMENTS_CAP))
}

/// A length from a `$` or `*` style header.
enum Len {
    /// `-1`: RESP2's null bulk string or null array.
    Null,
    Count(u64),
}

impl Decoder for RespCodec {
    type Item = Frame;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        if self.state.is_idle() {
            // The call after each frame, when that frame was all there was.
            if src.is_empty() {
                return Ok(None);
            }
            if let Some(command) = self.take_command(src) {
                return Ok(Some(command));
            }
        }
        let decoded = self.decode_frame(src);
        if decoded.is_err() {
            // The stream is corrupt; drop the partial frame rather than keep
            // memory for a connection that is about to close.
            self.state = DecodeState::default();
        }
        decoded
    }

    /// Like the default, but also reports a frame whose bytes were already
    /// consumed from `src` and whose rest never came.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() && self.state.is_idle() => Ok(None),
            None => {
                self.state = DecodeState::default();
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream closed in the middle of a RESP frame",
                )
                .into())
            }
        }
    }
}

impl RespCodec {
    /// The decode loop: take whole pieces off `src` until a top-level frame is
    /// complete (`Some`) or the buffer runs out (`None`).
    fn decode_frame(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Error> {
        loop {
            let element = match self.state.pending {
                Pending::Payload { kind, len } => match self.take_payload(src, kind, len)? {
                    Some(frame) => frame,
                    None => return Ok(None),
                },
                Pending::Line => {
                    let Some(&type_byte) = src.first() else {
                        return Ok(None);
                    };
                    // redis-server's `processInputBuffer`: a request starting
                    // with `*` is a multibulk, anything else an inline command.
                    if self.inline && type_byte != b'*' && self.state.open.is_empty() {
                        match self.take_inline(src)? {
                            None => return Ok(None),
                            // An empty line is skipped, as redis-server does.
                            Some(args) if args.is_empty() => continue,
                            Some(args) => return Ok(Some(Frame::Array(args))),
                        }
                    }
                    if !is_type(type_byte) {
                        return Err(ErrorKind::UnknownType(type_byte).into());
                    }
                    let Some(end) = self.find_line_end(src, type_byte)? else {
                        return Ok(None);
                    };
                    match self.take_line(src, type_byte, end)? {
                        Some(frame) => frame,
                        // A header: a payload or an aggregate's elements follow.
                        None => continue,
                    }
                }
            };
            if let Some(frame) = self.state.close(element) {
                return Ok(Some(frame));
            }
        }
    }

    /// Finds the CRLF ending the line at the front of `src`, returning the index
    /// of its CR, or `None` if it has not all arrived.
    ///
    /// Errors if the line is over `max_inline_len` (whether or not its end
    /// arrived, so byte-at-a-time and whole input fail alike) or ends in a lone
    /// CR or LF: the spec terminates every line with CRLF, and a simple string
    /// "cannot contain a CR or LF character".
    fn find_line_end(&mut self, src: &BytesMut, type_byte: u8) -> Result<Option<usize>, Error> {
        let max = self.limits.max_inline_len;
        let too_long = || match type_byte {
            b'*' | b'%' | b'~' | b'>' | b'|' => ErrorKind::TooBigMultibulkCount,
            b'$' | b'!' | b'=' => ErrorKind::TooBigBulkCount,
            _ => ErrorKind::TooBigLine,
        };
        // The type byte is not part of the line's content.
        let from = self.state.scanned.max(1);
        let found = src
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\r' || b == b'\n'));
        let Some(cr) = found.map(|at| from + at) else {
            self.state.scanned = src.len();
            if src.len() - 1 > max {
                return Err(too_long().into());
            }
            return Ok(None);
        };
        if cr - 1 > max {
            return Err(too_long().into());
        }
        match (src.get(cr), src.get(cr + 1)) {
            (Some(b'\r'), Some(b'\n')) => Ok(Some(cr)),
            (Some(b'\r'), None) => {
                self.state.scanned = cr;
                Ok(None)
            }
            _ => Err(ErrorKind::InvalidLineEnding.into()),
        }
    }

    /// Takes the line `src[..end + 2]` (type byte, content, CRLF) off `src`;
    /// [`find_line_end`](Self::find_line_end) checked all of it is there, so
    /// the `advance` and `split_to` calls below stay within `src`.
    /// Returns the frame it holds, or `None` for a header whose payload or
    /// elements follow (or an empty attribute, which yields nothing).
    fn take_line(
        &mut self,
        src: &mut BytesMut,
        type_byte: u8,
        end: usize,
    ) -> Result<Option<Frame>, Error> {
        let content = src.get(1..end).unwrap_or_default();
        let frame = match type_byte {
            b'+' => Frame::Simple(take_content(src, end)),
            b'-' => Frame::Error(take_content(src, end)),
            b'(' if is_big_number(content) => Frame::BigNumber(take_content(src, end)),
            b'(' => return Err(ErrorKind::InvalidBigNumber.into()),
            b':' => Frame::Integer(parse_integer(content).ok_or(ErrorKind::InvalidInteger)?),
            b',' => Frame::Double(parse_double(content).ok_or(ErrorKind::InvalidDouble)?),
            b'#' => match content {
                b"t" => Frame::Boolean(true),
                b"f" => Frame::Boolean(false),
                _ => return Err(ErrorKind::InvalidBoolean.into()),
            },
            b'_' if content.is_empty() => Frame::Null,
            b'_' => return Err(ErrorKind::InvalidNull.into()),
            b'$' | b'!' | b'=' => {
                let len = parse_len(content).ok_or(ErrorKind::InvalidBulkLength)?;
                self.consume_line(src, end);
                return self.open_payload(type_byte, len);
            }
            _ => {
                let len = parse_len(content).ok_or(ErrorKind::InvalidMultibulkLength)?;
                self.consume_line(src, end);
                return self.open_aggregate(type_byte, len);
            }
        };
        // `take_content` consumed all but the CRLF; the rest consume it all.
        match frame {
            Frame::Simple(_) | Frame::Error(_) | Frame::BigNumber(_) => src.advance(2),
            _ => src.advance(end + 2),
        }
        self.state.scanned = 0;
        Ok(Some(frame))
    }

    /// Starts the payload of a consumed `$`, `!` or `=` header.
    fn open_payload(&mut self, type_byte: u8, len: Len) -> Result<Option<Frame>, Error> {
        let kind = match type_byte {
            b'!' => PayloadKind::BulkError,
            b'=' => PayloadKind::Verbatim,
            _ => PayloadKind::Bulk,
        };
        let len = match (len, kind) {
            (Len::Null, PayloadKind::Bulk) => return Ok(Some(Frame::Null)),
            (Len::Null, _) => return Err(ErrorKind::InvalidBulkLength.into()),
            (Len::Count(len), _) => len,
        };
        let limit = self.limits.max_bulk_len;
        // `take_payload` waits for `len + 2` bytes, which must be countable.
        let len = match usize::try_from(len) {
            Ok(fits) if fits <= limit && fits.checked_add(2).is_some() => fits,
            _ => return Err(ErrorKind::BulkTooLong { len, limit }.into()),
        };
        self.state.pending = Pending::Payload { kind, len };
        Ok(None)
    }

    /// Opens the aggregate of a consumed `*`, `%`, `~`, `>` or `|` header.
    fn open_aggregate(&mut self, type_byte: u8, len: Len) -> Result<Option<Frame>, Error> {
        let len = match len {
            Len::Null if type_byte == b'*' => return Ok(Some(Frame::Null)),
            Len::Null => return Err(ErrorKind::InvalidMultibulkLength.into()),
            Len::Count(len) => len,
        };
        let limit = self.limits.max_array_len;
        let len = match usize::try_from(len) {
            Ok(fits) if fits <= limit => fits,
            _ => return Err(ErrorKind::MultibulkTooLong { len, limit }.into()),
        };
        let depth = self.state.open.len() + 1;
        let limit = self.limits.max_depth;
        if depth > limit {
            return Err(ErrorKind::TooDeep { depth, limit }.into());
        }
        let open = Open::new(type_byte, len).ok_or(ErrorKind::InvalidMultibulkLength)?;
        if len == 0 {
            return Ok(open.finish());
        }
        self.state.open.push(open);
        Ok(None)
    }

    /// Takes a bulk payload of `len` bytes and its CRLF off `src`, once all
    /// arrived.
    fn take_payload(
        &mut self,
        src: &mut BytesMut,
        kind: PayloadKind,
        len: usize,
    ) -> Result<Option<Frame>, Error> {
        // Fail as soon as the byte after the payload is there and is no CR, so
        // a short payload errors at once rather than when two more bytes come.
        match (src.get(len), src.get(len + 1)) {
            (Some(b'\r'), Some(b'\n')) => {}
            (Some(b'\r'), None) => return Ok(None),
            (Some(_), _) => return Err(ErrorKind::MissingBulkCrlf.into()),
            (None, _) => {
                let missing = len + 2 - src.len();
                src.reserve(missing.min(PAYLOAD_RESERVE_CHUNK));
                return Ok(None);
            }
        }
        // `src.get(len + 1)` is there, so both calls stay within `src`.
        let payload = src.split_to(len).freeze();
        src.advance(2);
        self.state.pending = Pending::Line;
        Ok(Some(match kind {
            PayloadKind::Bulk => Frame::Bulk(payload),
            PayloadKind::BulkError => Frame::BulkError(payload),
            // `=15\r\ntxt:Some string\r\n`: a three-byte format, `:`, the text.
            PayloadKind::Verbatim => match *payload {
                [a, b, c, b':', ..] => Frame::Verbatim {
                    format: [a, b, c],
                    text: payload.slice(4..),
                },
                _ => return Err(ErrorKind::InvalidVerbatim.into()),
            },
        }))
    }

    /// Takes an inline command line off `src`, returning its arguments, or
    /// `None` if its LF has not arrived.
    ///
    /// Like redis-server's `processInlineBuffer`, the line ends at LF with an
    /// optional CR before it. Unlike it, the limit applies to the line itself,
    /// not to whatever else is buffered, so it holds for whole and byte-by-byte
    /// input alike.
    fn take_inline(&mut self, src: &mut BytesMut) -> Result<Option<Vec<Frame>>, Error> {
        let max = self.limits.max_inline_len;
        let from = self.state.scanned;
        let found = src
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'));
        let Some(lf) = found.map(|at| from + at) else {
            self.state.scanned = src.len();
            let content = src.len() - usize::from(src.last() == Some(&b'\r'));
            if content > max {
                return Err(ErrorKind::TooBigInlineRequest.into());
            }
            return Ok(None);
        };
        let mut line = src.split_to(lf).freeze();
        src.advance(1);
        self.state.scanned = 0;
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if line.len() > max {
            return Err(ErrorKind::TooBigInlineRequest.into());
        }
        split_args(&line).map(Some)
    }

    /// Consumes the line `src[..end + 2]`.
    fn consume_line(&mut self, src: &mut BytesMut, end: usize) {
        src.advance(end + 2);
        self.state.scanned = 0;
    }
}

/// Splits the content of the line ending at `end` off `src`, leaving its CRLF.
fn take_content(src: &mut BytesMut, end: usize) -> bytes::Bytes {
    src.advance(1);
    src.split_to(end - 1).freeze()
}

/// The RESP2 and RESP3 type bytes.
fn is_type(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b':'
            | b'$'
            | b'*'
            | b'_'
            | b'#'
            | b','
            | b'('
            | b'!'
            | b'='
            | b'%'
            | b'~'
            | b'>'
            | b'|'
    )
}

/// A bulk or aggregate length: `-1`, or decimal digits without sign or leading
/// zero, as redis-server's `string2ll` requires of them.
fn parse_len(digits: &[u8]) -> Option<Len> {
    match digits {
        b"-1" => Some(Len::Null),
        b"0" => Some(Len::Count(0)),
        [b'1'..=b'9', ..] => parse_digits(digits).map(Len::Count),
        _ => None,
    }
}

/// A RESP integer: `[<+|->]<value>`, within `i64`.
fn parse_integer(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    let magnitude = parse_digits(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// One or more decimal digits, within `u64`.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &b| {
        let digit = char::from(b).to_digit(10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A RESP3 double: `[<+|->]<integral>[.<fractional>][<E|e>[sign]<exponent>]`,
/// or `inf`, `-inf`, `nan`. Rust's float syntax is a superset (it also takes
/// `infinity` and any case), which this accepts too.
fn parse_double(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A RESP3 big number: an optional sign, then one or more decimal digits.
fn is_big_number(text: &[u8]) -> bool {
    let digits = match text {
        [b'-' | b'+', rest @ ..] => rest,
        _ => text,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}
