//! TCP: [`TcpListener`] and [`TcpStream`].

use std::io;
use std::net::{Shutdown, SocketAddr};

use super::addr::RawAddr;
use super::resolve::ToSocketAddrs;
use super::socket::Socket;
use super::{fd_impls, recv_pooled_impls, stream_impls};
use crate::buf::IoBuf;
use crate::io::WriteFuture;
use crate::op::accept_multi::Accepting;
use crate::op::send_zc::ZeroCopy;
use crate::sys::{c, OwnedSocket};

/// Default `listen(2)` backlog; documented on [`ListenOptions::backlog`].
pub(super) const DEFAULT_BACKLOG: u32 = 1024;

/// How a listener is set up. A restarted server can rebind its port at once
/// (`SO_REUSEADDR` on Unix; Windows allows it as it is).
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// `SO_REUSEPORT`: several listeners (one per core) share one port, and the
    /// kernel spreads connections across them. Off by default. Windows has no
    /// such option: binding with it on answers `ErrorKind::Unsupported` there.
    pub reuse_port: bool,
    /// The `listen(2)` backlog: pending connections the kernel queues before
    /// it refuses (or, with syncookies, drops) new ones; default 1024. Clamped
    /// by `net.core.somaxconn`.
    pub backlog: u32,
}

impl Default for ListenOptions {
    fn default() -> Self {
        ListenOptions {
            reuse_port: false,
            backlog: DEFAULT_BACKLOG,
        }
    }
}

/// A TCP socket listening for connections.
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
///
/// # Examples
/// ```
/// use ringo_reactor::net::{TcpListener, TcpStream};
///
/// ringo_reactor::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = ringo_reactor::spawn(async move { TcpStream::connect(addr).await });
///     let (_stream, peer) = listener.accept().await?;
///     assert_eq!(peer, client.await.unwrap()?.local_addr()?);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TcpListener {
    socket: Socket,
    /// The multishot accept kept armed between accepts (io_uring only).
    accepting: Accepting,
}

impl TcpListener {
    /// Binds to `addr` with the default [`ListenOptions`]. Port 0 picks a free port
    /// (see [`local_addr`](Self::local_addr)).
    ///
    /// `addr` is a `SocketAddr`, `"127.0.0.1:8080"`, `("0.0.0.0", 8080)` or
    /// any [`ToSocketAddrs`]; each address it names is tried in turn. A host
    /// name (`"localhost:8080"`) is resolved here only on a thread that runs
    /// no runtime (resolving blocks); inside one, resolve it with
    /// [`lookup_host`](super::lookup_host)`(..).await` and bind the result.
    ///
    /// # Errors
    /// `InvalidInput` for an address that does not parse or a host name given
    /// inside a runtime; otherwise the last address's bind error.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, &ListenOptions::default())
    }

    /// Binds to `addr` with `options`; `addr` as for [`bind`](Self::bind).
    pub fn bind_with(addr: impl ToSocketAddrs, options: &ListenOptions) -> io::Result<TcpListener> {
        let addrs = addr.to_target().resolve_outside_runtime()?;
        try_each(addrs, |addr| TcpListener::bind_addr(addr, options))
    }

    fn bind_addr(addr: SocketAddr, options: &ListenOptions) -> io::Result<TcpListener> {
        let socket = Socket::new(ip_domain(&addr), c::SOCK_STREAM)?;
        crate::sys::allow_rebind(socket.fd())?;
        if options.reuse_port {
            crate::sys::reuse_port(socket.fd())?;
        }
        socket.bind(&RawAddr::from_socket_addr(&addr))?;
        socket.listen(options.backlog.min(c::c_int::MAX as u32) as c::c_int)?;
        Ok(TcpListener {
            socket,
            accepting: Accepting::new(),
        })
    }

    /// Waits for a connection; returns it and the peer's address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (socket, addr) = self.socket.accept(&self.accepting).await?;
        Ok((TcpStream { socket }, addr.socket_addr()?))
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()?.socket_addr()
    }

    /// Adopts a std listener (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            socket: Socket::from_std(OwnedSocket::from(listener))?,
            accepting: Accepting::new(),
        })
    }
}

fd_impls!(TcpListener);

