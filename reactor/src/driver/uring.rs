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
//! completes, and the wait returns. When the waking thread runs another ringo
//! io_uring runtime, it instead queues an `IORING_OP_MSG_RING` on its own ring
//! (Linux 5.18, probed once): the SQE leaves with that runtime's next
//! `io_uring_enter`, and the kernel posts a completion tagged [`MSG_WAKE_TAG`]
//! straight into the sleeping ring, which ends its wait — with `DEFER_TASKRUN`
//! on the sleeping ring too (the kernel queues the post as task work for the
//! ring's owner and wakes its wait; `tests/uring_features.rs` checks it).
//!
//! SQPOLL ([`Builder::sqpoll`](crate::Builder::sqpoll)): a kernel thread
//! consumes the SQ. The io-uring crate's `submit*` calls set
//! `IORING_ENTER_SQ_WAKEUP` when that thread has gone to sleep and skip the
//! syscall when it is awake and nothing needs waiting for; the driver uses them
//! (not a raw enter) on SQPOLL rings. Completions are posted by the kernel on
//! its own there (SQPOLL excludes `DEFER_TASKRUN`), so reaping the CQ sees them.

mod buffers;
mod setup;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use io_uring::types::{SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, types, IoUring};

use super::fixed::FixedFiles;
use super::lifecycle::{wait_in_flight, AfterOrphan, Completion, Key, Orphan, Slots, WakeOn};
use crate::op::OpCode;
use crate::runtime::{Config, UringFeatures};
pub(crate) use buffers::BufferLease;
use buffers::BufferTable;
use setup::{build_ring, dup_cloexec, kernel_at_least, probe_opcodes, supports};

/// `user_data` of the armed eventfd read.
const WAKE_TAG: u64 = Key::reserved(1);
/// `user_data` of cancellation requests (their own completions carry no news).
const CANCEL_TAG: u64 = Key::reserved(2);
/// `user_data` of the completion another runtime's `IORING_OP_MSG_RING` posts
/// into this ring: a wake-up, carrying nothing else.
const MSG_WAKE_TAG: u64 = Key::reserved(3);
/// `user_data` of linked timeouts: their completions carry no news (the op
/// they guard completes with `-ECANCELED` when they fire), and with a reserved
/// tag they never reach a slot, however late they arrive.
const LINK_TIMEOUT_TAG: u64 = Key::reserved(4);
/// Reserved tags with this bit set are this ring's own MSG_RING submissions;
/// the other 31 bits index `msg_sent`.
const MSG_SENT_BIT: u32 = 1 << 31;
/// Most MSG_RING wakes one ring keeps in flight; past it, wakes go through the
/// target's eventfd. A runtime has at most one wake pending per sleeping
/// target (the `sleeping` flag is cleared by the first waker), so this only
/// bounds memory against a process running a thousand runtimes.
const MAX_MSG_IN_FLIGHT: usize = 1024;

/// The io_uring driver.
pub(crate) struct Driver {
    /// Shared (weakly) with the registered file table, which sockets may keep
    /// beyond the driver's life.
    ring: Rc<RefCell<IoUring<squeue::Entry, cqueue::Entry>>>,
    /// The registered file table (size 0 when off); SQEs are built with it.
    files: FixedFiles,
    /// The registered buffer table, lent to one fixed-buffer pool at a time.
    buffers: BufferTable,
    slots: RefCell<Slots>,
    /// How other threads wake us (shared with the [`Unparker`]s, so it
    /// outlives every waker).
    wake: Arc<WakeTarget>,
    /// Where the armed eventfd read writes: a leaked `Box`, so its address is
    /// stable; freed in `Drop` only if no read is left in flight.
    wake_buf: *mut u64,
    /// Whether the eventfd read is in the ring (armed and not yet completed).
    wake_armed: Cell<bool>,
    /// Completions copied out of the CQ, processed after the ring is released.
    scratch: RefCell<Vec<(u64, i32, u32)>>,
    features: UringFeatures,
    /// Test hook: refuse to register provided buffers.
    no_provided_buffers: bool,
    /// Test hook: refuse to register fixed buffers, as `RLIMIT_MEMLOCK` would.
    no_registered_buffers: bool,
    /// Whether listeners arm multishot accepts: Linux 5.19 or later, and the
    /// test hook does not deny it.
    multishot_accept: bool,
    /// Whether ops with a deadline are submitted with a linked timeout.
    link_timeouts: bool,
    /// Targets of this ring's MSG_RING wakes still in flight, indexed by the
    /// low bits of their tag (`None`: a free index). Each `Arc` keeps its
    /// target's ring fd open until the kernel has used it and posted the
    /// completion here. A plain `Vec` (scanned for a free index) rather than a
    /// slab: it holds a handful of entries, one per sleeping peer at most.
    msg_sent: RefCell<Vec<Option<Arc<WakeTarget>>>>,
}

