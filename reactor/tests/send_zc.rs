//! Zero-copy send on both drivers: large transfers stay byte-exact whether
//! writes go zero-copy (io_uring with `IORING_OP_SEND_ZC`) or plain (compat,
//! below the threshold, or with the feature probed absent); a dropped zero-copy
//! send keeps its buffer until the kernel's notification and leaks no slot;
//! a send to a reset peer is an error that hands the buffer back.
//!
//! Which path a send took is read from the runtime's hidden zero-copy
//! counters: on io_uring with `SEND_ZC` every zero-copy send must also have
//! seen its notification by the end of a test.
//!
//! The `#[ignore]`d test at the end is the A/B measurement of plain against
//! zero-copy sends by size (run it in release with `--ignored --nocapture`;
//! `RINGO_ZC_BYTES` and `RINGO_ZC_ROUNDS` shorten it).

// Zero-copy send is io_uring's, and these tests read its internals through
// Unix fds (`/proc/self/fd`, `fstat`, Unix streams).
#![cfg(unix)]

use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpStream, UnixStream};
use ringo_reactor::runtime::ZeroCopyStats;
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::{spawn, DriverKind, JoinHandle, Runtime};
use util::{any_local, median, pattern, read_to_end, run_with_runtime, tcp_pair, thread_cpu_ns};

const MIB: usize = 1024 * 1024;

/// How long a dropped send may take to release its buffer.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// Whether sends on `rt` can go zero-copy: io_uring with `SEND_ZC` probed.
fn zero_copy_available(rt: &Runtime) -> bool {
    rt.uring_features().is_some_and(|f| f.send_zc)
}

/// Sends `data` with `send` in `chunk`-byte calls (each looped until
/// written), while a task reads the other end to EOF; returns what it read.
async fn transfer<F, Fut>(data: Vec<u8>, chunk: usize, send: F) -> Vec<u8>
where
    F: Fn(Rc<TcpStream>, Vec<u8>) -> Fut,
    Fut: Future<Output = (std::io::Result<usize>, Vec<u8>)>,
{
    let (client, server) = tcp_pair().await;
    let reader = spawn(async move { read_to_end(&server).await });
    let client = Rc::new(client);
    for piece in data.chunks(chunk) {
        let mut rest = piece.to_vec();
        while !rest.is_empty() {
            let (n, back) = send(client.clone(), rest).await;
            let n = n.expect("send");
            assert!(n > 0, "a send to a reading peer makes progress");
            rest = back.get(n..).expect("sent within the buffer").to_vec();
        }
    }
    client.shutdown().await.expect("shutdown");
    reader.await.expect("reader task").expect("read to end")
}

/// Asserts that `stats` shows zero-copy sends when `zero_copy`, none
/// otherwise, and a notification for each.
fn assert_zero_copy(stats: ZeroCopyStats, zero_copy: bool, what: &str) {
    if zero_copy {
        assert!(
            stats.sends > 0,
            "{what}: expected zero-copy sends: {stats:?}"
        );
    } else {
        assert_eq!(stats.sends, 0, "{what}: expected plain sends only");
    }
    assert_eq!(
        stats.notifications, stats.sends,
        "{what}: every zero-copy send is notified"
    );
}

on_both_drivers! {
    fn explicit_zero_copy_sends_are_byte_exact(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let data = pattern(16 * MIB, 1);
            let got = transfer(data.clone(), MIB, |s, b| async move { s.send_zc(b).await }).await;
            assert!(got == data, "16 MiB in 1 MiB zero-copy sends arrive byte-exact");
            assert_zero_copy(rt.stats().zero_copy, zero_copy_available(&rt), "send_zc");
            assert_eq!(rt.stats().op_slots, 0, "no slot left behind");
        });
    }
}

