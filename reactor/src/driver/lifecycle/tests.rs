//! Every transition of the op state machine, and the generation check.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::*;

struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn waker() -> (Arc<CountingWaker>, Waker) {
    let count = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

fn ok(n: usize) -> Completion {
    Completion::plain(Ok(n))
}

/// Op data that records whether it was completed as an orphan and dropped.
struct Tracked {
    completed_with: Rc<Cell<Option<usize>>>,
    dropped: Rc<Cell<bool>>,
}

impl Orphan for Tracked {
    fn complete(&mut self, completion: &Completion) {
        self.completed_with
            .set(completion.result.as_ref().ok().copied());
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

/// What a test watches of a [`Tracked`]: the completion it saw, and its drop.
type Watch = (Rc<Cell<Option<usize>>>, Rc<Cell<bool>>);

fn tracked() -> (Tracked, Watch) {
    let completed = Rc::new(Cell::new(None));
    let dropped = Rc::new(Cell::new(false));
    (
        Tracked {
            completed_with: completed.clone(),
            dropped: dropped.clone(),
        },
        (completed, dropped),
    )
}

#[test]
fn completion_wakes_the_waker_given_at_submission() {
    let mut slots = Slots::new();
    let (count, w) = waker();
    let key = slots.insert(&w, WakeOn::Every).unwrap();
    match slots.complete(key, ok(7)) {
        AfterComplete::Wake(waker) => waker.wake(),
        _ => panic!("a submitted op's completion must hand back its waker"),
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    match slots.poll(key, &mut Context::from_waker(&w), WakeOn::Every) {
        Poll::Ready(c) => assert_eq!(c.result.unwrap(), 7),
        Poll::Pending => panic!("completed op must be ready"),
    }
    assert_eq!(slots.in_flight(), 0);
    assert_eq!(slots.slab.len(), 0, "collecting frees the slot");
}

#[test]
fn a_poll_before_completion_leaves_its_waker() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let (count, w) = waker();
    assert!(slots
        .poll(key, &mut Context::from_waker(&w), WakeOn::Every)
        .is_pending());
    match slots.complete(key, ok(3)) {
        AfterComplete::Wake(waker) => waker.wake(),
        _ => panic!("a waiting op's completion must hand back its waker"),
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(slots
        .poll(key, &mut Context::from_waker(&w), WakeOn::Every)
        .is_ready());
}

#[test]
fn a_quiet_waiter_is_woken_only_by_a_short_or_failed_completion() {
    let mut slots = Slots::new();
    let (count, w) = waker();
    let whole = slots.insert(&w, WakeOn::ShortOf(10)).unwrap();
    assert!(matches!(
        slots.complete(whole, ok(10)),
        AfterComplete::Nothing
    ));
    let short = slots.insert(&w, WakeOn::ShortOf(10)).unwrap();
    assert!(matches!(
        slots.complete(short, ok(9)),
        AfterComplete::Wake(_)
    ));
    let failed = slots.insert(&w, WakeOn::ShortOf(10)).unwrap();
    let broken = Completion::plain(Err(io::ErrorKind::BrokenPipe.into()));
    assert!(matches!(
        slots.complete(failed, broken),
        AfterComplete::Wake(_)
    ));
    assert_eq!(count.0.load(Ordering::SeqCst), 0, "nothing woke by itself");
    match slots.poll(whole, &mut Context::from_waker(&w), WakeOn::Every) {
        Poll::Ready(c) => assert_eq!(c.result.unwrap(), 10, "the whole write waits in its slot"),
        Poll::Pending => panic!("a quiet completion must still be collected"),
    }
}

#[test]
fn a_poll_that_asks_for_every_completion_makes_a_quiet_waiter_wake() {
    let mut slots = Slots::new();
    let (count, w) = waker();
    let key = slots.insert(&w, WakeOn::ShortOf(4)).unwrap();
    assert!(slots
        .poll(key, &mut Context::from_waker(&w), WakeOn::Every)
        .is_pending());
    match slots.complete(key, ok(4)) {
        AfterComplete::Wake(waker) => waker.wake(),
        _ => panic!("the last poll asked for every completion"),
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

#[test]
fn repoll_with_another_waker_replaces_it() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let (first, w1) = waker();
    let (second, w2) = waker();
    assert!(slots
        .poll(key, &mut Context::from_waker(&w1), WakeOn::Every)
        .is_pending());
    assert!(slots
        .poll(key, &mut Context::from_waker(&w2), WakeOn::Every)
        .is_pending());
    if let AfterComplete::Wake(waker) = slots.complete(key, ok(1)) {
        waker.wake();
    }
    assert_eq!(first.0.load(Ordering::SeqCst), 0);
    assert_eq!(second.0.load(Ordering::SeqCst), 1);
}

#[test]
fn orphan_in_flight_keeps_data_until_completion() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let (data, (completed, dropped)) = tracked();
    assert!(matches!(slots.orphan(key, data), AfterOrphan::Cancel));
    assert!(
        !dropped.get(),
        "data must live while the kernel may write it"
    );
    assert_eq!(slots.in_flight(), 1);
    match slots.complete(key, ok(9)) {
        AfterComplete::Drop(orphan) => drop(orphan),
        _ => panic!("an orphan's completion hands it back to be dropped"),
    }
    assert_eq!(completed.get(), Some(9), "the orphan saw its completion");
    assert!(dropped.get());
    assert_eq!(slots.in_flight(), 0);
    assert_eq!(slots.slab.len(), 0);
}

#[test]
fn orphan_after_completion_returns_data_and_result() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let _ = slots.complete(key, ok(4));
    let (data, (_, dropped)) = tracked();
    match slots.orphan(key, data) {
        AfterOrphan::Completed(c, data) => {
            assert_eq!(c.result.unwrap(), 4);
            assert!(!dropped.get());
            drop(data);
        }
        AfterOrphan::Cancel | AfterOrphan::Ended(_) => panic!("a completed op needs no cancel"),
    }
    assert!(dropped.get());
    assert_eq!(slots.slab.len(), 0);
}

#[test]
fn stale_key_completion_is_ignored() {
    let mut slots = Slots::new();
    let old = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let _ = slots.complete(old, ok(1));
    let (_, w) = waker();
    assert!(slots
        .poll(old, &mut Context::from_waker(&w), WakeOn::Every)
        .is_ready());
    let new = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    assert_eq!(old.index, new.index, "the slab reuses the freed index");
    assert_ne!(old.generation, new.generation);
    assert!(matches!(
        slots.complete(old, ok(99)),
        AfterComplete::Nothing
    ));
    assert!(
        slots
            .poll(new, &mut Context::from_waker(&w), WakeOn::Every)
            .is_pending(),
        "a stale completion must not complete the new op"
    );
}

#[test]
fn user_data_round_trips_and_reserved_tags_are_not_keys() {
    let mut slots = Slots::new();
    for _ in 0..5 {
        let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
        assert_eq!(Key::from_user_data(key.user_data()), Some(key));
    }
    assert_eq!(Key::from_user_data(Key::reserved(1)), None);
    assert_eq!(Key::from_user_data(Key::reserved(2)), None);
}

#[test]
fn errors_are_delivered_unchanged() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    let _ = slots.complete(
        key,
        Completion::plain(Err(io::Error::from_raw_os_error(libc::ECONNRESET))),
    );
    let (_, w) = waker();
    match slots.poll(key, &mut Context::from_waker(&w), WakeOn::Every) {
        Poll::Ready(c) => assert_eq!(c.result.unwrap_err().raw_os_error(), Some(libc::ECONNRESET)),
        Poll::Pending => panic!("completed"),
    }
}

#[test]
fn removing_an_unsubmitted_slot_frees_it() {
    let mut slots = Slots::new();
    let key = slots.insert(Waker::noop(), WakeOn::Every).unwrap();
    slots.remove_unsubmitted(key);
    assert_eq!(slots.slab.len(), 0);
    slots.remove_unsubmitted(key);
}

/// A multishot completion of `n` bytes, with `F_MORE` if `more`, in `buffer`.
fn shot(n: usize, more: bool, buffer: Option<u16>) -> Completion {
    let mut flags = if more { CQE_F_MORE } else { 0 };
    if let Some(id) = buffer {
        flags |= CQE_F_BUFFER | (u32::from(id) << CQE_BUFFER_SHIFT);
    }
    Completion {
        result: Ok(n),
        flags,
    }
}

/// Orphaned multishot data that records the buffers its completions returned.
struct Releases(Rc<RefCell<Vec<u16>>>);

impl Orphan for Releases {
    fn complete(&mut self, completion: &Completion) {
        if let Some(id) = completion.buffer_id() {
            self.0.borrow_mut().push(id);
        }
    }
}

fn collect(slots: &mut Slots, key: Key) -> Option<Completion> {
    let (_, w) = waker();
    match slots.poll_stream(key, &mut Context::from_waker(&w)) {
        Poll::Ready(c) => Some(c),
        Poll::Pending => None,
    }
}

#[test]
fn buffer_id_and_more_are_read_from_the_flags() {
    let c = shot(10, true, Some(513));
    assert!(c.more());
    assert_eq!(c.buffer_id(), Some(513));
    let c = shot(0, false, None);
    assert!(!c.more());
    assert_eq!(c.buffer_id(), None);
    assert!(!Completion::plain(Ok(1)).more());
}

#[test]
fn completions_with_more_queue_up_and_wake_the_stream_once() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let (count, w) = waker();
    assert!(slots
        .poll_stream(key, &mut Context::from_waker(&w))
        .is_pending());
    match slots.complete(key, shot(5, true, Some(3))) {
        AfterComplete::Wake(waker) => waker.wake(),
        _ => panic!("a waiting stream is woken by its first completion"),
    }
    assert!(matches!(
        slots.complete(key, shot(6, true, Some(4))),
        AfterComplete::Nothing
    ));
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let ids: Vec<_> = (0..2)
        .map(|_| collect(&mut slots, key).and_then(|c| c.buffer_id()))
        .collect();
    assert_eq!(ids, [Some(3), Some(4)], "oldest first");
    assert!(collect(&mut slots, key).is_none(), "drained: pending");
    assert_eq!(slots.in_flight(), 1, "still armed");
}

#[test]
fn a_stream_whose_backlog_fills_is_cancelled_once_and_its_waiter_woken() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(Some(3)).unwrap();
    let (count, w) = waker();
    assert!(slots
        .poll_stream(key, &mut Context::from_waker(&w))
        .is_pending());
    match slots.complete(key, shot(5, true, Some(1))) {
        AfterComplete::Wake(waker) => waker.wake(),
        _ => panic!("below the backlog a completion only wakes"),
    }
    assert!(matches!(
        slots.complete(key, shot(5, true, Some(2))),
        AfterComplete::Nothing
    ));
    match slots.complete(key, shot(5, true, Some(3))) {
        AfterComplete::Cancel(waker) => assert!(waker.is_none(), "already woken"),
        _ => panic!("the third uncollected completion asks for the cancel"),
    }
    assert!(
        matches!(
            slots.complete(key, shot(5, true, Some(4))),
            AfterComplete::Nothing
        ),
        "the cancel is asked for once"
    );
    let _ = slots.complete(
        key,
        Completion::plain(Err(io::Error::from_raw_os_error(libc::ECANCELED))),
    );
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let ids: Vec<_> = (0..4)
        .map(|_| collect(&mut slots, key).and_then(|c| c.buffer_id()))
        .collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3), Some(4)], "nothing lost");
    assert!(collect(&mut slots, key).is_some_and(|c| !c.more()));
    assert_eq!(slots.slab.len(), 0, "the cancelled stream ended");
}

