//! `Pool` on both drivers, with a fake connection maker that counts its
//! connects: reuse, the connection and waiter bounds, idle expiry, eviction of
//! dead connections, reconnect backoff, warm connections, pipelined sharing,
//! and callers that give up while waiting or connecting.

// The shared test helpers (ringo-test-util): one test body run as `name::uring` and `name::compat`.
use ringo_test_util::both_drivers;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringo_reactor::time::{sleep, timeout};
use ringo_service::pool::{Connection, MakeConnection, Pool, PoolConfig, PoolError};
use ringo_service::retry::{Backoff, Jitter};
use ringo_service::{Error, ErrorKind, Service, Status};

const HOLD: Duration = Duration::from_secs(3600);

/// Opens [`FakeConn`]s, counting attempts; fails or stalls when told to.
#[derive(Default)]
struct Fake {
    attempts: Cell<usize>,
    fail: Cell<bool>,
    connect_delay: Cell<Duration>,
    /// Connections not yet dropped.
    open: Rc<Cell<usize>>,
    /// Each connection's "closed" switch, in connect order.
    switches: RefCell<Vec<Rc<Cell<bool>>>>,
}

impl Fake {
    fn attempts(&self) -> usize {
        self.attempts.get()
    }

    fn open(&self) -> usize {
        self.open.get()
    }

    /// Makes connection `n` (from 0) report closed, as if its peer hung up.
    fn kill(&self, n: usize) {
        self.switches.borrow()[n].set(true);
    }
}

/// A connection that answers a call with its own number after sleeping for
/// the requested time.
struct FakeConn {
    id: usize,
    closed: Rc<Cell<bool>>,
    open: Rc<Cell<usize>>,
}

impl Drop for FakeConn {
    fn drop(&mut self) {
        self.open.set(self.open.get() - 1);
    }
}

impl Connection for FakeConn {
    fn is_closed(&self) -> bool {
        self.closed.get()
    }
}

impl Service<Duration> for FakeConn {
    type Response = usize;
    type Error = Error;

    async fn call(&self, hold: Duration) -> Result<usize, Error> {
        sleep(hold).await;
        Ok(self.id)
    }
}

impl MakeConnection for Fake {
    type Conn = FakeConn;

    async fn connect(&self) -> Result<FakeConn, Error> {
        let id = self.attempts.get();
        self.attempts.set(id + 1);
        sleep(self.connect_delay.get()).await;
        if self.fail.get() {
            return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into());
        }
        let closed = Rc::new(Cell::new(false));
        self.switches.borrow_mut().push(closed.clone());
        self.open.set(self.open.get() + 1);
        Ok(FakeConn {
            id,
            closed,
            open: self.open.clone(),
        })
    }
}

fn pool(config: PoolConfig) -> Pool<Fake> {
    Pool::new(Fake::default(), config)
}

/// Reconnect delays without jitter: `base`, `2 * base`, `4 * base`, …
fn exact_backoff(base: Duration) -> Backoff {
    Backoff::new(base, Duration::from_secs(10)).with_jitter(Jitter::None)
}

fn pool_error(error: &Error) -> &PoolError {
    error
        .downcast_ref::<PoolError>()
        .unwrap_or_else(|| panic!("cause is a PoolError: {error:?}"))
}

/// Waits (on the reactor's timers) until `done` holds, failing after 5 s.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{what}: not within 5 s"
        );
        sleep(Duration::from_millis(5)).await;
    }
}

both_drivers! {
    async fn two_sequential_calls_use_one_connection() {
        let pool = pool(PoolConfig::default());
        let first = pool.call(Duration::ZERO).await.unwrap();
        let second = pool.call(Duration::ZERO).await.unwrap();
        assert_eq!(first, second, "the second call ran on the first's connection");
        assert_eq!(pool.make_connection().attempts(), 1);
        assert_eq!(pool.connections(), 1);
        assert_eq!(pool.status(), Status::Open);
    }
}

