//! The pipelined server dispatcher.
//!
//! Reads requests, calls the handler for each, and writes the responses in
//! request order. At most `max_in_flight` requests are being handled at once;
//! when that many are, the dispatcher stops reading (the peer's writes then
//! back up into its socket buffer — backpressure), and it also stops reading
//! while more than the backpressure mark of responses waits to be written. Every
//! response that is ready when the dispatcher turns goes out in one flush.
//! A response may also stream ([`Protocol::reply`], `tail.rs`): its parts are
//! written as they come, and the responses after it wait their turn.
//!
//! Errors: a decode error or a handler error (or a streaming tail's) stops reading; responses to earlier
//! requests are still written (plus, for a decode error, the codec's error reply
//! if the protocol has one — an HTTP 400, a RESP `-ERR`), then the connection ends
//! and the error is returned to the caller.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::time::{sleep_until, Sleep};

use super::ordered::Ordered;
use super::protocol::Protocol;
use super::tail::{poll_tail, Reply};
use crate::codec::{Decoder, Encoder};
use crate::dispatch::server::Ending;
use crate::dispatch::wake::WakeSet;
use crate::framed::{Framed, DEFAULT_BACKPRESSURE};

/// Default bound on requests handled at once per connection; documented on
/// [`Server::max_in_flight`].
const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// Why a pipelined connection ended with an error.
#[derive(Debug)]
pub enum ServerError<C, H> {
    /// Reading, decoding, encoding or writing failed (I/O errors arrive here,
    /// converted into the codec's error type).
    Codec(C),
    /// The handler failed; responses to earlier requests were written first.
    Handler(H),
}

impl<C: fmt::Display, H: fmt::Display> fmt::Display for ServerError<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Codec(e) => write!(f, "connection failed: {e}"),
            ServerError::Handler(e) => write!(f, "handler failed: {e}"),
        }
    }
}

impl<C: Error + 'static, H: Error + 'static> Error for ServerError<C, H> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ServerError::Codec(e) => Some(e),
            ServerError::Handler(e) => Some(e),
        }
    }
}

/// Settings of a pipelined server connection.
#[derive(Debug, Clone)]
pub struct Server {
    max_in_flight: usize,
    backpressure: usize,
    idle_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// The defaults, each given on its setter: 32 requests at once, 128 KiB of
    /// unwritten responses before reading pauses, no idle or request timeout.
    pub fn new() -> Server {
        Server {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            backpressure: DEFAULT_BACKPRESSURE,
            idle_timeout: None,
            request_timeout: None,
        }
    }

    /// Sets the bound on requests handled at once (at least 1); default 32.
    pub fn max_in_flight(mut self, n: usize) -> Server {
        self.max_in_flight = n.max(1);
        self
    }

    /// Closes a connection that sends no new request for `timeout` while nothing
    /// is in flight (an idle keep-alive connection). Off by default.
    pub fn idle_timeout(mut self, timeout: Duration) -> Server {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Closes a connection whose next request, once its first bytes arrived, is
    /// not complete within `timeout` — the defence against slow-loris peers that
    /// trickle a request head forever. Off by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Server {
        self.request_timeout = Some(timeout);
        self
    }

    /// Sets how many bytes of unwritten responses pause reading; default
    /// 128 KiB, as [`Framed::set_backpressure`]. The mark bounds memory when a
    /// peer reads slower than the server answers.
    pub fn backpressure(mut self, bytes: usize) -> Server {
        self.backpressure = bytes.max(1);
        self
    }

