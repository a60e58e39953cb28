//! axum on ringo: an axum `Router` served by hyper through
//! `ringo_service::hyper` on a ringo runtime, HTTP/1.1 and HTTP/2 (h2c with
//! prior knowledge) on one port. axum's own `axum::serve` needs a tokio
//! runtime; a `Router` is a tower service, so hyper-util's
//! `TowerToHyperService` hands it to hyper directly.
//!
//! ```sh
//! cargo run -p ringo-service --features hyper --example axum_on_ringo -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/users/7
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```

mod app;

use ringo_reactor::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let runtime = ringo_reactor::Runtime::new()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(addr)?;
        println!(
            "axum on ringo ({}) listening on http://{}",
            runtime.driver_kind(),
            listener.local_addr()?
        );
        app::serve(listener).await
    })
}
