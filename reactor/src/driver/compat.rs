//! The compat back-end: glue between the runtime and `ringo-compat`'s proactor.
//!
//! Socket ops run as readiness ops: the `Op` future attempts the syscall when
//! polled and, on `WouldBlock`, waits for the fd's readiness; nothing is
//! outstanding between polls, so dropping such a future is trivially safe. File
//! ops (which readiness cannot express) run on the proactor's blocking pool: they
//! take a slot like io_uring ops and complete into it, so cancellation works the
//! same way — the slot keeps the buffer until the pool thread is done.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crossbeam_queue::SegQueue;
use ringo_compat::{Proactor, Unparker};

use super::lifecycle::{wait_in_flight, AfterOrphan, Completion, Key, Orphan, Slots, WakeOn};
use super::Submission;
use crate::op::{CompatMode, OpCode};
use crate::runtime::Config;

/// Results of blocking-pool calls, pushed by pool threads.
type Finished = SegQueue<(Key, io::Result<usize>)>;

/// The compat driver.
pub(crate) struct Driver {
    proactor: RefCell<Proactor>,
    slots: RefCell<Slots>,
    finished: Arc<Finished>,
    unparker: Unparker,
}

impl Driver {
    pub(crate) fn new(config: &Config) -> io::Result<(Driver, Unparker)> {
        let proactor = Proactor::with_blocking_threads(config.blocking_threads)?;
        let unparker = proactor.unparker();
        let driver = Driver {
            proactor: RefCell::new(proactor),
            slots: RefCell::new(Slots::new()),
            finished: Arc::new(SegQueue::new()),
            unparker: unparker.clone(),
        };
        Ok((driver, unparker))
    }

    pub(crate) fn submit<T: OpCode>(
        &self,
        op: &mut T,
        waker: &Waker,
        wake_on: WakeOn,
    ) -> io::Result<Submission> {
        let CompatMode::Blocking(call) = op.compat_mode() else {
            return Ok(Submission::Readiness);
        };
        let key = self.slots.borrow_mut().insert(waker, wake_on)?;
        let finished = self.finished.clone();
        let unparker = self.unparker.clone();
        self.proactor.borrow().spawn_blocking(Box::new(move || {
            let result = (call.0)();
            finished.push((key, result));
            unparker.unpark();
        }));
        Ok(Submission::InFlight(key))
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

    pub(crate) fn poll_readiness<T: OpCode>(
        &self,
        op: &mut T,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        self.proactor.borrow_mut().poll_op(op, cx)
    }

    /// A blocking call cannot be cancelled: the slot waits for it to finish.
    pub(crate) fn orphan<T: Orphan + 'static>(&self, key: Key, data: T) -> AfterOrphan<T> {
        self.slots.borrow_mut().orphan(key, data)
    }

    pub(crate) fn park(&self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = if self.finished.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        self.proactor.borrow_mut().park(timeout)?;
        self.collect_finished();
        Ok(())
    }

    fn collect_finished(&self) {
        while let Some((key, result)) = self.finished.pop() {
            let after = self
                .slots
                .borrow_mut()
                .complete(key, Completion::plain(result));
            after.run(|| unreachable!("compat has no multishot ops to cancel"));
        }
    }

    pub(crate) fn deregister(&self, fd: crate::sys::RawSource) {
        self.proactor.borrow_mut().deregister(fd);
    }

    pub(crate) fn shutdown(&self, deadline: Duration) {
        let finished = wait_in_flight(
            deadline,
            || self.slots.borrow().in_flight() > 0,
            |wait| {
                let _ = self.park(Some(wait));
            },
        );
        if !finished {
            // A pool thread may still write these: leak them rather than free them.
            self.slots.borrow_mut().leak_in_flight();
        }
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("compat::Driver")
            .field("slots", &self.slots)
            .finish()
    }
}
