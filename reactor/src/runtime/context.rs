//! The runtime this thread is running: how ops, timers and `spawn` find it.
//!
//! A runtime is entered by `block_on` (and by its own `Drop`, which must drop
//! tasks and drain the driver with the runtime current). Entering nests: the
//! previous runtime, if any, is restored on exit.
//!
//! Every op, timer and wake looks the runtime up, several times per request,
//! so the lookup is a plain pointer read: the [`EnterGuard`] owns the
//! reference that keeps the runtime alive, and the thread-local only points
//! at it.

use std::cell::Cell;
use std::ptr;
use std::rc::Rc;

use super::Inner;

thread_local! {
    /// The runtime of the innermost live [`EnterGuard`], or null.
    static CURRENT: Cell<*const Inner> = const { Cell::new(ptr::null()) };
}

/// Makes `inner` current until the guard drops. Guards must drop in the
/// reverse order of their creation (they live in the scope that entered).
pub(crate) fn enter(inner: Rc<Inner>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.replace(Rc::as_ptr(&inner)));
    EnterGuard {
        _current: inner,
        previous,
    }
}

/// Keeps the entered runtime alive while it is current, and restores the
/// previously current one when dropped.
pub(crate) struct EnterGuard {
    /// What `CURRENT` points at; dropped after the pointer is restored, so a
    /// runtime's teardown (which may run when this is the last reference)
    /// never sees itself as current.
    _current: Rc<Inner>,
    previous: *const Inner,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
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
    let current = CURRENT.with(Cell::get);
    // SAFETY: a non-null pointer was set by `enter` from the `Rc` its guard
    // holds, and is replaced before that guard releases it. Guards are scoped
    // (they drop in reverse order of creation, see `enter`), so the guard of
    // the pointer read here outlives this call, `f` included: nothing `f` does
    // can end the enclosing scope that owns it.
    let inner = unsafe { current.as_ref() }?;
    Some(f(inner))
}
