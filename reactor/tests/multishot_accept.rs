//! Listeners on both drivers: on io_uring one armed multishot accept serves
//! every `accept`, hands connections out in order with their peer addresses,
//! survives dropped and concurrent `accept` calls, and closes every connection
//! it accepted but never handed out when the listener is dropped; the
//! single-shot path (compat, old kernels, the test hook) behaves the same.
//!
//! Every test here holds [`SERIAL`] for its whole run, runtime included: the fd
//! leak check counts `/proc/self/fd`, which any test running beside it would
//! skew. Running out of fds (`EMFILE`, which ends the kernel's multishot) is
//! tested in a child process with a lowered `RLIMIT_NOFILE`, which would
//! disturb every other test of this process.
//!
//! Unix listeners, fd counts and fd limits are Unix's: on Windows the TCP
//! accept tests run without them.

use ringo_test_util as util;

use std::future::Future;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use ringo_reactor::net::{TcpListener, TcpStream};
#[cfg(unix)]
use ringo_reactor::net::{UnixListener, UnixStream};
use ringo_reactor::time::{sleep, timeout};
use ringo_reactor::{spawn, Builder, DriverKind, Runtime};
#[cfg(unix)]
use util::process::{self, cpu_time, leave_free_fds, open_fds};
#[cfg(unix)]
use util::TempDir;
use util::{any_local, block_on_limited, unless_no_uring};

/// Serialises this file's tests (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `body` on a runtime of `kind` built from `builder`, holding [`SERIAL`]
/// from before the runtime is built until after it is dropped.
fn run_serial<Fut: Future<Output = ()>>(
    kind: DriverKind,
    builder: Builder,
    body: impl FnOnce() -> Fut,
) {
    let _serial = serial();
    let Some(rt) = unless_no_uring(kind, "build a runtime", builder.driver(kind).build()) else {
        return;
    };
    block_on_limited(&rt, kind, body());
}

/// Defines `name::uring`, `name::uring_single_shot` (multishot accept denied
/// by the test hook, so the single-shot path stays tested) and `name::compat`,
/// running `async fn name()` under [`run_serial`].
macro_rules! serial_both_drivers {
    (async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body() $body

            #[cfg(target_os = "linux")]
            #[test]
            fn uring() {
                super::run_serial(DriverKind::Uring, Runtime::builder(), body);
            }

            #[cfg(target_os = "linux")]
            #[test]
            fn uring_single_shot() {
                super::run_serial(DriverKind::Uring, Runtime::builder().simulate(ringo_reactor::runtime::Simulate { no_multishot_accept: true, ..Default::default() }), body);
            }

            #[test]
            fn compat() {
                super::run_serial(DriverKind::Compat, Runtime::builder(), body);
            }
        }
    };
}

/// Whether `stream` is non-blocking and close-on-exec, as every accepted fd must be.
#[cfg(unix)]
fn set_up_as_accepted(stream: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let fd = stream.as_raw_fd();
    // SAFETY: F_GETFL / F_GETFD only read the flags of a live fd.
    let (status, descriptor) = unsafe {
        (
            libc::fcntl(fd, libc::F_GETFL),
            libc::fcntl(fd, libc::F_GETFD),
        )
    };
    status & libc::O_NONBLOCK != 0 && descriptor & libc::FD_CLOEXEC != 0
}

