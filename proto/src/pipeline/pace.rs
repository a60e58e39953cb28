//! Pausing reads for the codec's sake: [`Pace`].
//!
//! The dispatcher stops reading when too many requests are in flight or too
//! many response bytes wait, which it can see for itself. A codec that hands
//! a request to its handler before the request is whole (an HTTP body that
//! streams in) knows of one more reason: the handler has not taken the part
//! already decoded. Reading on would buffer that part without bound, so the
//! codec may hold reading back, and learns when reading stops for good, so a
//! handler waiting for the rest of a request is not left waiting forever.

use std::task::Context;

/// A codec's say in when a [`Server`](super::Server) reads; see
/// [`Server::serve_paced`](super::Server::serve_paced).
pub trait Pace<C> {
    /// True while reading must wait; `cx` is then woken when it may go on.
    /// Asked before each read, and when a read answers `Pending` (the codec
    /// may hold reads back, [`Decoder::holds_reads`](crate::Decoder::holds_reads)).
    fn hold(&mut self, codec: &mut C, cx: &mut Context<'_>) -> bool;

    /// Reading stopped for good (end of stream, an error, shutdown, the
    /// protocol's end): what `codec` has handed out incomplete will not be
    /// completed. Called at least once after that, maybe more.
    fn stopped(&mut self, codec: &mut C);
}

/// The pace of a codec whose requests are whole when decoded: reading never
/// waits on it.
pub(crate) struct Unpaced;

impl<C> Pace<C> for Unpaced {
    #[inline]
    fn hold(&mut self, _: &mut C, _: &mut Context<'_>) -> bool {
        false
    }

    #[inline]
    fn stopped(&mut self, _: &mut C) {}
}
