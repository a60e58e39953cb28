//! [`Client`]: calls to a Redis server over one pipelined connection.
//!
//! Commands from any number of tasks share the connection: each is written
//! as soon as the connection task can, and replies are matched to callers in
//! order (Redis answers in order), so concurrent calls pipeline by themselves.
//! For several connections with reconnection, see [`Pool`](super::Pool).

use std::fmt;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use ringo_proto::pipeline;
use ringo_proto::resp::{command, Frame, RespCodec};
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_proto::Framed;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;

use crate::{Error, Service, Status};

/// A TCP connection to `addr` with Nagle off: commands go out as soon as
/// they are queued.
async fn tcp(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A reply that is not what the command promises.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyError {
    /// The server answered with an error reply; its text, such as
    /// `ERR value is not an integer or out of range`.
    Server(String),
    /// The server answered with a reply of a type the command never returns.
    Unexpected(Frame),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Server(text) => write!(f, "server replied with an error: {text}"),
            ReplyError::Unexpected(frame) => write!(f, "unexpected reply {frame:?}"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// A connection to a Redis server; cheap to clone (clones share the
/// connection). Lives on the runtime that connected it.
#[derive(Debug, Clone)]
pub struct Client {
    inner: pipeline::Client<Frame, Frame>,
}

impl Client {
    /// Connects to `addr` and spawns the task that drives the connection on
    /// the current runtime; it ends when every clone is dropped and every call
    /// answered, or when the connection fails.
    ///
    /// ```no_run
    /// use ringo_service::redis::Client;
    ///
    /// ringo_reactor::run(async {
    ///     let client = Client::connect("127.0.0.1:6379".parse().unwrap()).await?;
    ///     client.set("greeting", "hello").await?;
    ///     assert_eq!(client.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
    ///     Ok::<(), ringo_service::Error>(())
    /// })
    /// # .unwrap();
    /// ```
    ///
    /// # Errors
    /// The connection could not be made.
    ///
    /// # Panics
    /// When called outside a ringo runtime.
    pub async fn connect(addr: SocketAddr) -> io::Result<Client> {
        Ok(Client::start(tcp(addr).await?, addr))
    }

    /// Connects to `addr` with TLS (a server run with `--tls-port`), checking
    /// its certificate against `name` with `connector`'s configuration.
    ///
    /// # Errors
    /// The connection or the handshake failed; a refused certificate is
    /// [`io::ErrorKind::InvalidData`] carrying the `rustls::Error` (which
    /// [`Error`]'s conversion turns into [`ErrorKind::Tls`](crate::ErrorKind)).
    ///
    /// # Panics
    /// When called outside a ringo runtime.
    pub async fn connect_tls(
        addr: SocketAddr,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<Client> {
        let stream = connector.connect(name, tcp(addr).await?).await?;
        Ok(Client::start(stream, addr))
    }

    /// Starts the task driving the connection over `stream`.
    fn start<T: AsyncRead + AsyncWrite + 'static>(stream: T, addr: SocketAddr) -> Client {
        let framed = Framed::new(stream, RespCodec::new().accept_inline(false));
        let (inner, connection) = pipeline::Client::new(framed);
        ringo_reactor::spawn(async move {
            if let Err(e) = connection.run().await {
                log::debug!("redis client connection to {addr} ended: {e}");
            }
        });
        Client { inner }
    }

    /// Sends `request` and waits for the reply. An error reply from the server
    /// is a successful call returning [`Frame::Error`].
    ///
    /// # Errors
    /// The connection failed: [`ErrorKind::NotWritten`](crate::ErrorKind) if the
    /// request never left (safe to retry), `ConnectionLost` if it did.
    pub async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Ok(self.inner.call(request).await?)
    }

    /// `PING`: checks that the server answers.
    ///
    /// # Errors
    /// The connection failed, or the reply was not `+PONG` ([`ReplyError`]).
    pub async fn ping(&self) -> Result<(), Error> {
        match self.call(command(["PING"])).await? {
            Frame::Simple(pong) if pong == "PONG" => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// `GET key`: the value, or `None` for a missing key.
    ///
    /// # Errors
    /// The connection failed, or the server replied with an error or with a
    /// reply `GET` never returns ([`ReplyError`]).
    pub async fn get(&self, key: impl Into<Bytes>) -> Result<Option<Bytes>, Error> {
        match self
            .call(command([Bytes::from_static(b"GET"), key.into()]))
            .await?
        {
            Frame::Bulk(value) => Ok(Some(value)),
            Frame::Null => Ok(None),
            other => Err(unexpected(other)),
        }
    }

    /// `SET key value`.
    ///
    /// # Errors
    /// The connection failed, or the reply was not `+OK` ([`ReplyError`]).
    pub async fn set(&self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), Error> {
        let request = command([Bytes::from_static(b"SET"), key.into(), value.into()]);
        match self.call(request).await? {
            Frame::Simple(ok) if ok == "OK" => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Whether the connection has ended; every call now fails with `NotWritten`.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Calls queued or awaiting their reply on this connection.
    pub fn outstanding(&self) -> usize {
        self.inner.outstanding()
    }
}

/// A [`ReplyError`] for `frame`: `Server` for an error reply, else `Unexpected`.
fn unexpected(frame: Frame) -> Error {
    match frame {
        Frame::Error(text) | Frame::BulkError(text) => {
            ReplyError::Server(String::from_utf8_lossy(&text).into_owned()).into()
        }
        other => ReplyError::Unexpected(other).into(),
    }
}

impl Service<Frame> for Client {
    type Response = Frame;
    type Error = Error;

    async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Client::call(self, request).await
    }

    /// `Closed` once the connection has ended.
    fn status(&self) -> Status {
        if self.is_closed() {
            Status::Closed
        } else {
            Status::Open
        }
    }
}
