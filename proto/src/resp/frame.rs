//! [`Frame`]: one RESP2 or RESP3 value, as decoded from or encoded to the wire.
//!
//! The variants follow the type table of the Redis protocol spec,
//! <https://redis.io/docs/latest/develop/reference/protocol-spec/#resp-protocol-description>.

use bytes::Bytes;

/// One RESP value: a command, a reply, or an element of either.
///
/// Byte strings are [`Bytes`] split off the read buffer, so decoding them copies
/// nothing. RESP3 attributes (`|`) are parsed and dropped by the decoder: they are
/// out-of-band hints a client may ignore, per the spec, and have no variant here.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Simple string, `+OK\r\n`. Must not contain CR or LF.
    Simple(Bytes),
    /// Simple error, `-ERR message\r\n`, held without the `-`. Must not contain CR
    /// or LF.
    Error(Bytes),
    /// Integer, `:1000\r\n`.
    Integer(i64),
    /// Bulk string, `$3\r\nfoo\r\n`; binary safe.
    Bulk(Bytes),
    /// Null. Decoded from RESP2's null bulk string `$-1\r\n` and null array
    /// `*-1\r\n`, and from RESP3's `_\r\n`; encoded as `$-1\r\n`, which RESP2 and
    /// RESP3 clients both read as null.
    Null,
    /// Array, `*2\r\n...`.
    Array(Vec<Frame>),
    /// RESP3 double, `,1.5\r\n`; also `inf`, `-inf` and `nan`.
    Double(f64),
    /// RESP3 boolean, `#t\r\n` or `#f\r\n`.
    Boolean(bool),
    /// RESP3 big number, `(3492890328409238509324850943850943825024385\r\n`: an
    /// optional sign and decimal digits, kept as text.
    BigNumber(Bytes),
    /// RESP3 bulk error, `!21\r\nSYNTAX invalid syntax\r\n`; binary safe.
    BulkError(Bytes),
    /// RESP3 verbatim string, `=15\r\ntxt:Some string\r\n`.
    Verbatim {
        /// The three-byte format, such as `txt` or `mkd`.
        format: [u8; 3],
        /// The text after the `:`.
        text: Bytes,
    },
    /// RESP3 map, `%2\r\n` then key, value, key, value.
    Map(Vec<(Frame, Frame)>),
    /// RESP3 set, `~2\r\n...`.
    Set(Vec<Frame>),
    /// RESP3 push, `>2\r\n...`: out-of-band data such as pub/sub messages.
    Push(Vec<Frame>),
}

/// Builds a command the way clients send one: an array of bulk strings.
///
/// ```
/// use ringo_proto::resp::{command, Frame};
///
/// let set = command(["SET", "key", "value"]);
/// assert_eq!(set, Frame::Array(vec![
///     Frame::Bulk("SET".into()),
///     Frame::Bulk("key".into()),
///     Frame::Bulk("value".into()),
/// ]));
/// ```
pub fn command<I, A>(args: I) -> Frame
where
    I: IntoIterator<Item = A>,
    A: Into<Bytes>,
{
    Frame::Array(
        args.into_iter()
            .map(|arg| Frame::Bulk(arg.into()))
            .collect(),
    )
}