#[test]
fn a_stream_collected_as_it_comes_is_never_cancelled() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(Some(2)).unwrap();
    for id in 0..100 {
        assert!(!matches!(
            slots.complete(key, shot(5, true, Some(id))),
            AfterComplete::Cancel(_)
        ));
        assert!(collect(&mut slots, key).is_some());
    }
}

#[test]
fn the_final_completion_frees_the_slot_when_collected() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let _ = slots.complete(key, shot(5, true, Some(1)));
    let _ = slots.complete(key, shot(0, false, None));
    assert_eq!(
        slots.in_flight(),
        0,
        "the kernel is done once the final one came"
    );
    assert!(collect(&mut slots, key).is_some_and(|c| c.more()));
    assert_eq!(
        slots.slab.len(),
        1,
        "the final completion is not collected yet"
    );
    assert!(collect(&mut slots, key).is_some_and(|c| !c.more()));
    assert_eq!(
        slots.slab.len(),
        0,
        "collecting the final completion frees the slot"
    );
}

#[test]
fn orphan_while_armed_returns_queued_and_late_buffers_then_frees() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let _ = slots.complete(key, shot(5, true, Some(1)));
    let _ = slots.complete(key, shot(5, true, Some(2)));
    let released = Rc::new(RefCell::new(Vec::new()));
    let data = Releases(released.clone());
    assert!(matches!(slots.orphan(key, data), AfterOrphan::Cancel));
    assert_eq!(*released.borrow(), [1, 2], "queued buffers go back at once");
    assert!(matches!(
        slots.complete(key, shot(5, true, Some(7))),
        AfterComplete::Nothing
    ));
    assert_eq!(*released.borrow(), [1, 2, 7], "a late buffer goes back too");
    assert_eq!(slots.in_flight(), 1, "armed until the final completion");
    let cancelled = Completion::plain(Err(io::Error::from_raw_os_error(libc::ECANCELED)));
    match slots.complete(key, cancelled) {
        AfterComplete::Drop(orphan) => drop(orphan),
        _ => panic!("the final completion hands the orphan back to be dropped"),
    }
    assert_eq!(slots.slab.len(), 0);
}

