//! `RateLimit` on both drivers: a burst then paced calls (lower bounds only),
//! rejection at burst N+1, status, and a waiter dropped while it waits.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringo_reactor::time::timeout;
use ringo_service::rate::{Rate, RateLimit, RateLimitLayer, RateLimited, WhenEmpty};
use ringo_service::{service_fn, ErrorKind, Layer, Service, ServiceBuilder, Status};

/// A service that counts its calls.
fn counter(calls: &Rc<Cell<usize>>) -> impl Service<(), Response = (), Error = std::io::Error> {
    let calls = calls.clone();
    service_fn(move |()| {
        calls.set(calls.get() + 1);
        async { Ok(()) }
    })
}

fn ten_per_100ms_burst(burst: u32) -> Rate {
    Rate::new(10, Duration::from_millis(100)).with_burst(burst)
}

both_drivers! {
    async fn a_burst_passes_then_calls_wait_for_their_tokens() {
        let calls = Rc::new(Cell::new(0));
        let svc = ServiceBuilder::new().rate_limit(ten_per_100ms_burst(5)).service(counter(&calls));
        let start = Instant::now();
        for _ in 0..15 {
            svc.call(()).await.unwrap();
        }
        // Five tokens at once, then one every 10 ms for the other ten.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(100), "15 calls took only {elapsed:?}");
        assert_eq!(calls.get(), 15);
    }
}

both_drivers! {
    async fn concurrent_callers_are_paced_too() {
        let calls = Rc::new(Cell::new(0));
        let svc = Rc::new(RateLimit::new(counter(&calls), ten_per_100ms_burst(5)));
        let start = Instant::now();
        let tasks: Vec<_> = (0..15)
            .map(|_| {
                let svc = svc.clone();
                ringo_reactor::spawn(async move { svc.call(()).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(100), "15 concurrent calls took only {elapsed:?}");
        assert_eq!(calls.get(), 15);
    }
}

both_drivers! {
    async fn reject_mode_passes_the_burst_and_rejects_call_burst_plus_one() {
        for burst in [1u32, 3] {
            let calls = Rc::new(Cell::new(0));
            let rate = Rate::new(1, Duration::from_secs(60)).with_burst(burst);
            let svc = RateLimitLayer::new(rate).when_empty(WhenEmpty::Reject).layer(counter(&calls));
            for n in 0..burst {
                assert!(svc.call(()).await.is_ok(), "burst {burst}: call {n} passes");
            }
            assert_eq!(svc.status(), Status::Busy, "burst {burst}: the bucket is empty");
            let err = svc.call(()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::RateLimited, "burst {burst}");
            let limited = err.downcast_ref::<RateLimited>().expect("a RateLimited cause");
            assert_eq!(limited.rate(), rate);
            assert!(limited.retry_after() > Duration::ZERO, "burst {burst}: {:?}", limited.retry_after());
            assert!(limited.retry_after() <= Duration::from_secs(60), "burst {burst}: {:?}", limited.retry_after());
            assert!(
                err.to_string().starts_with(&format!(
                    "rate limit exceeded: calls over rate 1 per 60s (burst {burst}), next allowed in "
                )),
                "burst {burst}: {err}"
            );
            assert_eq!(calls.get(), burst as usize, "burst {burst}: the rejected call never reached the service");
        }
    }
}

both_drivers! {
    async fn status_is_open_while_tokens_remain() {
        let calls = Rc::new(Cell::new(0));
        let svc = RateLimit::new(counter(&calls), Rate::new(2, Duration::from_secs(60)));
        assert_eq!(svc.status(), Status::Open);
        svc.call(()).await.unwrap();
        assert_eq!(svc.status(), Status::Open, "one token of two left");
        svc.call(()).await.unwrap();
        assert_eq!(svc.status(), Status::Busy);
    }
}

both_drivers! {
    async fn a_waiter_dropped_before_its_slot_never_reaches_the_service() {
        let calls = Rc::new(Cell::new(0));
        let svc = RateLimit::new(counter(&calls), Rate::new(1, Duration::from_secs(60)));
        svc.call(()).await.unwrap();
        let waited = timeout(Duration::from_millis(5), svc.call(())).await;
        assert!(waited.is_err(), "the second call waits for a token a minute away");
        assert_eq!(calls.get(), 1);
    }
}
