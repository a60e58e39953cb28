//! A pipelined connection's clocks: the idle and request timeouts, and the
//! moment a quiet connection gives back its memory (or parks, `park.rs`).
//!
//! Why one timer: every connection needs the release check and most servers
//! set timeouts too, so one sleep serves them all and is re-armed lazily (see
//! [`IdleTimer`]): a busy connection must not pay a timer-wheel update per
//! request.

use std::future::Future;
use std::task::Context;
use std::time::{Duration, Instant};

use ringo_reactor::time::{sleep_until, Sleep};

use crate::dispatch::wake::WakeSet;

/// How long a connection must be quiet before it frees its memory between
/// requests (buffers, in-flight slots, the codec's scratch). Freeing it after
/// every request would cost more than it saves while requests keep coming (a
/// few hundred instructions each to allocate it again); a client that pauses
/// this long is idle, and thousands of idle keep-alive connections are what
/// a server's memory goes to.
pub(super) const RELEASE_AFTER: Duration = Duration::from_millis(250);

/// What a quiet connection's timer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Idle {
    /// Nothing to do yet.
    Waiting,
    /// Quiet for [`RELEASE_AFTER`]: free the memory kept between requests.
    Release,
    /// The idle or request deadline passed: close.
    Expired,
}

/// The idle and request deadlines of one connection, and the moment its
/// memory is released.
///
/// While the connection is quiet (reading, nothing in flight, nothing to write)
/// it must produce its next request in time: within `idle` if no byte of it has
/// arrived, within `request` of the moment the first bytes were seen.
///
/// A busy connection goes quiet once per request, so the timer is lazy: its
/// sleep is left armed across requests, and a sleep due before the deadline
/// only wakes the connection to re-arm it. Moving it every time would cost a
/// timer-wheel removal, an insertion and a waker clone per request; a stale
/// sleep costs one spurious wake per timeout at most.
///
/// The release is lazier still, as every connection has one, timeouts or
/// not: a check every [`RELEASE_AFTER`] that releases if the connection did
/// nothing since the last check and is quiet now — between one and two
/// periods into a quiet spell, for one clock read per period, not per request.
///
/// And the sleep is polled only when its own waker fired (a one-slot
/// [`WakeSet`] that also wakes the task), not on every quiet turn: asking the
/// timer wheel costs more than asking that flag.
pub(super) struct IdleTimer {
    idle: Option<Duration>,
    request: Option<Duration>,
    quiet_since: Option<Instant>,
    partial_since: Option<Instant>,
    /// When the release is next checked; `None` until the connection is
    /// first quiet after a release (or ever).
    release_check: Option<Instant>,
    /// The connection made progress since the release check was armed.
    active: bool,
    /// This quiet spell's memory was released.
    released: bool,
    sleep: Option<Sleep>,
    /// The sleep's waker, which says whether it fired.
    wake: WakeSet,
    /// The sleep is in the wheel with `wake`'s waker and has not fired
    /// since: until the waker says so, polling it would find it pending.
    waiting: bool,
}

impl IdleTimer {
    pub(super) fn new(idle: Option<Duration>, request: Option<Duration>) -> IdleTimer {
        IdleTimer {
            idle,
            request,
            quiet_since: None,
            partial_since: None,
            release_check: None,
            active: false,
            released: false,
            sleep: None,
            wake: WakeSet::new(1),
            waiting: false,
        }
    }

    /// What the connection must do now. `progressed` (a request decoded or a
    /// response written this turn) restarts the clock; when the connection is
    /// quiet the timer is armed at once, as no further pass may come.
    pub(super) fn poll(
        &mut self,
        quiet: bool,
        partial: bool,
        progressed: bool,
        cx: &mut Context<'_>,
    ) -> Idle {
        if !quiet || progressed {
            self.quiet_since = None;
            self.partial_since = None;
            self.active = true;
            self.released = false;
        }
        if !quiet {
            return Idle::Waiting;
        }
        let expiry = match (self.idle, self.request) {
            (None, None) => None,
            _ => self.deadline(partial),
        };
        let mut release = match self.released || partial {
            true => None,
            false => Some(
                *self
                    .release_check
                    .get_or_insert_with(|| Instant::now() + RELEASE_AFTER),
            ),
        };
        loop {
            let Some(next) = earliest(expiry, release) else {
                // Nothing to wait for (released, no timeouts): the timer's
                // entry, and the waker it keeps, go until the next request.
                self.sleep = None;
                self.waiting = false;
                return Idle::Waiting;
            };
            let sleep = self.sleep.get_or_insert_with(|| sleep_until(next));
            if sleep.deadline() > next {
                sleep.reset(next);
                self.waiting = false;
            }
            // Also registers `cx` as the task the sleep's waker wakes.
            let woken = self.wake.take_any(cx);
            if self.waiting && !woken {
                return Idle::Waiting;
            }
            let waker = self.wake.rearm(0);
            if std::pin::Pin::new(&mut *sleep)
                .poll(&mut Context::from_waker(waker))
                .is_pending()
            {
                self.waiting = true;
                return Idle::Waiting;
            }
            self.waiting = false;
            let fired = sleep.deadline();
            if fired < next {
                // A sleep armed for an earlier quiet spell: re-armed for this
                // one (and ready at once if this deadline has passed as well).
                sleep.reset(next);
                continue;
            }
            if expiry.is_some_and(|expiry| expiry <= fired) {
                return Idle::Expired;
            }
            if std::mem::take(&mut self.active) {
                // Busy since the check was armed: check again a period on.
                release = Some(Instant::now() + RELEASE_AFTER);
                self.release_check = release;
                continue;
            }
            self.released = true;
            self.release_check = None;
            return Idle::Release;
        }
    }

    /// The sleep that ends a connection parked now (quiet, no partial
    /// request): due at the idle deadline, re-using the armed sleep; `None`
    /// without an idle timeout.
    pub(super) fn into_expiry(mut self) -> Option<Sleep> {
        let expiry = self.deadline(false)?;
        let mut sleep = self.sleep.take().unwrap_or_else(|| sleep_until(expiry));
        if sleep.deadline() != expiry {
            sleep.reset(expiry);
        }
        Some(sleep)
    }

    /// The deadline of the current quiet spell, noting when it (and, with
    /// `partial`, the request under way) started; `None` if none applies.
    fn deadline(&mut self, partial: bool) -> Option<Instant> {
        let needs_start = self.quiet_since.is_none() || (partial && self.partial_since.is_none());
        if needs_start {
            let now = Instant::now();
            self.quiet_since.get_or_insert(now);
            if partial {
                self.partial_since.get_or_insert(now);
            }
        }
        match (self.partial_since, self.request, self.idle) {
            (Some(since), Some(limit), _) => Some(since + limit),
            (_, _, Some(limit)) => self.quiet_since.map(|since| since + limit),
            (_, _, None) => None,
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