#[test]
fn orphan_after_the_stream_ended_frees_the_slot_at_once() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let _ = slots.complete(key, shot(5, true, Some(4)));
    let _ = slots.complete(key, shot(0, false, None));
    let released = Rc::new(RefCell::new(Vec::new()));
    match slots.orphan(key, Releases(released.clone())) {
        AfterOrphan::Ended(data) => drop(data),
        _ => panic!("an ended stream needs no cancel"),
    }
    assert_eq!(*released.borrow(), [4]);
    assert_eq!(slots.slab.len(), 0);
}

/// A zero-copy send's notification: no `F_MORE`, `F_NOTIF` set.
fn notification() -> Completion {
    Completion {
        result: Ok(0),
        flags: CQE_F_NOTIF,
    }
}

#[test]
fn an_orphaned_zero_copy_send_keeps_its_data_until_the_notification() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let (data, (_, dropped)) = tracked();
    assert!(matches!(slots.orphan(key, data), AfterOrphan::Cancel));
    let sent = shot(4096, true, None);
    assert!(!sent.notification());
    assert!(matches!(slots.complete(key, sent), AfterComplete::Nothing));
    assert!(
        !dropped.get(),
        "the result alone does not release the buffer"
    );
    assert_eq!(slots.in_flight(), 1, "the notification is still to come");
    let notified = notification();
    assert!(notified.notification() && !notified.more());
    match slots.complete(key, notified) {
        AfterComplete::Drop(orphan) => drop(orphan),
        _ => panic!("the notification hands the orphan back to be dropped"),
    }
    assert!(dropped.get());
    assert_eq!(slots.slab.len(), 0);
}

