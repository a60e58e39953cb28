//! The [`Proactor`]: completion semantics on top of mio readiness.
//!
//! `poll_op` tries an operation at once and, on `WouldBlock`, parks the caller's
//! waker on the fd; `park` waits for mio events and wakes those wakers so their
//! tasks retry. Per-fd state lives in `registration.rs`.
//!
//! # Why no wakeup is lost
//!
//! A wakeup could be lost if readiness arrived after an attempt saw `WouldBlock`
//! but before its waker was stored. That cannot happen here: events are only ever
//! *read* in `park`, on the proactor's own thread, and `poll_op` takes `&mut self`,
//! so attempt, clear-ready and store-waker run back to back with no `park` between
//! them. Readiness that arrives meanwhile waits in the kernel's queue (epoll reports
//! a fresh edge for it; registering an fd that is already ready reports it at
//! once), and the next `park` sees it after the waker is in place.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Events, Token};

use crate::blocking::{BlockingPool, DEFAULT_MAX_BLOCKING_THREADS, IDLE_TIMEOUT};
use crate::registration::Registry;
use crate::sys::{RawSource, REARM_AFTER_WOULD_BLOCK};
use crate::Operation;

/// The token of the unpark waker. Registrations use slab keys, which never reach
/// `usize::MAX` (see `Registry::wait_after_would_block`).
const UNPARK_TOKEN: Token = Token(usize::MAX);

/// How many events one `park` takes from the kernel. More stay queued for the next
/// `park`; 1024 is what a busy server's loop turn can sensibly handle before it
/// runs its tasks again.
const EVENTS_CAPACITY: usize = 1024;

/// Runs [`Operation`]s with completion semantics on a mio poller, plus a bounded
/// blocking thread pool for work that has no readiness (file I/O).
///
/// One proactor belongs to one loop thread: every method but
/// [`spawn_blocking`](Proactor::spawn_blocking) and [`unparker`](Proactor::unparker)
/// takes `&mut self`. Other threads wake a parked loop through an [`Unparker`].
///
/// Dropping the proactor wakes every task still waiting on an fd (their retry
/// then fails or completes on its own) and lets the pool threads finish their
/// current job and exit.
pub struct Proactor {
    poll: mio::Poll,
    events: Events,
    registry: Registry,
    unpark: Arc<mio::Waker>,
    pool: BlockingPool,
    /// Wakers collected while the state is being updated, woken once it is
    /// consistent. Kept between calls so waking does not allocate.
    to_wake: Vec<Waker>,
}

impl Proactor {
    /// A proactor whose blocking pool has at most
    /// [`DEFAULT_MAX_BLOCKING_THREADS`] threads.
    pub fn new() -> io::Result<Proactor> {
        Proactor::with_blocking_threads(DEFAULT_MAX_BLOCKING_THREADS)
    }

