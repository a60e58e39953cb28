//! `copy_bidirectional` on both drivers: many proxied connections come back
//! byte-exact, a half-close travels through, a peer reset ends the copy with
//! an error and closes both sides, a dropped copy stops and leaves the streams
//! open, 64 MiB cross one way intact, and on uring
//! the bytes are spliced — unless the kernel refuses splice (`Simulate`
//! injects the refusal), when the buffered copy must do the same job.
//!
//! The `#[ignore]`d test at the end is the A/B measurement of splice against
//! the buffered copy (run it in release with `--ignored --nocapture`).

use ringo_test_util as util;
use ringo_test_util::{both_drivers, on_both_drivers};

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::io::{copy_bidirectional, AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::runtime::Simulate;
use ringo_reactor::time::timeout;
use ringo_reactor::{DriverKind, JoinHandle, Runtime};
use util::{any_local, echo, pattern, read_to_end, spawn_server, tcp_pair};

/// How long a reset may take to end a copy: far longer than it does.
const NOTICE_LIMIT: Duration = Duration::from_secs(10);

/// Every proxied connection's result, in the order they ended.
type Results = Rc<RefCell<Vec<io::Result<(u64, u64)>>>>;

/// A proxy on the current runtime: every accepted connection is joined to a
/// new connection to `upstream` with `copy_bidirectional`.
fn proxy(upstream: SocketAddr) -> (SocketAddr, Results) {
    let listener = TcpListener::bind(any_local()).expect("bind proxy");
    let addr = listener.local_addr().expect("proxy address");
    let results = Results::default();
    let record = results.clone();
    drop(ringo_reactor::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            drop(ringo_reactor::spawn(async move {
                let result = match TcpStream::connect(upstream).await {
                    Ok(upstream) => copy_bidirectional(&client, &upstream).await,
                    Err(e) => Err(e),
                };
                record.borrow_mut().push(result);
            }));
        }
    }));
    (addr, results)
}

/// Two loopback connections joined by `copy_bidirectional` in a task: `x`
/// talks to the copy's `a` side, `y` to its `b` side. The copy's streams
/// close when it returns.
async fn joined() -> (TcpStream, TcpStream, JoinHandle<io::Result<(u64, u64)>>) {
    let (x, a) = tcp_pair().await;
    let (b, y) = tcp_pair().await;
    let copy = ringo_reactor::spawn(async move { copy_bidirectional(&a, &b).await });
    (x, y, copy)
}

/// Sends `bytes` from `from` and half-closes it, in a task of its own, so the
/// caller can read the other end at the same time.
fn send_and_close(from: Rc<TcpStream>, bytes: Vec<u8>) -> JoinHandle<()> {
    ringo_reactor::spawn(async move {
        let (written, _) = from.write_all(bytes).await;
        written.expect("send through the copy");
        from.shutdown().await.expect("half-close after sending");
    })
}

/// Sends `len` pattern bytes from `x` to `y` through a joined copy and checks
/// they arrive exactly and the copy counts them; returns the bytes spliced.
async fn one_way_transfer(rt: &Runtime, len: usize) -> u64 {
    let spliced = || rt.stats().spliced_bytes;
    let before = spliced();
    let (x, y, copy) = joined().await;
    let sent = pattern(len, 64);
    let sender = send_and_close(Rc::new(x), sent.clone());
    let received = read_to_end(&y).await.expect("read everything");
    sender.await.expect("sender task");
    assert!(
        received.len() == len,
        "received {} of {len} bytes",
        received.len()
    );
    assert!(received == sent, "the bytes arrived altered");
    drop(y);
    let counts = copy
        .await
        .expect("copy task")
        .expect("the copy ends cleanly");
    assert_eq!(counts, (len as u64, 0));
    spliced() - before
}

/// A deterministic pseudo-random number per `i` (xorshift), for sizes.
fn random(i: u64) -> u64 {
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..4 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
    }
    state
}

both_drivers! {
    async fn fifty_proxied_connections_of_random_sizes_come_back_exact() {
        let (addr, results) = proxy(spawn_server(echo));
        let clients: Vec<_> = (0..50u64)
            .map(|id| {
                ringo_reactor::spawn(async move {
                    let len = 1 + (random(id) % (1 << 20)) as usize;
                    let stream = Rc::new(TcpStream::connect(addr).await.expect("connect to proxy"));
                    let message = pattern(len, id);
                    let sender = send_and_close(stream.clone(), message.clone());
                    let echoed = read_to_end(&*stream).await.expect("read the echo");
                    sender.await.expect("sender task");
                    let got = echoed.len();
                    assert!(got == len, "client {id}: {got} of {len} bytes came back");
                    assert!(echoed == message, "client {id}: {len} bytes came back altered");
                    len as u64
                })
            })
            .collect();
        let mut sizes = Vec::new();
        for client in clients {
            sizes.push(client.await.expect("client task"));
        }
        // A connection's result is recorded once both directions have ended,
        // which can be just after its client saw the end of stream.
        while results.borrow().len() < 50 {
            ringo_reactor::time::sleep(Duration::from_millis(1)).await;
        }
        let mut counted: Vec<u64> = results
            .borrow()
            .iter()
            .map(|result| {
                let (up, down) = *result.as_ref().expect("every copy ends cleanly");
                assert_eq!(up, down, "an echo returns what it got");
                up
            })
            .collect();
        counted.sort_unstable();
        sizes.sort_unstable();
        assert_eq!(counted, sizes);
    }
}

