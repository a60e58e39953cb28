//! TCP faults and socket options on both drivers: peer reset, half-close, writes
//! to a closed peer (without SIGPIPE), refused connects, dropping a stream with a
//! read in flight, plus nodelay, addresses, `SO_REUSEPORT` and fd hand-over.

use ringo_test_util as util;
use ringo_test_util::both_drivers;

use std::cell::Cell;
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{ListenOptions, TcpListener, TcpStream};
use ringo_reactor::time::timeout;
use util::{any_local, read_to_end, tcp_pair};

/// How long a peer may take to notice a close or reset before the test fails.
const NOTICE_LIMIT: Duration = Duration::from_secs(10);

/// Writes 64 KiB chunks (through `write`, or `writev` when `vectored`) until a
/// write fails; returns that error. Fails the test if 1,000 chunks all succeed.
async fn write_until_error(stream: &TcpStream, vectored: bool) -> std::io::Error {
    for _ in 0..1_000 {
        let result = if vectored {
            stream
                .writev(vec![vec![1u8; 32 * 1024], vec![2u8; 32 * 1024]])
                .await
                .0
        } else {
            stream.write(vec![0u8; 64 * 1024]).await.0
        };
        if let Err(e) = result {
            return e;
        }
    }
    panic!("64 MiB written to a closed peer without an error");
}

fn is_reset_or_broken_pipe(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
}

both_drivers! {
    async fn peer_reset_fails_the_pending_read_with_connection_reset() {
        let (client, server) = tcp_pair().await;
        let client = Rc::new(client);
        let reader = {
            let client = client.clone();
            ringo_reactor::spawn(async move { client.read(vec![0u8; 64]).await.0 })
        };
        ringo_reactor::task::yield_now().await;
        server.set_linger_zero().expect("linger zero");
        drop(server);
        let read = timeout(NOTICE_LIMIT, reader).await.expect("the read ends").expect("reader");
        // Observed: the read in flight fails with ECONNRESET (never a clean EOF;
        // Wine reads the reset as one, see `util::wine`).
        assert!(util::wine::is_reset(&read), "a reset is not a clean EOF: {read:?}");
        // Observed: after the reset was reported, writes fail with EPIPE.
        let (written, _) = client.write(b"after reset".to_vec()).await;
        let err = written.expect_err("write after reset");
        assert!(is_reset_or_broken_pipe(&err), "{err}");
    }
}

both_drivers! {
    async fn peer_reset_before_the_read_fails_it_too() {
        let (client, server) = tcp_pair().await;
        server.set_linger_zero().expect("linger zero");
        drop(server);
        // The RST may still be on its way when the read starts; either way the
        // read must end in an error rather than hang or report EOF.
        let (read, _) = timeout(NOTICE_LIMIT, client.read(vec![0u8; 64]))
            .await
            .expect("the read ends");
        // Wine reads the reset as the end of stream (see `util::wine`).
        assert!(util::wine::is_reset(&read), "a reset is not a clean EOF: {read:?}");
    }
}

both_drivers! {
    async fn half_close_lets_the_server_reply_after_eof() {
        let (client, server) = tcp_pair().await;
        let server_task = ringo_reactor::spawn(async move {
            let request = read_to_end(&server).await.expect("server reads to EOF");
            let (r, _) = server.write_all(b"reply to ".to_vec()).await;
            r.expect("server writes after the client's FIN");
            let (r, _) = server.write_all(request).await;
            r.expect("server writes the echo");
        });
        let (r, _) = client.write_all(b"request".to_vec()).await;
        r.expect("client writes");
        client.shutdown().await.expect("client shuts down its write half");
        let reply = read_to_end(&client).await.expect("client reads the reply");
        assert_eq!(reply, b"reply to request");
        server_task.await.expect("server task");
        let (written, _) = client.write(b"late".to_vec()).await;
        let err = written.expect_err("writing after shutdown");
        #[cfg(unix)]
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        // WSAESHUTDOWN: Winsock's own code for a send after shutdown.
        #[cfg(windows)]
        assert_eq!(err.raw_os_error(), Some(10058), "{err}");
    }
}

