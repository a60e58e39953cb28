//! The io_uring back-end.
//!
//! One ring per runtime, used only from the runtime's thread, which lets the ring
//! run with `SINGLE_ISSUER` and `DEFER_TASKRUN`: completions are posted only when
//! this thread enters the kernel to wait, instead of interrupting it with task work
//! at arbitrary points. Each loop turn makes one `io_uring_enter` that submits every
//! queued SQE and waits (with the extended-arg timeout) for the first completion,
//! the next timer or an unpark.
//!
//! Cross-thread wake-ups: an eventfd whose read is kept armed on the ring. A
//! thread that wakes a task of a sleeping runtime writes the eventfd; the read
//! completes, and the wait returns.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::lifecycle::{AfterComplete, AfterOrphan, Completion, Key, Slots};
use crate::op::OpCode;
use crate::runtime::{Config, UringFeatures};

/// `user_data` of the armed eventfd read.
const WAKE_TAG: u64 = Key::reserved(1);
/// `user_data` of cancellation requests (their own completions carry no news).
const CANCEL_TAG: u64 = Key::reserved(2);

/// The io_uring driver.
pub(crate) struct Driver {
    ring: RefCell<IoUring<squeue::Entry, cqueue::Entry>>,
    slots: RefCell<Slots>,
    /// The eventfd other threads write to wake us (owned by the [`Unparker`]s'
    /// shared handle as well, so it outlives every waker).
    wake_fd: std::sync::Arc<OwnedFd>,
    /// Where the armed eventfd read writes: a leaked `Box`, so its address is
    /// stable; freed in `Drop` only if no read is left in flight.
    wake_buf: *mut u64,
    /// Whether the eventfd read is in the ring (armed and not yet completed).
    wake_armed: Cell<bool>,
    /// Completions copied out of the CQ, processed after the ring is released.
    scratch: RefCell<Vec<(u64, i32)>>,
    features: UringFeatures,
}

