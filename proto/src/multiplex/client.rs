//! The multiplexed client dispatcher.
//!
//! [`Client::new`] splits a framed transport into a cloneable [`Client`] handle
//! and the [`Connection`] future that drives the socket (spawn it). Each call
//! takes a tag from a bounded table (`tags.rs`), its request goes out under that
//! tag, and the response carrying the tag completes it, whatever the order the
//! server answers in. When every tag is taken, further callers wait for one.
//!
//! Failure is explicit, with the pipelined client's error kinds: a call whose
//! request never reached the socket fails with [`ClientErrorKind::NotWritten`]
//! (safe to retry on another connection); a call whose request was written when
//! the connection broke fails with [`ClientErrorKind::ConnectionLost`]; and a
//! response under a tag that is not in flight means the two sides disagree
//! about what is outstanding, so every written call fails with
//! [`ClientErrorKind::Desynchronized`] and the connection ends. No call is left
//! hanging when the connection dies.
//!
//! A caller that gives up (a timeout, a dropped future) after its request was
//! written keeps its tag taken until the response arrives and is discarded: the
//! server is still working on it, so the table's bound stays a bound on the
//! server's work too, and the tag's next call cannot receive this answer.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::tags::TagTable;
use super::Tag;
use crate::codec::{Decoder, Encoder};
use crate::dispatch::client::wake_connection_if_last;
use crate::framed::Framed;
use crate::pipeline::{ClientError, ClientErrorKind};

/// Default number of tags per connection; documented on [`Client::new`].
const DEFAULT_MAX_TAGS: usize = 128;

/// Where a call stands; each state says who moves it on.
enum CallState<Req, Resp> {
    /// The tag is taken and the request waits in `Shared::queue`; the
    /// connection encodes it and moves it to `Written`.
    Queued(Req),
    /// The request was encoded; the connection moves it to `Done` when the
    /// response arrives or the connection ends.
    Written,
    /// The call's result, for the caller to take (which frees the tag).
    Done(Result<Resp, ClientError>),
    /// Written, then the caller gave up: the connection frees the tag when the
    /// response arrives (discarding it) or the connection ends.
    Abandoned,
}

/// One call in the tag table.
struct Call<Req, Resp> {
    state: CallState<Req, Resp>,
    /// The caller's task, woken when the state becomes `Done`.
    waker: Option<Waker>,
}

struct Shared<Req, Resp> {
    calls: TagTable<Call<Req, Resp>>,
    /// Tags of the `Queued` calls, oldest first.
    queue: VecDeque<Tag>,
    /// Set when the connection has ended; new calls fail at once.
    closed: Option<String>,
    connection: Option<Waker>,
    /// Callers waiting for a free tag, oldest first, under increasing tickets.
    waiters: VecDeque<(u64, Waker)>,
    next_ticket: u64,
}

impl<Req, Resp> Shared<Req, Resp> {
    /// Frees `tag` and returns the waiter to wake for it, if any.
    fn free(&mut self, tag: Tag) -> Option<Waker> {
        self.calls.remove(tag);
        self.waiters.pop_front().map(|(_, waker)| waker)
    }

    /// Fails every call (unwritten ones as `NotWritten`, written ones as
    /// `written`), frees the abandoned ones, and returns the tasks to wake.
    fn close(&mut self, cause: &str, written: ClientErrorKind) -> Vec<Waker> {
        self.closed.get_or_insert_with(|| cause.to_owned());
        self.queue.clear();
        let mut wake: Vec<Waker> = self.waiters.drain(..).map(|(_, w)| w).collect();
        self.calls.retain(|call| {
            let kind = match call.state {
                CallState::Queued(_) => ClientErrorKind::NotWritten,
                CallState::Written => written,
                CallState::Done(_) => return true,
                CallState::Abandoned => return false,
            };
            call.state = CallState::Done(Err(ClientError::new(kind, cause)));
            wake.extend(call.waker.take());
            true
        });
        wake
    }
}

/// A handle for making calls over one multiplexed connection. Cheap to clone;
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

impl<Req, Resp> fmt::Debug for Client<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.shared.borrow();
        f.debug_struct("Client")
            .field("outstanding", &shared.calls.len())
            .field("closed", &shared.closed.is_some())
            .finish()
    }
}

