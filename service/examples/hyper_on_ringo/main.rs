//! hyper on ringo: HTTP/1.1 and HTTP/2 (h2c with prior knowledge) on one
//! port, served by hyper through `ringo_service::hyper` on a ringo runtime.
//!
//! ```sh
//! cargo run -p ringo-service --features hyper --example hyper_on_ringo -- 127.0.0.1:3000
//! curl --http1.1 http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! curl --http2-prior-knowledge --data-binary @file http://127.0.0.1:3000/echo
//! ```
//!
//! One runtime on one thread (`RINGO_DRIVER` picks io_uring or compat); run
//! one per core with `SO_REUSEPORT` listeners to use more cores.

mod app;

use std::net::SocketAddr;

use ringo_reactor::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let runtime = ringo_reactor::Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!(
            "hyper on ringo ({}) listening on http://{}",
            runtime.driver_kind(),
            listener.local_addr()?
        );
        app::serve(listener).await
    })
}
