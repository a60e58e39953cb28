//! The limits a RESP decoder enforces, so a peer can never make it buffer or
//! nest without bound (ARCHITECTURE.md, principle 6).
//!
//! The defaults follow redis-server where it has a limit, and are chosen and
//! explained here where it has none.

// The defaults, documented (with why) on the `Limits` fields they fill.
const DEFAULT_MAX_BULK_LEN: usize = 512 * 1024 * 1024;
const DEFAULT_MAX_INLINE_LEN: usize = 64 * 1024;
const DEFAULT_MAX_ARRAY_LEN: usize = 1024 * 1024;
const DEFAULT_MAX_DEPTH: usize = 64;

/// The limits of a [`RespCodec`](super::RespCodec)'s decoder.
///
/// Each limit is inclusive: a value of exactly the limit is accepted, one more is
/// a protocol error. Build with struct update syntax:
///
/// ```
/// use ringo_proto::resp::Limits;
///
/// let limits = Limits { max_bulk_len: 1024 * 1024, ..Limits::default() };
/// assert_eq!(limits.max_depth, 64); // the default
/// ```
///
/// The limits bound each piece of a frame, not a whole frame: a frame that is
/// entirely within them can still be large (a million-element array of big
/// bulk strings). Bound whole requests with the transport's buffer limit and,
/// for servers, per-command checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string, bulk error or verbatim string payload, in bytes.
    /// Default 512 MiB, redis-server's default `proto-max-bulk-len`.
    ///
    /// A payload announced longer is refused with
    /// `Protocol error: invalid bulk length` before any of it is buffered.
    pub max_bulk_len: usize,
    /// Longest line (inline command or RESP header line), in bytes without the
    /// line end. Default 64 KiB, redis-server's `PROTO_INLINE_MAX_SIZE`.
    ///
    /// It bounds every line: an inline command, and the line of a RESP simple
    /// string, error, number or length header. A longer line is refused as
    /// soon as that many bytes arrived without a line end, e.g. with
    /// `Protocol error: too big inline request`.
    pub max_inline_len: usize,
    /// Most elements in one array, set or push, or entries (key-value pairs)
    /// in one map or attribute. Default 1,048,576 (2^20).
    ///
    /// redis-server accepts up to `INT_MAX` arguments per command, which lets
    /// one 12-byte header promise two billion elements. No real command or
    /// reply comes near a million elements (a million-key `MGET` already is
    /// one), so this is the safe default. A longer aggregate is refused with
    /// `Protocol error: invalid multibulk length`.
    pub max_array_len: usize,
    /// Most aggregates open at once; a top-level array is depth 1. Default 64.
    ///
    /// redis-server only ever reads flat commands and its deepest replies
    /// (e.g. `XREADGROUP`, `COMMAND DOCS`) nest fewer than ten levels; hiredis
    /// once capped nesting at 9. 64 leaves room for any real reply while
    /// keeping the recursive drop and encoding of a decoded
    /// [`Frame`](super::Frame) far from the stack's end. A deeper frame is
    /// refused with `Protocol error: nesting depth 65 over limit 64`.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_inline_len: DEFAULT_MAX_INLINE_LEN,
            max_array_len: DEFAULT_MAX_ARRAY_LEN,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
