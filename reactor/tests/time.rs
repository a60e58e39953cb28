//! Timers on both drivers: sleep, timeout (also around pending I/O), interval,
//! many timers at once, dropped timers, and an idle runtime that really sleeps.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::time::{interval, sleep, timeout};
use util::{tcp_pair, KINDS};

both_drivers! {
    async fn sleep_lasts_at_least_its_duration() {
        for ms in [1u64, 10, 30] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_millis(ms), "sleep({ms} ms) took only {elapsed:?}");
        }
    }
}

both_drivers! {
    async fn sleep_of_zero_completes() {
        sleep(Duration::ZERO).await;
        ringo_reactor::time::sleep_until(Instant::now()).await;
    }
}

both_drivers! {
    async fn timeout_fires_on_a_future_that_is_never_ready() {
        let start = Instant::now();
        let result = timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
        let error = result.expect_err("pending future times out");
        assert_eq!(error.to_string(), "deadline elapsed");
        assert!(start.elapsed() >= Duration::from_millis(20), "timed out only after the limit");
    }
}

both_drivers! {
    async fn timeout_does_not_fire_on_a_future_that_finishes_in_time() {
        let ready = timeout(Duration::from_millis(10), async { 5 }).await;
        assert_eq!(ready, Ok(5));
        let later = timeout(Duration::from_secs(5), async {
            sleep(Duration::from_millis(5)).await;
            6
        })
        .await;
        assert_eq!(later, Ok(6));
        // The finished timeouts left no timer behind that could fire into nothing.
        sleep(Duration::from_millis(15)).await;
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

both_drivers! {
    async fn timeout_around_a_pending_read_fires_and_drops_the_read() {
        let (client, server) = tcp_pair().await;
        let dropped = Rc::new(Cell::new(false));
        let guard = DropFlag(dropped.clone());
        let start = Instant::now();
        let result = timeout(Duration::from_millis(30), async {
            let _guard = guard;
            server.read(vec![0u8; 16]).await.0
        })
        .await;
        assert!(result.is_err(), "read on an idle connection times out");
        assert!(start.elapsed() >= Duration::from_millis(30), "not before the limit");
        assert!(dropped.get(), "the timed-out read future was dropped");

        // Both directions still work afterwards.
        sleep(Duration::from_millis(5)).await;
        let (r, _) = client.write_all(b"later".to_vec()).await;
        r.expect("write after timeout");
        let (r, got) = server.read_exact(vec![0u8; 5]).await;
        r.expect("read after timeout");
        assert_eq!(&got, b"later");
    }
}

both_drivers! {
    async fn interval_ticks_with_increasing_instants() {
        let period = Duration::from_millis(5);
        let mut ticks = interval(period);
        assert_eq!(ticks.period(), period);
        let start = Instant::now();
        let mut instants = Vec::new();
        for _ in 0..6 {
            instants.push(ticks.tick().await);
        }
        for pair in instants.windows(2) {
            assert!(pair[1] > pair[0], "tick instants increase: {instants:?}");
            assert!(pair[1] - pair[0] >= period, "ticks at least a period apart: {instants:?}");
        }
        assert!(start.elapsed() >= period * 5, "six ticks, the first at once, take five periods");
    }
}

both_drivers! {
    async fn an_interval_is_a_stream_of_its_ticks() {
        use futures_core::Stream;
        let period = Duration::from_millis(5);
        let mut ticks = interval(period);
        let start = Instant::now();
        let mut instants = Vec::new();
        for _ in 0..4 {
            let next = std::future::poll_fn(|cx| Pin::new(&mut ticks).poll_next(cx)).await;
            instants.push(next.expect("an interval never ends"));
        }
        for pair in instants.windows(2) {
            assert!(pair[1] - pair[0] >= period, "ticks at least a period apart: {instants:?}");
        }
        assert!(start.elapsed() >= period * 3, "four ticks, the first at once, take three periods");
    }
}

both_drivers! {
    async fn ten_thousand_timers_with_random_deadlines_all_fire() {
        const TIMERS: u64 = 10_000;
        let fired = Rc::new(Cell::new(0u64));
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let start = Instant::now();
        let handles: Vec<_> = (0..TIMERS)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let delay = Duration::from_micros(state % 200_000);
                let fired = fired.clone();
                ringo_reactor::spawn(async move {
                    sleep(delay).await;
                    fired.set(fired.get() + 1);
                    (delay, start.elapsed())
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let (delay, at) = handle.await.expect("timer task");
            assert!(at >= delay, "timer {i} of {delay:?} fired early, at {at:?}");
        }
        assert_eq!(fired.get(), TIMERS);
    }
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

both_drivers! {
    async fn a_dropped_sleep_never_wakes_anything() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        for ms in [1u64, 10, 10_000] {
            let mut sleeping = pin!(sleep(Duration::from_millis(ms)));
            assert!(sleeping.as_mut().poll(&mut cx).is_pending(), "a {ms} ms sleep is pending at first");
        }
        let start = Instant::now();
        sleep(Duration::from_millis(30)).await;
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "no dropped timer woke its waker");
        // A dropped 10 s timer must not keep the runtime waiting either.
        assert!(start.elapsed() < Duration::from_secs(5), "the runtime did not wait for a dropped timer");
    }
}

#[test]
fn an_idle_runtime_with_a_far_timer_parks_instead_of_spinning() {
    for kind in KINDS {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        rt.block_on(async {
            drop(ringo_reactor::spawn(sleep(Duration::from_secs(2))));
            // Let the far timer be registered before measuring.
            ringo_reactor::task::yield_now().await;
            let cpu_before = Duration::from_nanos(util::thread_cpu_ns());
            let start = Instant::now();
            sleep(Duration::from_millis(300)).await;
            let wall = start.elapsed();
            let cpu = Duration::from_nanos(util::thread_cpu_ns()).saturating_sub(cpu_before);
            assert!(wall >= Duration::from_millis(300), "{kind}: slept {wall:?}");
            assert!(
                cpu < Duration::from_millis(150),
                "{kind}: used {cpu:?} of CPU in a {wall:?} idle sleep: the driver spins"
            );
        });
    }
}

both_drivers! {
    // A runtime without timers skips the wheel each turn, so the wheel's clock
    // stands still meanwhile: a timer armed after a long timer-free spell must
    // still fire neither early nor never.
    async fn a_timer_armed_after_a_timer_free_spell_fires_on_time() {
        let (a, b) = tcp_pair().await;
        let spell = Instant::now();
        let mut buf = vec![0u8; 1];
        while spell.elapsed() < Duration::from_millis(1_200) {
            let (written, _) = a.write(vec![7u8]).await;
            written.unwrap();
            let (read, back) = b.read(buf).await;
            assert_eq!(read.unwrap(), 1);
            buf = back;
        }
        for ms in [5u64, 70, 1_100] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            let elapsed = start.elapsed();
            assert!(elapsed >= Duration::from_millis(ms), "sleep({ms} ms) took only {elapsed:?}");
            assert!(
                elapsed < Duration::from_millis(ms + 5_000),
                "sleep({ms} ms) took {elapsed:?}"
            );
        }
    }
}
