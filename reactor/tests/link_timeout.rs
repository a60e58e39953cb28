//! Reads and writes with a deadline (`ReadFuture::timeout` / `deadline`, the
//! same on `WriteFuture`): they end with `TimedOut`, hand the buffer back, lose
//! no bytes, and leave the stream usable.
//!
//! Every case runs four ways: `uring` (the deadline is an
//! `IORING_OP_LINK_TIMEOUT` linked to the op), `uring_sqpoll` (the same, with
//! the kernel's SQPOLL thread taking the SQE pairs, where granted),
//! `uring_timer` (the test hook denies linking, so the timer wheel and a
//! cancel enforce it) and `compat` (the timer wheel around a readiness op).
//! Off Linux only `compat` exists.
//!
//! The `#[ignore]`d `measure_*` tests are the A/B of a timed read against
//! `time::timeout` around a plain read; they print medians and assert no speed
//! (Linux only: they compare with uring and read the CPU time from `/proc`).

use ringo_test_util as util;

use std::future::{poll_fn, Future};
use std::io::ErrorKind;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpStream, UdpSocket};
use ringo_reactor::time::sleep;
use ringo_reactor::{spawn, Builder, DriverKind, Runtime};
use util::{
    any_local, block_on_limited, pattern, tcp_pair_nodelay, unless_no_uring, within, TEST_LIMIT,
};

/// How long a read waits for bytes that will never come, in the tests that
/// want it to time out.
const SHORT: Duration = Duration::from_millis(20);

/// A deadline no test reaches: a read with it must end by its data.
const LONG: Duration = Duration::from_secs(30);

/// Runs `body` on a runtime of `kind` built from `builder`, under the test
/// time limit, checking which way deadlines are enforced on io_uring.
fn run_with<F, Fut>(kind: DriverKind, builder: Builder, linked: bool, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(rt) = unless_no_uring(kind, "build a runtime", builder.driver(kind).build()) else {
        return;
    };
    if let Some(features) = rt.uring_features() {
        assert_eq!(
            features.link_timeout, linked,
            "link timeouts in {features:?}"
        );
    }
    block_on_limited(&rt, kind, body());
}

/// Defines `name::uring`, `name::uring_sqpoll`, `name::uring_timer` and
/// `name::compat` for `async fn name()`.
macro_rules! four_ways {
    (async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                run_with(DriverKind::Uring, Runtime::builder(), true, body);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn uring_sqpoll() {
                let builder = Runtime::builder().sqpoll(Duration::from_millis(2));
                run_with(DriverKind::Uring, builder, true, body);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn uring_timer() {
                let builder = Runtime::builder().simulate(ringo_reactor::runtime::Simulate { no_link_timeout: true, ..Default::default() });
                run_with(DriverKind::Uring, builder, false, body);
            }

            #[test]
            fn compat() {
                run_with(DriverKind::Compat, Runtime::builder(), false, body);
            }
        }
    };
}

/// Asserts that a timed op timed out and gave back a buffer of `len` bytes.
fn assert_timed_out<B: IoBuf>(result: std::io::Result<usize>, buf: &B, len: usize) {
    let error = result.expect_err("the op timed out");
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    assert_eq!(buf.bytes_total(), len, "the buffer comes back whole");
}

