//! A protocol's hooks into the multiplexed dispatcher: [`Protocol`].
//!
//! The multiplexed dispatcher writes each response whole under its request's
//! tag, so a protocol has fewer decisions to add than a pipelined one: what to
//! answer a frame that fails to decode, and when the server shuts down. Both
//! have defaults, so a plain protocol passes `()` to
//! [`Server::serve`](super::Server::serve).

use std::task::{Context, Poll};

use crate::codec::Decoder;

/// What a multiplexed protocol over codec `C`, whose tagged responses are
/// `W`, adds to its dispatcher; `()` adds nothing.
pub trait Protocol<C: Decoder, W> {
    /// The tagged response to write for a decode error before closing (after
    /// the responses already complete). The failed frame's tag is unknown, so
    /// the protocol picks the tag its clients expect such replies under.
    /// `None`, the default, just closes.
    fn error_reply(&mut self, error: &C::Error) -> Option<W> {
        let _ = error;
        None
    }

    /// `Ready` once the server shuts down: the connection then stops reading,
    /// finishes the requests in flight, writes their responses and ends with
    /// `Ok`. Polled once per turn while reading, with the connection's waker.
    /// The default never shuts down.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = cx;
        Poll::Pending
    }
}

/// The plain protocol: a decode error just closes, no shutdown.
impl<C: Decoder, W> Protocol<C, W> for () {}
