//! The engine under a [`TlsStream`](super::TlsStream): a rustls connection
//! driven through its buffer API over an owned-buffer stream.
//!
//! rustls never touches the socket. Ciphertext comes in through one reused
//! `Vec` that an owned-buffer read fills and `read_tls` drains; records go out
//! through another reused `Vec` that `write_tls` fills with everything pending
//! and one owned-buffer write carries. So a read is one socket read, a write
//! one socket write (two only when the socket takes part of it), and nothing is
//! allocated per record once the two buffers have grown.
//!
//! The ops in flight live here, not in the futures of `TlsStream`: a future
//! dropped mid-read or mid-write (a timeout) leaves its op to the next call,
//! so no ciphertext is lost and the TLS stream stays in step. The buffers stay
//! with their op until it completes (the reactor's cancellation rule).

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, BufRead};
use std::task::{ready, Context, Poll, Waker};

use ringo_reactor::buf::{IoBuf, Slice};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use rustls::Connection;

/// Ciphertext asked for per socket read: a full TLS record with room to spare,
/// so one read usually carries one or more whole records.
const READ_CHUNK: usize = 18 * 1024;

/// Which side of the stream is waiting on the outgoing flush: the flush op
/// keeps one waker, so the other side's is kept here and woken when it ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    Reader = 0,
    Writer = 1,
}

/// Received ciphertext and the socket read that fetches more.
struct Incoming<S: AsyncRead> {
    /// `None` while lent to `pending`.
    buf: Option<Vec<u8>>,
    pending: Option<S::Read<Vec<u8>>>,
    /// `buf[fed..]` is ciphertext rustls has not taken yet.
    fed: usize,
}

/// Records waiting to go out and the socket write carrying them.
struct Outgoing<S: AsyncWrite> {
    /// `None` while lent to `pending`.
    buf: Option<Vec<u8>>,
    pending: Option<S::Write<Slice<Vec<u8>>>>,
    /// `buf[..sent]` is on the wire already.
    sent: usize,
    waiters: [Option<Waker>; 2],
}

/// A rustls connection bound to a stream `S`.
pub(crate) struct Engine<S: AsyncRead + AsyncWrite> {
    pub(crate) io: S,
    pub(crate) conn: RefCell<Connection>,
    incoming: RefCell<Incoming<S>>,
    outgoing: RefCell<Outgoing<S>>,
    /// The first TLS error (ours or the peer's alert). Sticky: every later
    /// call fails with it, after the alert rustls queued has been sent.
    failed: RefCell<Option<rustls::Error>>,
}

impl<S: AsyncRead + AsyncWrite> Engine<S> {
    pub(crate) fn new(io: S, conn: Connection) -> Engine<S> {
        Engine {
            io,
            conn: RefCell::new(conn),
            incoming: RefCell::new(Incoming {
                buf: Some(Vec::new()),
                pending: None,
                fed: 0,
            }),
            outgoing: RefCell::new(Outgoing {
                buf: Some(Vec::new()),
                pending: None,
                sent: 0,
                waiters: [None, None],
            }),
            failed: RefCell::new(None),
        }
    }