both_drivers! {
    async fn a_half_close_travels_through_and_the_other_way_goes_on() {
        let (x, y, copy) = joined().await;
        let (written, _) = x.write_all(b"request".to_vec()).await;
        written.expect("x sends");
        x.shutdown().await.expect("x half-closes");
        // y sees the request *and* the end of stream while x still listens.
        let request = read_to_end(&y).await.expect("y reads to the end");
        assert_eq!(request, b"request");
        let reply = pattern(300_000, 7);
        let sender = send_and_close(Rc::new(y), reply.clone());
        let received = read_to_end(&x).await.expect("x reads the reply");
        sender.await.expect("sender task");
        assert!(received == reply, "the reply arrived altered ({} bytes)", received.len());
        let counts = copy.await.expect("copy task").expect("the copy ends cleanly");
        assert_eq!(counts, (7, 300_000));
    }
}

both_drivers! {
    async fn a_peer_reset_ends_the_copy_with_an_error_and_closes_both_sides() {
        let (x, y, copy) = joined().await;
        let (written, _) = x.write_all(b"hello".to_vec()).await;
        written.expect("x sends");
        let (read, hello) = y.read_exact(vec![0u8; 5]).await;
        read.expect("y gets the bytes");
        assert_eq!(hello, b"hello");
        y.set_linger_zero().expect("linger zero");
        drop(y); // With SO_LINGER 0: the copy's b side gets a reset.
        if util::wine::under_wine() {
            // Wine reads the reset as the end of stream (see `util::wine`), so
            // the copy takes it for b's half-close: it shuts down a's write
            // half and copies on from a, until writing to b meets the reset.
            let rest = timeout(NOTICE_LIMIT, read_to_end(&x))
                .await
                .expect("x sees the half-close")
                .expect("x reads to the end");
            assert!(rest.is_empty(), "no bytes after the reset: {rest:?}");
            let (written, _) = x.write_all(b"after the reset".to_vec()).await;
            written.expect("x still sends to the copy");
        }
        let error = timeout(NOTICE_LIMIT, copy)
            .await
            .expect("the reset ends the copy")
            .expect("copy task")
            .expect_err("a reset is an error");
        // Under Wine too: its write to b reports the reset its read missed.
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
        // The copy shut its a side down and closed it: x sees the end.
        match read_to_end(&x).await {
            Ok(rest) => assert!(rest.is_empty(), "no bytes after the reset: {rest:?}"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
}

both_drivers! {
    async fn dropping_the_copy_mid_transfer_stops_it_and_leaves_the_streams_open() {
        let (x, a) = tcp_pair().await;
        let (b, y) = tcp_pair().await;
        let (a, b) = (Rc::new(a), Rc::new(b));
        let copy = ringo_reactor::spawn({
            let (a, b) = (a.clone(), b.clone());
            async move { copy_bidirectional(&a, &b).await }
        });
        let sent = pattern(100_000, 5);
        util::write_all(&x, sent.clone()).await;
        let (read, received) = y.read_exact(vec![0u8; sent.len()]).await;
        read.expect("y gets the bytes through the copy");
        assert!(received == sent, "the bytes arrived altered");
        // Both directions now wait on their source, an op in flight on each.
        copy.abort();
        let ended = copy.await.expect_err("an aborted copy does not finish");
        assert!(ended.is_cancelled(), "{ended}");
        // Without the copy, each end talks to its own peer directly again.
        util::write_all(&x, b"direct".to_vec()).await;
        let (read, direct) = a.read_exact(vec![0u8; 6]).await;
        read.expect("a reads what x sent after the copy was dropped");
        assert_eq!(direct, b"direct");
        util::write_all(&*b, b"back".to_vec()).await;
        let (read, back) = y.read_exact(vec![0u8; 4]).await;
        read.expect("y reads what b sent after the copy was dropped");
        assert_eq!(back, b"back");
    }
}

on_both_drivers! {
    fn sixty_four_mib_cross_one_way_byte_exact_and_spliced_on_uring(kind: DriverKind) {
        util::run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let len = 64 << 20;
            let spliced = one_way_transfer(&rt, len).await;
            match kind {
                DriverKind::Uring => assert_eq!(spliced, len as u64, "uring splices every byte"),
                _ => assert_eq!(spliced, 0, "compat copies through a buffer"),
            }
        });
    }
}

on_both_drivers! {
    fn when_the_kernel_refuses_splice_the_buffered_copy_carries_the_bytes(kind: DriverKind) {
        let refusing = Runtime::builder().simulate(Simulate { no_splice: true, ..Default::default() });
        util::run_with_runtime(kind, refusing, |rt| async move {
            // The refusal arrives on the first splice, mid-copy...
            let first = one_way_transfer(&rt, 8 << 20).await;
            // ...and the next copy is buffered from the start.
            let second = one_way_transfer(&rt, 1 << 20).await;
            assert_eq!((first, second), (0, 0), "nothing spliced on a refusing kernel");
        });
    }
}

/// Bytes pushed through the proxy by the A/B measurement: 1 GiB.
#[cfg(target_os = "linux")]
const MEASURED_BYTES: u64 = 1 << 30;

/// CPU time (user + system) of this thread (`RUSAGE_THREAD`) or of the whole
/// process with every thread it ever had (`RUSAGE_SELF`), in microseconds.
#[cfg(target_os = "linux")]
fn cpu_micros(who: libc::c_int) -> u64 {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable rusage for the call to fill.
    let ret = unsafe { libc::getrusage(who, &mut usage) };
    assert_eq!(ret, 0, "getrusage: {}", io::Error::last_os_error());
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// One run of the A/B: a uring proxy on its own thread between a blocking
/// client (this thread) and a blocking sink thread, 1 GiB one way. Returns
/// (MB/s, proxy CPU µs including its io-wq workers, proxy loop thread CPU µs).
#[cfg(target_os = "linux")]
fn measure_proxy(splice: bool) -> (f64, u64, u64) {
    use std::io::{Read, Write};

    let sink = std::net::TcpListener::bind(any_local()).expect("bind sink");
    let sink_addr = sink.local_addr().expect("sink address");
    let sink = std::thread::spawn(move || {
        let (mut stream, _) = sink.accept().expect("sink accepts");
        let start = cpu_micros(libc::RUSAGE_THREAD);
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            match stream.read(&mut buf).expect("sink reads") {
                0 => break,
                n => total += n as u64,
            }
        }
        (total, cpu_micros(libc::RUSAGE_THREAD) - start)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let proxy = std::thread::spawn(move || {
        let builder = Runtime::builder().simulate(Simulate {
            no_splice: !splice,
            ..Default::default()
        });
        let rt = util::runtime_from(DriverKind::Uring, builder).expect("a uring runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind(any_local()).expect("bind proxy");
            tx.send(listener.local_addr().expect("proxy address"))
                .expect("the client waits for the address");
            let (client, _) = listener.accept().await.expect("proxy accepts");
            let upstream = TcpStream::connect(sink_addr).await.expect("connect sink");
            let start = cpu_micros(libc::RUSAGE_THREAD);
            let counts = copy_bidirectional(&client, &upstream).await.expect("copy");
            (counts, cpu_micros(libc::RUSAGE_THREAD) - start)
        })
    });
    let proxy_addr = rx.recv().expect("proxy starts");
    let process_start = cpu_micros(libc::RUSAGE_SELF);
    let client_start = cpu_micros(libc::RUSAGE_THREAD);
    let began = std::time::Instant::now();
    let mut client = std::net::TcpStream::connect(proxy_addr).expect("connect proxy");
    let chunk = pattern(1 << 20, 3);
    for _ in 0..MEASURED_BYTES >> 20 {
        client.write_all(&chunk).expect("client writes");
    }
    client
        .shutdown(std::net::Shutdown::Write)
        .expect("client half-closes");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).expect("client reads the end");
    let client_cpu = cpu_micros(libc::RUSAGE_THREAD) - client_start;
    let ((up, down), loop_cpu) = proxy.join().expect("proxy thread");
    let (sunk, sink_cpu) = sink.join().expect("sink thread");
    let elapsed = began.elapsed();
    let process_cpu = cpu_micros(libc::RUSAGE_SELF) - process_start;
    assert_eq!((up, down, sunk), (MEASURED_BYTES, 0, MEASURED_BYTES));
    let mb_per_s = MEASURED_BYTES as f64 / 1e6 / elapsed.as_secs_f64();
    let proxy_cpu = process_cpu.saturating_sub(client_cpu + sink_cpu);
    (mb_per_s, proxy_cpu, loop_cpu)
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "a measurement, not a check: run in release with --ignored --nocapture"]
fn splice_against_the_buffered_copy_on_uring() {
    println!("1 GiB through a uring proxy on loopback (proxy CPU includes its io-wq workers)");
    for round in 0..3 {
        for (label, splice) in [("splice", true), ("buffered", false)] {
            let (mb_per_s, proxy_cpu, loop_cpu) = measure_proxy(splice);
            println!(
                "round {round} {label:>8}: {mb_per_s:7.0} MB/s, proxy CPU {:6.0} ms \
                 ({:5.1} µs/MiB), loop thread {:6.0} ms",
                proxy_cpu as f64 / 1e3,
                proxy_cpu as f64 / 1024.0,
                loop_cpu as f64 / 1e3,
            );
        }
    }
}
