//! Cooperative budget: a task that never waits cannot starve the others.
//!
//! On compat, a socket op whose syscall succeeds at once completes on its first
//! poll, so a task reading a fast peer in a loop might never return `Pending`.
//! Each task poll starts with a budget of [`BUDGET`] op submissions; when it is
//! spent, the next op yields (wakes its task and returns `Pending`), sending the
//! task to the back of the run queue.

use std::cell::Cell;

/// Op submissions a task may make per poll before it is made to yield. Large
/// enough that a normal request/response exchange never hits it, small enough
/// that other tasks run within a few hundred syscalls.
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    static REMAINING: Cell<u32> = const { Cell::new(BUDGET) };
}

/// Gives the task about to be polled a full budget.
pub(crate) fn reset() {
    REMAINING.with(|r| r.set(BUDGET));
}

/// Spends one unit; false when the budget is exhausted and the caller must yield.
pub(crate) fn try_spend() -> bool {
    REMAINING.with(|r| match r.get() {
        0 => false,
        n => {
            r.set(n - 1);
            true
        }
    })
}
