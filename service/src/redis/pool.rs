//! [`Pool`]: a fixed number of pipelined Redis connections to one server,
//! reconnected when they die.
//!
//! It is the generic [`pool::Pool`](crate::pool::Pool) — slots, waiters,
//! eviction and reconnect backoff live there once — opening [`Client`]s, with
//! each connection shared by many calls at once (Redis pipelines), all of them
//! kept open from the first call on, and behind a [`Retry`] that resends a
//! request that never left and nothing else.

use std::io;

use ringo_proto::resp::Frame;
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_reactor::net::{Target, ToSocketAddrs};

use super::{Client, Url};
use crate::pool::{self, Connection, MakeConnection, PoolConfig};
use crate::retry::{Decision, Retry};
use crate::{Error, Service, Status};

/// Calls one connection carries at once before a caller waits for room (or
/// for another connection). Redis answers in order, so a deep pipeline costs
/// only the replies' buffering; the bound keeps a burst of callers from
/// queueing without limit on one socket.
const CALLS_PER_CONNECTION: usize = 1024;

/// Settings for a [`Pool`]; see [`Pool::builder`].
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    connector: Connector,
    size: usize,
    max_waiters: usize,
}

impl PoolBuilder {
    /// Connects with TLS, checking the server's certificate against `name`
    /// (see [`Client::connect_tls`]).
    pub fn tls(mut self, connector: TlsConnector, name: ServerName<'static>) -> PoolBuilder {
        self.connector.tls = Some((connector, name));
        self
    }

    /// How many connections (at least one); default 4.
    pub fn size(mut self, size: usize) -> PoolBuilder {
        self.size = size.max(1);
        self
    }

    /// Most callers waiting while every connection is at its call limit or
    /// still connecting; the next fails at once with
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) (its source a
    /// [`PoolError::TooManyWaiters`](crate::pool::PoolError::TooManyWaiters)).
    /// Default 1024; 0 never waits.
    pub fn max_waiters(mut self, n: usize) -> PoolBuilder {
        self.max_waiters = n;
        self
    }

    /// The pool. It connects on the first call, and from then on keeps
    /// `size` connections open.
    pub fn build(self) -> Pool {
        let config = PoolConfig {
            min_connections: self.size,
            max_connections: self.size,
            idle_timeout: None,
            max_waiters: self.max_waiters,
            max_calls_per_connection: CALLS_PER_CONNECTION,
            ..PoolConfig::default()
        };
        let pool = pool::Pool::new(self.connector, config);
        Pool {
            inner: Retry::new(pool, resend_unwritten as ResendPolicy).with_max_attempts(2),
        }
    }
}

/// Opens one pipelined connection: TCP (or TLS), then `SELECT db`.
#[derive(Debug, Clone)]
struct Connector {
    addr: Target,
    /// The database selected on each new connection (0: none).
    db: u32,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl MakeConnection for Connector {
    type Conn = Client;

    async fn connect(&self) -> Result<Client, Error> {
        Ok(Client::connect_db(&self.addr, self.db, self.tls.as_ref()).await?)
    }
}

impl Connection for Client {
    fn is_closed(&self) -> bool {
        Client::is_closed(self)
    }
}

type ResendPolicy = fn(&Frame, &Result<Frame, Error>) -> Decision;

/// Sends a request again only if it never left: one whose connection broke
/// after the write may have run, and Redis commands are not all idempotent.
fn resend_unwritten(_: &Frame, result: &Result<Frame, Error>) -> Decision {
    match result {
        Err(error) if error.is_not_written() => Decision::Retry,
        _ => Decision::Return,
    }
}

/// Pipelined connections to one Redis server; cheap to clone (clones share
/// the connections). Lives on the runtime that made it.
///
/// `!Send`: it lives on one runtime (thread) with its connections, and its
/// clones share state through `Rc`. A compiler error naming an `Rc` inside
/// ringo means it was moved to another thread: make one per worker, inside
/// the server's factory or the worker's runtime (see the `ringo_service`
/// crate docs, "Thread per core").
///
/// The first call connects; from then on the pool keeps
/// [`size`](PoolBuilder::size) connections open, replacing one that dies
/// within half a second, with a jittered backoff while the server refuses.
/// Each call takes the connection with the fewest calls outstanding. A
/// connection seen closed is never used again, so a server restart costs the
/// calls that were on it, not the pool. A call whose request never left
/// (`NotWritten`: the connection died first) is sent once more, on another
/// connection; a call that may have reached the server is never repeated.
/// The rules for waiting and failing are [`pool::Pool`](crate::pool::Pool)'s.
///
/// ```no_run
/// use ringo_service::redis::{command, Pool};
///
/// ringo_reactor::run(async {
///     let pool = Pool::builder("127.0.0.1:6379").size(2).build();
///     let pong = pool.call(command(["PING"])).await?;
///     println!("{pong:?}");
///     Ok::<(), ringo_service::Error>(())
/// })
/// # .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Retry<pool::Pool<Connector>, ResendPolicy>,
}

