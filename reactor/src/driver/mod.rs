//! The driver: the one place that chooses between io_uring and compat.
//!
//! A runtime owns exactly one [`Driver`]. Everything above this module — ops,
//! sockets, files, the run loop — calls the methods here and never matches on the
//! back-end itself, so adding or changing a back-end touches this file and the
//! back-end's own file only.
//!
//! - [`uring`]: io_uring. Ops are submitted to the ring and complete later into
//!   their [slot](lifecycle); one `io_uring_enter` per loop turn submits everything
//!   and waits.
//! - [`compat`]: the `ringo-compat` readiness proactor (epoll/kqueue through mio).
//!   Socket ops are attempted on poll and retried on readiness; file ops run on a
//!   blocking pool and complete into slots, like io_uring ops.
//!
//! On platforms without io_uring, `uring` is a type that cannot be constructed, so
//! no `match` arm needs a `cfg`.

pub(crate) mod compat;
#[cfg(target_os = "linux")]
pub(crate) mod fixed;
pub(crate) mod lifecycle;
#[cfg_attr(not(target_os = "linux"), path = "uring_unsupported.rs")]
pub(crate) mod uring;

use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use lifecycle::{AfterOrphan, Completion, Key, Orphan, WakeOn};

use crate::op::OpCode;
use crate::runtime::{context, Config, DriverKind};

/// How an op proceeds after submission.
pub(crate) enum Submission {
    /// The driver holds it in a slot until its completion.
    InFlight(Key),
    /// Compat readiness op: retried on each poll of its future.
    Readiness,
}

/// The back-end of one runtime.
#[derive(Debug)]
// Off Linux the `Uring` arm is uninhabited, so every value is `Compat` anyway.
#[cfg_attr(not(target_os = "linux"), allow(clippy::large_enum_variant))]
pub(crate) enum Driver {
    Uring(uring::Driver),
    Compat(compat::Driver),
}

/// Wakes a driver blocked in [`Driver::park`] from any thread.
#[derive(Debug)]
pub(crate) enum Unparker {
    Uring(uring::Unparker),
    Compat(ringo_compat::Unparker),
}

impl Driver {
    /// Builds the driver `config` asks for. `Auto` tries io_uring and falls back
    /// to compat when the ring cannot be built — the real ring, with the real
    /// size and flags, not a probe.
    pub(crate) fn new(config: &Config) -> io::Result<(Driver, Unparker)> {
        match config.driver {
            DriverKind::Uring => {
                uring::Driver::new(config).map(|(d, u)| (Driver::Uring(d), Unparker::Uring(u)))
            }
            DriverKind::Compat => Self::new_compat(config),
            DriverKind::Auto => match uring::Driver::new(config) {
                Ok((d, u)) => Ok((Driver::Uring(d), Unparker::Uring(u))),
                Err(_) => Self::new_compat(config),
            },
        }
    }

    fn new_compat(config: &Config) -> io::Result<(Driver, Unparker)> {
        compat::Driver::new(config).map(|(d, u)| (Driver::Compat(d), Unparker::Compat(u)))
    }

    /// Which back-end this is (never `Auto`).
    pub(crate) fn kind(&self) -> DriverKind {
        match self {
            Driver::Uring(_) => DriverKind::Uring,
            Driver::Compat(_) => DriverKind::Compat,
        }
    }

    /// The io_uring driver's features, if this is io_uring.
    pub(crate) fn uring_features(&self) -> Option<crate::runtime::UringFeatures> {
        match self {
            Driver::Uring(d) => Some(d.features()),
            Driver::Compat(_) => None,
        }
    }

    /// Slots of the registered file table that hold a socket now (0 on compat,
    /// or when the table is off).
    pub(crate) fn registered_fds_in_use(&self) -> u32 {
        match self {
            Driver::Uring(d) => d.registered_fds_in_use(),
            Driver::Compat(_) => 0,
        }
    }

