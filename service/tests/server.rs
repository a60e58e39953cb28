//! The multi-core `Server` on both drivers, driven by std-thread clients:
//! spreading connections over workers (with `SO_REUSEPORT` and with the single
//! acceptor), the connection limit at N and N+1, graceful shutdown with
//! requests in flight, the shutdown deadline, and accept back-off when the
//! process runs out of fds (in a child process with a lowered `RLIMIT_NOFILE`).

// The shared test helpers (ringo-test-util): on_both_drivers!, driver availability and `within`.
use ringo_test_util as util;
use ringo_test_util::on_both_drivers;

use std::future::Future;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream as RingoStream;
use ringo_service::server::{Running, Server, Shutdown};
#[cfg(unix)]
use util::process::{self, cpu_time, highest_fd, set_fd_limit};

/// How long a client waits for any one reply before the test fails.
const REPLY_LIMIT: Duration = Duration::from_secs(10);

fn local() -> SocketAddr {
    util::any_local()
}

/// Reads one line from `stream`, then sleeps `pause`, replies `done <line>`
/// and closes. Counts the requests it has read in `started`.
async fn slow_reply(stream: RingoStream, pause: Duration, started: Arc<AtomicUsize>) {
    let mut line = Vec::new();
    let mut buf = vec![0u8; 256];
    while !line.ends_with(b"\n") {
        let (n, b) = stream.read(buf).await;
        match n {
            Ok(0) | Err(_) => return,
            Ok(n) => line.extend_from_slice(&b[..n]),
        }
        buf = b;
    }
    started.fetch_add(1, Ordering::SeqCst);
    ringo_reactor::time::sleep(pause).await;
    let mut reply = b"done ".to_vec();
    reply.extend_from_slice(&line);
    let _ = stream.write_all(reply).await;
}

/// A connected client with a read timeout.
fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(REPLY_LIMIT))
        .expect("set read timeout");
    stream
}

/// Sends `line` (with its newline) and reads the echoed line back.
fn round_trip(stream: &mut TcpStream, line: &str) -> io::Result<String> {
    stream.write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    Ok(reply.trim_end().to_owned())
}

/// Whether the server closed `stream` (EOF or reset) within [`REPLY_LIMIT`].
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
        ),
    }
}

/// Starts an echo server whose workers count the connections each accepted.
fn counting_echo(server: Server, workers: usize) -> (Running, Arc<Vec<AtomicUsize>>) {
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..workers).map(|_| AtomicUsize::new(0)).collect());
    let next_worker = Arc::new(AtomicUsize::new(0));
    let per_worker = counts.clone();
    let running = server
        .workers(workers)
        .serve(move || {
            let me = next_worker.fetch_add(1, Ordering::SeqCst);
            let counts = per_worker.clone();
            move |stream: RingoStream, _: Shutdown| {
                if let Some(count) = counts.get(me) {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                util::echo(stream)
            }
        })
        .expect("serve");
    (running, counts)
}

/// Opens 200 connections from 8 threads, one echoed line each; checks every
/// one was served and every worker accepted some.
fn spread_over_workers(server: Server) {
    let (running, counts) = counting_echo(server, 2);
    let addr = running.local_addr();
    let clients: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                (0..25)
                    .filter(|i| {
                        let line = format!("client {t}-{i}");
                        round_trip(&mut connect(addr), &line).ok() == Some(line)
                    })
                    .count()
            })
        })
        .collect();
    let served: usize = clients.into_iter().map(|c| c.join().expect("client")).sum();
    assert_eq!(served, 200, "every connection got its echo");
    let counts: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(counts.iter().sum::<usize>(), 200, "counts {counts:?}");
    assert!(
        counts.iter().all(|&c| c > 0),
        "both workers accepted some: {counts:?}"
    );
    util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}

on_both_drivers! {
    fn two_reuse_port_workers_serve_200_connections_and_both_accept_some(kind: DriverKind) {
        spread_over_workers(Server::bind(local()).driver(kind));
    }
}

on_both_drivers! {
    fn one_acceptor_hands_200_connections_to_both_workers(kind: DriverKind) {
        spread_over_workers(Server::bind(local()).driver(kind).reuse_port(false));
    }
}

