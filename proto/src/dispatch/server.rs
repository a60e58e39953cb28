//! How a server connection ends, the same for the pipelined and multiplexed
//! dispatchers: reading stops at the first failure (or end of stream, or
//! shutdown), the responses still due are written, then a decode error's reply
//! once nothing earlier is in flight, and the connection ends with the first
//! failure or `Ok`.
//!
//! What each dispatcher does with a finished response differs (in order, or
//! under its tag), so the turn's middle stays in `pipeline/server.rs` and
//! `multiplex/server.rs`; this is its end.

use std::io;
use std::task::{Context, Poll};

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use crate::codec::{Decoder, Encoder};
use crate::dispatch::wake::WakeSet;
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
    /// Set when the read answered `Pending`, until its waker fires. Polling
    /// it before then is wasted work — a measurable share of a small
    /// request's cost, as a turn woken by a finished write (or a handler)
    /// would poll the read again for nothing.
    read_waiting: bool,
    /// The read's own waker (one slot), so a turn can tell whether the read
    /// woke it; it wakes the connection's task too.
    read_wake: WakeSet,
    /// Set when this turn's flush answered `Pending` and waits: nothing this
    /// turn can complete it (completions arrive only between turns). A quiet
    /// flush does not wait: a later pass of the turn may need to make it
    /// wake after all, having written more behind it.
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
            read_wake: WakeSet::new(1),
            flush_waiting: false,
        }
    }

    /// Starts a turn (one poll of the connection's task): a flush that was
    /// waiting may have completed since, and so may the read if its waker
    /// fired; `poll_shutdown` is called while reading — once per turn is
    /// enough, as its waker stays registered meanwhile.
    pub(crate) fn begin_turn(
        &mut self,
        poll_shutdown: impl FnOnce(&mut Context<'_>) -> Poll<()>,
        cx: &mut Context<'_>,
    ) {
        if self.reading && poll_shutdown(cx).is_ready() {
            self.reading = false;
        }
        if self.read_wake.take_any(cx) {
            self.read_waiting = false;
        }
        self.flush_waiting = false;
    }

    /// Collects the response written quietly in an earlier turn, if it is
    /// done, so that this turn encodes into its buffer instead of a new one
    /// (an allocation and a free per request). A failure ends the
    /// connection as a failed flush does, through `io_failure`.
    pub(crate) fn collect_quiet_write<T, C>(
        &mut self,
        framed: &mut Framed<T, C>,
        backpressure: usize,
        cx: &mut Context<'_>,
        io_failure: impl FnOnce(io::Error) -> Fail,
    ) where
        T: AsyncRead + AsyncWrite,
    {
        if framed.write_buffered() == 0 || framed.write_awaited() > 0 {
            return;
        }
        if let Poll::Ready(Err(e)) = framed.poll_flush_quietly(backpressure, cx) {
            self.fail(io_failure(e));
        }
    }

    /// Whether to poll for the next request: still reading, and no read is
    /// waiting for its waker.
    pub(crate) fn may_read(&self) -> bool {
        self.reading && !self.read_waiting
    }

    /// The read answered `Pending` without a read in flight (the codec holds
    /// reads back): whatever wakes the connection, the read may be polled.
    pub(crate) fn read_held(&mut self) {
        self.read_waiting = false;
    }

    /// Polls `framed` for the next request with the read's own waker.
    pub(crate) fn poll_read<T, C>(
        &mut self,
        framed: &mut Framed<T, C>,
    ) -> Poll<Option<Result<C::Item, C::Error>>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder,
    {
        let polled = framed.poll_next(&mut Context::from_waker(self.read_wake.rearm(0)));
        self.read_waiting = polled.is_pending();
        polled
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
    /// a flush someone waited for completes; not again this turn once it
    /// waits), and is `Ready` when the connection is over — with the first
    /// failure, or `io_failure` of a flush error if there was none. On
    /// `Ready` the caller drops what is still in flight.
    ///
    /// While reading goes on, the flush is quiet below `quiet_below` if the
    /// caller gives one — when nothing but the next request waits for the
    /// write (see `framed/write.rs`): a response handed to the kernel then
    /// needs no turn of its own, so its completion wakes the task only if it
    /// fell short or failed, and the next turn, which the next request
    /// brings, collects it. Collecting it is not progress: nobody waited.
    pub(crate) fn poll_finish<T, C>(
        &mut self,
        framed: &mut Framed<T, C>,
        nothing_in_flight: bool,
        quiet_below: Option<usize>,
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
            let awaited = framed.write_awaited() > 0;
            let flushed = match quiet_below.filter(|_| self.reading) {
                Some(mark) => framed.poll_flush_quietly(mark, cx),
                None => framed.poll_flush(cx),
            };
            match flushed {
                Poll::Ready(Ok(())) => *progressed |= awaited,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(self.failure.take().unwrap_or_else(|| io_failure(e))));
                }
                Poll::Pending => self.flush_waiting = framed.write_awaited() > 0,
            }
        }
        if !self.reading && nothing_in_flight && framed.write_buffered() == 0 {
            return Poll::Ready(self.failure.take().map_or(Ok(()), Err));
        }
        Poll::Pending
    }
}
