//! `Socket`: the fd wrapper every socket type is built on.
//!
//! It owns the fd, creates it non-blocking and close-on-exec (both drivers want
//! that: compat needs `EAGAIN`, io_uring handles it internally), issues the ops,
//! and shares the fd with its ops ([`SharedFd`]): the fd closes when the socket
//! and every op using it are gone.

use crate::sys::{OwnedSocket, RawSource};
use std::io;
use std::net::Shutdown;
use std::task::{Context, Poll};

use super::addr::RawAddr;
use crate::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use crate::fd::SharedFd;
use crate::op::{
    accept::Accept,
    accept_multi::Accepting,
    connect::Connect,
    recv::Recv,
    recv_from::RecvFrom,
    recv_from_pooled::Datagrams,
    recv_pooled::{PooledRecv, Stream},
    send_to::SendTo,
    send_zc::{SendFuture, ZeroCopy},
    writev::Writev,
    Op,
};
use crate::sys::{self, c};

/// An owned socket fd, shared with the ops in flight on it.
#[derive(Debug)]
pub(crate) struct Socket {
    fd: SharedFd,
    /// The pooled receive's state (a multishot receive kept armed between
    /// calls); idle, and a few bytes, until the first pooled receive.
    pooled: PooledRecv<Stream>,
}

/// Calls a libc function and turns -1 into the thread's `errno`.
macro_rules! syscall {
    ($fn:ident($($arg:expr),* $(,)?)) => {{
        // SAFETY: each call site passes valid fds and pointers to live locals of
        // the sizes it names; see the arguments at the call.
        let ret = unsafe { $crate::sys::c::$fn($($arg),*) };
        if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
    }};
}
pub(crate) use syscall;

impl Socket {
    /// A new non-blocking, close-on-exec socket, without `SIGPIPE` on
    /// platforms that need a socket option for that (see [`crate::sys`]).
    pub(crate) fn new(domain: c::c_int, ty: c::c_int) -> io::Result<Socket> {
        Ok(Socket::from_owned(crate::sys::socket(domain, ty)?))
    }

    pub(crate) fn from_owned(fd: OwnedSocket) -> Socket {
        Socket {
            fd: SharedFd::socket(fd),
            pooled: PooledRecv::new(),
        }
    }

    /// Adopts a std socket, switching it to non-blocking mode (and setting
    /// it up as [`Socket::new`] does).
    pub(crate) fn from_std(fd: OwnedSocket) -> io::Result<Socket> {
        crate::sys::adopt(&fd)?;
        Ok(Socket::from_owned(fd))
    }

    /// Gives up the socket without closing it (see [`SharedFd::into_owned`]).
    pub(crate) fn into_raw(self) -> RawSource {
        sys::into_raw(self.fd.into_owned())
    }

    pub(crate) fn fd(&self) -> RawSource {
        self.fd.raw()
    }

    /// A handle to the fd for an op: keeps it open while the op exists.
    pub(crate) fn shared(&self) -> SharedFd {
        self.fd.clone()
    }

    pub(crate) fn set_option(
        &self,
        level: c::c_int,
        name: c::c_int,
        value: c::c_int,
    ) -> io::Result<()> {
        let size = std::mem::size_of::<c::c_int>() as c::socklen_t;
        syscall!(setsockopt(
            self.fd(),
            level,
            name,
            (&value as *const c::c_int).cast(),
            size
        ))
        .map(drop)
    }

    pub(crate) fn option(&self, level: c::c_int, name: c::c_int) -> io::Result<c::c_int> {
        let mut value: c::c_int = 0;
        let mut size = std::mem::size_of::<c::c_int>() as c::socklen_t;
        syscall!(getsockopt(
            self.fd(),
            level,
            name,
            (&mut value as *mut c::c_int).cast(),
            &mut size
        ))?;
        Ok(value)
    }

    pub(crate) fn bind(&self, addr: &RawAddr) -> io::Result<()> {
        let (ptr, len) = addr.as_ptrs();
        syscall!(bind(self.fd(), ptr, len)).map(drop)
    }