on_both_drivers! {
    fn the_server_reports_its_driver_and_resolved_port(kind: DriverKind) {
        let running = Server::bind(local())
            .driver(kind)
            .workers(1)
            .serve(|| echo_handler)
            .expect("serve");
        assert_eq!(running.driver(), kind);
        assert_eq!(running.workers(), 1);
        assert_ne!(running.local_addr().port(), 0);
        running.shutdown().expect("shutdown");
    }
}

fn echo_handler(stream: RingoStream, _: Shutdown) -> impl Future<Output = ()> {
    util::echo(stream)
}

#[test]
fn a_port_in_use_is_an_error_from_serve() {
    let taken = std::net::TcpListener::bind(local()).expect("bind");
    let addr = taken.local_addr().expect("local addr");
    let error = Server::bind(addr).workers(2).serve(|| echo_handler).err();
    assert_eq!(error.map(|e| e.kind()), Some(io::ErrorKind::AddrInUse));
}

on_both_drivers! {
    fn the_connection_over_max_connections_is_closed_while_the_others_are_served(kind: DriverKind) {
        let running = Server::bind(local())
            .driver(kind)
            .workers(2)
            .max_connections(5)
            .serve(|| echo_handler)
            .expect("serve");
        let addr = running.local_addr();
        let mut held: Vec<TcpStream> = (0..5).map(|_| connect(addr)).collect();
        for (i, stream) in held.iter_mut().enumerate() {
            let line = format!("held {i}");
            assert_eq!(round_trip(stream, &line).ok(), Some(line), "connection {i} of 5 is served");
        }
        let mut sixth = connect(addr);
        let started = Instant::now();
        assert!(closed_by_server(&mut sixth), "the 6th connection is closed");
        assert!(started.elapsed() < REPLY_LIMIT, "closed promptly, not by the read timeout");
        for (i, stream) in held.iter_mut().enumerate() {
            let line = format!("still {i}");
            assert_eq!(round_trip(stream, &line).ok(), Some(line), "held connection {i} unaffected");
        }
        drop(held.pop());
        // The server notices the close asynchronously; retry until admitted.
        let deadline = Instant::now() + REPLY_LIMIT;
        loop {
            let mut again = connect(addr);
            if round_trip(&mut again, "again").ok().as_deref() == Some("again") {
                break;
            }
            assert!(Instant::now() < deadline, "a slot freed by a close is reused");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The echo handler ignores `Shutdown`: close the clients so the drain
        // ends at once instead of at the shutdown timeout.
        drop(held);
        util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
    }
}

on_both_drivers! {
    fn graceful_shutdown_answers_every_request_in_flight_and_refuses_new_connections(kind: DriverKind) {
        let started = Arc::new(AtomicUsize::new(0));
        let count = started.clone();
        let running = Server::bind(local())
            .driver(kind)
            .workers(2)
            .serve(move || {
                let count = count.clone();
                move |stream: RingoStream, _: Shutdown| {
                    slow_reply(stream, Duration::from_millis(300), count.clone())
                }
            })
            .expect("serve");
        let addr = running.local_addr();
        let clients: Vec<_> = (0..20)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut stream = connect(addr);
                    stream.write_all(format!("req {i}\n").as_bytes())?;
                    let mut reply = String::new();
                    stream.read_to_string(&mut reply)?;
                    Ok::<_, io::Error>(reply)
                })
            })
            .collect();
        let deadline = Instant::now() + REPLY_LIMIT;
        while started.load(Ordering::SeqCst) < 20 {
            assert!(Instant::now() < deadline, "20 requests reach the handler");
            std::thread::sleep(Duration::from_millis(5));
        }
        let handle = running.handle();
        handle.shutdown();
        let refused = loop {
            match TcpStream::connect(addr) {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break true,
                _ if Instant::now() > deadline => break false,
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        assert!(refused, "new connections are refused once shutdown began");
        for (i, client) in clients.into_iter().enumerate() {
            let reply = client.join().expect("client thread");
            assert_eq!(reply.ok(), Some(format!("done req {i}\n")), "request {i} answered in full");
        }
        util::within(REPLY_LIMIT, "wait", move || running.wait()).expect("workers exit");
    }
}

/// Sets its flag when dropped: shows a connection task was force-closed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