on_both_drivers! {
    fn writes_at_the_threshold_go_zero_copy_and_below_it_plain(kind: DriverKind) {
        let builder = Runtime::builder().zero_copy_send_threshold(Some(256 * 1024));
        run_with_runtime(kind, builder, |rt| async move {
            let data = pattern(4 * MIB, 2);
            let small = |s: Rc<TcpStream>, b: Vec<u8>| async move { s.write(b).await };
            let got = transfer(data.clone(), 64 * 1024, small).await;
            assert!(got == data, "64 KiB writes arrive byte-exact");
            assert_zero_copy(rt.stats().zero_copy, false, "writes below the threshold");

            let (client, server) = tcp_pair().await;
            let reader = spawn(async move { read_to_end(&server).await });
            let (written, _) = client.write_all(data.clone()).await;
            written.expect("write_all of 4 MiB");
            client.shutdown().await.expect("shutdown");
            let got = reader.await.expect("reader task").expect("read to end");
            assert!(got == data, "a 4 MiB write_all arrives byte-exact");
            assert_zero_copy(rt.stats().zero_copy, zero_copy_available(&rt), "4 MiB write_all");
            assert_eq!(rt.stats().op_slots, 0, "no slot left behind");
        });
    }
}

on_both_drivers! {
    fn the_default_and_unix_streams_never_go_zero_copy(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder().zero_copy_send_threshold(Some(1)), |rt| async move {
            let (a, b) = UnixStream::pair().expect("unix pair");
            let data = pattern(MIB, 3);
            let reader = spawn(async move { read_to_end(&b).await });
            let (written, _) = a.write_all(data.clone()).await;
            written.expect("unix write_all");
            a.shutdown().await.expect("shutdown");
            assert!(reader.await.expect("reader").expect("read") == data);
            assert_zero_copy(rt.stats().zero_copy, false, "unix stream writes");
        });
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let data = pattern(4 * MIB, 4);
            let got = transfer(data.clone(), MIB, |s, b| async move { s.write(b).await }).await;
            assert!(got == data);
            assert_zero_copy(rt.stats().zero_copy, false, "writes with the default threshold");
        });
    }
}

on_both_drivers! {
    fn send_zc_falls_back_to_plain_sends_when_probed_absent(kind: DriverKind) {
        let builder = Runtime::builder()
            .simulate(ringo_reactor::runtime::Simulate { no_send_zc: true, ..Default::default() })
            .zero_copy_send_threshold(Some(1));
        run_with_runtime(kind, builder, |rt| async move {
            if kind == DriverKind::Uring {
                let features = rt.uring_features().expect("uring features");
                assert!(!features.send_zc, "the hook hides SEND_ZC");
            }
            let data = pattern(8 * MIB, 5);
            let got = transfer(data.clone(), MIB, |s, b| async move { s.send_zc(b).await }).await;
            assert!(got == data, "plain sends in place of zero-copy arrive byte-exact");
            let got = transfer(data.clone(), MIB, |s, b| async move { s.write(b).await }).await;
            assert!(got == data);
            assert_zero_copy(rt.stats().zero_copy, false, "SEND_ZC probed absent");
        });
    }
}

/// A send buffer that records, when dropped, the runtime's zero-copy counters
/// at that moment: a buffer released before its notification would show
/// fewer notifications than sends.
struct Watched {
    bytes: Vec<u8>,
    rt: Rc<Runtime>,
    dropped: Rc<Cell<Option<ZeroCopyStats>>>,
}

impl Watched {
    fn new(len: usize, rt: &Rc<Runtime>) -> (Watched, Rc<Cell<Option<ZeroCopyStats>>>) {
        let dropped = Rc::new(Cell::new(None));
        let buf = Watched {
            bytes: pattern(len, 6),
            rt: rt.clone(),
            dropped: dropped.clone(),
        };
        (buf, dropped)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.dropped.set(Some(self.rt.stats().zero_copy));
    }
}

// SAFETY: the bytes live in the Vec's heap allocation, which never moves or
// changes while the value lives (nothing mutates `bytes` after `new`).
unsafe impl IoBuf for Watched {
    fn stable_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }

    fn bytes_init(&self) -> usize {
        self.bytes.len()
    }

    fn bytes_total(&self) -> usize {
        self.bytes.len()
    }
}