impl<Req, Resp> Client<Req, Resp> {
    /// A client over `framed` with 128 tags, and the connection future to
    /// spawn. The tags bound the calls outstanding at once (waiting to be
    /// written, or written and awaiting their response); further callers wait
    /// for a tag to free up ([`with_max_tags`](Self::with_max_tags) sets
    /// another number).
    pub fn new<T, C>(framed: Framed<T, C>) -> (Client<Req, Resp>, Connection<T, C, Req, Resp>)
    where
        T: AsyncRead + AsyncWrite,
    {
        Client::with_max_tags(framed, DEFAULT_MAX_TAGS)
    }

    /// As [`new`](Self::new), with `max_tags` tags: at most that many calls
    /// outstanding (clamped to 1..=65536, what a tag's 16 index bits can name).
    pub fn with_max_tags<T, C>(
        framed: Framed<T, C>,
        max_tags: usize,
    ) -> (Client<Req, Resp>, Connection<T, C, Req, Resp>)
    where
        T: AsyncRead + AsyncWrite,
    {
        let shared = Rc::new(RefCell::new(Shared {
            calls: TagTable::new(max_tags),
            queue: VecDeque::new(),
            closed: None,
            connection: None,
            waiters: VecDeque::new(),
            next_ticket: 0,
        }));
        let client = Client {
            shared: shared.clone(),
        };
        let connection = Connection {
            framed,
            shared,
            desynchronized: None,
        };
        (client, connection)
    }

    /// Sends `request` and waits for its response.
    ///
    /// # Errors
    /// See [`ClientErrorKind`]. Dropping this future before the request is
    /// written withdraws it; after, the request stands and its response is
    /// discarded.
    pub async fn call(&self, request: Req) -> Result<Resp, ClientError> {
        let mut waiting = TagWait {
            shared: &self.shared,
            ticket: None,
        };
        let mut request = Some(request);
        let tag = std::future::poll_fn(|cx| waiting.poll_insert(cx, &mut request)).await?;
        let mut call = CallGuard {
            shared: &self.shared,
            tag,
            finished: false,
        };
        std::future::poll_fn(|cx| call.poll_result(cx)).await
    }

    /// Whether the connection has ended (calls now fail with `NotWritten`).
    pub fn is_closed(&self) -> bool {
        self.shared.borrow().closed.is_some()
    }

    /// Tags taken: calls queued, awaiting a response, or abandoned with their
    /// response still due. A load measure for balancers.
    pub fn outstanding(&self) -> usize {
        self.shared.borrow().calls.len()
    }
}

impl<Req, Resp> Drop for Client<Req, Resp> {
    fn drop(&mut self) {
        // The last handle going lets an idle connection end: wake it to notice.
        wake_connection_if_last(&self.shared, |s| s.connection.clone());
    }
}

/// A caller waiting for a free tag. Dropped while registered, it gives up its
/// place; dropped after being woken without taking a tag, it passes the wake on,
/// so a freed tag never sits unclaimed while others wait.
struct TagWait<'a, Req, Resp> {
    shared: &'a RefCell<Shared<Req, Resp>>,
    /// This caller's place in `Shared::waiters`, once it has waited.
    ticket: Option<u64>,
}

