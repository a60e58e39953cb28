//! Registered file descriptors (`Builder::registered_fds`) on both drivers:
//! echo over many TCP connections, Unix streams and UDP with the table on; a
//! full table (sockets past it use plain fds, and take a slot once one is
//! free); the fallback when the kernel refuses the table (test hook); slots
//! reused across connections opened and closed one after another; streams
//! dropped with their ops in flight or still queued; `into_raw_fd`; ops really
//! naming the slot (not the fd number); and a stream used on a second runtime
//! and dropped outside both.
//!
//! The compat driver accepts the option and ignores it: the same bodies run
//! there and expect no slot in use. On io_uring the expected counts are capped
//! by the table size the kernel granted, which must be the size asked for on
//! Linux 5.19 or later. Where a test checks that a connection really closed,
//! the peer is a blocking std server on its own threads, which reports each
//! connection's end of stream: a slot left holding the socket would keep the
//! connection open, and that report would never come.

// Registered fds are io_uring's, and these tests check them through Unix fds
// (`dup2`, raw fd hand-over) and Unix streams.
#![cfg(unix)]

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::future::{poll_fn, Future};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::{spawn, DriverKind, Runtime};
use util::{any_local, echo, pattern, run_with_runtime, unless_no_uring, TempDir, TEST_LIMIT};

/// How long a count or a close may take to show after the step causing it.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Whether the running kernel registers sparse file tables (Linux 5.19).
fn kernel_has_sparse_tables() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (5, 19)
}

/// Like [`run_with`], with a table of `slots` asked for; on io_uring the
/// kernel must grant it where it can.
fn run_with_table<Fut: Future<Output = ()>>(
    kind: DriverKind,
    slots: u32,
    body: impl FnOnce(Rc<Runtime>) -> Fut,
) {
    run_with_runtime(kind, Runtime::builder().registered_fds(slots), |rt| {
        match rt.uring_features() {
            None => assert_eq!(kind, DriverKind::Compat, "only compat has no ring"),
            Some(f) if kernel_has_sparse_tables() => {
                assert_eq!(f.registered_fds, slots, "the kernel grants the table")
            }
            Some(f) => println!("old kernel: table of {} slots", f.registered_fds),
        }
        body(rt)
    });
}

/// Slots the runtime's table has: 0 on compat or with the table off.
fn table(rt: &Runtime) -> u32 {
    rt.uring_features().map_or(0, |f| f.registered_fds)
}

/// Slots expected in use with `live` sockets that want one.
fn expected(rt: &Runtime, live: u32) -> u32 {
    live.min(table(rt))
}

/// Waits until `live` sockets hold slots (capped by the table), failing
/// after [`SETTLE_LIMIT`].
async fn settle(rt: &Runtime, live: u32, what: &str) {
    let want = expected(rt, live);
    let end = Instant::now() + SETTLE_LIMIT;
    while rt.stats().registered_fds_in_use != want {
        assert!(
            Instant::now() < end,
            "{what}: {} slots in use, expected {want}",
            rt.stats().registered_fds_in_use
        );
        sleep(Duration::from_millis(1)).await;
    }
}

/// A blocking std echo server on a free loopback port, one thread per
/// connection; each connection's thread sends the bytes it echoed once it
/// reads end of stream (or an error, or 20 s of silence: `None`).
fn std_echo_server() -> (SocketAddr, mpsc::Receiver<Option<usize>>) {
    let listener = std::net::TcpListener::bind(any_local()).expect("bind the std server");
    let addr = listener.local_addr().expect("std server address");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                let mut buf = [0u8; 4096];
                let mut total = 0;
                let outcome = loop {
                    match stream.read(&mut buf) {
                        Ok(0) => break Some(total),
                        Ok(n) if stream.write_all(&buf[..n]).is_ok() => total += n,
                        _ => break None,
                    }
                };
                let _ = tx.send(outcome);
            });
        }
    });
    (addr, rx)
}