    /// Submits `op` for a future polled with `waker`, which an in-flight op's
    /// slot keeps (the future need not poll the slot to leave it there) and
    /// wakes on the completions of `wake_on`.
    pub(crate) fn submit<T: OpCode>(
        &self,
        op: &mut T,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Submission> {
        match self {
            Driver::Uring(d) => d.submit(op, waker, wake_on).map(Submission::InFlight),
            Driver::Compat(d) => d.submit(op, waker, wake_on),
        }
    }

    /// Whether an op's deadline can go to the kernel as a linked timeout
    /// ([`submit_linked`](Self::submit_linked)); otherwise the timer wheel
    /// keeps it and [`cancel`](Self::cancel) ends the op.
    pub(crate) fn link_timeouts(&self) -> bool {
        match self {
            Driver::Uring(d) => d.link_timeouts(),
            Driver::Compat(_) => false,
        }
    }

    /// Submits `op` with an `IORING_OP_LINK_TIMEOUT` at the absolute
    /// `CLOCK_MONOTONIC` time `timespec` linked to it: the kernel cancels the
    /// op if the time comes first. Only where [`link_timeouts`](Self::link_timeouts).
    ///
    /// # Safety
    /// `timespec` stays valid, at the same address, until the op's completion
    /// (the kernel reads it when it takes the SQE pair, which it does before
    /// the op can complete).
    #[cfg(target_os = "linux")]
    pub(crate) unsafe fn submit_linked<T: OpCode>(
        &self,
        op: &mut T,
        timespec: &io_uring::types::Timespec,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Key> {
        match self {
            // SAFETY: the caller's contract is this method's.
            Driver::Uring(d) => unsafe { d.submit_linked(op, timespec, waker, wake_on) },
            Driver::Compat(_) => unreachable!("compat never links a timeout"),
        }
    }

    /// Asks the kernel to cancel the op in `key`'s slot, whose future still
    /// waits for it: the completion (cancelled, or a result that won the race)
    /// arrives as usual. A compat blocking call cannot be stopped: it runs to
    /// its end.
    pub(crate) fn cancel(&self, key: Key) {
        match self {
            Driver::Uring(d) => d.cancel(key.user_data()),
            Driver::Compat(_) => {}
        }
    }

    /// Submits a multishot op, whose completions are collected with
    /// [`poll_stream`](Self::poll_stream); the kernel is asked to cancel it
    /// once `backlog` completions wait uncollected (`None`: never; see
    /// `lifecycle.rs`). io_uring only: compat has none.
    pub(crate) fn submit_stream<T: OpCode>(
        &self,
        op: &mut T,
        backlog: Option<usize>,
    ) -> io::Result<Key> {
        match self {
            Driver::Uring(d) => d.submit_stream(op, backlog),
            Driver::Compat(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "multishot operations need io_uring",
            )),
        }
    }

    /// Whether sends can go zero-copy (`IORING_OP_SEND_ZC`, probed once). Compat:
    /// no; see [`send_zc`](crate::op::send_zc).
    pub(crate) fn send_zc(&self) -> bool {
        match self {
            Driver::Uring(d) => d.features().send_zc,
            Driver::Compat(_) => false,
        }
    }

    /// Whether pooled stream receives arm bundled multishot receives
    /// (`IORING_FEAT_RECVSEND_BUNDLE`, read once). Compat: no multishot at all.
    pub(crate) fn recv_bundle(&self) -> bool {
        match self {
            Driver::Uring(d) => d.features().recv_bundle,
            Driver::Compat(_) => false,
        }
    }

    /// Slots taken by ops in flight or not yet collected.
    pub(crate) fn op_slots(&self) -> usize {
        match self {
            Driver::Uring(d) => d.op_slots(),
            Driver::Compat(d) => d.op_slots(),
        }
    }

    /// Whether listeners accept through one armed multishot accept (io_uring on
    /// Linux 5.19 or later); otherwise each accept is its own op.
    pub(crate) fn multishot_accept(&self) -> bool {
        match self {
            Driver::Uring(d) => d.multishot_accept(),
            Driver::Compat(_) => false,
        }
    }

    /// The next completion of the multishot op in `key`'s slot; the one without
    /// `F_MORE` frees the slot.
    pub(crate) fn poll_stream(&self, key: Key, cx: &mut Context<'_>) -> Poll<Completion> {
        match self {
            Driver::Uring(d) => d.poll_stream(key, cx),
            Driver::Compat(_) => unreachable!("compat never arms a multishot op"),
        }
    }

    /// Registers a provided buffer ring of `entries` entries at `addr` as
    /// buffer group `group` (io_uring with multishot receive only; compat and
    /// older kernels answer `Unsupported`).
    ///
    /// # Safety
    /// `addr` is page-aligned memory of `entries` 16-byte `io_uring_buf`
    /// entries that stays valid until the driver's ring is closed.
    pub(crate) unsafe fn provide_buffers(
        &self,
        addr: u64,
        entries: u16,
        group: u16,
    ) -> io::Result<()> {
        match self {
            // SAFETY: the caller's contract is this method's.
            Driver::Uring(d) => unsafe { d.provide_buffers(addr, entries, group) },
            Driver::Compat(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "provided buffers need io_uring",
            )),
        }
    }