/// What other threads need to wake one io_uring driver.
#[derive(Debug)]
struct WakeTarget {
    /// The eventfd whose read the driver keeps armed on its ring.
    event_fd: OwnedFd,
    /// A duplicate of the driver's ring fd, which other runtimes' MSG_RING
    /// wakes name; `None` where MSG_RING is unavailable. Being our own
    /// duplicate, it stays open while any [`Unparker`] (or MSG_RING in flight)
    /// lives, so such an SQE can never name a closed — or reused — fd number.
    /// The price: the ring's kernel memory (not the driver) outlives the
    /// runtime until the last waker of its tasks is dropped.
    ring_fd: Option<OwnedFd>,
}

impl WakeTarget {
    fn write_eventfd(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to an eventfd this struct owns
        // and keeps open; a full counter (EAGAIN) already guarantees a wake-up, and
        // any other failure can only mean a missed wake we cannot report anyway.
        unsafe {
            libc::write(self.event_fd.as_raw_fd(), (&one as *const u64).cast(), 8);
        }
    }
}

/// Wakes an io_uring driver from any thread: writes its eventfd, or (through
/// [`Driver::send_wake`]) is the target of another ring's MSG_RING.
#[derive(Debug, Clone)]
pub(crate) struct Unparker {
    target: Arc<WakeTarget>,
}

impl Unparker {
    pub(crate) fn unpark(&self) {
        self.target.write_eventfd();
    }
}

impl Driver {
    pub(crate) fn new(config: &Config) -> io::Result<(Driver, Unparker)> {
        let (ring, mut features) = build_ring(config)?;
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
        let event_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let probe = probe_opcodes(&ring);
        let msg_ring = supports(
            probe.as_ref(),
            opcode::MsgRingData::CODE,
            config.simulate.no_msg_ring,
        );
        // Without a duplicate (EMFILE) the ring still works; wakes use the eventfd.
        let ring_fd = msg_ring
            .then(|| dup_cloexec(ring.as_raw_fd()).ok())
            .flatten();
        features.msg_ring = ring_fd.is_some();
        features.send_zc = supports(
            probe.as_ref(),
            opcode::SendZc::CODE,
            config.simulate.no_send_zc,
        );
        // `IORING_OP_LINK_TIMEOUT` is older (5.5) than the EXT_ARG this driver
        // requires, so no probe; but the pair must fit in the SQ together.
        features.link_timeout = !config.simulate.no_link_timeout && ring.params().sq_entries() >= 2;
        features.recv_bundle =
            !config.simulate.no_recv_bundle && ring.params().is_feature_recvsend_bundle();
        let wake = Arc::new(WakeTarget { event_fd, ring_fd });
        let ring = Rc::new(RefCell::new(ring));
        let files = FixedFiles::new(&ring, config);
        features.registered_fds = files.size();
        let buffers = BufferTable::new(Rc::downgrade(&ring));
        let driver = Driver {
            ring,
            files,
            buffers,
            slots: RefCell::new(Slots::new()),
            wake: wake.clone(),
            wake_buf: Box::into_raw(Box::new(0)),
            wake_armed: Cell::new(false),
            scratch: RefCell::new(Vec::new()),
            features,
            no_provided_buffers: config.simulate.no_provided_buffers,
            no_registered_buffers: config.simulate.no_registered_buffers,
            multishot_accept: !config.simulate.no_multishot_accept && kernel_at_least(5, 19),
            link_timeouts: features.link_timeout,
            msg_sent: RefCell::new(Vec::new()),
        };
        Ok((driver, Unparker { target: wake }))
    }