/// Waits for the std server to report a connection closed by this side,
/// having echoed `bytes`.
async fn closed(ends: &mpsc::Receiver<Option<usize>>, bytes: usize, what: &str) {
    let end = Instant::now() + SETTLE_LIMIT;
    loop {
        match ends.try_recv() {
            Ok(echoed) => {
                assert_eq!(echoed, Some(bytes), "{what}: the server saw a clean close");
                return;
            }
            Err(mpsc::TryRecvError::Empty) if Instant::now() < end => {
                sleep(Duration::from_millis(1)).await;
            }
            Err(e) => panic!("{what}: the connection did not close: {e}"),
        }
    }
}

/// Writes `message` to `stream` and reads the same number of bytes back.
async fn round_trip<S: AsyncRead + AsyncWrite>(stream: &S, message: Vec<u8>) {
    let (written, message) = stream.write_all(message).await;
    written.expect("write");
    let (read, echoed) = stream.read_exact(vec![0u8; message.len()]).await;
    read.expect("read the echo");
    assert!(echoed == message, "echo of {} bytes differs", message.len());
}

on_both_drivers! {
    fn echo_over_many_connections(kind: DriverKind) {
        const CONNECTIONS: u32 = 64;
        run_with_table(kind, 4096, |rt| async move {
            let listener = TcpListener::bind(any_local()).expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let server = spawn(async move {
                for _ in 0..CONNECTIONS {
                    let (stream, _) = listener.accept().await.expect("accept");
                    drop(spawn(echo(stream)));
                }
            });
            let clients: Vec<_> = (0..CONNECTIONS)
                .map(|i| {
                    spawn(async move {
                        let stream = TcpStream::connect(addr).await.expect("connect");
                        for round in 0..4 {
                            let len = 1 + (i as usize * 977 + round * 4093) % 40_000;
                            round_trip(&stream, pattern(len, u64::from(i) << 8 | round as u64))
                                .await;
                        }
                        stream
                    })
                })
                .collect();
            let mut streams = Vec::new();
            for client in clients {
                streams.push(client.await.expect("client task"));
            }
            server.await.expect("server task");
            // Every client and every server side holds a slot; the listener
            // has gone with the server task.
            settle(&rt, 2 * CONNECTIONS, "all connections open").await;
            drop(streams);
            settle(&rt, 0, "all connections closed").await;
        });
    }
}

on_both_drivers! {
    fn unix_streams_and_udp_take_slots(kind: DriverKind) {
        run_with_table(kind, 16, |rt| async move {
            let dir = TempDir::new("registered-fds");
            let path = dir.join("echo.sock");
            let listener = UnixListener::bind(&path).expect("bind unix");
            let server = spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept unix");
                echo(stream).await;
            });
            let client = UnixStream::connect(&path).await.expect("connect unix");
            round_trip(&client, pattern(10_000, 1)).await;
            let (a, b) = UnixStream::pair().expect("unix pair");
            round_trip_pair(&a, &b).await;
            // Listener, its accepted stream, the client, and the pair.
            settle(&rt, 5, "unix sockets open").await;
            drop((client, a, b));
            server.await.expect("unix server task");
            settle(&rt, 0, "unix sockets closed").await;

            let first = UdpSocket::bind(any_local()).expect("bind udp");
            let second = UdpSocket::bind(any_local()).expect("bind udp");
            let to = second.local_addr().expect("udp address");
            let (sent, _) = first.send_to(b"datagram".to_vec(), to).await;
            assert_eq!(sent.expect("send_to"), 8);
            let (got, buf) = second.recv_from(vec![0u8; 64]).await;
            let (n, from) = got.expect("recv_from");
            assert_eq!((&buf[..n], from), (&b"datagram"[..], first.local_addr().unwrap()));
            settle(&rt, 2, "udp sockets open").await;
        });
    }
}

/// One byte each way between the two ends of a pair.
async fn round_trip_pair(a: &UnixStream, b: &UnixStream) {
    let (written, _) = a.write_all(vec![7u8]).await;
    written.expect("write on the pair");
    let (read, got) = b.read_exact(vec![0u8; 1]).await;
    read.expect("read on the pair");
    assert_eq!(got, [7]);
}