/// A TCP connection. Read and write it through [`AsyncRead`](crate::io::AsyncRead)
/// and [`AsyncWrite`](crate::io::AsyncWrite).
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
#[derive(Debug)]
pub struct TcpStream {
    socket: Socket,
}

impl TcpStream {
    /// Connects to `addr`: a `SocketAddr`, `"127.0.0.1:6379"`,
    /// `"localhost:6379"`, `("localhost", 6379)` or any [`ToSocketAddrs`]. A
    /// host name is resolved off the loop thread ([`lookup_host`](super::lookup_host));
    /// each address is tried in turn until one connects.
    ///
    /// # Errors
    /// `InvalidInput` for an address that does not parse; the lookup's error;
    /// otherwise the last address's connect error.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in super::lookup_host(addr).await? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(ip_domain(&addr), c::SOCK_STREAM)?;
        socket.connect(RawAddr::from_socket_addr(&addr)).await?;
        Ok(TcpStream { socket })
    }

    /// Adopts a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            socket: Socket::from_std(OwnedSocket::from(stream))?,
        })
    }

    /// Sets `TCP_NODELAY`: small writes go out at once instead of waiting to be
    /// coalesced (Nagle's algorithm). Request/response servers want it on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket
            .set_option(c::IPPROTO_TCP, c::TCP_NODELAY, i32::from(nodelay))
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.socket.option(c::IPPROTO_TCP, c::TCP_NODELAY)? != 0)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()?.socket_addr()
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()?.socket_addr()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(how)
    }

    /// Sets `SO_LINGER` to zero, so that dropping the stream resets the
    /// connection (RST) instead of closing it gracefully (FIN).
    pub fn set_linger_zero(&self) -> io::Result<()> {
        let linger = c::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        let size = std::mem::size_of::<c::linger>() as c::socklen_t;
        super::socket::syscall!(setsockopt(
            self.socket.fd(),
            c::SOL_SOCKET,
            c::SO_LINGER,
            (&linger as *const c::linger).cast(),
            size
        ))
        .map(drop)
    }

    /// Writes some of `buf`'s initialised bytes as a zero-copy send, whatever
    /// its size and the runtime's
    /// [threshold](crate::Builder::zero_copy_send_threshold); returns how many.
    ///
    /// On io_uring with `IORING_OP_SEND_ZC` (Linux 6.0) the kernel sends
    /// from `buf`'s pages without copying them, and the future resolves — and
    /// hands `buf` back — only once the kernel has let go of them: for TCP,
    /// when the peer has acknowledged the bytes. Dropping the future in
    /// flight is safe: the runtime keeps `buf` until then. Elsewhere (compat,
    /// older kernels) this is a plain [`write`](crate::io::AsyncWrite::write),
    /// with the same results. [`UringFeatures::send_zc`](crate::UringFeatures::send_zc)
    /// says which one a runtime does.
    ///
    /// Zero-copy saves copying large buffers into the kernel, but costs page
    /// pinning and a later completion, so it loses on small ones; on loopback
    /// the kernel copies on delivery anyway, so the copy only moves there.
    ///
    /// # Errors
    /// As `write`: the send's OS error, for example `ECONNRESET` or `EPIPE`.
    pub fn send_zc<B: IoBuf>(&self, buf: B) -> WriteFuture<B> {
        WriteFuture(self.socket.write(buf, ZeroCopy::Always))
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.socket.take_error()
    }

    /// A handle to the fd for an op built outside this module (splice).
    #[cfg(target_os = "linux")]
    pub(crate) fn shared_fd(&self) -> crate::fd::SharedFd {
        self.socket.shared()
    }
}

stream_impls!(TcpStream, Threshold);
recv_pooled_impls!(TcpStream);
fd_impls!(TcpStream);

pub(crate) fn ip_domain(addr: &SocketAddr) -> c::c_int {
    match addr {
        SocketAddr::V4(_) => c::AF_INET,
        SocketAddr::V6(_) => c::AF_INET6,
    }
}

/// `attempt` on each address in turn: the first success, or the last error.
pub(super) fn try_each<T>(
    addrs: Vec<SocketAddr>,
    mut attempt: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in addrs {
        match attempt(addr) {
            Ok(done) => return Ok(done),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}
