//! Opening one connection to an endpoint for its pool: look the name up,
//! connect within the time limit, run the TLS handshake for `https`, and
//! start the pipelined dispatcher over the stream. [`open`] is the step that
//! yields the TCP stream.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use ringo_proto::http::{ClientCodec, GatheringClientCodec, Limits};
use ringo_proto::tls::rustls::pki_types::ServerName;
use ringo_proto::tls::TlsConnector;
use ringo_proto::{pipeline, Framed};
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;

use super::connection::HttpConnection;
use super::request::Endpoint;
use crate::error::Error;
use crate::pool::MakeConnection;

/// Opens connections to one endpoint for its pool.
#[derive(Debug)]
pub(super) struct Connector {
    pub(super) endpoint: Endpoint,
    pub(super) connect_timeout: Duration,
    pub(super) limits: Limits,
    pub(super) max_pipelined: usize,
    /// For `https` endpoints.
    pub(super) tls: Option<TlsConnector>,
}

impl MakeConnection for Connector {
    type Conn = HttpConnection;

    async fn connect(&self) -> Result<HttpConnection, Error> {
        let stream = open(&self.endpoint, self.connect_timeout).await?;
        let Endpoint { host, port, .. } = &self.endpoint;
        let endpoint = format!("{host}:{port}");
        match &self.tls {
            None => Ok(self.start(stream, endpoint)),
            Some(tls) => {
                let name = ServerName::try_from(host.clone()).map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("tls name {host}: {e}"))
                })?;
                Ok(self.start(tls.connect(name, stream).await?, endpoint))
            }
        }
    }
}

impl Connector {
    /// Starts the task driving a connection over `stream`.
    fn start<T: AsyncRead + AsyncWrite + 'static>(
        &self,
        stream: T,
        endpoint: String,
    ) -> HttpConnection {
        let retired = Rc::new(Cell::new(false));
        let codec =
            GatheringClientCodec::new(ClientCodec::with_limits(self.limits), retired.clone());
        let (client, connection) =
            pipeline::Client::with_max_queued(Framed::new(stream, codec), self.max_pipelined);
        let task = ringo_reactor::spawn(async move {
            if let Err(e) = connection.run().await {
                log::debug!("http client: connection to {endpoint} ended: {e}");
            }
        });
        HttpConnection {
            client,
            retired,
            task,
        }
    }
}

/// The byte stream to `endpoint`, open within `limit`: the name looked up
/// (off the loop thread, by the reactor's resolver), each address tried in
/// turn, `TCP_NODELAY` set (a request goes out whole at once).
async fn open(endpoint: &Endpoint, limit: Duration) -> io::Result<TcpStream> {
    let Endpoint { host, port, .. } = endpoint;
    let connect = TcpStream::connect((host.as_str(), *port));
    let stream = ringo_reactor::time::timeout(limit, connect)
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect to {host}:{port} not finished within limit {limit:?}"),
            )
        })??;
    stream.set_nodelay(true)?;
    Ok(stream)
}
