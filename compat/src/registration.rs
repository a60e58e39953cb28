//! Per-fd readiness state: which directions may be ready, and who waits on each.
//!
//! The proactor registers an fd with mio once, on its first `WouldBlock`,
//! edge-triggered, then keeps what the edges told it here (re-arming it where
//! the platform asks for that, see `sys`). Lookups by fd go through the
//! platform's `SourceIndex`; the registration itself lives in a `Slab` whose
//! key is the mio token.
//!
//! # Who touches what, when
//!
//! Everything here is owned by the `Proactor` and touched only on its thread:
//! `poll_op` clears a ready bit when an attempt answers `WouldBlock` (and adds a
//! waiter) or says it drained the fd; `park` sets ready bits from mio events and moves the waiters out to be
//! woken; `deregister` and the proactor's drop move every waiter out. Wakers are
//! never woken from in here: they are handed back to the caller, which wakes them
//! once the state is consistent.

use std::io;
use std::task::Waker;

use mio::{Interest, Token};
use slab::Slab;

use crate::sys::{RawSource, Source, SourceIndex};

/// Which directions an [`Interest`] asks for, as (readable, writable).
///
/// An interest with neither direction (e.g. only `PRIORITY`) counts as readable, so
/// that it still waits on something.
pub(crate) fn directions(interest: Interest) -> (bool, bool) {
    let writable = interest.is_writable();
    (interest.is_readable() || !writable, writable)
}

/// One direction (read or write) of one registered fd.
#[derive(Debug)]
struct Direction {
    /// True when the fd may be ready in this direction, so an attempt is worth a
    /// syscall. Starts true (unknown means "try"), cleared when an attempt answers
    /// `WouldBlock` or drained the fd, set again by a mio event for this direction.
    ready: bool,
    /// True once an event reported an error or a closed side. Such an edge
    /// comes once, so a drained attempt must not clear `ready` after it: the
    /// next attempt has to run to see the EOF or the error.
    closed: bool,
    /// Wakers of the tasks whose operation waits on this direction. Deduplicated
    /// with `will_wake`; emptied whenever the direction becomes ready.
    waiters: Vec<Waker>,
}

impl Direction {
    fn new() -> Direction {
        Direction {
            ready: true,
            closed: false,
            waiters: Vec::new(),
        }
    }

    fn wait(&mut self, waker: &Waker) {
        if !self.waiters.iter().any(|w| w.will_wake(waker)) {
            self.waiters.push(waker.clone());
        }
    }

    fn set_ready(&mut self, closed: bool, to_wake: &mut Vec<Waker>) {
        self.ready = true;
        self.closed |= closed;
        to_wake.append(&mut self.waiters);
    }

    fn clear_drained(&mut self) {
        if !self.closed {
            self.ready = false;
        }
    }
}

/// The readiness state of one registered fd.
#[derive(Debug)]
pub(crate) struct Registration {
    source: Source,
    token: Token,
    read: Direction,
    write: Direction,
}

impl Registration {
    /// Whether an operation with this interest may make progress, i.e. whether any
    /// direction it asks for may be ready.
    pub(crate) fn is_ready(&self, interest: Interest) -> bool {
        let (readable, writable) = directions(interest);
        (readable && self.read.ready) || (writable && self.write.ready)
    }

    /// Records that an attempt with this interest answered `WouldBlock`: the
    /// directions it asks for are not ready until the next event.
    fn clear_ready(&mut self, interest: Interest) {
        let (readable, writable) = directions(interest);
        if readable {
            self.read.ready = false;
        }
        if writable {
            self.write.ready = false;
        }
    }

    /// Records that an attempt with this interest completed but drained its
    /// directions (see `Operation::drained`): they are not ready until the next
    /// event, unless an earlier event reported them closed.
    pub(crate) fn clear_drained(&mut self, interest: Interest) {
        let (readable, writable) = directions(interest);
        if readable {
            self.read.clear_drained();
        }
        if writable {
            self.write.clear_drained();
        }
    }

    /// Stores `waker` to be woken when a direction this interest asks for becomes
    /// ready.
    pub(crate) fn wait(&mut self, interest: Interest, waker: &Waker) {
        let (readable, writable) = directions(interest);
        if readable {
            self.read.wait(waker);
        }
        if writable {
            self.write.wait(waker);
        }
    }

