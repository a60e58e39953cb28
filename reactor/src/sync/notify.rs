//! [`Notify`]: wake one task, or every waiting task, without sending data —
//! the single-thread twin of an event or condition variable.
//!
//! # Fairness and cancellation
//!
//! Waiters are woken in the order they first polled [`Notify::notified`].
//! [`notify_one`](Notify::notify_one) with nobody waiting stores one
//! notification for the next waiter, so a wake-up sent before the waiter got
//! there is not lost. A waiter dropped after `notify_one` chose it but before
//! it saw the notification passes it on to the next waiter (or stores it): a
//! cancelled waiter never swallows a wake-up.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Notifies tasks of one runtime. Share it with an `Rc`; `!Send`.
///
/// # Examples
/// ```
/// use std::rc::Rc;
/// use ringo_reactor::sync::Notify;
///
/// ringo_reactor::run(async {
///     let ready = Rc::new(Notify::new());
///     let waiter = ringo_reactor::spawn({
///         let ready = ready.clone();
///         async move { ready.notified().await; "woken" }
///     });
///     ready.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
#[derive(Debug, Default)]
pub struct Notify {
    state: RefCell<State>,
}

#[derive(Debug, Default)]
struct State {
    /// A `notify_one` that found nobody waiting; consumed by the next waiter.
    stored: bool,
    /// Registered waiters, oldest first.
    waiters: VecDeque<Rc<Waiter>>,
}

#[derive(Debug)]
struct Waiter {
    mark: Cell<Mark>,
    waker: RefCell<Option<Waker>>,
}

/// What a registered waiter has been told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Nothing yet; it is in the queue.
    Waiting,
    /// Chosen by `notify_one`: the notification is its to use or pass on.
    One,
    /// Woken by `notify_waiters`: nothing to pass on.
    All,
}

impl Notify {
    /// A `Notify` with no stored notification.
    pub fn new() -> Notify {
        Notify::default()
    }

    /// Wakes the oldest waiter, or, if none waits, stores one notification
    /// for the next call to [`notified`](Notify::notified).
    pub fn notify_one(&self) {
        let waiter = {
            let mut state = self.state.borrow_mut();
            match state.waiters.pop_front() {
                Some(waiter) => waiter,
                None => {
                    state.stored = true;
                    return;
                }
            }
        };
        waiter.mark.set(Mark::One);
        wake(&waiter);
    }

    /// Wakes every task waiting now; stores nothing for later waiters.
    pub fn notify_waiters(&self) {
        let waiters = std::mem::take(&mut self.state.borrow_mut().waiters);
        for waiter in waiters {
            waiter.mark.set(Mark::All);
            wake(&waiter);
        }
    }

    /// Waits for a notification. The waiter takes its place in the queue when
    /// first polled; see the module docs for cancellation.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            waiter: None,
            done: false,
        }
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// Set once registered in the queue.
    waiter: Option<Rc<Waiter>>,
    /// Set once it returned `Ready`: nothing left to pass on.
    done: bool,
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("registered", &self.waiter.is_some())
            .field("done", &self.done)
            .finish()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        let Some(waiter) = &self.waiter else {
            let mut state = self.notify.state.borrow_mut();
            if std::mem::take(&mut state.stored) {
                drop(state);
                self.done = true;
                return Poll::Ready(());
            }
            let waiter = Rc::new(Waiter {
                mark: Cell::new(Mark::Waiting),
                waker: RefCell::new(Some(cx.waker().clone())),
            });
            state.waiters.push_back(waiter.clone());
            drop(state);
            self.waiter = Some(waiter);
            return Poll::Pending;
        };
        if waiter.mark.get() == Mark::Waiting {
            *waiter.waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.done = true;
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(waiter) = self.waiter.take() else {
            return;
        };
        match waiter.mark.get() {
            Mark::Waiting => self
                .notify
                .state
                .borrow_mut()
                .waiters
                .retain(|queued| !Rc::ptr_eq(queued, &waiter)),
            Mark::One if !self.done => self.notify.notify_one(),
            Mark::One | Mark::All => {}
        }
    }
}

fn wake(waiter: &Waiter) {
    let waker = waiter.waker.borrow_mut().take();
    if let Some(waker) = waker {
        waker.wake();
    }
}
