//! Cancellation safety on both drivers: a dropped in-flight op never lets the
//! kernel write freed memory, loses no data sent after its cancellation, leaks
//! no fd it would have returned, and a dropped runtime waits for (and frees)
//! everything in flight without hanging.
//!
//! Every test here holds [`SERIAL`] for its whole run, runtime included: the fd
//! leak check counts `/proc/self/fd`, which any test running beside it would skew.
//!
//! The fd counts and the pipe (a file read that waits) are Unix's: on Windows
//! the cancellations run without the fd checks.

use ringo_test_util as util;

use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ringo_reactor::buf::{IoBuf, IoBufMut};
use ringo_reactor::fs::File;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::DriverKind;
#[cfg(unix)]
use util::pipe;
use util::{any_local, pattern, within, KINDS};

/// Serialises this file's tests (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Like `both_drivers!`, but each case holds [`SERIAL`] from before its runtime
/// is built until after it is dropped.
macro_rules! serial_both_drivers {
    (async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                let _serial = super::serial();
                util::run_on(DriverKind::Uring, body);
            }

            #[test]
            fn compat() {
                let _serial = super::serial();
                util::run_on(DriverKind::Compat, body);
            }
        }
    };
}

/// The number of open fds of this process.
#[cfg(unix)]
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// What each open fd refers to, so a leak names what leaked.
#[cfg(unix)]
fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .collect()
}

/// What a [`Tracked`] buffer held when it was dropped, and how many were dropped.
#[derive(Default)]
struct DropLog {
    dropped: AtomicUsize,
    snapshots: Mutex<Vec<(usize, Vec<u8>)>>,
}

/// A read buffer whose memory outlives it (it is leaked on purpose), so a test
/// can check afterwards that nothing wrote it once the runtime dropped it.
struct Tracked {
    ptr: *mut u8,
    len: usize,
    init: usize,
    log: Arc<DropLog>,
}

impl Tracked {
    /// A zeroed buffer of `len` bytes and the address of its (leaked) memory.
    // Never inlined, so LeakSanitizer's suppression of these deliberate leaks
    // (ci/lsan.supp) finds this frame in their stacks.
    #[inline(never)]
    fn new(len: usize, log: &Arc<DropLog>) -> (Tracked, usize) {
        let memory = leaked_zeroed(len);
        let ptr = memory.as_mut_ptr();
        let tracked = Tracked {
            ptr,
            len,
            init: 0,
            log: log.clone(),
        };
        (tracked, ptr as usize)
    }
}

/// `len` zeroed bytes that are never freed. A frame of its own: the
/// sanitizer's frame-pointer unwinder drops the caller of the (frame-pointer
/// free) std allocation code from a stack, and that caller must be this
/// function, not [`Tracked::new`], which the suppression names.
#[inline(never)]
fn leaked_zeroed(len: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; len].into_boxed_slice())
}

/// The `len` bytes at `addr`, a leaked [`Tracked`] region.
fn region(addr: usize, len: usize) -> Vec<u8> {
    // SAFETY: `addr` is the start of a leaked, never-freed region of `len` bytes
    // (from `Tracked::new`); the buffer that wrote it is gone, and only a bug in
    // the runtime could still write it — which is what the caller checks.
    unsafe { std::slice::from_raw_parts(addr as *const u8, len) }.to_vec()
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let snapshot = region(self.ptr as usize, self.len);
        self.log
            .snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((self.ptr as usize, snapshot));
        self.log.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: the region is leaked heap memory, so it never moves or goes away;
// `ptr`/`len` never change; only this value hands out pointers to it.
unsafe impl IoBuf for Tracked {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }

    fn bytes_init(&self) -> usize {
        self.init
    }

    fn bytes_total(&self) -> usize {
        self.len
    }
}

// SAFETY: the region is writable for `len` bytes and reachable only through this
// value; `set_init` only raises `init`, and never past `len`.
unsafe impl IoBufMut for Tracked {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }

    unsafe fn set_init(&mut self, pos: usize) {
        self.init = self.init.max(pos.min(self.len));
    }
}

/// Asserts that no dropped [`Tracked`] buffer of `log` was written after its drop.
fn assert_untouched_since_drop(log: &DropLog, what: &str) {
    let snapshots = log.snapshots.lock().unwrap_or_else(|p| p.into_inner());
    for (addr, snapshot) in snapshots.iter() {
        assert!(
            region(*addr, snapshot.len()) == *snapshot,
            "{what}: a read buffer was written after the runtime dropped it"
        );
    }
}