    /// Runs the handshake until rustls has nothing left to say or hear for it,
    /// then sends what it queued at the end (TLS 1.3 session tickets).
    pub(crate) fn poll_handshake(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.poll_failure(Side::Writer, cx))?;
            ready!(self.poll_flush(Side::Writer, cx))?;
            if !self.conn.borrow().is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if self.feed() {
                continue;
            }
            if ready!(self.poll_receive(cx))? == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tls: the peer closed the connection during the handshake",
                )));
            }
        }
    }

    /// Copies decrypted bytes into `dst` (at most its length): `Ok(0)` once
    /// the peer sent `close_notify`, [`io::ErrorKind::UnexpectedEof`] if the
    /// connection ended without it (a truncation the peer did not sign).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        mut copy: impl FnMut(&[u8]) -> usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.poll_failure(Side::Reader, cx))?;
            {
                let mut conn = self.conn.borrow_mut();
                let mut reader = conn.reader();
                match reader.fill_buf() {
                    Ok(plain) => {
                        let n = copy(plain);
                        reader.consume(n);
                        return Poll::Ready(Ok(n));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            if self.feed() {
                continue;
            }
            // Replies rustls queued while reading (a key update, an alert)
            // go out without holding the read up.
            if self.conn.borrow().wants_write() || self.outgoing.borrow().pending.is_some() {
                if let Poll::Ready(Err(e)) = self.poll_flush(Side::Reader, cx) {
                    return Poll::Ready(Err(e));
                }
            }
            ready!(self.poll_receive(cx))?;
        }
    }

    /// Hands `plain` to rustls (as much as its buffer limit takes) once
    /// earlier records are out; returns how much it took. The records are
    /// sent by [`poll_flush`](Self::poll_flush).
    pub(crate) fn poll_accept_plaintext(
        &self,
        cx: &mut Context<'_>,
        plain: &[&[u8]],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_failure(Side::Writer, cx))?;
        ready!(self.poll_flush(Side::Writer, cx))?;
        let mut conn = self.conn.borrow_mut();
        let mut taken = 0;
        for chunk in plain {
            let n = io::Write::write(&mut conn.writer(), chunk)?;
            taken += n;
            if n < chunk.len() {
                break;
            }
        }
        Poll::Ready(Ok(taken))
    }

    /// Queues `close_notify`.
    pub(crate) fn send_close_notify(&self) {
        self.conn.borrow_mut().send_close_notify();
    }

    /// Sends every record rustls has queued; ready when all are on the wire.
    pub(crate) fn poll_flush(&self, side: Side, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.outgoing.borrow_mut();
        loop {
            if let Some(op) = out.pending.as_mut() {
                let (result, slice) = match std::pin::Pin::new(op).poll(cx) {
                    Poll::Pending => {
                        out.waiters[side as usize] = Some(cx.waker().clone());
                        return Poll::Pending;
                    }
                    Poll::Ready(done) => done,
                };
                out.pending = None;
                out.buf = Some(slice.into_inner());
                for waiter in out.waiters.iter_mut().filter_map(Option::take) {
                    waiter.wake();
                }
                match result {
                    Ok(0) => {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::WriteZero,
                            "tls: the stream accepted no more bytes",
                        )))
                    }
                    Ok(n) => out.sent += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            let out = &mut *out;
            let buf = out
                .buf
                .as_mut()
                .expect("no write in flight holds the buffer");
            if out.sent == buf.len() {
                buf.clear();
                out.sent = 0;
                let mut conn = self.conn.borrow_mut();
                while conn.wants_write() {
                    conn.write_tls(buf)?;
                }
                if buf.is_empty() {
                    return Poll::Ready(Ok(()));
                }
            }
            let buf = out.buf.take().expect("checked above");
            out.pending = Some(self.io.write(buf.slice(out.sent..)));
        }
    }

    /// Gives rustls the ciphertext it has not taken yet, and lets it process
    /// it; `false` if there was none. A TLS error is kept in `failed`.
    fn feed(&self) -> bool {
        let mut incoming = self.incoming.borrow_mut();
        let incoming = &mut *incoming;
        let Some(buf) = incoming.buf.as_mut() else {
            return false;
        };
        if incoming.fed == buf.len() {
            return false;
        }
        let mut conn = self.conn.borrow_mut();
        let mut unfed = &buf[incoming.fed..];
        match conn.read_tls(&mut unfed) {
            Ok(n) if n > 0 => incoming.fed += n,
            result => {
                let e = result
                    .err()
                    .map_or_else(|| "no progress".to_owned(), |e| e.to_string());
                // rustls's buffers are full: only a peer ignoring the
                // protocol gets here, as plaintext is taken before more
                // ciphertext is fed.
                *self.failed.borrow_mut() = Some(rustls::Error::General(e));
                return true;
            }
        }
        if let Err(e) = conn.process_new_packets() {
            *self.failed.borrow_mut() = Some(e);
        }
        true
    }

    /// Reads more ciphertext from the stream into the incoming buffer;
    /// `Ok(0)` at its end, which rustls is told of.
    fn poll_receive(&self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut incoming = self.incoming.borrow_mut();
        if incoming.pending.is_none() {
            let mut buf = incoming
                .buf
                .take()
                .expect("no read in flight holds the buffer");
            buf.clear();
            buf.reserve(READ_CHUNK);
            incoming.fed = 0;
            incoming.pending = Some(self.io.read(buf));
        }
        let op = incoming.pending.as_mut().expect("set above");
        let (result, buf) = ready!(std::pin::Pin::new(op).poll(cx));
        incoming.pending = None;
        incoming.buf = Some(buf);
        drop(incoming);
        let n = result?;
        if n == 0 {
            let mut conn = self.conn.borrow_mut();
            // Reading from an empty slice tells rustls the stream ended.
            conn.read_tls(&mut &[][..])?;
            if let Err(e) = conn.process_new_packets() {
                *self.failed.borrow_mut() = Some(e);
            }
        }
        Poll::Ready(Ok(n))
    }

    /// Ready with `Ok` while no TLS error happened; after one, sends the alert
    /// rustls queued for it, then fails with it every time.
    fn poll_failure(&self, side: Side, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(error) = self.failed.borrow().clone() else {
            return Poll::Ready(Ok(()));
        };
        // The alert is a courtesy: a peer that left cannot get it.
        let _ = ready!(self.poll_flush(side, cx));
        Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, error)))
    }
}