    /// A proactor whose blocking pool has at most `max` threads.
    ///
    /// Fails with `InvalidInput` if `max` is 0 (jobs would never run), or with the
    /// OS error if the poller cannot be created.
    pub fn with_blocking_threads(max: usize) -> io::Result<Proactor> {
        if max == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "blocking thread limit 0 under minimum 1",
            ));
        }
        let poll = mio::Poll::new()?;
        let unpark = Arc::new(mio::Waker::new(poll.registry(), UNPARK_TOKEN)?);
        Ok(Proactor {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            registry: Registry::default(),
            unpark,
            pool: BlockingPool::new(max, IDLE_TIMEOUT),
            to_wake: Vec::new(),
        })
    }

    /// Tries `op` now (one attempt) and reports whether it completed.
    ///
    /// `Ready(result)` when it completed, with its success or real error.
    /// `Pending` after storing `cx.waker()`, to be woken by [`park`](Proactor::park)
    /// when the fd may be ready again; the caller then polls again. If the fd is
    /// registered and known not to be ready for `op`'s interest, no syscall is made:
    /// the waker is stored and `Pending` returned straight away.
    ///
    /// The fd is registered with the poller on its first `WouldBlock`; a
    /// registration failure (e.g. EPERM for a regular file on epoll) completes the
    /// operation with that error.
    pub fn poll_op<O: Operation + ?Sized>(
        &mut self,
        op: &mut O,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        let (fd, interest) = op.readiness();
        if let Some(registration) = self.registry.get_mut(fd) {
            if !registration.is_ready(interest) {
                registration.wait(interest, cx.waker());
                return Poll::Pending;
            }
        }
        loop {
            match op.attempt() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Where a source must be re-armed after `WouldBlock`, only a
                // `WouldBlock` may end its readiness: no event would follow a
                // drained read that skipped it.
                Ok(n) if !REARM_AFTER_WOULD_BLOCK && op.drained(n) => {
                    // An edge that arrives after this attempt is read by a later
                    // `park`, which sets the direction ready again.
                    if let Some(registration) = self.registry.get_mut(fd) {
                        registration.clear_drained(interest);
                    }
                    return Poll::Ready(Ok(n));
                }
                result => return Poll::Ready(result),
            }
        }
        // See "Why no wakeup is lost" in the module doc: no event is read between
        // the attempt above and the waker being stored below.
        match self
            .registry
            .wait_after_would_block(fd, interest, cx.waker(), self.poll.registry())
        {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Blocks until an event, an unpark, or `timeout` (`None` waits forever,
    /// `Some(Duration::ZERO)` only polls), then wakes the waiters of every fd that
    /// became ready.
    ///
    /// Returns `Ok(())` early when a signal interrupts the wait; callers loop
    /// anyway, so this is just one more turn. An event may be spurious: woken tasks
    /// retry, and a retry that answers `WouldBlock` simply waits again.
    pub fn park(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for event in self.events.iter() {
            let token = event.token();
            if token == UNPARK_TOKEN {
                // Its only job was to end the wait.
                continue;
            }
            // An error, a hang-up or a closed read side may let either direction
            // finish (with the error or EOF), so both retry.
            let closed = event.is_error() || event.is_read_closed() || event.is_write_closed();
            self.registry.set_ready(
                token,
                closed || event.is_readable(),
                closed || event.is_writable(),
                closed,
                &mut self.to_wake,
            );
        }
        self.wake_collected();
        Ok(())
    }

    /// A handle that other threads use to end a [`park`](Proactor::park).
    pub fn unparker(&self) -> Unparker {
        Unparker {
            waker: Arc::clone(&self.unpark),
        }
    }

    /// Forgets `fd` and wakes every task waiting on it (their retry sees EBADF, or
    /// whatever the fd has become).
    ///
    /// Call it *before* closing `fd`: a later fd with the same number then starts
    /// with fresh state. An fd closed without it keeps a stale registration that
    /// never sees an event again, so operations on its number's next owner could
    /// wait forever. Does nothing if `fd` is not registered.
    pub fn deregister(&mut self, fd: RawSource) {
        self.registry
            .remove(fd, self.poll.registry(), &mut self.to_wake);
        self.wake_collected();
    }

    /// Runs `job` on the blocking thread pool, never on the calling thread (unless
    /// the OS refuses to start any pool thread at all; then `job` runs here rather
    /// than never).
    ///
    /// Threads start on demand up to the pool's maximum and exit after 10 s without
    /// work; jobs beyond the maximum wait in a FIFO queue. A job that panics is
    /// caught and does not take its thread down. Jobs not yet started when the
    /// proactor is dropped are dropped without running.
    pub fn spawn_blocking(&self, job: Box<dyn FnOnce() + Send + 'static>) {
        self.pool.spawn(job);
    }

    /// Number of fds currently registered with the poller.
    pub fn registered(&self) -> usize {
        self.registry.len()
    }

    /// Wakes the wakers collected by the last state change. Called only once the
    /// state is consistent: on another thread a woken waker may run arbitrary code,
    /// on this one it only schedules.
    fn wake_collected(&mut self) {
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }
}

impl Drop for Proactor {
    fn drop(&mut self) {
        // No task may wait forever on a poller that is going away.
        self.registry.take_all_waiters(&mut self.to_wake);
        self.wake_collected();
    }
}

impl fmt::Debug for Proactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proactor")
            .field("poll", &self.poll)
            .field("registered", &self.registry.len())
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Ends a [`Proactor::park`] from any thread: a parked proactor returns promptly,
/// and one not parked right now returns promptly from its next `park`.
///
/// Cheap to clone; `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Unparker {
    waker: Arc<mio::Waker>,
}

impl Unparker {
    /// Wakes the proactor's poller.
    ///
    /// Best effort: an OS error (which the poller's own wakeup mechanism makes
    /// unlikely) is ignored, since the caller could do nothing about it and the
    /// proactor will still wake on its own timeout or next event.
    pub fn unpark(&self) {
        let _ = self.waker.wake();
    }
}
