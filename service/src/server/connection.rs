//! A protocol server's connection future: the protocol served on the plain
//! stream, or on a TLS stream after the handshake, then its outcome handed
//! to the protocol to log.
//!
//! Not an `async` block, as this future is what every idle keep-alive
//! connection holds: a block that awaits a future it captured stores it
//! twice, once captured and once awaited (rust-lang/rust#62958). And the TLS
//! branch is boxed, handshake and all, so that plain connections carry no
//! room for a TLS connection's larger state.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Poll};

/// A connection being served: on the plain stream, or over TLS (`None` if
/// its handshake failed; the TLS branch logs why).
pub(crate) enum Served<P, T> {
    Plain(P),
    Tls(Pin<Box<T>>),
}

impl<P, T, O> Served<P, T>
where
    P: Future<Output = O> + Unpin,
    T: Future<Output = Option<O>>,
{
    /// The connection's future: this one, then `finish` with its outcome.
    pub(crate) fn then(self, finish: impl FnOnce(Option<O>)) -> impl Future<Output = ()> {
        let mut served = self;
        let mut finish = Some(finish);
        poll_fn(move |cx| {
            let outcome = match &mut served {
                Served::Plain(plain) => Some(ready!(Pin::new(plain).poll(cx))),
                Served::Tls(tls) => ready!(tls.as_mut().poll(cx)),
            };
            if let Some(finish) = finish.take() {
                finish(outcome);
            }
            Poll::Ready(())
        })
    }
}
