//! The deadline of the call being polled, published by [`Timeout`](super::Timeout)
//! so that layers inside it can see how much time the caller has left.
//!
//! A retry layer inside a total timeout uses it to stop before an attempt or a
//! back-off that cannot finish in time, returning the last real error instead
//! of a bare time-out. The deadline is a dynamic scope: set on the thread while
//! a `Timeout` polls its inner call, restored when that poll returns, so it
//! follows the call through every nested layer but not into tasks the call
//! spawns. A thread-local is right here because a runtime is one thread and a
//! poll never migrates (ARCHITECTURE.md, principle 3).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

thread_local! {
    /// The earliest deadline of the `Timeout`s whose call is being polled on
    /// this thread; `None` outside any of them. Written only by `poll_within`,
    /// which restores the previous value when its poll returns.
    static CURRENT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The deadline of the call being polled: the earliest of the enclosing
/// [`Timeout`](super::Timeout) layers' deadlines, or `None` when no `Timeout`
/// encloses the caller.
///
/// Only meaningful inside a service's `call` (or a future it polls directly).
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use ringo_service::{service_fn, Service};
/// use ringo_service::timeout::{current_deadline, Timeout};
///
/// let report = service_fn(|()| async { Ok::<_, std::io::Error>(current_deadline()) });
/// assert_eq!(ringo_reactor::run(report.call(())).unwrap(), None);
/// let limited = Timeout::new(report, Duration::from_secs(5));
/// let deadline = ringo_reactor::run(limited.call(())).unwrap().unwrap();
/// assert!(deadline > Instant::now());
/// ```
pub fn current_deadline() -> Option<Instant> {
    CURRENT.with(Cell::get)
}

/// Polls `future` with `deadline` (or an earlier enclosing one) published.
pub(super) fn poll_within<F: Future>(
    deadline: Instant,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    let outer = current_deadline();
    let _restore = Restore(outer);
    let nearest = outer.map_or(deadline, |outer| outer.min(deadline));
    CURRENT.with(|current| current.set(Some(nearest)));
    future.poll(cx)
}

/// Puts the enclosing deadline back when the poll returns or unwinds.
struct Restore(Option<Instant>);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.0));
    }
}
