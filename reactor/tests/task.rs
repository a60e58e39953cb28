//! Tasks on both drivers: spawn and join, detach, abort (also with I/O in
//! flight), panics, yielding and fairness, wakes and spawns from other threads,
//! spawning onto a dropped runtime, and many tasks at once.

use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;
use ringo_reactor::task::yield_now;
use ringo_reactor::time::sleep;
use util::{oneshot, tcp_pair, KINDS};

/// Upper bound on loop turns for tasks that otherwise loop until told to stop,
/// so a starvation bug ends the test instead of hanging it.
const MAX_SPINS: u64 = 50_000_000;

both_drivers! {
    async fn spawned_task_output_comes_back_through_its_handle() {
        let handle = ringo_reactor::spawn(async {
            yield_now().await;
            String::from("forty-two")
        });
        assert_eq!(handle.await.expect("task output"), "forty-two");
    }
}

both_drivers! {
    async fn dropped_handle_detaches_a_task_that_still_runs_to_completion() {
        let done = Rc::new(Cell::new(false));
        let flag = done.clone();
        drop(ringo_reactor::spawn(async move {
            sleep(Duration::from_millis(5)).await;
            yield_now().await;
            flag.set(true);
        }));
        for _ in 0..1000 {
            if done.get() {
                break;
            }
            sleep(Duration::from_millis(1)).await;
        }
        assert!(done.get(), "detached task ran to completion");
    }
}

both_drivers! {
    async fn aborting_a_pending_task_makes_its_handle_cancelled() {
        let handle = ringo_reactor::spawn(std::future::pending::<()>());
        yield_now().await;
        assert!(!handle.is_finished(), "a pending task is not finished");
        handle.abort();
        let error = handle.await.expect_err("aborted task has no output");
        assert!(error.is_cancelled(), "aborted task is cancelled: {error}");
        assert!(!error.is_panic(), "aborted task did not panic");
        assert_eq!(error.to_string(), "task was cancelled");
    }
}

both_drivers! {
    async fn aborting_a_task_with_a_read_in_flight_leaves_the_connection_usable() {
        let (client, server) = tcp_pair().await;
        let server = Rc::new(server);
        let reader = {
            let server = server.clone();
            ringo_reactor::spawn(async move { server.read(vec![0u8; 64]).await.0 })
        };
        // Let the read be submitted and reach the kernel before the abort.
        sleep(Duration::from_millis(10)).await;
        reader.abort();
        let error = reader.await.expect_err("aborted reader has no output");
        assert!(error.is_cancelled(), "aborted reader is cancelled: {error}");
        // Give the driver a turn to deliver the cancellation to the kernel.
        sleep(Duration::from_millis(10)).await;

        let (r, _) = client.write_all(b"after abort".to_vec()).await;
        r.expect("client write");
        let (r, got) = server.read_exact(vec![0u8; 11]).await;
        r.expect("server read after abort");
        assert_eq!(&got, b"after abort", "data sent after the abort reaches a new read");

        let (r, _) = server.write_all(b"reply".to_vec()).await;
        r.expect("server write");
        let (r, got) = client.read_exact(vec![0u8; 5]).await;
        r.expect("client read");
        assert_eq!(&got, b"reply");

        server.shutdown().await.expect("server shutdown");
        let (n, _) = client.read(vec![0u8; 8]).await;
        assert_eq!(n.expect("client read at EOF"), 0, "client sees the server's shutdown");
        drop(client);
        drop(server);
        let next = ringo_reactor::spawn(async { 5 }).await.expect("runtime still runs tasks");
        assert_eq!(next, 5);
    }
}

both_drivers! {
    async fn panicking_task_reports_its_message_and_others_keep_going() {
        let survivor = ringo_reactor::spawn(async {
            for _ in 0..10 {
                yield_now().await;
            }
            "survived"
        });
        let panicker = ringo_reactor::spawn(async {
            yield_now().await;
            if always() {
                panic!("boom from task 7");
            }
        });
        let error = panicker.await.expect_err("panicked task has no output");
        assert!(error.is_panic(), "panicked task reports a panic: {error}");
        assert!(!error.is_cancelled(), "panicked task is not cancelled");
        assert_eq!(error.to_string(), "task panicked: boom from task 7");
        let payload = error.try_into_panic().expect("panic payload");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom from task 7"));
        assert_eq!(survivor.await.expect("other task"), "survived");
        sleep(Duration::from_millis(1)).await;
        let after = ringo_reactor::spawn(async { 1 + 1 }).await.expect("task after the panic");
        assert_eq!(after, 2);
    }
}