/// Whether `stream` is not inherited by child processes, as every accepted
/// socket must be (Windows has no call that reads a socket's non-blocking mode).
#[cfg(windows)]
fn set_up_as_accepted(stream: &TcpStream) -> bool {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Foundation::{GetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
    let mut flags = 0;
    // SAFETY: reads the flags of a live socket handle into a live local.
    let ok = unsafe { GetHandleInformation(stream.as_raw_socket() as HANDLE, &mut flags) };
    assert_ne!(
        ok,
        0,
        "GetHandleInformation: {}",
        std::io::Error::last_os_error()
    );
    flags & HANDLE_FLAG_INHERIT == 0
}

/// Connects `count` clients to `addr`, one after another, in a task.
fn connect_clients(
    addr: std::net::SocketAddr,
    count: usize,
) -> ringo_reactor::JoinHandle<Vec<TcpStream>> {
    spawn(async move {
        let mut clients = Vec::with_capacity(count);
        for _ in 0..count {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
        }
        clients
    })
}

/// Accepts `count` connections on `listener` and checks them against the
/// clients (connected in order): same peers, same order, proper fd flags.
async fn accept_in_order(listener: &TcpListener, count: usize) {
    let addr = listener.local_addr().expect("local addr");
    let clients = connect_clients(addr, count);
    let mut accepted = Vec::with_capacity(count);
    for n in 0..count {
        let (stream, peer) = listener.accept().await.expect("accept");
        assert!(
            set_up_as_accepted(&stream),
            "connection {n} is non-blocking and close-on-exec"
        );
        accepted.push((stream, peer));
    }
    let clients = clients.await.expect("clients task");
    for (n, (client, (stream, peer))) in clients.iter().zip(&accepted).enumerate() {
        let local = client.local_addr().expect("client addr");
        assert_eq!(*peer, local, "connection {n} comes with its peer, in order");
        assert_eq!(
            stream.peer_addr().expect("peer addr"),
            local,
            "connection {n}"
        );
    }
}

const CONNECTIONS: usize = 500;

serial_both_drivers! {
    async fn five_hundred_connections_are_accepted_in_order_with_their_peers() {
        let listener = TcpListener::bind(any_local()).expect("bind");
        accept_in_order(&listener, CONNECTIONS).await;
    }
}

#[cfg(unix)]
serial_both_drivers! {
    async fn unix_listeners_accept_every_connection() {
        let dir = TempDir::new("multishot-accept");
        let path = dir.join("sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let connect_path = path.clone();
        let clients = spawn(async move {
            let mut clients = Vec::new();
            for _ in 0..50 {
                clients.push(UnixStream::connect(&connect_path).await.expect("connect"));
            }
            clients
        });
        for n in 0..50 {
            let (_stream, peer) = listener.accept().await.expect("accept");
            assert_eq!(peer, None, "connection {n} comes from an unnamed socket");
        }
        assert_eq!(clients.await.expect("clients task").len(), 50);
    }
}

serial_both_drivers! {
    async fn a_dropped_accept_loses_no_connection() {
        let listener = TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let gave_up = timeout(Duration::from_millis(20), listener.accept()).await;
        assert!(gave_up.is_err(), "no connection yet");
        let client = TcpStream::connect(addr).await.expect("connect");
        sleep(Duration::from_millis(20)).await;
        let (_stream, peer) = listener.accept().await.expect("accept");
        assert_eq!(peer, client.local_addr().expect("client addr"));
    }
}

serial_both_drivers! {
    async fn concurrent_accepts_on_one_listener_all_finish() {
        let listener = Rc::new(TcpListener::bind(any_local()).expect("bind"));
        let addr = listener.local_addr().expect("local addr");
        let acceptors: Vec<_> = (0..4)
            .map(|_| {
                let listener = listener.clone();
                spawn(async move {
                    let mut peers = Vec::new();
                    for _ in 0..10 {
                        peers.push(listener.accept().await.expect("accept").1);
                    }
                    peers
                })
            })
            .collect();
        let clients = connect_clients(addr, 40).await.expect("clients task");
        let mut peers = Vec::new();
        for acceptor in acceptors {
            peers.extend(acceptor.await.expect("acceptor task"));
        }
        let mut locals: Vec<_> = clients
            .iter()
            .map(|c| c.local_addr().expect("client addr"))
            .collect();
        peers.sort();
        locals.sort();
        assert_eq!(peers, locals, "every connection accepted once");
    }
}

/// Waits until the process has `expected` fds open, or fails after a second.
#[cfg(unix)]
async fn fds_return_to(expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while open_fds() != expected && Instant::now() < deadline {
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(open_fds(), expected, "every fd is closed again");
}

#[cfg(unix)]
serial_both_drivers! {
    async fn dropping_the_listener_closes_connections_never_handed_out() {
        let baseline = open_fds();
        let listener = TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let first = std::net::TcpStream::connect(addr).expect("connect");
        let (stream, _) = listener.accept().await.expect("accept");
        drop(stream);
        let mut clients = vec![first];
        for _ in 0..20 {
            clients.push(std::net::TcpStream::connect(addr).expect("connect"));
        }
        // On io_uring these 20 are accepted by the armed op and reaped into
        // its queue during the sleep; the next 20 are still in the kernel's
        // queues (backlog or unreaped completions) when the listener goes.
        sleep(Duration::from_millis(50)).await;
        for _ in 0..20 {
            clients.push(std::net::TcpStream::connect(addr).expect("connect"));
        }
        drop(listener);
        drop(clients);
        fds_return_to(baseline).await;
    }
}

#[cfg(unix)]
serial_both_drivers! {
    async fn dropping_an_idle_armed_listener_leaks_nothing() {
        let baseline = open_fds();
        let listener = TcpListener::bind(any_local()).expect("bind");
        let gave_up = timeout(Duration::from_millis(10), listener.accept()).await;
        assert!(gave_up.is_err(), "no connection yet");
        drop(listener);
        fds_return_to(baseline).await;
    }
}

serial_both_drivers! {
    async fn a_dropped_armed_listener_frees_its_port_by_the_next_loop_turn() {
        let listener = TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let gave_up = timeout(Duration::from_millis(10), listener.accept()).await;
        assert!(gave_up.is_err(), "no connection yet");
        drop(listener);
        // The kernel lets go of the socket when it completes the cancel.
        sleep(Duration::from_millis(1)).await;
        let again = TcpListener::bind(addr).expect("rebind the port just freed");
        assert_eq!(again.local_addr().expect("local addr"), addr);
    }
}

/// Connections queued before the fd limit is lowered in the `EMFILE` test.
#[cfg(unix)]
const QUEUED: usize = 48;

/// Fds the `EMFILE` test leaves free under its lowered limit.
#[cfg(unix)]
const FREE_FDS: usize = 4;

/// How long an `accept` at the fd limit may take to fail.
#[cfg(unix)]
const FAIL_LIMIT: Duration = Duration::from_secs(5);

/// The next accept, which must fail at once with `EMFILE`.
#[cfg(unix)]
async fn accept_fails_with_emfile(listener: &TcpListener, what: &str) {
    let accepted = timeout(FAIL_LIMIT, listener.accept())
        .await
        .unwrap_or_else(|_| panic!("{what}: accept at the fd limit hangs"));
    let err = accepted
        .err()
        .unwrap_or_else(|| panic!("{what}: accepted at the fd limit"));
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{what}: {err}");
}

/// The `EMFILE` case's body: `QUEUED` connections wait in the backlog, the
/// fd limit leaves room for a few; accepting takes what fits, then fails with
/// `EMFILE` — promptly, on every call, without burning CPU meanwhile. Once fds
/// are freed, every queued connection is accepted exactly once, and (where the
/// listener has a multishot) the multishot is armed again: the kernel accepts
/// a new connection before any `accept` call asks for it.
#[cfg(unix)]
async fn accept_at_the_fd_limit(multishot: bool) {
    let listener = TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let clients: Vec<_> = (0..QUEUED)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    let mut waiting: Vec<_> = clients
        .iter()
        .map(|c| c.local_addr().expect("client addr"))
        .collect();
    let room = leave_free_fds(FREE_FDS);
    let mut accepted = Vec::new();
    let first_failure = loop {
        let next = timeout(FAIL_LIMIT, listener.accept())
            .await
            .expect("accept at the fd limit returns");
        match next {
            Ok(connection) => accepted.push(connection),
            Err(e) => break e,
        }
        assert!(
            accepted.len() < QUEUED,
            "accepted every queued connection under the limit"
        );
    };
    assert_eq!(
        first_failure.raw_os_error(),
        Some(libc::EMFILE),
        "{first_failure}"
    );
    assert_eq!(accepted.len(), room, "accepted as many as fds were free");
    let cpu_before = cpu_time();
    for round in 0..20 {
        accept_fails_with_emfile(&listener, &format!("call {round} at the limit")).await;
        sleep(Duration::from_millis(10)).await;
    }
    let spent = cpu_time() - cpu_before;
    assert!(
        spent < Duration::from_millis(100),
        "{spent:?} of CPU in 20 failing accepts over 200 ms"
    );
    for (stream, peer) in accepted.drain(..) {
        assert_eq!(stream.peer_addr().expect("peer addr"), peer);
        waiting.retain(|&client| client != peer);
    }
    while !waiting.is_empty() {
        let (stream, peer) = timeout(FAIL_LIMIT, listener.accept())
            .await
            .expect("accept after fds were freed")
            .expect("accept once fds are free");
        let before = waiting.len();
        waiting.retain(|&client| client != peer);
        assert_eq!(
            waiting.len(),
            before - 1,
            "{peer} is a queued client, accepted once"
        );
        drop(stream);
    }
    let before = open_fds();
    let fresh = std::net::TcpStream::connect(addr).expect("connect once fds are free");
    // An armed multishot accepts as the connection arrives (during this wait).
    sleep(Duration::from_millis(50)).await;
    let opened = open_fds() - before;
    assert_eq!(
        opened,
        if multishot { 2 } else { 1 },
        "fds opened by a new connection before accept"
    );
    let (_stream, peer) = listener.accept().await.expect("accept a new connection");
    assert_eq!(peer, fresh.local_addr().expect("client addr"));
    drop(clients);
}

/// Runs [`accept_at_the_fd_limit`] in a child process (see [`process`]) on a
/// runtime of `kind` from `builder`. The parent holds [`SERIAL`] meanwhile:
/// starting a child opens fds that this file's fd counts would see.
#[cfg(unix)]
fn accept_at_the_fd_limit_in_child(
    name: &str,
    kind: DriverKind,
    builder: Builder,
    multishot: bool,
) {
    if process::in_child() {
        run_serial(kind, builder, || accept_at_the_fd_limit(multishot));
        return;
    }
    let _serial = serial();
    if util::runtime(kind).is_none() {
        return;
    }
    process::run_in_child(name);
}

// Fd limits are Unix's.
#[cfg(unix)]
mod accept_at_the_fd_limit {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn uring() {
        accept_at_the_fd_limit_in_child(
            "accept_at_the_fd_limit::uring",
            DriverKind::Uring,
            Runtime::builder(),
            true,
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn uring_single_shot() {
        let builder = Runtime::builder().simulate(ringo_reactor::runtime::Simulate {
            no_multishot_accept: true,
            ..Default::default()
        });
        accept_at_the_fd_limit_in_child(
            "accept_at_the_fd_limit::uring_single_shot",
            DriverKind::Uring,
            builder,
            false,
        );
    }

    #[test]
    fn compat() {
        accept_at_the_fd_limit_in_child(
            "accept_at_the_fd_limit::compat",
            DriverKind::Compat,
            Runtime::builder(),
            false,
        );
    }
}
