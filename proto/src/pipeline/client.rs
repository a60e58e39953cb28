//! The pipelined client dispatcher.
//!
//! [`Client::new`] splits a framed transport into a cloneable [`Client`] handle
//! and the [`Connection`] future that drives the socket (spawn it). Calls are
//! written in order and answered first-in, first-out. At most
//! `max_queued` calls are outstanding; further callers wait for room.
//!
//! Failure is explicit: a call whose request never reached the socket fails
//! with [`ClientErrorKind::NotWritten`] — safe to retry on another connection —
//! while a call whose request was written when the connection broke fails with
//! [`ClientErrorKind::ConnectionLost`] (the server may or may not have acted on
//! it). No call is left hanging when the connection dies.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use crate::codec::{Decoder, Encoder};
use crate::dispatch::client::wake_connection_if_last;
use crate::framed::Framed;

/// Default bound on calls outstanding per connection; documented on
/// [`Client::new`].
const DEFAULT_MAX_QUEUED: usize = 128;

/// What kind of failure a call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientErrorKind {
    /// The request never left: safe to retry elsewhere.
    NotWritten,
    /// The request was written, then the connection failed or closed before the
    /// response arrived: the server may have acted on it.
    ConnectionLost,
    /// The peer answered more than was asked (a protocol desynchronisation).
    Desynchronized,
}

/// A failed call.
#[derive(Debug, Clone)]
pub struct ClientError {
    kind: ClientErrorKind,
    cause: String,
}

impl ClientError {
    pub(crate) fn new(kind: ClientErrorKind, cause: impl Into<String>) -> ClientError {
        ClientError {
            kind,
            cause: cause.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ClientErrorKind {
        self.kind
    }

    /// Whether the request never left, so retrying it cannot duplicate it.
    pub fn is_not_written(&self) -> bool {
        self.kind == ClientErrorKind::NotWritten
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ClientErrorKind::NotWritten => "request not written",
            ClientErrorKind::ConnectionLost => "connection lost after the request was written",
            ClientErrorKind::Desynchronized => "response stream desynchronized",
        };
        write!(f, "{what}: {}", self.cause)
    }
}

impl Error for ClientError {}

/// A one-shot slot for a call's result.
type Reply<Resp> = Rc<RefCell<ReplySlot<Resp>>>;

struct ReplySlot<Resp> {
    value: Option<Result<Resp, ClientError>>,
    waker: Option<Waker>,
}

fn fulfil<Resp>(reply: &Reply<Resp>, value: Result<Resp, ClientError>) {
    let waker = {
        let mut slot = reply.borrow_mut();
        slot.value = Some(value);
        slot.waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
}

struct Shared<Req, Resp> {
    /// Calls not yet encoded onto the connection.
    queued: VecDeque<(Req, Reply<Resp>)>,
    /// Calls written, in order, awaiting their responses.
    awaiting: VecDeque<Reply<Resp>>,
    max_queued: usize,
    /// Set when the connection has ended; new calls fail at once.
    closed: Option<String>,
    connection: Option<Waker>,
    /// Callers waiting for room under `max_queued`.
    room_waiters: VecDeque<Waker>,
}

impl<Req, Resp> Shared<Req, Resp> {
    fn outstanding(&self) -> usize {
        self.queued.len() + self.awaiting.len()
    }

    /// Fails every call: unwritten ones as `NotWritten`, written ones as `ConnectionLost`.
    fn close(&mut self, cause: &str) -> Vec<(Reply<Resp>, ClientError)> {
        self.closed.get_or_insert_with(|| cause.to_owned());
        let mut failed: Vec<_> = self
            .awaiting
            .drain(..)
            .map(|r| (r, ClientError::new(ClientErrorKind::ConnectionLost, cause)))
            .collect();
        failed.extend(
            self.queued
                .drain(..)
                .map(|(_, r)| (r, ClientError::new(ClientErrorKind::NotWritten, cause))),
        );
        failed
    }
}

/// A handle for making calls over one pipelined connection. Cheap to clone;
/// the connection ends once every handle is dropped and all calls are answered.
pub struct Client<Req, Resp> {
    shared: Rc<RefCell<Shared<Req, Resp>>>,
}

impl<Req, Resp> Clone for Client<Req, Resp> {
    fn clone(&self) -> Self {
        Client {
            shared: self.shared.clone(),
        }
    }
}

impl<Req, Resp> Drop for Client<Req, Resp> {
    /// The last handle going away lets the connection end once it is idle:
    /// wake it so it notices.
    fn drop(&mut self) {
        wake_connection_if_last(&self.shared, |s| s.connection.clone());
    }
}

impl<Req, Resp> fmt::Debug for Client<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared.borrow();
        f.debug_struct("Client")
            .field("outstanding", &shared.outstanding())
            .field("closed", &shared.closed.is_some())
            .finish()
    }
}

impl<Req, Resp> Client<Req, Resp> {
    /// A client over `framed`, and the connection future to spawn. At most 128
    /// calls are outstanding (queued or awaiting a response); further callers
    /// wait for room ([`with_max_queued`](Self::with_max_queued) sets another
    /// bound).
    pub fn new<T, C>(framed: Framed<T, C>) -> (Client<Req, Resp>, Connection<T, C, Req, Resp>)
    where
        T: AsyncRead + AsyncWrite,
    {
        Client::with_max_queued(framed, DEFAULT_MAX_QUEUED)
    }

