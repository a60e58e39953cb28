//! [`RingoIo`]: a ringo stream as hyper's `Read` and `Write`, through the
//! reactor's [`PollIo`] adapter (one owned buffer per direction, reads kept
//! in flight across abandoned polls; see `ringo_reactor::io::poll`).
//!
//! hyper has I/O traits of its own rather than tokio's, so this is a thin
//! newtype: bytes go from the adapter's buffer straight into hyper's, with
//! no copy beyond the one the poll API forces.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::hyper::rt::ReadBufCursor;
use ringo_reactor::io::poll::PollIo;
use ringo_reactor::io::{AsyncRead, AsyncWrite};

/// A ringo stream (`TcpStream`, `UnixStream`, …) that hyper can read and
/// write: give it to `serve_connection` or to a `hyper::client::conn`
/// handshake.
#[derive(Debug)]
pub struct RingoIo<S: AsyncRead + AsyncWrite>(PollIo<S>);

impl<S: AsyncRead + AsyncWrite + 'static> RingoIo<S> {
    /// Wraps `stream`; allocates nothing until the first read or write.
    pub fn new(stream: S) -> RingoIo<S> {
        RingoIo(PollIo::new(stream))
    }

    /// The wrapped stream, for its own methods (addresses, socket options).
    pub fn get_ref(&self) -> &S {
        self.0.get_ref()
    }

    /// The adapter underneath, for its buffer counts.
    pub fn adapter(&self) -> &PollIo<S> {
        &self.0
    }
}

impl<S: AsyncRead + AsyncWrite + 'static> ::hyper::rt::Read for RingoIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let io = &mut self.get_mut().0;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let available = ready!(io.poll_fill_buf(cx))?;
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        io.consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + 'static> ::hyper::rt::Write for RingoIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .0
            .poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_shutdown(cx)
    }
}