/// True, opaquely: keeps the compiler from treating the task body as diverging.
fn always() -> bool {
    std::hint::black_box(true)
}

both_drivers! {
    async fn yield_now_interleaves_two_tasks() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let spawn_logger = |name: char| {
            let log = log.clone();
            ringo_reactor::spawn(async move {
                for i in 0..5 {
                    log.borrow_mut().push((name, i));
                    yield_now().await;
                }
            })
        };
        let a = spawn_logger('a');
        let b = spawn_logger('b');
        a.await.expect("task a");
        b.await.expect("task b");
        let expected: Vec<(char, i32)> = (0..5).flat_map(|i| [('a', i), ('b', i)]).collect();
        assert_eq!(*log.borrow(), expected, "tasks alternate at every yield");
    }
}

both_drivers! {
    async fn a_task_yielding_forever_does_not_starve_a_timer_task() {
        let stop = Rc::new(Cell::new(false));
        let spinner = {
            let stop = stop.clone();
            ringo_reactor::spawn(async move {
                let mut spins = 0u64;
                while !stop.get() && spins < MAX_SPINS {
                    yield_now().await;
                    spins += 1;
                }
                spins
            })
        };
        let sleeper = {
            let stop = stop.clone();
            ringo_reactor::spawn(async move {
                sleep(Duration::from_millis(20)).await;
                let (a, b) = tcp_pair().await;
                let (r, _) = a.write_all(b"ping".to_vec()).await;
                r.expect("write");
                let (r, got) = b.read_exact(vec![0u8; 4]).await;
                r.expect("read");
                assert_eq!(&got, b"ping");
                stop.set(true);
            })
        };
        sleeper.await.expect("timer and I/O task ran beside the spinner");
        let spins = spinner.await.expect("spinner");
        assert!(spins < MAX_SPINS, "the spinner was stopped by the other task, not by its bound");
    }
}

both_drivers! {
    async fn a_task_whose_reads_always_complete_does_not_starve_others() {
        const TOTAL: usize = 100 * 1024 * 1024;
        let listener = std::net::TcpListener::bind(util::any_local()).expect("bind");
        let theirs = std::net::TcpStream::connect(listener.local_addr().expect("addr"))
            .expect("connect");
        let (ours, _) = listener.accept().expect("accept");
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let chunk = vec![7u8; 64 * 1024];
            let mut theirs = theirs;
            let mut sent = 0;
            while sent < TOTAL {
                match theirs.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(_) => break, // the reader stopped and closed its end
                }
            }
        });
        let stream = TcpStream::from_std(ours).expect("from_std");
        let stop = Rc::new(Cell::new(false));
        let received = Rc::new(Cell::new(0usize));
        let reader = {
            let (stop, received) = (stop.clone(), received.clone());
            ringo_reactor::spawn(async move {
                // Tiny reads: the peer keeps the socket full, so each one can
                // complete at once, and the loop never has to wait.
                let mut buf = vec![0u8; 64];
                while !stop.get() {
                    let (n, b) = stream.read(buf).await;
                    match n.expect("read") {
                        0 => return true,
                        n => received.set(received.get() + n),
                    }
                    buf = b;
                }
                false
            })
        };
        let other = {
            let stop = stop.clone();
            let received = received.clone();
            ringo_reactor::spawn(async move {
                for _ in 0..5 {
                    sleep(Duration::from_millis(2)).await;
                    yield_now().await;
                }
                stop.set(true);
                received.get()
            })
        };
        let seen = other.await.expect("other task completed beside the reader");
        let reached_eof = reader.await.expect("reader");
        assert!(!reached_eof, "other task finished while the reader still had data");
        assert!(seen < TOTAL, "other task ran before the reader drained all {TOTAL} bytes");
        writer.join().expect("writer thread");
    }
}