    /// As [`new`](Self::new), with at most `max_queued` calls outstanding.
    pub fn with_max_queued<T, C>(
        framed: Framed<T, C>,
        max_queued: usize,
    ) -> (Client<Req, Resp>, Connection<T, C, Req, Resp>)
    where
        T: AsyncRead + AsyncWrite,
    {
        let shared = Rc::new(RefCell::new(Shared {
            queued: VecDeque::new(),
            awaiting: VecDeque::new(),
            max_queued: max_queued.max(1),
            closed: None,
            connection: None,
            room_waiters: VecDeque::new(),
        }));
        (
            Client {
                shared: shared.clone(),
            },
            Connection { framed, shared },
        )
    }

    /// Sends `request` and waits for its response.
    ///
    /// # Errors
    /// See [`ClientErrorKind`]. Dropping this future after the request was
    /// queued does not unsend it; its response is discarded.
    pub async fn call(&self, request: Req) -> Result<Resp, ClientError> {
        std::future::poll_fn(|cx| {
            let mut shared = self.shared.borrow_mut();
            if let Some(cause) = &shared.closed {
                return Poll::Ready(Err(ClientError::new(
                    ClientErrorKind::NotWritten,
                    cause.clone(),
                )));
            }
            if shared.outstanding() < shared.max_queued {
                return Poll::Ready(Ok(()));
            }
            shared.room_waiters.push_back(cx.waker().clone());
            Poll::Pending
        })
        .await?;
        let reply: Reply<Resp> = Rc::new(RefCell::new(ReplySlot {
            value: None,
            waker: None,
        }));
        let connection = {
            let mut shared = self.shared.borrow_mut();
            shared.queued.push_back((request, reply.clone()));
            shared.connection.clone()
        };
        if let Some(w) = connection {
            w.wake();
        }
        std::future::poll_fn(|cx| {
            let mut slot = reply.borrow_mut();
            match slot.value.take() {
                Some(value) => Poll::Ready(value),
                None => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Whether the connection has ended (calls now fail with `NotWritten`).
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed.is_some()
    }

    /// Calls queued or awaiting a response: a load measure for balancers.
    pub fn outstanding(&self) -> usize {
        self.shared.borrow().outstanding()
    }
}

/// The future that drives a client's connection: spawn it. It ends with `Ok`
/// when every [`Client`] is dropped and every call answered, or with the error
/// that broke the connection (after failing every outstanding call).
pub struct Connection<T: AsyncRead + AsyncWrite, C, Req, Resp> {
    framed: Framed<T, C>,
    shared: Rc<RefCell<Shared<Req, Resp>>>,
}

impl<T: AsyncRead + AsyncWrite, C, Req, Resp> fmt::Debug for Connection<T, C, Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

impl<T, C, Req, Resp> Connection<T, C, Req, Resp>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder<Item = Resp> + Encoder<Req, Error = <C as Decoder>::Error>,
    <C as Decoder>::Error: fmt::Display,
{
    /// Runs the connection to its end.
    pub async fn run(mut self) -> Result<(), <C as Decoder>::Error> {
        let result = std::future::poll_fn(|cx| self.poll_turn(cx)).await;
        let cause = match &result {
            Ok(()) => "connection closed".to_owned(),
            Err(e) => e.to_string(),
        };
        fail_all(&self.shared, &cause);
        result
    }

    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), <C as Decoder>::Error>> {
        loop {
            let mut progressed = false;
            let woken_room = {
                let mut shared = self.shared.borrow_mut();
                shared.connection = Some(cx.waker().clone());
                while let Some((request, reply)) = shared.queued.pop_front() {
                    if let Err(e) = self.framed.encode(request) {
                        drop(shared);
                        fulfil(
                            &reply,
                            Err(ClientError::new(ClientErrorKind::NotWritten, e.to_string())),
                        );
                        return Poll::Ready(Err(e));
                    }
                    shared.awaiting.push_back(reply);
                    progressed = true;
                }
                std::mem::take(&mut shared.room_waiters)
            };
            woken_room.into_iter().for_each(Waker::wake);
            if self.framed.write_buffered() > 0 {
                match self.framed.poll_flush(cx) {
                    Poll::Ready(Ok(())) => progressed = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => {}
                }
            }
            match self.framed.poll_next(cx) {
                Poll::Ready(Some(Ok(response))) => {
                    let reply = self.shared.borrow_mut().awaiting.pop_front();
                    match reply {
                        Some(reply) => fulfil(&reply, Ok(response)),
                        None => {
                            let e = std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "response to no request",
                            );
                            return Poll::Ready(Err(e.into()));
                        }
                    }
                    progressed = true;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {}
            }
            let idle = {
                let shared = self.shared.borrow();
                shared.outstanding() == 0 && Rc::strong_count(&self.shared) == 1
            };
            if idle && self.framed.write_buffered() == 0 {
                return Poll::Ready(Ok(()));
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }
}

impl<T, C, Req, Resp> Drop for Connection<T, C, Req, Resp>
where
    T: AsyncRead + AsyncWrite,
{
    fn drop(&mut self) {
        fail_all(&self.shared, "connection dropped");
    }
}

/// Closes the connection's shared state with `cause`: fails every call (see
/// [`Shared::close`]) and wakes the callers waiting for room, who then fail.
/// Used both when `run` ends and when the connection is dropped; a drop that
/// finds the state borrowed does nothing rather than panic.
fn fail_all<Req, Resp>(shared: &RefCell<Shared<Req, Resp>>, cause: &str) {
    let (failed, waiters) = {
        let Ok(mut shared) = shared.try_borrow_mut() else {
            return;
        };
        let failed = shared.close(cause);
        (failed, std::mem::take(&mut shared.room_waiters))
    };
    for (reply, error) in failed {
        fulfil(&reply, Err(error));
    }
    waiters.into_iter().for_each(Waker::wake);
}
