//! `Timeout` on both drivers: answers in time, expiry (dropping the inner
//! call), error kinds, the published deadline, and per-attempt versus total
//! limits around a retry loop.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringo_reactor::time::sleep;
use ringo_service::timeout::{current_deadline, Elapsed, Timeout};
use ringo_service::{service_fn, Error, ErrorKind, Service, ServiceBuilder};

const LONG: Duration = Duration::from_secs(3600);

/// Sets its flag when dropped: shows that a cancelled call's future is gone.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A service that sleeps for its request's duration, then answers with it.
fn sleeper() -> impl Service<Duration, Response = Duration, Error = std::io::Error> {
    service_fn(|d: Duration| async move {
        sleep(d).await;
        Ok(d)
    })
}

/// Calls the inner service until it succeeds or `attempts` calls failed: just
/// enough of a retry layer to show where a `Timeout` goes.
struct RetryLoop<S> {
    inner: S,
    attempts: usize,
}

impl<S: Service<Req, Error = Error>, Req: Clone> Service<Req> for RetryLoop<S> {
    type Response = S::Response;
    type Error = Error;

    async fn call(&self, req: Req) -> Result<S::Response, Error> {
        let mut last = Error::new(ErrorKind::Unavailable);
        for _ in 0..self.attempts {
            match self.inner.call(req.clone()).await {
                Ok(response) => return Ok(response),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

both_drivers! {
    async fn a_call_within_the_limit_returns_its_response() {
        let svc = Timeout::new(sleeper(), Duration::from_secs(30));
        assert_eq!(svc.call(Duration::from_millis(1)).await.unwrap(), Duration::from_millis(1));
    }
}

both_drivers! {
    async fn a_call_past_the_limit_fails_with_timeout_and_its_future_is_dropped() {
        let dropped = Rc::new(Cell::new(false));
        let flag = dropped.clone();
        let svc = Timeout::new(
            service_fn(move |()| {
                let guard = DropFlag(flag.clone());
                async move {
                    let _guard = guard;
                    sleep(LONG).await;
                    Ok::<_, std::io::Error>(())
                }
            }),
            Duration::from_millis(20),
        );
        let start = Instant::now();
        let err = svc.call(()).await.unwrap_err();
        assert!(dropped.get(), "the inner call's future is dropped before the error returns");
        assert!(start.elapsed() >= Duration::from_millis(20), "fired early after {:?}", start.elapsed());
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(err.is_timeout());
        assert_eq!(err.downcast_ref::<Elapsed>().map(Elapsed::limit), Some(Duration::from_millis(20)));
        assert_eq!(err.to_string(), "deadline elapsed: call not finished within limit 20ms");
    }
}

both_drivers! {
    async fn inner_errors_pass_through_with_their_kind() {
        let svc = Timeout::new(
            service_fn(|()| async { Err::<(), _>(std::io::Error::other("refused")) }),
            Duration::from_secs(30),
        );
        let err = svc.call(()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Inner);
        assert_eq!(err.to_string(), "refused");
    }
}

both_drivers! {
    async fn a_limit_too_large_to_add_to_now_means_no_limit() {
        let svc = Timeout::new(sleeper(), Duration::MAX);
        assert_eq!(svc.call(Duration::from_millis(1)).await.unwrap(), Duration::from_millis(1));
    }
}

both_drivers! {
    async fn the_published_deadline_is_the_earliest_enclosing_one() {
        let report = || service_fn(|()| async { Ok::<_, std::io::Error>(current_deadline()) });
        let cases = [
            ("outer 5s around inner 60s", Duration::from_secs(5), Duration::from_secs(60), Duration::from_secs(5)),
            ("outer 60s around inner 5s", Duration::from_secs(60), Duration::from_secs(5), Duration::from_secs(5)),
        ];
        for (name, outer, inner, nearest) in cases {
            let svc = ServiceBuilder::new().timeout(outer).timeout(inner).service(report());
            let before = Instant::now();
            let deadline = svc.call(()).await.unwrap().unwrap_or_else(|| panic!("{name}: no deadline"));
            assert!(deadline >= before + nearest, "{name}: deadline before the nearest limit");
            assert!(deadline <= Instant::now() + nearest, "{name}: deadline after the nearest limit");
            assert_eq!(current_deadline(), None, "{name}: the deadline is unpublished after the call");
        }
    }
}

both_drivers! {
    async fn a_per_attempt_timeout_inside_a_retry_lets_a_later_attempt_succeed() {
        let attempts = Rc::new(Cell::new(0u32));
        let counted = attempts.clone();
        // The first attempt hangs; the second answers at once.
        let flaky = service_fn(move |()| {
            counted.set(counted.get() + 1);
            let hang = counted.get() == 1;
            async move {
                if hang {
                    sleep(LONG).await;
                }
                Ok::<_, std::io::Error>("answer")
            }
        });
        let svc = RetryLoop { inner: Timeout::new(flaky, Duration::from_millis(10)), attempts: 3 };
        assert_eq!(svc.call(()).await.unwrap(), "answer");
        assert_eq!(attempts.get(), 2);
    }
}

both_drivers! {
    async fn a_total_timeout_outside_a_retry_caps_every_attempt_together() {
        let attempts = Rc::new(Cell::new(0u32));
        let counted = attempts.clone();
        // Each attempt takes 15 ms and fails; all of them would take 15 s.
        let failing = service_fn(move |()| {
            counted.set(counted.get() + 1);
            async {
                sleep(Duration::from_millis(15)).await;
                Err::<(), _>(std::io::Error::other("still down"))
            }
        });
        let retry = RetryLoop { inner: Timeout::new(failing, Duration::from_secs(30)), attempts: 1000 };
        let svc = Timeout::new(retry, Duration::from_millis(40));
        let err = svc.call(()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.downcast_ref::<Elapsed>().map(Elapsed::limit), Some(Duration::from_millis(40)));
        assert!(attempts.get() >= 1, "the retry loop ran");
    }
}
