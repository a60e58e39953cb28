//! The hello-world service both hyper benchmark servers run (on tokio and
//! on ringo), so the two differ only in the runtime under hyper.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};

/// `Hello, World!` as `text/plain`, the same 13-byte body as ringo's
/// `hello_http`.
pub async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    Ok(response)
}

/// The address (first argument, default any free loopback port) and whether
/// `--h2` asks for HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1.
pub fn args() -> (String, bool) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let h2 = args.iter().any(|a| a == "--h2");
    let addr = args
        .into_iter()
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    (addr, h2)
}
