//! Operations: one I/O request, described once for both drivers.
//!
//! Each op type (one per file in this module) is a struct that owns everything
//! the kernel touches — fd, buffer, address storage — and implements [`OpCode`]:
//! how to build the io_uring submission, how to run the same request on the compat
//! driver, and how to turn the raw result into the typed output (usually a
//! [`BufResult`](crate::buf::BufResult) that hands the buffer back).
//!
//! [`Op<T>`] is the future that drives an op: it submits lazily, on its first
//! poll, so building an op costs nothing until it is awaited; it then waits for
//! the completion in its [slot](crate::driver::lifecycle). Dropping it in flight
//! moves the op data into the slot and asks the kernel to cancel: the memory stays
//! alive until the kernel is done with it.
//!
//! An op may carry a [deadline](deadline): on io_uring it goes to the kernel as
//! a linked timeout, elsewhere the timer wheel keeps it; either way the op
//! completes with `TimedOut` and hands its buffer back.
//!
//! Memory the kernel reads *through a pointer kept in the op* (a `sockaddr`, a
//! `msghdr`, an `iovec` array) lives in a `Box` inside the op, so it does not move
//! when the op moves into its slot. Buffers need no box: [`IoBuf`](crate::buf::IoBuf)
//! requires storage that does not move with the value.

pub(crate) mod accept;
pub(crate) mod accept_multi;
pub(crate) mod connect;
pub(crate) mod deadline;
pub(crate) mod file_ctl;
pub(crate) mod fs;
pub(crate) mod fs_vectored;
#[cfg(target_os = "linux")]
pub(crate) mod open_beneath;
pub(crate) mod path;
#[cfg(target_os = "linux")]
pub(crate) mod poll;
pub(crate) mod recv;
pub(crate) mod recv_from;
pub(crate) mod recv_from_pooled;
mod recv_limit;
pub(crate) mod recv_pooled;
pub(crate) mod send;
pub(crate) mod send_to;
pub(crate) mod send_zc;
#[cfg(target_os = "linux")]
pub(crate) mod splice;
#[cfg(target_os = "linux")]
pub(crate) mod statx;
pub(crate) mod writev;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

#[cfg(target_os = "linux")]
use crate::driver::fixed::FixedFiles;
use crate::driver::lifecycle::{Completion, Key, Orphan, WakeOn};
use crate::driver::Submission;
use crate::runtime::{budget, context};
use deadline::Deadline;

/// How the compat driver runs an operation.
pub(crate) enum CompatMode {
    /// Try the syscall non-blockingly on the loop thread ([`ringo_compat::Operation::attempt`]);
    /// on `WouldBlock` wait for the fd's readiness.
    Readiness,
    /// Run a blocking call on the compat blocking pool (files).
    Blocking(BlockingCall),
}

/// A blocking syscall to run on a pool thread. It may point into the op's memory:
/// the op's slot keeps that memory alive until the call's result is delivered.
pub(crate) struct BlockingCall(pub(crate) Box<dyn FnOnce() -> io::Result<usize> + Send>);

/// One I/O request, for both drivers.
///
/// `ringo_compat::Operation` (the readiness half) is a supertrait. Ops with
/// [`CompatMode::Blocking`] never have `attempt` called: their work runs as the
/// [`BlockingCall`] instead.
pub(crate) trait OpCode: ringo_compat::Operation + 'static {
    /// What the awaiting caller gets.
    type Output;

    /// The io_uring submission for this op, for the ring whose registered
    /// file table is `files`: an op names its socket through
    /// [`SharedFd::sqe`](crate::fd::SharedFd::sqe), which picks the table slot
    /// or the plain fd.
    ///
    /// Pointers in the entry must stay valid until the completion: into buffers
    /// (stable by [`IoBuf`](crate::buf::IoBuf)'s contract) or into boxed storage
    /// owned by the op.
    #[cfg(target_os = "linux")]
    fn uring_entry(&mut self, files: &FixedFiles) -> io_uring::squeue::Entry;

    /// How the compat driver runs this op.
    fn compat_mode(&mut self) -> CompatMode {
        CompatMode::Readiness
    }

    /// Builds the output from the completion.
    fn complete(self, completion: Completion) -> Self::Output;

    /// Releases what a completion handed over when nobody is left to take it
    /// (for example closes an accepted fd). Called for dropped futures.
    fn complete_orphan(&mut self, _completion: &Completion) {}
}

impl<T: OpCode> Orphan for T {
    fn complete(&mut self, completion: &Completion) {
        self.complete_orphan(completion);
    }
}

/// Where an [`Op`] is in its life.
enum State {
    /// Built, not yet submitted (submission happens on the first poll).
    Unsubmitted,
    /// The driver has it in this slot.
    InFlight(Key),
    /// Compat readiness op: retried on each poll, nothing outstanding in between.
    Readiness,
    /// The output was returned.
    Done,
}

