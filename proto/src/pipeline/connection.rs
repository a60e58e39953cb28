//! One pipelined connection's state and its turn: read requests, call the
//! handler, write the responses in order, end or time out.
//!
//! A struct rather than the state of one closure so that the turn can hand
//! the state back when the connection goes idle: [`Turn::Park`] lets the
//! caller keep the transport, handler and protocol alone and drop the rest
//! (`park.rs`), which is what makes an idle keep-alive connection small.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::time::Sleep;

use super::idle::{Idle, IdleTimer};
use super::ordered::Ordered;
use super::protocol::Protocol;
use super::server::ServerError;
use super::tail::{poll_tail, Reply};
use crate::codec::{Decoder, Encoder};
use crate::dispatch::server::Ending;
use crate::framed::Framed;

/// What a connection's turn ended with, when it did not return `Pending`.
pub(super) enum Turn<R> {
    /// The connection is over, with this result.
    Ended(R),
    /// Quiet long enough to release its memory, and holding nothing but the
    /// transport that cannot be made again: the caller may park it.
    Park,
}

/// The result of a pipelined connection.
pub(super) type Served<C, E> = Result<(), ServerError<<C as Decoder>::Error, E>>;

/// A pipelined connection's whole state.
pub(super) struct Connection<T, C, H, F, Resp, E, P>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder,
    F: Future,
    P: Protocol<C, Resp, E>,
{
    framed: Framed<T, C>,
    handler: H,
    protocol: P,
    in_flight: Ordered<F>,
    /// The tail of the response being written, if it streams: boxed, as
    /// few responses stream and the room would be held by every connection.
    streaming: Option<Pin<Box<P::Tail>>>,
    ending: Ending<ServerError<<C as Decoder>::Error, E>, P::Whole>,
    idle: IdleTimer,
    backpressure: usize,
    _response: PhantomData<fn() -> Resp>,
}

/// The settings a connection starts with (from [`Server`](super::Server)).
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) max_in_flight: usize,
    pub(super) backpressure: usize,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) request_timeout: Option<Duration>,
}

