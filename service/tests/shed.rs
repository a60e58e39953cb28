//! `LoadShed` on both drivers: shedding on the inner status (a full
//! concurrency limit, a closed service) and on its own in-flight bound at N
//! and N+1.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ringo_reactor::time::sleep;
use ringo_service::shed::{LoadShed, Overloaded};
use ringo_service::{service_fn, ErrorKind, Service, ServiceBuilder, Status};

const HOLD: Duration = Duration::from_secs(3600);

/// Polls `future` once, from the current task.
async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// A service that holds each call for its request's duration and counts calls.
fn holder(
    calls: &Rc<Cell<usize>>,
) -> impl Service<Duration, Response = (), Error = std::io::Error> {
    let calls = calls.clone();
    service_fn(move |hold: Duration| {
        calls.set(calls.get() + 1);
        async move {
            sleep(hold).await;
            Ok(())
        }
    })
}

/// A service that reports a fixed status.
struct Fixed(Status);

impl Service<()> for Fixed {
    type Response = ();
    type Error = std::io::Error;

    async fn call(&self, (): ()) -> Result<(), std::io::Error> {
        Ok(())
    }

    fn status(&self) -> Status {
        self.0
    }
}

both_drivers! {
    async fn a_second_call_through_a_limit_of_one_is_shed_at_once() {
        let calls = Rc::new(Cell::new(0));
        let svc = ServiceBuilder::new().load_shed().concurrency_limit(1).service(holder(&calls));
        let mut first = pin!(svc.call(HOLD));
        assert!(poll_once(first.as_mut()).await.is_pending());
        assert_eq!(svc.status(), Status::Busy);
        let mut second = pin!(svc.call(HOLD));
        let Poll::Ready(Err(err)) = poll_once(second.as_mut()).await else {
            panic!("the second call must fail on its first poll");
        };
        assert_eq!(err.kind(), ErrorKind::Overloaded);
        assert_eq!(err.to_string(), "service overloaded, request shed: inner service busy");
        assert!(err.downcast_ref::<Overloaded>().is_some());
        assert_eq!(calls.get(), 1, "the shed call never reached the service");
    }
}

both_drivers! {
    async fn a_shedder_passes_calls_while_the_inner_service_is_open() {
        let calls = Rc::new(Cell::new(0));
        let svc = ServiceBuilder::new().load_shed().concurrency_limit(1).service(holder(&calls));
        for _ in 0..3 {
            svc.call(Duration::ZERO).await.unwrap();
        }
        assert_eq!(calls.get(), 3);
    }
}

#[test]
fn inner_statuses_map_to_shed_or_pass() {
    let cases = [
        ("open", Status::Open, None),
        (
            "busy",
            Status::Busy,
            Some("service overloaded, request shed: inner service busy"),
        ),
        (
            "closed",
            Status::Closed,
            Some("service overloaded, request shed: inner service closed"),
        ),
    ];
    for kind in util::KINDS {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        for (name, status, expected) in cases {
            let svc = LoadShed::new(Fixed(status));
            assert_eq!(
                svc.status(),
                status,
                "{name} on {kind}: status passes through"
            );
            let result = rt.block_on(svc.call(()));
            match expected {
                None => assert!(result.is_ok(), "{name} on {kind}: {result:?}"),
                Some(message) => {
                    let err = result.expect_err(name);
                    assert_eq!(err.kind(), ErrorKind::Overloaded, "{name} on {kind}");
                    assert_eq!(err.to_string(), message, "{name} on {kind}");
                }
            }
        }
    }
}

both_drivers! {
    async fn max_in_flight_admits_n_calls_and_sheds_call_n_plus_one() {
        let calls = Rc::new(Cell::new(0));
        let svc = LoadShed::new(holder(&calls)).max_in_flight(3);
        let mut admitted = Vec::new();
        for _ in 0..3 {
            let mut call = Box::pin(svc.call(HOLD));
            assert!(poll_once(call.as_mut()).await.is_pending());
            admitted.push(call);
        }
        assert_eq!(svc.in_flight(), 3);
        assert_eq!(svc.status(), Status::Busy);
        let err = svc.call(HOLD).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Overloaded);
        assert_eq!(err.to_string(), "service overloaded, request shed: in-flight calls 3 at limit 3");
        assert_eq!(calls.get(), 3);
        // A dropped call leaves the count, so the next one is admitted.
        admitted.pop();
        assert_eq!(svc.in_flight(), 2);
        assert_eq!(svc.status(), Status::Open);
        svc.call(Duration::ZERO).await.unwrap();
        assert_eq!(calls.get(), 4);
    }
}