/// Wakes an io_uring driver from any thread: writes its eventfd.
#[derive(Debug, Clone)]
pub(crate) struct Unparker {
    wake_fd: std::sync::Arc<OwnedFd>,
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to an eventfd this handle keeps
        // open (the Arc); a full counter (EAGAIN) already guarantees a wake-up, and
        // any other failure can only mean a missed wake we cannot report anyway.
        unsafe {
            libc::write(self.wake_fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }
}

/// The ring set-ups to try, best first. A kernel that lacks a flag answers EINVAL
/// and the next one is tried; any other error ends the attempt.
fn build_ring(config: &Config) -> io::Result<(IoUring, UringFeatures)> {
    if let Some(errno) = config.simulate_uring_error {
        return Err(io::Error::from_raw_os_error(errno));
    }
    let full = UringFeatures {
        single_issuer: true,
        defer_taskrun: true,
        coop_taskrun: true,
    };
    let coop = UringFeatures {
        single_issuer: false,
        defer_taskrun: false,
        coop_taskrun: true,
    };
    let plain = UringFeatures {
        single_issuer: false,
        defer_taskrun: false,
        coop_taskrun: false,
    };
    let mut last = io::Error::from_raw_os_error(libc::EINVAL);
    for features in [full, coop, plain] {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(config.ring_entries.saturating_mul(4));
        if features.single_issuer {
            builder.setup_single_issuer();
        }
        if features.defer_taskrun {
            builder.setup_defer_taskrun();
        }
        if features.coop_taskrun {
            builder.setup_coop_taskrun();
        }
        match builder.build(config.ring_entries) {
            Ok(ring) => return Ok((ring, features)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

impl Driver {
    pub(crate) fn new(config: &Config) -> io::Result<(Driver, Unparker)> {
        let (ring, features) = build_ring(config)?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11 or later needed)",
            ));
        }
        // SAFETY: eventfd has no memory-safety preconditions; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new eventfd that nothing else owns.
        let wake_fd = std::sync::Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let driver = Driver {
            ring: RefCell::new(ring),
            slots: RefCell::new(Slots::new()),
            wake_fd: wake_fd.clone(),
            wake_buf: Box::into_raw(Box::new(0)),
            wake_armed: Cell::new(false),
            scratch: RefCell::new(Vec::new()),
            features,
        };
        Ok((driver, Unparker { wake_fd }))
    }

    pub(crate) fn features(&self) -> UringFeatures {
        self.features
    }

    /// Queues an SQE; when the SQ is full, submits to make room and retries.
    fn push(&self, entry: &squeue::Entry) -> io::Result<()> {
        let mut ring = self.ring.borrow_mut();
        loop {
            // SAFETY: every entry pushed here points only at memory owned by its op
            // (kept alive by the op's slot until the completion) or by this driver
            // (`wake_buf`, alive until shutdown has seen the read complete).
            if unsafe { ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            match ring.submit() {
                Ok(_) => {}
                // The CQ is backed up: the kernel refuses new work until it is
                // drained, so move completions out to the scratch list first.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    let mut scratch = self.scratch.borrow_mut();
                    scratch.extend(ring.completion().map(|c| (c.user_data(), c.result())));
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn submit<T: OpCode>(&self, op: &mut T) -> io::Result<Key> {
        let key = self.slots.borrow_mut().insert()?;
        let entry = op.uring_entry().user_data(key.user_data());
        if let Err(e) = self.push(&entry) {
            self.slots.borrow_mut().remove_unsubmitted(key);
            return Err(e);
        }
        Ok(key)
    }

    pub(crate) fn poll_slot(&self, key: Key, cx: &mut Context<'_>) -> Poll<Completion> {
        self.slots.borrow_mut().poll(key, cx)
    }

    pub(crate) fn orphan<T: OpCode>(&self, key: Key, data: T) -> AfterOrphan<T> {
        let after = self.slots.borrow_mut().orphan(key, data);
        if let AfterOrphan::Cancel = after {
            self.cancel(key.user_data());
        }
        after
    }

    /// Asks the kernel to cancel the request with `user_data`. Best effort: the
    /// request's own completion (cancelled or not) is what frees its slot.
    fn cancel(&self, user_data: u64) {
        let entry = opcode::AsyncCancel::new(user_data)
            .build()
            .user_data(CANCEL_TAG);
        let _ = self.push(&entry);
    }

    fn arm_wake(&self) -> io::Result<()> {
        if self.wake_armed.get() {
            return Ok(());
        }
        let entry = opcode::Read::new(types::Fd(self.wake_fd.as_raw_fd()), self.wake_buf.cast(), 8)
            .build()
            .user_data(WAKE_TAG);
        self.push(&entry)?;
        self.wake_armed.set(true);
        Ok(())
    }

    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.arm_wake()?;
        let result = {
            let mut ring = self.ring.borrow_mut();
            let to_submit = ring.submission().len() as u32;
            match timeout {
                // SAFETY: a plain enter with no argument pointer. GETEVENTS makes the
                // kernel run deferred task work, so completions appear without waiting.
                Some(t) if t.is_zero() => unsafe {
                    ring.submitter().enter::<libc::sigset_t>(
                        to_submit,
                        0,
                        io_uring::EnterFlags::GETEVENTS.bits(),
                        None,
                    )
                },
                Some(t) => {
                    let ts = Timespec::from(t);
                    ring.submitter()
                        .submit_with_args(1, &SubmitArgs::new().timespec(&ts))
                }
                None => ring.submitter().submit_and_wait(1),
            }
        };
        match result {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) => {}
            Err(e) => return Err(e),
        }
        self.reap();
        Ok(())
    }

    /// Moves completions from the CQ into their slots, waking their futures.
    fn reap(&self) {
        let mut scratch = std::mem::take(&mut *self.scratch.borrow_mut());
        {
            let mut ring = self.ring.borrow_mut();
            scratch.extend(ring.completion().map(|c| (c.user_data(), c.result())));
        }
        for (user_data, res) in scratch.drain(..) {
            let Some(key) = Key::from_user_data(user_data) else {
                if user_data == WAKE_TAG {
                    self.wake_armed.set(false);
                }
                continue;
            };
            let result = if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                Ok(res as usize)
            };
            let after = self.slots.borrow_mut().complete(key, Completion { result });
            match after {
                AfterComplete::Wake(waker) => waker.wake(),
                AfterComplete::Drop(orphan) => drop(orphan),
                AfterComplete::Nothing => {}
            }
        }
        let mut kept = self.scratch.borrow_mut();
        if kept.is_empty() {
            *kept = scratch;
        }
    }

    pub(crate) fn shutdown(&self, deadline: Duration) {
        let keys = self.slots.borrow().in_flight_keys();
        for key in keys {
            self.cancel(key.user_data());
        }
        if self.wake_armed.get() {
            self.cancel(WAKE_TAG);
        }
        let end = Instant::now() + deadline;
        while self.slots.borrow().in_flight() > 0 || self.wake_armed.get() {
            let now = Instant::now();
            if now >= end {
                // The kernel may still write these: leak them rather than free them.
                self.slots.borrow_mut().leak_in_flight();
                return;
            }
            let ts = Timespec::from((end - now).min(Duration::from_millis(50)));
            let ring = self.ring.borrow_mut();
            let _ = ring
                .submitter()
                .submit_with_args(1, &SubmitArgs::new().timespec(&ts));
            drop(ring);
            self.reap();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.wake_armed.get() {
            // SAFETY: `wake_buf` came from `Box::into_raw` in `new`, and no read is in
            // flight (its completion was reaped), so the kernel no longer writes it.
            drop(unsafe { Box::from_raw(self.wake_buf) });
        }
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("uring::Driver")
            .field("features", &self.features)
            .field("slots", &self.slots)
            .finish()
    }
}
