//! Networking: TCP, UDP and Unix sockets with owned-buffer I/O.
//!
//! Every type works on both drivers. Each can be made from a std socket
//! (`from_std`, which switches it to non-blocking mode) and taken apart into its
//! raw fd (`IntoRawFd`), for hand-over to and from other code.

pub(crate) mod addr;
pub(crate) mod socket;
mod tcp;
mod udp;
mod unix;

pub use tcp::{ListenOptions, TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

/// Implements `AsyncRead` and `AsyncWrite` for a stream type that wraps a
/// `Socket` in a field named `socket`.
macro_rules! stream_impls {
    ($ty:ty) => {
        impl crate::io::AsyncRead for $ty {
            type Read<B: crate::buf::IoBufMut> = crate::io::ReadFuture<B>;

            fn read<B: crate::buf::IoBufMut>(&self, buf: B) -> crate::io::ReadFuture<B> {
                crate::io::ReadFuture(self.socket.recv(buf))
            }
        }

        impl crate::io::AsyncWrite for $ty {
            type Write<B: crate::buf::IoBuf> = crate::io::WriteFuture<B>;

            fn write<B: crate::buf::IoBuf>(&self, buf: B) -> crate::io::WriteFuture<B> {
                crate::io::WriteFuture(self.socket.send(buf))
            }

            async fn writev<B: crate::buf::IoBuf>(
                &self,
                bufs: Vec<B>,
            ) -> crate::buf::BufResult<usize, Vec<B>> {
                self.socket.writev(bufs).await
            }

            async fn shutdown(&self) -> std::io::Result<()> {
                self.socket.shutdown(std::net::Shutdown::Write)
            }
        }
    };
}

/// `AsRawFd` and `IntoRawFd` for any type wrapping a `Socket` in `socket`.
macro_rules! fd_impls {
    ($ty:ty) => {
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.socket.fd()
            }
        }

        impl std::os::fd::IntoRawFd for $ty {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                self.socket.into_raw_fd()
            }
        }
    };
}

pub(crate) use {fd_impls, stream_impls};
