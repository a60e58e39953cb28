//! io_uring set-up features: SQPOLL as a builder option, and cross-runtime
//! wakes through `IORING_OP_MSG_RING` (with the eventfd fallback forced).
//!
//! Both are io_uring features, so most cases here are uring-only by nature
//! (in `mod uring`, Linux only); the compat side has nothing to configure,
//! and its case checks that the SQPOLL option is accepted there and ignored,
//! on every platform. A kernel that refuses a
//! feature is not a failure: the runtime falls back and the test prints which
//! path it took. It fails when the runtime does not work, or when MSG_RING was
//! probed present but the wakes did not use it.

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::{Builder, DriverKind, Runtime, UringFeatures};
use util::{echo, spawn_server, unless_no_uring};

/// SQPOLL thread idle time for these tests: short, so the thread falls
/// asleep between the test's steps and the wake-up path is exercised too.
const SQPOLL_IDLE: Duration = Duration::from_millis(5);

/// A runtime of `kind` from `builder`, or `None` when io_uring is declared
/// unavailable (see `util::unless_no_uring`).
fn build(kind: DriverKind, builder: Builder) -> Option<Runtime> {
    let rt = unless_no_uring(kind, "build a runtime", builder.driver(kind).build())?;
    assert_eq!(
        rt.driver_kind(),
        kind,
        "runtime runs the driver it was asked for"
    );
    Some(rt)
}

/// The features of a uring runtime.
fn features(rt: &Runtime) -> UringFeatures {
    rt.uring_features()
        .expect("a uring runtime reports its io_uring features")
}

on_both_drivers! {
    fn sqpoll_runtime_echoes_over_tcp(kind: DriverKind) {
        let builder = Runtime::builder().sqpoll(SQPOLL_IDLE);
        let Some(rt) = build(kind, builder) else { return };
        match kind {
            DriverKind::Compat => assert_eq!(
                rt.uring_features(),
                None,
                "compat has no ring: the sqpoll option is accepted and ignored"
            ),
            _ => {
                let f = features(&rt);
                println!(
                    "sqpoll {}: {f:?}",
                    if f.sqpoll { "granted" } else { "refused, plain ring" }
                );
                if f.sqpoll {
                    assert!(!f.defer_taskrun, "the kernel has no SQPOLL with DEFER_TASKRUN");
                }
            }
        }
        rt.block_on(async {
            let addr = spawn_server(echo);
            let client = TcpStream::connect(addr).await.expect("connect");
            for round in 0..5u8 {
                // Longer than the idle time, so the SQPOLL thread has gone to
                // sleep and the next submission must wake it.
                ringo_reactor::time::sleep(SQPOLL_IDLE * 4).await;
                let message = vec![round; 100 + usize::from(round)];
                let (r, _) = client.write_all(message.clone()).await;
                r.unwrap_or_else(|e| panic!("write round {round}: {e}"));
                let (r, echoed) = client.read_exact(vec![0u8; message.len()]).await;
                r.unwrap_or_else(|e| panic!("read round {round}: {e}"));
                assert_eq!(echoed, message, "echo round {round}");
            }
        });
    }
}

/// The cases only io_uring has: a SQPOLL ring under load, and the wakes
/// between runtimes (MSG_RING, the eventfd fallback).
#[cfg(target_os = "linux")]
mod uring {
    use super::*;

    use std::future::{poll_fn, Future};
    use std::sync::{mpsc, Arc, Mutex, MutexGuard};
    use std::task::{Poll, Waker};
    use std::time::Instant;

    use ringo_reactor::runtime::WakeStats;
    use util::{oneshot, within, TEST_LIMIT};

    /// Cross-runtime wakes per case: enough to catch a lost wake in a race.
    const WAKE_ROUNDS: u64 = 1000;

