//! The HTTP/1.1 codec error: one kind per protocol rule or limit broken.
//!
//! A server turns a decode error into its reply with [`Error::status`] (and
//! [`ServerCodec::error_response`](super::ServerCodec::error_response)); every
//! decode error means the connection closes after that reply, since the byte
//! stream can no longer be trusted to be in sync.

use std::{fmt, io};

use ::http::StatusCode;

/// What rule a message broke. Marked non-exhaustive: new rules may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request target is longer than `Limits::max_uri_len` (414).
    UriTooLong {
        /// Bytes of target seen when the limit was crossed.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The head (or trailer section) is larger than `Limits::max_head_bytes` (431).
    HeadTooLarge {
        /// Bytes of head seen when the limit was crossed.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// More header (or trailer) fields than `Limits::max_headers` (431).
    TooManyHeaders {
        /// Fields seen when the limit was crossed.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The content is larger than `Limits::max_body` (413).
    BodyTooLarge {
        /// Content length declared or reached.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// A chunk-size line is longer than `Limits::max_chunk_line` (400).
    ChunkLineTooLong {
        /// Bytes of line seen when the limit was crossed.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A line ended in a bare CR or a bare LF instead of CRLF (400).
    LineEnding,
    /// A header line starts with whitespace: obsolete line folding (400).
    ObsFold,
    /// The method is not a token (400).
    InvalidMethod,
    /// The request target is not a valid URI (400).
    InvalidTarget,
    /// The status line of a response is malformed (client side).
    InvalidStatus,
    /// The version is not `HTTP/1.0` or `HTTP/1.1` (505).
    UnsupportedVersion,
    /// A header name is not a token, or whitespace precedes its colon (400).
    InvalidHeaderName,
    /// A header value holds a forbidden byte such as NUL or a bare CR (400).
    InvalidHeaderValue,
    /// An HTTP/1.1 request has no `Host` header (400).
    MissingHost,
    /// A request has more than one `Host` header (400).
    MultipleHosts,
    /// A `Content-Length` value is not a plain decimal number that fits in u64 (400).
    InvalidContentLength,
    /// `Content-Length` values differ from each other (400).
    ConflictingContentLength,
    /// The final transfer coding of a request is not `chunked` (400).
    NotChunkedLast,
    /// `chunked` appears more than once in `Transfer-Encoding` (400).
    ChunkedTwice,
    /// A transfer coding other than `chunked` is applied (501).
    UnsupportedTransferCoding,
    /// An HTTP/1.0 request carries `Transfer-Encoding` (400).
    TransferEncodingInHttp10,
    /// A chunk size is not hex digits followed by optional extensions (400).
    InvalidChunkSize,
    /// A chunk size does not fit in 64 bits (400).
    ChunkSizeOverflow,
    /// Chunk data is not followed by CRLF (400).
    ChunkNotTerminated,
    /// More requests decoded but unanswered than `MAX_UNANSWERED` (503).
    TooManyUnanswered {
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a message (400).
    IncompleteMessage,
    /// A response arrived with no request outstanding (client side).
    UnexpectedResponse,
    /// A response body written does not match its declared length (encoder).
    BodyLengthMismatch {
        /// The length the head declared.
        declared: u64,
        /// The bytes written, or at least how many when over.
        written: u64,
    },
    /// Message parts were encoded out of order: data or an end with no head
    /// before it, or a head before the previous message's end (encoder).
    OutOfOrder,
    /// An I/O error of the transport; [`std::error::Error::source`] holds it.
    Io,
}

/// An HTTP/1.1 codec error. See [`ErrorKind`] for the rules.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<io::Error>,
    /// The request it broke already reached its handler (its body was
    /// streaming), so the handler's response is that request's answer and no
    /// error response may follow it.
    answered: bool,
}

impl Error {
    /// Makes an error of this kind.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            source: None,
            answered: false,
        }
    }

    /// Marks the error as breaking a request whose handler already runs.
    pub(crate) fn answered(mut self) -> Self {
        self.answered = true;
        self
    }

    /// See [`answered`](Self::answered).
    pub(crate) fn is_answered(&self) -> bool {
        self.answered
    }

    /// The rule that was broken.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status a server answers with before it closes the connection.
    ///
    /// Kinds that only a client or an encoder meets, and I/O errors, map to
    /// `400` and `500` respectively; no reply reaches anyone in those cases.
    pub fn status(&self) -> StatusCode {
        use ErrorKind as K;
        match self.kind {
            K::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            K::HeadTooLarge { .. } | K::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            K::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            K::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            K::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            K::TooManyUnanswered { .. } => StatusCode::SERVICE_UNAVAILABLE,
            K::BodyLengthMismatch { .. } | K::OutOfOrder | K::Io => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// True when a limit of [`Limits`](super::Limits) was crossed (413, 414, 431,
    /// or an over-long chunk-size line).
    pub fn is_limit(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::UriTooLong { .. }
                | ErrorKind::HeadTooLarge { .. }
                | ErrorKind::TooManyHeaders { .. }
                | ErrorKind::BodyTooLarge { .. }
                | ErrorKind::ChunkLineTooLong { .. }
                | ErrorKind::TooManyUnanswered { .. }
        )
    }

    /// True when the stream ended inside a message.
    pub fn is_incomplete(&self) -> bool {
        self.kind == ErrorKind::IncompleteMessage
    }

    /// True when the error came from the transport, not from the bytes.
    pub fn is_io(&self) -> bool {
        self.kind == ErrorKind::Io
    }

    /// True when the encoder was handed a message it cannot frame.
    pub fn is_encode(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::BodyLengthMismatch { .. } | ErrorKind::OutOfOrder
        )
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
            source: Some(e),
            answered: false,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind as K;
        match *self {
            K::UriTooLong { len, limit } => write!(f, "uri length {len} over limit {limit}"),
            K::HeadTooLarge { len, limit } => write!(f, "head length {len} over limit {limit}"),
            K::TooManyHeaders { count, limit } => {
                write!(f, "header count {count} over limit {limit}")
            }
            K::BodyTooLarge { len, limit } => write!(f, "body length {len} over limit {limit}"),
            K::ChunkLineTooLong { len, limit } => {
                write!(f, "chunk-size line length {len} over limit {limit}")
            }
            K::LineEnding => f.write_str("line not ended by crlf"),
            K::ObsFold => f.write_str("obsolete line folding in header"),
            K::InvalidMethod => f.write_str("invalid method token"),
            K::InvalidTarget => f.write_str("invalid request target"),
            K::InvalidStatus => f.write_str("invalid status line"),
            K::UnsupportedVersion => f.write_str("http version not 1.0 or 1.1"),
            K::InvalidHeaderName => f.write_str("invalid header name"),
            K::InvalidHeaderValue => f.write_str("invalid header value"),
            K::MissingHost => f.write_str("http/1.1 request without host header"),
            K::MultipleHosts => f.write_str("more than one host header"),
            K::InvalidContentLength => f.write_str("content-length not a decimal u64"),
            K::ConflictingContentLength => f.write_str("content-length values differ"),
            K::NotChunkedLast => f.write_str("transfer-encoding does not end in chunked"),
            K::ChunkedTwice => f.write_str("transfer-encoding chunked applied twice"),
            K::UnsupportedTransferCoding => f.write_str("transfer coding other than chunked"),
            K::TransferEncodingInHttp10 => f.write_str("transfer-encoding in http/1.0 request"),
            K::InvalidChunkSize => f.write_str("invalid chunk size"),
            K::ChunkSizeOverflow => f.write_str("chunk size over 16 hex digits"),
            K::ChunkNotTerminated => f.write_str("chunk data not followed by crlf"),
            K::TooManyUnanswered { limit } => {
                write!(f, "unanswered request count over limit {limit}")
            }
            K::IncompleteMessage => f.write_str("stream closed inside a message"),
            K::UnexpectedResponse => f.write_str("response with no request outstanding"),
            K::BodyLengthMismatch { declared, written } => {
                write!(f, "body length {written} differs from declared {declared}")
            }
            K::OutOfOrder => f.write_str("message part out of order"),
            K::Io => f.write_str("transport i/o error"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
