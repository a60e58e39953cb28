//! [`RespCodec`]: the RESP [`Decoder`](crate::Decoder) and
//! [`Encoder`](crate::Encoder), one value for both directions of a connection.
//!
//! The decoding lives in `decode.rs` and the encoding in `encode.rs`; this file
//! holds what they share: the limits and the switch between server and client use.

use std::ops::Range;

use super::decode::DecodeState;
use super::Limits;

/// Decodes and encodes RESP2 and RESP3 [`Frame`](super::Frame)s.
///
/// [`new`](RespCodec::new) makes the server side, which reads what
/// redis-server reads: a top-level frame starting with `*` is a RESP array, and
/// anything else is an inline command line. A client decoding replies turns
/// inline commands off with [`accept_inline`](RespCodec::accept_inline), so
/// every RESP type is accepted at top level.
///
/// ```
/// use bytes::BytesMut;
/// use ringo_proto::resp::{command, Frame, RespCodec};
/// use ringo_proto::{Decoder, Encoder};
///
/// let mut server = RespCodec::new();
/// let mut input = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n"[..]);
/// assert_eq!(server.decode(&mut input).unwrap(), Some(command(["GET", "k"])));
/// assert_eq!(server.decode(&mut input).unwrap(), Some(command(["PING"])));
/// assert_eq!(server.decode(&mut input).unwrap(), None);
///
/// let mut output = BytesMut::new();
/// server.encode(Frame::Simple("PONG".into()), &mut output).unwrap();
/// assert_eq!(&output[..], b"+PONG\r\n");
/// ```
///
/// After the decoder returned an error the stream is out of sync: close the
/// connection (after sending [`Error::reply`](super::Error::reply), if serving).
#[derive(Debug)]
pub struct RespCodec {
    /// The decoder's limits.
    pub(super) limits: Limits,
    /// Whether a top-level line not starting with `*` is an inline command
    /// (true) or must be a RESP frame (false).
    pub(super) inline: bool,
    /// The frame being decoded, kept between calls so no byte is parsed twice.
    pub(super) state: DecodeState,
    /// Where the arguments of a whole command are (see `command.rs`): kept
    /// between commands so finding them allocates nothing.
    pub(super) args: Vec<Range<usize>>,
}

impl RespCodec {
    /// A server-side codec with the default [`Limits`], accepting inline commands.
    pub fn new() -> Self {
        RespCodec::with_limits(Limits::default())
    }

    /// A server-side codec with the given limits, accepting inline commands.
    pub fn with_limits(limits: Limits) -> Self {
        RespCodec {
            limits,
            inline: true,
            state: DecodeState::default(),
            args: Vec::new(),
        }
    }

    /// Sets whether top-level lines not starting with `*` are inline commands.
    /// Turn this off to decode replies, which may start with any RESP type byte.
    pub fn accept_inline(mut self, accept: bool) -> Self {
        self.inline = accept;
        self
    }

    /// The decoder's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A codec with these settings and nothing decoded: what a parked
    /// connection starts again with (`pipeline::Server::serve_parking`).
    pub(crate) fn fresh(&self) -> RespCodec {
        RespCodec::with_limits(self.limits).accept_inline(self.inline)
    }
}

impl Default for RespCodec {
    fn default() -> Self {
        RespCodec::new()
    }
}