    /// Lends the ring's registered buffer table to a pool whose buffers are
    /// `iovecs`, buffer `i` in slot `i` (see `uring/buffers.rs`): one pool at
    /// a time. Compat has no table and answers `Unsupported`; so does a ring
    /// whose table is lent out or which the kernel refuses (`RLIMIT_MEMLOCK`).
    ///
    /// # Safety
    /// Each iovec is memory that stays mapped, and is reached by nothing but
    /// the I/O of the lease's owner, until the lease is dropped.
    pub(crate) unsafe fn lend_buffers(
        &self,
        iovecs: &[crate::sys::c::iovec],
    ) -> io::Result<uring::BufferLease> {
        match self {
            // SAFETY: the caller's contract is this method's.
            Driver::Uring(d) => unsafe { d.lend_buffers(iovecs) },
            Driver::Compat(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "registered buffers need io_uring",
            )),
        }
    }

    /// Whether `lease` is of this driver's ring, so that its buffers may be
    /// named by table slot in this ring's SQEs.
    pub(crate) fn holds_buffers(&self, lease: &uring::BufferLease) -> bool {
        match self {
            Driver::Uring(d) => d.holds_buffers(lease),
            Driver::Compat(_) => false,
        }
    }

    pub(crate) fn poll_slot(
        &self,
        key: Key,
        cx: &mut Context<'_>,
        wake_on: WakeOn,
    ) -> Poll<Completion> {
        match self {
            Driver::Uring(d) => d.poll_slot(key, cx, wake_on),
            Driver::Compat(d) => d.poll_slot(key, cx, wake_on),
        }
    }

    pub(crate) fn poll_readiness<T: OpCode>(
        &self,
        op: &mut T,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match self {
            Driver::Uring(_) => unreachable!("io_uring ops are always submitted to the ring"),
            Driver::Compat(d) => d.poll_readiness(op, cx),
        }
    }

    /// Submits queued work and waits for completions, an unpark or the timeout
    /// (`None`: no timeout; zero: don't wait). Wakes the tasks whose ops completed.
    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Driver::Uring(d) => d.park(timeout),
            Driver::Compat(d) => d.park(timeout),
        }
    }

    /// Submits queued work without waiting, so nothing queued — in particular a
    /// wake for another runtime — waits for a park that may never come.
    pub(crate) fn flush(&self) {
        match self {
            Driver::Uring(d) => d.flush(),
            Driver::Compat(_) => {}
        }
    }

    /// Submits queued work without waiting and reports whether the kernel has
    /// taken all of it, so the fds it names may close under in-flight ops
    /// (see [`uring::Driver::flush_taken`]). Compat queues nothing: `true`.
    pub(crate) fn flush_taken(&self) -> bool {
        match self {
            Driver::Uring(d) => d.flush_taken(),
            Driver::Compat(_) => true,
        }
    }

    /// Forgets any state kept for `fd`; called right before it is closed.
    pub(crate) fn deregister(&self, fd: crate::sys::RawSource) {
        match self {
            Driver::Uring(_) => {}
            Driver::Compat(d) => d.deregister(fd),
        }
    }

    /// Cancels everything in flight and waits for the completions, so no memory
    /// the kernel may still write is freed. Gives up after `deadline`, leaking
    /// (never freeing) what is still in flight.
    pub(crate) fn shutdown(&self, deadline: Duration) {
        match self {
            Driver::Uring(d) => d.shutdown(deadline),
            Driver::Compat(d) => d.shutdown(deadline),
        }
    }

    fn orphan<T: Orphan + 'static>(&self, key: Key, data: T) {
        let after = match self {
            Driver::Uring(d) => d.orphan(key, data),
            Driver::Compat(d) => d.orphan(key, data),
        };
        match after {
            AfterOrphan::Completed(completion, mut data) => data.complete(&completion),
            AfterOrphan::Ended(data) => drop(data),
            AfterOrphan::Cancel => {}
        }
    }
}

impl Unparker {
    /// Makes the driver's current or next `park` return promptly.
    pub(crate) fn unpark(&self) {
        match self {
            Unparker::Uring(u) => u.unpark(),
            Unparker::Compat(u) => u.unpark(),
        }
    }

    /// Like [`unpark`](Self::unpark), from the thread of the runtime that
    /// drives `current`. When both are io_uring with `IORING_OP_MSG_RING`, the
    /// wake is a completion posted into the target's ring by an SQE queued on
    /// `current`'s ring, which leaves with `current`'s next `io_uring_enter`:
    /// no syscall of its own. Otherwise the target's eventfd (or mio waker) is
    /// written. Returns whether the ring path was taken.
    pub(crate) fn unpark_from(&self, current: &Driver) -> bool {
        if let (Unparker::Uring(target), Driver::Uring(driver)) = (self, current) {
            if driver.send_wake(target) {
                return true;
            }
        }
        self.unpark();
        false
    }
}

/// Hands a dropped in-flight op's data to its slot (see [`lifecycle`]).
///
/// Without a runtime on this thread (the op outlived it, which the runtime's own
/// shutdown prevents), the data is leaked rather than freed under the kernel.
pub(crate) fn orphan<T: Orphan + 'static>(key: Key, data: T) {
    let mut data = Some(data);
    context::try_with(|rt| {
        if let Some(data) = data.take() {
            rt.driver.orphan(key, data);
        }
    });
    std::mem::forget(data);
}
