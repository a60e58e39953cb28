//! The proxy's work on one connection: connect upstream, then copy bytes both
//! ways at once until both directions have ended.
//!
//! A module of its own so that the example and its test
//! (`tests/proxy_example.rs`, which includes this file by path) run the very
//! same code.
//!
//! The copying is [`copy_bidirectional`]: on io_uring the bytes move with
//! `splice` through a pipe and never enter this process; on compat they go
//! through one reused buffer per direction. Either way a half-close travels
//! through (a client may send a request, shut down its write half and still
//! read the whole reply), and an error in either direction shuts both
//! connections down.

use std::io;
use std::net::SocketAddr;

use ringo_reactor::io::copy_bidirectional;
use ringo_reactor::net::TcpStream;

/// Bytes copied each way on one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transferred {
    /// From the client to the upstream.
    pub upstream: u64,
    /// From the upstream to the client.
    pub downstream: u64,
}

/// Connects to `upstream` and copies between it and `client` both ways until
/// both directions have ended.
///
/// # Errors
/// The failed connect (then `client` is dropped, which closes it), or the
/// first read or write error of either direction (then both connections are
/// shut down and closed).
pub async fn proxy_connection(client: TcpStream, upstream: SocketAddr) -> io::Result<Transferred> {
    let upstream = TcpStream::connect(upstream).await?;
    // Small writes (a request, a keystroke) are forwarded as they come.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (up, down) = copy_bidirectional(&client, &upstream).await?;
    Ok(Transferred {
        upstream: up,
        downstream: down,
    })
}
