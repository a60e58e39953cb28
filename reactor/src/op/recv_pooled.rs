//! Pooled receive: a stream's receive into the runtime's
//! [`BufferPool`](crate::buf::BufferPool), kept armed between calls.
//!
//! On io_uring with a provided buffer ring, a stream arms **one multishot
//! receive** ([`RecvMulti`]) on its first pooled receive; the kernel completes it
//! once per chunk of bytes, each time into a buffer it takes from the pool, and
//! the completions queue in the op's slot until the stream collects them. No SQE
//! per receive, and no buffer held while the connection is idle. The kernel ends
//! the multishot (a completion without `F_MORE`) at EOF, on an error, or when the
//! pool is empty (`ENOBUFS`, no bytes lost: they stay in the socket); the stream
//! re-arms on its next receive — after a buffer has come back, for `ENOBUFS`.
//!
//! Elsewhere (compat, or io_uring without provided buffers) each receive is one
//! [`RecvOnce`]: wait until the socket is readable, then take a free buffer and
//! `recv(2)` into it, so here too no buffer is held while waiting.
//!
//! The state lives in the stream ([`PooledRecv`]), not in the future, so dropping
//! a `recv_pooled` future leaves the multishot armed; dropping the stream
//! cancels it, and completions that arrive after that give their buffers back.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use ringo_compat::{Interest, Operation};

use super::{cvt, Op, OpCode};
use crate::buf::pool::{self, PoolInner};
use crate::buf::PooledBuf;
use crate::driver;
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::{Completion, Key};
use crate::fd::SharedFd;
use crate::runtime::{budget, context};

/// The multishot receive: armed once, completes into kernel-picked buffers.
/// Its completions are collected through the slot as a stream, so
/// [`OpCode::complete`] is never called; what it owns matters when the stream
/// is dropped while it is armed.
pub(crate) struct RecvMulti {
    fd: SharedFd,
    pool: Rc<PoolInner>,
}

impl Operation for RecvMulti {
    fn readiness(&self) -> (RawFd, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "multishot receive runs only on io_uring",
        ))
    }
}

impl OpCode for RecvMulti {
    type Output = ();

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        self.fd.sqe(files, |fd| {
            io_uring::opcode::RecvMulti::new(fd, pool::BUFFER_GROUP).build()
        })
    }

    fn complete(self, _: Completion) {}

    /// A completion for a dropped stream: its buffer goes straight back.
    fn complete_orphan(&mut self, completion: &Completion) {
        if let Some(id) = completion.buffer_id() {
            self.pool.put(id);
        }
    }
}

/// One emulated pooled receive: wait for readability, then `recv(2)` into a
/// free buffer. Yields `Ok(None)` at EOF, `ENOBUFS` when no buffer is free, and
/// (on io_uring, after a spurious wake) `WouldBlock`.
pub(crate) struct RecvOnce {
    fd: SharedFd,
    pool: Rc<PoolInner>,
    /// The buffer of a compat attempt that received (0 bytes: EOF).
    got: Option<PooledBuf>,
}

impl Operation for RecvOnce {
    fn readiness(&self) -> (RawFd, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let Some(mut buf) = pool::take_free(&self.pool) else {
            return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
        };
        let (ptr, len) = (buf.as_mut_ptr(), buf.capacity());
        // SAFETY: `ptr` is valid for `len` bytes of writes: the buffer is out,
        // owned by `buf`, which lives across the call.
        let n = cvt(unsafe { libc::recv(self.fd.raw(), ptr.cast(), len, 0) })?;
        // SAFETY: the kernel wrote `n <= len` bytes at the start of the buffer.
        unsafe { buf.set_len(n) };
        self.got = Some(buf);
        Ok(n)
    }
}

impl OpCode for RecvOnce {
    type Output = io::Result<Option<PooledBuf>>;

    /// On io_uring the op is only the wait: a one-shot poll for readability.
    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let events = u32::from(libc::POLLIN as u16);
        self.fd.sqe(files, |fd| {
            io_uring::opcode::PollAdd::new(fd, events).build()
        })
    }

    fn complete(mut self, completion: Completion) -> io::Result<Option<PooledBuf>> {
        completion.result?;
        if self.got.is_none() {
            // io_uring: the poll reported readability; receive now, on the loop
            // thread (the fd is non-blocking).
            self.attempt()?;
        }
        Ok(self.got.take().filter(|buf| !buf.is_empty()))
    }
}

