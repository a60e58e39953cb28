//! UDP: [`UdpSocket`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use super::addr::RawAddr;
use super::fd_impls;
use super::socket::Socket;
use super::tcp::ip_domain;
use crate::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use crate::io::{ReadFuture, WriteFuture};
use crate::op::recv_from_pooled::Datagrams;
use crate::op::recv_pooled::PooledRecv;
use crate::op::send_zc::ZeroCopy;
use crate::sys::{c, OwnedSocket};

/// A UDP socket.
///
/// `!Send`: it belongs to the runtime (thread) that made it — its fd is
/// registered with that thread's ring or poller. A compiler error naming
/// `Rc<ringo_reactor::fd::Inner>` (or `Rc<..>` inside ringo) means a value
/// like this was moved to another thread: open one per worker instead (see
/// the crate docs, "Thread per core").
///
/// # Examples
/// ```
/// use ringo_reactor::net::UdpSocket;
///
/// ringo_reactor::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     let (sent, _) = a.send_to(b"ping".to_vec(), b.local_addr()?).await;
///     assert_eq!(sent?, 4);
///     let (received, buf) = b.recv_from(vec![0u8; 16]).await;
///     let (n, from) = received?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    socket: Socket,
    /// The pooled receive's state (a multishot `recvmsg` kept armed between
    /// calls); idle until the first pooled receive.
    pooled: PooledRecv<Datagrams>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port).
    ///
    /// `addr` as for [`TcpListener::bind`](super::TcpListener::bind): any
    /// [`ToSocketAddrs`](super::ToSocketAddrs); each address is tried in turn.
    pub fn bind(addr: impl super::ToSocketAddrs) -> io::Result<UdpSocket> {
        let addrs = addr.to_target().resolve_outside_runtime()?;
        super::tcp::try_each(addrs, |addr| {
            let socket = Socket::new(ip_domain(&addr), c::SOCK_DGRAM)?;
            socket.bind(&RawAddr::from_socket_addr(&addr))?;
            Ok(UdpSocket::from_socket(socket))
        })
    }

    fn from_socket(socket: Socket) -> UdpSocket {
        UdpSocket {
            socket,
            pooled: PooledRecv::new(),
        }
    }

    /// Adopts a std socket (switching it to non-blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket::from_socket(Socket::from_std(
            OwnedSocket::from(socket),
        )?))
    }

    /// Sets the default peer for [`send`](Self::send) and the only peer
    /// [`recv`](Self::recv) accepts datagrams from.
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.socket.connect(RawAddr::from_socket_addr(&addr)).await
    }

    /// Sends `buf`'s initialised bytes as one datagram to `addr`.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> BufResult<usize, B> {
        self.socket
            .send_to(buf, RawAddr::from_socket_addr(&addr))
            .await
    }

    /// Receives one datagram into the start of `buf`; returns its length (cut to
    /// the buffer's size) and sender.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> BufResult<(usize, SocketAddr), B> {
        let (result, buf) = self.socket.recv_from(buf).await;
        (
            result.and_then(|(n, addr)| Ok((n, addr.socket_addr()?))),
            buf,
        )
    }

    /// Receives the next datagram into a buffer of the runtime's
    /// [`BufferPool`](crate::buf::BufferPool); returns it and its sender. The
    /// buffer shows the payload only.
    ///
    /// No buffer is held while waiting: on io_uring with provided buffers,
    /// the first call arms one multishot `recvmsg` that stays armed (the kernel
    /// picks a buffer per datagram, and no SQE is submitted per receive);
    /// elsewhere a buffer is taken only once the socket is readable. When the
    /// pool is empty, the call waits for a buffer to come back; datagrams wait
    /// in the socket's receive buffer meanwhile (where, as for any UDP socket,
    /// the kernel drops what does not fit). Dropping the future keeps the
    /// receive armed; dropping the socket cancels it.
    ///
    /// Use one reader at a time, and don't mix with [`recv_from`](Self::recv_from)
    /// on the same socket: datagrams already received for one are not seen by
    /// the other.
    ///
    /// # Errors
    /// - [`io::ErrorKind::InvalidData`] for a datagram larger than a pool
    ///   buffer less [`DATAGRAM_HEADROOM`](crate::buf::DATAGRAM_HEADROOM): it
    ///   is dropped, never passed on cut short, and the next call receives the
    ///   next datagram.
    /// - [`io::ErrorKind::InvalidInput`] when the pool's buffers are no larger
    ///   than `DATAGRAM_HEADROOM` (see [`Builder::recv_buffers`](crate::Builder::recv_buffers)).
    /// - The receive's OS error, or the pool's memory could not be mapped.
    ///
    /// # Examples
    /// ```
    /// use ringo_reactor::net::UdpSocket;
    ///
    /// ringo_reactor::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0")?;
    ///     let b = UdpSocket::bind("127.0.0.1:0")?;
    ///     a.send_to(b"ping".to_vec(), b.local_addr()?).await.0?;
    ///     let (datagram, from) = b.recv_from_pooled().await?;
    ///     assert_eq!((&datagram[..], from), (&b"ping"[..], a.local_addr()?));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recv_from_pooled(
        &self,
    ) -> impl Future<Output = io::Result<(PooledBuf, SocketAddr)>> + '_ {
        std::future::poll_fn(move |cx| self.poll_recv_from_pooled(cx))
    }

    /// [`recv_from_pooled`](Self::recv_from_pooled) as a poll function, for
    /// code that drives receives from its own `poll`.
    pub fn poll_recv_from_pooled(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(PooledBuf, SocketAddr)>> {
        let (buf, from) = std::task::ready!(self.socket.poll_recv_from_pooled(&self.pooled, cx))?;
        Poll::Ready(Ok((buf, from.socket_addr()?)))
    }

    /// Sends one datagram to the connected peer. The future can carry a
    /// time limit: [`WriteFuture::timeout`].
    pub fn send<B: IoBuf>(&self, buf: B) -> WriteFuture<B> {
        WriteFuture(self.socket.write(buf, ZeroCopy::Never))
    }

    /// Receives one datagram from the connected peer. The future can carry a
    /// time limit: [`ReadFuture::timeout`].
    pub fn recv<B: IoBufMut>(&self, buf: B) -> ReadFuture<B> {
        ReadFuture(self.socket.recv_datagram(buf))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()?.socket_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()?.socket_addr()
    }
}

fd_impls!(UdpSocket);
