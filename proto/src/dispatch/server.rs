//! How a server connection ends, the same for the pipelined and multiplexed
//! dispatchers: reading stops at the first failure (or end of stream, or
//! shutdown), the responses still due are written, then a decode error's reply
//! once nothing earlier is in flight, and the connection ends with the first
//! failure or `Ok`.
//!
//! What each dispatcher does with a finished response differs (in order, or
//! under its tag), so the turn's middle stays in `pipeline/server.rs` and
//! `multiplex/server.rs`; this is its end.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use crate::codec::Encoder;
use crate::framed::Framed;

/// A server connection's ending, carried across turns.
///
/// `Fail` is the dispatcher's error; `Reply` the response type it writes.
#[derive(Debug)]
pub(crate) struct Ending<Fail, Reply> {
    /// Cleared once the connection must read no more; never set again.
    pub(crate) reading: bool,
    /// The first failure, returned when the connection ends; later ones are
    /// dropped, as the first is the cause.
    failure: Option<Fail>,
    /// A decode error's reply, written once nothing before it is in flight;
    /// dropped if a handler fails first.
    last_reply: Option<Reply>,
    /// Set when this turn's read answered `Pending`. Its waker is then
    /// registered and nothing this turn can complete it (completions arrive
    /// only between turns), so polling it again before the next turn is
    /// wasted work — a measurable share of a small request's cost.
    read_waiting: bool,
    /// The same for this turn's flush.
    flush_waiting: bool,
}

impl<Fail, Reply> Ending<Fail, Reply> {
    /// A connection still reading, with no failure.
    pub(crate) fn new() -> Self {
        Ending {
            reading: true,
            failure: None,
            last_reply: None,
            read_waiting: false,
            flush_waiting: false,
        }
    }

    /// Starts a turn (one poll of the connection's task): a read or flush that
    /// was waiting may have completed since, and `shutdown` is polled — once
    /// per turn is enough, as its waker stays registered meanwhile.
    pub(crate) fn begin_turn<S: Future<Output = ()>>(
        &mut self,
        shutdown: Pin<&mut S>,
        cx: &mut Context<'_>,
    ) {
        if self.reading && shutdown.poll(cx).is_ready() {
            self.reading = false;
        }
        self.read_waiting = false;
        self.flush_waiting = false;
    }

    /// Whether to poll for the next request: still reading, and the read did
    /// not already answer `Pending` this turn.
    pub(crate) fn may_read(&self) -> bool {
        self.reading && !self.read_waiting
    }

    /// The read answered `Pending`: no more polling it this turn.
    pub(crate) fn read_waits(&mut self) {
        self.read_waiting = true;
    }

    /// Stops reading and keeps `failure` if it is the first.
    pub(crate) fn fail(&mut self, failure: Fail) {
        self.reading = false;
        self.failure.get_or_insert(failure);
    }

    /// A request failed to decode: stop reading, and write `reply` (the
    /// protocol's error response, if any) after the responses in flight.
    pub(crate) fn decode_failed(&mut self, reply: Option<Reply>, failure: Fail) {
        self.last_reply = reply;
        self.fail(failure);
    }

    /// A handler failed: stop reading, and write no decode-error reply, as the
    /// connection now ends on the handler's failure.
    pub(crate) fn handler_failed(&mut self, failure: Fail) {
        self.last_reply = None;
        self.fail(failure);
    }

    /// The end of a turn's pass: writes the decode error's reply once
    /// `nothing_in_flight`, flushes what is buffered (setting `progressed` when
    /// a flush completes; not again this turn once it waits), and is `Ready` when the connection is over — with
    /// the first failure, or `io_failure` of a flush error if there was none.
    /// On `Ready` the caller drops what is still in flight.
    pub(crate) fn poll_finish<T, C>(
        &mut self,
        framed: &mut Framed<T, C>,
        nothing_in_flight: bool,
        progressed: &mut bool,
        cx: &mut Context<'_>,
        io_failure: impl FnOnce(io::Error) -> Fail,
    ) -> Poll<Result<(), Fail>>
    where
        T: AsyncRead + AsyncWrite,
        C: Encoder<Reply>,
    {
        if nothing_in_flight {
            if let Some(reply) = self.last_reply.take() {
                // Best effort: the connection is closing on the decode error anyway.
                let _ = framed.encode(reply);
            }
        }
        if framed.write_buffered() > 0 && !self.flush_waiting {
            match framed.poll_flush(cx) {
                Poll::Ready(Ok(())) => *progressed = true,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(self.failure.take().unwrap_or_else(|| io_failure(e))));
                }
                Poll::Pending => self.flush_waiting = true,
            }
        }
        if !self.reading && nothing_in_flight && framed.write_buffered() == 0 {
            return Poll::Ready(self.failure.take().map_or(Ok(()), Err));
        }
        Poll::Pending
    }
}
