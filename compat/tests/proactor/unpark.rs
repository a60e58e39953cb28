//! An `Unparker` ends a `park` from another thread, whether the proactor is parked
//! already or parks later.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ringo_compat::{Proactor, Unparker};

/// How long a test waits for `park(None)` to return before it fails.
const RETURN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a proactor on its own thread, handing back its unparker: `before_park`
/// runs just before `park(None)`, whose success arrives on the returned channel.
fn parked_proactor(
    before_park: impl FnOnce(&Unparker) + std::marker::Send + 'static,
) -> (Unparker, mpsc::Receiver<bool>) {
    let (unparker_tx, unparker_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut proactor = Proactor::new().unwrap();
        let unparker = proactor.unparker();
        unparker_tx.send(unparker.clone()).unwrap();
        before_park(&unparker);
        let _ = done_tx.send(proactor.park(None).is_ok());
    });
    (unparker_rx.recv_timeout(RETURN_TIMEOUT).unwrap(), done_rx)
}

#[test]
fn unpark_from_another_thread_ends_a_park_without_timeout() {
    let (unparker, done) = parked_proactor(|_| {});
    // Give the proactor time to be inside park; if it is not yet, the unpark still
    // ends its next park, so the test holds either way.
    thread::sleep(Duration::from_millis(50));
    unparker.unpark();
    assert_eq!(done.recv_timeout(RETURN_TIMEOUT), Ok(true));
}

#[test]
fn unpark_before_park_makes_the_next_park_return() {
    let (_unparker, done) = parked_proactor(|unparker| unparker.unpark());
    assert_eq!(done.recv_timeout(RETURN_TIMEOUT), Ok(true));
}

#[test]
fn many_unparks_end_one_park_and_leave_later_parks_working() {
    let mut proactor = Proactor::new().unwrap();
    let unparker = proactor.unparker();
    for _ in 0..100 {
        unparker.clone().unpark();
    }
    proactor.park(Some(Duration::from_secs(5))).unwrap();
    proactor.park(Some(Duration::ZERO)).unwrap();
}

#[test]
fn unparker_is_send_sync_and_clone() {
    fn assert_traits<T: std::marker::Send + Sync + Clone + 'static>() {}
    assert_traits::<Unparker>();
}
