//! hyper on ringo: HTTP/1.1 and HTTP/2 (h2c with prior knowledge) on one
//! port, served by hyper through `ringo_service::hyper` on a ringo runtime.
//!
//! ```sh
//! cargo run -p ringo-service --features hyper --example hyper_on_ringo -- 127.0.0.1:3000
//! curl --http1.1 http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! curl --http2-prior-knowledge --data-binary @file http://127.0.0.1:3000/echo
//!
//! # over TLS, ALPN choosing h2 or http/1.1:
//! cargo run -p ringo-service --features hyper --example hyper_on_ringo -- 127.0.0.1:3443 --tls cert.pem key.pem
//! curl --http2 --cacert ca.pem https://localhost:3443/
//! ```
//!
//! One runtime on one thread (`RINGO_DRIVER` picks io_uring or compat); run
//! one per core with `SO_REUSEPORT` listeners to use more cores.

mod app;

use std::sync::Arc;

use ringo_proto::tls::{self, TlsAcceptor, ALPN_HTTP1};
use ringo_reactor::net::TcpListener;

fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:3000".to_owned();
    let mut acceptor = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--tls" {
            let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                return Err(std::io::Error::other(
                    "--tls needs CERT and KEY (PEM files)",
                ));
            };
            let mut config = tls::server_config_from_pem(cert, key)?;
            config.alpn_protocols = vec![b"h2".to_vec(), ALPN_HTTP1.to_vec()];
            acceptor = Some(TlsAcceptor::new(Arc::new(config)));
        } else {
            addr = arg;
        }
    }
    let runtime = ringo_reactor::Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        println!(
            "hyper on ringo ({}) listening on {scheme}://{}",
            runtime.driver_kind(),
            listener.local_addr()?
        );
        app::serve(listener, acceptor).await
    })
}
