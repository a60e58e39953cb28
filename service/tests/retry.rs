//! Retry: transient failures retried, caps and budgets respected, unwritten
//! requests resent for free, backoff reproducible from a seed.

use ringo_test_util as util;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::time::{Duration, Instant};

use ringo_service::retry::{
    Backoff, Budget, Decision, DefaultPolicy, Jitter, Policy, Retry, RetryLayer,
};
use ringo_service::{Error, ErrorKind, Layer, Service};

/// How long a test body may run; a body that would sleep through a backoff it
/// must not take fails here instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

fn block_on<F: Future>(body: F) -> F::Output {
    util::block_on_within(LIMIT, body)
}

/// Answers from a script, then with `otherwise`; counts its calls.
struct Script {
    replies: RefCell<VecDeque<Result<u32, ErrorKind>>>,
    otherwise: Result<u32, ErrorKind>,
    calls: Cell<u32>,
}

impl Script {
    fn new(replies: &[Result<u32, ErrorKind>], otherwise: Result<u32, ErrorKind>) -> Script {
        Script {
            replies: RefCell::new(replies.iter().copied().collect()),
            otherwise,
            calls: Cell::new(0),
        }
    }

    fn failing(kind: ErrorKind) -> Script {
        Script::new(&[], Err(kind))
    }
}

impl Service<u32> for Script {
    type Response = u32;
    type Error = Error;

    async fn call(&self, _req: u32) -> Result<u32, Error> {
        self.calls.set(self.calls.get() + 1);
        let reply = self
            .replies
            .borrow_mut()
            .pop_front()
            .unwrap_or(self.otherwise);
        reply.map_err(Error::new)
    }
}

/// A budget that never runs out during a test.
fn plenty() -> Budget {
    Budget::new(Duration::from_secs(10), 1_000_000, 0.0)
}

/// A backoff too short to notice.
fn instant() -> Backoff {
    Backoff::new(Duration::ZERO, Duration::ZERO)
}

#[test]
fn a_request_succeeds_after_transient_failures() {
    let inner = Script::new(
        &[Err(ErrorKind::Unavailable), Err(ErrorKind::NotWritten)],
        Ok(7),
    );
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(plenty())
        .with_backoff(instant());
    assert_eq!(block_on(retry.call(1)).expect("third attempt succeeds"), 7);
    assert_eq!(inner.calls.get(), 3);
}

#[test]
fn retrying_stops_at_max_attempts_and_returns_the_last_error() {
    for attempts in [1, 2, 5] {
        let inner = Script::failing(ErrorKind::Unavailable);
        let retry = Retry::new(&inner, DefaultPolicy::new())
            .with_budget(plenty())
            .with_backoff(instant())
            .with_max_attempts(attempts);
        let error = block_on(retry.call(1)).expect_err("every attempt fails");
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{attempts} attempts");
        assert_eq!(inner.calls.get(), attempts, "{attempts} attempts");
    }
    let inner = Script::failing(ErrorKind::Unavailable);
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(plenty())
        .with_max_attempts(0);
    assert!(block_on(retry.call(1)).is_err());
    assert_eq!(inner.calls.get(), 1, "0 attempts counts as 1");
}

#[test]
fn errors_the_policy_rejects_are_returned_at_once() {
    let cases = [
        (
            "inner error",
            ErrorKind::Inner,
            DefaultPolicy::idempotent(),
            1,
        ),
        (
            "overloaded",
            ErrorKind::Overloaded,
            DefaultPolicy::idempotent(),
            1,
        ),
        (
            "circuit open",
            ErrorKind::CircuitOpen,
            DefaultPolicy::idempotent(),
            1,
        ),
        (
            "lost, not idempotent",
            ErrorKind::ConnectionLost,
            DefaultPolicy::new(),
            1,
        ),
        (
            "timeout, not idempotent",
            ErrorKind::Timeout,
            DefaultPolicy::new(),
            1,
        ),
        (
            "lost, idempotent",
            ErrorKind::ConnectionLost,
            DefaultPolicy::idempotent(),
            3,
        ),
        (
            "timeout, idempotent",
            ErrorKind::Timeout,
            DefaultPolicy::idempotent(),
            3,
        ),
    ];
    for (name, kind, policy, calls) in cases {
        let inner = Script::failing(kind);
        let retry = Retry::new(&inner, policy)
            .with_budget(plenty())
            .with_backoff(instant());
        let error = block_on(retry.call(1)).expect_err(name);
        assert_eq!(error.kind(), kind, "{name}");
        assert_eq!(inner.calls.get(), calls, "{name}");
    }
}

#[test]
fn a_closure_policy_can_retry_responses() {
    let inner = Script::new(&[Ok(503), Ok(503)], Ok(200));
    let policy = |_: &u32, result: &Result<u32, Error>| match result {
        Ok(503) => Decision::Retry,
        _ => Decision::Return,
    };
    assert_eq!(policy.retry(&0, &Ok(503)), Decision::Retry);
    let retry = Retry::new(&inner, policy)
        .with_budget(plenty())
        .with_backoff(instant());
    assert_eq!(block_on(retry.call(1)).expect("a response"), 200);
    assert_eq!(inner.calls.get(), 3);
}