both_drivers! {
    async fn write_to_a_closed_peer_is_epipe_without_sigpipe() {
        // Restore the default SIGPIPE action (the Rust runtime ignores it), so a
        // write without MSG_NOSIGNAL (Linux, the BSDs) or SO_NOSIGPIPE (Apple,
        // the BSDs) would kill this test binary. Windows has no SIGPIPE.
        #[cfg(unix)]
        {
            // SAFETY: setting a signal's disposition to SIG_DFL installs no handler
            // code; it races with nothing that relies on SIGPIPE being ignored, since
            // every socket write in this binary is expected not to raise it.
            let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            assert_ne!(previous, libc::SIG_ERR, "set SIGPIPE to its default");
        }
        for vectored in [false, true] {
            // Both the socket ringo created (connect) and the one it accepted.
            for accepted in [false, true] {
                let (client, server) = tcp_pair().await;
                let (writer, peer) = if accepted { (server, client) } else { (client, server) };
                drop(peer);
                let case = format!("vectored {vectored}, accepted {accepted}");
                // The first failure may report the peer's reset instead.
                let err = timeout(NOTICE_LIMIT, write_until_error(&writer, vectored))
                    .await
                    .expect("a write fails");
                assert!(is_reset_or_broken_pipe(&err), "{case}: {err}");
                let err = timeout(NOTICE_LIMIT, write_until_error(&writer, vectored))
                    .await
                    .expect("the next write fails at once");
                #[cfg(unix)]
                assert_eq!(err.raw_os_error(), Some(libc::EPIPE), "{case}: {err}");
                #[cfg(windows)]
                assert!(is_reset_or_broken_pipe(&err), "{case}: {err}");
            }
        }
    }
}

both_drivers! {
    async fn connect_with_no_listener_is_refused() {
        let (_held, addr) = util::refused_addr();
        let err = TcpStream::connect(addr).await.expect_err("nobody listens");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    }
}

both_drivers! {
    async fn nodelay_round_trips() {
        let (client, server) = tcp_pair().await;
        for stream in [&client, &server] {
            for on in [true, false, true] {
                stream.set_nodelay(on).expect("set_nodelay");
                assert_eq!(stream.nodelay().expect("nodelay"), on);
            }
        }
    }
}

both_drivers! {
    async fn addresses_agree_on_both_ends() {
        let listener = TcpListener::bind(any_local()).expect("bind");
        let listen_addr = listener.local_addr().expect("listener addr");
        assert_ne!(listen_addr.port(), 0, "port 0 was replaced by a real port");
        let client = ringo_reactor::spawn(async move { TcpStream::connect(listen_addr).await });
        let (server, accepted_from) = listener.accept().await.expect("accept");
        let client = client.await.expect("client task").expect("connect");
        assert_eq!(client.peer_addr().expect("client peer"), listen_addr);
        assert_eq!(server.local_addr().expect("server local"), listen_addr);
        assert_eq!(client.local_addr().expect("client local"), accepted_from);
        assert_eq!(server.peer_addr().expect("server peer"), accepted_from);
    }
}

// `SO_REUSEPORT` is Unix's (see the next test for Windows).
#[cfg(unix)]
both_drivers! {
    async fn reuse_port_lets_two_listeners_share_a_port() {
        const CLIENTS: usize = 20;
        let options = ListenOptions { reuse_port: true, ..ListenOptions::default() };
        let first = TcpListener::bind_with(any_local(), &options).expect("first bind");
        let addr = first.local_addr().expect("addr");
        let err = TcpListener::bind(addr).expect_err("without reuse_port the port is taken");
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        let second = TcpListener::bind_with(addr, &options).expect("second bind with reuse_port");
        assert_eq!(second.local_addr().expect("second addr"), addr);

        // Each listener answers its connections with a byte; every client must
        // get one, whichever listener the kernel picked for it.
        let served = Rc::new(Cell::new(0usize));
        for listener in [first, second] {
            let served = served.clone();
            ringo_reactor::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    served.set(served.get() + 1);
                    ringo_reactor::spawn(async move {
                        let _ = stream.write_all(b"!".to_vec()).await;
                    });
                }
            });
        }
        for i in 0..CLIENTS {
            let client = TcpStream::connect(addr).await.expect("connect");
            let (r, buf) = client.read_exact(vec![0u8; 1]).await;
            r.unwrap_or_else(|e| panic!("client {i}: {e}"));
            assert_eq!(&buf, b"!", "client {i}");
        }
        assert_eq!(served.get(), CLIENTS);
    }
}

