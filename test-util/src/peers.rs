//! Loopback peers the I/O tests talk to: connected pairs, an echo, reads to
//! a marker or to the end, servers on a task or on their own thread, an
//! address every connect to is refused, and a pipe (a file whose read waits).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::DriverKind;

/// A loopback address with a free port.
pub fn any_local() -> SocketAddr {
    "127.0.0.1:0".parse().expect("literal address")
}

/// A connected loopback TCP pair on the current runtime: (client, server side).
pub async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let accept = ringo_reactor::spawn(async move { listener.accept().await });
    let client = TcpStream::connect(addr).await.expect("connect");
    let (server, _) = accept.await.expect("accept task").expect("accept");
    (client, server)
}

/// Like [`tcp_pair`], with Nagle off on both sides, so tests that write a byte
/// at a time are not slowed by delayed acknowledgements.
pub async fn tcp_pair_nodelay() -> (TcpStream, TcpStream) {
    let (client, server) = tcp_pair().await;
    client
        .set_nodelay(true)
        .expect("set nodelay on the client side");
    server
        .set_nodelay(true)
        .expect("set nodelay on the server side");
    (client, server)
}

/// Echoes everything read on `stream` until end of stream or an error.
pub async fn echo<S: AsyncRead + AsyncWrite>(stream: S) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (n, filled) = stream.read(buf).await;
        let n = match n {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (written, slice) = stream.write_all(filled.slice(..n)).await;
        buf = slice.into_inner();
        if written.is_err() {
            return;
        }
    }
}

/// Reads from `stream` until end of stream; returns everything read.
pub async fn read_to_end<S: AsyncRead>(stream: &S) -> std::io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, back) = stream.read(buf).await;
        buf = back;
        match n? {
            0 => return Ok(all),
            n => all.extend_from_slice(buf.get(..n).expect("read within the buffer")),
        }
    }
}

/// Reads from `stream` into `seen` until it ends with `end`; returns it as
/// text. Fails the test if the stream ends first.
pub async fn read_until<S: AsyncRead>(stream: &S, seen: &mut Vec<u8>, end: &str) -> String {
    let mut buf = vec![0u8; 16 * 1024];
    while !seen.ends_with(end.as_bytes()) {
        let (n, back) = stream.read(buf).await;
        buf = back;
        match n.expect("peer read") {
            0 => panic!(
                "closed before {end:?}; got {:?}",
                String::from_utf8_lossy(seen)
            ),
            n => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(seen).into_owned()
}

/// Writes all of `bytes` to `stream`, failing the test on error.
pub async fn write_all<S: AsyncWrite>(stream: &S, bytes: impl Into<Vec<u8>>) {
    let (result, _) = stream.write_all(bytes.into()).await;
    result.expect("peer write");
}

/// Serves `handle` on a free loopback port of the current runtime, one task
/// per accepted connection; returns the address.
pub fn spawn_server<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let listener = TcpListener::bind(any_local()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    drop(ringo_reactor::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(ringo_reactor::spawn(handle(stream)));
        }
    }));
    addr
}

/// Starts a thread with a runtime of `kind` that serves a loopback listener
/// until the process exits: `make` runs on that thread and returns the
/// handler, called once per accepted connection in its own task. Returns the
/// listener's address, or `None` when io_uring is declared unavailable.
pub fn server_thread<M, H, Fut>(kind: DriverKind, make: M) -> Option<SocketAddr>
where
    M: FnOnce() -> H + Send + 'static,
    H: FnMut(TcpStream) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    listener_thread(kind, |listener| async move {
        let mut handle = make();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            drop(ringo_reactor::spawn(handle(stream)));
        }
    })
}

