//! mini_redis: an in-memory key-value server speaking RESP, on every core.
//!
//! ```text
//! cargo run --release --example mini_redis -- [ADDR] [--workers N]
//! redis-cli -p 6379 SET greeting hello
//! ```
//!
//! ADDR defaults to 127.0.0.1:6379 (port 0: a free port); the driver comes from
//! `RINGO_DRIVER` (`auto`, `uring`, `compat`). It answers the commands listed
//! in `commands.rs`, enough for `redis-cli` and `redis-benchmark -t
//! ping,set,get,incr,mset`. The files:
//!
//! - `server.rs` starts the workers over one shared store;
//! - `store.rs` is the sharded keyspace with lazy and periodic expiry;
//! - `commands.rs` turns each command into store calls and a reply;
//! - `glob.rs` matches `KEYS` patterns.

mod commands;
mod glob;
mod server;
mod store;

use std::net::SocketAddr;
use std::process::ExitCode;

use server::Settings;

const USAGE: &str = "usage: mini_redis [ADDR] [--workers N] [--tls CERT KEY]";

fn main() -> ExitCode {
    let settings = match parse_args(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("mini_redis: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let running = match server::start(&settings) {
        Ok(running) => running,
        Err(e) => {
            eprintln!("mini_redis: cannot start on {}: {e}", settings.addr);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "mini_redis: driver={} workers={} listening on {}",
        running.driver(),
        running.workers(),
        running.local_addr()
    );
    ringo_service::server::shutdown_on_ctrl_c(running.handle());
    match running.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mini_redis: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `[ADDR] [--workers N] [--tls CERT KEY]`, in any order.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Settings, String> {
    let mut addr: Option<SocketAddr> = None;
    let mut workers = None;
    let mut tls = None;
    while let Some(arg) = args.next() {
        if arg == "--tls" {
            let (Some(cert), Some(key)) = (args.next(), args.next()) else {
                return Err("--tls needs CERT and KEY (PEM files)".to_owned());
            };
            let config = ringo_proto::tls::server_config_from_pem(&cert, &key)
                .map_err(|e| format!("--tls {cert} {key}: {e}"))?;
            tls = Some(std::sync::Arc::new(config));
        } else if arg == "--workers" {
            let n = args.next().ok_or("--workers needs a number")?;
            let n: usize = n.parse().map_err(|e| format!("--workers {n:?}: {e}"))?;
            if n == 0 {
                return Err("--workers 0: at least one worker is needed".to_owned());
            }
            workers = Some(n);
        } else if addr.is_none() && !arg.starts_with('-') {
            addr = Some(arg.parse().map_err(|e| format!("address {arg:?}: {e}"))?);
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok(Settings {
        addr: addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 6379))),
        workers,
        driver: None,
        tls,
    })
}