impl<Req, Resp> TagWait<'_, Req, Resp> {
    /// Takes a tag for `request` and queues it for the connection, or waits.
    fn poll_insert(
        &mut self,
        cx: &mut Context<'_>,
        request: &mut Option<Req>,
    ) -> Poll<Result<Tag, ClientError>> {
        let mut shared = self.shared.borrow_mut();
        if let Some(cause) = &shared.closed {
            let error = ClientError::new(ClientErrorKind::NotWritten, cause.clone());
            return Poll::Ready(Err(error));
        }
        let Some(req) = request.take() else {
            return Poll::Pending;
        };
        let call = Call {
            state: CallState::Queued(req),
            waker: None,
        };
        match shared.calls.insert(call) {
            Ok(tag) => {
                shared.queue.push_back(tag);
                let connection = shared.connection.clone();
                drop(shared);
                self.leave();
                if let Some(w) = connection {
                    w.wake();
                }
                Poll::Ready(Ok(tag))
            }
            Err(call) => {
                if let CallState::Queued(req) = call.state {
                    *request = Some(req);
                }
                match self.ticket.and_then(|t| position(&shared.waiters, t)) {
                    Some(i) => {
                        if let Some((_, waker)) = shared.waiters.get_mut(i) {
                            waker.clone_from(cx.waker());
                        }
                    }
                    None => {
                        let ticket = shared.next_ticket;
                        shared.next_ticket += 1;
                        shared.waiters.push_back((ticket, cx.waker().clone()));
                        self.ticket = Some(ticket);
                    }
                }
                Poll::Pending
            }
        }
    }

    /// Stops waiting: gives up this caller's place if it still has one, else
    /// (it was woken for a tag it did not take) passes the wake on.
    fn leave(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let next = {
            let Ok(mut shared) = self.shared.try_borrow_mut() else {
                return;
            };
            match position(&shared.waiters, ticket) {
                Some(i) => {
                    shared.waiters.remove(i);
                    None
                }
                None if !shared.calls.is_full() => shared.waiters.pop_front(),
                None => None,
            }
        };
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }
}

impl<Req, Resp> Drop for TagWait<'_, Req, Resp> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Where `ticket` waits in `waiters`, if it still does. Tickets are pushed in
/// increasing order and only leave from the front or by their own caller, so
/// the queue stays sorted.
fn position(waiters: &VecDeque<(u64, Waker)>, ticket: u64) -> Option<usize> {
    waiters.binary_search_by_key(&ticket, |(t, _)| *t).ok()
}

/// A call holding a tag. Dropped before its result is taken, it withdraws an
/// unwritten request or abandons a written one.
struct CallGuard<'a, Req, Resp> {
    shared: &'a RefCell<Shared<Req, Resp>>,
    tag: Tag,
    /// Set once the result was taken and the tag freed.
    finished: bool,
}

impl<Req, Resp> CallGuard<'_, Req, Resp> {
    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<Resp, ClientError>> {
        let mut shared = self.shared.borrow_mut();
        let Some(call) = shared.calls.get_mut(self.tag) else {
            // The tag is this guard's until it frees it: nothing else removes it.
            debug_assert!(false, "call {} left the table while awaited", self.tag);
            self.finished = true;
            let error = ClientError::new(ClientErrorKind::ConnectionLost, "call lost its tag");
            return Poll::Ready(Err(error));
        };
        if !matches!(call.state, CallState::Done(_)) {
            if !call.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                call.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let Some(Call {
            state: CallState::Done(result),
            ..
        }) = shared.calls.remove(self.tag)
        else {
            unreachable!("the call was just seen done under this tag");
        };
        self.finished = true;
        let next = shared.waiters.pop_front();
        drop(shared);
        if let Some((_, waker)) = next {
            waker.wake();
        }
        Poll::Ready(result)
    }
}

impl<Req, Resp> Drop for CallGuard<'_, Req, Resp> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let next = {
            let Ok(mut shared) = self.shared.try_borrow_mut() else {
                return;
            };
            let tag = self.tag;
            match shared.calls.get_mut(tag) {
                Some(call) if matches!(call.state, CallState::Written) => {
                    call.state = CallState::Abandoned;
                    call.waker = None;
                    None
                }
                Some(call) => {
                    if matches!(call.state, CallState::Queued(_)) {
                        shared.queue.retain(|&t| t != tag);
                    }
                    shared.free(tag)
                }
                None => None,
            }
        };
        if let Some(waker) = next {
            waker.wake();
        }
    }
}

/// The future that drives a client's connection: spawn it. It ends with `Ok`
/// when every [`Client`] is dropped and every call answered, or when the server
/// closes the connection; or with the error that broke it. Either way every
/// outstanding call has failed by then.
pub struct Connection<T: AsyncRead + AsyncWrite, C, Req, Resp> {
    framed: Framed<T, C>,
    shared: Rc<RefCell<Shared<Req, Resp>>>,
    /// Set when a response arrived under a tag not in flight: what happened.
    desynchronized: Option<String>,
}

