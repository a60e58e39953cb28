//! A static file server on all cores: serves the files under DIR with
//! `Content-Type`, `ETag`/`Last-Modified` (304 on a match), single `Range`
//! requests (206/416), `HEAD`, and `index.html` for directories; paths that
//! try to leave DIR (`..`, `%2e%2e`, symlinks out) get 400 or 404.
//!
//! ```text
//! cargo run --release -p ringo-service --example static_http -- ADDR DIR [--workers N]
//! curl -i http://127.0.0.1:8080/index.html
//! ```
//!
//! ADDR comes first, as for every server example (port 0: a free port); the
//! driver comes from `RINGO_DRIVER` (auto by default). Ctrl-C shuts down
//! gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use ringo_service::http::{self as ringo_http, ServeDir};
use ringo_service::server::shutdown_on_ctrl_c;

const USAGE: &str = "usage: static_http ADDR DIR [--workers N]";

/// What the command line asked for.
struct Args {
    addr: SocketAddr,
    dir: PathBuf,
    workers: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut workers = None;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--workers" => {
                let n = argv.next().ok_or("--workers needs a number")?;
                workers = Some(n.parse().map_err(|e| format!("--workers {n}: {e}"))?);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ => positional.push(arg),
        }
    }
    let [addr, dir] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_owned())?;
    Ok(Args {
        addr: addr.parse().map_err(|e| format!("address {addr}: {e}"))?,
        dir: PathBuf::from(dir),
        workers,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("static_http: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let files = match ServeDir::new(&args.dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("static_http: cannot serve {}: {e}", args.dir.display());
            return ExitCode::FAILURE;
        }
    };
    let factory = move || files.clone();
    let mut server = ringo_http::Server::bind(args.addr);
    if let Some(n) = args.workers {
        server = server.workers(n);
    }
    let running = match server.serve(factory) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("static_http: cannot serve on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "static_http: driver={} workers={} serving {}, listening on {}",
        running.driver(),
        running.workers(),
        args.dir.display(),
        running.local_addr()
    );
    shutdown_on_ctrl_c(running.handle());
    match running.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("static_http: {e}");
            ExitCode::FAILURE
        }
    }
}
