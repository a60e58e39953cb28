//! A TCP echo server on ringo's reactor.
//!
//! ```text
//! cargo run --release -p ringo-reactor --example echo -- 127.0.0.1:7000
//! RINGO_DRIVER=compat cargo run --release -p ringo-reactor --example echo
//! ```
//!
//! Listens on the address given as the first argument (default `127.0.0.1:7000`;
//! port 0 picks a free port), prints the driver and the bound address, and echoes
//! every byte back on every connection until the peer closes.

use std::net::SocketAddr;

use ringo_reactor::buf::IoBuf;
use ringo_reactor::io::{AsyncRead, AsyncWrite};
use ringo_reactor::net::{TcpListener, TcpStream};
use ringo_reactor::Runtime;

const DEFAULT_ADDR: &str = "127.0.0.1:7000";

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let (read, b) = stream.read(buf).await;
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (written, b) = stream.write_all(b.slice(..n)).await;
        if written.is_err() {
            return;
        }
        buf = b.into_inner();
    }
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or(DEFAULT_ADDR)
        .parse()
        .map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("listen address: {e}"),
            )
        })?;
    let runtime = Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!(
            "echo: driver={} listening on {}",
            runtime.driver_kind(),
            listener.local_addr()?
        );
        loop {
            match listener.accept().await {
                Ok((stream, _)) => drop(ringo_reactor::spawn(echo(stream))),
                Err(e) => {
                    eprintln!("echo: accept failed: {e}");
                    ringo_reactor::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    })
}