    pub(crate) fn listen(&self, backlog: c::c_int) -> io::Result<()> {
        syscall!(listen(self.fd(), backlog)).map(drop)
    }

    pub(crate) fn local_addr(&self) -> io::Result<RawAddr> {
        let mut addr = RawAddr::empty();
        let (ptr, len) = addr.as_mut_ptrs();
        syscall!(getsockname(self.fd(), ptr, len))?;
        Ok(addr)
    }

    pub(crate) fn peer_addr(&self) -> io::Result<RawAddr> {
        let mut addr = RawAddr::empty();
        let (ptr, len) = addr.as_mut_ptrs();
        syscall!(getpeername(self.fd(), ptr, len))?;
        Ok(addr)
    }

    /// Shuts down one or both directions; the write half's shutdown sends FIN.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => c::SHUT_RD,
            Shutdown::Write => c::SHUT_WR,
            Shutdown::Both => c::SHUT_RDWR,
        };
        syscall!(shutdown(self.fd(), how)).map(drop)
    }

    /// The pending socket error (`SO_ERROR`), if any.
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let code = self.option(c::SOL_SOCKET, c::SO_ERROR)?;
        Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
    }

    /// A receive on a stream socket.
    pub(crate) fn recv<B: IoBufMut>(&self, buf: B) -> Op<Recv<B>> {
        Op::new(Recv::stream(self.shared(), buf))
    }

    /// A receive of one datagram from the connected peer.
    pub(crate) fn recv_datagram<B: IoBufMut>(&self, buf: B) -> Op<Recv<B>> {
        Op::new(Recv::datagram(self.shared(), buf))
    }

    /// The next bytes received into the runtime's buffer pool; `None` at EOF.
    pub(crate) fn poll_recv_pooled(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<PooledBuf>>> {
        self.pooled.poll_recv(&self.fd, cx)
    }

    /// The next datagram received into the runtime's buffer pool, and its
    /// sender, through `pooled` (the datagram socket's own receive state).
    pub(crate) fn poll_recv_from_pooled(
        &self,
        pooled: &PooledRecv<Datagrams>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(PooledBuf, RawAddr)>> {
        let received = std::task::ready!(pooled.poll_recv(&self.fd, cx))?;
        Poll::Ready(received.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the socket's receiving side was shut down",
            )
        }))
    }

    /// A stream write of `buf`: zero-copy or plain as `policy` and the runtime
    /// decide on its first poll.
    pub(crate) fn write<B: IoBuf>(&self, buf: B, policy: ZeroCopy) -> SendFuture<B> {
        SendFuture::new(self.shared(), buf, policy)
    }

    pub(crate) async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        Op::new(Writev::new(self.shared(), bufs)).await
    }

    /// The next connection of this listening socket and its peer's address:
    /// from the listener's multishot accept (`accepting`) where the driver has
    /// one, else from a single-shot accept.
    pub(crate) async fn accept(&self, accepting: &Accepting) -> io::Result<(Socket, RawAddr)> {
        loop {
            let Some(fd) = std::future::poll_fn(|cx| accepting.poll_accept(&self.fd, cx)).await?
            else {
                let (fd, addr) = Op::new(Accept::new(self.shared())).await?;
                return Ok((Socket::from_owned(fd), addr));
            };
            let socket = Socket::from_owned(fd);
            match socket.peer_addr() {
                Ok(addr) => return Ok((socket, addr)),
                // Reset before we asked: a single-shot accept would have returned
                // a dead connection; skip it and take the next.
                Err(e) if e.raw_os_error() == Some(c::ENOTCONN) => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) async fn connect(&self, addr: RawAddr) -> io::Result<()> {
        Op::new(Connect::new(self.shared(), addr)).await
    }

    pub(crate) async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, RawAddr), B> {
        Op::new(RecvFrom::new(self.shared(), buf)).await
    }

    pub(crate) async fn send_to<B: IoBuf>(&self, buf: B, addr: RawAddr) -> BufResult<usize, B> {
        Op::new(SendTo::new(self.shared(), buf, addr)).await
    }
}
