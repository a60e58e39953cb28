//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`].
//!
//! Every timer lives in its runtime's hierarchical timer wheel (`wheel.rs`): O(1)
//! to add and to cancel (dropping a `Sleep` removes its entry), with millisecond
//! resolution. A timer never fires early: deadlines round up to the next
//! millisecond. The driver sleeps until the next deadline the wheel can name
//! cheaply: exact within the next 64 ms, and for a far timer the start of its
//! coarse slot — so on the way to a far deadline the driver wakes at most once
//! per wheel level (five times), never busy-waits and never oversleeps.

pub(crate) mod wheel;

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::runtime::context;
use wheel::TimerKey;

/// Waits until `duration` has passed.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// ringo_reactor::run(async {
///     let start = Instant::now();
///     ringo_reactor::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        key: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`]. Dropping it cancels the timer.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The wheel entry, from the first poll on.
    key: Option<TimerKey>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (the timer is re-armed on the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            context::try_with(|rt| rt.timers.borrow_mut().remove(key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let fired = context::with(|rt| {
            let mut timers = rt.timers.borrow_mut();
            match self.key {
                Some(key) if timers.is_fired(key) => true,
                Some(key) => {
                    timers.set_waker(key, cx.waker());
                    false
                }
                None if deadline <= Instant::now() => true,
                None => {
                    self.key = Some(timers.insert(deadline, cx.waker().clone()));
                    false
                }
            }
        });
        if fired {
            self.cancel();
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Runs `future` with a time limit: its output, or [`Elapsed`] if `duration`
/// passes first — in which case `future` is dropped, cancelling its I/O safely.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// ringo_reactor::run(async {
///     let slow = ringo_reactor::time::sleep(Duration::from_secs(60));
///     let result = ringo_reactor::time::timeout(Duration::from_millis(1), slow).await;
///     assert!(result.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// The future of [`timeout`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, to take back a resource it owns after a time-out.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out while pinned);
        // `sleep` is Unpin and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: the pin projection described above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose time ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elapsed(pub(crate) ());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline elapsed")
    }
}

/// A stream of ticks `period` apart, the first one at once.
///
/// A tick missed because the task was busy is not made up in a burst: the next
/// tick is scheduled `period` after the late one (the "delay" policy).
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    Interval {
        period,
        sleep: sleep_until(Instant::now()),
    }
}

/// Ticks at a fixed period; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let scheduled = self.sleep.deadline();
        let next = (scheduled + self.period).max(Instant::now());
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// The ticks as a never-ending stream of their scheduled times, for code that
/// takes a [`Stream`] (a streamed HTTP body of periodic events, for one).
impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