/// A connected pair: a runtime stream and the blocking std socket of its peer.
fn std_peer_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind(any_local()).expect("bind");
    let peer = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (ours, _) = listener.accept().expect("accept");
    (TcpStream::from_std(ours).expect("from_std"), peer)
}

/// How the peer sends its data after the timed-out read was dropped.
#[derive(Debug, Clone, Copy)]
enum PeerWrite {
    /// After the runtime had turns to deliver the cancellation to the kernel.
    AfterCancelSettled,
    /// At once, as a runtime op queued behind the cancellation.
    AtOnceFromRuntime,
    /// At once, by a blocking write on the loop thread: before the runtime even
    /// submits the cancellation, while the dropped read is still armed.
    AtOnceBeforeCancelSubmitted,
}

/// Reads from `stream` until `len` bytes arrived or none came for a while.
async fn read_up_to(stream: &TcpStream, len: usize) -> Vec<u8> {
    let mut received = Vec::new();
    while received.len() < len {
        let read = timeout(
            Duration::from_millis(300),
            stream.read(vec![0u8; len - received.len()]),
        )
        .await;
        let Ok((n, buf)) = read else { break };
        match n.expect("new read") {
            0 => break,
            n => received.extend_from_slice(&buf[..n]),
        }
    }
    received
}

serial_both_drivers! {
    async fn a_timed_out_read_never_corrupts_the_stream_or_its_buffer() {
        let cases = [
            ("after the cancel settled", PeerWrite::AfterCancelSettled),
            ("at once from the runtime", PeerWrite::AtOnceFromRuntime),
            ("at once before the cancel is submitted", PeerWrite::AtOnceBeforeCancelSubmitted),
        ];
        for (name, how) in cases {
            let mut lost_rounds = 0;
            for round in 0..20u64 {
                let (server, peer) = std_peer_pair();
                let peer_async = TcpStream::from_std(peer.try_clone().expect("dup")).expect("from_std");
                let log = Arc::new(DropLog::default());
                let (buf, _) = Tracked::new(64, &log);
                let result = timeout(Duration::from_millis(5), server.read(buf)).await;
                assert!(result.is_err(), "{name}: idle read times out");

                let message = pattern(48, round);
                match how {
                    PeerWrite::AfterCancelSettled => {
                        sleep(Duration::from_millis(5)).await;
                        let (r, _) = peer_async.write_all(message.clone()).await;
                        r.expect("peer write");
                    }
                    PeerWrite::AtOnceFromRuntime => {
                        let (r, _) = peer_async.write_all(message.clone()).await;
                        r.expect("peer write");
                    }
                    PeerWrite::AtOnceBeforeCancelSubmitted => {
                        (&peer).write_all(&message).expect("peer write");
                    }
                }
                let received = read_up_to(&server, message.len()).await;
                sleep(Duration::from_millis(2)).await;
                assert_eq!(log.dropped.load(Ordering::SeqCst), 1, "{name} round {round}: the dropped read's buffer was freed");
                assert_untouched_since_drop(&log, name);

                // Whatever the new read misses, the dropped read took: the bytes
                // are a prefix of the message, in the dropped buffer, never garbage.
                let lost = message.len() - received.len();
                let snapshots = log.snapshots.lock().unwrap_or_else(|p| p.into_inner());
                let (_, dropped_buf) = snapshots.first().expect("one snapshot");
                assert!(
                    message.get(lost..) == Some(&received[..]) && dropped_buf.get(..lost) == message.get(..lost),
                    "{name} round {round}: new read got {} of {} bytes, not the rest of the message after what the dropped read took",
                    received.len(),
                    message.len()
                );
                assert!(
                    dropped_buf.get(lost..).is_some_and(|rest| rest.iter().all(|&b| b == 0)),
                    "{name} round {round}: the dropped buffer holds nothing but the taken prefix"
                );
                if lost > 0 {
                    lost_rounds += 1;
                }
            }
            match how {
                PeerWrite::AfterCancelSettled | PeerWrite::AtOnceFromRuntime => {
                    assert_eq!(lost_rounds, 0, "{name}: data sent after the cancel is never lost");
                }
                // The dropped read was still armed when the data came: whether the
                // kernel completes it or cancels it first is the kernel's race.
                PeerWrite::AtOnceBeforeCancelSubmitted => {
                    eprintln!("{name}: the dropped read took the data in {lost_rounds} of 20 rounds");
                }
            }
        }
    }
}