#[test]
fn a_zero_copy_send_that_failed_without_notification_ends_at_its_result() {
    let mut slots = Slots::new();
    let key = slots.insert_streaming(None).unwrap();
    let failed = Completion::plain(Err(io::Error::from_raw_os_error(libc::EINVAL)));
    assert!(matches!(
        slots.complete(key, failed),
        AfterComplete::Nothing
    ));
    assert_eq!(slots.in_flight(), 0, "no notification follows");
    assert!(collect(&mut slots, key).is_some_and(|c| c.result.is_err() && !c.more()));
    assert_eq!(slots.len(), 0, "collecting the result frees the slot");
}

#[test]
fn a_shutdown_waits_until_nothing_is_in_flight_or_the_deadline() {
    let in_flight = Cell::new(3);
    let mut waits = Vec::new();
    let finished = wait_in_flight(
        Duration::from_secs(60),
        || in_flight.get() > 0,
        |wait| {
            waits.push(wait);
            in_flight.set(in_flight.get() - 1);
        },
    );
    assert!(finished, "every op completed");
    assert_eq!(waits.len(), 3, "one turn per completion here");
    assert!(
        waits.iter().all(|w| *w <= Duration::from_millis(50)),
        "{waits:?}"
    );

    let turns = Cell::new(0);
    let finished = wait_in_flight(
        Duration::from_millis(20),
        || true,
        |wait| {
            turns.set(turns.get() + 1);
            std::thread::sleep(wait);
        },
    );
    assert!(
        !finished,
        "an op that never completes: the caller must leak it"
    );
    assert!(turns.get() >= 1);
}
