//! Taking a [`Framed`] apart: [`Framed::into_parts`] / [`Framed::from_parts`]
//! to hand a connection to another protocol with its buffered bytes, and
//! [`Framed::split`] into a reader and a writer for two tasks.
//!
//! Neither may lose a byte, so both respect an operation in flight (one left
//! by a dropped `next` or `flush` future, which the next call would resume):
//! `split` carries it over into the half that resumes it; `into_parts`, whose
//! parts have nowhere to keep it, refuses and gives the `Framed` back.

use bytes::BytesMut;
use ringo_reactor::io::{AsyncRead, AsyncWrite};

use super::{Framed, FramedRead, FramedWrite, ReadState, WriteState};

/// A [`Framed`] taken apart by [`Framed::into_parts`].
#[derive(Debug)]
pub struct FramedParts<T, C> {
    /// The transport.
    pub io: T,
    /// The codec.
    pub codec: C,
    /// Bytes read but not yet decoded.
    pub read_buf: BytesMut,
    /// Frames encoded but not yet written.
    pub write_buf: BytesMut,
}

impl<T: AsyncRead + AsyncWrite, C> Framed<T, C> {
    /// The transport, codec and both buffers; or, if a read or a write is in
    /// flight (its future was dropped before it finished), this `Framed` back
    /// unchanged (boxed: it is large) — call [`next`](Self::next) or
    /// [`flush`](Self::flush) to finish it first. A [`pooled`](Self::pooled)
    /// reader's received bytes are copied into `read_buf`.
    ///
    /// # Examples
    /// ```
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::Framed;
    /// use ringo_reactor::io::AsyncWrite;
    /// use ringo_reactor::net::{TcpListener, TcpStream};
    ///
    /// ringo_reactor::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let b = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (a, _) = listener.accept().await?;
    ///     b.write_all(b"HELLO\nraw bytes".to_vec()).await.0?;
    ///     let mut lines = Framed::new(a, LinesCodec::new());
    ///     assert_eq!(lines.next().await.unwrap()?, "HELLO");
    ///     let parts = lines.into_parts().expect("nothing in flight");
    ///     assert_eq!(&parts.read_buf[..], b"raw bytes"); // for the next protocol
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// }).unwrap();
    /// ```
    pub fn into_parts(self) -> Result<FramedParts<T, C>, Box<Framed<T, C>>> {
        if self.read.is_reading() || self.write.is_writing() {
            return Err(Box::new(self));
        }
        Ok(FramedParts {
            read_buf: self.read.into_buffer(),
            write_buf: self.write.into_buffer(),
            io: self.io,
            codec: self.codec,
        })
    }

    /// A `Framed` over `parts`, reading its `read_buf` first and writing its
    /// `write_buf` with the next flush.
    pub fn from_parts(parts: FramedParts<T, C>) -> Framed<T, C> {
        let mut write = WriteState::new();
        write.restore_buffer(parts.write_buf);
        Framed {
            read: ReadState::new(parts.read_buf),
            write,
            io: parts.io,
            codec: parts.codec,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Clone, C: Clone> Framed<T, C> {
    /// A reader and a writer over the same transport, for two tasks: frame an
    /// `Rc<TcpStream>` (see `ringo_reactor::io`, "Sharing a stream", for why
    /// that is sound with operations in flight). Buffered bytes, settings and
    /// any operation in flight carry over to the half that resumes them; each
    /// half gets a clone of the codec.
    ///
    /// # Examples
    /// ```
    /// use std::rc::Rc;
    /// use ringo_proto::codec::LinesCodec;
    /// use ringo_proto::Framed;
    /// use ringo_reactor::net::{TcpListener, TcpStream};
    ///
    /// ringo_reactor::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let b = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (a, _) = listener.accept().await?;
    ///     let (_, mut to_b) = Framed::new(Rc::new(a), LinesCodec::new()).split();
    ///     let (mut from_a, _) = Framed::new(Rc::new(b), LinesCodec::new()).split();
    ///     let writer = ringo_reactor::spawn(async move { to_b.send("hi").await });
    ///     assert_eq!(from_a.next().await.unwrap()?, "hi");
    ///     writer.await.unwrap()?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// }).unwrap();
    /// ```
    pub fn split(self) -> (FramedRead<T, C>, FramedWrite<T, C>) {
        let reader = FramedRead::from_state(self.read, self.io.clone(), self.codec.clone());
        let writer = FramedWrite::from_state(self.write, self.io, self.codec);
        (reader, writer)
    }
}