    pub(crate) fn features(&self) -> UringFeatures {
        self.features
    }

    pub(crate) fn registered_fds_in_use(&self) -> u32 {
        self.files.in_use()
    }

    /// Queues an SQE; when the SQ is full, submits to make room and retries.
    fn push(&self, entry: &squeue::Entry) -> io::Result<()> {
        self.push_all(std::slice::from_ref(entry))
    }

    /// Queues SQEs all together or not at all, so a linked pair is never split
    /// by a submission between its halves (the kernel would run the op
    /// unlinked). `entries` must fit in the SQ.
    fn push_all(&self, entries: &[squeue::Entry]) -> io::Result<()> {
        let mut ring = self.ring.borrow_mut();
        debug_assert!(entries.len() <= ring.submission().capacity());
        loop {
            // SAFETY: every entry pushed here points only at memory owned by its op
            // (kept alive by the op's slot until the completion) or by this driver
            // (`wake_buf`, alive until shutdown has seen the read complete).
            if unsafe { ring.submission().push_multiple(entries) }.is_ok() {
                return Ok(());
            }
            match ring.submit() {
                // The SQPOLL thread empties the SQ on its own time: wait for room
                // rather than spin.
                Ok(_) if self.features.sqpoll => {
                    ring.submitter().squeue_wait()?;
                }
                Ok(_) => {}
                // The CQ is backed up: the kernel refuses new work until it is
                // drained, so move completions out to the scratch list first.
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    let mut scratch = self.scratch.borrow_mut();
                    scratch.extend(
                        ring.completion()
                            .map(|c| (c.user_data(), c.result(), c.flags())),
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn submit<T: OpCode>(
        &self,
        op: &mut T,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Key> {
        let key = self.slots.borrow_mut().insert(waker, wake_on)?;
        let entry = op.uring_entry(&self.files).user_data(key.user_data());
        self.push_for(key, &[entry])
    }

    pub(crate) fn submit_stream<T: OpCode>(
        &self,
        op: &mut T,
        backlog: Option<usize>,
    ) -> io::Result<Key> {
        let key = self.slots.borrow_mut().insert_streaming(backlog)?;
        let entry = op.uring_entry(&self.files).user_data(key.user_data());
        self.push_for(key, &[entry])
    }

    /// See [`super::Driver::submit_linked`].
    ///
    /// # Safety
    /// As [`super::Driver::submit_linked`].
    pub(crate) unsafe fn submit_linked<T: OpCode>(
        &self,
        op: &mut T,
        timespec: &Timespec,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Key> {
        let key = self.slots.borrow_mut().insert(waker, wake_on)?;
        let entries = [
            op.uring_entry(&self.files)
                .flags(squeue::Flags::IO_LINK)
                .user_data(key.user_data()),
            opcode::LinkTimeout::new(timespec)
                .flags(types::TimeoutFlags::ABS)
                .build()
                .user_data(LINK_TIMEOUT_TAG),
        ];
        self.push_for(key, &entries)
    }

    /// Queues the SQEs of the op in `key`'s fresh slot; frees the slot if they
    /// cannot be queued.
    fn push_for(&self, key: Key, entries: &[squeue::Entry]) -> io::Result<Key> {
        if let Err(e) = self.push_all(entries) {
            self.slots.borrow_mut().remove_unsubmitted(key);
            return Err(e);
        }
        Ok(key)
    }

    /// Whether ops with a deadline go out with a linked timeout: always, but
    /// for a one-entry SQ or the test hook.
    pub(crate) fn link_timeouts(&self) -> bool {
        self.link_timeouts
    }

    /// Whether listeners should arm one multishot accept (Linux 5.19 or later).
    pub(crate) fn multishot_accept(&self) -> bool {
        self.multishot_accept
    }

    pub(crate) fn poll_slot(
        &self,
        key: Key,
        cx: &mut Context<'_>,
        wake_on: WakeOn,
    ) -> Poll<Completion> {
        self.slots.borrow_mut().poll(key, cx, wake_on)
    }

    pub(crate) fn op_slots(&self) -> usize {
        self.slots.borrow().len()
    }

    pub(crate) fn poll_stream(&self, key: Key, cx: &mut Context<'_>) -> Poll<Completion> {
        self.slots.borrow_mut().poll_stream(key, cx)
    }

    /// See [`super::Driver::provide_buffers`]. Refused (`Unsupported`) when
    /// the test hook denies provided buffers, or the kernel predates multishot
    /// receive (Linux 6.0; provided buffer rings alone came in 5.19), so the
    /// pool then falls back to its free list.
    ///
    /// # Safety
    /// As [`super::Driver::provide_buffers`].
    pub(crate) unsafe fn provide_buffers(
        &self,
        addr: u64,
        entries: u16,
        group: u16,
    ) -> io::Result<()> {
        if self.no_provided_buffers || !kernel_at_least(6, 0) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "provided buffers with multishot receive need Linux 6.0",
            ));
        }
        let ring = self.ring.borrow();
        // SAFETY: the caller guarantees the ring memory outlives the registration
        // (the ring's own lifetime).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(addr, entries, group, 0)
        }
    }

    /// See [`super::Driver::lend_buffers`]. Refused (`Unsupported`) when the
    /// test hook denies registered buffers.
    ///
    /// # Safety
    /// As [`super::Driver::lend_buffers`].
    pub(crate) unsafe fn lend_buffers(&self, iovecs: &[libc::iovec]) -> io::Result<BufferLease> {
        if self.no_registered_buffers {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "registered buffers refused by the test hook",
            ));
        }
        // SAFETY: the caller's contract is this method's.
        unsafe { self.buffers.lend(iovecs) }
    }

