//! CircuitBreaker: opens on a run of failures or a failure rate, rejects
//! fast while open, probes after a growing backoff, closes on success.

use ringo_test_util as util;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use ringo_reactor::time::{sleep, sleep_until};
use ringo_service::breaker::{Accrual, CircuitBreaker, CircuitBreakerLayer, CircuitState};
use ringo_service::observe::Outcome;
use ringo_service::retry::{Backoff, Jitter};
use ringo_service::{Error, ErrorKind, Layer, Service, Status};

const LIMIT: Duration = Duration::from_secs(10);

/// First opening's backoff ceiling in tests that wait the backoff out.
const BASE: Duration = Duration::from_millis(20);

/// First opening's backoff ceiling in tests that must see the circuit stay
/// open however slow the machine.
const LONG: Duration = Duration::from_secs(60);

fn block_on<F: Future>(body: F) -> F::Output {
    util::block_on_within(LIMIT, body)
}

/// A peer that is up or down at will, replying `status` when up; counts calls
/// and can take `delay` to answer.
struct Peer {
    up: Cell<bool>,
    status: Cell<u16>,
    delay: Cell<Duration>,
    calls: Cell<u32>,
}

impl Peer {
    fn new(up: bool) -> Peer {
        Peer {
            up: Cell::new(up),
            status: Cell::new(200),
            delay: Cell::new(Duration::ZERO),
            calls: Cell::new(0),
        }
    }
}

impl Service<()> for Peer {
    type Response = u16;
    type Error = Error;

    async fn call(&self, _req: ()) -> Result<u16, Error> {
        self.calls.set(self.calls.get() + 1);
        if !self.delay.get().is_zero() {
            sleep(self.delay.get()).await;
        }
        if self.up.get() {
            Ok(self.status.get())
        } else {
            Err(Error::new(ErrorKind::Unavailable))
        }
    }
}

/// Polls `call` once, which must still be waiting.
async fn poll_pending<F: Future>(mut call: Pin<&mut F>) {
    poll_fn(|cx| {
        assert!(call.as_mut().poll(cx).is_pending(), "the call waits");
        Poll::Ready(())
    })
    .await;
}

fn backoff(base: Duration) -> Backoff {
    Backoff::new(base, base * 64)
        .with_jitter(Jitter::Equal)
        .with_seed(1)
}

fn breaker(peer: &Peer, accrual: Accrual, base: Duration) -> CircuitBreaker<&Peer> {
    CircuitBreaker::new(peer)
        .with_accrual(accrual)
        .with_backoff(backoff(base))
}

fn open_until(breaker: &CircuitBreaker<&Peer>) -> (std::time::Instant, Duration) {
    match breaker.state() {
        CircuitState::Open { until, backoff } => (until, backoff),
        other => panic!("expected an open circuit, found {other:?}"),
    }
}

#[test]
fn the_circuit_opens_after_n_consecutive_failures_and_then_rejects_fast() {
    let peer = Peer::new(false);
    let breaker = breaker(&peer, Accrual::new().with_consecutive_failures(3), LONG);
    block_on(async {
        for n in 1..=2 {
            assert_eq!(
                breaker.call(()).await.expect_err("peer down").kind(),
                ErrorKind::Unavailable
            );
            assert_eq!(breaker.state(), CircuitState::Closed, "{n} failures of 3");
            assert_eq!(breaker.status(), Status::Open);
        }
        assert_eq!(
            breaker.call(()).await.expect_err("peer down").kind(),
            ErrorKind::Unavailable
        );
        open_until(&breaker);
        for _ in 0..10 {
            assert_eq!(
                breaker.call(()).await.expect_err("open").kind(),
                ErrorKind::CircuitOpen
            );
        }
    });
    assert_eq!(peer.calls.get(), 3, "no call reaches the peer while open");
    assert_eq!(breaker.status(), Status::Closed);
}

#[test]
fn a_success_resets_the_run_of_failures() {
    let peer = Peer::new(false);
    let breaker = breaker(
        &peer,
        Accrual::new()
            .with_consecutive_failures(2)
            .with_failure_rate(0.5, 0),
        LONG,
    );
    block_on(async {
        for _ in 0..5 {
            peer.up.set(false);
            assert!(breaker.call(()).await.is_err());
            peer.up.set(true);
            assert!(breaker.call(()).await.is_ok());
        }
    });
    assert_eq!(breaker.state(), CircuitState::Closed);
}

