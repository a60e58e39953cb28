//! A TCP proxy on ringo's reactor alone: no codec, no service, just sockets
//! and owned buffers — the kind of program that does not fit the service
//! model (ARCHITECTURE.md, principle 7: "a proxy can use the reactor alone").
//!
//! ```text
//! cargo run --release -p ringo-reactor --example proxy -- 127.0.0.1:8081 127.0.0.1:8080
//! RINGO_DRIVER=compat cargo run --release -p ringo-reactor --example proxy
//! ```
//!
//! Listens on the first argument (default `127.0.0.1:8081`; port 0 picks a
//! free port), prints the driver and the bound address, and for every client
//! connects to the upstream given as the second argument (default
//! `127.0.0.1:8080`) and copies bytes both ways (see `copy.rs`): with
//! `splice` on io_uring, so the bytes never enter the proxy's memory, and
//! through a buffer on compat.

mod copy;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ringo_reactor::net::TcpListener;
use ringo_reactor::Runtime;

const DEFAULT_LISTEN: &str = "127.0.0.1:8081";
const DEFAULT_UPSTREAM: &str = "127.0.0.1:8080";

/// Pause after a failed accept: running out of file descriptors (EMFILE)
/// must not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn address(arg: Option<String>, default: &str, what: &str) -> io::Result<SocketAddr> {
    arg.as_deref()
        .unwrap_or(default)
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{what} address: {e}")))
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = address(args.next(), DEFAULT_LISTEN, "listen")?;
    let upstream = address(args.next(), DEFAULT_UPSTREAM, "upstream")?;
    let runtime = Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen)?;
        println!(
            "proxy: driver={} listening on {} -> {upstream}",
            runtime.driver_kind(),
            listener.local_addr()?
        );
        loop {
            match listener.accept().await {
                Ok((client, peer)) => drop(ringo_reactor::spawn(async move {
                    if let Err(e) = copy::proxy_connection(client, upstream).await {
                        eprintln!("proxy: {peer}: {e}");
                    }
                })),
                Err(e) => {
                    eprintln!("proxy: accept failed: {e}");
                    ringo_reactor::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    })
}
