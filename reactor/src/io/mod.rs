//! Owned-buffer I/O traits: [`AsyncRead`] and [`AsyncWrite`], and
//! [`copy_bidirectional`] (a proxy's data path, zero-copy on io_uring).
//! [`AsyncRead::poll_recv_pooled`] is the other way to read: into the
//! runtime's buffer pool, for transports that have a pooled receive;
//! [`AsyncWrite::send_file`] the other way to write: straight from a file, for
//! transports that can.
//!
//! Every call takes its buffer by value and returns it with the result — a
//! [`BufResult`] — because on io_uring the kernel writes into the buffer after
//! the call has started and may still do so if the caller's future is dropped.
//! The runtime holds the buffer until the kernel is done; no API here lends the
//! kernel a borrowed slice.
//!
//! The methods take `&self`, so one task may read while another writes the same
//! stream: the traits are implemented for `Rc<T>` and `&T` too, so share it
//! with an `Rc` — see "Sharing a stream" below.
//!
//! `read` and `write` return `'static` futures ([`ReadFuture`], [`WriteFuture`])
//! that own the buffer and a handle to the fd and borrow nothing. That is the
//! poll-style entry point for protocol code: a framed transport can store a read
//! in flight and resume it on its next call, so a caller's dropped future (a
//! timeout) loses no bytes and no buffer, and no future is boxed per read.
//!
//! A single read or write can carry its own time limit:
//! [`ReadFuture::timeout`] / [`deadline`](ReadFuture::deadline) (and the same
//! on [`WriteFuture`]). Unlike [`time::timeout`](crate::time::timeout) around
//! the future, the op ends with [`io::ErrorKind::TimedOut`] and hands the
//! buffer back, and bytes that arrived in time are never lost; on io_uring the
//! limit is a timeout linked to the op in the kernel, with no timer and no
//! cancel of ours.
//!
//! ```
//! use std::io::ErrorKind;
//! use std::time::Duration;
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::{TcpListener, TcpStream};
//!
//! ringo_reactor::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let b = TcpStream::connect(listener.local_addr()?).await?;
//!     let (a, _) = listener.accept().await?;
//!     let (result, buf) = a.read(vec![0u8; 64]).timeout(Duration::from_millis(5)).await;
//!     assert_eq!(result.unwrap_err().kind(), ErrorKind::TimedOut);
//!     b.write_all(b"late".to_vec()).await.0?;
//!     let (result, buf) = a.read(buf).timeout(Duration::from_secs(5)).await;
//!     assert_eq!(&buf[..result?], b"late");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Examples
//! ```no_run
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::TcpStream;
//!
//! ringo_reactor::run(async {
//!     let stream = TcpStream::connect("127.0.0.1:7000").await?;
//!     let (result, _) = stream.write_all(b"hello".to_vec()).await;
//!     result?;
//!     let (result, buf) = stream.read_exact(vec![0u8; 5]).await;
//!     result?;
//!     assert_eq!(&buf, b"hello");
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Sharing a stream: `Rc<TcpStream>` is the split
//!
//! Every method of these traits takes `&self`, and every read or write future
//! owns its buffer *and its own handle to the fd* (it borrows nothing, see
//! [`AsyncRead::Read`]). So sharing the stream itself is already sound with
//! operations in flight: a task that drops its `Rc<TcpStream>` (or whose
//! future is dropped) while its read is in flight leaves that read holding the
//! fd and the buffer until the kernel is done, exactly as with an unshared
//! stream. Halves would add types without adding safety; `Rc<TcpStream>` is
//! the split — clone it, give one clone to a reader and one to a writer. The
//! fd closes when the last clone *and* the last operation in flight are gone.
//!
//! Don't read one stream from two tasks at once (or write from two): their
//! bytes would interleave unpredictably. One reader and one writer is the
//! intended use, as `Framed::split` in `ringo-proto` does.
//!
//! # Examples
//! ```no_run
//! use std::rc::Rc;
//! use ringo_reactor::io::{AsyncRead, AsyncWrite};
//! use ringo_reactor::net::TcpStream;
//!
//! ringo_reactor::run(async {
//!     let stream = Rc::new(TcpStream::connect("127.0.0.1:7000").await?);
//!     let writer = ringo_reactor::spawn({
//!         let stream = stream.clone();
//!         async move { stream.write_all(b"ping\n".to_vec()).await.0 }
//!     });
//!     let (n, buf) = stream.read(vec![0u8; 64]).await; // reads while the other task writes
//!     writer.await.unwrap()?;
//!     println!("{:?}", &buf[..n?]);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

// The futures of these traits are deliberately not `Send`: ringo tasks never
// leave their thread, so requiring `Send` would only forbid `Rc` in I/O code.
#![allow(async_fn_in_trait)]

mod copy;
pub mod poll;
pub(crate) mod send_file;
mod shared;

pub use copy::copy_bidirectional;
pub use send_file::SendFile;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::buf::{BufResult, IoBuf, IoBufMut, PooledBuf};
use crate::fs::File;
use crate::op::recv::Recv;
use crate::op::send_zc::SendFuture;
use crate::op::Op;