#[test]
fn a_shared_budget_caps_retries_during_a_storm() {
    let (a, b) = (
        Script::failing(ErrorKind::Unavailable),
        Script::failing(ErrorKind::Unavailable),
    );
    let layer = RetryLayer::new(DefaultPolicy::new())
        .with_budget(Budget::new(Duration::from_secs(10), 0, 0.2))
        .with_backoff(instant())
        .with_max_attempts(3);
    let (retry_a, retry_b) = (layer.layer(&a), layer.layer(&b));
    block_on(async {
        for i in 0..1000 {
            let retry = if i % 2 == 0 { &retry_a } else { &retry_b };
            assert!(retry.call(i).await.is_err());
        }
    });
    let calls = a.calls.get() + b.calls.get();
    let retries = calls - 1000;
    assert!(
        retries <= 200,
        "{retries} retries for 1000 requests at 20% and no floor"
    );
    assert!(retries >= 150, "the budget allowed only {retries} retries");
    assert_eq!(layer.budget().balance(), 0);
}

#[test]
fn unwritten_requests_are_resent_without_budget_or_backoff() {
    // An empty budget and a backoff longer than the test limit: a retry that
    // spent budget would not happen, one that waited would time out.
    let empty = Budget::new(Duration::from_secs(10), 0, 0.0);
    let forever = Backoff::new(Duration::from_secs(3600), Duration::from_secs(3600));
    let inner = Script::new(
        &[Err(ErrorKind::NotWritten), Err(ErrorKind::NotWritten)],
        Ok(5),
    );
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(empty.clone())
        .with_backoff(forever.clone());
    assert_eq!(block_on(retry.call(1)).expect("resent until written"), 5);
    assert_eq!(inner.calls.get(), 3);

    let inner = Script::failing(ErrorKind::NotWritten);
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(empty.clone())
        .with_max_attempts(4);
    assert_eq!(
        block_on(retry.call(1)).expect_err("never written").kind(),
        ErrorKind::NotWritten
    );
    assert_eq!(inner.calls.get(), 4, "still capped by max attempts");

    let inner = Script::new(&[Err(ErrorKind::NotWritten)], Err(ErrorKind::Unavailable));
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(empty)
        .with_backoff(forever);
    assert_eq!(
        block_on(retry.call(1)).expect_err("no budget").kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(inner.calls.get(), 2, "the budgeted retry is refused");
}

#[test]
fn backoff_delays_grow_and_repeat_with_a_fixed_seed() {
    let seeded =
        |seed| Backoff::new(Duration::from_millis(10), Duration::from_secs(1)).with_seed(seed);
    let first: Vec<_> = (0..8).map(|n| seeded(42).delay(n)).collect();
    let again: Vec<_> = (0..8).map(|n| seeded(42).delay(n)).collect();
    let other: Vec<_> = (0..8).map(|n| seeded(43).delay(n)).collect();
    assert_eq!(first, again, "same seed, same delays");
    assert_ne!(first, other, "another seed, other delays");

    let backoff = seeded(1);
    let mean = |n| (0..1000).map(|_| backoff.delay(n)).sum::<Duration>() / 1000;
    let means: Vec<_> = (0..5).map(mean).collect();
    for (n, pair) in means.windows(2).enumerate() {
        assert!(
            pair[1] > pair[0],
            "mean delay {n} {:?} not below the next {:?}",
            pair[0],
            pair[1]
        );
    }

    let equal = seeded(1).with_jitter(Jitter::Equal);
    for n in 0..6 {
        assert!(
            equal.delay(n + 1) >= equal.ceiling(n),
            "equal jitter: retry {} waits at least retry {n}'s ceiling",
            n + 1
        );
    }
}

#[test]
fn retries_wait_at_least_the_seeded_delays() {
    let backoff = Backoff::new(Duration::from_millis(5), Duration::from_millis(100))
        .with_jitter(Jitter::Equal)
        .with_seed(3);
    let expected: Duration = {
        let copy = backoff.clone();
        (0..3).map(|n| copy.delay(n)).sum()
    };
    assert!(
        expected >= Duration::from_millis(17),
        "equal jitter waits half of 5 + 10 + 20 ms at least"
    );
    let inner = Script::new(&[Err(ErrorKind::Unavailable); 3], Ok(1));
    let retry = Retry::new(&inner, DefaultPolicy::new())
        .with_budget(plenty())
        .with_backoff(backoff)
        .with_max_attempts(4);
    let start = Instant::now();
    assert_eq!(block_on(retry.call(1)).expect("fourth attempt succeeds"), 1);
    assert!(
        start.elapsed() >= expected,
        "waited {:?}, the delays add up to {expected:?}",
        start.elapsed()
    );
    assert_eq!(inner.calls.get(), 4);
}
