//! Multishot accept: a listener's accepts served by one armed op.
//!
//! On io_uring (Linux 5.19 or later) a listener arms **one multishot accept**
//! ([`AcceptMulti`]) on its first accept; the kernel completes it once per
//! connection, and the new fds queue in the op's slot, oldest first, until
//! `accept` calls collect them. No SQE per connection. A multishot accept cannot
//! report the peer's address, so the caller asks `getpeername(2)` afterwards.
//! The kernel ends the multishot with a completion without `F_MORE` (on an
//! error such as `EMFILE`, or when it cannot keep it armed): that error goes to
//! the caller, and the next accept arms a new one. A kernel that rejects the
//! multishot flag answers the first completion with `EINVAL`; the listener then
//! falls back to single-shot accepts for good.
//!
//! Running out of fds needs care. The kernel accepts greedily, ahead of the
//! caller: near the fd limit it fills the room with connections queued here,
//! then ends with `EMFILE` — while the caller, taking one connection at a time
//! and closing it, was never short of an fd. So an `EMFILE` (or `ENFILE`) that
//! ends an arming which had accepted connections arms again instead of
//! failing; only one that ends a fresh arming at once reaches the caller.
//! Each re-arming thus follows a connection handed out: no loop without
//! progress, and a process really at its limit gets the error on every call.
//!
//! Elsewhere (compat, older kernels, or the test hook) [`Accepting::poll_accept`]
//! answers `None` and the listener uses the single-shot
//! [`Accept`](super::accept::Accept).
//!
//! The state lives in the listener ([`Accepting`]), not in the future, so
//! dropping an `accept` future leaves the multishot armed and loses no
//! connection; dropping the listener cancels it, and every fd the kernel
//! accepted but nobody collected — queued in the slot or completing after the
//! cancel — is closed.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::task::{Context, Poll, Waker};

use ringo_compat::{Interest, Operation};

use super::OpCode;
use crate::driver;
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::{Completion, Key};
use crate::fd::SharedFd;
use crate::runtime::{budget, context};
use crate::sys::{self, c, OwnedSocket, RawSource};

/// The multishot accept: armed once, completes with one new fd per connection.
/// Its completions are collected through the slot as a stream, so
/// [`OpCode::complete`] is never called; what it owns matters when the
/// listener is dropped while it is armed.
pub(crate) struct AcceptMulti {
    /// The listener's fd, which the SQE names (by number or by registered
    /// slot). Kept until the kernel has taken the SQE; released early when the
    /// listener is dropped (see [`Accepting`]'s `Drop`).
    fd: Option<SharedFd>,
}

impl Operation for AcceptMulti {
    fn readiness(&self) -> (RawSource, Interest) {
        (
            self.fd.as_ref().map_or(sys::INVALID, SharedFd::raw),
            Interest::READABLE,
        )
    }

    fn attempt(&mut self) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "multishot accept runs only on io_uring",
        ))
    }
}

impl OpCode for AcceptMulti {
    type Output = ();

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let fd = self
            .fd
            .as_ref()
            .expect("invariant: the op holds the listener's fd until its SQE is taken");
        fd.sqe(files, |fd| {
            io_uring::opcode::AcceptMulti::new(fd)
                .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                .build()
        })
    }

    fn complete(self, _: Completion) {}

    /// A connection accepted for a dropped listener: nobody will take it.
    fn complete_orphan(&mut self, completion: &Completion) {
        if let Ok(fd) = completion.result {
            // SAFETY: the kernel created this fd for the op and it was never
            // handed to anyone; we own it and close it here.
            drop(unsafe { sys::from_raw(fd as RawSource) });
        }
    }
}

/// Where a listener's multishot accept is.
enum State {
    /// Nothing armed: the next accept arms one (or falls back).
    Idle,
    /// A multishot accept is armed in `key`'s slot; `fresh` until its first
    /// completion has been collected.
    Armed {
        key: Key,
        op: AcceptMulti,
        fresh: bool,
    },
    /// Multishot accept is unavailable: every accept is single-shot.
    Single,
}