/// Starts a thread with a runtime of `kind` on which `serve` runs with a
/// fresh loopback listener (an example's own accept loop, say) until it
/// returns. Returns the listener's address, or `None` when io_uring is
/// declared unavailable.
pub fn listener_thread<S, Fut, T>(kind: DriverKind, serve: S) -> Option<SocketAddr>
where
    S: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Some(rt) = crate::runtime(kind) else {
            let _ = tx.send(None);
            return;
        };
        rt.block_on(async move {
            let listener = TcpListener::bind(any_local()).expect("bind a loopback listener");
            let addr = listener.local_addr().expect("listener address");
            tx.send(Some(addr)).expect("the test waits for the address");
            serve(listener).await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server thread starts")
}

/// Sends `request` over a blocking std connection to `addr` and reads until
/// the server closes the connection; a read stalled for 20 s fails the test.
pub fn exchange_until_close(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("set a read timeout");
    stream.write_all(request).expect("write the request");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("the server closes the connection");
    reply
}

/// An address every connect to is refused, held for as long as the guard
/// lives: a TCP socket bound to a free loopback port but never listening. A
/// port merely freed after use could be handed to another test's listener in
/// the meantime; a bound port cannot.
#[cfg(unix)]
pub fn refused_addr() -> (std::os::fd::OwnedFd, SocketAddr) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a new socket nobody else owns.
    let guard = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // Not inherited by the children some tests start (Apple has no
    // SOCK_CLOEXEC, so the flag is set here for every platform alike).
    // SAFETY: F_SETFD on our own open fd.
    let cloexec = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    assert_eq!(cloexec, 0, "fcntl: {}", std::io::Error::last_os_error());
    // SAFETY: all-zero is a valid sockaddr_in; family and address are set below.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: binds our socket to a live sockaddr_in of the given length.
    let bound = unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
    let mut len = len;
    // SAFETY: getsockname writes at most `len` bytes into our sockaddr_in.
    let named =
        unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len) };
    assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
    (
        guard,
        SocketAddr::from(([127, 0, 0, 1], u16::from_be(addr.sin_port))),
    )
}

/// An address every connect to is refused, held for as long as the guard
/// lives (see the Unix version): a Winsock TCP socket bound to a free loopback
/// port but never listening, not inherited by child processes.
#[cfg(windows)]
pub fn refused_addr() -> (std::os::windows::io::OwnedSocket, SocketAddr) {
    use std::os::windows::io::FromRawSocket;
    use windows_sys::Win32::Networking::WinSock;
    // Winsock answers nothing before WSAStartup, which std runs with its
    // first socket.
    drop(std::net::UdpSocket::bind(any_local()));
    let last_error = || {
        // SAFETY: no preconditions; reads this thread's last Winsock error.
        std::io::Error::from_raw_os_error(unsafe { WinSock::WSAGetLastError() })
    };
    // SAFETY: no protocol info pointer is passed; the result is checked.
    let socket = unsafe {
        WinSock::WSASocketW(
            i32::from(WinSock::AF_INET),
            WinSock::SOCK_STREAM,
            0,
            std::ptr::null(),
            0,
            WinSock::WSA_FLAG_OVERLAPPED | WinSock::WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    assert_ne!(
        socket,
        WinSock::INVALID_SOCKET,
        "WSASocketW: {}",
        last_error()
    );
    // SAFETY: `socket` is new and owned by nothing else.
    let guard = unsafe { std::os::windows::io::OwnedSocket::from_raw_socket(socket as u64) };
    // SAFETY: all-zero is a valid SOCKADDR_IN; family and address are set below.
    let mut addr: WinSock::SOCKADDR_IN = unsafe { std::mem::zeroed() };
    addr.sin_family = WinSock::AF_INET;
    addr.sin_addr.S_un.S_addr = u32::from_ne_bytes([127, 0, 0, 1]);
    let mut len = i32::try_from(std::mem::size_of::<WinSock::SOCKADDR_IN>()).expect("fits i32");
    let ptr = (&mut addr as *mut WinSock::SOCKADDR_IN).cast::<WinSock::SOCKADDR>();
    // SAFETY: binds our socket to a live SOCKADDR_IN of the given length.
    let bound = unsafe { WinSock::bind(socket, ptr, len) };
    assert_eq!(bound, 0, "bind: {}", last_error());
    // SAFETY: getsockname writes at most `len` bytes into our SOCKADDR_IN.
    let named = unsafe { WinSock::getsockname(socket, ptr, &mut len) };
    assert_eq!(named, 0, "getsockname: {}", last_error());
    (
        guard,
        SocketAddr::from(([127, 0, 0, 1], u16::from_be(addr.sin_port))),
    )
}

/// A new pipe, close-on-exec: (read end, write end). A read of an empty pipe
/// waits, so it holds an op in flight for as long as a test needs. `pipe` and
/// `fcntl`, since Apple has no `pipe2`; race-free as long as no test starts a
/// child meanwhile.
#[cfg(unix)]
pub fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe to fill.
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe: {}", std::io::Error::last_os_error());
    // SAFETY: pipe just returned these two fds, owned by nothing else.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in fds {
        // SAFETY: F_SETFD on an fd we own.
        let rc = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        assert_eq!(rc, 0, "fcntl: {}", std::io::Error::last_os_error());
    }
    ends
}
