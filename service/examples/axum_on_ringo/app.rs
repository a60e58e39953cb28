//! The example's server: an axum `Router` served per connection by hyper on
//! ringo. `tests/axum.rs` runs this same code against curl on both drivers.

use std::io;
use std::rc::Rc;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::service::TowerToHyperService;
use ringo_reactor::net::TcpListener;
use ringo_service::hyper::{server, RingoIo};

/// The routes: `/` says hello, `/users/{id}` echoes a numeric id (axum
/// answers 400 for one that is not a number, 404 for unknown paths), and
/// `POST /sum` adds a JSON array of numbers (axum rejects a body that is not
/// one, with a 4xx).
pub fn router() -> Router {
    Router::new()
        .route("/", get(|| async { "Hello from axum on ringo\n" }))
        .route(
            "/users/{id}",
            get(|Path(id): Path<u32>| async move { format!("user {id}\n") }),
        )
        .route(
            "/sum",
            post(|Json(numbers): Json<Vec<f64>>| async move {
                Json(serde_json::json!({ "sum": numbers.iter().sum::<f64>() }))
            }),
        )
}

/// Accepts connections on `listener` forever, each served in its own task on
/// this thread's runtime.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let builder = Rc::new(server());
    let router = router();
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let builder = builder.clone();
        let service = TowerToHyperService::new(router.clone());
        drop(ringo_reactor::spawn(async move {
            // A connection's error ends that connection only.
            let _ = builder
                .serve_connection(RingoIo::new(stream), service)
                .await;
        }));
    }
}