both_drivers! {
    async fn a_third_concurrent_caller_waits_for_one_of_two_connections() {
        let pool = pool(PoolConfig { max_connections: 2, ..PoolConfig::default() });
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(Duration::from_millis(30)).await })
            })
            .collect();
        eventually("two connections busy", || pool.connections() == 2).await;
        assert_eq!(pool.waiting(), 1, "the third caller waits");
        assert_eq!(pool.status(), Status::Busy);
        let mut ids = Vec::new();
        for call in calls {
            ids.push(call.await.unwrap().unwrap());
        }
        assert_eq!(pool.make_connection().attempts(), 2, "the waiter reused a connection");
        assert!(ids[2] < 2, "the third call ran on connection 0 or 1: {ids:?}");
        assert_eq!(pool.waiting(), 0);
        assert_eq!(pool.status(), Status::Open);
    }
}

both_drivers! {
    async fn with_no_waiters_allowed_a_caller_finding_all_connections_busy_fails_at_once() {
        let config = PoolConfig { max_connections: 2, max_waiters: 0, ..PoolConfig::default() };
        let pool = pool(config);
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(HOLD).await })
            })
            .collect();
        eventually("two connections busy", || pool.connections() == 2).await;
        let started = Instant::now();
        let error = pool.call(Duration::ZERO).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1), "failed without waiting");
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert!(matches!(pool_error(&error), PoolError::TooManyWaiters { limit: 0 }));
        assert_eq!(
            error.to_string(),
            "no endpoint available: waiting callers 1 over limit 0"
        );
        busy.iter().for_each(|call| call.abort());
    }
}

both_drivers! {
    async fn waiters_up_to_the_limit_wait_and_the_next_one_fails() {
        let config = PoolConfig { max_connections: 1, max_waiters: 2, ..PoolConfig::default() };
        let pool = pool(config);
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(Duration::from_millis(20)).await })
            })
            .collect();
        eventually("two callers waiting", || pool.waiting() == 2).await;
        let error = pool.call(Duration::ZERO).await.unwrap_err();
        assert!(matches!(pool_error(&error), PoolError::TooManyWaiters { limit: 2 }));
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(pool.make_connection().attempts(), 1);
    }
}

both_drivers! {
    async fn a_waiter_that_gives_up_leaves_the_queue_and_the_others_still_get_served() {
        let pool = pool(PoolConfig { max_connections: 1, ..PoolConfig::default() });
        let holder = {
            let pool = pool.clone();
            ringo_reactor::spawn(async move { pool.call(Duration::from_millis(30)).await })
        };
        eventually("connection busy", || pool.connections() == 1).await;
        let quitter = timeout(Duration::from_millis(5), pool.call(Duration::ZERO)).await;
        assert!(quitter.is_err(), "the quitter timed out waiting");
        assert_eq!(pool.waiting(), 0, "the quitter left the queue");
        let patient = pool.call(Duration::ZERO).await.unwrap();
        assert_eq!(holder.await.unwrap().unwrap(), patient);
        assert_eq!(pool.make_connection().attempts(), 1);
    }
}

both_drivers! {
    async fn a_caller_dropped_while_connecting_frees_its_room() {
        let pool = pool(PoolConfig { max_connections: 1, ..PoolConfig::default() });
        pool.make_connection().connect_delay.set(HOLD);
        let abandoned = timeout(Duration::from_millis(5), pool.call(Duration::ZERO)).await;
        assert!(abandoned.is_err());
        pool.make_connection().connect_delay.set(Duration::ZERO);
        let answer = timeout(Duration::from_secs(5), pool.call(Duration::ZERO)).await;
        assert_eq!(answer.expect("the room was freed").unwrap(), 1);
    }
}

