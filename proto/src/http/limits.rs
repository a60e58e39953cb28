//! Limits on what a peer may make the HTTP/1.1 codecs buffer or accept.
//!
//! Every limit has a finite default so that no input can make a decoder hold
//! memory without bound (ARCHITECTURE.md, principle 6). Each one maps to the status code a
//! server answers with when a request breaks it; see [`Error::status`].
//!
//! [`Error::status`]: super::Error::status

/// Default for [`Limits::max_uri_len`]: 8 KiB, in bytes of request target.
///
/// RFC 9112 §3 recommends supporting request lines of at least 8000 octets.
/// A longer target is rejected with `414 URI Too Long` as soon as its byte number
/// 8193 arrives, before the rest of the head is read.
pub const DEFAULT_MAX_URI_LEN: usize = 8 * 1024;

/// Default for [`Limits::max_headers`]: 100 header fields in one head.
///
/// The same number hyper and nginx-sized deployments use. The header field
/// number 101 is rejected with `431 Request Header Fields Too Large`; trailer
/// sections are held to the same count.
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Default for [`Limits::max_head_bytes`]: 64 KiB, in bytes of request (or status)
/// line plus header lines plus the empty line that ends them.
///
/// A head whose byte number 65537 arrives without the head having ended is
/// rejected with `431 Request Header Fields Too Large`; it is never buffered
/// further. Trailer sections are held to the same size.
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;

/// Default for [`Limits::max_body`]: 8 MiB, in bytes of decoded message content.
///
/// The same default as tokio-util's length-delimited codec. A `Content-Length`
/// above it, or a chunk that would take the total above it, is rejected with
/// `413 Content Too Large` before any of those bytes are read. Bodies are
/// streamed, never buffered whole, so a server that accepts uploads can raise it.
pub const DEFAULT_MAX_BODY: u64 = 8 * 1024 * 1024;

/// Default for [`Limits::max_chunk_line`]: 1 KiB, in bytes of one chunk-size line
/// (hex size plus chunk extensions, not counting the CRLF).
///
/// Chunk extensions are skipped, never kept; a longer line is rejected with
/// `400 Bad Request` so a peer cannot stream an endless extension.
pub const DEFAULT_MAX_CHUNK_LINE: usize = 1024;

/// The limits one codec enforces. [`Limits::default`] uses the `DEFAULT_MAX_*`
/// constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request target accepted, in bytes; longer is `414`.
    pub max_uri_len: usize,
    /// Most header fields in one head or trailer section; more is `431`.
    pub max_headers: usize,
    /// Largest head (start line, header lines and the ending empty line) or
    /// trailer section, in bytes; larger is `431`.
    pub max_head_bytes: usize,
    /// Largest message content, in bytes after chunked decoding; larger is `413`.
    pub max_body: u64,
    /// Longest chunk-size line including extensions, in bytes; longer is `400`.
    pub max_chunk_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uri_len: DEFAULT_MAX_URI_LEN,
            max_headers: DEFAULT_MAX_HEADERS,
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_body: DEFAULT_MAX_BODY,
            max_chunk_line: DEFAULT_MAX_CHUNK_LINE,
        }
    }
}