on_both_drivers! {
    fn a_connection_that_never_finishes_is_closed_at_the_shutdown_timeout(kind: DriverKind) {
        let dropped = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (dropped.clone(), started.clone());
        let running = Server::bind(local())
            .driver(kind)
            .workers(1)
            .shutdown_timeout(Duration::from_millis(200))
            .serve(move || {
                let (flag, count) = (flag.clone(), count.clone());
                move |stream: RingoStream, _: Shutdown| {
                    let guard = DropFlag(flag.clone());
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        let _guard = guard;
                        let _stream = stream;
                        std::future::pending::<()>().await;
                    }
                }
            })
            .expect("serve");
        let mut client = connect(running.local_addr());
        let deadline = Instant::now() + REPLY_LIMIT;
        while started.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the connection reaches the handler");
            std::thread::sleep(Duration::from_millis(5));
        }
        let begun = Instant::now();
        util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
        assert!(begun.elapsed() >= Duration::from_millis(200), "the drain waited for the deadline");
        assert!(dropped.load(Ordering::SeqCst), "the stuck connection task was dropped");
        assert!(closed_by_server(&mut client), "the client sees its connection closed");
    }
}

// An fd limit (RLIMIT_NOFILE, EMFILE) is Unix's; Windows has no such limit.
#[cfg(unix)]
on_both_drivers! {
    fn accept_backs_off_under_emfile_and_serves_again_when_fds_free_up(kind: DriverKind) {
        if process::in_child() {
            emfile_child(kind);
        } else {
            process::run_in_child(&format!(
                "accept_backs_off_under_emfile_and_serves_again_when_fds_free_up::{}",
                kind.as_str()
            ));
        }
    }
}

// SIGTERM is Unix's; Windows' Ctrl-C handler has its own unit test
// (service/src/server/drain/ctrl_c_windows.rs).
#[cfg(unix)]
on_both_drivers! {
    fn sigterm_starts_a_graceful_shutdown_after_shutdown_on_ctrl_c(kind: DriverKind) {
        if !process::in_child() {
            process::run_in_child(&format!(
                "sigterm_starts_a_graceful_shutdown_after_shutdown_on_ctrl_c::{}",
                kind.as_str()
            ));
            return;
        }
        let running = Server::bind(local())
            .driver(kind)
            .workers(2)
            .serve(|| echo_handler)
            .expect("serve");
        let addr = running.local_addr();
        ringo_service::server::shutdown_on_ctrl_c(running.handle());
        // SAFETY: kill(2) with our own pid and a signal number; no memory involved.
        let sent = unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "kill");
        util::within(REPLY_LIMIT, "wait", move || running.wait()).expect("workers exit");
        let refused = TcpStream::connect(addr).map_err(|e| e.kind()).err();
        assert_eq!(refused, Some(io::ErrorKind::ConnectionRefused));
    }
}

/// The child's body: exhaust fds with clients, check the stuck server does not
/// spin, free fds, check every queued client is served and the server still
/// takes new ones.
#[cfg(unix)]
fn emfile_child(kind: ringo_reactor::DriverKind) {
    let running = Server::bind(local())
        .driver(kind)
        .workers(1)
        .serve(|| echo_handler)
        .expect("serve");
    let addr = running.local_addr();
    set_fd_limit(highest_fd() + 1 + 40);
    let mut clients = Vec::new();
    let exhausted = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => clients.push(stream),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break true,
            Err(e) => panic!("connect failed with something other than EMFILE: {e}"),
        }
        if clients.len() > 1000 {
            break false;
        }
    };
    assert!(exhausted, "the fd limit was reached");
    // Out of fds, with connections queued: the accept loop must back off.
    let cpu_before = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_time() - cpu_before;
    assert!(
        spent < Duration::from_millis(300),
        "the stuck server spun: {spent:?} of CPU in 1 s"
    );
    // Free half of the fds; every remaining client (some still queued in the
    // backlog) must then be accepted and served.
    let keep = clients.split_off(clients.len() / 2);
    drop(clients);
    for (i, mut stream) in keep.into_iter().enumerate() {
        stream
            .set_read_timeout(Some(REPLY_LIMIT))
            .expect("set read timeout");
        let line = format!("queued {i}");
        assert_eq!(
            round_trip(&mut stream, &line).ok(),
            Some(line),
            "queued client {i} served"
        );
    }
    let mut fresh = connect(addr);
    assert_eq!(
        round_trip(&mut fresh, "fresh").ok().as_deref(),
        Some("fresh")
    );
    drop(fresh);
    util::within(REPLY_LIMIT, "shutdown", move || running.shutdown()).expect("shutdown");
}