#[test]
fn dropping_a_runtime_with_a_hundred_reads_pending_frees_every_buffer() {
    let _serial = serial();
    for kind in KINDS {
        within(
            Duration::from_secs(30),
            "runtime drop with 100 pending reads",
            move || {
                let Some(rt) = util::runtime(kind) else {
                    return;
                };
                let log = Arc::new(DropLog::default());
                let mut peers = Vec::new();
                rt.block_on(async {
                    for _ in 0..100 {
                        let (server, peer) = std_peer_pair();
                        peers.push(peer);
                        let (buf, _) = Tracked::new(128, &log);
                        drop(ringo_reactor::spawn(
                            async move { server.read(buf).await.0 },
                        ));
                    }
                    // Let every read reach the kernel (or the poller).
                    sleep(Duration::from_millis(20)).await;
                });
                assert_eq!(
                    log.dropped.load(Ordering::SeqCst),
                    0,
                    "{kind}: reads still pending before the drop"
                );
                drop(rt);
                assert_eq!(
                    log.dropped.load(Ordering::SeqCst),
                    100,
                    "{kind}: the drop freed every buffer"
                );
                // Data arriving now has nowhere to go: the reads are gone.
                for peer in &peers {
                    let _ = (&*peer).write_all(b"late");
                }
                assert_untouched_since_drop(&log, kind.as_str());
            },
        );
    }
}

// A pipe and /dev/zero: Unix files (a read of an empty pipe on Windows's
// blocking pool would block its thread, not fail at once or wait in the kernel).
#[cfg(unix)]
#[test]
fn dropping_a_runtime_with_file_reads_in_flight_frees_their_buffers() {
    let _serial = serial();
    for kind in KINDS {
        within(
            Duration::from_secs(30),
            "runtime drop with file reads in flight",
            move || {
                let Some(rt) = util::runtime(kind) else {
                    return;
                };
                let log = Arc::new(DropLog::default());
                let (read_end, write_end) = pipe();
                rt.block_on(async {
                    // A pipe with no data: the read stays in flight (on compat, pread
                    // on a pipe fails at once with ESPIPE, which is fine too).
                    let pipe = File::from_std(std::fs::File::from(read_end));
                    let (buf, _) = Tracked::new(64, &log);
                    drop(ringo_reactor::spawn(
                        async move { pipe.read_at(buf, 0).await.0 },
                    ));
                    // A large read that takes a while to fill.
                    let zero = File::open("/dev/zero").await.expect("open /dev/zero");
                    let (buf, _) = Tracked::new(32 * 1024 * 1024, &log);
                    drop(ringo_reactor::spawn(
                        async move { zero.read_at(buf, 0).await.0 },
                    ));
                    ringo_reactor::task::yield_now().await;
                    ringo_reactor::task::yield_now().await;
                });
                drop(rt);
                assert_eq!(
                    log.dropped.load(Ordering::SeqCst),
                    2,
                    "{kind}: the drop freed both buffers"
                );
                // The read end closed with the runtime, so this may fail with EPIPE;
                // either way nothing may land in the dropped buffer.
                let _ = std::fs::File::from(write_end).write_all(b"late");
                assert_untouched_since_drop(&log, kind.as_str());
            },
        );
    }
}

/// How the connection arrives at a listener whose accept was aborted.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    /// After the abort, once the runtime had turns to deliver the cancellation.
    AfterCancelSettled,
    /// At once on the loop thread, while the dropped accept is still armed.
    BeforeCancelSubmitted,
}