/// After a zero-copy send of `dropped`'s buffer was dropped unfinished on
/// `client`, whose peer `server` has not read: checks that the buffer stays
/// held while the kernel still needs it, and is released once the peer
/// reads, only after the send's notification; then that the stream still
/// carries bytes and no slot is left. On compat (and without `SEND_ZC`) the
/// dropped send must hold nothing.
async fn check_release(
    rt: &Runtime,
    client: &TcpStream,
    server: TcpStream,
    dropped: &Cell<Option<ZeroCopyStats>>,
    what: &str,
) {
    if !zero_copy_available(rt) {
        assert!(
            dropped.get().is_some(),
            "{what}: a plain send holds nothing once dropped"
        );
        assert_eq!(rt.stats().op_slots, 0);
        probe(client, drain_until_probe(server)).await;
        return;
    }
    assert!(dropped.get().is_none(), "{what}: the slot keeps the buffer");
    assert_eq!(rt.stats().op_slots, 1, "{what}: the send's slot");
    // The peer does not read, so bytes beyond its small window stay unsent:
    // the kernel still needs the pages, and no notification can come.
    sleep(Duration::from_millis(50)).await;
    assert!(
        dropped.get().is_none(),
        "{what}: held while the kernel needs it"
    );
    assert_eq!(
        rt.stats().zero_copy.notifications,
        0,
        "{what}: not notified yet"
    );
    let reader = drain_until_probe(server);
    let released = timeout(SETTLE_LIMIT, async {
        while dropped.get().is_none() {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(
        released.is_ok(),
        "{what}: buffer not released within {SETTLE_LIMIT:?}"
    );
    let at_drop = dropped.get().expect("released");
    assert_eq!(at_drop.sends, 1, "{what}: one zero-copy send");
    assert_eq!(
        at_drop.notifications, 1,
        "{what}: released only after its notification"
    );
    probe(client, reader).await;
    assert_eq!(rt.stats().op_slots, 0, "{what}: no slot left behind");
}

/// Reads `server` until [`PROBE`] arrives, in a task; with [`probe`], shows
/// that the stream still carries bytes after a dropped send.
fn drain_until_probe(server: TcpStream) -> JoinHandle<()> {
    spawn(async move {
        let mut tail = Vec::new();
        loop {
            let (n, buf) = server.read(vec![0u8; 256 * 1024]).await;
            let n = n.expect("read after the dropped send");
            assert!(n > 0, "stream ended before the probe arrived");
            tail.extend_from_slice(&buf[..n]);
            if tail.ends_with(PROBE) {
                return;
            }
            tail.drain(..tail.len().saturating_sub(PROBE.len()));
        }
    })
}

/// Writes [`PROBE`] on `client` and waits for `reader` (from
/// [`drain_until_probe`]) to see it behind everything sent before.
async fn probe(client: &TcpStream, reader: JoinHandle<()>) {
    let (written, _) = client.write_all(PROBE.to_vec()).await;
    written.expect("write after the dropped send");
    reader.await.expect("reader task");
}

const PROBE: &[u8] = b"still works";

/// Shrinks `stream`'s receive buffer, so a peer that does not read holds up
/// a sender after a predictable, small amount: well under 1 MiB.
fn small_receive_buffer(stream: &TcpStream) {
    let size: libc::c_int = 64 * 1024;
    // SAFETY: setsockopt reads one c_int from a live local; the fd is open.
    let ret = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(ret, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
}

on_both_drivers! {
    fn a_send_dropped_after_its_first_poll_keeps_its_buffer_until_notified(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let (client, server) = tcp_pair().await;
            small_receive_buffer(&server);
            let (buf, dropped) = Watched::new(MIB, &rt);
            let mut send = client.send_zc(buf);
            // On io_uring the first poll queues the SQE for the next loop
            // turn; on compat it may already have sent some bytes.
            poll_fn(|cx| {
                let _ = Pin::new(&mut send).poll(cx);
                Poll::Ready(())
            })
            .await;
            drop(send);
            check_release(&rt, &client, server, &dropped, "dropped after its first poll").await;
        });
    }
}

on_both_drivers! {
    fn a_send_dropped_while_awaiting_its_notification_keeps_its_buffer(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let (client, server) = tcp_pair().await;
            let dropped = drop_unsent_zero_copy_send(&rt, &client, &server).await;
            check_release(&rt, &client, server, &dropped, "dropped awaiting notification").await;
        });
    }
}