both_drivers! {
    async fn connections_unused_past_the_idle_timeout_are_closed() {
        let config = PoolConfig {
            idle_timeout: Some(Duration::from_millis(30)),
            ..PoolConfig::default()
        };
        let pool = pool(config);
        pool.call(Duration::ZERO).await.unwrap();
        assert_eq!(pool.make_connection().open(), 1);
        eventually("idle connection closed", || pool.make_connection().open() == 0).await;
        assert_eq!(pool.connections(), 0);
        assert_eq!(pool.call(Duration::ZERO).await.unwrap(), 1, "a new connection");
    }
}

both_drivers! {
    async fn a_connection_in_use_is_not_closed_by_the_idle_timeout() {
        let config = PoolConfig {
            idle_timeout: Some(Duration::from_millis(10)),
            ..PoolConfig::default()
        };
        let pool = pool(config);
        assert_eq!(pool.call(Duration::from_millis(60)).await.unwrap(), 0);
        assert_eq!(pool.make_connection().open(), 1, "kept while the call ran");
    }
}

both_drivers! {
    async fn a_dead_connection_is_evicted_and_never_handed_out_again() {
        let pool = pool(PoolConfig::default());
        assert_eq!(pool.call(Duration::ZERO).await.unwrap(), 0);
        pool.make_connection().kill(0);
        assert_eq!(pool.connections(), 0, "a dead connection is not counted");
        for _ in 0..3 {
            assert_eq!(pool.call(Duration::ZERO).await.unwrap(), 1, "the new connection");
        }
        assert_eq!(pool.make_connection().attempts(), 2);
        assert_eq!(pool.make_connection().open(), 1, "the dead one was dropped");
    }
}

both_drivers! {
    async fn a_connection_dying_during_a_call_is_not_reused() {
        let pool = pool(PoolConfig::default());
        let call = {
            let pool = pool.clone();
            ringo_reactor::spawn(async move { pool.call(Duration::from_millis(20)).await })
        };
        eventually("connected", || pool.connections() == 1).await;
        pool.make_connection().kill(0);
        assert_eq!(call.await.unwrap().unwrap(), 0, "the running call finishes");
        assert_eq!(pool.make_connection().open(), 0, "dropped when its call ended");
        assert_eq!(pool.call(Duration::ZERO).await.unwrap(), 1);
    }
}

both_drivers! {
    async fn failing_connects_back_off_instead_of_hammering_the_endpoint() {
        let base = Duration::from_millis(40);
        let pool = pool(PoolConfig { reconnect: exact_backoff(base), ..PoolConfig::default() });
        pool.make_connection().fail.set(true);
        let start = Instant::now();
        let first = pool.call(Duration::ZERO).await.unwrap_err();
        assert_eq!(first.kind(), ErrorKind::Unavailable);
        assert!(matches!(pool_error(&first), PoolError::Connect(_)));
        assert_eq!(pool.status(), Status::Closed, "backing off with no connection");
        let backing_off = pool.call(Duration::ZERO).await.unwrap_err();
        assert_eq!(backing_off.kind(), ErrorKind::Unavailable);
        assert!(
            matches!(pool_error(&backing_off), PoolError::BackingOff { failures: 1, .. }),
            "{backing_off}"
        );
        // Hammer for 250 ms: attempts may start only at 0, 40, 120 (40 + 80)
        // and 280 ms (+ 160) after the first, so at most three in the window.
        let mut calls = 0;
        while start.elapsed() < Duration::from_millis(250) {
            let error = pool.call(Duration::ZERO).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Unavailable);
            calls += 1;
            sleep(Duration::from_millis(1)).await;
        }
        let attempts = pool.make_connection().attempts();
        assert!(calls > 20, "the loop really hammered: {calls} calls");
        assert!((2..=3).contains(&attempts), "{attempts} connect attempts in 250 ms");
    }
}