#[test]
fn aborting_a_task_with_an_accept_in_flight_leaks_no_fd() {
    let _serial = serial();
    for kind in KINDS {
        let Some(rt) = util::runtime(kind) else {
            continue;
        };
        rt.block_on(async {
            let cases = [
                ("connect after the cancel settled", Arrival::AfterCancelSettled),
                ("connect before the cancel is submitted", Arrival::BeforeCancelSubmitted),
            ];
            for (name, arrival) in cases {
                let mut taken = 0;
                for round in 0..20 {
                    let listener = Rc::new(TcpListener::bind(any_local()).expect("bind"));
                    let addr = listener.local_addr().expect("addr");
                    #[cfg(unix)]
                    let before = open_fds();
                    let accepting = {
                        let listener = listener.clone();
                        ringo_reactor::spawn(async move { listener.accept().await.map(|_| ()) })
                    };
                    sleep(Duration::from_millis(3)).await;
                    accepting.abort();
                    let client = match arrival {
                        Arrival::AfterCancelSettled => {
                            let error = accepting.await.expect_err("aborted accept");
                            assert!(error.is_cancelled(), "{kind} {name} round {round}: cancelled");
                            sleep(Duration::from_millis(3)).await;
                            std::thread::spawn(move || std::net::TcpStream::connect(addr))
                                .join()
                                .expect("connect thread")
                        }
                        Arrival::BeforeCancelSubmitted => {
                            let client = std::net::TcpStream::connect(addr);
                            let error = accepting.await.expect_err("aborted accept");
                            assert!(error.is_cancelled(), "{kind} {name} round {round}: cancelled");
                            client
                        }
                    };
                    let client = client.expect("connect");
                    sleep(Duration::from_millis(3)).await;
                    // The connection is either still queued (a new accept gets it)
                    // or was taken by the dropped accept (whose fd must be closed).
                    let again = timeout(Duration::from_millis(50), listener.accept()).await;
                    match again {
                        Ok(accepted) => drop(accepted.expect("accept the queued connection")),
                        Err(_) => taken += 1,
                    }
                    drop(client);
                    sleep(Duration::from_millis(1)).await;
                    #[cfg(unix)]
                    assert_eq!(open_fds(), before, "{kind} {name} round {round}: fds before and after");
                    drop(listener);
                }
                match arrival {
                    Arrival::AfterCancelSettled => {
                        assert_eq!(taken, 0, "{kind} {name}: a cancelled accept takes no connection");
                    }
                    Arrival::BeforeCancelSubmitted => {
                        eprintln!("{kind} {name}: the dropped accept took the connection in {taken} of 20 rounds");
                    }
                }
            }
        });
    }
}

serial_both_drivers! {
    async fn a_file_read_dropped_in_flight_never_writes_its_freed_buffer() {
        const LEN: usize = 16 * 1024 * 1024;
        let log = Arc::new(DropLog::default());
        let dir = util::TempDir::new("cancel-file-read");
        // Non-zero bytes, so a late write into a zeroed, dropped buffer shows.
        std::fs::write(dir.join("f"), pattern(LEN, 7)).expect("seed");
        let file = Rc::new(File::open(dir.join("f")).await.expect("open"));
        for round in 0..20 {
            // A 16 MiB read takes long enough that the drop lands mid-flight.
            let (buf, _) = Tracked::new(LEN, &log);
            let reading = file.clone();
            let task = ringo_reactor::spawn(async move { reading.read_at(buf, 0).await.0 });
            for _ in 0..round % 3 {
                ringo_reactor::task::yield_now().await;
            }
            task.abort();
            let _ = task.await;
        }
        // Let every abandoned read complete into its slot before checking.
        sleep(Duration::from_millis(200)).await;
        assert_eq!(log.dropped.load(Ordering::SeqCst), 20, "every buffer was freed");
        assert_untouched_since_drop(&log, "dropped file reads");
    }
}

// Counts fds (see the module docs).
#[cfg(unix)]
serial_both_drivers! {
    async fn an_open_dropped_in_flight_leaks_no_fd() {
        let dir = util::TempDir::new("cancel-open");
        let path = dir.join("f");
        std::fs::write(&path, b"x").expect("seed");
        let before = open_fds();
        for round in 0..200 {
            let path = path.clone();
            let task = ringo_reactor::spawn(async move {
                ringo_reactor::fs::File::open(path).await.map(drop)
            });
            if round % 2 == 1 {
                ringo_reactor::task::yield_now().await;
            }
            task.abort();
            let _ = task.await;
        }
        // Opens that completed after their futures were dropped close their fd
        // in the slot; give the last ones time to come back. On compat they run
        // on pool threads, which a loaded machine (or AddressSanitizer) may
        // start late: the wait ends as soon as the count is back.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while open_fds() != before && std::time::Instant::now() < deadline {
            sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            open_fds(),
            before,
            "fds before and after 200 dropped opens; open now: {:?}",
            fd_targets()
        );
    }
}
