//! The client handle's side of a connection's life, the same for the pipelined
//! and multiplexed clients: when the last handle goes, the connection must
//! notice so it can end once idle.

use std::cell::RefCell;
use std::rc::Rc;
use std::task::Waker;

/// Call from a client handle's `Drop`: when this is the last handle (the
/// connection holds the only other reference to `shared`), wakes the
/// connection's task, read from the state by `connection`, so it notices.
/// A state borrowed at that moment is left alone rather than panic.
pub(crate) fn wake_connection_if_last<S>(
    shared: &Rc<RefCell<S>>,
    connection: impl FnOnce(&S) -> Option<Waker>,
) {
    if Rc::strong_count(shared) != 2 {
        return;
    }
    let waker = shared.try_borrow().ok().and_then(|s| connection(&s));
    if let Some(w) = waker {
        w.wake();
    }
}
