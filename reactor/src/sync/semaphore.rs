//! [`Semaphore`]: counting permits for the tasks of one runtime, first come
//! first served — the building block of [`Mutex`](super::Mutex),
//! [`RwLock`](super::RwLock), bounded [`mpsc`](super::mpsc) channels and
//! service-layer concurrency limits.
//!
//! # Fairness
//!
//! Callers that find too few free permits queue in arrival order, and released
//! permits go to the head of the queue before anyone else: a newcomer never
//! overtakes a caller already waiting, and a caller wanting many permits is not
//! starved by a stream of callers wanting one (they queue behind it).
//!
//! # Who touches what
//!
//! - `State::available` counts permits nobody holds and no waiter has been
//!   granted. While a live waiter is queued, `available` is less than what the
//!   head waiter needs (else [`grant`] would have granted it).
//! - A [`Waiter`]'s [`Grant`] is moved from `Waiting` by exactly one side: to
//!   `Granted` by [`grant`], which has popped it from the queue, or to
//!   `Cancelled` by its dropped [`Queued`] guard, which leaves it in the queue
//!   for `grant` (or compaction) to discard. From `Granted` the guard alone
//!   moves it to `Taken` (now a [`Permit`]), or, if dropped first, gives the
//!   permits it was handed to the next waiters: a cancelled caller never loses
//!   or keeps a permit.
//!
//! Nothing here is `Send`: a runtime is one thread, so `Cell` and `RefCell`
//! suffice, and no borrow is held while a waker runs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A counting semaphore for the tasks of one runtime; clones share the
/// permits. `!Send`: it uses no atomics (see the [module docs](super)).
///
/// # Examples
/// ```
/// use ringo_reactor::sync::Semaphore;
///
/// ringo_reactor::run(async {
///     let semaphore = Semaphore::new(2);
///     let first = semaphore.acquire().await.unwrap();
///     let _second = semaphore.acquire().await.unwrap();
///     assert!(semaphore.try_acquire().is_none()); // both taken
///     drop(first);
///     assert!(semaphore.try_acquire().is_some());
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Semaphore {
    shared: Rc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: RefCell<State>,
}

#[derive(Debug)]
struct State {
    /// Permits held by nobody (see the module docs for the invariant).
    available: usize,
    /// Every permit there is, held or not: a request for more can never be met.
    total: usize,
    /// Set by [`Semaphore::close`]: acquires fail from then on.
    closed: bool,
    /// Waiters in arrival order, live and cancelled ones mixed.
    queue: VecDeque<Rc<Waiter>>,
    /// How many queued waiters are `Cancelled`; kept at most half the queue by
    /// compaction, so abandoned waiters cannot pile up.
    cancelled: usize,
}

/// One queued caller.
#[derive(Debug)]
struct Waiter {
    /// Permits it asked for.
    wants: usize,
    grant: Cell<Grant>,
    /// Woken by `grant` (or `close`) once the grant has moved.
    waker: RefCell<Option<Waker>>,
}

/// Where a queued caller stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// In the queue, without permits.
    Waiting,
    /// Popped from the queue and handed its permits; its caller has not taken them yet.
    Granted,
    /// The caller took the permits: they now live in a [`Permit`].
    Taken,
    /// The caller gave up while waiting; still in the queue until discarded.
    Cancelled,
    /// Popped by [`Semaphore::close`] without permits.
    Closed,
}

/// Why an acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The semaphore was [closed](Semaphore::close).
    Closed,
    /// More permits were asked for than the semaphore has in all, so the call
    /// could never succeed (it fails at once rather than wait forever).
    TooMany,
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AcquireError::Closed => "semaphore closed",
            AcquireError::TooMany => "more permits asked for than the semaphore has",
        })
    }
}

impl std::error::Error for AcquireError {}

impl Semaphore {
    /// A semaphore with `permits` permits.
    pub fn new(permits: usize) -> Semaphore {
        let state = State {
            available: permits,
            total: permits,
            closed: false,
            queue: VecDeque::new(),
            cancelled: 0,
        };
        Semaphore {
            shared: Rc::new(Shared {
                state: RefCell::new(state),
            }),
        }
    }

    /// Permits nobody holds right now.
    pub fn available_permits(&self) -> usize {
        self.shared.state.borrow().available
    }

    /// Whether the semaphore was [closed](Semaphore::close).
    pub fn is_closed(&self) -> bool {
        self.shared.state.borrow().closed
    }

