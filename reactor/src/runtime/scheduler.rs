//! Run queues: where woken tasks wait for their turn.
//!
//! Each runtime has a local queue (a plain `VecDeque`, touched only by its own
//! thread) and a remote queue (a lock-free `SegQueue`) for tasks woken or spawned
//! from other threads. A wake from another thread also wakes the driver if — and
//! only if — the runtime is asleep in `park`: the `sleeping` flag makes a wake
//! from a busy runtime's peers cost no syscall.
//!
//! # The sleep/wake handshake
//!
//! The runtime sets `sleeping`, *then* checks the remote queue, then parks. A
//! remote waker pushes to the queue, *then* clears `sleeping` and unparks if it
//! was set. With both sides using `SeqCst`, either the runtime sees the pushed
//! task before parking, or the waker sees `sleeping` and unparks it: a wake is
//! never lost.
//!
//! # Which wake
//!
//! A wake from the thread of another io_uring runtime rides on that runtime's
//! ring as an `IORING_OP_MSG_RING`, which posts a completion into the sleeping
//! runtime's ring: the waking side makes no syscall of its own. Any other
//! thread (or a kernel without MSG_RING) writes the driver's eventfd.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use async_task::Runnable;
use crossbeam_queue::SegQueue;

use super::{context, WakeStats};
use crate::driver::Unparker;

/// The part of a runtime other threads may touch.
#[derive(Debug)]
pub(crate) struct Shared {
    remote: SegQueue<Runnable>,
    /// Set while the runtime is (about to be) blocked in `park`.
    sleeping: AtomicBool,
    /// Set when the runtime starts shutting down; spawns are refused after it.
    closed: AtomicBool,
    unparker: Unparker,
    /// Wakes sent through another runtime's ring (diagnostics only).
    wakes_by_msg_ring: AtomicU64,
    /// Wakes sent through the eventfd or mio waker (diagnostics only).
    wakes_by_eventfd: AtomicU64,
}

impl Shared {
    pub(crate) fn new(unparker: Unparker) -> Shared {
        Shared {
            remote: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            unparker,
            wakes_by_msg_ring: AtomicU64::new(0),
            wakes_by_eventfd: AtomicU64::new(0),
        }
    }

    /// Queues a woken task: locally when woken on the runtime's own thread while
    /// it runs, otherwise remotely (waking the driver if it sleeps).
    pub(crate) fn schedule(self: &Arc<Self>, runnable: Runnable) {
        let mut runnable = Some(runnable);
        context::try_with(|rt| {
            if Arc::ptr_eq(&rt.shared, self) {
                if let Some(r) = runnable.take() {
                    rt.run_queue.borrow_mut().push_back(r);
                }
            }
        });
        if let Some(r) = runnable {
            self.remote.push(r);
            self.notify();
        }
    }

    /// Wakes the driver if it is asleep (see the module docs for the handshake).
    ///
    /// From the thread of another io_uring runtime, the wake travels as an
    /// `IORING_OP_MSG_RING` on that runtime's ring; from any other thread it is
    /// a write to the driver's eventfd (see [`Unparker::unpark_from`]).
    pub(crate) fn notify(&self) {
        if self.sleeping.swap(false, Ordering::SeqCst) {
            let by_ring = context::try_with(|rt| self.unparker.unpark_from(&rt.driver))
                .unwrap_or_else(|| {
                    self.unparker.unpark();
                    false
                });
            let counter = if by_ring {
                &self.wakes_by_msg_ring
            } else {
                &self.wakes_by_eventfd
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How often [`notify`](Self::notify) woke the sleeping driver, by path.
    pub(crate) fn wake_stats(&self) -> WakeStats {
        WakeStats {
            msg_ring: self.wakes_by_msg_ring.load(Ordering::Relaxed),
            eventfd: self.wakes_by_eventfd.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn pop_remote(&self) -> Option<Runnable> {
        self.remote.pop()
    }

    pub(crate) fn has_remote(&self) -> bool {
        !self.remote.is_empty()
    }

    /// Announces that the runtime is about to park.
    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.store(sleeping, Ordering::SeqCst);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