/// Reads exactly `len` bytes with timed reads, so a stuck read fails the test.
async fn read_exactly(stream: &TcpStream, len: usize) -> Vec<u8> {
    let mut all = Vec::with_capacity(len);
    let mut buf = vec![0u8; 4096];
    while all.len() < len {
        let (result, back) = stream.read(buf).timeout(LONG).await;
        buf = back;
        match result.expect("read in time") {
            0 => panic!("stream ended after {} of {len} bytes", all.len()),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
    all
}

four_ways! {
    async fn a_read_times_out_and_the_stream_stays_usable() {
        let (client, server) = tcp_pair_nodelay().await;
        let start = Instant::now();
        let (result, buf) = server.read(vec![0u8; 512]).timeout(SHORT).await;
        let waited = start.elapsed();
        assert_timed_out(result, &buf, 512);
        assert!(waited >= SHORT, "timed out after {waited:?}, before the deadline {SHORT:?}");
        assert!(waited < LONG, "timed out only after {waited:?}");

        // Bytes sent after the time-out all reach the next read, in both directions.
        let request = pattern(10_000, 1);
        client.write_all(request.clone()).await.0.expect("client write");
        assert_eq!(read_exactly(&server, request.len()).await, request);
        let reply = pattern(3000, 2);
        server.write_all(reply.clone()).await.0.expect("server write after a time-out");
        assert_eq!(read_exactly(&client, reply.len()).await, reply);
    }
}

four_ways! {
    async fn a_read_completes_before_its_deadline() {
        let (client, server) = tcp_pair_nodelay().await;
        // Bytes already there.
        client.write_all(b"ready".to_vec()).await.0.expect("write");
        sleep(Duration::from_millis(5)).await;
        let (result, buf) = server.read(vec![0u8; 64]).timeout(LONG).await;
        assert_eq!(&buf[..result.expect("read in time")], b"ready");

        // Bytes that come while the read waits, well before its deadline.
        let writer = spawn(async move {
            sleep(Duration::from_millis(10)).await;
            client.write_all(b"later".to_vec()).await.0.expect("write");
            client
        });
        let start = Instant::now();
        let deadline = start + LONG;
        let (result, buf) = server.read(buf).deadline(deadline).await;
        assert_eq!(&buf[..result.expect("read in time")], b"later");
        assert!(start.elapsed() < LONG, "the read ended by its data");
        let _client = writer.await.expect("writer task");
    }
}

four_ways! {
    async fn zero_very_short_and_past_deadlines_time_out() {
        let (client, server) = tcp_pair_nodelay().await;
        let mut buf = vec![0u8; 128];
        let start = Instant::now();
        for limit in [Duration::ZERO, Duration::from_nanos(1), Duration::from_micros(100)] {
            let (result, back) = server.read(buf).timeout(limit).await;
            assert_timed_out(result, &back, 128);
            buf = back;
        }
        let past = Instant::now();
        sleep(Duration::from_millis(2)).await;
        let (result, back) = server.read(buf).deadline(past).await;
        assert_timed_out(result, &back, 128);
        assert!(start.elapsed() < LONG, "short deadlines end promptly");
        buf = back;

        // None of them took a byte: everything sent afterwards arrives.
        let message = pattern(5000, 3);
        client.write_all(message.clone()).await.0.expect("write");
        assert_eq!(read_exactly(&server, message.len()).await, message);
        drop(buf);
    }
}

four_ways! {
    async fn bytes_racing_the_deadline_are_never_lost() {
        // The writer sends one byte every 3 ms; the reader waits 1 ms at a
        // time, so most reads time out and some end just as a byte arrives.
        const BYTES: usize = 150;
        let (client, server) = tcp_pair_nodelay().await;
        let sent = pattern(BYTES, 4);
        let to_send = sent.clone();
        let writer = spawn(async move {
            for byte in to_send {
                client.write_all(vec![byte]).await.0.expect("write one byte");
                sleep(Duration::from_millis(3)).await;
            }
            client
        });
        let mut received = Vec::new();
        let mut timeouts = 0;
        let mut buf = vec![0u8; 16];
        while received.len() < BYTES {
            let (result, back) = server.read(buf).timeout(Duration::from_millis(1)).await;
            buf = back;
            match result {
                Ok(0) => panic!("stream ended after {} bytes", received.len()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::TimedOut => timeouts += 1,
                Err(e) => panic!("read failed: {e}"),
            }
        }
        assert_eq!(received, sent, "every byte, in order");
        assert!(timeouts > 0, "the reader never timed out: the test tested nothing");
        let _client = writer.await.expect("writer task");
    }
}

four_ways! {
    async fn a_write_to_a_full_socket_times_out_and_loses_nothing() {
        let (client, server) = tcp_pair_nodelay().await;
        // Write until the socket buffers are full and a write times out.
        let chunk = pattern(64 * 1024, 5);
        let mut expected = Vec::new();
        loop {
            let (result, _) = client.write(chunk.clone()).timeout(SHORT).await;
            match result {
                Ok(n) => expected.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::TimedOut => break,
                Err(e) => panic!("write failed: {e}"),
            }
            assert!(expected.len() < 1 << 30, "wrote 1 GiB without the peer reading");
        }
        // The peer reads exactly what was reported written: the timed-out
        // write sent nothing, and the stream still works afterwards.
        expected.extend_from_slice(b"end");
        let len = expected.len();
        let reader = spawn(async move { read_exactly(&server, len).await });
        client.write_all(b"end".to_vec()).await.0.expect("write after a time-out");
        let got = reader.await.expect("reader task");
        assert!(got == expected, "the bytes reported written, then the last write");
    }
}

/// Polls `future` once, from inside a task, and gives back what it said.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

four_ways! {
    async fn dropping_a_timed_read_in_flight_cancels_it() {
        let (client, server) = tcp_pair_nodelay().await;
        for limit in [Duration::from_millis(2), LONG] {
            let mut read = server.read(vec![0u8; 64]).timeout(limit);
            match poll_once(&mut read).await {
                Poll::Pending => drop(read),
                // A stalled machine (AddressSanitizer, a loaded CI host) may
                // reach the first poll after the short deadline: then the read
                // has already timed out, which is as good as a drop.
                Poll::Ready((result, buf)) => {
                    assert!(limit < LONG, "no bytes yet: the long read waits");
                    assert_timed_out(result, &buf, 64);
                }
            }
            // Past the short deadline: a timeout that outlived its op would
            // fire now, and must hit nothing.
            sleep(Duration::from_millis(10)).await;
        }
        // Another read takes over; nothing but bytes may complete it.
        let (result, buf) = server.read(vec![0u8; 64]).timeout(SHORT).await;
        assert_timed_out(result, &buf, 64);
        // The dropped reads were cancelled, not left to swallow these bytes.
        let message = pattern(1000, 6);
        client.write_all(message.clone()).await.0.expect("write");
        assert_eq!(read_exactly(&server, message.len()).await, message);
    }
}

four_ways! {
    async fn a_deadline_set_on_a_started_read_only_tightens() {
        let (client, server) = tcp_pair_nodelay().await;
        let mut read = server.read(vec![0u8; 64]).timeout(LONG);
        assert!(poll_once(&mut read).await.is_pending(), "no bytes yet: the read waits");
        let start = Instant::now();
        let (result, buf) = read.timeout(SHORT).await;
        assert_timed_out(result, &buf, 64);
        let waited = start.elapsed();
        assert!(waited >= SHORT && waited < LONG, "an earlier deadline applies: {waited:?}");

        let mut read = server.read(buf).timeout(SHORT);
        assert!(poll_once(&mut read).await.is_pending(), "no bytes yet: the read waits");
        let start = Instant::now();
        let (result, buf) = read.timeout(LONG).await;
        assert_timed_out(result, &buf, 64);
        assert!(start.elapsed() < LONG, "a later deadline does not loosen the first");

        let message = pattern(700, 7);
        client.write_all(message.clone()).await.0.expect("write");
        assert_eq!(read_exactly(&server, message.len()).await, message);
    }
}

four_ways! {
    async fn many_concurrent_timed_reads_half_time_out() {
        const PAIRS: usize = 200;
        let mut pairs = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            pairs.push(Rc::new(tcp_pair_nodelay().await));
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        let readers: Vec<_> = pairs
            .iter()
            .map(|pair| {
                let pair = pair.clone();
                spawn(async move { pair.1.read(vec![0u8; 32]).deadline(deadline).await })
            })
            .collect();
        // Every read is waiting before the even pairs' bytes are sent.
        sleep(Duration::from_millis(10)).await;
        for (i, pair) in pairs.iter().enumerate().step_by(2) {
            pair.0.write_all(format!("pair {i}").into_bytes()).await.0.expect("write");
        }
        for (i, reader) in readers.into_iter().enumerate() {
            let (result, buf) = reader.await.expect("reader task");
            if i % 2 == 0 {
                let n = result.unwrap_or_else(|e| panic!("pair {i} read failed: {e}"));
                assert_eq!(&buf[..n], format!("pair {i}").as_bytes());
            } else {
                assert_timed_out(result, &buf, 32);
            }
        }
        assert!(Instant::now() >= deadline, "no read timed out before the deadline");
        // The pairs whose reads timed out still carry bytes.
        for (i, pair) in pairs.iter().enumerate().skip(1).step_by(2) {
            let message = format!("late {i}").into_bytes();
            pair.0.write_all(message.clone()).await.0.expect("write");
            assert_eq!(read_exactly(&pair.1, message.len()).await, message);
        }
    }
}

four_ways! {
    async fn a_udp_receive_times_out_then_receives() {
        let a = UdpSocket::bind(any_local()).expect("bind");
        let b = UdpSocket::bind(any_local()).expect("bind");
        a.connect(b.local_addr().expect("address")).await.expect("connect");
        b.connect(a.local_addr().expect("address")).await.expect("connect");
        let (result, buf) = b.recv(vec![0u8; 64]).timeout(SHORT).await;
        assert_timed_out(result, &buf, 64);
        let (sent, _) = a.send(b"datagram".to_vec()).timeout(LONG).await;
        assert_eq!(sent.expect("send"), 8);
        let (result, buf) = b.recv(buf).timeout(LONG).await;
        assert_eq!(&buf[..result.expect("receive in time")], b"datagram");
    }
}

/// Dropping a runtime whose tasks wait in timed reads neither hangs nor
/// leaves their linked timeouts to fire into freed memory.
#[test]
fn a_runtime_dropped_with_timed_reads_in_flight_shuts_down() {
    let mut builders = Vec::new();
    #[cfg(target_os = "linux")]
    builders.extend([
        (DriverKind::Uring, Runtime::builder()),
        (
            DriverKind::Uring,
            Runtime::builder().simulate(ringo_reactor::runtime::Simulate {
                no_link_timeout: true,
                ..Default::default()
            }),
        ),
    ]);
    builders.push((DriverKind::Compat, Runtime::builder()));
    for (kind, builder) in builders {
        within(TEST_LIMIT, "a runtime drop", move || {
            let Some(rt) = unless_no_uring(kind, "build a runtime", builder.driver(kind).build())
            else {
                return;
            };
            rt.block_on(async {
                for _ in 0..20 {
                    let pair = tcp_pair_nodelay().await;
                    drop(spawn(async move {
                        let _read = pair.1.read(vec![0u8; 64]).timeout(LONG).await;
                        drop(pair);
                    }));
                }
                sleep(Duration::from_millis(10)).await;
            });
            drop(rt);
        });
    }
}

/// Alternating runs per variant in the measurements; medians are reported.
#[cfg(target_os = "linux")]
const MEASURE_RUNS: usize = 7;

/// CPU time this thread has used (`/proc/thread-self/schedstat`, in ns):
/// with `DEFER_TASKRUN` the kernel's completion work runs here too.
#[cfg(target_os = "linux")]
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns = text.split_whitespace().next().and_then(|n| n.parse().ok());
    Duration::from_nanos(ns.expect("schedstat starts with ns on CPU"))
}

/// Runs each of `variants` `MEASURE_RUNS` times, rotating their order every
/// run; each run performs `ops` ops and is timed in wall and thread CPU
/// time. Prints the medians per op, in µs.
#[cfg(target_os = "linux")]
async fn measure<F, Fut>(label: &str, variants: &[&str], ops: usize, mut run: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = vec![(Vec::new(), Vec::new()); variants.len()];
    for round in 0..MEASURE_RUNS {
        for i in 0..variants.len() {
            let v = (i + round) % variants.len();
            let (wall, cpu) = (Instant::now(), thread_cpu());
            run(v).await;
            let per_op = |d: Duration| d.as_secs_f64() * 1e6 / ops as f64;
            samples[v].0.push(per_op(wall.elapsed()));
            samples[v].1.push(per_op(thread_cpu() - cpu));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (name, (wall, cpu)) in variants.iter().zip(samples) {
        println!(
            "{label:<44} {name:<30} wall {:>8.2} µs/op  cpu {:>7.2} µs/op",
            median(wall),
            median(cpu)
        );
    }
}

/// A/B: one timed read per echo round trip (64 B, the echo on the same
/// runtime), the deadline never reached.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "measurement: prints medians, asserts no speed"]
fn measure_a_timed_read_that_completes() {
    const OPS: usize = 20_000;
    for kind in [DriverKind::Uring, DriverKind::Compat] {
        run_with(
            kind,
            Runtime::builder(),
            kind == DriverKind::Uring,
            || async move {
                let (client, server) = tcp_pair_nodelay().await;
                drop(spawn(util::echo(server)));
                let client = Rc::new(client);
                let variants = [
                    "plain read",
                    "read(..).timeout(1 s)",
                    "time::timeout(1 s, read(..))",
                ];
                let label = format!("{kind}: timed read, completes (round trip)");
                measure(&label, &variants, OPS, |variant| {
                    let client = client.clone();
                    async move {
                        let mut message = vec![7u8; 64];
                        let mut buf = vec![0u8; 64];
                        for _ in 0..OPS {
                            message = client.write_all(message).await.1;
                            let (result, back) = match variant {
                                0 => client.read(buf).await,
                                1 => client.read(buf).timeout(Duration::from_secs(1)).await,
                                _ => ringo_reactor::time::timeout(
                                    Duration::from_secs(1),
                                    client.read(buf),
                                )
                                .await
                                .expect("the echo comes back in time"),
                            };
                            assert_eq!(result.expect("echo read"), 64, "one read per 64 B echo");
                            buf = back;
                        }
                    }
                })
                .await;
            },
        );
    }
}

/// A/B: timed reads that time out (nothing is ever sent), with a zero and
/// a 1 ms deadline. `time::timeout` drops the read, so it needs a new buffer
/// each time; each run ends with a 2 ms sleep for every variant, so the
/// cancellations it leaves behind are paid inside the measured window.
#[cfg(target_os = "linux")]
#[test]
#[ignore = "measurement: prints medians, asserts no speed"]
fn measure_a_timed_read_that_times_out() {
    for kind in [DriverKind::Uring, DriverKind::Compat] {
        run_with(
            kind,
            Runtime::builder(),
            kind == DriverKind::Uring,
            || async move {
                let (_client, server) = tcp_pair_nodelay().await;
                let server = Rc::new(server);
                for (limit, ops) in [(Duration::ZERO, 5000), (Duration::from_millis(1), 300)] {
                    let variants = [
                        format!("read(..).timeout({limit:?})"),
                        format!("time::timeout({limit:?}, read(..))"),
                    ];
                    let names: Vec<&str> = variants.iter().map(String::as_str).collect();
                    let label = format!("{kind}: timed read, times out");
                    measure(&label, &names, ops, |variant| {
                        let server = server.clone();
                        async move {
                            let mut buf = vec![0u8; 64];
                            for _ in 0..ops {
                                if variant == 0 {
                                    let (result, back) = server.read(buf).timeout(limit).await;
                                    assert_timed_out(result, &back, 64);
                                    buf = back;
                                } else {
                                    let read = server.read(vec![0u8; 64]);
                                    let timed = ringo_reactor::time::timeout(limit, read).await;
                                    assert!(timed.is_err(), "no bytes come");
                                }
                            }
                            sleep(Duration::from_millis(2)).await;
                        }
                    })
                    .await;
                }
            },
        );
    }
}
