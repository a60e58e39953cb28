//! Zero-copy send (`IORING_OP_SEND_ZC`): large writes without the copy into
//! the socket's buffers.
//!
//! A plain send copies the caller's bytes into kernel socket buffers and is
//! done with them. A zero-copy send pins the caller's pages and lets the
//! network stack (ideally the NIC) read them in place, which saves that copy —
//! CPU and memory bandwidth — on large writes, at the price of pinning pages,
//! tracking their release, and a second completion. Below some size the price
//! is higher than the copy; [`Builder::zero_copy_send_threshold`](crate::Builder::zero_copy_send_threshold) sets where a
//! stream's writes switch over (and whether they ever do).
//!
//! # Two completions, one buffer
//!
//! The kernel answers one `SEND_ZC` with two completions sharing its
//! `user_data`: the **result** (bytes sent, or the error), flagged `F_MORE`
//! when a notification follows, and later the **notification** (`F_NOTIF`,
//! without `F_MORE`), once the kernel no longer reads the buffer — for TCP
//! only when the bytes have been acknowledged, since until then it may have to
//! retransmit them. A send that failed before it pinned anything posts its
//! result without `F_MORE`, and no notification.
//!
//! That is the shape of a multishot op, so the send runs in a streaming slot
//! ([`lifecycle`](crate::driver::lifecycle)): the completion without `F_MORE`
//! ends it. The future hands the buffer back — and so resolves — only with
//! that last completion: a caller could otherwise overwrite bytes the kernel
//! still sends. A future dropped in flight orphans the op into its slot, which
//! keeps the buffer until the same last completion — but not the socket's fd
//! number, which the kernel no longer needs once it has taken the SQE: the
//! socket closes with its stream, not with a notification that a stalled peer
//! may hold up indefinitely.
//!
//! Waiting for the acknowledgement means a zero-copy `write` resolves about one
//! round trip later than a plain one. Loopback hides that; a long path does
//! not, so large buffers (which amortise it) are where zero-copy belongs.
//!
//! # Loopback
//!
//! Bytes sent zero-copy to a socket on the same host are copied anyway, on
//! delivery: the kernel will not let a local receiver that never reads keep
//! the sender's pages pinned (`Documentation/networking/msg_zerocopy.rst`,
//! "Loopback"). So on loopback zero-copy does not save the copy, it moves it;
//! measured there, it loses below 64 KiB per send and is about even above
//! (the numbers: [`Builder::zero_copy_send_threshold`](crate::Builder::zero_copy_send_threshold)).
//!
//! # Elsewhere
//!
//! Without `SEND_ZC` (kernels before 6.0, or the test hook) and on compat,
//! the same calls are plain sends with the same results. Linux does have
//! zero-copy for ordinary sockets (`MSG_ZEROCOPY`), but its completions are
//! read from the socket's error queue (`recvmsg(MSG_ERRQUEUE)`), a second
//! stream of events per socket to poll and match up; the compat driver exists
//! to run everywhere, not fast, so it does not emulate this. Unix sockets have
//! no zero-copy in the kernel at all (`EOPNOTSUPP`), so their writes never
//! take this path.

use crate::sys::RawSource;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use ringo_compat::{Interest, Operation};

use super::send::Send;
use super::{Op, OpCode};
use crate::buf::{BufResult, IoBuf};
use crate::driver;
#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::{Completion, Key, WakeOn};
use crate::fd::SharedFd;
use crate::runtime::{budget, context};
#[cfg(target_os = "linux")]
use crate::sys::SEND_FLAGS;

/// When a send goes zero-copy, given a driver that can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZeroCopy {
    /// At or above the runtime's threshold: a TCP stream's writes.
    Threshold,
    /// Always: an explicit `send_zc`.
    Always,
    /// Never: sockets the kernel has no zero-copy for.
    Never,
}

/// The zero-copy send itself. Its completions are collected through the slot
/// as a stream, so [`OpCode::complete`] is never called; what it owns — the
/// buffer — matters when the future is dropped while it is in flight.
pub(crate) struct SendZc<B> {
    /// The socket's fd number, as the SQE names it.
    raw: RawSource,
    /// Keeps the fd number open until the kernel has taken the SQE; released
    /// early when the future is dropped (see [`SendFuture`]'s `Drop`).
    fd: Option<SharedFd>,
    buf: B,
}

impl<B: IoBuf> Operation for SendZc<B> {
    fn readiness(&self) -> (RawSource, Interest) {
        (self.raw, Interest::WRITABLE)
    }

