//! Networking: TCP, UDP and Unix sockets with owned-buffer I/O.
//!
//! Every type works on both drivers. Each can be made from a std socket
//! (`from_std`, which switches it to non-blocking mode) and taken apart into its
//! raw fd (`IntoRawFd`; `IntoRawSocket` on Windows), for hand-over to and from
//! other code. Unix sockets exist on Unix only.

pub(crate) mod addr;
mod resolve;
pub(crate) mod socket;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use resolve::{lookup_host, Target, ToSocketAddrs, MAX_PENDING_LOOKUPS, RESOLVER_THREADS};
pub use tcp::{ListenOptions, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

/// Implements `AsyncRead` and `AsyncWrite` for a stream type that wraps a
/// `Socket` in a field named `socket`; its writes go zero-copy per the
/// [`ZeroCopy`](crate::op::send_zc::ZeroCopy) variant named second, and it
/// sends files with splice or `sendfile` (`io/send_file.rs`).
macro_rules! stream_impls {
    ($ty:ty, $zero_copy:ident) => {
        impl crate::io::AsyncRead for $ty {
            type Read<B: crate::buf::IoBufMut> = crate::io::ReadFuture<B>;

            fn read<B: crate::buf::IoBufMut>(&self, buf: B) -> crate::io::ReadFuture<B> {
                crate::io::ReadFuture(self.socket.recv(buf))
            }

            fn poll_recv_pooled(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<Option<crate::buf::PooledBuf>>> {
                self.socket.poll_recv_pooled(cx)
            }
        }

        impl crate::io::AsyncWrite for $ty {
            type Write<B: crate::buf::IoBuf> = crate::io::WriteFuture<B>;

            fn write<B: crate::buf::IoBuf>(&self, buf: B) -> crate::io::WriteFuture<B> {
                crate::io::WriteFuture(
                    self.socket
                        .write(buf, crate::op::send_zc::ZeroCopy::$zero_copy),
                )
            }

            fn poll_write_quietly<B: crate::buf::IoBuf>(
                write: &mut crate::io::WriteFuture<B>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<crate::buf::BufResult<usize, B>> {
                write.poll_quietly(cx)
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

            fn send_file(
                &self,
                file: &crate::fs::File,
                offset: u64,
                len: u64,
            ) -> std::io::Result<crate::io::SendFile> {
                Ok(crate::io::SendFile::new(
                    self.socket.shared(),
                    file.shared_fd(),
                    offset,
                    len,
                ))
            }
        }
    };
}

/// `recv_pooled` and `poll_recv_pooled` (inherent; `stream_impls` gives the
/// latter as [`AsyncRead`](crate::io::AsyncRead)'s too), for a stream type
/// that wraps a `Socket` in a field named `socket`.
macro_rules! recv_pooled_impls {
    ($ty:ty) => {
        impl $ty {
            /// Receives the next bytes into a buffer of the runtime's
            /// [`BufferPool`](crate::buf::BufferPool); `Ok(None)` once the peer
            /// has closed its side (and on every call after).
            ///
            /// No buffer is held while waiting: on io_uring with provided
            /// buffers, the first call arms one multishot receive that stays
            /// armed (the kernel picks a buffer per chunk of bytes, and no SQE is
            /// submitted per receive); elsewhere a buffer is taken only once the
            /// socket is readable. When the pool is empty, the call waits for a
            /// buffer to come back; no bytes are lost. Dropping the future keeps
            /// the receive armed; dropping the stream cancels it.
            ///
            /// Prefer it to `read` for servers with many connections: an idle
            /// connection holds no buffer (0.7 against 16.7 KiB per idle echo
            /// connection), and the CPU per request measured the same or a
            /// little lower in every echo cell (`ringo-benches --ab`, see
            /// `benches/README.md`). `read` remains the choice when the bytes
            /// must land in a buffer of the caller's.
            ///
            /// Use one reader at a time, and don't mix with
            /// [`read`](crate::io::AsyncRead::read) on the same stream: bytes
            /// already received for one are not seen by the other.
            ///
            /// # Errors
            /// The receive's OS error (for example `ECONNRESET`), or the pool's
            /// memory could not be mapped.
            pub fn recv_pooled(
                &self,
            ) -> impl std::future::Future<
                Output = std::io::Result<Option<crate::buf::PooledBuf>>,
            > + '_ {
                std::future::poll_fn(move |cx| self.socket.poll_recv_pooled(cx))
            }

            /// [`recv_pooled`](Self::recv_pooled) as a poll function, for code
            /// that drives reads from its own `poll` (codecs).
            pub fn poll_recv_pooled(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<Option<crate::buf::PooledBuf>>> {
                self.socket.poll_recv_pooled(cx)
            }
        }

    };
}

/// `AsRawFd` and `IntoRawFd` (on Windows `AsRawSocket` and
/// `IntoRawSocket`) for any type wrapping a `Socket` in `socket`.
macro_rules! fd_impls {
    ($ty:ty) => {
        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.socket.fd()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::IntoRawFd for $ty {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                self.socket.into_raw()
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                self.socket.fd()
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::IntoRawSocket for $ty {
            fn into_raw_socket(self) -> std::os::windows::io::RawSocket {
                self.socket.into_raw()
            }
        }
    };
}

pub(crate) use {fd_impls, recv_pooled_impls, stream_impls};
