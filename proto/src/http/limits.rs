//! Limits on what a peer may make the HTTP/1.1 codecs buffer or accept.
//!
//! Every limit has a finite default so that no input can make a decoder hold
//! memory without bound (ARCHITECTURE.md, principle 6). Each one maps to the status code a
//! server answers with when a request breaks it; see [`Error::status`].
//!
//! [`Error::status`]: super::Error::status

// The defaults, documented (with why) on the `Limits` fields they fill.
pub(super) const DEFAULT_MAX_URI_LEN: usize = 8 * 1024;
pub(super) const DEFAULT_MAX_HEADERS: usize = 100;
pub(super) const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
pub(super) const DEFAULT_MAX_BODY: u64 = 8 * 1024 * 1024;
pub(super) const DEFAULT_MAX_CHUNK_LINE: usize = 1024;

/// The limits one codec enforces. [`Limits::default`] gives each field the
/// default its doc names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request target accepted, in bytes; longer is `414 URI Too
    /// Long`. Default 8 KiB.
    ///
    /// RFC 9112 §3 recommends supporting request lines of at least 8000
    /// octets. With the default, a longer target is rejected as soon as its
    /// byte number 8193 arrives, before the rest of the head is read.
    pub max_uri_len: usize,
    /// Most header fields in one head or trailer section; more is `431 Request
    /// Header Fields Too Large`. Default 100, the same number hyper and
    /// nginx-sized deployments use: header field number 101 is rejected.
    pub max_headers: usize,
    /// Largest head (start line, header lines and the ending empty line) or
    /// trailer section, in bytes; larger is `431 Request Header Fields Too
    /// Large`. Default 64 KiB.
    ///
    /// With the default, a head whose byte number 65537 arrives without the
    /// head having ended is rejected; it is never buffered further.
    pub max_head_bytes: usize,
    /// Largest message content, in bytes after chunked decoding; larger is
    /// `413 Content Too Large`. Default 8 MiB, as tokio-util's length-delimited
    /// codec.
    ///
    /// A `Content-Length` above it, or a chunk that would take the total above
    /// it, is rejected before any of those bytes are read. Bodies are streamed,
    /// never buffered whole, so a server that accepts uploads can raise it.
    pub max_body: u64,
    /// Longest chunk-size line (hex size plus chunk extensions, not counting
    /// the CRLF), in bytes; longer is `400 Bad Request`. Default 1 KiB.
    ///
    /// Chunk extensions are skipped, never kept; the limit stops a peer
    /// streaming an endless extension.
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