    fn attempt(&mut self) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "zero-copy send runs only on io_uring",
        ))
    }
}

impl<B: IoBuf> OpCode for SendZc<B> {
    type Output = ();

    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry {
        let len = u32::try_from(self.buf.bytes_init()).unwrap_or(u32::MAX);
        let ptr = self.buf.stable_ptr();
        let build = |fd| {
            io_uring::opcode::SendZc::new(fd, ptr, len)
                .flags(SEND_FLAGS)
                .build()
        };
        match &self.fd {
            Some(fd) => fd.sqe(files, build),
            None => build(io_uring::types::Fd(self.raw)),
        }
    }

    fn complete(self, _: Completion) {}

    /// The buffer of a dropped send is freed with the op once the slot ends;
    /// here only the notification is counted.
    fn complete_orphan(&mut self, completion: &Completion) {
        count_notification(completion);
    }
}

fn count_notification(completion: &Completion) {
    if completion.notification() {
        context::try_with(|rt| rt.count_zero_copy(|stats| stats.notifications += 1));
    }
}

/// Where a zero-copy [`SendFuture`] is.
enum State<B: IoBuf> {
    /// Not polled yet, and zero-copy where the runtime that polls it agrees
    /// (a write built outside any runtime is settled here too).
    Start(SendZc<B>, ZeroCopy),
    /// A zero-copy send in `key`'s streaming slot; `result` once its result
    /// completion has been collected and the notification is awaited.
    Armed {
        key: Key,
        op: SendZc<B>,
        result: Option<io::Result<usize>>,
    },
    /// The output was returned, or the send became a plain one.
    Done,
}

/// The future of a stream write: a plain send, or a zero-copy one that
/// resolves with its notification (see the [module docs](self)).
///
/// Nearly every write is plain, so the plain send is the whole future, with
/// nothing to move or check around it; the rare zero-copy candidate (a write
/// of at least the threshold, or an explicit `send_zc`) lives in a box.
///
/// A write with a [deadline](super::deadline) is always a plain send: its
/// linked timeout bounds the send itself, where a zero-copy send's
/// notification waits on the peer's acknowledgement, which no deadline on the
/// SQE covers.
pub(crate) enum SendFuture<B: IoBuf> {
    Plain(Op<Send<B>>),
    ZeroCopy(Box<ZeroCopySend<B>>),
}

/// A write that may go zero-copy: its state, and the deadline that would
/// make it a plain send after all.
pub(crate) struct ZeroCopySend<B: IoBuf> {
    state: State<B>,
    deadline: Option<Instant>,
}

impl<B: IoBuf> SendFuture<B> {
    pub(crate) fn new(fd: SharedFd, buf: B, policy: ZeroCopy) -> SendFuture<B> {
        // A plain send is right on every driver, so it is settled here when
        // the current runtime says so, and built in place. Zero-copy is left
        // for the polling runtime to confirm.
        let len = buf.bytes_init();
        let plain = policy == ZeroCopy::Never
            || context::try_with(|rt| !rt.send_zero_copy(len, policy)).unwrap_or(false);
        if plain {
            return SendFuture::Plain(Op::new(Send::new(fd, buf)));
        }
        let op = SendZc {
            raw: fd.raw(),
            fd: Some(fd),
            buf,
        };
        SendFuture::ZeroCopy(Box::new(ZeroCopySend {
            state: State::Start(op, policy),
            deadline: None,
        }))
    }

    /// See [`Op::set_deadline`]. Not started, the write becomes a plain send
    /// with the deadline; a plain send takes it as an op does; a zero-copy
    /// send already in flight cannot take one and ignores it.
    pub(crate) fn set_deadline(&mut self, at: Instant) {
        match self {
            SendFuture::Plain(op) => op.set_deadline(at),
            SendFuture::ZeroCopy(send) => {
                if let State::Start(..) = send.state {
                    send.deadline = Some(at);
                }
            }
        }
    }
}

