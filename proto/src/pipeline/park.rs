//! Parking idle connections: a keep-alive connection that has been quiet a
//! while keeps only its transport, handler and protocol, and gets the rest of
//! its state back when the peer sends again.
//!
//! Why: a server's memory goes to its idle connections, and a connection's
//! state (its framed transport and codec, the in-flight ring, the ending and
//! the timers: some 1.5 KB for HTTP) is needed only while requests come. On
//! the pooled read path the transport alone can wait for the next bytes — its
//! receive lives in the transport, and holds no buffer while nothing arrives
//! — so a parked connection is a transport, a handler, a protocol and the
//! idle timeout's sleep, a few hundred bytes; the rest is boxed, dropped when
//! the connection parks and built again (codec included, by the server's
//! codec maker) when bytes come. A connection parks only after the quiet
//! spell that would release its memory anyway (`idle.rs`), so a busy one
//! never pays for the rebuild.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ringo_reactor::buf::PooledBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::time::Sleep;

use super::connection::{Connection, Served, Settings, Turn};
use super::protocol::Protocol;
use super::server::ServerError;
use crate::codec::{Decoder, Encoder};
use crate::framed::Framed;

/// A pipelined connection served to its end, parking while it idles if it
/// has a codec maker (and a transport with a pooled receive).
pub(super) struct Serving<T, C, H, F, Resp, E, P, M>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder,
    F: Future,
    P: Protocol<C, Resp, E>,
{
    settings: Settings,
    /// Makes the codec of a connection woken from parking; `None`: the
    /// connection never parks (its framed transport came from the caller).
    new_codec: Option<M>,
    state: State<T, C, H, F, Resp, E, P>,
}

enum State<T, C, H, F, Resp, E, P>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder,
    F: Future,
    P: Protocol<C, Resp, E>,
{
    /// Boxed, so that a parked connection does not carry its room.
    Active(Box<Connection<T, C, H, F, Resp, E, P>>),
    Parked(Parked<T, H, P>),
    /// Moving between the two, or ended.
    Gone,
}

/// What an idle connection keeps.
struct Parked<T, H, P> {
    io: T,
    handler: H,
    protocol: P,
    /// Ends the connection at its idle deadline, if it has one.
    expiry: Option<Sleep>,
}

/// Why a parked connection wakes.
enum Woken<R> {
    /// Bytes came: serve them.
    Received(PooledBuf),
    /// The peer closed, the receive failed, the server shut down or the idle
    /// timeout passed: the connection is over.
    Ended(R),
}

impl<T, C, H, F, Resp, E, P, M> Serving<T, C, H, F, Resp, E, P, M>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder
        + Encoder<P::Whole, Error = <C as Decoder>::Error>
        + Encoder<P::Part, Error = <C as Decoder>::Error>,
    H: FnMut(C::Item) -> F,
    F: Future<Output = Result<Resp, E>>,
    P: Protocol<C, Resp, E>,
    M: FnMut() -> C,
{
    pub(super) fn new(
        settings: Settings,
        framed: Framed<T, C>,
        new_codec: Option<M>,
        handler: H,
        protocol: P,
    ) -> Self {
        let connection = Connection::new(&settings, framed, handler, protocol);
        Serving {
            settings,
            new_codec,
            state: State::Active(Box::new(connection)),
        }
    }

    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Served<C, E>> {
        loop {
            let woken = match &mut self.state {
                State::Active(connection) => {
                    let may_park = self.new_codec.is_some();
                    match ready!(connection.poll_turn(may_park, cx)) {
                        Turn::Park => {
                            self.park();
                            continue;
                        }
                        Turn::Ended(served) => Woken::Ended(served),
                    }
                }
                State::Parked(parked) => ready!(parked.poll_wake(cx)),
                State::Gone => panic!("a connection's future polled after it ended"),
            };
            match woken {
                Woken::Received(buf) => self.unpark(buf),
                Woken::Ended(served) => {
                    self.state = State::Gone;
                    return Poll::Ready(served);
                }
            }
        }
    }

    /// Keeps the transport, handler and protocol of the active connection
    /// and drops the rest.
    fn park(&mut self) {
        if let State::Active(connection) = std::mem::replace(&mut self.state, State::Gone) {
            let (framed, handler, protocol, expiry) = connection.into_parts();
            self.state = State::Parked(Parked {
                io: framed.into_io(),
                handler,
                protocol,
                expiry,
            });
        }
    }

    /// Builds the connection's state again around the parked transport,
    /// with `received` as its first bytes.
    fn unpark(&mut self, received: PooledBuf) {
        let (State::Parked(parked), Some(new_codec)) = (
            std::mem::replace(&mut self.state, State::Gone),
            self.new_codec.as_mut(),
        ) else {
            return;
        };
        let framed = Framed::pooled_received(parked.io, new_codec(), received);
        let connection = Connection::new(&self.settings, framed, parked.handler, parked.protocol);
        self.state = State::Active(Box::new(connection));
    }
}

impl<T: AsyncRead, H, P> Parked<T, H, P> {
    /// Waits for the next bytes, the peer's close, the server's shutdown or
    /// the idle deadline, whichever comes first.
    fn poll_wake<C, Resp, E>(&mut self, cx: &mut Context<'_>) -> Poll<Woken<Served<C, E>>>
    where
        C: Decoder,
        P: Protocol<C, Resp, E>,
    {
        loop {
            match self.io.poll_recv_pooled(cx) {
                Poll::Ready(Ok(Some(buf))) => return Poll::Ready(Woken::Received(buf)),
                // At a request boundary: a clean end, as when not parked.
                Poll::Ready(Ok(None)) => return Poll::Ready(Woken::Ended(Ok(()))),
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Woken::Ended(Err(ServerError::Codec(e.into()))))
                }
                Poll::Pending => break,
            }
        }
        // Nothing is in flight or due: shutting down or timing out, an idle
        // connection just closes.
        let expired = self
            .expiry
            .as_mut()
            .is_some_and(|expiry| Pin::new(expiry).poll(cx).is_ready());
        if expired || self.protocol.poll_shutdown(cx).is_ready() {
            return Poll::Ready(Woken::Ended(Ok(())));
        }
        Poll::Pending
    }
}
