//! The proxy's work on one connection: connect upstream, then copy bytes both
//! ways at once until both directions have ended.
//!
//! A module of its own so that the example and its test
//! (`tests/proxy_example.rs`, which includes this file by path) run the very
//! same code.
//!
//! Each direction is a loop over one owned buffer, reused for every read and
//! write (the completion model hands the buffer to the kernel and gets it
//! back). The two directions share the streams through `Rc`s: reading and
//! writing take `&self`, and everything runs on one thread.
//!
//! - **Half-close.** When one side stops sending (its read returns end of
//!   stream), the proxy shuts down the write half toward the other side, so
//!   the other side reads end of stream too, and the reverse direction goes on
//!   until it ends the same way. A client may send a request, shut down its
//!   write half and still read the whole reply.
//! - **Errors close both.** When a read or write fails in either direction,
//!   both sockets are shut down in both directions, which ends the other
//!   direction's pending read or write at once; the streams close when the
//!   last `Rc` drops.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::TcpStream;

/// Bytes of one direction's buffer: one read's worth at most. 16 KiB covers a
/// typical TCP receive burst and keeps 32 KiB per connection.
pub const BUFFER_SIZE: usize = 16 * 1024;

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
    let (client, upstream) = (Rc::new(client), Rc::new(upstream));
    let up = ringo_reactor::spawn(copy(client.clone(), upstream.clone()));
    let down = copy(upstream, client).await;
    let up = up
        .await
        .map_err(|e| io::Error::other(format!("upstream copy task: {e}")))?;
    Ok(Transferred {
        upstream: up?,
        downstream: down?,
    })
}

/// Copies from `from` to `to` until `from` ends, then shuts down `to`'s write
/// half; returns the bytes copied. On an error, shuts both streams down in
/// both directions (ending the copy the other way) and returns it.
pub async fn copy(from: Rc<TcpStream>, to: Rc<TcpStream>) -> io::Result<u64> {
    let result = copy_until_end(&from, &to).await;
    if result.is_err() {
        // Errors here mean the socket is already gone, which is the goal.
        let _ = from.shutdown_std(Shutdown::Both);
        let _ = to.shutdown_std(Shutdown::Both);
    }
    result
}

async fn copy_until_end(from: &TcpStream, to: &TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; BUFFER_SIZE];
    let mut copied = 0u64;
    loop {
        let (read, filled) = from.read(buf).await;
        let n = match read {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                buf = filled;
                continue;
            }
            Err(e) => return Err(e),
        };
        let (written, slice) = to.write_all(filled.slice(..n)).await;
        written?;
        buf = slice.into_inner();
        copied += n as u64;
    }
    to.shutdown().await?;
    Ok(copied)
}