    /// Re-arms the source for the directions that still have waiters, where
    /// the platform needs it (see `sys`).
    fn rearm(&mut self, mio_registry: &mio::Registry) -> io::Result<()> {
        let interest = match (self.read.waiters.is_empty(), self.write.waiters.is_empty()) {
            (false, false) => Interest::READABLE | Interest::WRITABLE,
            (false, true) => Interest::READABLE,
            (true, false) => Interest::WRITABLE,
            (true, true) => return Ok(()),
        };
        self.source.rearm(mio_registry, self.token, interest)
    }

    /// Moves every waiter, of both directions, into `to_wake`.
    fn take_waiters(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.append(&mut self.read.waiters);
        to_wake.append(&mut self.write.waiters);
    }
}

/// Every registered fd: the registrations, and the map from fd to them.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// The registrations; an entry's key is its mio token.
    slab: Slab<Registration>,
    /// The slab key of each registered fd. Invariant: every key here names a
    /// live slab entry (set on insert, removed before the entry is).
    by_fd: SourceIndex,
}

impl Registry {
    /// Number of registered fds.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// The registration of `fd`, if it has one.
    pub(crate) fn get_mut(&mut self, fd: RawSource) -> Option<&mut Registration> {
        self.slab.get_mut(self.by_fd.get(fd)?)
    }

    /// Records that an attempt on `fd` with `interest` answered `WouldBlock`:
    /// those directions are not ready, and `waker` waits for them. Registers
    /// `fd` with mio first if it has none (once per fd lifetime), and re-arms
    /// it where the platform needs that after every `WouldBlock`.
    ///
    /// The token is the slab key. Keys index a `Vec` of non-zero-sized entries, so
    /// they can never reach `usize::MAX`, which the proactor keeps for unparking.
    pub(crate) fn wait_after_would_block(
        &mut self,
        fd: RawSource,
        interest: Interest,
        waker: &Waker,
        mio_registry: &mio::Registry,
    ) -> io::Result<()> {
        if let Some(key) = self.by_fd.get(fd) {
            let registration = self.slab.get_mut(key);
            let registration = registration.expect("by_fd names only live slab entries");
            registration.clear_ready(interest);
            registration.wait(interest, waker);
            return registration.rearm(mio_registry);
        }
        let entry = self.slab.vacant_entry();
        let token = Token(entry.key());
        let source = Source::register(fd, mio_registry, token, interest)?;
        if let Err(e) = self.by_fd.insert(fd, token.0) {
            source.deregister(mio_registry);
            return Err(e);
        }
        let registration = entry.insert(Registration {
            source,
            token,
            read: Direction::new(),
            write: Direction::new(),
        });
        registration.clear_ready(interest);
        registration.wait(interest, waker);
        Ok(())
    }

    /// Applies a mio event for `token`: marks the given directions ready (and,
    /// for an error or a closed side, `closed`) and moves their waiters into
    /// `to_wake`. An unknown token (an event that raced with a deregistration) is
    /// ignored; a stale one only causes a spurious retry.
    pub(crate) fn set_ready(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
        closed: bool,
        to_wake: &mut Vec<Waker>,
    ) {
        let Some(registration) = self.slab.get_mut(token.0) else {
            return;
        };
        if readable {
            registration.read.set_ready(closed, to_wake);
        }
        if writable {
            registration.write.set_ready(closed, to_wake);
        }
    }

    /// Forgets `fd`: unregisters it from mio and moves its waiters into `to_wake`.
    /// Does nothing if `fd` is not registered.
    pub(crate) fn remove(
        &mut self,
        fd: RawSource,
        mio_registry: &mio::Registry,
        to_wake: &mut Vec<Waker>,
    ) {
        let Some(key) = self.by_fd.remove(fd) else {
            return;
        };
        let Some(mut registration) = self.slab.try_remove(key) else {
            return;
        };
        registration.take_waiters(to_wake);
        registration.source.deregister(mio_registry);
    }

    /// Moves the waiters of every registration into `to_wake`, leaving the
    /// registrations in place.
    pub(crate) fn take_all_waiters(&mut self, to_wake: &mut Vec<Waker>) {
        for (_, registration) in self.slab.iter_mut() {
            registration.take_waiters(to_wake);
        }
    }
}
