//! [`TlsStream`]: a TLS connection over any owned-buffer stream, itself an
//! owned-buffer stream, so `Framed`, the dispatchers and every service run
//! over it unchanged.
//!
//! Its futures borrow nothing (they share the engine by `Rc`), like the
//! reactor's: a framed transport can keep one in flight across calls.
//! Plaintext is copied once, between the caller's buffer and rustls's; the
//! ciphertext never leaves the engine's two reused buffers.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use ringo_reactor::buf::{BufResult, IoBuf, IoBufMut};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use rustls::{Connection, HandshakeKind, ProtocolVersion};

use super::engine::{Engine, Side};

/// A TLS connection (client or server side) over the stream `S`, after its
/// handshake; made by [`TlsAcceptor::accept`](super::TlsAcceptor::accept) or
/// [`TlsConnector::connect`](super::TlsConnector::connect).
///
/// Reading returns `Ok(0)` once the peer sent `close_notify` (a clean
/// half-close: writing goes on); a connection that ends without it fails the
/// read with [`io::ErrorKind::UnexpectedEof`], since the end was not signed.
/// [`shutdown`](AsyncWrite::shutdown) sends `close_notify`, then shuts the
/// stream's write half. A TLS error (bad record, the peer's alert) fails
/// every later call with [`io::ErrorKind::InvalidData`] whose inner error is
/// the [`rustls::Error`], after the alert rustls owes the peer went out.
pub struct TlsStream<S: AsyncRead + AsyncWrite> {
    engine: Rc<Engine<S>>,
}

impl<S: AsyncRead + AsyncWrite> TlsStream<S> {
    /// Runs the handshake of `conn` over `io` to its end.
    pub(crate) async fn handshake(io: S, conn: Connection) -> io::Result<TlsStream<S>> {
        let engine = Rc::new(Engine::new(io, conn));
        poll_fn(|cx| engine.poll_handshake(cx)).await?;
        Ok(TlsStream { engine })
    }

    /// The stream under the TLS layer (for its address or socket options;
    /// reading or writing it directly would corrupt the TLS stream).
    pub fn get_ref(&self) -> &S {
        &self.engine.io
    }

    /// The protocol the peers agreed on through ALPN (`b"http/1.1"`), if any.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.engine
            .conn
            .borrow()
            .alpn_protocol()
            .map(<[u8]>::to_vec)
    }

    /// The TLS version in use.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.engine.conn.borrow().protocol_version()
    }

    /// Whether the handshake was a full one or resumed a session.
    pub fn handshake_kind(&self) -> Option<HandshakeKind> {
        self.engine.conn.borrow().handshake_kind()
    }

    /// On the server side, the name the client asked for (SNI), if any.
    pub fn server_name(&self) -> Option<String> {
        match &*self.engine.conn.borrow() {
            Connection::Server(server) => server.server_name().map(str::to_owned),
            Connection::Client(_) => None,
        }
    }
}