on_both_drivers! {
    fn a_full_table_falls_back_to_plain_fds(kind: DriverKind) {
        let (addr, ends) = std_echo_server();
        run_with_table(kind, 2, |rt| async move {
            let mut streams = Vec::new();
            for i in 0..5u64 {
                let stream = TcpStream::connect(addr).await.expect("connect");
                round_trip(&stream, pattern(3000, i)).await;
                streams.push(stream);
            }
            settle(&rt, 2, "five connections, two slots").await;
            for (i, stream) in streams.iter().enumerate() {
                round_trip(stream, pattern(5000, 100 + i as u64)).await;
            }
            // The first connection took a slot: closing it frees one, and the
            // next op on a connection without a slot takes it.
            drop(streams.remove(0));
            closed(&ends, 8000, "first connection").await;
            settle(&rt, 1, "one slot freed").await;
            round_trip(&streams[3], pattern(100, 7)).await;
            settle(&rt, 2, "a plain connection took the free slot").await;
            for (i, stream) in streams.drain(..).enumerate() {
                drop(stream);
                let bytes = if i == 3 { 8100 } else { 8000 };
                closed(&ends, bytes, "a connection past the full table").await;
            }
            settle(&rt, 0, "all closed").await;
        });
    }
}

on_both_drivers! {
    fn a_refused_table_leaves_plain_fds(kind: DriverKind) {
        let builder = Runtime::builder()
            .registered_fds(64)
            .simulate(ringo_reactor::runtime::Simulate { no_registered_fds: true, ..Default::default() });
        run_with_runtime(kind, builder, |rt| async move {
            if let Some(f) = rt.uring_features() {
                assert_eq!(f.registered_fds, 0, "the hook refuses the table");
            }
            let listener = TcpListener::bind(any_local()).expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let server = spawn(async move {
                let (stream, _) = listener.accept().await.expect("accept");
                echo(stream).await;
            });
            let client = TcpStream::connect(addr).await.expect("connect");
            round_trip(&client, pattern(50_000, 3)).await;
            assert_eq!(rt.stats().registered_fds_in_use, 0, "no slot without a table");
            drop(client);
            server.await.expect("server task");
        });
    }
}

on_both_drivers! {
    fn slots_are_reused_across_sequential_connections(kind: DriverKind) {
        const SLOTS: u32 = 4;
        let (addr, ends) = std_echo_server();
        run_with_table(kind, SLOTS, |rt| async move {
            for i in 0..3 * SLOTS {
                let stream = TcpStream::connect(addr).await.expect("connect");
                round_trip(&stream, pattern(2000, u64::from(i))).await;
                // Without reuse, the fifth connection would find the table
                // full and hold no slot.
                assert_eq!(rt.stats().registered_fds_in_use, expected(&rt, 1), "connection {i}");
                drop(stream);
                assert_eq!(rt.stats().registered_fds_in_use, 0, "connection {i} gave its slot back");
                closed(&ends, 2000, "a sequential connection").await;
            }
        });
    }
}

on_both_drivers! {
    fn dropping_streams_with_ops_in_flight_frees_their_slots(kind: DriverKind) {
        let (addr, ends) = std_echo_server();
        run_with_table(kind, 8, |rt| async move {
            // In flight: the read is submitted and waiting when it is dropped.
            let stream = TcpStream::connect(addr).await.expect("connect");
            round_trip(&stream, pattern(1000, 1)).await;
            let waited = timeout(Duration::from_millis(20), stream.read(vec![0u8; 64])).await;
            assert!(waited.is_err(), "nothing to read: the read is still in flight");
            drop(stream);
            closed(&ends, 1000, "stream dropped with a read in flight").await;
            settle(&rt, 0, "the cancelled read let go of the slot").await;

            // Queued: the read's SQE is still in the SQ (not yet submitted)
            // when the read and the stream are dropped; the slot stays taken
            // until the cancelled read completes, so a new connection made
            // meanwhile takes another one.
            let stream = TcpStream::connect(addr).await.expect("connect");
            round_trip(&stream, pattern(1000, 2)).await;
            let mut read = Box::pin(stream.read(vec![0u8; 64]));
            poll_fn(|cx| {
                assert!(read.as_mut().poll(cx).is_pending(), "nothing to read yet");
                Poll::Ready(())
            })
            .await;
            drop(read);
            drop(stream);
            let next = TcpStream::connect(addr).await.expect("connect after the drop");
            round_trip(&next, pattern(4000, 3)).await;
            closed(&ends, 1000, "stream dropped with a read queued").await;
            settle(&rt, 1, "only the new connection holds a slot").await;
            drop(next);
            closed(&ends, 4000, "the new connection").await;
            settle(&rt, 0, "all closed").await;
        });
    }
}