    /// Serves one connection until the peer closes it (`Ok`), the protocol
    /// ends it or shuts it down (`Ok`, after the responses due), or an error
    /// ends it. `handler` answers each request; `protocol` adds what only the
    /// protocol knows (see [`Protocol`]; `()` for a plain one).
    ///
    /// ```no_run
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::pipeline::Server;
    /// use ringo_proto::Framed;
    /// # async fn serve(stream: ringo_reactor::net::TcpStream) {
    /// let echo = |line: String| async move { Ok::<_, std::io::Error>(line) };
    /// let framed = Framed::new(stream, LinesCodec::new());
    /// let _ = Server::new().serve(framed, echo, ()).await;
    /// # }
    /// ```
    pub fn serve<T, C, H, F, Resp, E, P>(
        &self,
        mut framed: Framed<T, C>,
        mut handler: H,
        mut protocol: P,
    ) -> impl Future<Output = Result<(), ServerError<<C as Decoder>::Error, E>>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder
            + Encoder<P::Whole, Error = <C as Decoder>::Error>
            + Encoder<P::Part, Error = <C as Decoder>::Error>,
        H: FnMut(C::Item) -> F,
        F: Future<Output = Result<Resp, E>>,
        P: Protocol<C, Resp, E>,
    {
        // One closure owns the connection's whole state: an `async fn` would
        // store its arguments twice (rust-lang/rust#62958), and this future
        // is what an idle keep-alive connection holds.
        let mut in_flight: Ordered<F> = Ordered::new(self.max_in_flight);
        // The tail of the response being written, if it streams: boxed, as
        // few responses stream and the room would be held by every connection.
        let mut streaming: Option<Pin<Box<P::Tail>>> = None;
        let mut ending: Ending<ServerError<<C as Decoder>::Error, E>, P::Whole> = Ending::new();
        let mut idle = IdleTimer::new(self.idle_timeout, self.request_timeout);
        let backpressure = self.backpressure;
        std::future::poll_fn(move |cx| {
            ending.begin_turn(|cx| protocol.poll_shutdown(cx), cx);
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
                    match ending.poll_read(&mut framed) {
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
                        Poll::Pending if protocol.hold(framed.codec_mut(), cx) => {
                            ending.read_held()
                        }
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
                            &mut framed,
                            &mut protocol,
                            backpressure,
                            &mut progressed,
                            cx,
                        );
                        match polled {
                            Poll::Pending => break,
                            Poll::Ready(Ok(())) => streaming = None,
                            Poll::Ready(Err(failure)) => {
                                streaming = None;
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
                        Ok(Reply::Streamed(tail)) => streaming = Some(Box::pin(tail)),
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
                    &mut framed,
                    in_flight.is_empty() && streaming.is_none(),
                    &mut progressed,
                    cx,
                    |e| ServerError::Codec(e.into()),
                );
                if let Poll::Ready(end) = finish {
                    in_flight.clear();
                    streaming = None;
                    return Poll::Ready(end);
                }
                let quiet = ending.reading
                    && in_flight.is_empty()
                    && streaming.is_none()
                    && framed.write_buffered() == 0;
                let partial = framed.read_buffered() > 0;
                let mut timer = idle.poll(quiet, partial, progressed, cx);
                if timer == Idle::Release {
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
        })
    }
}

/// How long a connection must be quiet before it frees its memory between
/// requests (buffers, in-flight slots, the codec's scratch). Freeing it after
/// every request would cost more than it saves while requests keep coming (a
/// few hundred instructions each to allocate it again); a client that pauses
/// this long is idle, and thousands of idle keep-alive connections are what
/// a server's memory goes to.
const RELEASE_AFTER: Duration = Duration::from_millis(250);

/// What a quiet connection's timer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// Nothing to do yet.
    Waiting,
    /// Quiet for [`RELEASE_AFTER`]: free the memory kept between requests.
    Release,
    /// The idle or request deadline passed: close.
    Expired,
}

/// The idle and request deadlines of one connection, and the moment its
/// memory is released.
///
/// While the connection is quiet (reading, nothing in flight, nothing to write)
/// it must produce its next request in time: within `idle` if no byte of it has
/// arrived, within `request` of the moment the first bytes were seen.
///
/// A busy connection goes quiet once per request, so the timer is lazy: its
/// sleep is left armed across requests, and a sleep due before the deadline
/// only wakes the connection to re-arm it. Moving it every time would cost a
/// timer-wheel removal, an insertion and a waker clone per request; a stale
/// sleep costs one spurious wake per timeout at most.
///
/// The release is lazier still, as every connection has one, timeouts or
/// not: a check every [`RELEASE_AFTER`] that releases if the connection did
/// nothing since the last check and is quiet now — between one and two
/// periods into a quiet spell, for one clock read per period, not per request.
///
/// And the sleep is polled only when its own waker fired (a one-slot
/// [`WakeSet`] that also wakes the task), not on every quiet turn: asking the
/// timer wheel costs more than asking that flag.
struct IdleTimer {
    idle: Option<Duration>,
    request: Option<Duration>,
    quiet_since: Option<Instant>,
    partial_since: Option<Instant>,
    /// When the release is next checked; `None` until the connection is
    /// first quiet after a release (or ever).
    release_check: Option<Instant>,
    /// The connection made progress since the release check was armed.
    active: bool,
    /// This quiet spell's memory was released.
    released: bool,
    sleep: Option<Sleep>,
    /// The sleep's waker, which says whether it fired.
    wake: WakeSet,
    /// The sleep is in the wheel with `wake`'s waker and has not fired
    /// since: until the waker says so, polling it would find it pending.
    waiting: bool,
}

impl IdleTimer {
    fn new(idle: Option<Duration>, request: Option<Duration>) -> IdleTimer {
        IdleTimer {
            idle,
            request,
            quiet_since: None,
            partial_since: None,
            release_check: None,
            active: false,
            released: false,
            sleep: None,
            wake: WakeSet::new(1),
            waiting: false,
        }
    }

