//! UDP: [`UdpSocket`].

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use super::addr::RawAddr;
use super::fd_impls;
use super::socket::Socket;
use super::tcp::ip_domain;
use crate::buf::{BufResult, IoBuf, IoBufMut};
use crate::io::{ReadFuture, WriteFuture};
use crate::op::send_zc::ZeroCopy;

/// A UDP socket.
///
/// # Examples
/// ```
/// use ringo_reactor::net::UdpSocket;
///
/// ringo_reactor::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
///     let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
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
}

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port).
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = Socket::new(ip_domain(&addr), libc::SOCK_DGRAM)?;
        socket.bind(&RawAddr::from_socket_addr(&addr))?;
        Ok(UdpSocket { socket })
    }

    /// Adopts a std socket (switching it to non-blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            socket: Socket::from_std(OwnedFd::from(socket))?,
        })
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

    /// Sends one datagram to the connected peer. The future can carry a
    /// time limit: [`WriteFuture::timeout`].
    pub fn send<B: IoBuf>(&self, buf: B) -> WriteFuture<B> {
        WriteFuture(self.socket.write(buf, ZeroCopy::Never))
    }

    /// Receives one datagram from the connected peer. The future can carry a
    /// time limit: [`ReadFuture::timeout`].
    pub fn recv<B: IoBufMut>(&self, buf: B) -> ReadFuture<B> {
        ReadFuture(self.socket.recv(buf))
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
