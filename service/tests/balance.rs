//! `Balance` on both drivers: p2c avoiding a slow endpoint and a fast-failing
//! one (statistically, with a fixed seed), skipping closed endpoints, the set
//! changing under traffic, the pending-requests metric, and no endpoints.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ringo_reactor::time::sleep;
use ringo_service::balance::{Balance, Load, NoEndpoint};
use ringo_service::{Error, ErrorKind, Service, Status};

/// A fake endpoint: answers after `delay`, or fails at once when `failing`;
/// counts the calls it got and those still inside it.
struct Replica {
    delay: Duration,
    failing: bool,
    status: Cell<Status>,
    calls: Cell<usize>,
    inside: Cell<usize>,
}

impl Replica {
    fn new(delay_ms: u64) -> Rc<Replica> {
        Replica::build(Duration::from_millis(delay_ms), false)
    }

    fn failing() -> Rc<Replica> {
        Replica::build(Duration::ZERO, true)
    }

    fn build(delay: Duration, failing: bool) -> Rc<Replica> {
        Rc::new(Replica {
            delay,
            failing,
            status: Cell::new(Status::Open),
            calls: Cell::new(0),
            inside: Cell::new(0),
        })
    }

    fn with_status(self: Rc<Replica>, status: Status) -> Rc<Replica> {
        self.status.set(status);
        self
    }
}

impl Service<u32> for Replica {
    type Response = u32;
    type Error = Error;

    async fn call(&self, n: u32) -> Result<u32, Error> {
        self.calls.set(self.calls.get() + 1);
        if self.failing {
            return Err(Error::new(ErrorKind::Inner));
        }
        self.inside.set(self.inside.get() + 1);
        sleep(self.delay).await;
        self.inside.set(self.inside.get() - 1);
        Ok(n)
    }

    fn status(&self) -> Status {
        self.status.get()
    }
}

type Balancer = Rc<Balance<&'static str, Rc<Replica>>>;