both_drivers! {
    async fn after_the_backoff_a_recovered_endpoint_is_used_again() {
        let base = Duration::from_millis(20);
        let pool = pool(PoolConfig { reconnect: exact_backoff(base), ..PoolConfig::default() });
        pool.make_connection().fail.set(true);
        pool.call(Duration::ZERO).await.unwrap_err();
        pool.make_connection().fail.set(false);
        assert_eq!(pool.status(), Status::Closed);
        sleep(base * 2).await;
        assert_eq!(pool.status(), Status::Open, "the backoff is over");
        assert_eq!(pool.call(Duration::ZERO).await.unwrap(), 1);
        assert_eq!(pool.status(), Status::Open);
    }
}

both_drivers! {
    async fn callers_waiting_on_a_failing_probe_fail_with_it() {
        let config = PoolConfig {
            reconnect: exact_backoff(Duration::from_millis(10)),
            ..PoolConfig::default()
        };
        let pool = pool(config);
        let fake = pool.make_connection();
        fake.fail.set(true);
        pool.call(Duration::ZERO).await.unwrap_err();
        sleep(Duration::from_millis(20)).await;
        fake.connect_delay.set(Duration::from_millis(20));
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(Duration::ZERO).await })
            })
            .collect();
        for call in calls {
            let error = call.await.unwrap().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Unavailable);
        }
        assert_eq!(pool.make_connection().attempts(), 2, "one probe, not three connects");
    }
}

both_drivers! {
    async fn min_connections_are_opened_in_the_background_and_replaced_when_they_die() {
        let config = PoolConfig {
            min_connections: 2,
            idle_timeout: Some(Duration::from_millis(10)),
            ..PoolConfig::default()
        };
        let pool = pool(config);
        assert_eq!(pool.make_connection().attempts(), 0, "nothing opens before the first call");
        pool.call(Duration::ZERO).await.unwrap();
        eventually("two warm connections", || pool.make_connection().open() == 2).await;
        sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.make_connection().open(), 2, "warm connections outlive the idle timeout");
        pool.make_connection().kill(0);
        eventually("dead warm connection replaced", || {
            pool.make_connection().attempts() == 3 && pool.make_connection().open() == 2
        })
        .await;
        assert_eq!(pool.connections(), 2);
    }
}

both_drivers! {
    async fn connections_beyond_the_minimum_still_idle_out() {
        let config = PoolConfig {
            min_connections: 1,
            idle_timeout: Some(Duration::from_millis(20)),
            ..PoolConfig::default()
        };
        let pool = pool(config);
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(Duration::from_millis(10)).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(pool.make_connection().open(), 3);
        eventually("back to the minimum", || pool.make_connection().open() == 1).await;
        sleep(Duration::from_millis(50)).await;
        assert_eq!(pool.make_connection().open(), 1);
    }
}

both_drivers! {
    async fn pipelined_connections_carry_several_calls_before_another_opens() {
        let config = PoolConfig { max_calls_per_connection: 3, ..PoolConfig::default() };
        let pool = pool(config);
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                ringo_reactor::spawn(async move { pool.call(Duration::from_millis(20)).await })
            })
            .collect();
        let mut ids = Vec::new();
        for call in calls {
            ids.push(call.await.unwrap().unwrap());
        }
        ids.sort_unstable();
        assert_eq!(ids, [0, 0, 0, 1], "three calls shared the first connection");
    }
}

both_drivers! {
    async fn dropping_the_pool_closes_its_connections_and_stops_its_task() {
        let config = PoolConfig { min_connections: 2, ..PoolConfig::default() };
        let pool = pool(config);
        pool.call(Duration::ZERO).await.unwrap();
        eventually("two warm connections", || pool.make_connection().open() == 2).await;
        let open = pool.make_connection().open.clone();
        drop(pool);
        assert_eq!(open.get(), 0);
        // The task finds the pool gone on its next turn and ends; the test
        // harness would report a hang if it kept the runtime busy.
        sleep(Duration::from_millis(10)).await;
    }
}
