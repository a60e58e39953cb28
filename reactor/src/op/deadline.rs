//! Deadlines on single operations: a read or write that gives up at a point in
//! time and still hands its buffer back.
//!
//! Wrapping an op's future in [`time::timeout`](crate::time::timeout) costs a
//! timer-wheel entry and, when it fires, drops the future: the buffer goes to
//! the orphaned slot, a cancel follows, and bytes the kernel had already
//! received for that read are lost with it. A deadline *on the op* avoids all
//! of that. On io_uring the op is submitted as one SQE pair: the op with
//! `IOSQE_IO_LINK`, then an `IORING_OP_LINK_TIMEOUT` at the deadline. The
//! kernel cancels the op when the timeout fires first, and the op completes
//! with `-ECANCELED`, which becomes [`io::ErrorKind::TimedOut`]; data that beat
//! the deadline is returned as usual. No timer, no cancel SQE, no orphan.
//!
//! Elsewhere — compat, a ring that cannot link (a one-entry SQ, or the test
//! hook), or a deadline moved earlier on an op already in flight — the timer
//! wheel keeps the deadline: a compat readiness op, which has nothing
//! outstanding between polls, just returns `TimedOut`; an op in a slot is
//! cancelled and its completion awaited, so the buffer and any bytes that
//! raced the cancel still come back.
//!
//! `-ECANCELED` means "timed out" only at or after the deadline: the kernel's
//! timer never fires early (the timespec is rounded up, see
//! [`monotonic_timespec`]), so an op cancelled for another reason before its
//! deadline keeps its `ECANCELED`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::Instant;

use super::OpCode;
use crate::driver::lifecycle::{Completion, Key, WakeOn};
use crate::driver::{self, Driver, Submission};
use crate::time::{sleep_until, Elapsed, Sleep};

/// The deadline of one op and how it is being enforced.
pub(crate) struct Deadline {
    /// When the op gives up.
    at: Instant,
    /// Set when the op went to io_uring with a linked timeout: the absolute
    /// `CLOCK_MONOTONIC` time the kernel reads — boxed, so it stays put while
    /// the op moves, and kept until the op completes (see [`orphan`]) — and
    /// the deadline it stands for.
    #[cfg(target_os = "linux")]
    linked: Option<(Box<io_uring::types::Timespec>, Instant)>,
    /// The timer wheel's watch over a deadline the kernel does not keep.
    timer: Timer,
}

enum Timer {
    /// Not needed yet: armed on the first wait.
    Idle,
    Armed(Sleep),
    /// The deadline passed and was acted on.
    Fired,
}

impl Deadline {
    pub(crate) fn new(at: Instant) -> Deadline {
        Deadline {
            at,
            #[cfg(target_os = "linux")]
            linked: None,
            timer: Timer::Idle,
        }
    }

    /// Moves the deadline of an op already started to `at` if that is
    /// earlier. A later one cannot apply: the kernel may already hold the
    /// linked timeout.
    pub(crate) fn tighten(&mut self, at: Instant) {
        if at < self.at {
            self.at = at;
            if let Timer::Armed(sleep) = &mut self.timer {
                sleep.reset(at);
            }
        }
    }

    /// Whether the kernel's linked timeout enforces the deadline as it stands.
    fn kernel_keeps(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some((_, linked)) = &self.linked {
            return *linked <= self.at;
        }
        false
    }

    /// Submits `op` with this deadline: as a linked pair where `driver` can
    /// link, else plainly (the timer takes over on the first wait). A
    /// deadline already past is not linked either: the timer fires at the
    /// first wait and the cancel leaves with the op in one `io_uring_enter`,
    /// where a kernel timer would cost the thread a sleep and a wake-up
    /// (measured: 5 µs against 49 µs per op).
    pub(crate) fn submit<T: OpCode>(
        &mut self,
        driver: &Driver,
        op: &mut T,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Submission> {
        #[cfg(target_os = "linux")]
        if driver.link_timeouts() && self.at > Instant::now() {
            let timespec = Box::new(monotonic_timespec(self.at)?);
            // SAFETY: the timespec is boxed in this deadline, which stays with
            // the op until its completion: in the `Op` future, or in the slot
            // with the orphaned op (see `orphan`).
            let key = unsafe { driver.submit_linked(op, &timespec, waker, wake_on) }?;
            self.linked = Some((timespec, self.at));
            return Ok(Submission::InFlight(key));
        }
        driver.submit(op, waker, wake_on)
    }

    /// Whether the deadline has passed and the caller should act on it: true
    /// once, on the poll that sees it pass. Arms the timer wheel on the first
    /// call; a deadline the kernel keeps never reports here.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.kernel_keeps() {
            return false;
        }
        if let Timer::Idle = self.timer {
            self.timer = Timer::Armed(sleep_until(self.at));
        }
        let Timer::Armed(sleep) = &mut self.timer else {
            return false;
        };
        if Pin::new(sleep).poll(cx).is_pending() {
            return false;
        }
        self.timer = Timer::Fired;
        true
    }

    /// The op's completion as its caller sees it: `ECANCELED` at or after the
    /// deadline is the deadline's doing, reported as `TimedOut`.
    pub(crate) fn completion(&self, completion: Completion) -> Completion {
        match &completion.result {
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) && Instant::now() >= self.at => {
                Completion {
                    result: Err(timed_out()),
                    flags: completion.flags,
                }
            }
            _ => completion,
        }
    }
}

/// The error of an op whose deadline passed: `TimedOut`, as
/// [`time::timeout`](crate::time::timeout)'s [`Elapsed`] converts to.
pub(crate) fn timed_out() -> io::Error {
    io::Error::from(Elapsed(()))
}

/// Hands an op dropped in flight to its slot. A linked timeout's timespec goes
/// along: the kernel reads it when it takes the SQE, which may not have
/// happened yet (the pair leaves with the next `io_uring_enter`), and it has
/// certainly happened by the op's completion, when the slot frees it. A timer
/// is simply dropped, leaving the wheel.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))] // only io_uring links timeouts
pub(crate) fn orphan<T: OpCode>(deadline: Option<Deadline>, key: Key, op: T) {
    #[cfg(target_os = "linux")]
    if let Some((timespec, _)) = deadline.and_then(|d| d.linked) {
        return driver::orphan(
            key,
            Linked {
                op,
                _timespec: timespec,
            },
        );
    }
    driver::orphan(key, op);
}

/// An orphaned op with the timespec its linked timeout points at.
#[cfg(target_os = "linux")]
struct Linked<T> {
    op: T,
    _timespec: Box<io_uring::types::Timespec>,
}

#[cfg(target_os = "linux")]
impl<T: OpCode> crate::driver::lifecycle::Orphan for Linked<T> {
    fn complete(&mut self, completion: &Completion) {
        self.op.complete_orphan(completion);
    }
}

/// `at` as an absolute `CLOCK_MONOTONIC` time (the clock of `Instant` on
/// Linux and of io_uring timeouts), rounded up: `now` is read before the
/// clock, so the result is never earlier than `at` and the kernel's timer
/// never fires before the deadline. An absolute time also keeps the deadline
/// exact however long the SQE waits in the ring before the kernel takes it.
#[cfg(target_os = "linux")]
fn monotonic_timespec(at: Instant) -> io::Result<io_uring::types::Timespec> {
    let now = Instant::now();
    let mut clock = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` into the live local it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut clock) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let clock = std::time::Duration::new(clock.tv_sec as u64, clock.tv_nsec as u32);
    Ok((clock + at.saturating_duration_since(now)).into())
}

#[cfg(test)]
mod tests;
