//! [`Error`]: why RESP decoding or encoding failed, and the reply a server sends
//! before it closes the connection.
//!
//! Protocol errors print the text redis-server itself sends (its
//! `networking.c`), so clients and tools that match on it keep working; where
//! redis-server has no such check the text follows the same `Protocol error: `
//! form. Tell errors apart with [`Error::kind`], never by their text.

use std::{error, fmt, io};

use bytes::Bytes;

use super::Frame;

/// The rule a peer's bytes (or a frame to encode) broke.
///
/// Limit variants carry the offending value and the limit so logs can show them;
/// their `Display` is still redis-server's terse text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An aggregate length (`*`, `%`, `~`, `>`, `|`) is not a decimal number, has
    /// a sign or leading zero, or is negative other than `*-1`.
    InvalidMultibulkLength,
    /// An aggregate length is over [`Limits::max_array_len`](super::Limits).
    MultibulkTooLong {
        /// The announced number of elements (entries for maps and attributes).
        len: u64,
        /// The limit it broke.
        limit: usize,
    },
    /// A bulk length (`$`, `!`, `=`) is not a decimal number, has a sign or
    /// leading zero, or is negative other than `$-1`.
    InvalidBulkLength,
    /// A bulk length is over [`Limits::max_bulk_len`](super::Limits).
    BulkTooLong {
        /// The announced length, in bytes.
        len: u64,
        /// The limit it broke.
        limit: usize,
    },
    /// An aggregate length line is longer than
    /// [`Limits::max_inline_len`](super::Limits).
    TooBigMultibulkCount,
    /// A bulk length line is longer than [`Limits::max_inline_len`](super::Limits).
    TooBigBulkCount,
    /// A simple string, error or number line is longer than
    /// [`Limits::max_inline_len`](super::Limits).
    TooBigLine,
    /// An inline command is longer than [`Limits::max_inline_len`](super::Limits).
    TooBigInlineRequest,
    /// An inline command has an unclosed quote, or a closing quote followed by
    /// something other than a space.
    UnbalancedQuotes,
    /// A RESP line ends in a lone CR or a lone LF instead of CRLF.
    InvalidLineEnding,
    /// The bytes after a bulk payload are not CRLF.
    MissingBulkCrlf,
    /// An integer (`:`) is not an optionally signed decimal number within `i64`.
    InvalidInteger,
    /// A double (`,`) is not a decimal number, `inf`, `-inf` or `nan`.
    InvalidDouble,
    /// A boolean (`#`) is neither `t` nor `f`.
    InvalidBoolean,
    /// A big number (`(`) is not an optionally signed run of decimal digits.
    InvalidBigNumber,
    /// A null (`_`) carries data.
    InvalidNull,
    /// A verbatim string (`=`) is shorter than four bytes or lacks the `:` after
    /// its three-byte format.
    InvalidVerbatim,
    /// A frame starts with a byte that is no RESP type.
    UnknownType(u8),
    /// Aggregates nest deeper than [`Limits::max_depth`](super::Limits).
    TooDeep {
        /// The depth the frame reached.
        depth: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A simple string or error to encode contains CR or LF, which would end its
    /// line early and desynchronise the peer.
    LineContainsNewline,
    /// The transport failed; [`Error::source`](std::error::Error::source) holds
    /// the [`io::Error`].
    Io,
}

/// A RESP decoding or encoding error.
///
/// Every error but [`ErrorKind::Io`] means the peer broke the protocol (or the
/// caller tried to encode an invalid frame): the stream cannot be resynchronised.
/// A server answers with [`reply`](Error::reply), then closes, as redis-server does.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    io: Option<io::Error>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error { kind, io: None }
    }

    /// The rule that was broken.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the peer broke the protocol, as opposed to the transport failing.
    pub fn is_protocol(&self) -> bool {
        self.kind != ErrorKind::Io
    }

    /// The error reply a server sends before closing: `-ERR <message>`.
    ///
    /// ```
    /// use ringo_proto::resp::{Frame, RespCodec};
    /// use ringo_proto::{Decoder, Encoder};
    ///
    /// let mut codec = RespCodec::new();
    /// let mut input = bytes::BytesMut::from(&b"*1\r\n$x\r\n"[..]);
    /// let err = codec.decode(&mut input).unwrap_err();
    /// let mut out = bytes::BytesMut::new();
    /// codec.encode(err.reply(), &mut out).unwrap();
    /// assert_eq!(&out[..], b"-ERR Protocol error: invalid bulk length\r\n");
    /// ```
    pub fn reply(&self) -> Frame {
        // The message goes on one RESP line, so CR and LF (only possible in an
        // I/O error's text, which `Display` leaves out anyway) must not reach it.
        let text = format!("ERR {self}").replace(['\r', '\n'], " ");
        Frame::Error(Bytes::from(text))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::InvalidMultibulkLength | ErrorKind::MultibulkTooLong { .. } => {
                f.write_str("Protocol error: invalid multibulk length")
            }
            ErrorKind::InvalidBulkLength | ErrorKind::BulkTooLong { .. } => {
                f.write_str("Protocol error: invalid bulk length")
            }
            ErrorKind::TooBigMultibulkCount => {
                f.write_str("Protocol error: too big mbulk count string")
            }
            ErrorKind::TooBigBulkCount => f.write_str("Protocol error: too big bulk count string"),
            ErrorKind::TooBigLine => f.write_str("Protocol error: too big line"),
            ErrorKind::TooBigInlineRequest => f.write_str("Protocol error: too big inline request"),
            ErrorKind::UnbalancedQuotes => {
                f.write_str("Protocol error: unbalanced quotes in request")
            }
            ErrorKind::InvalidLineEnding => f.write_str("Protocol error: line not ended by CRLF"),
            ErrorKind::MissingBulkCrlf => {
                f.write_str("Protocol error: bulk data not followed by CRLF")
            }
            ErrorKind::InvalidInteger => f.write_str("Protocol error: invalid integer"),
            ErrorKind::InvalidDouble => f.write_str("Protocol error: invalid double"),
            ErrorKind::InvalidBoolean => f.write_str("Protocol error: invalid boolean"),
            ErrorKind::InvalidBigNumber => f.write_str("Protocol error: invalid big number"),
            ErrorKind::InvalidNull => f.write_str("Protocol error: invalid null"),
            ErrorKind::InvalidVerbatim => f.write_str("Protocol error: invalid verbatim string"),
            ErrorKind::UnknownType(byte) => write!(
                f,
                "Protocol error: unknown type byte '{}'",
                byte.escape_ascii()
            ),
            ErrorKind::TooDeep { depth, limit } => write!(
                f,
                "Protocol error: nesting depth {depth} over limit {limit}"
            ),
            ErrorKind::LineContainsNewline => {
                f.write_str("simple string or error to encode contains CR or LF")
            }
            ErrorKind::Io => f.write_str("i/o error on the connection"),
        }
    }
}

impl error::Error for Error {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        self.io.as_ref().map(|e| e as &(dyn error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error {
            kind: ErrorKind::Io,
            io: Some(e),
        }
    }
}