#[cfg(windows)]
both_drivers! {
    async fn reuse_port_is_unsupported_on_windows() {
        let options = ListenOptions { reuse_port: true, ..ListenOptions::default() };
        let err = TcpListener::bind_with(any_local(), &options).expect_err("no SO_REUSEPORT");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
}

both_drivers! {
    async fn from_std_listener_and_stream_work() {
        let std_listener = std::net::TcpListener::bind(any_local()).expect("std bind");
        let addr = std_listener.local_addr().expect("addr");
        let listener = TcpListener::from_std(std_listener).expect("adopt listener");
        assert_eq!(listener.local_addr().expect("adopted addr"), addr);
        // A blocking std connect completes against the listen backlog, before accept.
        let std_client = std::net::TcpStream::connect(addr).expect("std connect");
        let client = TcpStream::from_std(std_client).expect("adopt stream");
        let (server, _) = listener.accept().await.expect("accept");
        // Start the read first: an adopted stream must wait without blocking the loop.
        let reader = ringo_reactor::spawn(async move {
            let (r, buf) = client.read_exact(vec![0u8; 4]).await;
            r.expect("adopted client reads");
            buf
        });
        ringo_reactor::task::yield_now().await;
        let (r, _) = server.write_all(b"data".to_vec()).await;
        r.expect("server writes");
        assert_eq!(reader.await.expect("reader"), b"data");
    }
}

/// `stream` handed over to std through its raw fd (socket handle on Windows).
fn into_std_stream(stream: TcpStream) -> std::net::TcpStream {
    #[cfg(unix)]
    {
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: into_raw_fd hands over sole ownership of an open socket fd.
        unsafe { std::net::TcpStream::from_raw_fd(stream.into_raw_fd()) }
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::{FromRawSocket, IntoRawSocket};
        // SAFETY: into_raw_socket hands over sole ownership of an open socket.
        unsafe { std::net::TcpStream::from_raw_socket(stream.into_raw_socket()) }
    }
}

/// `listener` handed over to std through its raw fd (socket handle on Windows).
fn into_std_listener(listener: TcpListener) -> std::net::TcpListener {
    #[cfg(unix)]
    {
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: into_raw_fd hands over sole ownership of an open socket fd.
        unsafe { std::net::TcpListener::from_raw_fd(listener.into_raw_fd()) }
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::{FromRawSocket, IntoRawSocket};
        // SAFETY: into_raw_socket hands over sole ownership of an open socket.
        unsafe { std::net::TcpListener::from_raw_socket(listener.into_raw_socket()) }
    }
}

both_drivers! {
    async fn into_raw_fd_leaves_the_fd_open() {
        let (client, server) = tcp_pair().await;
        let mut std_client = into_std_stream(client);
        std_client.set_nonblocking(false).expect("back to blocking");
        std_client.write_all(b"from std").expect("std writes on the handed-over fd");
        let (r, buf) = server.read_exact(vec![0u8; 8]).await;
        r.expect("server reads");
        assert_eq!(&buf, b"from std");
        let (r, _) = server.write_all(b"to std".to_vec()).await;
        r.expect("server writes");
        let mut reply = [0u8; 6];
        std_client.read_exact(&mut reply).expect("std reads");
        assert_eq!(&reply, b"to std");

        let listener = TcpListener::bind(any_local()).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let std_listener = into_std_listener(listener);
        assert_eq!(std_listener.local_addr().expect("std listener addr"), addr);
    }
}

both_drivers! {
    async fn dropping_a_stream_with_a_read_in_flight_closes_the_connection() {
        let (client, server) = tcp_pair().await;
        let started = Rc::new(Cell::new(false));
        let reader = {
            let started = started.clone();
            ringo_reactor::spawn(async move {
                started.set(true);
                // The server never writes, so this read stays in flight until aborted.
                client.read(vec![0u8; 64]).await.0
            })
        };
        while !started.get() {
            ringo_reactor::task::yield_now().await;
        }
        // One more turn so the read is submitted (io_uring) or registered (compat).
        ringo_reactor::task::yield_now().await;
        reader.abort();
        let joined = reader.await;
        assert!(matches!(&joined, Err(e) if e.is_cancelled()), "reader cancelled: {joined:?}");
        let seen = timeout(NOTICE_LIMIT, read_to_end(&server))
            .await
            .expect("the server notices the close");
        assert_eq!(seen.expect("a clean close"), b"", "the server reads EOF");
    }
}