/// Fills `client`'s path to `server` (which does not read) with plain
/// writes until one waits, then drops a zero-copy send of a [`Watched`]
/// buffer that is still unsent; returns its drop record.
async fn drop_unsent_zero_copy_send(
    rt: &Rc<Runtime>,
    client: &TcpStream,
    server: &TcpStream,
) -> Rc<Cell<Option<ZeroCopyStats>>> {
    small_receive_buffer(server);
    loop {
        let write = timeout(
            Duration::from_millis(100),
            client.write(vec![7u8; 256 * 1024]),
        );
        let Ok((n, _)) = write.await else { break };
        n.expect("write while filling");
    }
    let (buf, dropped) = Watched::new(MIB, rt);
    let send = timeout(Duration::from_millis(100), client.send_zc(buf)).await;
    assert!(
        send.is_err(),
        "a zero-copy send to a full peer does not resolve"
    );
    dropped
}

/// The inode of the socket behind `fd`.
fn socket_inode(fd: RawFd) -> u64 {
    // SAFETY: all-zero is a valid `stat`; fstat fills it for an open fd.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `stat` is a live local of the right type.
    assert_eq!(unsafe { libc::fstat(fd, &mut stat) }, 0, "fstat");
    stat.st_ino
}

/// Whether any fd of this process is the socket with inode `inode`.
fn socket_open(inode: u64) -> bool {
    let name = format!("socket:[{inode}]");
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .any(|target| target.as_os_str() == name.as_str())
}

on_both_drivers! {
    fn a_dropped_zero_copy_send_does_not_keep_its_socket_open(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let (client, server) = tcp_pair().await;
            let dropped = drop_unsent_zero_copy_send(&rt, &client, &server).await;
            let inode = socket_inode(client.as_raw_fd());
            drop(client);
            assert!(!socket_open(inode), "the socket closes with its stream");
            if zero_copy_available(&rt) {
                assert!(dropped.get().is_none(), "the buffer stays until the notification");
            }
            // The peer reads everything, then the FIN that follows it.
            read_to_end(&server).await.expect("read to end");
            let released = timeout(SETTLE_LIMIT, async {
                while dropped.get().is_none() || rt.stats().op_slots > 0 {
                    sleep(Duration::from_millis(1)).await;
                }
            })
            .await;
            assert!(released.is_ok(), "buffer and slot released once the peer read");
            let stats = rt.stats().zero_copy;
            assert_eq!(stats.notifications, stats.sends);
        });
    }
}