    /// Waits, in arrival order, for one permit.
    ///
    /// Cancel-safe: dropping the future while it waits gives up its place
    /// without losing or keeping a permit.
    pub async fn acquire(&self) -> Result<Permit, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits, in arrival order, for `n` permits at once; cancel-safe like
    /// [`acquire`](Semaphore::acquire). Fails at once with
    /// [`AcquireError::TooMany`] when `n` exceeds the semaphore's total.
    pub async fn acquire_many(&self, n: usize) -> Result<Permit, AcquireError> {
        let queued = {
            let mut state = self.shared.state.borrow_mut();
            if state.closed {
                return Err(AcquireError::Closed);
            }
            if n > state.total {
                return Err(AcquireError::TooMany);
            }
            if state.cancelled == state.queue.len() && state.available >= n {
                state.available -= n;
                return Ok(self.permit(n));
            }
            let waiter = Rc::new(Waiter {
                wants: n,
                grant: Cell::new(Grant::Waiting),
                waker: RefCell::new(None),
            });
            state.queue.push_back(waiter.clone());
            Queued {
                shared: self.shared.clone(),
                waiter,
            }
        };
        let granted = poll_fn(|cx| match queued.waiter.grant.get() {
            Grant::Granted => Poll::Ready(true),
            Grant::Closed => Poll::Ready(false),
            _ => {
                *queued.waiter.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if !granted {
            return Err(AcquireError::Closed);
        }
        queued.waiter.grant.set(Grant::Taken);
        Ok(self.permit(n))
    }

    /// One permit if it is free now and nobody waits; never waits.
    pub fn try_acquire(&self) -> Option<Permit> {
        self.try_acquire_many(1)
    }

    /// `n` permits if they are free now and nobody waits; never waits.
    pub fn try_acquire_many(&self, n: usize) -> Option<Permit> {
        let mut state = self.shared.state.borrow_mut();
        let nobody_waits = state.cancelled == state.queue.len();
        if state.closed || !nobody_waits || state.available < n {
            return None;
        }
        state.available -= n;
        drop(state);
        Some(self.permit(n))
    }

    /// Closes the semaphore: waiting and later acquires fail with
    /// [`AcquireError::Closed`]; permits already held stay valid.
    pub fn close(&self) {
        let waiters: Vec<_> = {
            let mut state = self.shared.state.borrow_mut();
            state.closed = true;
            state.cancelled = 0;
            state.queue.drain(..).collect()
        };
        for waiter in waiters {
            if waiter.grant.get() == Grant::Waiting {
                waiter.grant.set(Grant::Closed);
                wake(&waiter);
            }
        }
    }

    fn permit(&self, count: usize) -> Permit {
        Permit {
            shared: self.shared.clone(),
            count,
        }
    }
}

/// Held permits; dropping them releases them to the next waiters.
#[derive(Debug)]
pub struct Permit {
    shared: Rc<Shared>,
    count: usize,
}

impl Permit {
    /// How many permits this holds.
    pub fn count(&self) -> usize {
        self.count
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        release(&self.shared, self.count);
    }
}

/// A caller's place in the queue, for as long as `acquire_many` waits.
struct Queued {
    shared: Rc<Shared>,
    waiter: Rc<Waiter>,
}

impl Drop for Queued {
    fn drop(&mut self) {
        match self.waiter.grant.get() {
            Grant::Waiting => {
                self.waiter.grant.set(Grant::Cancelled);
                {
                    let mut state = self.shared.state.borrow_mut();
                    state.cancelled += 1;
                    if state.cancelled * 2 > state.queue.len() {
                        state
                            .queue
                            .retain(|waiter| waiter.grant.get() != Grant::Cancelled);
                        state.cancelled = 0;
                    }
                }
                // It may have been the head that kept smaller waiters out.
                release(&self.shared, 0);
            }
            // Handed permits but dropped before taking them: pass them on.
            Grant::Granted => release(&self.shared, self.waiter.wants),
            Grant::Taken | Grant::Cancelled | Grant::Closed => {}
        }
    }
}

/// Returns `n` permits and grants waiters, in order, while the head's wants
/// are met.
fn release(shared: &Shared, n: usize) {
    let mut granted = Vec::new();
    {
        let mut state = shared.state.borrow_mut();
        state.available += n;
        while let Some(head) = state.queue.pop_front() {
            if head.grant.get() == Grant::Cancelled {
                state.cancelled = state.cancelled.saturating_sub(1);
                continue;
            }
            if head.wants > state.available {
                state.queue.push_front(head);
                break;
            }
            state.available -= head.wants;
            head.grant.set(Grant::Granted);
            granted.push(head);
        }
    }
    for waiter in granted {
        wake(&waiter);
    }
}

fn wake(waiter: &Waiter) {
    let waker = waiter.waker.borrow_mut().take();
    if let Some(waker) = waker {
        waker.wake();
    }
}
