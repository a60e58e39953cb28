//! The multiplexed server dispatcher.
//!
//! Reads tagged requests, calls the handler for each, and writes each response
//! under its request's tag as soon as it is ready, in any order. At most
//! `max_in_flight` requests are being handled at once; when that many are, the
//! dispatcher stops reading (the peer's writes then back up into its socket
//! buffer — backpressure), and it also stops reading while more than the
//! backpressure mark of responses waits to be written. Every response that is
//! ready when the dispatcher turns goes out in one flush.
//!
//! Errors mirror the pipelined server's: a decode error, a handler error or a
//! request reusing a tag still in flight stops reading; responses that are
//! already complete are still written (plus, for a decode error, the protocol's
//! error reply if it has one), then the connection ends and the error is
//! returned to the caller.

use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::task::Poll;

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::protocol::Protocol;
use super::unordered::Unordered;
use super::Tag;
use crate::codec::{Decoder, Encoder};
use crate::dispatch::server::Ending;
use crate::framed::{Framed, DEFAULT_BACKPRESSURE};

/// Default bound on requests handled at once per connection; documented on
/// [`Server::max_in_flight`].
const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// Why a multiplexed connection ended with an error.
#[derive(Debug)]
pub enum ServerError<C, H> {
    /// Reading, decoding, encoding or writing failed (I/O errors arrive here,
    /// converted into the codec's error type).
    Codec(C),
    /// The handler failed; responses already complete were written first.
    Handler(H),
    /// The peer sent a request under a tag whose request is still in flight:
    /// the two responses could not be told apart.
    DuplicateTag(Tag),
}

impl<C, H> ServerError<C, H> {
    /// Whether the peer broke the multiplexing protocol by reusing a tag in flight.
    pub fn is_duplicate_tag(&self) -> bool {
        matches!(self, ServerError::DuplicateTag(_))
    }
}

impl<C: fmt::Display, H: fmt::Display> fmt::Display for ServerError<C, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Codec(e) => write!(f, "connection failed: {e}"),
            ServerError::Handler(e) => write!(f, "handler failed: {e}"),
            ServerError::DuplicateTag(tag) => write!(f, "request tag {tag} already in flight"),
        }
    }
}

impl<C: Error + 'static, H: Error + 'static> Error for ServerError<C, H> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ServerError::Codec(e) => Some(e),
            ServerError::Handler(e) => Some(e),
            ServerError::DuplicateTag(_) => None,
        }
    }
}

/// Settings of a multiplexed server connection.
#[derive(Debug, Clone)]
pub struct Server {
    max_in_flight: usize,
    backpressure: usize,
}

impl Default for Server {
    fn default() -> Self {
        Server::new()
    }
}

impl Server {
    /// The defaults, each given on its setter: 32 requests at once, 128 KiB of
    /// unwritten responses before reading pauses.
    pub fn new() -> Server {
        Server {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            backpressure: DEFAULT_BACKPRESSURE,
        }
    }

    /// Sets the bound on requests handled at once (at least 1); default 32.
    /// Past it the server stops reading until one finishes.
    pub fn max_in_flight(mut self, n: usize) -> Server {
        self.max_in_flight = n.max(1);
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
    /// shuts it down (`Ok`, after the responses due) or an error ends it.
    /// `handler` answers each request; `protocol` adds the error reply and
    /// shutdown (see [`Protocol`]; `()` for neither).
    pub async fn serve<T, C, Req, H, F, Resp, E, P>(
        &self,
        mut framed: Framed<T, C>,
        mut handler: H,
        mut protocol: P,
    ) -> Result<(), ServerError<<C as Decoder>::Error, E>>
    where
        T: AsyncRead + AsyncWrite,
        C: Decoder<Item = (Tag, Req)> + Encoder<(Tag, Resp), Error = <C as Decoder>::Error>,
        H: FnMut(Req) -> F,
        F: Future<Output = Result<Resp, E>>,
        P: Protocol<C, (Tag, Resp)>,
    {
        let mut in_flight: Unordered<F, Tag> = Unordered::new(self.max_in_flight);
        // The tags of `in_flight`, to catch a peer reusing one.
        let mut tags: HashSet<Tag> = HashSet::with_capacity(self.max_in_flight);
        let mut ending: Ending<ServerError<<C as Decoder>::Error, E>, (Tag, Resp)> = Ending::new();
        std::future::poll_fn(|cx| {
            ending.begin_turn(|cx| protocol.poll_shutdown(cx), cx);
            ending.collect_quiet_write(&mut framed, self.backpressure, cx, |e| {
                ServerError::Codec(e.into())
            });
            loop {
                let mut progressed = false;
                while ending.may_read()
                    && !in_flight.is_full()
                    && framed.write_buffered() < self.backpressure
                {
                    match ending.poll_read(&mut framed) {
                        Poll::Ready(Some(Ok((tag, request)))) => {
                            progressed = true;
                            if !tags.insert(tag) {
                                ending.fail(ServerError::DuplicateTag(tag));
                                break;
                            }
                            in_flight.push(tag, handler(request));
                        }
                        Poll::Ready(Some(Err(e))) => {
                            ending.decode_failed(protocol.error_reply(&e), ServerError::Codec(e));
                        }
                        Poll::Ready(None) => ending.reading = false,
                        Poll::Pending => {}
                    }
                }
                in_flight.poll_woken(cx);
                // Set when the connection must end without the responses still running.
                let mut abort = false;
                // Set once encoding failed: nothing more is written.
                let mut encode_failed = false;
                // Unlike the pipelined server, a handler failure does not drop the
                // other responses finished this turn: they are complete and tagged.
                while let Some((tag, output)) = in_flight.pop_ready() {
                    progressed = true;
                    tags.remove(&tag);
                    match output {
                        Ok(response) if !encode_failed => {
                            if let Err(e) = framed.encode((tag, response)) {
                                abort = true;
                                encode_failed = true;
                                ending.fail(ServerError::Codec(e));
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            abort = true;
                            ending.handler_failed(ServerError::Handler(e));
                        }
                    }
                }
                if abort {
                    in_flight.clear();
                    tags.clear();
                }
                let finish = ending.poll_finish(
                    &mut framed,
                    in_flight.is_empty(),
                    Some(self.backpressure),
                    &mut progressed,
                    cx,
                    |e| ServerError::Codec(e.into()),
                );
                if let Poll::Ready(end) = finish {
                    in_flight.clear();
                    return Poll::Ready(end);
                }
                if !progressed {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}
