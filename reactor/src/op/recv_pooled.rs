//! Pooled receive: a socket's receive into the runtime's
//! [`BufferPool`](crate::buf::BufferPool), kept armed between calls.
//!
//! On io_uring with a provided buffer ring, a socket arms **one multishot
//! receive** ([`RecvMulti`]) on its first pooled receive; the kernel completes it
//! once per chunk of bytes (per datagram, on a datagram socket), each time into
//! a buffer it takes from the pool, and the completions queue in the op's slot
//! until the socket collects them. No SQE per receive, and no buffer held while
//! the socket is idle. The kernel ends the multishot (a completion without
//! `F_MORE`) at EOF, on an error, or when the pool is empty (`ENOBUFS`, no bytes
//! lost: they stay in the socket); the socket re-arms on its next receive —
//! after a buffer has come back, for `ENOBUFS`.
//!
//! Elsewhere (compat, or io_uring without provided buffers) each receive is one
//! [`RecvOnce`]: wait until the socket is readable, then take a free buffer and
//! receive into it, so here too no buffer is held while waiting.
//!
//! What differs between a byte stream and a datagram socket — the multishot
//! opcode, what the kernel writes into the buffer, the syscall of one receive —
//! is a [`Flavor`]: [`Stream`] here, `Datagrams` in
//! [`recv_from_pooled`](super::recv_from_pooled). The state machine is shared.
//!
//! A multishot keeps receiving while nobody reads: a reader that stops (its
//! handler is slow, its peer sends and never reads the replies) would take
//! buffer after buffer of the runtime's shared pool, until every other socket
//! waits for one. So each arming of a byte stream's takes at most 64 KiB
//! (`recv_limit.rs`, Linux 6.17), and every multishot is armed with a backlog
//! of [`RECV_BACKLOG`] completions: once that many wait uncollected the driver
//! cancels it. Either way the rest of the bytes wait in the socket (where
//! TCP's window holds the peer back, as with an owned read), and the next
//! receive arms it again. Without the limit (older kernels) a burst the kernel
//! completes before the cancel runs still lands in the pool.
//!
//! The state lives in the socket ([`PooledRecv`]), not in the future, so dropping
//! a receive's future leaves the multishot armed; dropping the socket cancels
//! it, and completions that arrive after that give their buffers back.
//!
//! # Bundles
//!
//! Where the kernel has `IORING_RECVSEND_BUNDLE` (Linux 6.10,
//! [`UringFeatures::recv_bundle`](crate::UringFeatures::recv_bundle)), a byte
//! stream's multishot is armed bundled: one completion covers as many pool
//! buffers as the bytes waiting in the socket fill, so a bulk sender costs one
//! completion (and one `recvmsg` in the kernel) per bundle instead of per
//! buffer. The pool reads back which buffers those were
//! ([`pool::claim`]); they queue in the socket and each receive still returns
//! one, so callers (proto's `Framed::pooled` included) see the same API as
//! without bundles, on compat too. A bundle that takes the ring's last buffer
//! ends the multishot (no `F_MORE`): the next receive re-arms it, as after
//! `ENOBUFS`. It pays where more bytes wait than one buffer holds: 1 GiB into
//! 4 KiB buffers took the receiver 0.35–0.39x the CPU at 1.45–1.6x the
//! throughput (`tests/recv_bundle.rs`, numbers in `benches/README.md`); echo
//! cells whose batches fit one buffer measured within noise. A datagram's
//! `recvmsg` cannot bundle.
//!
//! There are no send bundles. A send bundle sends from a provided buffer ring:
//! the bytes would first be copied into ring buffers, each socket would need a
//! ring of its own (a shared one hands one socket's bytes to another's send),
//! and what it saves — one SQE for several buffers — the writes already have:
//! a stream has one write in flight, `writev` sends several buffers with one
//! `sendmsg`, and proto's framed writer encodes every response that is ready
//! into one buffer and flushes it with one send.

use crate::sys::c;
use crate::sys::RawSource;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use ringo_compat::{Interest, Operation};

use super::{cvt, recv_limit, Op, OpCode};
use crate::buf::pool::{self, PoolInner};
use crate::buf::PooledBuf;
use crate::driver;
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::{Completion, Key};
use crate::fd::SharedFd;
use crate::queue::InlineQueue;
use crate::runtime::{budget, context};

