//! A single-threaded, first-come-first-served semaphore: the permits behind
//! [`ConcurrencyLimit`](super::ConcurrencyLimit).
//!
//! Callers that find no free permit queue in arrival order, and a released
//! permit goes straight to the first live waiter rather than back to the pool,
//! so a newcomer can never overtake a caller that is already waiting.
//!
//! # Who touches what
//!
//! - `State::available` counts permits nobody holds. It is non-zero only while
//!   no live waiter is queued, because [`release`] hands a permit to a waiter
//!   before it would count it as available.
//! - A [`Waiter`]'s [`Grant`] is moved from `Waiting` by exactly one side:
//!   to `Granted` by [`release`], which has popped it from the queue, or to
//!   `Cancelled` by its dropped [`Queued`] guard, which leaves it in the queue
//!   for `release` (or compaction) to discard. From `Granted` the guard alone
//!   moves it to `Taken` (now a [`Permit`]), or, if dropped first, releases the
//!   permit it was handed so that the next waiter gets it.
//!
//! Nothing here is `Send`: a runtime is one thread, so `Cell` and `RefCell`
//! suffice, and no borrow is held while a waker runs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A counting semaphore for tasks of one runtime; clones share the permits.
#[derive(Debug, Clone)]
pub(crate) struct Semaphore {
    shared: Rc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: RefCell<State>,
}

#[derive(Debug)]
struct State {
    /// Permits held by nobody; non-zero only while no live waiter is queued.
    available: usize,
    /// Waiters in arrival order, live and cancelled ones mixed.
    queue: VecDeque<Rc<Waiter>>,
    /// How many queued waiters are `Cancelled`; kept at most half the queue by
    /// compaction, so abandoned waiters cannot pile up.
    cancelled: usize,
}

/// One queued caller.
#[derive(Debug)]
struct Waiter {
    grant: Cell<Grant>,
    /// Woken by `release` after it grants the permit.
    waker: RefCell<Option<Waker>>,
}

/// Where a queued caller stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// In the queue, without a permit.
    Waiting,
    /// Popped from the queue and handed a permit its caller has not taken yet.
    Granted,
    /// The caller took the permit: it now lives in a [`Permit`].
    Taken,
    /// The caller gave up while waiting; still in the queue until discarded.
    Cancelled,
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub(crate) fn new(permits: usize) -> Semaphore {
        let state = State {
            available: permits,
            queue: VecDeque::new(),
            cancelled: 0,
        };
        Semaphore {
            shared: Rc::new(Shared {
                state: RefCell::new(state),
            }),
        }
    }

    /// Whether every permit is held, so an acquire would wait.
    pub(crate) fn is_exhausted(&self) -> bool {
        self.shared.state.borrow().available == 0
    }

    /// Waits, in arrival order, for a permit. Dropping the future while it
    /// waits gives up its place without losing or keeping a permit.
    pub(crate) async fn acquire(&self) -> Permit {
        let queued = {
            let mut state = self.shared.state.borrow_mut();
            if state.available > 0 {
                state.available -= 1;
                return Permit {
                    shared: self.shared.clone(),
                };
            }
            let waiter = Rc::new(Waiter {
                grant: Cell::new(Grant::Waiting),
                waker: RefCell::new(None),
            });
            state.queue.push_back(waiter.clone());
            Queued {
                shared: self.shared.clone(),
                waiter,
            }
        };
        poll_fn(|cx| match queued.waiter.grant.get() {
            Grant::Granted => Poll::Ready(()),
            _ => {
                *queued.waiter.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        queued.waiter.grant.set(Grant::Taken);
        Permit {
            shared: self.shared.clone(),
        }
    }
}

/// A held permit; dropping it releases the permit to the next waiter.
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Rc<Shared>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        release(&self.shared);
    }
}

/// A caller's place in the queue, for as long as `acquire` waits.
struct Queued {
    shared: Rc<Shared>,
    waiter: Rc<Waiter>,
}

impl Drop for Queued {
    fn drop(&mut self) {
        match self.waiter.grant.get() {
            Grant::Waiting => {
                self.waiter.grant.set(Grant::Cancelled);
                let mut state = self.shared.state.borrow_mut();
                state.cancelled += 1;
                if state.cancelled * 2 > state.queue.len() {
                    state
                        .queue
                        .retain(|waiter| waiter.grant.get() != Grant::Cancelled);
                    state.cancelled = 0;
                }
            }
            // Handed a permit but dropped before taking it: pass it on.
            Grant::Granted => release(&self.shared),
            Grant::Taken | Grant::Cancelled => {}
        }
    }
}

/// Gives a permit to the first live waiter, or back to the pool if none waits.
fn release(shared: &Shared) {
    let waiter = {
        let mut state = shared.state.borrow_mut();
        loop {
            match state.queue.pop_front() {
                None => {
                    state.available += 1;
                    return;
                }
                Some(waiter) if waiter.grant.get() == Grant::Cancelled => {
                    state.cancelled = state.cancelled.saturating_sub(1);
                }
                Some(waiter) => break waiter,
            }
        }
    };
    waiter.grant.set(Grant::Granted);
    let waker = waiter.waker.borrow_mut().take();
    if let Some(waker) = waker {
        waker.wake();
    }
}
