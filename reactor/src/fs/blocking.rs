//! [`asyncify`]: run a std file-system call on its own thread, for the few
//! operations io_uring has no op for (reading a directory, copying, resolving a
//! path, changing permissions, walking a tree to remove it).
//!
//! These are rare next to reads and writes, so each call gets a fresh thread
//! (tens of microseconds) rather than a pool that both drivers would have to
//! share: the loop thread never blocks, and the io_uring driver stays free of
//! threads. Everything the call touches is owned by its closure, so dropping the
//! future only drops the result when the thread finishes: nothing dangles.

use std::future::poll_fn;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};

/// The call's result, or the waker of the task waiting for it.
enum Slot<T> {
    Waiting(Option<Waker>),
    Done(io::Result<T>),
    Taken,
}

/// Runs `call` on a new thread and waits for its result without blocking.
///
/// # Errors
/// The call's own error, or the OS's refusal to start a thread.
pub(crate) async fn asyncify<T, F>(call: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
    let theirs = Arc::clone(&slot);
    std::thread::Builder::new()
        .name("ringo-fs".to_owned())
        .spawn(move || {
            let result = call();
            let mut slot = theirs.lock().unwrap_or_else(PoisonError::into_inner);
            if let Slot::Waiting(Some(waker)) = std::mem::replace(&mut *slot, Slot::Done(result)) {
                drop(slot);
                waker.wake();
            }
        })?;
    poll_fn(|cx| {
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Done(result) => Poll::Ready(result),
            Slot::Waiting(_) => {
                *slot = Slot::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
            Slot::Taken => unreachable!("asyncify polled after it returned"),
        }
    })
    .await
}