/// A listener's multishot accept state; see the [module docs](self).
pub(crate) struct Accepting {
    state: RefCell<State>,
    /// Tasks waiting in `accept` besides the one whose waker the slot holds
    /// (the slot keeps one): woken whenever a connection is handed out, so each
    /// re-registers. Holds one waker per task accepting concurrently.
    waiters: RefCell<Vec<Waker>>,
}

impl Accepting {
    pub(crate) fn new() -> Accepting {
        Accepting {
            state: RefCell::new(State::Idle),
            waiters: RefCell::new(Vec::new()),
        }
    }

    /// The next connection accepted on `fd` by the multishot accept, or `None`
    /// when this listener accepts single-shot (the caller then submits an
    /// [`Accept`](super::accept::Accept)).
    pub(crate) fn poll_accept(
        &self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<OwnedSocket>>> {
        let Ok(mut state) = self.state.try_borrow_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "multishot accept re-entered on the same listener",
            )));
        };
        loop {
            match &mut *state {
                State::Single => return Poll::Ready(Ok(None)),
                State::Idle => {
                    if !context::with(|rt| rt.driver.multishot_accept()) {
                        *state = State::Single;
                        continue;
                    }
                    let mut op = AcceptMulti {
                        fd: Some(fd.clone()),
                    };
                    let key = context::with(|rt| rt.driver.submit_stream(&mut op, None))?;
                    *state = State::Armed {
                        key,
                        op,
                        fresh: true,
                    };
                }
                State::Armed { key, fresh, .. } => {
                    if !budget::try_spend() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let key = *key;
                    let Poll::Ready(completion) =
                        context::with(|rt| rt.driver.poll_stream(key, cx))
                    else {
                        self.wait(cx.waker());
                        return Poll::Pending;
                    };
                    let first = std::mem::replace(fresh, false);
                    let more = completion.more();
                    if !more {
                        // The slot is gone with this completion; so is the op.
                        *state = State::Idle;
                    }
                    match completion.result {
                        Ok(raw) => {
                            self.wake_waiters();
                            // SAFETY: the kernel just created this fd for us and
                            // the slot handed its completion out once; nothing
                            // else owns it.
                            let fd = unsafe { sys::from_raw(raw as RawSource) };
                            return Poll::Ready(Ok(Some(fd)));
                        }
                        Err(e) if first && !more && e.raw_os_error() == Some(c::EINVAL) => {
                            // The kernel does not know the multishot flag.
                            *state = State::Single;
                        }
                        Err(e)
                            if !first
                                && !more
                                && matches!(e.raw_os_error(), Some(c::EMFILE | libc::ENFILE)) =>
                        {
                            // Out of fds after accepting ahead of the caller:
                            // arm again (see the module docs); the state is
                            // already idle.
                        }
                        Err(e) => {
                            self.wake_waiters();
                            return Poll::Ready(Err(e));
                        }
                    }
                }
            }
        }
    }

    /// Remembers `waker` unless it is already among the waiters.
    fn wait(&self, waker: &Waker) {
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
    }

    /// Wakes every task that waited, so the ones still accepting poll again.
    fn wake_waiters(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

impl Drop for Accepting {
    fn drop(&mut self) {
        if let State::Armed { key, mut op, .. } =
            std::mem::replace(self.state.get_mut(), State::Idle)
        {
            // Once the kernel has taken the arming SQE, the op holds its own
            // reference to the listening socket: the fd number can close now,
            // with the listener, instead of when the cancel's completion is
            // reaped (a caller counting or reusing fds sees it gone at once).
            if context::try_with(|rt| rt.driver.flush_taken()).unwrap_or(false) {
                op.fd = None;
            }
            driver::orphan(key, op);
            // Send the cancel now, so the kernel lets go of the socket (and its
            // port) without waiting for the next loop turn.
            context::try_with(|rt| rt.driver.flush());
        }
    }
}

impl fmt::Debug for Accepting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.try_borrow().as_deref() {
            Ok(State::Idle) => "idle",
            Ok(State::Armed { .. }) => "armed",
            Ok(State::Single) => "single-shot",
            Err(_) => "busy",
        };
        f.debug_struct("Accepting").field("state", &state).finish()
    }
}