/// The future of one operation.
pub(crate) struct Op<T: OpCode> {
    /// `Some` until the output is built or the data moves into an orphaned slot.
    data: Option<T>,
    state: State,
    /// When to give up, if ever.
    /// Boxed: most ops have none, and every op future is moved at least
    /// once, so it stays one pointer wide.
    deadline: Option<Box<Deadline>>,
}

impl<T: OpCode> Op<T> {
    pub(crate) fn new(data: T) -> Op<T> {
        Op {
            data: Some(data),
            state: State::Unsubmitted,
            deadline: None,
        }
    }

    /// Makes the op give up at `at` with `TimedOut` (see [`deadline`]). Set
    /// before the first poll, it replaces any earlier deadline and goes to
    /// io_uring as a linked timeout; once the op has started, only an earlier
    /// deadline applies, and the timer wheel enforces it.
    pub(crate) fn set_deadline(&mut self, at: Instant) {
        match &mut self.deadline {
            Some(deadline) if !matches!(self.state, State::Unsubmitted) => deadline.tighten(at),
            _ => self.deadline = Some(Box::new(Deadline::new(at))),
        }
    }

    fn finish(&mut self, completion: Completion) -> T::Output {
        self.state = State::Done;
        let completion = match &self.deadline {
            Some(deadline) => deadline.completion(completion),
            None => completion,
        };
        self.data
            .take()
            .expect("invariant: op data is present until finish")
            .complete(completion)
    }
}

impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> std::fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Unsubmitted => "unsubmitted",
            State::InFlight(_) => "in flight",
            State::Readiness => "waiting for readiness",
            State::Done => "done",
        };
        f.debug_struct("Op").field("state", &state).finish()
    }
}

impl<T: OpCode> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.get_mut().poll_waking_on(cx, WakeOn::Every)
    }
}

impl<T: OpCode> Op<T> {
    /// Polls the op as `Future::poll` does, asking to be woken on the
    /// completions of `wake_on` only (see `driver/lifecycle.rs`). The compat
    /// driver's readiness ops complete inside a poll and wake on readiness
    /// alone, so it matters only for ops in a slot.
    pub(crate) fn poll_waking_on(
        &mut self,
        cx: &mut Context<'_>,
        wake_on: WakeOn,
    ) -> Poll<T::Output> {
        let this = self;
        loop {
            match this.state {
                State::Unsubmitted => {
                    if !budget::try_spend() {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let data = this
                        .data
                        .as_mut()
                        .expect("invariant: unsubmitted op has data");
                    let waker = cx.waker();
                    let submitted = context::with(|rt| match &mut this.deadline {
                        Some(deadline) => deadline.submit(&rt.driver, data, waker, wake_on),
                        None => rt.driver.submit(data, waker, wake_on),
                    });
                    match submitted {
                        // The slot holds the waker: nothing to do but wait,
                        // unless a deadline has a timer to arm.
                        Ok(Submission::InFlight(key)) if this.deadline.is_none() => {
                            this.state = State::InFlight(key);
                            return Poll::Pending;
                        }
                        Ok(Submission::InFlight(key)) => this.state = State::InFlight(key),
                        Ok(Submission::Readiness) => this.state = State::Readiness,
                        Err(e) => return Poll::Ready(this.finish(Completion::plain(Err(e)))),
                    }
                }
                State::InFlight(key) => {
                    if let Poll::Ready(completion) =
                        context::with(|rt| rt.driver.poll_slot(key, cx, wake_on))
                    {
                        return Poll::Ready(this.finish(completion));
                    }
                    // Past the deadline the op is cancelled; its completion (a
                    // cancellation, or a result that won the race) ends the wait.
                    if this.deadline.as_mut().is_some_and(|d| d.poll_expired(cx)) {
                        context::with(|rt| rt.driver.cancel(key));
                    }
                    return Poll::Pending;
                }
                State::Readiness => {
                    let data = this
                        .data
                        .as_mut()
                        .expect("invariant: readiness op has data");
                    let result = match context::with(|rt| rt.driver.poll_readiness(data, cx)) {
                        Poll::Ready(result) => result,
                        // Nothing is outstanding between attempts: give up at once.
                        Poll::Pending
                            if this.deadline.as_mut().is_some_and(|d| d.poll_expired(cx)) =>
                        {
                            Err(deadline::timed_out())
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    return Poll::Ready(this.finish(Completion::plain(result)));
                }
                State::Done => panic!("Op polled after it returned its output"),
            }
        }
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        let State::InFlight(key) = self.state else {
            return;
        };
        let Some(data) = self.data.take() else { return };
        deadline::orphan(self.deadline.take().map(|d| *d), key, data);
    }
}

/// Converts a syscall's return value: -1 becomes the thread's `errno`.
pub(crate) fn cvt(ret: isize) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}
