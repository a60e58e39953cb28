//! [`oneshot`](channel): send one value from one task to another of the same
//! runtime — the usual way to get a reply back from a spawned task.
//!
//! No atomics: both ends are `!Send`. Dropping the [`Receiver`] while it waits
//! loses nothing a later poll would have got (the value stays in the channel
//! until received); dropping the [`Sender`] unsent ends the wait with
//! [`RecvError`].

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A channel for one value: the [`Sender`] and the [`Receiver`] (a future).
///
/// # Examples
/// ```
/// use ringo_reactor::sync::oneshot;
///
/// ringo_reactor::run(async {
///     let (tx, rx) = oneshot::channel();
///     ringo_reactor::spawn(async move { tx.send(42).unwrap() });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Rc::new(Shared {
        value: RefCell::new(None),
        receiver_waker: RefCell::new(None),
        sender_gone: Cell::new(false),
        receiver_gone: Cell::new(false),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    value: RefCell<Option<T>>,
    receiver_waker: RefCell<Option<Waker>>,
    /// Set when the sender is dropped, sent or not.
    sender_gone: Cell<bool>,
    /// Set when the receiver is dropped: a send would go nowhere.
    receiver_gone: Cell<bool>,
}

/// The sending end of a [`oneshot`](channel) channel.
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

/// The receiving end of a [`oneshot`](channel) channel: a future of the value.
#[must_use = "futures do nothing unless polled"]
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
}

/// The [`Sender`] was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

impl<T> Sender<T> {
    /// Sends `value`, or gives it back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        if self.shared.receiver_gone.get() {
            return Err(value);
        }
        *self.shared.value.borrow_mut() = Some(value);
        Ok(()) // dropping `self` wakes the receiver
    }

    /// Whether the receiver is gone, so a send would fail.
    pub fn is_closed(&self) -> bool {
        self.shared.receiver_gone.get()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.sender_gone.set(true);
        let waker = self.shared.receiver_waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The value if it was sent; never waits. `Ok(None)` while the sender may
    /// still send.
    pub fn try_recv(&mut self) -> Result<Option<T>, RecvError> {
        match self.shared.value.borrow_mut().take() {
            Some(value) => Ok(Some(value)),
            None if self.shared.sender_gone.get() => Err(RecvError),
            None => Ok(None),
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.try_recv() {
            Ok(Some(value)) => Poll::Ready(Ok(value)),
            Err(e) => Poll::Ready(Err(e)),
            Ok(None) => {
                *self.shared.receiver_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_gone.set(true);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("sender_gone", &self.shared.sender_gone.get())
            .finish()
    }
}
