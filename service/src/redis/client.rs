//! [`Client`]: calls to a Redis server over one pipelined connection.
//!
//! Commands from any number of tasks share the connection: each is written
//! as soon as the connection task can, and replies are matched to callers in
//! order (Redis answers in order), so concurrent calls pipeline by themselves.
//! For several connections with reconnection, see [`Pool`](super::Pool).

use std::fmt;
use std::io;

use bytes::Bytes;
use ringo_proto::pipeline;
use ringo_proto::resp::{command, Frame, RespCodec};
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_proto::Framed;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{Target, TcpStream, ToSocketAddrs};

use super::commands::unexpected;
use super::Url;
use crate::{Error, Service, Status};

/// A TCP connection to `addr` with Nagle off: commands go out as soon as
/// they are queued.
async fn tcp(addr: &Target) -> io::Result<TcpStream> {
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
///
/// `!Send`: it lives on one runtime (thread) with its connections, and its
/// clones share state through `Rc`. A compiler error naming an `Rc` inside
/// ringo means it was moved to another thread: make one per worker, inside
/// the server's factory or the worker's runtime (see the `ringo_service`
/// crate docs, "Thread per core").
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
    /// use ringo_service::redis::{Client, Commands};
    ///
    /// ringo_reactor::run(async {
    ///     let client = Client::connect("127.0.0.1:6379").await?;
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
    ///
    /// `addr` is a `SocketAddr`, `"127.0.0.1:6379"`, `"localhost:6379"`,
    /// `("localhost", 6379)` or any [`ToSocketAddrs`]; a name is resolved off
    /// the loop thread. For a `redis://` URL use [`connect_url`](Self::connect_url).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Client> {
        let addr = addr.to_target();
        Ok(Client::start(tcp(&addr).await?, addr))
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
        addr: impl ToSocketAddrs,
        connector: &TlsConnector,
        name: ServerName<'static>,
    ) -> io::Result<Client> {
        let addr = addr.to_target();
        let stream = connector.connect(name, tcp(&addr).await?).await?;
        Ok(Client::start(stream, addr))
    }

    /// Starts the task driving the connection over `stream`.
    fn start<T: AsyncRead + AsyncWrite + 'static>(stream: T, addr: Target) -> Client {
        let framed = Framed::new(stream, RespCodec::new().accept_inline(false));
        let (inner, connection) = pipeline::Client::new(framed);
        ringo_reactor::spawn(async move {
            if let Err(e) = connection.run().await {
                log::debug!("redis client connection to {addr} ended: {e}");
            }
        });
        Client { inner }
    }

    /// Connects to the server a `redis://host:port/db` URL names (see
    /// [`Url`]) and selects its database.
    ///
    /// # Errors
    /// The URL is invalid or unsupported (`InvalidInput`), the connection
    /// could not be made, or the server refused the `SELECT`.
    pub async fn connect_url(url: &str) -> io::Result<Client> {
        let url: Url = url.parse()?;
        Client::connect_db(url.addr(), url.db(), None).await
    }

    /// Connects to `addr` and, unless `db` is 0, selects database `db` (a
    /// refused `SELECT` is an I/O error of kind `Other`, its cause the
    /// [`ReplyError`]).
    /// With `tls`, over TLS, as [`connect_tls`](Self::connect_tls).
    pub(crate) async fn connect_db(
        addr: &Target,
        db: u32,
        tls: Option<&(TlsConnector, ServerName<'static>)>,
    ) -> io::Result<Client> {
        let client = match tls {
            None => Client::connect(addr).await?,
            Some((connector, name)) => Client::connect_tls(addr, connector, name.clone()).await?,
        };
        if db != 0 {
            let select = command([Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())]);
            match client.call(select).await.map_err(io::Error::other)? {
                Frame::Simple(ok) if ok == "OK" => {}
                other => return Err(io::Error::other(unexpected(other))),
            }
        }
        Ok(client)
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

    /// Whether the connection has ended; every call now fails with `NotWritten`.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Calls queued or awaiting their reply on this connection.
    pub fn outstanding(&self) -> usize {
        self.inner.outstanding()
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