#[test]
fn after_the_backoff_one_probe_goes_through_and_a_success_closes_the_circuit() {
    let peer = Peer::new(false);
    let breaker = breaker(&peer, Accrual::new().with_consecutive_failures(1), BASE);
    block_on(async {
        assert!(breaker.call(()).await.is_err());
        let (until, backoff) = open_until(&breaker);
        assert!(
            backoff >= BASE / 2 && backoff <= BASE,
            "first opening {backoff:?} within [{:?}, {BASE:?}]",
            BASE / 2
        );
        sleep_until(until).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        assert_eq!(
            breaker.status(),
            Status::Open,
            "a probe would be let through"
        );

        peer.up.set(true);
        peer.delay.set(Duration::from_millis(5));
        let mut probe = pin!(breaker.call(()));
        poll_pending(probe.as_mut()).await;
        assert_eq!(breaker.status(), Status::Closed, "one probe at a time");
        assert_eq!(
            breaker.call(()).await.expect_err("probe in flight").kind(),
            ErrorKind::CircuitOpen
        );
        assert_eq!(probe.await.expect("the probe succeeds"), 200);
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.call(()).await.expect("closed again"), 200);
    });
    assert_eq!(
        peer.calls.get(),
        3,
        "the failure, the probe, the call after"
    );
}

#[test]
fn a_dropped_probe_lets_the_next_call_probe() {
    let peer = Peer::new(false);
    let breaker = breaker(&peer, Accrual::new().with_consecutive_failures(1), BASE);
    block_on(async {
        assert!(breaker.call(()).await.is_err());
        sleep_until(open_until(&breaker).0).await;
        peer.up.set(true);
        peer.delay.set(Duration::from_secs(60));
        {
            let mut probe = pin!(breaker.call(()));
            poll_pending(probe.as_mut()).await;
        }
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        peer.delay.set(Duration::ZERO);
        assert_eq!(breaker.call(()).await.expect("the next call probes"), 200);
        assert_eq!(breaker.state(), CircuitState::Closed);
    });
}

#[test]
fn a_failed_probe_reopens_the_circuit_for_longer() {
    let peer = Peer::new(false);
    let breaker = breaker(&peer, Accrual::new().with_consecutive_failures(1), BASE);
    block_on(async {
        assert!(breaker.call(()).await.is_err());
        let mut backoffs = Vec::new();
        for _ in 0..4 {
            let (until, backoff) = open_until(&breaker);
            backoffs.push(backoff);
            sleep_until(until).await;
            assert_eq!(
                breaker.call(()).await.expect_err("probe fails").kind(),
                ErrorKind::Unavailable
            );
        }
        // Equal jitter: opening n lasts at least half its ceiling, BASE * 2^n / 2,
        // which is the whole ceiling of opening n - 1.
        for (n, backoff) in backoffs.iter().enumerate() {
            let floor = BASE * (1 << n) / 2;
            assert!(
                *backoff >= floor,
                "opening {n} lasted {backoff:?}, under {floor:?}"
            );
        }
        for pair in backoffs.windows(2) {
            assert!(pair[1] >= pair[0], "openings grow: {backoffs:?}");
        }
    });
    assert_eq!(peer.calls.get(), 5, "the first failure and four probes");
}

#[test]
fn the_failure_rate_rule_opens_above_the_threshold() {
    let peer = Peer::new(true);
    let accrual = Accrual::new()
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, 10);
    let breaker = breaker(&peer, accrual, LONG);
    block_on(async {
        for _ in 0..5 {
            peer.up.set(false);
            let _ = breaker.call(()).await;
            peer.up.set(true);
            let _ = breaker.call(()).await;
        }
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "5 of 10 is not above 50%"
        );
        peer.up.set(false);
        let _ = breaker.call(()).await;
        assert_eq!(
            breaker.state(),
            CircuitState::Closed,
            "still 5 of the last 10"
        );
        let _ = breaker.call(()).await;
        open_until(&breaker);
    });
    assert_eq!(peer.calls.get(), 12);
}

#[test]
fn the_classifier_decides_which_responses_are_failures() {
    let peer = Peer::new(true);
    peer.status.set(503);
    let server_errors = |result: &Result<u16, Error>| match result {
        Ok(status) if *status >= 500 => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(error) => Outcome::Error(error.kind()),
    };
    let breaker = CircuitBreaker::new(&peer)
        .with_accrual(Accrual::new().with_consecutive_failures(2))
        .with_classifier(server_errors);
    block_on(async {
        assert_eq!(breaker.call(()).await.expect("a response"), 503);
        assert_eq!(breaker.call(()).await.expect("a response"), 503);
        assert_eq!(
            breaker.call(()).await.expect_err("open").kind(),
            ErrorKind::CircuitOpen
        );
    });
    assert_eq!(peer.calls.get(), 2);
}

#[test]
fn a_layer_gives_each_service_its_own_circuit() {
    let (down, up) = (Peer::new(false), Peer::new(true));
    let layer = CircuitBreakerLayer::new()
        .with_accrual(Accrual::new().with_consecutive_failures(1))
        .with_backoff(backoff(LONG));
    let (a, b) = (layer.layer(&down), layer.layer(&up));
    block_on(async {
        assert!(a.call(()).await.is_err());
        assert_eq!(a.status(), Status::Closed);
        assert_eq!(b.call(()).await.expect("the other peer is fine"), 200);
        assert_eq!(b.status(), Status::Open);
    });
}