impl<S: AsyncRead + AsyncWrite> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("protocol_version", &self.protocol_version())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + 'static> AsyncRead for TlsStream<S> {
    type Read<B: IoBufMut> = TlsRead<S, B>;

    fn read<B: IoBufMut>(&self, buf: B) -> TlsRead<S, B> {
        TlsRead {
            engine: self.engine.clone(),
            buf: Some(buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + 'static> AsyncWrite for TlsStream<S> {
    type Write<B: IoBuf> = TlsWrite<S, B>;

    fn write<B: IoBuf>(&self, buf: B) -> TlsWrite<S, B> {
        TlsWrite {
            engine: self.engine.clone(),
            buf: Some(buf),
            taken: None,
        }
    }

    async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> BufResult<usize, Vec<B>> {
        let taken = poll_fn(|cx| {
            let chunks: Vec<&[u8]> = bufs.iter().map(initialised).collect();
            self.engine.poll_accept_plaintext(cx, &chunks)
        })
        .await;
        let result = match taken {
            Ok(n) => poll_fn(|cx| self.engine.poll_flush(Side::Writer, cx))
                .await
                .map(|()| n),
            Err(e) => Err(e),
        };
        (result, bufs)
    }

    async fn shutdown(&self) -> io::Result<()> {
        poll_fn(|cx| self.engine.poll_flush(Side::Writer, cx)).await?;
        self.engine.send_close_notify();
        poll_fn(|cx| self.engine.poll_flush(Side::Writer, cx)).await?;
        self.engine.io.shutdown().await
    }
}

/// The initialised bytes of `buf`.
fn initialised<B: IoBuf>(buf: &B) -> &[u8] {
    let len = buf.bytes_init();
    if len == 0 {
        return &[];
    }
    // SAFETY: `IoBuf` promises `stable_ptr` points at `bytes_init()`
    // initialised bytes that stay put and unchanged while `buf` is borrowed.
    unsafe { std::slice::from_raw_parts(buf.stable_ptr(), len) }
}

/// The future of [`TlsStream::read`](AsyncRead::read).
pub struct TlsRead<S: AsyncRead + AsyncWrite, B> {
    engine: Rc<Engine<S>>,
    /// `None` once returned.
    buf: Option<B>,
}

// The buffer is only ever moved, never pinned: the future may move freely.
impl<S: AsyncRead + AsyncWrite, B> Unpin for TlsRead<S, B> {}

impl<S: AsyncRead + AsyncWrite, B: IoBufMut> Future for TlsRead<S, B> {
    type Output = BufResult<usize, B>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let buf = this.buf.as_mut().expect("TlsRead polled after completion");
        let result = ready!(this.engine.poll_read(cx, |plain| {
            let n = plain.len().min(buf.bytes_total());
            let dst = buf.stable_mut_ptr();
            // SAFETY: `IoBufMut` promises `dst` is valid for writes of
            // `bytes_total()` bytes, and `n` is no more; `plain` is rustls's
            // buffer, not `buf`'s, so the two do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(plain.as_ptr(), dst, n) };
            // SAFETY: the first `n` bytes were just written.
            unsafe { buf.set_init(n) };
            n
        }));
        Poll::Ready((result, this.buf.take().expect("checked above")))
    }
}

impl<S: AsyncRead + AsyncWrite, B> fmt::Debug for TlsRead<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsRead").finish_non_exhaustive()
    }
}

/// The future of [`TlsStream::write`](AsyncWrite::write): ready once the
/// records carrying the bytes rustls took are on the stream.
pub struct TlsWrite<S: AsyncRead + AsyncWrite, B> {
    engine: Rc<Engine<S>>,
    /// `None` once returned.
    buf: Option<B>,
    /// How many bytes rustls took, once it did.
    taken: Option<usize>,
}

// As `TlsRead`: the buffer is never pinned.
impl<S: AsyncRead + AsyncWrite, B> Unpin for TlsWrite<S, B> {}

impl<S: AsyncRead + AsyncWrite, B: IoBuf> Future for TlsWrite<S, B> {
    type Output = BufResult<usize, B>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let buf = this.buf.as_ref().expect("TlsWrite polled after completion");
        let result = match this.taken {
            Some(n) => ready!(this.engine.poll_flush(Side::Writer, cx)).map(|()| n),
            None => match ready!(this.engine.poll_accept_plaintext(cx, &[initialised(buf)])) {
                Ok(n) => {
                    this.taken = Some(n);
                    ready!(this.engine.poll_flush(Side::Writer, cx)).map(|()| n)
                }
                Err(e) => Err(e),
            },
        };
        Poll::Ready((result, this.buf.take().expect("checked above")))
    }
}

impl<S: AsyncRead + AsyncWrite, B> fmt::Debug for TlsWrite<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsWrite")
            .field("taken", &self.taken)
            .finish_non_exhaustive()
    }
}