/// Completions a socket's multishot receive may have waiting uncollected
/// before it is cancelled (see the [module docs](self)): a reader that keeps
/// up collects each one as it comes, so this only ever stops one that has
/// stopped reading, at four buffers (or bundles) held.
const RECV_BACKLOG: usize = 4;

/// What a pooled receive receives, and how; see the [module docs](self).
pub(crate) trait Flavor: Sized + 'static {
    /// What one receive yields.
    type Item: 'static;
    /// What the multishot op owns besides the fd and the pool: memory the
    /// kernel reads through a pointer in the SQE, kept until the op is done.
    type Armed: 'static;

    /// Whether its multishot receive may fill several buffers per completion
    /// (a bundle) where the kernel offers it: a byte stream's may; the kernel
    /// refuses bundles for a datagram's `recvmsg`.
    const BUNDLES: bool;

    /// Whether its multishot receive takes a byte limit per arming
    /// (`recv_limit.rs`): `IORING_OP_RECV`'s does, a datagram's `recvmsg` not.
    const LIMITS: bool;

    /// Fails when the runtime's pool cannot serve this flavor (before anything
    /// is armed, on every driver alike).
    fn check(pool: &PoolInner) -> io::Result<()>;

    /// The multishot op's own state.
    fn armed() -> Self::Armed;

    /// The multishot receive's SQE (`BUFFER_SELECT` from
    /// [`pool::BUFFER_GROUP`]); a bundled one with `bundle` (asked for only
    /// where [`BUNDLES`](Self::BUNDLES)).
    #[cfg(target_os = "linux")]
    fn multishot_entry(
        fd: io_uring::types::Fd,
        armed: &mut Self::Armed,
        bundle: bool,
    ) -> io_uring::squeue::Entry;

    /// The item in `buf`, holding the bytes one multishot completion reported
    /// (its share of them, for a bundle).
    fn delivered(armed: &Self::Armed, buf: PooledBuf) -> io::Result<Self::Item>;

    /// One non-blocking receive on `fd` into the free, empty `buf`; `None` at
    /// end of stream.
    fn receive(fd: RawSource, buf: PooledBuf) -> io::Result<Option<Self::Item>>;

    /// Whether receiving `item` showed the socket emptied (see
    /// `ringo_compat::Operation::drained`).
    fn drained(item: &Self::Item) -> bool;
}

/// A byte stream's pooled receive: a buffer per chunk of bytes.
pub(crate) struct Stream;

impl Flavor for Stream {
    type Item = PooledBuf;
    type Armed = ();
    const LIMITS: bool = true;

    const BUNDLES: bool = true;

    fn check(_: &PoolInner) -> io::Result<()> {
        Ok(())
    }

    fn armed() {}

    #[cfg(target_os = "linux")]
    fn multishot_entry(
        fd: io_uring::types::Fd,
        _: &mut (),
        bundle: bool,
    ) -> io_uring::squeue::Entry {
        if bundle {
            io_uring::opcode::RecvMultiBundle::new(fd, pool::BUFFER_GROUP).build()
        } else {
            io_uring::opcode::RecvMulti::new(fd, pool::BUFFER_GROUP).build()
        }
    }

    fn delivered(_: &(), buf: PooledBuf) -> io::Result<PooledBuf> {
        Ok(buf)
    }

    fn receive(fd: RawSource, mut buf: PooledBuf) -> io::Result<Option<PooledBuf>> {
        let (ptr, len) = (buf.as_mut_ptr(), buf.capacity());
        // SAFETY: `ptr` is valid for `len` bytes of writes: the buffer is out,
        // owned by `buf`, which lives across the call.
        let n = cvt(unsafe { c::recv(fd, ptr.cast(), len, 0) })?;
        // SAFETY: the kernel wrote `n <= len` bytes at the start of the buffer.
        unsafe { buf.set_len(n) };
        Ok((n > 0).then_some(buf))
    }

    /// A chunk that left part of its buffer empty took all the socket had.
    fn drained(buf: &PooledBuf) -> bool {
        buf.len() < buf.capacity()
    }
}