impl<B: IoBuf> ZeroCopySend<B> {
    /// Moves the op out of the current state, leaving `Done`.
    fn take_op(&mut self) -> SendZc<B> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Start(op, _) | State::Armed { op, .. } => op,
            State::Done => unreachable!("only called in Start or Armed"),
        }
    }

    /// Polls a zero-copy candidate: `Err` hands back the plain send it turned
    /// into, when the polling runtime will not send it zero-copy (or it has a
    /// deadline), for the caller to poll in its place.
    fn poll(&mut self, cx: &mut Context<'_>) -> Result<Poll<BufResult<usize, B>>, Op<Send<B>>> {
        loop {
            match &mut self.state {
                State::Start(op, policy) => {
                    let len = op.buf.bytes_init();
                    if self.deadline.is_some()
                        || !context::with(|rt| rt.send_zero_copy(len, *policy))
                    {
                        let SendZc { fd, buf, .. } = self.take_op();
                        let fd = fd.expect("invariant: an unsubmitted send holds its fd");
                        let mut plain = Op::new(Send::new(fd, buf));
                        if let Some(at) = self.deadline {
                            plain.set_deadline(at);
                        }
                        return Err(plain);
                    }
                    if !budget::try_spend() {
                        cx.waker().wake_by_ref();
                        return Ok(Poll::Pending);
                    }
                    let submitted = context::with(|rt| {
                        let key = rt.driver.submit_stream(op, None)?;
                        rt.count_zero_copy(|stats| stats.sends += 1);
                        Ok(key)
                    });
                    let op = self.take_op();
                    match submitted {
                        Ok(key) => {
                            self.state = State::Armed {
                                key,
                                op,
                                result: None,
                            }
                        }
                        Err(e) => return Ok(Poll::Ready((Err(e), op.buf))),
                    }
                }
                State::Armed { key, result, .. } => {
                    let key = *key;
                    let completion = match context::with(|rt| rt.driver.poll_stream(key, cx)) {
                        Poll::Ready(completion) => completion,
                        Poll::Pending => return Ok(Poll::Pending),
                    };
                    if completion.more() {
                        // The result; the notification follows.
                        *result = Some(completion.result);
                        continue;
                    }
                    // The last completion: the slot is gone, the buffer free.
                    count_notification(&completion);
                    let result = if completion.notification() {
                        result.take().unwrap_or_else(|| {
                            Err(io::Error::other(
                                "zero-copy send notified before its result",
                            ))
                        })
                    } else {
                        completion.result
                    };
                    return Ok(Poll::Ready((result, self.take_op().buf)));
                }
                State::Done => panic!("SendFuture polled after it returned its output"),
            }
        }
    }
}

impl<B: IoBuf> SendFuture<B> {
    /// Polls as `Future::poll` does, except that a plain send that goes whole
    /// wakes nobody: see [`AsyncWrite::poll_write_quietly`](crate::io::AsyncWrite::poll_write_quietly).
    /// A zero-copy send wakes as usual: its buffer comes back only with the
    /// notification, which nobody would collect otherwise.
    pub(crate) fn poll_quietly(&mut self, cx: &mut Context<'_>) -> Poll<BufResult<usize, B>> {
        match self {
            SendFuture::Plain(op) => {
                let whole = op.data.as_ref().map_or(0, Send::len);
                op.poll_waking_on(cx, WakeOn::ShortOf(whole))
            }
            SendFuture::ZeroCopy(_) => Pin::new(self).poll(cx),
        }
    }
}

impl<B: IoBuf> Unpin for SendFuture<B> {}

impl<B: IoBuf> Future for SendFuture<B> {
    type Output = BufResult<usize, B>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BufResult<usize, B>> {
        let this = self.get_mut();
        loop {
            match this {
                SendFuture::Plain(op) => return Pin::new(op).poll(cx),
                SendFuture::ZeroCopy(send) => match send.poll(cx) {
                    Ok(poll) => return poll,
                    Err(plain) => *this = SendFuture::Plain(plain),
                },
            }
        }
    }
}

impl<B: IoBuf> Drop for ZeroCopySend<B> {
    fn drop(&mut self) {
        if let State::Armed { key, mut op, .. } = std::mem::replace(&mut self.state, State::Done) {
            // The slot may hold the buffer for long — until the peer has
            // acknowledged the bytes — but once the kernel has taken the SQE
            // it needs the fd number no more: let the socket close with its
            // stream instead of with the notification.
            if context::try_with(|rt| rt.driver.flush_taken()).unwrap_or(false) {
                op.fd = None;
            }
            driver::orphan(key, op);
        }
    }
}

impl<B: IoBuf> fmt::Debug for SendFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self {
            SendFuture::Plain(_) => "plain send",
            SendFuture::ZeroCopy(send) => match &send.state {
                State::Start(..) => "unsubmitted",
                State::Armed { result: None, .. } => "zero-copy send in flight",
                State::Armed { .. } => "zero-copy send awaiting its notification",
                State::Done => "done",
            },
        };
        f.debug_struct("SendFuture").field("state", &state).finish()
    }
}
