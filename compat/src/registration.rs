//! Per-fd readiness state: which directions may be ready, and who waits on each.
//!
//! The proactor registers an fd with mio once, on its first `WouldBlock`, for both
//! directions and edge-triggered, then keeps what the edges told it here. Lookups
//! by fd go through an fd-indexed `Vec`; the registration itself lives in a `Slab`
//! whose key is the mio token.
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
use std::os::fd::RawFd;
use std::task::Waker;

use mio::unix::SourceFd;
use mio::{Interest, Token};
use slab::Slab;

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
    fd: RawFd,
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
    pub(crate) fn clear_ready(&mut self, interest: Interest) {
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

    /// Moves every waiter, of both directions, into `to_wake`.
    fn take_waiters(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.append(&mut self.read.waiters);
        to_wake.append(&mut self.write.waiters);
    }
}

/// Every registered fd: the registrations, and the fd-indexed map to them.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// The registrations; an entry's key is its mio token.
    slab: Slab<Registration>,
    /// `by_fd[fd]` is the slab key of `fd`'s registration, if it has one. Grows to
    /// the highest fd number registered, which the process's fd limit bounds.
    /// Invariant: every key here names a live slab entry (set on insert, cleared
    /// before the entry is removed).
    by_fd: Vec<Option<usize>>,
}

impl Registry {
    /// Number of registered fds.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// The registration of `fd`, if it has one.
    pub(crate) fn get_mut(&mut self, fd: RawFd) -> Option<&mut Registration> {
        let key = usize::try_from(fd)
            .ok()
            .and_then(|index| self.by_fd.get(index).copied().flatten())?;
        self.slab.get_mut(key)
    }

    /// The registration of `fd`, registering it with mio first if it has none: both
    /// directions, edge-triggered, once per fd lifetime.
    ///
    /// The token is the slab key. Keys index a `Vec` of non-zero-sized entries, so
    /// they can never reach `usize::MAX`, which the proactor keeps for unparking.
    pub(crate) fn get_or_register(
        &mut self,
        fd: RawFd,
        mio_registry: &mio::Registry,
    ) -> io::Result<&mut Registration> {
        let index = usize::try_from(fd).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("fd {fd} is negative and cannot be registered"),
            )
        })?;
        if let Some(key) = self.by_fd.get(index).copied().flatten() {
            let registration = self.slab.get_mut(key);
            return Ok(registration.expect("by_fd names only live slab entries"));
        }
        let entry = self.slab.vacant_entry();
        let token = Token(entry.key());
        mio_registry.register(
            &mut SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        if self.by_fd.len() <= index {
            self.by_fd.resize(index + 1, None);
        }
        if let Some(slot) = self.by_fd.get_mut(index) {
            *slot = Some(token.0);
        }
        Ok(entry.insert(Registration {
            fd,
            read: Direction::new(),
            write: Direction::new(),
        }))
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
        fd: RawFd,
        mio_registry: &mio::Registry,
        to_wake: &mut Vec<Waker>,
    ) {
        let Some(slot) = usize::try_from(fd)
            .ok()
            .and_then(|index| self.by_fd.get_mut(index))
        else {
            return;
        };
        let Some(key) = slot.take() else {
            return;
        };
        let Some(mut registration) = self.slab.try_remove(key) else {
            return;
        };
        // Best effort: if the caller already closed the fd, the kernel dropped the
        // registration with it and this fails with EBADF, which changes nothing.
        let _ = mio_registry.deregister(&mut SourceFd(&registration.fd));
        registration.take_waiters(to_wake);
    }

    /// Moves the waiters of every registration into `to_wake`, leaving the
    /// registrations in place.
    pub(crate) fn take_all_waiters(&mut self, to_wake: &mut Vec<Waker>) {
        for (_, registration) in self.slab.iter_mut() {
            registration.take_waiters(to_wake);
        }
    }
}