/// The multishot receive: armed once, completes into kernel-picked buffers.
/// Its completions are collected through the slot as a stream, so
/// [`OpCode::complete`] is never called; what it owns matters when the socket
/// is dropped while it is armed.
pub(crate) struct RecvMulti<F: Flavor> {
    fd: SharedFd,
    pool: Rc<PoolInner>,
    armed: F::Armed,
    /// Whether it was armed as a bundled receive.
    bundle: bool,
    /// The bytes this arming may take (`recv_limit.rs`), if limited.
    limit: Option<u32>,
}

impl<F: Flavor> Operation for RecvMulti<F> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "multishot receive runs only on io_uring",
        ))
    }
}

impl<F: Flavor> OpCode for RecvMulti<F> {
    type Output = ();

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let (armed, bundle) = (&mut self.armed, self.bundle);
        let entry = self
            .fd
            .sqe(files, |fd| F::multishot_entry(fd, armed, bundle));
        match self.limit {
            Some(limit) => recv_limit::limited(entry, limit),
            None => entry,
        }
    }

    fn complete(self, _: Completion) {}

    /// A completion for a dropped socket: its buffers go straight back.
    fn complete_orphan(&mut self, completion: &Completion) {
        if let Some(id) = completion.buffer_id() {
            let len = completion.result.as_ref().map_or(0, |n| *n);
            // Nobody is left to tell of a completion the pool's books reject;
            // its buffers stay out of use (see `pool::claim`).
            let _ = pool::claim(&self.pool, id, len, self.bundle, drop);
        }
    }
}

/// One emulated pooled receive: wait for readability, then receive into a
/// free buffer. Yields `Ok(None)` at EOF, `ENOBUFS` when no buffer is free, and
/// (on io_uring, after a spurious wake) `WouldBlock`.
pub(crate) struct RecvOnce<F: Flavor> {
    fd: SharedFd,
    pool: Rc<PoolInner>,
    /// What a compat attempt received (`Some(None)`: EOF).
    got: Option<Option<F::Item>>,
}

impl<F: Flavor> Operation for RecvOnce<F> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.fd.raw(), Interest::READABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        let Some(buf) = pool::take_free(&self.pool) else {
            return Err(io::Error::from_raw_os_error(c::ENOBUFS));
        };
        self.got = Some(F::receive(self.fd.raw(), buf)?);
        Ok(0)
    }

    fn drained(&self, _: usize) -> bool {
        matches!(&self.got, Some(Some(item)) if F::drained(item))
    }
}

impl<F: Flavor> OpCode for RecvOnce<F> {
    type Output = io::Result<Option<F::Item>>;

    /// On io_uring the op is only the wait: a one-shot poll for readability.
    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let events = u32::from(libc::POLLIN as u16);
        self.fd.sqe(files, |fd| {
            io_uring::opcode::PollAdd::new(fd, events).build()
        })
    }

    fn complete(mut self, completion: Completion) -> io::Result<Option<F::Item>> {
        completion.result?;
        if self.got.is_none() {
            // io_uring: the poll reported readability; receive now, on the loop
            // thread (the fd is non-blocking).
            self.attempt()?;
        }
        Ok(self.got.take().flatten())
    }
}

/// Where a socket's pooled receive is.
enum State<F: Flavor> {
    /// Nothing armed: the next receive arms (or starts) one.
    Idle,
    /// A multishot receive is armed in `key`'s slot; `returns` is the pool's
    /// [`returns`](PoolInner::returns) count when it was armed.
    Armed {
        key: Key,
        op: RecvMulti<F>,
        returns: u64,
    },
    /// An emulated receive is in progress.
    Once(Op<RecvOnce<F>>),
    /// The pool was empty: waiting until its `returns` count moves past this.
    NoBuffers(u64),
    /// The peer closed its side; every receive yields `None`.
    Eof,
}

/// A socket's pooled receive state; see the [module docs](self).
pub(crate) struct PooledRecv<F: Flavor> {
    state: RefCell<State<F>>,
    /// What a bundled completion delivered and no receive has returned yet,
    /// oldest first: a receive returns one buffer.
    ready: RefCell<InlineQueue<io::Result<F::Item>>>,
}