/// Reading into owned buffers.
pub trait AsyncRead {
    /// The future of [`read`](AsyncRead::read). It borrows nothing, so it can be
    /// stored and polled across calls; dropping it in flight is safe.
    type Read<B: IoBufMut>: Future<Output = BufResult<usize, B>> + Unpin + 'static;

    /// Reads at most `buf.bytes_total()` bytes into the start of `buf`. `Ok(0)`
    /// means end of stream (or an empty buffer).
    fn read<B: IoBufMut>(&self, buf: B) -> Self::Read<B>;

    /// Reads until `buf` is full (`bytes_total()` bytes).
    ///
    /// # Errors
    /// [`io::ErrorKind::UnexpectedEof`] if the stream ends first; the bytes read
    /// so far are in the returned buffer.
    async fn read_exact<B: IoBufMut>(&self, buf: B) -> BufResult<(), B> {
        let total = buf.bytes_total();
        let mut buf = buf;
        let mut filled = 0;
        while filled < total {
            let (result, slice) = self.read(buf.slice(filled..)).await;
            buf = slice.into_inner();
            match result {
                Ok(0) => {
                    let message = format!("stream ended after {filled} of {total} bytes");
                    return (
                        Err(io::Error::new(io::ErrorKind::UnexpectedEof, message)),
                        buf,
                    );
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Polls for the next bytes received into a buffer of the runtime's
    /// [`BufferPool`](crate::buf::BufferPool) instead of the caller's;
    /// `Ok(None)` at end of stream.
    ///
    /// The transports with a pooled receive ([`TcpStream`](crate::net::TcpStream),
    /// [`UnixStream`](crate::net::UnixStream), and `&T`/`Rc<T>` of them)
    /// implement it; the rest keep this default, which fails with
    /// [`io::ErrorKind::Unsupported`] and reads nothing, so generic code — a
    /// framed transport — tries it and falls back to [`read`](Self::read)
    /// where it is missing. The receive's state lives in the transport, not
    /// in the caller, so a caller that stops polling (a dropped future) loses
    /// no bytes: the next poll picks up where it left off. See the
    /// transport's `recv_pooled` for how buffers are picked and what happens
    /// when the pool is empty.
    fn poll_recv_pooled(&self, _cx: &mut Context<'_>) -> Poll<io::Result<Option<PooledBuf>>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport has no pooled receive",
        )))
    }
}

/// Writing from owned buffers.
pub trait AsyncWrite {
    /// The future of [`write`](AsyncWrite::write); like [`AsyncRead::Read`], it
    /// borrows nothing.
    type Write<B: IoBuf>: Future<Output = BufResult<usize, B>> + Unpin + 'static;

    /// Writes some of `buf`'s initialised bytes; returns how many.
    fn write<B: IoBuf>(&self, buf: B) -> Self::Write<B>;

    /// Polls `write`, a future of [`write`](Self::write), as `Future::poll`
    /// does, except that a write that goes whole need not wake `cx`'s task:
    /// only a short or failed one must. The task finds the result when it
    /// polls `write` again, for whatever reason it next runs.
    ///
    /// For a writer with nothing to do once its bytes are handed over — a
    /// server that answered a request and waits for the next — this saves
    /// the task a turn per write on io_uring, where a write completes after
    /// the poll that submitted it (on a readiness driver it completes within
    /// the poll). Someone waiting for the write to finish (to write more, or
    /// to close) polls the usual way, which makes the completion wake again.
    ///
    /// The sockets of this crate write quietly on io_uring; the default
    /// polls as usual, which is always correct.
    fn poll_write_quietly<B: IoBuf>(
        write: &mut Self::Write<B>,
        cx: &mut Context<'_>,
    ) -> Poll<BufResult<usize, B>> {
        Pin::new(write).poll(cx)
    }

    /// Writes the initialised bytes of every buffer in order, in one syscall
    /// where possible; returns how many bytes were written (maybe fewer than all).
    async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>>;

    /// Shuts down the write half: the peer reads end of stream. Reading goes on.
    async fn shutdown(&self) -> io::Result<()>;

