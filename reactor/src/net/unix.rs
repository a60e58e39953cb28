//! Unix domain stream sockets: [`UnixListener`] and [`UnixStream`].

use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::addr::RawAddr;
use super::socket::Socket;
use super::tcp::DEFAULT_BACKLOG;
use super::{fd_impls, recv_pooled_impls, stream_impls};
use crate::op::accept_multi::Accepting;

/// A Unix socket listening for connections at a path.
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
#[derive(Debug)]
pub struct UnixListener {
    socket: Socket,
    /// The multishot accept kept armed between accepts (io_uring only).
    accepting: Accepting,
}

impl UnixListener {
    /// Binds to `path`, which must not exist yet, with the backlog a TCP
    /// listener has by default (1024, see
    /// [`ListenOptions::backlog`](super::ListenOptions::backlog)).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.bind(&RawAddr::from_path(path.as_ref())?)?;
        socket.listen(DEFAULT_BACKLOG as libc::c_int)?;
        Ok(UnixListener {
            socket,
            accepting: Accepting::new(),
        })
    }

    /// Waits for a connection; returns it and the peer's path (usually `None`:
    /// connecting sockets are rarely bound to a path).
    pub async fn accept(&self) -> io::Result<(UnixStream, Option<PathBuf>)> {
        let (socket, addr) = self.socket.accept(&self.accepting).await?;
        Ok((UnixStream { socket }, addr.path()))
    }

    /// The path this listener is bound to.
    pub fn local_path(&self) -> io::Result<Option<PathBuf>> {
        Ok(self.socket.local_addr()?.path())
    }

    /// Adopts a std listener (switching it to non-blocking mode).
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            socket: Socket::from_std(OwnedFd::from(listener))?,
            accepting: Accepting::new(),
        })
    }
}

fd_impls!(UnixListener);

/// A Unix stream connection. Read and write it through
/// [`AsyncRead`](crate::io::AsyncRead) and [`AsyncWrite`](crate::io::AsyncWrite).
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
#[derive(Debug)]
pub struct UnixStream {
    socket: Socket,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let addr = RawAddr::from_path(path.as_ref())?;
        let socket = Socket::new(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket.connect(addr).await?;
        Ok(UnixStream { socket })
    }

    /// A connected pair of streams.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Adopts a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            socket: Socket::from_std(OwnedFd::from(stream))?,
        })
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.socket.shutdown(how)
    }
}

// The kernel has no zero-copy send for Unix sockets (`EOPNOTSUPP`).
stream_impls!(UnixStream, Never);
recv_pooled_impls!(UnixStream);
fd_impls!(UnixStream);