impl<F: Flavor> PooledRecv<F> {
    pub(crate) fn new() -> PooledRecv<F> {
        PooledRecv {
            state: RefCell::new(State::Idle),
            ready: RefCell::new(InlineQueue::new()),
        }
    }

    /// The next item received on `fd`, `None` at EOF.
    pub(crate) fn poll_recv(
        &self,
        fd: &SharedFd,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<F::Item>>> {
        let pool = context::with(|rt| rt.buffer_pool())?;
        F::check(&pool)?;
        let Ok(mut state) = self.state.try_borrow_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "pooled receive re-entered on the same socket",
            )));
        };
        let mut ready = self.ready.borrow_mut();
        loop {
            if let Some(item) = ready.pop_front() {
                return Poll::Ready(item.map(Some));
            }
            match &mut *state {
                State::Eof => return Poll::Ready(Ok(None)),
                State::Idle if pool.is_provided() => {
                    let returns = pool.returns();
                    let mut op = RecvMulti {
                        fd: fd.clone(),
                        pool: pool.clone(),
                        armed: F::armed(),
                        bundle: F::BUNDLES && context::with(|rt| rt.driver.recv_bundle()),
                        limit: if F::LIMITS {
                            recv_limit::current()
                        } else {
                            None
                        },
                    };
                    let key =
                        context::with(|rt| rt.driver.submit_stream(&mut op, Some(RECV_BACKLOG)))?;
                    *state = State::Armed { key, op, returns };
                }
                State::Idle => {
                    *state = State::Once(Op::new(RecvOnce {
                        fd: fd.clone(),
                        pool: pool.clone(),
                        got: None,
                    }));
                }
                State::Armed { key, op, returns } => {
                    if !budget::try_spend() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let (key, armed_returns, limited) = (*key, *returns, op.limit.is_some());
                    let completion =
                        std::task::ready!(context::with(|rt| rt.driver.poll_stream(key, cx)));
                    let more = completion.more();
                    let id = completion.buffer_id();
                    // Delivered while the op (a datagram's header layout) is at
                    // hand; a bundle's buffers queue, and the loop returns the first.
                    let claimed = match (&completion.result, id) {
                        (Ok(n), Some(id)) => Some(pool::claim(&pool, id, *n, op.bundle, |buf| {
                            ready.push_back(F::delivered(&op.armed, buf));
                        })),
                        _ => None,
                    };
                    if !more {
                        // The slot is gone with this completion; so is the op.
                        *state = State::Idle;
                    }
                    if let Some(claimed) = claimed {
                        claimed?;
                        continue;
                    }
                    match completion.result {
                        Ok(0) if !more => {
                            *state = State::Eof;
                            return Poll::Ready(Ok(None));
                        }
                        Ok(n) => {
                            return Poll::Ready(Err(io::Error::other(format!(
                                "multishot receive of {n} bytes came without a buffer"
                            ))));
                        }
                        Err(e) => {
                            // A failed receive names no buffer; should one
                            // come, it goes back (unless the books reject it).
                            if let Some(id) = id {
                                let _ = pool::claim(&pool, id, 0, false, drop);
                            }
                            if e.raw_os_error() == Some(c::ENOBUFS) {
                                if !more {
                                    *state = State::NoBuffers(armed_returns);
                                }
                                continue;
                            }
                            // Cancelled for its backlog: armed again now
                            // that its reader is back.
                            if e.raw_os_error() == Some(libc::ECANCELED) && !more {
                                continue;
                            }
                            // A kernel before the per-arming limit refuses
                            // it: armed again without, from now on.
                            if e.raw_os_error() == Some(c::EINVAL) && limited {
                                recv_limit::refused();
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
                        Ok(Some(item)) => return Poll::Ready(Ok(Some(item))),
                        Ok(None) => {
                            *state = State::Eof;
                            return Poll::Ready(Ok(None));
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) if e.raw_os_error() == Some(c::ENOBUFS) => {
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

impl<F: Flavor> Drop for PooledRecv<F> {
    fn drop(&mut self) {
        if let State::Armed { key, op, .. } = std::mem::replace(self.state.get_mut(), State::Idle) {
            driver::orphan(key, op);
        }
    }
}

impl<F: Flavor> fmt::Debug for PooledRecv<F> {
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