both_drivers! {
    async fn a_wake_from_another_thread_resumes_the_main_future_and_a_task() {
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(std::thread::current().id());
        });
        let sender = rx.await;
        assert_ne!(sender, std::thread::current().id(), "value came from another thread");

        let (tx, rx) = oneshot::channel();
        let task = ringo_reactor::spawn(async move { rx.await + 1 });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(41);
        });
        assert_eq!(task.await.expect("task woken from another thread"), 42);
    }
}

#[test]
fn handle_spawns_from_another_thread_and_either_thread_can_await() {
    for kind in KINDS {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        let handle = rt.handle();
        let runtime_thread = std::thread::current().id();
        rt.block_on(async move {
            let (handle_tx, handle_rx) = oneshot::channel();
            let (result_tx, result_rx) = oneshot::channel();
            let foreign = std::thread::spawn(move || {
                handle_tx.send(handle.spawn(async { std::thread::current().id() }));
                let other = util::runtime(kind).expect("second runtime on the foreign thread");
                let join = handle.spawn(async {
                    sleep(Duration::from_millis(5)).await;
                    std::thread::current().id()
                });
                result_tx.send(
                    other
                        .block_on(join)
                        .expect("awaited on the foreign runtime"),
                );
            });
            let ran_on = handle_rx.await.await.expect("awaited on the home runtime");
            assert_eq!(
                ran_on, runtime_thread,
                "{kind}: remote spawn runs on the runtime's thread"
            );
            let ran_on = result_rx.await;
            assert_eq!(ran_on, runtime_thread, "{kind}: second remote spawn too");
            foreign.join().expect("foreign thread");
        });
    }
}

#[test]
fn handle_spawn_after_the_runtime_is_dropped_resolves_to_cancelled() {
    for kind in KINDS {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        let handle = rt.handle();
        drop(rt);
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let join = std::thread::spawn(move || {
            handle.spawn(async move { flag.store(true, std::sync::atomic::Ordering::SeqCst) })
        })
        .join()
        .expect("spawning thread");
        let Some(other) = util::runtime(kind) else {
            continue;
        };
        let error = other
            .block_on(join)
            .expect_err("task on a dropped runtime has no output");
        assert!(error.is_cancelled(), "{kind}: cancelled, got {error}");
        assert!(
            !ran.load(std::sync::atomic::Ordering::SeqCst),
            "{kind}: the task never ran"
        );
    }
}

both_drivers! {
    async fn ten_thousand_tiny_tasks_spawn_and_join() {
        const TASKS: u64 = 10_000;
        let handles: Vec<_> = (0..TASKS)
            .map(|i| ringo_reactor::spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for (i, handle) in (0..TASKS).zip(handles) {
            let value = handle.await.expect("tiny task");
            assert_eq!(value, i * 2, "task {i}");
            sum += value;
        }
        assert_eq!(sum, TASKS * (TASKS - 1));
    }
}

on_both_drivers! {
    fn a_runtime_run_and_dropped_inside_a_task_leaves_the_outer_one_current(kind: DriverKind) {
        // Ops find their runtime through a thread-local that entering a
        // runtime sets and leaving restores: after an inner runtime has run
        // (and, dropped, entered itself once more to tear down), the outer
        // one's I/O, timers and spawns must still reach the outer one.
        let Some(outer) = util::runtime(kind) else { return };
        util::block_on_limited(&outer, kind, async move {
            let (a, b) = tcp_pair().await;
            for other in KINDS {
                let Some(inner) = util::runtime(other) else { continue };
                let echoed = inner.block_on(async {
                    let (x, y) = tcp_pair().await;
                    util::write_all(&x, &b"inner"[..]).await;
                    let (n, buf) = y.read(vec![0u8; 8]).await;
                    buf[..n.expect("inner read")].to_vec()
                });
                assert_eq!(echoed, b"inner");
                drop(inner);
            }
            let reader = ringo_reactor::spawn(async move {
                let (n, buf) = b.read(vec![0u8; 8]).await;
                buf[..n.expect("outer read")].to_vec()
            });
            sleep(Duration::from_millis(1)).await;
            util::write_all(&a, &b"outer"[..]).await;
            assert_eq!(reader.await.expect("reader"), b"outer");
        });
    }
}
