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

/// A hyper benchmark server's command line: `[ADDR] [--h2] [--tls CERT KEY]`.
pub struct Args {
    /// The listen address (default any free loopback port).
    pub addr: String,
    /// HTTP/2 (h2c, prior knowledge) instead of HTTP/1.1.
    pub h2: bool,
    /// Serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<(String, String)>,
}

/// Parses the command line.
pub fn args() -> std::io::Result<Args> {
    let mut parsed = Args {
        addr: "127.0.0.1:0".to_owned(),
        h2: false,
        tls: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--h2" => parsed.h2 = true,
            "--tls" => {
                let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                    return Err(std::io::Error::other("--tls needs CERT and KEY"));
                };
                parsed.tls = Some((cert, key));
            }
            _ => parsed.addr = arg,
        }
    }
    Ok(parsed)
}