    /// Whether `lease` is of this ring's buffer table.
    pub(crate) fn holds_buffers(&self, lease: &BufferLease) -> bool {
        self.buffers.holds(lease)
    }

    pub(crate) fn orphan<T: Orphan + 'static>(&self, key: Key, data: T) -> AfterOrphan<T> {
        let after = self.slots.borrow_mut().orphan(key, data);
        if let AfterOrphan::Cancel = after {
            self.cancel(key.user_data());
        }
        after
    }

    /// Queues a wake for `target`'s ring as an `IORING_OP_MSG_RING` on this ring,
    /// to leave with this runtime's next `io_uring_enter` (a park, or the flush
    /// when `block_on` returns). Returns `false`, having queued nothing, when
    /// either ring lacks MSG_RING, too many are in flight, or the SQ cannot
    /// take it; the caller then writes the eventfd.
    pub(crate) fn send_wake(&self, target: &Unparker) -> bool {
        if !self.features.msg_ring {
            return false;
        }
        let Some(ring_fd) = &target.target.ring_fd else {
            return false;
        };
        // A wake from inside the driver's own bookkeeping (a waker run while the
        // ring or the list is borrowed) takes the eventfd path instead.
        let Ok(mut sent) = self.msg_sent.try_borrow_mut() else {
            return false;
        };
        let index = sent.iter().position(Option::is_none).unwrap_or(sent.len());
        if index >= MAX_MSG_IN_FLIGHT || self.ring.try_borrow_mut().is_err() {
            return false;
        }
        let Ok(tag) = u32::try_from(index) else {
            return false;
        };
        let entry = opcode::MsgRingData::new(types::Fd(ring_fd.as_raw_fd()), 0, MSG_WAKE_TAG, None)
            .build()
            .user_data(Key::reserved(MSG_SENT_BIT | tag));
        if self.push(&entry).is_err() {
            return false;
        }
        let target = Some(target.target.clone());
        match sent.get_mut(index) {
            Some(free) => *free = target,
            None => sent.push(target),
        }
        true
    }

    /// Submits whatever is queued without waiting. Best effort: what a failed
    /// submit leaves queued goes with the next park or the shutdown.
    pub(crate) fn flush(&self) {
        let Ok(mut ring) = self.ring.try_borrow_mut() else {
            return;
        };
        if !ring.submission().is_empty() {
            let _ = ring.submit();
        }
    }

    /// Like [`flush`](Self::flush), and reports whether the kernel has taken
    /// every queued SQE (the SQ is empty). Once it has, each submitted op holds
    /// its own reference to the files its SQE named (no flags defer that), so
    /// the fd numbers may close while the ops are still in flight.
    pub(crate) fn flush_taken(&self) -> bool {
        let Ok(mut ring) = self.ring.try_borrow_mut() else {
            return false;
        };
        if !ring.submission().is_empty() && ring.submit().is_err() {
            return false;
        }
        let taken = ring.submission().is_empty();
        taken
    }

    /// Asks the kernel to cancel the request with `user_data`. Best effort: the
    /// request's own completion (cancelled or not) is what frees its slot.
    pub(crate) fn cancel(&self, user_data: u64) {
        let entry = opcode::AsyncCancel::new(user_data)
            .build()
            .user_data(CANCEL_TAG);
        let _ = self.push(&entry);
    }

    fn arm_wake(&self) -> io::Result<()> {
        if self.wake_armed.get() {
            return Ok(());
        }
        let fd = types::Fd(self.wake.event_fd.as_raw_fd());
        let entry = opcode::Read::new(fd, self.wake_buf.cast(), 8)
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
                // The crate's submit wakes a sleeping SQPOLL thread (SQ_WAKEUP), and
                // skips the syscall while the thread is awake; the kernel posts
                // completions without task work of ours to run.
                Some(t) if t.is_zero() && self.features.sqpoll => ring.submit(),
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
            scratch.extend(
                ring.completion()
                    .map(|c| (c.user_data(), c.result(), c.flags())),
            );
        }
        for (user_data, res, flags) in scratch.drain(..) {
            let Some(key) = Key::from_user_data(user_data) else {
                self.complete_reserved(user_data, res);
                continue;
            };
            let result = if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                Ok(res as usize)
            };
            let after = self
                .slots
                .borrow_mut()
                .complete(key, Completion { result, flags });
            after.run(|| self.cancel(user_data));
        }
        let mut kept = self.scratch.borrow_mut();
        if kept.is_empty() {
            *kept = scratch;
        }
    }

    /// Handles a completion of the driver's own (a reserved tag). A MSG_WAKE_TAG
    /// completion has done its job by ending the wait; a cancel's or a linked
    /// timeout's carries no news.
    fn complete_reserved(&self, user_data: u64, res: i32) {
        let tag = (user_data >> 32) as u32;
        if user_data == WAKE_TAG {
            self.wake_armed.set(false);
        } else if tag & MSG_SENT_BIT != 0 {
            let target = self
                .msg_sent
                .borrow_mut()
                .get_mut((tag & !MSG_SENT_BIT) as usize)
                .and_then(Option::take);
            // The kernel refused the MSG_RING (the target's CQ overflowed, no
            // memory, …): the wake must not be lost, so it goes by eventfd.
            if let Some(target) = target.filter(|_| res < 0) {
                target.write_eventfd();
            }
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
        // Our MSG_RING wakes are not cancelled: they complete at once, and the
        // targets are waiting for them.
        let busy = || {
            self.slots.borrow().in_flight() > 0
                || self.wake_armed.get()
                || self.msg_sent.borrow().iter().any(Option::is_some)
        };
        let turn = |wait| {
            let ts = Timespec::from(wait);
            let ring = self.ring.borrow_mut();
            let _ = ring
                .submitter()
                .submit_with_args(1, &SubmitArgs::new().timespec(&ts));
            drop(ring);
            self.reap();
        };
        if !wait_in_flight(deadline, busy, turn) {
            // The kernel may still write these: leak them rather than free them.
            self.slots.borrow_mut().leak_in_flight();
            // Nor close fd numbers a queued MSG_RING may still name.
            std::mem::forget(std::mem::take(&mut *self.msg_sent.borrow_mut()));
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
            .field("files", &self.files)
            .field("buffers", &self.buffers)
            .field("slots", &self.slots)
            .finish()
    }
}