impl Pool {
    /// Settings for a pool of connections to `addr`: a `SocketAddr`,
    /// `"127.0.0.1:6379"`, `"localhost:6379"`, `("localhost", 6379)` or any
    /// [`ToSocketAddrs`] (a name is resolved off the loop thread, at each
    /// connect). An address that does not parse fails each call with
    /// `Unavailable` (its `InvalidInput` I/O error as the source).
    pub fn builder(addr: impl ToSocketAddrs) -> PoolBuilder {
        PoolBuilder {
            connector: Connector {
                addr: addr.to_target(),
                db: 0,
                tls: None,
            },
            size: 4,
            max_waiters: pool::PoolConfig::default().max_waiters,
        }
    }

    /// Settings for a pool of connections to the server a
    /// `redis://host:port/db` URL names ([`Url`]); each connection selects
    /// the URL's database.
    ///
    /// # Errors
    /// `InvalidInput` for an invalid or unsupported URL.
    pub fn builder_url(url: &str) -> io::Result<PoolBuilder> {
        let url: Url = url.parse()?;
        let mut builder = Pool::builder(url.addr());
        builder.connector.db = url.db();
        Ok(builder)
    }

    /// A connection for several calls of one caller (a `MULTI` … `EXEC`
    /// block, say), connecting one if needed. The pool does not count the
    /// calls made on it.
    ///
    /// # Errors
    /// As [`call`](Self::call) when no connection could be had.
    pub async fn client(&self) -> Result<Client, Error> {
        let client = self.inner.get_ref().checkout_shared().await?;
        Ok(Client::clone(&client))
    }

    /// Sends `request` on a pooled connection and waits for the reply; see
    /// [`Client::call`]. A request that never left is sent once more.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when no
    /// connection could be had (the cause is a
    /// [`PoolError`](crate::pool::PoolError)), or as [`Client::call`].
    pub async fn call(&self, request: Frame) -> Result<Frame, Error> {
        self.inner.call(request).await
    }

    /// Connections now open.
    pub fn connections(&self) -> usize {
        self.inner.get_ref().connections()
    }
}

impl Service<Frame> for Pool {
    type Response = Frame;
    type Error = Error;

    async fn call(&self, request: Frame) -> Result<Frame, Error> {
        Pool::call(self, request).await
    }

    /// As [`pool::Pool::status`](crate::pool::Pool::status).
    fn status(&self) -> Status {
        self.inner.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn only_a_request_that_never_left_is_sent_again() {
        let request = Frame::Simple("INCR".into());
        let result = |kind| Err(Error::new(kind));
        assert_eq!(
            resend_unwritten(&request, &result(ErrorKind::NotWritten)),
            Decision::Retry
        );
        for kind in [
            ErrorKind::ConnectionLost,
            ErrorKind::Timeout,
            ErrorKind::Unavailable,
        ] {
            assert_eq!(
                resend_unwritten(&request, &result(kind)),
                Decision::Return,
                "{kind:?}: the server may have run it, or no connection took it"
            );
        }
        assert_eq!(
            resend_unwritten(&request, &Ok(Frame::Simple("OK".into()))),
            Decision::Return
        );
    }
}
