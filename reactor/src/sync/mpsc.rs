//! [`mpsc`](self): many senders, one receiver, for the tasks of one runtime —
//! bounded ([`channel`]) so a slow receiver holds senders back, or unbounded
//! ([`unbounded_channel`]) where the sender must never wait.
//!
//! No atomics: every end is `!Send`. Between runtimes on different threads use
//! a runtime-agnostic channel instead (`futures::channel::mpsc`,
//! `async-channel`): a ringo `Waker` may be woken from any thread.
//!
//! # Fairness and cancellation
//!
//! Messages arrive in the order they were sent. Senders waiting for room in a
//! bounded channel get it first come first served (the room is a
//! [`Semaphore`]). Dropping a [`Sender::send`] future while it waits gives up
//! its place without taking room (the unsent message is dropped with the
//! future); dropping a [`Receiver::recv`] future never loses a message — it
//! stays queued for the next receive.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::semaphore::{Permit, Semaphore};

/// A bounded channel holding at most `capacity` unreceived messages (a
/// `capacity` of 0 is taken as 1).
///
/// # Examples
/// ```
/// use ringo_reactor::sync::mpsc;
///
/// ringo_reactor::run(async {
///     let (tx, mut rx) = mpsc::channel(16);
///     for n in 0..3 {
///         let tx = tx.clone();
///         ringo_reactor::spawn(async move { tx.send(n).await.unwrap() });
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(n) = rx.recv().await {
///         got.push(n);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let room = Semaphore::new(capacity.max(1));
    let (handle, receiver) = new_channel(Some(room.clone()));
    (Sender { handle, room }, receiver)
}

/// An unbounded channel: sending never waits. Memory grows with the backlog,
/// so prefer [`channel`] unless the sender must not wait and the receiver is
/// known to keep up.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let (handle, receiver) = new_channel(None);
    (UnboundedSender { handle }, receiver)
}

fn new_channel<T>(room: Option<Semaphore>) -> (SenderHandle<T>, Receiver<T>) {
    let chan = Rc::new(Chan {
        queue: RefCell::new(VecDeque::new()),
        receiver_waker: RefCell::new(None),
        senders: Cell::new(1),
        receiver_gone: Cell::new(false),
        room,
    });
    (SenderHandle { chan: chan.clone() }, Receiver { chan })
}

struct Chan<T> {
    /// Unreceived messages, each with the room it takes in a bounded channel
    /// (released when it is received).
    queue: RefCell<VecDeque<(T, Option<Permit>)>>,
    receiver_waker: RefCell<Option<Waker>>,
    /// Live senders; at 0 the receiver sees the end once the queue is empty.
    senders: Cell<usize>,
    /// Set when the receiver closes or is dropped: sends fail.
    receiver_gone: Cell<bool>,
    /// The room of a bounded channel; closed with the receiver.
    room: Option<Semaphore>,
}

impl<T> Chan<T> {
    fn push(&self, value: T, room: Option<Permit>) {
        self.queue.borrow_mut().push_back((value, room));
        self.wake_receiver();
    }

    fn wake_receiver(&self) {
        let waker = self.receiver_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Counts live senders for both sender types, so neither repeats it.
struct SenderHandle<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Clone for SenderHandle<T> {
    fn clone(&self) -> Self {
        self.chan.senders.set(self.chan.senders.get() + 1);
        SenderHandle {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for SenderHandle<T> {
    fn drop(&mut self) {
        let left = self.chan.senders.get() - 1;
        self.chan.senders.set(left);
        if left == 0 {
            self.chan.wake_receiver();
        }
    }
}

/// The receiver is gone; the message comes back.
#[derive(PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`] did not send; the message comes back.
#[derive(PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is at capacity.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// Sends to a bounded [`channel`]; clone it for more senders.
pub struct Sender<T> {
    handle: SenderHandle<T>,
    /// The channel's room (the same semaphore as the channel's).
    room: Semaphore,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            handle: self.handle.clone(),
            room: self.room.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Waits for room, then sends `value`; gives it back if the receiver is
    /// gone. Cancel-safe as the module docs say.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let chan = &self.handle.chan;
        match self.room.acquire().await {
            Ok(permit) if !chan.receiver_gone.get() => {
                chan.push(value, Some(permit));
                Ok(())
            }
            _ => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is room now; never waits.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let chan = &self.handle.chan;
        if chan.receiver_gone.get() {
            return Err(TrySendError::Closed(value));
        }
        match self.room.try_acquire() {
            Some(permit) => {
                chan.push(value, Some(permit));
                Ok(())
            }
            None => Err(TrySendError::Full(value)),
        }
    }

    /// Whether the receiver is gone, so sends fail.
    pub fn is_closed(&self) -> bool {
        self.handle.chan.receiver_gone.get()
    }
}

/// Sends to an [`unbounded_channel`]; clone it for more senders.
pub struct UnboundedSender<T> {
    handle: SenderHandle<T>,
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            handle: self.handle.clone(),
        }
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` at once; gives it back if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let chan = &self.handle.chan;
        if chan.receiver_gone.get() {
            return Err(SendError(value));
        }
        chan.push(value, None);
        Ok(())
    }

    /// Whether the receiver is gone, so sends fail.
    pub fn is_closed(&self) -> bool {
        self.handle.chan.receiver_gone.get()
    }
}

/// Receives from a [`channel`] or an [`unbounded_channel`]. Also a
/// `futures_core::Stream`, so `StreamExt` combinators work on it.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// The next message, or `None` once every sender is gone and the queue is
    /// empty. Cancel-safe: a dropped `recv` loses no message.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next message if one is queued; never waits. `Ok(None)` while
    /// senders remain; `Err(Disconnected)` once they are all gone and the
    /// queue is empty.
    pub fn try_recv(&mut self) -> Result<Option<T>, Disconnected> {
        let next = self.chan.queue.borrow_mut().pop_front();
        match next {
            // The permit, dropped here, gives the message's room back.
            Some((value, _room)) => Ok(Some(value)),
            None if self.chan.senders.get() == 0 => Err(Disconnected),
            None => Ok(None),
        }
    }

    /// Polls for the next message, as [`recv`](Receiver::recv) does.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.try_recv() {
            Ok(Some(value)) => Poll::Ready(Some(value)),
            Err(Disconnected) => Poll::Ready(None),
            Ok(None) => {
                *self.chan.receiver_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Stops further sends (they fail and waiting senders wake with an
    /// error); messages already queued can still be received.
    pub fn close(&mut self) {
        self.chan.receiver_gone.set(true);
        if let Some(room) = &self.chan.room {
            room.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        // Unreceived messages go now, not when the last sender does.
        let unreceived = std::mem::take(&mut *self.chan.queue.borrow_mut());
        drop(unreceived);
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Every sender is gone and nothing is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every sender is gone")
    }
}

impl std::error::Error for Disconnected {}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiver gone")
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "channel full",
            TrySendError::Closed(_) => "receiver gone",
        })
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("queued", &self.chan.queue.borrow().len())
            .finish()
    }
}