/// A seeded balancer over `replicas`, named by their keys.
fn balancer(load: Load, replicas: &[(&'static str, &Rc<Replica>)]) -> Balancer {
    let balance = Balance::new(load).with_seed(42);
    for (key, replica) in replicas {
        balance.insert(*key, Rc::clone(replica));
    }
    Rc::new(balance)
}

/// Concurrent callers in the statistical tests: enough that the set is
/// never idle, few enough that answers come back between picks.
const WORKERS: u32 = 16;

/// Sends `requests` calls from [`WORKERS`] concurrent callers, each calling
/// again as soon as its last call ended; returns how many failed.
async fn drive(balance: &Balancer, requests: u32) -> u32 {
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let balance = balance.clone();
            ringo_reactor::spawn(async move {
                let mut failed = 0;
                for n in (worker..requests).step_by(WORKERS as usize) {
                    if balance.call(n).await.is_err() {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for worker in workers {
        failed += worker.await.expect("worker task");
    }
    failed
}

/// The share of `requests` that `replica` got, in percent.
fn share(replica: &Replica, requests: u32) -> f64 {
    replica.calls.get() as f64 * 100.0 / f64::from(requests)
}

both_drivers! {
    async fn a_slow_endpoint_gets_few_requests_under_either_load_metric() {
        for load in [Load::PeakEwma, Load::PendingRequests] {
            let (a, b, slow) = (Replica::new(1), Replica::new(1), Replica::new(21));
            let balance = balancer(load, &[("a", &a), ("b", &b), ("slow", &slow)]);
            assert_eq!(drive(&balance, 1000).await, 0, "{load:?}: every call answered");
            let slow_share = share(&slow, 1000);
            assert!(slow_share < 15.0, "{load:?}: the slow endpoint got {slow_share}% of calls");
            assert_eq!(a.calls.get() + b.calls.get() + slow.calls.get(), 1000, "{load:?}");
        }
    }
}

both_drivers! {
    async fn a_fast_failing_endpoint_is_avoided_only_because_failures_are_penalised() {
        // (load, failure penalty, the failing endpoint's share must be below, above)
        let cases = [
            (Load::PeakEwma, Some(Duration::from_secs(1)), 5.0, 0.0),
            (Load::PeakEwma, Some(Duration::ZERO), 100.0, 40.0),
            (Load::PendingRequests, Some(Duration::from_secs(1)), 5.0, 0.0),
            (Load::PendingRequests, Some(Duration::ZERO), 100.0, 40.0),
            (Load::PeakEwma, None, 5.0, 0.0),
        ];
        for (load, penalty, below, above) in cases {
            let (a, b, failing) = (Replica::new(1), Replica::new(1), Replica::failing());
            let balance = Balance::new(load).with_seed(7);
            let balance = match penalty {
                Some(penalty) => balance.with_failure_penalty(penalty),
                None => balance,
            };
            balance.insert("a", a.clone());
            balance.insert("b", b.clone());
            balance.insert("failing", failing.clone());
            let balance = Rc::new(balance);
            let failed = drive(&balance, 1000).await;
            assert_eq!(failed as usize, failing.calls.get(), "{load:?} {penalty:?}: only its calls fail");
            let failing_share = share(&failing, 1000);
            assert!(
                failing_share < below && failing_share > above,
                "{load:?} with penalty {penalty:?}: the failing endpoint got {failing_share}% of calls, \
                 expected between {above}% and {below}%"
            );
        }
    }
}

both_drivers! {
    async fn closed_endpoints_are_never_picked_and_busy_ones_only_when_none_is_open() {
        let (a, busy, closed) = (
            Replica::new(1),
            Replica::new(1).with_status(Status::Busy),
            Replica::new(1).with_status(Status::Closed),
        );
        let balance = balancer(Load::PeakEwma, &[("a", &a), ("busy", &busy), ("closed", &closed)]);
        assert_eq!(balance.status(), Status::Open);
        assert_eq!(drive(&balance, 200).await, 0);
        assert_eq!((a.calls.get(), busy.calls.get(), closed.calls.get()), (200, 0, 0));

        a.status.set(Status::Closed);
        assert_eq!(balance.status(), Status::Busy);
        assert_eq!(drive(&balance, 100).await, 0);
        assert_eq!((busy.calls.get(), closed.calls.get()), (100, 0), "busy serves when none is open");

        busy.status.set(Status::Closed);
        assert_eq!(balance.status(), Status::Closed);
        let err = balance.call(1).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.downcast_ref::<NoEndpoint>().map(NoEndpoint::endpoints), Some(3));
        assert_eq!(err.to_string(), "no endpoint available: all 3 endpoints closed");
        assert_eq!(closed.calls.get(), 0);
    }
}

both_drivers! {
    async fn an_empty_set_fails_calls_as_unavailable() {
        let balance: Balance<&str, Rc<Replica>> = Balance::default();
        assert!(balance.is_empty());
        assert_eq!(balance.status(), Status::Closed);
        let err = balance.call(1).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "no endpoint available: endpoint set empty");
    }
}

both_drivers! {
    async fn a_removed_endpoint_gets_no_new_calls_and_its_calls_in_flight_finish() {
        let (a, b, c) = (Replica::new(10), Replica::new(10), Replica::new(10));
        let balance = balancer(Load::PendingRequests, &[("a", &a), ("b", &b), ("c", &c)]);
        let traffic = ringo_reactor::spawn({
            let balance = balance.clone();
            async move { drive(&balance, 600).await }
        });
        sleep(Duration::from_millis(35)).await;
        assert!(c.inside.get() > 0, "calls in flight on c when it is removed");
        let calls_before = c.calls.get();
        assert!(balance.remove(&"c"));
        assert!(!balance.remove(&"c"), "removing twice finds nothing");
        assert_eq!((balance.len(), balance.contains(&"c")), (2, false));
        assert_eq!(traffic.await.expect("traffic task"), 0, "no call failed, c's included");
        assert_eq!(c.calls.get(), calls_before, "no call reached c after its removal");
        assert_eq!(c.inside.get(), 0, "c's calls in flight finished");
        assert_eq!(a.calls.get() + b.calls.get() + c.calls.get(), 600);
        assert_eq!(Rc::strong_count(&c), 1, "the balancer dropped c after its last call");
    }
}

both_drivers! {
    async fn an_inserted_endpoint_takes_a_share_of_the_calls() {
        let (a, b) = (Replica::new(2), Replica::new(2));
        let balance = balancer(Load::PendingRequests, &[("a", &a)]);
        assert_eq!(drive(&balance, 100).await, 0);
        assert_eq!(a.calls.get(), 100);
        assert!(!balance.insert("b", b.clone()), "a new key replaces nothing");
        assert_eq!(drive(&balance, 400).await, 0);
        let b_share = share(&b, 400);
        assert!(b_share > 30.0, "the new endpoint got {b_share}% of the calls after it came");
        let mut keys = balance.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["a", "b"]);
    }
}

both_drivers! {
    async fn replacing_an_endpoint_lets_its_calls_in_flight_finish() {
        let (old, new) = (Replica::new(200), Replica::new(1));
        let balance = balancer(Load::PeakEwma, &[("a", &old)]);
        let call = ringo_reactor::spawn({
            let balance = balance.clone();
            async move { balance.call(5).await }
        });
        sleep(Duration::from_millis(5)).await;
        assert_eq!(old.inside.get(), 1, "a call in flight on the old endpoint");
        assert!(balance.insert("a", new.clone()), "the key was taken");
        assert_eq!(balance.pending(&"a"), Some(0), "the new endpoint starts afresh");
        assert_eq!(balance.call(6).await.unwrap(), 6);
        assert_eq!(call.await.expect("call task").unwrap(), 5);
        assert_eq!((old.calls.get(), new.calls.get()), (1, 1));
    }
}

both_drivers! {
    async fn pending_counts_calls_in_flight_and_steers_new_calls_to_the_emptier_endpoint() {
        let (a, b) = (Replica::new(300), Replica::new(300));
        let balance = balancer(Load::PendingRequests, &[("a", &a), ("b", &b)]);
        // With two endpoints both are drawn every time, so each call goes
        // where fewer are in flight: the calls alternate.
        let calls: Vec<_> = (0..6)
            .map(|n| {
                let balance = balance.clone();
                ringo_reactor::spawn(async move { balance.call(n).await })
            })
            .collect();
        sleep(Duration::from_millis(10)).await;
        assert_eq!((balance.pending(&"a"), balance.pending(&"b")), (Some(3), Some(3)));
        assert_eq!(balance.pending(&"missing"), None);
        for call in calls {
            call.await.expect("call task").unwrap();
        }
        assert_eq!((balance.pending(&"a"), balance.pending(&"b")), (Some(0), Some(0)));
    }
}

both_drivers! {
    async fn a_call_dropped_in_flight_is_no_longer_pending_and_counts_its_latency() {
        let slow = Replica::new(3_600_000);
        let balance = balancer(Load::PeakEwma, &[("slow", &slow)]);
        {
            let mut call = pin!(balance.call(1));
            let polled = poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx).is_pending())).await;
            assert!(polled, "the call waits on the endpoint");
            assert_eq!(balance.pending(&"slow"), Some(1));
            sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(balance.pending(&"slow"), Some(0));
        let estimate = balance.rtt_estimate(&"slow").expect("slow is in the set");
        assert!(
            estimate >= Duration::from_millis(45),
            "the dropped call's 50 ms count as a latency sample: {estimate:?}"
        );
    }
}