    /// How long one wake may take before it counts as lost.
    const WAKE_LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn sqpoll_runtimes_run_many_connections_with_a_zero_wait_loop() {
        let Some(rt) = build(DriverKind::Uring, Runtime::builder().sqpoll(SQPOLL_IDLE)) else {
            return;
        };
        rt.block_on(async {
            let addr = spawn_server(echo);
            // Many tasks keep the run queue busy, so the loop often parks with a
            // zero timeout: the path that must still see SQPOLL's completions.
            let clients: Vec<_> = (0..50u8)
                .map(|i| {
                    ringo_reactor::spawn(async move {
                        let stream = TcpStream::connect(addr).await.expect("connect");
                        for round in 0..20u8 {
                            let message = vec![i ^ round; 64];
                            let (r, _) = stream.write_all(message.clone()).await;
                            r.expect("write");
                            let (r, echoed) = stream.read_exact(vec![0u8; 64]).await;
                            r.expect("read");
                            assert_eq!(echoed, message, "client {i} round {round}");
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.expect("client task");
            }
        });
    }

    /// What one cross-wake run saw: each runtime's features and wake counts.
    #[derive(Debug)]
    struct CrossWake {
        a: (UringFeatures, WakeStats),
        b: (UringFeatures, WakeStats),
    }

    /// Runtime A (this thread) waits [`WAKE_ROUNDS`] times for a value sent by a
    /// task that A spawned onto runtime B (another thread): every round is one
    /// wake A → B (the spawn) and one wake B → A (the send). Each runtime is
    /// built by its `make`. `None` when io_uring is declared unavailable.
    fn cross_runtime_wakes(make_a: fn() -> Builder, make_b: fn() -> Builder) -> Option<CrossWake> {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let b = std::thread::spawn(move || {
            let rt = build(DriverKind::Uring, make_b())?;
            handle_tx.send(rt.handle()).expect("send B's handle");
            rt.block_on(stop_rx);
            Some((features(&rt), rt.stats().wakes))
        });
        let Ok(handle_b) = handle_rx.recv() else {
            // B ended without a handle: io_uring is declared unavailable (or B
            // panicked, which the join passes on).
            let b = b.join().expect("runtime B's thread");
            assert!(b.is_none(), "runtime B was built but sent no handle");
            return None;
        };
        let rt = build(DriverKind::Uring, make_a())?;
        rt.block_on(async {
            for round in 0..WAKE_ROUNDS {
                let (tx, rx) = oneshot::channel();
                drop(handle_b.spawn(async move { tx.send(round) }));
                let got = ringo_reactor::time::timeout(WAKE_LIMIT, rx)
                    .await
                    .unwrap_or_else(|_| panic!("wake of round {round} lost"));
                assert_eq!(got, round, "value of round {round}");
            }
            // From inside A's loop, so this wake takes the same path as the others.
            stop_tx.send(());
        });
        let b = b
            .join()
            .expect("runtime B's thread")
            .expect("runtime B was built");
        Some(CrossWake {
            a: (features(&rt), rt.stats().wakes),
            b,
        })
    }

    /// Runs [`cross_runtime_wakes`] under the test time limit.
    fn cross_wakes_within_limit(
        what: &str,
        make_a: fn() -> Builder,
        make_b: fn() -> Builder,
    ) -> Option<CrossWake> {
        let seen = within(TEST_LIMIT, what, move || {
            cross_runtime_wakes(make_a, make_b)
        })?;
        println!("{what}: {seen:#?}");
        Some(seen)
    }

    fn plain() -> Builder {
        Runtime::builder()
    }

    fn no_msg_ring() -> Builder {
        Runtime::builder().simulate(ringo_reactor::runtime::Simulate {
            no_msg_ring: true,
            ..Default::default()
        })
    }

    fn sqpoll() -> Builder {
        Runtime::builder().sqpoll(SQPOLL_IDLE)
    }

    /// Asserts that every wake of a sleeping runtime in `seen` went by MSG_RING
    /// when both rings have it, and by eventfd otherwise.
    fn assert_wake_paths(seen: &CrossWake) {
        let both = seen.a.0.msg_ring && seen.b.0.msg_ring;
        for (name, (_, stats)) in [("A", seen.a), ("B", seen.b)] {
            if both {
                assert!(
                    stats.msg_ring > 0,
                    "{name} was woken by MSG_RING: {stats:?}"
                );
                assert_eq!(
                    stats.eventfd, 0,
                    "{name} never needed its eventfd: {stats:?}"
                );
            } else {
                assert_eq!(stats.msg_ring, 0, "{name} saw no MSG_RING wake: {stats:?}");
                assert!(
                    stats.eventfd > 0,
                    "{name} was woken by its eventfd: {stats:?}"
                );
            }
        }
    }

    #[test]
    fn cross_runtime_wakes_travel_by_msg_ring() {
        let Some(seen) = cross_wakes_within_limit("msg_ring", plain, plain) else {
            return;
        };
        if !seen.a.0.msg_ring {
            println!("this kernel has no IORING_OP_MSG_RING: wakes used the eventfd");
        }
        assert_wake_paths(&seen);
    }

    #[test]
    fn cross_runtime_wakes_fall_back_to_eventfd_without_msg_ring() {
        let Some(seen) = cross_wakes_within_limit("forced eventfd", no_msg_ring, no_msg_ring)
        else {
            return;
        };
        assert!(
            !seen.a.0.msg_ring && !seen.b.0.msg_ring,
            "the hook turns msg_ring off: {seen:?}"
        );
        assert_wake_paths(&seen);
    }

    #[test]
    fn cross_runtime_wakes_use_eventfd_when_one_side_lacks_msg_ring() {
        let Some(seen) = cross_wakes_within_limit("one side without", plain, no_msg_ring) else {
            return;
        };
        assert_wake_paths(&seen);
    }

    #[test]
    fn cross_runtime_wakes_reach_sqpoll_runtimes() {
        let Some(seen) = cross_wakes_within_limit("sqpoll", sqpoll, sqpoll) else {
            return;
        };
        assert_wake_paths(&seen);
    }

    #[test]
    fn wake_sent_as_block_on_returns_still_arrives() {
        for round in 0..10u32 {
            // A waits with no timer of its own: a wake left queued on B's ring (B
            // alive but no longer running) would leave A asleep until the limit.
            let what = format!("round {round}: A woken by B's last act in block_on");
            within(WAKE_LIMIT, &what, move || {
                wake_from_returning_block_on(round)
            });
        }
    }

    /// One round of [`wake_sent_as_block_on_returns_still_arrives`].
    fn wake_from_returning_block_on(round: u32) {
        let (tx, rx) = oneshot::channel::<u32>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let b = std::thread::spawn(move || {
            let Some(rt) = build(DriverKind::Uring, plain()) else {
                return;
            };
            // Let A fall asleep, so the wake is sent, not merely flagged.
            std::thread::sleep(Duration::from_millis(20));
            // The wake is the main future's last act: no park follows it.
            rt.block_on(async move { tx.send(round) });
            // Keep B alive (its drop would submit the wake) past A's limit.
            let _ = done_rx.recv_timeout(WAKE_LIMIT * 2);
        });
        let Some(rt) = build(DriverKind::Uring, plain()) else {
            return;
        };
        assert_eq!(rt.block_on(rx), round);
        let _ = done_tx.send(());
        b.join().expect("runtime B's thread");
        let stats = rt.stats().wakes;
        if features(&rt).msg_ring {
            assert_eq!(
                stats.msg_ring, 1,
                "round {round}: the wake went by MSG_RING: {stats:?}"
            );
        }
    }

    /// A counter one runtime bumps and another waits on, waking it through its
    /// `Waker` only.
    #[derive(Default)]
    struct Bell {
        state: Mutex<(u64, Option<Waker>)>,
    }

    impl Bell {
        fn lock(&self) -> MutexGuard<'_, (u64, Option<Waker>)> {
            self.state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }

        fn ring(&self) {
            let waker = {
                let mut state = self.lock();
                state.0 += 1;
                state.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }

        fn rung(&self, times: u64) -> impl Future<Output = ()> + '_ {
            poll_fn(move |cx| {
                let mut state = self.lock();
                if state.0 >= times {
                    Poll::Ready(())
                } else {
                    state.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
        }
    }

    /// `rounds` ping-pongs between two runtimes built by `make`, through wakers
    /// only; returns the elapsed time and A's wake counts.
    fn ping_pong(make: fn() -> Builder, rounds: u64) -> (Duration, WakeStats) {
        let ping = Arc::new(Bell::default());
        let pong = Arc::new(Bell::default());
        let b = {
            let (ping, pong) = (ping.clone(), pong.clone());
            std::thread::spawn(move || {
                let rt = make().driver(DriverKind::Uring).build().expect("runtime B");
                rt.block_on(async {
                    for round in 1..=rounds {
                        ping.rung(round).await;
                        pong.ring();
                    }
                });
            })
        };
        let rt = make().driver(DriverKind::Uring).build().expect("runtime A");
        let start = Instant::now();
        rt.block_on(async {
            for round in 1..=rounds {
                ping.ring();
                pong.rung(round).await;
            }
        });
        let elapsed = start.elapsed();
        b.join().expect("runtime B's thread");
        (elapsed, rt.stats().wakes)
    }

    #[test]
    #[ignore = "a rough timing, not a check: run with --ignored --nocapture"]
    fn ping_pong_between_runtimes_msg_ring_against_eventfd() {
        const ROUNDS: u64 = 100_000;
        for (name, make) in [
            ("msg_ring", plain as fn() -> Builder),
            ("eventfd", no_msg_ring),
            ("msg_ring", plain),
            ("eventfd", no_msg_ring),
        ] {
            let (elapsed, stats) = ping_pong(make, ROUNDS);
            println!(
                "{name:>8}: {ROUNDS} ping-pongs in {elapsed:?} ({:.2} µs per round trip), A woken {stats:?}",
                elapsed.as_secs_f64() * 1e6 / ROUNDS as f64
            );
        }
    }
}