on_both_drivers! {
    fn send_zc_to_a_reset_peer_is_an_error_and_returns_the_buffer(kind: DriverKind) {
        run_with_runtime(kind, Runtime::builder(), |rt| async move {
            let listener = std::net::TcpListener::bind(any_local()).expect("bind");
            let addr = listener.local_addr().expect("addr");
            let client = TcpStream::connect(addr).await.expect("connect");
            let (peer, _) = listener.accept().expect("accept");
            let peer = TcpStream::from_std(peer).expect("adopt the peer");
            peer.set_linger_zero().expect("linger zero");
            drop(peer);
            let mut error = None;
            for _ in 0..100 {
                let buf = pattern(MIB, 7);
                let (result, back) = client.send_zc(buf).await;
                assert!(back == pattern(MIB, 7), "the buffer comes back intact");
                if let Err(e) = result {
                    error = Some(e);
                    break;
                }
                sleep(Duration::from_millis(5)).await;
            }
            let error = error.expect("sends to a reset peer fail");
            assert!(
                matches!(
                    error.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "unexpected error {error:?}"
            );
            assert_eq!(rt.stats().op_slots, 0, "no slot left behind");
            let stats = rt.stats().zero_copy;
            assert_eq!(stats.notifications, stats.sends);
            // The runtime goes on: a fresh connection still works.
            let (a, b) = tcp_pair().await;
            probe(&a, drain_until_probe(b)).await;
        });
    }
}

/// One run of the A/B: `total` bytes over loopback TCP in sends of `size`
/// bytes (each looped until written), zero-copy or plain, from a uring
/// runtime on this thread to a blocking reader thread. Returns (MB/s, sender
/// thread CPU µs per MiB, reader thread CPU µs per MiB).
fn measure_sends(size: usize, zero_copy: bool, total: usize) -> (f64, f64, f64) {
    use std::io::Read;

    let listener = std::net::TcpListener::bind(any_local()).expect("bind reader");
    let addr = listener.local_addr().expect("reader address");
    let reader = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("reader accepts");
        let start = thread_cpu_ns();
        let mut buf = vec![0u8; MIB];
        let mut got = 0;
        loop {
            match stream.read(&mut buf).expect("reader reads") {
                0 => break,
                n => got += n,
            }
        }
        (got, thread_cpu_ns() - start)
    });
    let rt = util::runtime(DriverKind::Uring).expect("a uring runtime");
    assert!(zero_copy_available(&rt), "the measurement needs SEND_ZC");
    let (elapsed, sender_ns) = rt.block_on(async move {
        let stream = TcpStream::connect(addr).await.expect("connect reader");
        let mut buf = pattern(size, 8);
        let start = (std::time::Instant::now(), thread_cpu_ns());
        for _ in 0..total / size {
            let mut sent = 0;
            while sent < size {
                let piece = buf.slice(sent..);
                let (n, back) = if zero_copy {
                    stream.send_zc(piece).await
                } else {
                    stream.write(piece).await
                };
                buf = back.into_inner();
                sent += n.expect("send");
            }
        }
        stream.shutdown().await.expect("shutdown");
        (start.0.elapsed(), thread_cpu_ns() - start.1)
    });
    let expected_zero_copy = if zero_copy { (total / size) as u64 } else { 0 };
    assert!(rt.stats().zero_copy.sends >= expected_zero_copy);
    let (got, reader_ns) = reader.join().expect("reader thread");
    assert_eq!(got, total / size * size, "every byte arrived");
    let mib = (got / MIB) as f64;
    let mb_per_s = got as f64 / 1e6 / elapsed.as_secs_f64();
    (
        mb_per_s,
        sender_ns as f64 / 1e3 / mib,
        reader_ns as f64 / 1e3 / mib,
    )
}

#[test]
#[ignore = "a measurement: cargo test --release -p ringo-reactor --test send_zc measure -- --ignored --nocapture"]
fn measure_plain_against_zero_copy_sends() {
    let total = std::env::var("RINGO_ZC_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let rounds = std::env::var("RINGO_ZC_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!(
        "{} MiB over loopback TCP per run, {rounds} alternating rounds, medians",
        total / MIB
    );
    println!(
        "{:>8} {:>6} {:>9} {:>15} {:>15}",
        "size", "mode", "MB/s", "sender µs/MiB", "reader µs/MiB"
    );
    for size in [4 << 10, 16 << 10, 64 << 10, 256 << 10, MIB] {
        let mut runs: [Vec<(f64, f64, f64)>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            // Alternate which mode goes first, so drift hits both alike.
            for step in 0..2 {
                let zero_copy = (round + step) % 2 == 1;
                runs[usize::from(zero_copy)].push(measure_sends(size, zero_copy, total));
            }
        }
        for (mode, runs) in ["send", "zc"].iter().zip(runs) {
            let column = |f: fn(&(f64, f64, f64)) -> f64| {
                median(&mut runs.iter().map(f).collect::<Vec<_>>())
            };
            let (rate, sender, reader) = (column(|r| r.0), column(|r| r.1), column(|r| r.2));
            println!(
                "{:>7}K {mode:>6} {rate:>9.0} {sender:>15.0} {reader:>15.0}",
                size >> 10
            );
        }
    }
}
