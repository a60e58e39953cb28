//! Bundled pooled receive (`IORING_RECVSEND_BUNDLE`): bulk transfers stay
//! byte-exact when one completion fills many small pool buffers; an exhausted
//! pool loses no bytes; dropping a stream with bundled buffers queued (in the
//! socket and in its slot) gives every buffer back.
//!
//! Each case runs three ways: `uring` (bundles where the kernel has them),
//! `uring_unbundled` (the hook hides them: plain multishot receives) and
//! `compat` (no multishot at all, the same API). Whether completions really
//! carried several buffers is read from the pool's hidden counter.
//!
//! The `#[ignore]`d test at the end is the A/B measurement, bundles on against
//! off (run it in release with `--ignored --nocapture`; `RINGO_BUNDLE_BYTES`
//! and `RINGO_BUNDLE_ROUNDS` shorten it).

// Bundles are an io_uring feature: Linux only (pooled_recv.rs covers the
// pooled receive on compat everywhere).
#![cfg(target_os = "linux")]

use ringo_test_util as util;

use std::time::Duration;

use ringo_reactor::buf::BufferPool;
use ringo_reactor::io::AsyncWrite;
use ringo_reactor::net::TcpStream;
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::{spawn, DriverKind, Runtime};
use util::{
    all_buffers_back, any_local, median, pattern, pool_exhaustion_loses_nothing, runtime_from,
    tcp_pair_nodelay, thread_cpu_ns, TEST_LIMIT,
};

const MIB: usize = 1024 * 1024;

/// The three ways each case runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// io_uring, bundles where the kernel has them.
    Uring,
    /// io_uring with the hook that hides bundles.
    UringUnbundled,
    /// compat: no multishot receive at all.
    Compat,
}

/// Defines `name::uring`, `name::uring_unbundled` and `name::compat`, each
/// calling `body(way)`.
macro_rules! bundle_cases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::Way;

            #[test]
            fn uring() {
                super::$name(Way::Uring);
            }

            #[test]
            fn uring_unbundled() {
                super::$name(Way::UringUnbundled);
            }

            #[test]
            fn compat() {
                super::$name(Way::Compat);
            }
        }
    )*};
}

bundle_cases! {
    bulk_transfer_is_byte_exact,
    exhausted_pool_loses_no_bytes,
    dropping_a_stream_with_bundles_queued_returns_every_buffer,
}

/// Runs `body` under [`TEST_LIMIT`] on the runtime `way` names, with `count`
/// pool buffers of `size` bytes; the body learns whether pooled stream
/// receives bundle (checked: never on compat or with the hook).
fn run_way<Fut: std::future::Future<Output = ()>>(
    way: Way,
    (count, size): (usize, usize),
    body: impl FnOnce(bool) -> Fut,
) {
    let mut builder = Runtime::builder().recv_buffers(count, size);
    let kind = match way {
        Way::Uring => DriverKind::Uring,
        Way::UringUnbundled => {
            builder = builder.simulate(ringo_reactor::runtime::Simulate {
                no_recv_bundle: true,
                ..Default::default()
            });
            DriverKind::Uring
        }
        Way::Compat => DriverKind::Compat,
    };
    let Some(rt) = runtime_from(kind, builder) else {
        return;
    };
    let bundles = rt.uring_features().is_some_and(|f| f.recv_bundle);
    if way != Way::Uring {
        assert!(!bundles, "no bundles on {way:?}");
    }
    rt.block_on(async {
        timeout(TEST_LIMIT, body(bundles))
            .await
            .unwrap_or_else(|_| panic!("test on {way:?} did not finish within {TEST_LIMIT:?}"));
    });
}

/// Reads pooled buffers from `stream` until EOF; returns the bytes.
async fn recv_to_end(stream: &TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(buf) = stream.recv_pooled().await.expect("pooled receive") {
        assert!(
            !buf.is_empty(),
            "a pooled receive never yields an empty buffer"
        );
        all.extend_from_slice(&buf);
    }
    all
}

fn bulk_transfer_is_byte_exact(way: Way) {
    run_way(way, (1024, 256), |bundles| async move {
        let pool = BufferPool::current().expect("pool");
        let (client, server) = tcp_pair_nodelay().await;
        let sent = pattern(8 * MIB, 21);
        let writer = spawn({
            let sent = sent.clone();
            async move {
                client.write_all(sent).await.0.expect("write");
                client.shutdown().await.expect("shutdown");
            }
        });
        let got = recv_to_end(&server).await;
        writer.await.expect("writer task");
        assert!(
            got == sent,
            "8 MiB through 256-byte buffers arrive byte-exact"
        );
        let bundled = pool.bundled_receives();
        if bundles {
            assert!(bundled > 0, "some completion filled several buffers");
        } else {
            assert_eq!(bundled, 0, "one buffer per completion without bundles");
        }
        all_buffers_back(&pool).await;
    });
}