    /// Sends `len` bytes of `file` from `offset` without the bytes passing
    /// through user space where the system allows; the future gives the bytes
    /// sent.
    ///
    /// The transports that can ([`TcpStream`](crate::net::TcpStream),
    /// [`UnixStream`](crate::net::UnixStream), and `&T`/`Rc<T>` of them)
    /// implement it: on io_uring the file is spliced through a pipe to the
    /// socket (a send of at most 64 KiB is read into a buffer and written,
    /// which costs fewer trips); on compat it goes with `sendfile(2)`;
    /// elsewhere, or if the kernel refuses both, it is read into a buffer and
    /// written. The rest keep this default, which fails at once with
    /// [`io::ErrorKind::Unsupported`] having sent nothing, so generic code — a
    /// framed transport — tries it and falls back to reading the file and
    /// writing the bytes itself where it is missing (a TLS stream must encrypt
    /// them).
    ///
    /// Fewer than `len` bytes are sent only if the file ends first (it was
    /// truncated): the count says where. The file's cursor is neither used nor
    /// moved. Backpressure is the socket's: a reader that stops leaves the
    /// send waiting, holding at most one pipe's (or buffer's) worth of bytes.
    ///
    /// # Errors
    /// At once, `Unsupported` (above). From the future, the socket's error
    /// (`ECONNRESET`, `EPIPE` when the peer has gone) or the file's (`EIO`).
    /// Dropping the future mid-send is safe; how many bytes went is then
    /// unknown, so the connection should be closed.
    ///
    /// # Examples
    /// ```no_run
    /// use ringo_reactor::fs::File;
    /// use ringo_reactor::io::AsyncWrite;
    /// use ringo_reactor::net::TcpStream;
    ///
    /// async fn send(stream: &TcpStream) -> std::io::Result<()> {
    ///     let file = File::open("index.html").await?;
    ///     let len = file.metadata().await?.len();
    ///     let sent = stream.send_file(&file, 0, len)?.await?;
    ///     assert_eq!(sent, len, "the file shrank while being sent");
    ///     Ok(())
    /// }
    /// ```
    fn send_file(&self, file: &File, offset: u64, len: u64) -> io::Result<SendFile> {
        let _ = (file, offset, len);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport cannot send files",
        ))
    }

    /// Writes all of `buf`'s initialised bytes.
    ///
    /// # Errors
    /// [`io::ErrorKind::WriteZero`] if the peer stops accepting bytes.
    async fn write_all<B: IoBuf>(&self, buf: B) -> BufResult<(), B> {
        let total = buf.bytes_init();
        let mut buf = buf;
        let mut written = 0;
        while written < total {
            let (result, slice) = self.write(buf.slice(written..total)).await;
            buf = slice.into_inner();
            match result {
                Ok(0) => {
                    let message = format!(
                        "wrote {written} of {total} bytes, then the stream accepted no more"
                    );
                    return (Err(io::Error::new(io::ErrorKind::WriteZero, message)), buf);
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }
}

/// The future of a socket read; see [`AsyncRead::read`].
pub struct ReadFuture<B: IoBufMut>(pub(crate) Op<Recv<B>>);

impl<B: IoBufMut> Future for ReadFuture<B> {
    type Output = BufResult<usize, B>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<B: IoBufMut> fmt::Debug for ReadFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadFuture").field(&self.0).finish()
    }
}

/// `deadline` and `timeout` for an op future wrapping `Op` in field 0; `$what`
/// names the op in the docs.
macro_rules! deadline_methods {
    ($future:ident, $bound:ident, $what:literal) => {
        impl<B: $bound> $future<B> {
            #[doc = concat!("Makes the ", $what, " give up at `deadline`: it then")]
            /// completes with [`io::ErrorKind::TimedOut`] and hands the buffer
            /// back, having transferred nothing; the stream stays usable.
            /// Bytes transferred before the deadline are reported as usual.
            /// A deadline already past ends the op as soon as it would have to
            /// wait. Set before the first poll, it replaces any earlier
            /// deadline; on a future already polled, only an earlier one applies.
            ///
            /// On io_uring, set before the first poll (as in
            #[doc = concat!("`stream.", $what, "(buf).timeout(d).await`),")]
            /// the deadline is an `IORING_OP_LINK_TIMEOUT` linked to the op:
            /// one SQE pair, no timer. Otherwise the timer wheel keeps it.
            pub fn deadline(mut self, deadline: Instant) -> $future<B> {
                self.0.set_deadline(deadline);
                self
            }

            #[doc = concat!("Makes the ", $what, " give up after `duration`; see")]
            /// [`deadline`](Self::deadline). A duration too long to name an
            /// instant means no limit.
            pub fn timeout(self, duration: Duration) -> $future<B> {
                match Instant::now().checked_add(duration) {
                    Some(deadline) => self.deadline(deadline),
                    None => self,
                }
            }
        }
    };
}

deadline_methods!(ReadFuture, IoBufMut, "read");
deadline_methods!(WriteFuture, IoBuf, "write");

/// The future of a socket write; see [`AsyncWrite::write`]. On a TCP stream it
/// may be a zero-copy send (see
/// [`Builder::zero_copy_send_threshold`](crate::Builder::zero_copy_send_threshold)).
pub struct WriteFuture<B: IoBuf>(pub(crate) SendFuture<B>);

impl<B: IoBuf> Future for WriteFuture<B> {
    type Output = BufResult<usize, B>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<B: IoBuf> WriteFuture<B> {
    /// See [`AsyncWrite::poll_write_quietly`].
    pub(crate) fn poll_quietly(&mut self, cx: &mut Context<'_>) -> Poll<BufResult<usize, B>> {
        self.0.poll_quietly(cx)
    }
}

impl<B: IoBuf> fmt::Debug for WriteFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteFuture").field(&self.0).finish()
    }
}
