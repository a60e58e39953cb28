//! A hello-world HTTP/1.1 server on all cores: every well-formed request gets
//! `200 OK`, `content-type: text/plain` and the body `Hello, World!`.
//!
//! ```text
//! cargo run --release -p ringo-service --example hello_http -- [ADDR] [--workers N] [--tls CERT KEY]
//! ```
//!
//! With `--tls`, it serves HTTPS (ALPN `http/1.1`) with the certificate chain
//! and key of those PEM files.
//!
//! ADDR defaults to 127.0.0.1:8080 (port 0: a free port); the driver comes from
//! `RINGO_DRIVER` (auto by default). Ctrl-C shuts down gracefully; a second
//! Ctrl-C ends the process at once.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use http::{header, HeaderValue, Request, Response};
use ringo_service::http::{self as ringo_http, Body};
use ringo_service::server::shutdown_on_ctrl_c;
use ringo_service::service_fn;

const USAGE: &str = "usage: hello_http [ADDR] [--workers N] [--tls CERT KEY]";

/// What the command line asked for.
struct Args {
    addr: SocketAddr,
    workers: Option<usize>,
    /// `--tls CERT KEY`: serve HTTPS with this chain and key (PEM files).
    tls: Option<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        workers: None,
        tls: None,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--workers" => {
                let n = argv.next().ok_or("--workers needs a number")?;
                let n = n.parse().map_err(|e| format!("--workers {n}: {e}"))?;
                args.workers = Some(n);
            }
            "--tls" => {
                let (Some(cert), Some(key)) = (argv.next(), argv.next()) else {
                    return Err("--tls needs CERT and KEY (PEM files)".into());
                };
                args.tls = Some((cert, key));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            addr => args.addr = addr.parse().map_err(|e| format!("address {addr}: {e}"))?,
        }
    }
    Ok(args)
}

async fn hello(_request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let mut response = Response::new(Body::from("Hello, World!"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("hello_http: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut server = ringo_http::Server::bind(args.addr);
    if let Some(n) = args.workers {
        server = server.workers(n);
    }
    if let Some((cert, key)) = &args.tls {
        match ringo_proto::tls::server_config_from_pem(cert, key) {
            Ok(config) => server = server.tls(std::sync::Arc::new(config)),
            Err(e) => {
                eprintln!("hello_http: --tls {cert} {key}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let started = server.serve(|| service_fn(hello));
    let running = match started {
        Ok(running) => running,
        Err(e) => {
            eprintln!("hello_http: cannot serve on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "hello_http: driver={} workers={} listening on {}",
        running.driver(),
        running.workers(),
        running.local_addr()
    );
    shutdown_on_ctrl_c(running.handle());
    match running.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello_http: {e}");
            ExitCode::FAILURE
        }
    }
}