on_both_drivers! {
    fn into_raw_fd_gives_a_working_plain_fd(kind: DriverKind) {
        let (addr, ends) = std_echo_server();
        run_with_table(kind, 8, |rt| async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            round_trip(&stream, pattern(700, 1)).await;
            settle(&rt, 1, "the stream holds a slot").await;
            let fd = stream.into_raw_fd();
            assert_eq!(rt.stats().registered_fds_in_use, 0, "into_raw_fd gives the slot back");
            // SAFETY: `fd` was just handed over by into_raw_fd; nothing else owns it.
            let mut plain = unsafe { std::net::TcpStream::from_raw_fd(fd) };
            plain.set_nonblocking(false).expect("blocking mode");
            plain
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("read timeout");
            plain.write_all(b"plain").expect("write on the plain fd");
            let mut back = [0u8; 5];
            plain.read_exact(&mut back).expect("read on the plain fd");
            assert_eq!(&back, b"plain");
            drop(plain);
            closed(&ends, 705, "the plain fd, closed").await;
        });
    }
}

on_both_drivers! {
    fn ops_name_the_slot_not_the_fd_number(kind: DriverKind) {
        let (addr, ends) = std_echo_server();
        run_with_table(kind, 8, |rt| async move {
            let stream = TcpStream::connect(addr).await.expect("connect");
            round_trip(&stream, pattern(300, 1)).await;
            let null = std::fs::File::open("/dev/null").expect("open /dev/null");
            // SAFETY: dup2 onto the stream's own fd number; the stream keeps
            // owning that number (now /dev/null) and closes it when dropped.
            let duped = unsafe { libc::dup2(null.as_raw_fd(), stream.as_raw_fd()) };
            assert_eq!(duped, stream.as_raw_fd(), "dup2");
            let (written, _) = stream.write_all(b"still here".to_vec()).await;
            if table(&rt) > 0 {
                // The fd number no longer names the socket; the slot does.
                written.expect("write through the slot");
                let (read, got) = stream.read_exact(vec![0u8; 10]).await;
                read.expect("read through the slot");
                assert_eq!(got, b"still here");
                drop(stream);
                closed(&ends, 310, "the slot was the socket's last reference").await;
            } else {
                let e = written.expect_err("a plain fd now names /dev/null");
                assert_eq!(e.raw_os_error(), Some(libc::ENOTSOCK), "{e}");
                drop(stream);
                closed(&ends, 300, "dup2 closed the socket").await;
            }
        });
    }
}

on_both_drivers! {
    fn a_stream_outlives_its_runtime_use(kind: DriverKind) {
        let (addr, ends) = std_echo_server();
        let build = || unless_no_uring(
            kind,
            "build a runtime",
            Runtime::builder().driver(kind).registered_fds(8).build(),
        );
        let (Some(first), Some(second)) = (build(), build()) else { return };
        let stream = first.block_on(async {
            let stream = TcpStream::connect(addr).await.expect("connect");
            round_trip(&stream, pattern(100, 1)).await;
            stream
        });
        assert_eq!(first.stats().registered_fds_in_use, expected(&first, 1));
        // On the second ring the slot of the first means nothing: the stream
        // names its plain fd there and takes no slot.
        second.block_on(async {
            timeout(TEST_LIMIT, round_trip(&stream, pattern(200, 2)))
                .await
                .expect("round trip on the second runtime");
        });
        assert_eq!(second.stats().registered_fds_in_use, 0);
        // Dropped outside any runtime, it still gives its slot back.
        drop(stream);
        assert_eq!(first.stats().registered_fds_in_use, 0);
        first.block_on(async {
            timeout(TEST_LIMIT, closed(&ends, 300, "dropped outside the runtime"))
                .await
                .expect("close seen in time");
        });
    }
}