/// Where a stream's pooled receive is.
enum State {
    /// Nothing armed: the next receive arms (or starts) one.
    Idle,
    /// A multishot receive is armed in `key`'s slot; `returns` is the pool's
    /// [`returns`](PoolInner::returns) count when it was armed.
    Armed {
        key: Key,
        op: RecvMulti,
        returns: u64,
    },
    /// An emulated receive is in progress.
    Once(Op<RecvOnce>),
    /// The pool was empty: waiting until its `returns` count moves past this.
    NoBuffers(u64),
    /// The peer closed its side; every receive yields `None`.
    Eof,
}

/// A stream's pooled receive state; see the [module docs](self).
pub(crate) struct PooledRecv {
    state: RefCell<State>,
}

impl PooledRecv {
    pub(crate) fn new() -> PooledRecv {
        PooledRecv {
            state: RefCell::new(State::Idle),
        }
    }

    /// The next received buffer of `fd`, `None` at EOF.
    pub(crate) fn poll_recv(
        &self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<PooledBuf>>> {
        let pool = context::with(|rt| rt.buffer_pool())?;
        let Ok(mut state) = self.state.try_borrow_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "pooled receive re-entered on the same stream",
            )));
        };
        loop {
            match &mut *state {
                State::Eof => return Poll::Ready(Ok(None)),
                State::Idle if pool.is_provided() => {
                    let returns = pool.returns();
                    let mut op = RecvMulti {
                        fd: fd.clone(),
                        pool: pool.clone(),
                    };
                    let key = context::with(|rt| rt.driver.submit_stream(&mut op))?;
                    *state = State::Armed { key, op, returns };
                }
                State::Idle => {
                    *state = State::Once(Op::new(RecvOnce {
                        fd: fd.clone(),
                        pool: pool.clone(),
                        got: None,
                    }));
                }
                State::Armed { key, returns, .. } => {
                    if !budget::try_spend() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let (key, armed_returns) = (*key, *returns);
                    let completion =
                        std::task::ready!(context::with(|rt| rt.driver.poll_stream(key, cx)));
                    let more = completion.more();
                    if !more {
                        // The slot is gone with this completion; so is the op.
                        *state = State::Idle;
                    }
                    let id = completion.buffer_id();
                    match (completion.result, id) {
                        (Ok(n), Some(id)) => {
                            return Poll::Ready(pool::claim(&pool, id, n).map(Some).ok_or_else(
                                || {
                                    io::Error::other(format!(
                                        "kernel picked buffer {id} of {n} bytes outside the pool"
                                    ))
                                },
                            ));
                        }
                        (Ok(0), None) if !more => {
                            *state = State::Eof;
                            return Poll::Ready(Ok(None));
                        }
                        (Ok(n), None) => {
                            return Poll::Ready(Err(io::Error::other(format!(
                                "multishot receive of {n} bytes came without a buffer"
                            ))));
                        }
                        (Err(e), id) => {
                            if let Some(id) = id {
                                pool.put(id);
                            }
                            if e.raw_os_error() == Some(libc::ENOBUFS) {
                                if !more {
                                    *state = State::NoBuffers(armed_returns);
                                }
                                continue;
                            }
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                State::Once(op) => {
                    let result = std::task::ready!(Pin::new(op).poll(cx));
                    *state = State::Idle;
                    match result {
                        Ok(Some(buf)) => return Poll::Ready(Ok(Some(buf))),
                        Ok(None) => {
                            *state = State::Eof;
                            return Poll::Ready(Ok(None));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                            *state = State::NoBuffers(pool.returns());
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                State::NoBuffers(seen) => {
                    // A buffer made free since the pool ran dry (or since the
                    // multishot that ran dry was armed) may be in the ring now.
                    if pool.returns() != *seen {
                        *state = State::Idle;
                        continue;
                    }
                    pool.wait_for_buffer(cx);
                    if pool.returns() != *seen {
                        *state = State::Idle;
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for PooledRecv {
    fn drop(&mut self) {
        if let State::Armed { key, op, .. } = std::mem::replace(self.state.get_mut(), State::Idle) {
            driver::orphan(key, op);
        }
    }
}

impl fmt::Debug for PooledRecv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.try_borrow().as_deref() {
            Ok(State::Idle) => "idle",
            Ok(State::Armed { .. }) => "armed",
            Ok(State::Once(_)) => "receiving",
            Ok(State::NoBuffers(_)) => "waiting for a buffer",
            Ok(State::Eof) => "eof",
            Err(_) => "busy",
        };
        f.debug_struct("PooledRecv").field("state", &state).finish()
    }
}