fn exhausted_pool_loses_no_bytes(way: Way) {
    run_way(way, (8, 256), |_| pool_exhaustion_loses_nothing(8, 22));
}

fn dropping_a_stream_with_bundles_queued_returns_every_buffer(way: Way) {
    run_way(way, (64, 256), |_| async move {
        let pool = BufferPool::current().expect("pool");
        let (client, server) = tcp_pair_nodelay().await;
        client
            .write_all(pattern(8 * 1024, 23))
            .await
            .0
            .expect("write");
        let first = server
            .recv_pooled()
            .await
            .expect("receive")
            .expect("not EOF");
        assert_eq!(&first[..], &pattern(8 * 1024, 23)[..first.len()]);
        drop(first);
        // More bundles complete into the armed receive's slot, uncollected.
        client
            .write_all(pattern(8 * 1024, 24))
            .await
            .0
            .expect("write");
        sleep(Duration::from_millis(20)).await;
        drop(server);
        all_buffers_back(&pool).await;
        drop(client);
    });
}

/// One run of the A/B: `total` bytes over loopback TCP from a blocking writer
/// thread to a uring runtime on this thread reading with `recv_pooled` into a
/// pool of 4 KiB buffers, bundles on or off. Returns (MB/s, reader thread CPU
/// ms per GiB, completions that filled several buffers).
fn measure_receive(bundles: bool, total: usize) -> (f64, f64, f64) {
    use std::io::Write;

    let listener = std::net::TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("listener address");
    let writer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let chunk = pattern(256 * 1024, 25);
        for _ in 0..total / chunk.len() {
            stream.write_all(&chunk).expect("write");
        }
    });
    let mut builder = Runtime::builder().recv_buffers(1024, 4096);
    if !bundles {
        builder = builder.simulate(ringo_reactor::runtime::Simulate {
            no_recv_bundle: true,
            ..Default::default()
        });
    }
    let rt = runtime_from(DriverKind::Uring, builder).expect("a uring runtime");
    assert_eq!(
        rt.uring_features().is_some_and(|f| f.recv_bundle),
        bundles,
        "the measurement needs IORING_FEAT_RECVSEND_BUNDLE"
    );
    let (got, elapsed, cpu_ns, bundled) = rt.block_on(async move {
        let pool = BufferPool::current().expect("pool");
        let stream = TcpStream::connect(addr).await.expect("connect");
        let start = (std::time::Instant::now(), thread_cpu_ns());
        let mut got = 0;
        while let Some(buf) = stream.recv_pooled().await.expect("receive") {
            got += buf.len();
        }
        let (elapsed, cpu) = (start.0.elapsed(), thread_cpu_ns() - start.1);
        (got, elapsed, cpu, pool.bundled_receives())
    });
    writer.join().expect("writer thread");
    assert_eq!(got, total / (256 * 1024) * 256 * 1024, "every byte arrived");
    let gib = got as f64 / (1u64 << 30) as f64;
    (
        got as f64 / 1e6 / elapsed.as_secs_f64(),
        cpu_ns as f64 / 1e6 / gib,
        bundled as f64,
    )
}

#[test]
#[ignore = "a measurement: cargo test --release -p ringo-reactor --test recv_bundle measure -- --ignored --nocapture"]
fn measure_bundled_against_plain_multishot_receive() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (total, rounds) = (
        env("RINGO_BUNDLE_BYTES", 1 << 30),
        env("RINGO_BUNDLE_ROUNDS", 7),
    );
    println!(
        "{} MiB over loopback TCP per run into 4 KiB pool buffers, {rounds} alternating rounds, medians",
        total / MIB
    );
    let mut runs: [Vec<(f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate which mode goes first, so drift hits both alike.
        for step in 0..2 {
            let bundles = (round + step) % 2 == 1;
            let run = measure_receive(bundles, total);
            println!("  round {round} bundles={bundles}: {run:.2?}");
            runs[usize::from(bundles)].push(run);
        }
    }
    println!(
        "{:>8} {:>9} {:>18} {:>16}",
        "mode", "MB/s", "reader ms CPU/GiB", "bundled CQEs"
    );
    for (mode, runs) in ["plain", "bundle"].iter().zip(runs) {
        let column =
            |f: fn(&(f64, f64, f64)) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        let (rate, cpu, share) = (column(|r| r.0), column(|r| r.1), column(|r| r.2));
        println!("{mode:>8} {rate:>9.0} {cpu:>18.1} {share:>16.0}");
    }
}