    /// What the connection must do now. `progressed` (a request decoded or a
    /// response written this turn) restarts the clock; when the connection is
    /// quiet the timer is armed at once, as no further pass may come.
    fn poll(&mut self, quiet: bool, partial: bool, progressed: bool, cx: &mut Context<'_>) -> Idle {
        if !quiet || progressed {
            self.quiet_since = None;
            self.partial_since = None;
            self.active = true;
            self.released = false;
        }
        if !quiet {
            return Idle::Waiting;
        }
        let expiry = match (self.idle, self.request) {
            (None, None) => None,
            _ => self.deadline(partial),
        };
        let mut release = match self.released || partial {
            true => None,
            false => Some(
                *self
                    .release_check
                    .get_or_insert_with(|| Instant::now() + RELEASE_AFTER),
            ),
        };
        loop {
            let Some(next) = earliest(expiry, release) else {
                // Nothing to wait for (released, no timeouts): the timer's
                // entry, and the waker it keeps, go until the next request.
                self.sleep = None;
                self.waiting = false;
                return Idle::Waiting;
            };
            let sleep = self.sleep.get_or_insert_with(|| sleep_until(next));
            if sleep.deadline() > next {
                sleep.reset(next);
                self.waiting = false;
            }
            // Also registers `cx` as the task the sleep's waker wakes.
            let woken = self.wake.take_any(cx);
            if self.waiting && !woken {
                return Idle::Waiting;
            }
            let waker = self.wake.rearm(0);
            if std::pin::Pin::new(&mut *sleep)
                .poll(&mut Context::from_waker(waker))
                .is_pending()
            {
                self.waiting = true;
                return Idle::Waiting;
            }
            self.waiting = false;
            let fired = sleep.deadline();
            if fired < next {
                // A sleep armed for an earlier quiet spell: re-armed for this
                // one (and ready at once if this deadline has passed as well).
                sleep.reset(next);
                continue;
            }
            if expiry.is_some_and(|expiry| expiry <= fired) {
                return Idle::Expired;
            }
            if std::mem::take(&mut self.active) {
                // Busy since the check was armed: check again a period on.
                release = Some(Instant::now() + RELEASE_AFTER);
                self.release_check = release;
                continue;
            }
            self.released = true;
            self.release_check = None;
            return Idle::Release;
        }
    }

    /// The deadline of the current quiet spell, noting when it (and, with
    /// `partial`, the request under way) started; `None` if none applies.
    fn deadline(&mut self, partial: bool) -> Option<Instant> {
        let needs_start = self.quiet_since.is_none() || (partial && self.partial_since.is_none());
        if needs_start {
            let now = Instant::now();
            self.quiet_since.get_or_insert(now);
            if partial {
                self.partial_since.get_or_insert(now);
            }
        }
        match (self.partial_since, self.request, self.idle) {
            (Some(since), Some(limit), _) => Some(since + limit),
            (_, _, Some(limit)) => self.quiet_since.map(|since| since + limit),
            (_, _, None) => None,
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