impl<T, C, H, F, Resp, E, P> Connection<T, C, H, F, Resp, E, P>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder
        + Encoder<P::Whole, Error = <C as Decoder>::Error>
        + Encoder<P::Part, Error = <C as Decoder>::Error>,
    H: FnMut(C::Item) -> F,
    F: Future<Output = Result<Resp, E>>,
    P: Protocol<C, Resp, E>,
{
    pub(super) fn new(settings: &Settings, framed: Framed<T, C>, handler: H, protocol: P) -> Self {
        Connection {
            framed,
            handler,
            protocol,
            in_flight: Ordered::new(settings.max_in_flight),
            streaming: None,
            ending: Ending::new(),
            idle: IdleTimer::new(settings.idle_timeout, settings.request_timeout),
            backpressure: settings.backpressure,
            _response: PhantomData,
        }
    }

    /// What a connection parked now keeps: its framed transport (of which
    /// only the transport is left to keep), handler and protocol, and the
    /// sleep that ends it at its idle deadline ([`IdleTimer::into_expiry`]).
    pub(super) fn into_parts(self) -> (Framed<T, C>, H, P, Option<Sleep>) {
        (
            self.framed,
            self.handler,
            self.protocol,
            self.idle.into_expiry(),
        )
    }

    /// One turn of the connection (one poll of its task). With `may_park`,
    /// a connection quiet long enough answers [`Turn::Park`] when it can be
    /// parked, instead of releasing its memory in place.
    pub(super) fn poll_turn(
        &mut self,
        may_park: bool,
        cx: &mut Context<'_>,
    ) -> Poll<Turn<Served<C, E>>> {
        let Connection {
            framed,
            handler,
            protocol,
            in_flight,
            streaming,
            ending,
            idle,
            backpressure,
            ..
        } = self;
        let backpressure = *backpressure;
        ending.begin_turn(|cx| protocol.poll_shutdown(cx), cx);
        ending.collect_quiet_write(framed, backpressure, cx, |e| ServerError::Codec(e.into()));
        loop {
            if ending.reading && protocol.is_done(framed.codec()) {
                ending.reading = false;
            }
            let mut progressed = false;
            while ending.may_read()
                && !in_flight.is_full()
                && framed.write_buffered() < backpressure
                && !protocol.hold(framed.codec_mut(), cx)
            {
                match ending.poll_read(framed) {
                    Poll::Ready(Some(Ok(request))) => {
                        in_flight.push_with(|| handler(request));
                        progressed = true;
                    }
                    Poll::Ready(Some(Err(e))) => {
                        ending.decode_failed(protocol.error_reply(&e), ServerError::Codec(e));
                    }
                    Poll::Ready(None) => ending.reading = false,
                    // No read is in flight when the codec held it back:
                    // the protocol's waker, not the read's, brings the next turn.
                    Poll::Pending if protocol.hold(framed.codec_mut(), cx) => ending.read_held(),
                    Poll::Pending => {}
                }
            }
            in_flight.poll_woken(cx);
            // In request order: the first failure drops every later request,
            // where the multiplexed server still writes the others finished.
            loop {
                if let Some(tail) = streaming.as_mut() {
                    let polled = poll_tail(
                        tail.as_mut(),
                        framed,
                        protocol,
                        backpressure,
                        &mut progressed,
                        cx,
                    );
                    match polled {
                        Poll::Pending => break,
                        Poll::Ready(Ok(())) => *streaming = None,
                        Poll::Ready(Err(failure)) => {
                            *streaming = None;
                            in_flight.clear();
                            ending.handler_failed(failure);
                        }
                    }
                }
                let Some(output) = in_flight.pop_ready() else {
                    break;
                };
                progressed = true;
                match output.map(|response| protocol.reply(response)) {
                    Ok(Reply::Whole(response)) => {
                        if let Err(e) = framed.encode(response) {
                            in_flight.clear();
                            ending.fail(ServerError::Codec(e));
                        }
                    }
                    // Pulled from at the top of the next round.
                    Ok(Reply::Streamed(tail)) => *streaming = Some(Box::pin(tail)),
                    Err(e) => {
                        in_flight.clear();
                        ending.handler_failed(ServerError::Handler(e));
                    }
                }
            }
            // A request just read may have ended the connection (QUIT).
            if ending.reading && protocol.is_done(framed.codec()) {
                ending.reading = false;
            }
            if !ending.reading {
                protocol.stopped(framed.codec_mut());
            }
            let finish = ending.poll_finish(
                framed,
                in_flight.is_empty() && streaming.is_none(),
                // A streaming tail waits for its writes to drain.
                streaming.is_none().then_some(backpressure),
                &mut progressed,
                cx,
                |e| ServerError::Codec(e.into()),
            );
            if let Poll::Ready(end) = finish {
                in_flight.clear();
                *streaming = None;
                return Poll::Ready(Turn::Ended(end));
            }
            // A response written quietly is not waited for: the connection
            // is quiet while the kernel sends it.
            let quiet = ending.reading
                && in_flight.is_empty()
                && streaming.is_none()
                && framed.write_awaited() == 0;
            let partial = framed.read_buffered() > 0;
            let mut timer = idle.poll(quiet, partial, progressed, cx);
            if timer == Idle::Release {
                if may_park && framed.is_parkable() && protocol.parkable(framed.codec()) {
                    return Poll::Ready(Turn::Park);
                }
                // Idle: hold no buffer, slot or scratch meanwhile.
                framed.release_buffers();
                in_flight.release();
                protocol.idle(framed.codec_mut());
                timer = idle.poll(quiet, partial, false, cx);
            }
            if timer == Idle::Expired {
                ending.reading = false;
                continue;
            }
            // Another pass only if this one made room to read more (a
            // response freed a slot, a flush drained the backpressure) or
            // to pull more of a tail: whatever else can move on has a
            // waker registered.
            let below_mark = framed.write_buffered() < backpressure;
            let may_read = ending.may_read() && !in_flight.is_full() && below_mark;
            let may_stream = streaming.is_some() && below_mark;
            if !(progressed && (may_read || may_stream)) {
                return Poll::Pending;
            }
        }
    }
}