impl<T: AsyncRead + AsyncWrite, C, Req, Resp> fmt::Debug for Connection<T, C, Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("desynchronized", &self.desynchronized)
            .finish_non_exhaustive()
    }
}

impl<T, C, Req, Resp> Connection<T, C, Req, Resp>
where
    T: AsyncRead + AsyncWrite,
    C: Decoder<Item = (Tag, Resp)> + Encoder<(Tag, Req), Error = <C as Decoder>::Error>,
    <C as Decoder>::Error: fmt::Display,
{
    /// Runs the connection to its end.
    ///
    /// # Errors
    /// The codec's error that ended the connection; a response under a tag not
    /// in flight is an [`InvalidData`](std::io::ErrorKind::InvalidData) I/O
    /// error converted into it.
    pub async fn run(mut self) -> Result<(), <C as Decoder>::Error> {
        let result = std::future::poll_fn(|cx| self.poll_turn(cx)).await;
        let (cause, written) = match (&result, self.desynchronized.take()) {
            (_, Some(cause)) => (cause, ClientErrorKind::Desynchronized),
            (Ok(()), None) => (
                "connection closed".to_owned(),
                ClientErrorKind::ConnectionLost,
            ),
            (Err(e), None) => (e.to_string(), ClientErrorKind::ConnectionLost),
        };
        let wake = self.shared.borrow_mut().close(&cause, written);
        wake.into_iter().for_each(Waker::wake);
        result
    }

    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), <C as Decoder>::Error>> {
        loop {
            let mut progressed = false;
            {
                let mut shared = self.shared.borrow_mut();
                if !shared
                    .connection
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    shared.connection = Some(cx.waker().clone());
                }
                while let Some(tag) = shared.queue.pop_front() {
                    let Some(call) = shared.calls.get_mut(tag) else {
                        continue;
                    };
                    let CallState::Queued(request) =
                        std::mem::replace(&mut call.state, CallState::Written)
                    else {
                        unreachable!("queued tags name queued calls");
                    };
                    progressed = true;
                    if let Err(e) = self.framed.encode((tag, request)) {
                        let error = ClientError::new(ClientErrorKind::NotWritten, e.to_string());
                        call.state = CallState::Done(Err(error));
                        let waker = call.waker.take();
                        drop(shared);
                        waker.into_iter().for_each(Waker::wake);
                        return Poll::Ready(Err(e));
                    }
                }
            }
            if self.framed.write_buffered() > 0 {
                match self.framed.poll_flush(cx) {
                    Poll::Ready(Ok(())) => progressed = true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                    Poll::Pending => {}
                }
            }
            match self.framed.poll_next(cx) {
                Poll::Ready(Some(Ok((tag, response)))) => {
                    progressed = true;
                    if let Err(e) = self.complete(tag, response) {
                        return Poll::Ready(Err(e));
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => {}
            }
            // With no handle left there are no callers, and no call but
            // abandoned ones: nothing more will be asked or awaited.
            if Rc::strong_count(&self.shared) == 1 && self.framed.write_buffered() == 0 {
                return Poll::Ready(Ok(()));
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }

    /// Hands `response` to the call under `tag`.
    fn complete(&mut self, tag: Tag, response: Resp) -> Result<(), <C as Decoder>::Error> {
        let mut shared = self.shared.borrow_mut();
        let wake = match shared.calls.get_mut(tag) {
            Some(call) if matches!(call.state, CallState::Written) => {
                call.state = CallState::Done(Ok(response));
                call.waker.take()
            }
            Some(call) if matches!(call.state, CallState::Abandoned) => shared.free(tag),
            _ => {
                let message = format!("response tag {tag} matches no call in flight");
                self.desynchronized = Some(message.clone());
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, message).into());
            }
        };
        drop(shared);
        wake.into_iter().for_each(Waker::wake);
        Ok(())
    }
}

impl<T, C, Req, Resp> Drop for Connection<T, C, Req, Resp>
where
    T: AsyncRead + AsyncWrite,
{
    fn drop(&mut self) {
        let wake = {
            let Ok(mut shared) = self.shared.try_borrow_mut() else {
                return;
            };
            shared.close("connection dropped", ClientErrorKind::ConnectionLost)
        };
        wake.into_iter().for_each(Waker::wake);
    }
}
