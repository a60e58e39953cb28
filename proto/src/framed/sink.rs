//! `futures_sink::Sink` for [`Framed`] and [`FramedWrite`], so `SinkExt`
//! (`send`, `feed`, `send_all`) and `StreamExt::forward` work with them.
//!
//! `poll_ready` flushes only when the write buffer is past the backpressure
//! mark, `start_send` encodes, `poll_flush` writes everything buffered.
//! `poll_close` flushes too but does not shut the transport down: the traits'
//! `shutdown` is an `async fn` with nothing to keep between polls here, and a
//! transport closes when dropped (call `get_ref().shutdown()` for a half-close).
//! The inherent `send`/`feed`/`flush` methods do the same as `SinkExt`'s and
//! win method resolution, so existing code is unchanged.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_sink::Sink;
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::{Framed, FramedWrite};
use crate::codec::Encoder;

/// Implements `Sink<I>` for a framed type with a `sink_parts` method.
macro_rules! framed_sink {
    ($ty:ident, $($bound:tt)+) => {
        impl<T, C, I> Sink<I> for $ty<T, C>
        where
            T: $($bound)+,
            C: Encoder<I>,
            Self: Unpin,
        {
            type Error = C::Error;

            fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
                let (state, io, _) = Pin::into_inner(self).sink_parts();
                state.poll_ready(io, cx).map_err(Into::into)
            }

            fn start_send(self: Pin<&mut Self>, item: I) -> Result<(), C::Error> {
                let (state, _, codec) = Pin::into_inner(self).sink_parts();
                state.encode(codec, item)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
                let (state, io, _) = Pin::into_inner(self).sink_parts();
                state.poll_flush(io, cx).map_err(Into::into)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
                self.poll_flush(cx)
            }
        }
    };
}

framed_sink!(Framed, AsyncRead + AsyncWrite);
framed_sink!(FramedWrite, AsyncWrite);
