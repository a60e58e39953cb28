//! A JSON HTTP API with a timeout and a concurrency limit.
//!
//! `cargo run -p ringo-service --example json_api [addr]`, then
//! `curl -d '[1,2,3]' 127.0.0.1:8080/sum` → `{"sum":6}`. A body that is not a
//! JSON array of numbers gets 400; `/slow` outlasts the 1 s timeout and gets
//! 504; more than 64 calls at once wait for a permit (inside the timeout).
//! For routing and extractors, serve an `axum::Router` instead (see README).

use std::time::Duration;

use ringo_service::http::{self, Body, Method, Request, Response, StatusCode};
use ringo_service::server::Running;
use ringo_service::{service_fn, Error, ServiceBuilder};
use serde_json::{json, Value};

/// Starts the API on `server`, one service per worker.
pub fn start(server: http::Server) -> std::io::Result<Running> {
    server.serve(|| {
        ServiceBuilder::new()
            .timeout(Duration::from_secs(1))
            .concurrency_limit(64)
            .service(service_fn(handle))
    })
}

async fn handle(request: Request<Body>) -> Result<Response<Body>, Error> {
    match (request.method(), request.uri().path()) {
        (&Method::POST, "/sum") => {
            let body = request.into_body().collect().await?;
            let numbers: Result<Vec<f64>, _> = serde_json::from_slice(&body);
            Ok(match numbers {
                Ok(numbers) => reply(
                    StatusCode::OK,
                    json!({ "sum": numbers.iter().sum::<f64>() }),
                ),
                Err(e) => reply(StatusCode::BAD_REQUEST, json!({ "error": e.to_string() })),
            })
        }
        (&Method::GET, "/slow") => {
            ringo_reactor::time::sleep(Duration::from_secs(10)).await;
            Ok(reply(StatusCode::OK, json!("late")))
        }
        _ => Ok(reply(
            StatusCode::NOT_FOUND,
            json!({ "error": "no such route" }),
        )),
    }
}

fn reply(status: StatusCode, value: Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    let json = http::HeaderValue::from_static("application/json");
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, json);
    response
}

#[allow(dead_code)] // the tests include this file for `start`
fn main() -> std::io::Result<()> {
    env_logger::init();
    let addr = std::env::args().nth(1).unwrap_or("127.0.0.1:8080".into());
    start(http::Server::bind(addr))?.wait()
}
