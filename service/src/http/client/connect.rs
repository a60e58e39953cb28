//! Opening one connection to an endpoint for its pool: look the name up,
//! connect within the time limit, and start the pipelined dispatcher over
//! the stream. [`open`] is the step that yields the byte stream; a TLS
//! handshake would follow the TCP connect there.

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use ringo_proto::http::{ClientCodec, GatheringClientCodec, Limits};
use ringo_proto::{pipeline, Framed};
use ringo_reactor::net::TcpStream;

use super::connection::HttpConnection;
use super::request::Endpoint;
use super::resolve::resolve;
use crate::error::Error;
use crate::pool::MakeConnection;

/// Opens connections to one endpoint for its pool.
#[derive(Debug)]
pub(super) struct Connector {
    pub(super) endpoint: Endpoint,
    pub(super) connect_timeout: Duration,
    pub(super) limits: Limits,
    pub(super) max_pipelined: usize,
}

impl MakeConnection for Connector {
    type Conn = HttpConnection;

    async fn connect(&self) -> Result<HttpConnection, Error> {
        let stream = open(&self.endpoint, self.connect_timeout).await?;
        let retired = Rc::new(Cell::new(false));
        let codec =
            GatheringClientCodec::new(ClientCodec::with_limits(self.limits), retired.clone());
        let (client, connection) =
            pipeline::Client::with_max_queued(Framed::new(stream, codec), self.max_pipelined);
        let Endpoint { host, port } = &self.endpoint;
        let endpoint = format!("{host}:{port}");
        let task = ringo_reactor::spawn(async move {
            if let Err(e) = connection.run().await {
                log::debug!("http client: connection to {endpoint} ended: {e}");
            }
        });
        Ok(HttpConnection {
            client,
            retired,
            task,
        })
    }
}

/// The byte stream to `endpoint`, open within `limit`: the name looked up,
/// TCP connected, `TCP_NODELAY` set (a request goes out whole at once).
async fn open(endpoint: &Endpoint, limit: Duration) -> io::Result<TcpStream> {
    let Endpoint { host, port } = endpoint;
    let connect = async {
        let addr = resolve(host, *port).await?;
        TcpStream::connect(addr).await
    };
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
