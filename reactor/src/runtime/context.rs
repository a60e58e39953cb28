//! The runtime this thread is running: how ops, timers and `spawn` find it.
//!
//! A runtime is entered by `block_on` (and by its own `Drop`, which must drop
//! tasks and drain the driver with the runtime current). Entering nests: the
//! previous runtime, if any, is restored on exit.

use std::cell::RefCell;
use std::rc::Rc;

use super::Inner;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// Makes `inner` current until the guard drops.
pub(crate) fn enter(inner: Rc<Inner>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.borrow_mut().replace(inner));
    EnterGuard { previous }
}

/// Restores the previously current runtime when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Inner>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Drop the replaced Rc outside the borrow: dropping a runtime's last
        // reference may run its teardown, which uses this thread-local.
        let current = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        drop(current);
    }
}

/// Runs `f` with the current runtime.
///
/// # Panics
/// When no ringo runtime is running on this thread: ringo I/O, timers and
/// `spawn` need one (start it with `ringo_reactor::run` or `Runtime::block_on`).
pub(crate) fn with<R>(f: impl FnOnce(&Inner) -> R) -> R {
    try_with(f).expect(
        "no ringo runtime on this thread: call this inside ringo_reactor::run or Runtime::block_on",
    )
}

/// Runs `f` with the current runtime, or returns `None` when there is none.
pub(crate) fn try_with<R>(f: impl FnOnce(&Inner) -> R) -> Option<R> {
    CURRENT.with(|c| {
        let inner = c.borrow().clone()?;
        Some(f(&inner))
    })
}
