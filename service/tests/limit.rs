//! `ConcurrencyLimit` on both drivers: the high-water mark, arrival order,
//! status, and permits surviving callers dropped while waiting or just after
//! being handed a permit.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ringo_reactor::time::{sleep, timeout};
use ringo_service::limit::ConcurrencyLimit;
use ringo_service::{Service, Status};

/// Counts the calls inside it and the most there ever were at once; each call
/// takes its request's duration.
#[derive(Default)]
struct Gauge {
    inside: Cell<usize>,
    peak: Cell<usize>,
    entered: RefCell<Vec<usize>>,
}

impl Service<(usize, Duration)> for Gauge {
    type Response = usize;
    type Error = std::io::Error;

    async fn call(&self, (id, hold): (usize, Duration)) -> Result<usize, std::io::Error> {
        self.entered.borrow_mut().push(id);
        self.inside.set(self.inside.get() + 1);
        self.peak.set(self.peak.get().max(self.inside.get()));
        // A call dropped while inside (its task aborted) leaves too.
        let _leave = Leave(&self.inside);
        sleep(hold).await;
        Ok(id)
    }
}

/// Counts a call out of [`Gauge::inside`] however it ends.
struct Leave<'a>(&'a Cell<usize>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

const HOLD: Duration = Duration::from_secs(3600);

/// Polls `future` once, from the current task.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

both_drivers! {
    async fn a_hundred_callers_through_a_limit_of_five_peak_at_five_and_all_finish() {
        let svc = Rc::new(ConcurrencyLimit::new(Gauge::default(), 5));
        let tasks: Vec<_> = (0..100)
            .map(|id| {
                let svc = svc.clone();
                ringo_reactor::spawn(async move { svc.call((id, Duration::from_millis(1))).await })
            })
            .collect();
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.unwrap().unwrap());
        }
        assert_eq!(done, (0..100).collect::<Vec<_>>());
        assert_eq!(svc.get_ref().peak.get(), 5, "high-water mark of calls inside");
        assert_eq!(svc.get_ref().inside.get(), 0);
        assert_eq!(svc.status(), Status::Open);
    }
}

both_drivers! {
    async fn waiting_callers_enter_in_arrival_order() {
        let svc = Rc::new(ConcurrencyLimit::new(Gauge::default(), 1));
        let tasks: Vec<_> = (0..20)
            .map(|id| {
                let svc = svc.clone();
                ringo_reactor::spawn(async move { svc.call((id, Duration::from_millis(1))).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(*svc.get_ref().entered.borrow(), (0..20).collect::<Vec<_>>());
    }
}

both_drivers! {
    async fn status_is_busy_exactly_while_every_permit_is_taken() {
        let svc = ConcurrencyLimit::new(Gauge::default(), 2);
        let mut first = pin!(svc.call((1, HOLD)));
        assert!(poll_once(first.as_mut()).await.is_pending());
        assert_eq!(svc.status(), Status::Open, "one of two permits taken");
        {
            let mut second = pin!(svc.call((2, HOLD)));
            assert!(poll_once(second.as_mut()).await.is_pending());
            assert_eq!(svc.status(), Status::Busy, "two of two permits taken");
            let mut third = pin!(svc.call((3, HOLD)));
            assert!(poll_once(third.as_mut()).await.is_pending());
            assert_eq!(svc.get_ref().inside.get(), 2, "the third caller waits outside");
        }
        assert_eq!(svc.status(), Status::Open, "a dropped call returns its permit");
    }
}

both_drivers! {
    async fn a_waiter_dropped_by_a_timeout_leaks_no_permit() {
        let svc = Rc::new(ConcurrencyLimit::new(Gauge::default(), 5));
        // The holders stay inside until aborted, so the sixth caller's timeout
        // is sure to fire while it waits, however slow the machine.
        let holders: Vec<_> = (0..5)
            .map(|id| {
                let svc = svc.clone();
                ringo_reactor::spawn(async move { svc.call((id, HOLD)).await })
            })
            .collect();
        sleep(Duration::from_millis(1)).await;
        assert_eq!(svc.status(), Status::Busy);
        let late = timeout(Duration::from_millis(5), svc.call((99, HOLD))).await;
        assert!(late.is_err(), "the sixth caller waits and is dropped by its timeout");
        for holder in holders {
            holder.abort();
            assert!(holder.await.unwrap_err().is_cancelled(), "a holder ends by its abort");
        }
        assert_eq!(svc.status(), Status::Open);
        // All five permits are usable again: five calls are inside at once.
        svc.get_ref().peak.set(0);
        let again: Vec<_> = (0..6)
            .map(|id| {
                let svc = svc.clone();
                ringo_reactor::spawn(async move { svc.call((id, Duration::from_millis(5))).await })
            })
            .collect();
        for call in again {
            call.await.unwrap().unwrap();
        }
        assert_eq!(svc.get_ref().peak.get(), 5);
        assert!(!svc.get_ref().entered.borrow().contains(&99), "the dropped caller never entered");
    }
}

both_drivers! {
    async fn a_caller_dropped_after_being_handed_a_permit_passes_it_on() {
        let svc = ConcurrencyLimit::new(Gauge::default(), 1);
        let mut holder = Box::pin(svc.call((1, HOLD)));
        let mut granted = Box::pin(svc.call((2, HOLD)));
        let mut next = pin!(svc.call((3, HOLD)));
        assert!(poll_once(holder.as_mut()).await.is_pending());
        assert!(poll_once(granted.as_mut()).await.is_pending());
        assert!(poll_once(next.as_mut()).await.is_pending());
        // The holder's permit goes to caller 2, which is dropped before it
        // runs again: the permit must reach caller 3.
        drop(holder);
        drop(granted);
        assert!(poll_once(next.as_mut()).await.is_pending());
        assert_eq!(*svc.get_ref().entered.borrow(), [1, 3]);
        assert_eq!(svc.status(), Status::Busy);
    }
}
